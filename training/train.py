"""Trains the conditional GAN ager (U-Net residual generator + age-conditioned PatchGAN) on a pairs folder.

    /usr/bin/python3 training/train.py --data training/data/train --out training/runs/ager --minutes 70

Losses: L1 to the paired ground truth (weight --l1, pix2pix's 100) + least-squares adversarial loss (weight 1).
Progress (step, images/s, ETA, losses) is printed every --log steps; a sample grid (source, then the model at
each of --sample-ages) is written every --sample steps; checkpoints are written every --save steps and at the
end, and a rerun with the same --out resumes from the last one. Stops at --steps or --minutes, whichever first.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import sys
import time

import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from networks import AGE_SCALE, AgeEstimator, AgeUNet, PatchDiscriminator  # noqa: E402
from pairs import load_pairs, sample_batch, to_unit  # noqa: E402


def save_grid(path, sources, rows):
    """sources: (n,3,H,W) in [-1,1]; rows: list of (n,3,H,W) tensors (one per column)."""
    n, _, h, w = sources.shape
    cols = [sources] + rows
    grid = Image.new("RGB", (w * len(cols), h * n))
    for c, col in enumerate(cols):
        for r in range(n):
            arr = ((col[r].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
            grid.paste(Image.fromarray(arr), (c * w, r * h))
    grid.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="pairs folder {identity}/{age}.png")
    ap.add_argument("--out", required=True, help="run folder (checkpoints, samples, log)")
    ap.add_argument("--size", type=int, default=128, help="model resolution")
    ap.add_argument("--base", type=int, default=16, help="generator base channels")
    ap.add_argument("--depth", type=int, default=4, help="generator down-sampling levels")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--lr-warmup", type=int, default=0,
                    help="ramp the learning rate linearly over the first N (total) steps: without normalisation "
                         "layers a 4.9 M U-Net at 128² blew up at step ~100 with lr 5e-4 and no ramp")
    ap.add_argument("--l1", type=float, default=100.0)
    ap.add_argument("--l2", type=float, default=100.0,
                    help="weight of a squared-error term: it learns the large, certain changes (hair tone, face shape) "
                         "faster than L1 alone, whose median-seeking gradient favours 'no change' early on")
    ap.add_argument("--change-weight", type=float, default=0.0,
                    help="extra L1/L2 weight where the pair differs (0 = plain losses, as version 3): pixels that the "
                         "ageing changes (|target - source| up to 0.1, blurred 5×5) weigh up to 1 + this")
    ap.add_argument("--adv", type=float, default=1.0)
    ap.add_argument("--adv-warmup", type=float, default=0.0,
                    help="fraction of the --minutes budget trained with L1 only before the adversarial loss starts "
                         "(an L1 warm-up converges faster and gives the discriminator a sensible generator to judge)")
    ap.add_argument("--adv-start-step", type=int, default=0,
                    help="train with L1 only until this (total) step, then add the adversarial loss; unlike "
                         "--adv-warmup it counts steps, so a resumed run does not repeat the warm-up")
    ap.add_argument("--age-critic", default="",
                    help="checkpoint of an age estimator trained at --size (train_estimator.py --size 64 --seed 11): "
                         "frozen, it reads the generated image's age and the generator is penalised by its distance "
                         "to the target age. Never the shipped estimator, which stays the independent judge")
    ap.add_argument("--age-weight", type=float, default=20.0, help="weight of the age-critic loss (years / 100)")
    ap.add_argument("--clip", type=float, default=1.0, help="generator gradient-norm clip")
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--minutes", type=float, default=100.0, help="wall-clock budget for this invocation")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = all cores)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N identities (smoke runs)")
    ap.add_argument("--log", type=int, default=20)
    ap.add_argument("--sample", type=int, default=200)
    ap.add_argument("--save", type=int, default=200)
    ap.add_argument("--save-minutes", type=float, default=8.0, help="also checkpoint at least this often")
    ap.add_argument("--sample-ages", default="10,20,40,60,80")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)

    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if a.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but torch sees no CUDA device")
    os.makedirs(os.path.join(a.out, "samples"), exist_ok=True)
    rng = random.Random(a.seed)
    torch.manual_seed(a.seed)

    t0 = time.time()
    pairs = load_pairs(a.data, a.size, limit=a.limit or None)
    print(f"loaded {len(pairs)} images of {len(pairs.identity_rows)} identities at {a.size}² in {time.time() - t0:.0f}s", flush=True)

    G = AgeUNet(a.base, a.depth).to(device)
    D = PatchDiscriminator().to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(0.5, 0.999))
    step = 0
    ckpt_path = os.path.join(a.out, "checkpoint.pt")
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        G.load_state_dict(ck["G"])
        D.load_state_dict(ck["D"])
        opt_g.load_state_dict(ck["opt_g"])
        opt_d.load_state_dict(ck["opt_d"])
        step = ck["step"]
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = a.lr  # the command line wins over the saved learning rate
        print(f"resumed from {ckpt_path} at step {step}", flush=True)
    critic = None
    if a.age_critic:
        critic = AgeEstimator().to(device)
        critic.load_state_dict(torch.load(a.age_critic, map_location=device)["model"])
        critic.eval()
        for p in critic.parameters():
            p.requires_grad_(False)
        print(f"age critic {a.age_critic} (frozen), weight {a.age_weight}", flush=True)
    config = {k: getattr(a, k) for k in ("size", "base", "depth")}
    print(f"generator {sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters, "
          f"discriminator {sum(p.numel() for p in D.parameters()) / 1e6:.2f} M; config {config}", flush=True)

    fixed_rng = random.Random(1234)
    fixed_src, _, _, _ = sample_batch(pairs, 6, fixed_rng, augment=False)
    sample_ages = [int(x) for x in a.sample_ages.split(",")]

    def checkpoint():
        tmp = ckpt_path + ".tmp"
        torch.save({"G": G.state_dict(), "D": D.state_dict(), "opt_g": opt_g.state_dict(),
                    "opt_d": opt_d.state_dict(), "step": step, "config": config}, tmp)
        os.replace(tmp, ckpt_path)  # atomic: a kill mid-save never corrupts the last checkpoint

    deadline = time.time() + a.minutes * 60
    adv_from = time.time() + a.adv_warmup * a.minutes * 60
    start_step, start_time = step, time.time()
    last_save = start_time
    sums = {"l1": 0.0, "g_adv": 0.0, "d": 0.0, "age": 0.0}
    # SIGTERM (kill, a session ending) stops after the current step with a checkpoint, so nothing is lost.
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    while step < a.steps and time.time() < deadline and not stop:
        if a.lr_warmup:
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = a.lr * min(1.0, (step + 1) / a.lr_warmup)
        src, tgt, src_age, tgt_age = sample_batch(pairs, a.batch, rng)
        src, tgt = src.to(device), tgt.to(device)
        cond = (tgt_age * AGE_SCALE).to(device)

        fake = (src + G(src, cond)).clamp(-1, 1)
        adversarial = a.adv > 0 and time.time() >= adv_from and step >= a.adv_start_step
        if adversarial:
            # Discriminator: real pairs vs generated ones (LSGAN).
            d_real = D(src, tgt, cond)
            d_fake = D(src, fake.detach(), cond)
            loss_d = 0.5 * ((d_real - 1).pow(2).mean() + d_fake.pow(2).mean())
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            g_adv = (D(src, fake, cond) - 1).pow(2).mean()
        else:
            loss_d = g_adv = torch.zeros(())
        # Generator.
        l1 = F.l1_loss(fake, tgt)
        if a.change_weight > 0:
            # Most of a crop does not change between two ages; a plain mean over it teaches the identity first and
            # the ageing (hair, lines, proportions) slowly. Weigh the changed pixels more; normalise so the scale
            # of the loss stays that of a plain mean.
            changed = F.avg_pool2d((tgt - src).abs().amax(1, keepdim=True), 5, 1, 2)
            w = 1.0 + a.change_weight * (changed / 0.1).clamp(max=1.0)
            w = w / w.mean(dim=(2, 3), keepdim=True)
            rec = a.l1 * (w * (fake - tgt).abs()).mean() + a.l2 * (w * (fake - tgt).pow(2)).mean()
        else:
            rec = a.l1 * l1 + a.l2 * F.mse_loss(fake, tgt)
        loss_g = rec + a.adv * g_adv
        if critic is not None:
            # Age loss (IPCGAN-style): the output should read as the target age to an age regressor. Smooth L1
            # in years/100, like the estimator's own training loss.
            age_err = F.smooth_l1_loss(critic(fake) / 100.0, tgt_age.to(device).view(-1, 1) / 100.0, beta=0.05)
            loss_g = loss_g + a.age_weight * age_err
            sums["age"] += age_err.item()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        # Without normalisation layers one bad batch can throw the generator off; clipping keeps steps bounded.
        torch.nn.utils.clip_grad_norm_(G.parameters(), a.clip)
        opt_g.step()
        step += 1
        sums["l1"] += l1.item()
        sums["g_adv"] += g_adv.item()
        sums["d"] += loss_d.item()

        if step % a.log == 0:
            elapsed = time.time() - start_time
            rate = (step - start_step) * a.batch / max(elapsed, 1e-6)
            age_txt = f" age {sums['age'] / a.log:.4f}" if critic is not None else ""
            left_s = min(deadline - time.time(), (a.steps - step) * a.batch / max(rate, 1e-6))
            print(f"step {step} | {rate:.1f} img/s | ETA {int(left_s // 60)}m{int(left_s % 60):02d}s | "
                  f"L1 {sums['l1'] / a.log:.4f} G_adv {sums['g_adv'] / a.log:.3f} D {sums['d'] / a.log:.3f}"
                  f"{age_txt}"
                  f"{'' if adversarial else ' (L1 warm-up)'}", flush=True)
            sums = dict.fromkeys(sums, 0.0)
        if step % a.sample == 0:
            G.eval()
            with torch.no_grad():
                cols = []
                for age in sample_ages:
                    c = torch.full((fixed_src.shape[0], 1), age * AGE_SCALE, device=device)
                    cols.append((fixed_src.to(device) + G(fixed_src.to(device), c)).clamp(-1, 1).cpu())
            G.train()
            save_grid(os.path.join(a.out, "samples", f"step{step:06d}.png"), fixed_src, cols)
        if step % a.save == 0 or time.time() - last_save >= a.save_minutes * 60:
            checkpoint()
            last_save = time.time()
    checkpoint()
    print(f"stopped at step {step} after {(time.time() - start_time) / 60:.1f} min; checkpoint {ckpt_path}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
