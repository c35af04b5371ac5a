"""Trains the age estimator: a small CNN regressing age in years from a portrait, the independent judge of the
ager (and, later, a way to estimate an upload's current age).

    /usr/bin/python3 training/train_estimator.py --data training/data/train --out training/runs/estimator --minutes 10

Augmentation: horizontal flip, random shift and zoom, brightness/contrast/saturation jitter and blur, so the
estimator reads the age cues (proportions, hair tone, wrinkles) rather than exact pixels, and keeps working
on the ager's slightly blurrier outputs. Loss: smooth L1 in years/100. Resumable like train.py.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from networks import AgeEstimator  # noqa: E402
from pairs import load_pairs, to_unit  # noqa: E402


def augment(x: torch.Tensor, rng: random.Random) -> torch.Tensor:
    n = x.shape[0]
    out = []
    for i in range(n):
        img = x[i]
        if rng.random() < 0.5:
            img = img.flip(-1)
        # random zoom + shift through an affine grid
        s = rng.uniform(0.9, 1.1)
        tx, ty = rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08)
        theta = torch.tensor([[s, 0, tx], [0, s, ty]], dtype=torch.float32).unsqueeze(0)
        grid = F.affine_grid(theta, (1, 3, img.shape[1], img.shape[2]), align_corners=False)
        img = F.grid_sample(img.unsqueeze(0), grid, padding_mode="border", align_corners=False)[0]
        # colour jitter
        b, c, sat = rng.uniform(-0.1, 0.1), rng.uniform(0.85, 1.15), rng.uniform(0.8, 1.2)
        grey = img.mean(0, keepdim=True)
        img = (grey + (img - grey) * sat) * c + b
        if rng.random() < 0.3:
            k = torch.tensor([1.0, 2.0, 1.0])
            k = (k[:, None] * k[None, :]) / 16
            img = F.conv2d(img.unsqueeze(1), k.view(1, 1, 3, 3), padding=1).squeeze(1)
        out.append(img.clamp(-1, 1))
    return torch.stack(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--log", type=int, default=25)
    ap.add_argument("--seed", type=int, default=7,
                    help="initialisation and sampling seed (train.py's --age-critic uses a second estimator trained "
                         "with another seed at the ager's resolution, so the shipped judge never trains the ager)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    torch.manual_seed(a.seed)
    pairs = load_pairs(a.data, a.size, limit=a.limit or None, min_ages=1)
    print(f"loaded {len(pairs)} images", flush=True)
    model = AgeEstimator().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    step = 0
    ckpt = os.path.join(a.out, "checkpoint.pt")
    if os.path.exists(ckpt):
        ck = torch.load(ckpt, map_location=device)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        for group in opt.param_groups:
            group["lr"] = a.lr  # the command line wins over the saved learning rate
        print(f"resumed at step {step}", flush=True)
    deadline = time.time() + a.minutes * 60
    t0, s0, acc = time.time(), step, 0.0
    while step < a.steps and time.time() < deadline:
        idx = torch.tensor([rng.randrange(len(pairs)) for _ in range(a.batch)])
        x = augment(to_unit(pairs.images[idx]), rng).to(device)
        y = pairs.ages[idx].unsqueeze(1).to(device)
        pred = model(x)
        loss = F.smooth_l1_loss(pred / 100.0, y / 100.0, beta=0.05)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        acc += (pred - y).abs().mean().item()
        if step % a.log == 0:
            rate = (step - s0) * a.batch / (time.time() - t0)
            left = deadline - time.time()
            print(f"step {step} | {rate:.0f} img/s | ETA {int(left // 60)}m{int(left % 60):02d}s | train MAE {acc / a.log:.2f} years", flush=True)
            acc = 0.0
        if step % 200 == 0:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, ckpt + ".tmp")
    os.replace(ckpt + ".tmp", ckpt)
    print(f"stopped at step {step}; checkpoint {ckpt}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
