"""Evaluates the ager on held-out identities and writes the figures into the model card's manifest.

    /usr/bin/python3 training/evaluate.py --ager training/runs/ager/checkpoint.pt \
        --estimator training/runs/estimator/checkpoint.pt --data training/data/heldout --out models/character-ager/2

For each held-out identity two (source age, target age) pairs are drawn (seeded), so 250 identities give 500
pairs. Reported, by |Δage| bucket: L1 (mean absolute error, 0–255 scale) and PSNR to the ground-truth render for
the model, the identity baseline (output = input) and a trivial baseline (global desaturation and darkening for
older targets, the reverse for younger ones); the age estimator's MAE on the model's outputs against the target
age, and on the ground truth itself. Writes evaluation.png (rows = held-out characters, columns = input then
ages 10, 20, 40, 60, 80, with the ground truth beneath each model row) and the figures into model.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from networks import AGE_SCALE, AgeEstimator, AgeUNet  # noqa: E402
from pairs import load_pairs, to_unit  # noqa: E402

BUCKETS = [("Δ<15 y", 0, 15), ("15≤Δ<30 y", 15, 30), ("Δ≥30 y", 30, 1000)]  # Δ = absolute age difference


def trivial_baseline(src: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Global colour change by age difference: older → desaturated and darker, younger → the reverse."""
    t = (delta / 85.0).view(-1, 1, 1, 1)
    x = (src + 1) / 2
    grey = x.mean(1, keepdim=True)
    sat = (1 - 0.5 * t).clamp(0.3, 1.5)
    x = grey + (x - grey) * sat
    x = x * (1 - 0.12 * t)
    return (x.clamp(0, 1) * 2 - 1)


def l1_255(a, b):
    return ((a - b).abs().mean(dim=(1, 2, 3)) * 127.5)


def psnr(a, b):
    mse = (((a - b) / 2) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return 10 * torch.log10(1.0 / mse)


def to_pil(x):
    return Image.fromarray(((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy())


def load_ager(path: str):
    """A generator from a training checkpoint, or from a shipped model folder (models/character-ager/N): the ONNX
    graph's initialisers carry the PyTorch parameter names, so an earlier version is measured on the same data by
    the same code without its checkpoint."""
    if os.path.isdir(path):
        import onnx
        from onnx import numpy_helper
        with open(os.path.join(path, "model.json")) as f:
            manifest = json.load(f)
        graph = onnx.load(os.path.join(path, manifest["file"])).graph
        state = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
        depth = len({k.split(".")[1] for k in state if k.startswith("down.")})
        cfg = {"size": manifest["input"]["height"], "base": state["down.0.0.weight"].shape[0], "depth": depth}
        G = AgeUNet(cfg["base"], cfg["depth"]).eval()
        G.load_state_dict({k: state[k] for k in G.state_dict()})
        return G, cfg
    ck = torch.load(path, map_location="cpu")
    cfg = ck.get("config", {"size": 128, "base": 16, "depth": 4})
    G = AgeUNet(cfg["base"], cfg["depth"]).eval()
    G.load_state_dict(ck["G"])
    return G, cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ager", required=True, help="a training checkpoint, or a shipped model folder (models/character-ager/N)")
    ap.add_argument("--estimator", required=True, help="an age-estimator training checkpoint (the judge)")
    ap.add_argument("--data", default="training/data/heldout")
    ap.add_argument("--out", default="models/character-ager/3")
    ap.add_argument("--estimator-out", default="models/age-estimator/2")
    ap.add_argument("--pairs-per-identity", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--eval-size", type=int, default=128, help="resolution of the comparison (and of the estimator)")
    a = ap.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)

    G, cfg = load_ager(a.ager)
    E = AgeEstimator().eval()
    E.load_state_dict(torch.load(a.estimator, map_location="cpu")["model"])
    model_size = cfg["size"]
    size = a.eval_size
    data = load_pairs(a.data, size)

    def age_to(src, target_years):
        """As the pipeline does it: the model sees the image at its own resolution; its residual is upsampled
        (bilinear) and added to the image at evaluation resolution."""
        small = src if model_size == size else F.interpolate(src, size=(model_size, model_size), mode="area")
        residual = G(small, target_years * AGE_SCALE)
        if model_size != size:
            residual = F.interpolate(residual, size=(size, size), mode="bilinear", align_corners=False)
        return (src + residual).clamp(-1, 1)
    rng = random.Random(2026)

    src_rows, tgt_rows = [], []
    for rows in data.identity_rows:
        for _ in range(a.pairs_per_identity):
            s, t = rng.sample(rows, 2)
            src_rows.append(s)
            tgt_rows.append(t)
    n = len(src_rows)
    results = {k: [] for k in ("delta", "l1_model", "l1_identity", "l1_trivial", "psnr_model", "psnr_identity",
                               "psnr_trivial", "age_out", "age_target")}
    with torch.no_grad():
        for i in range(0, n, 32):
            s_idx, t_idx = src_rows[i:i + 32], tgt_rows[i:i + 32]
            src, tgt = to_unit(data.images[s_idx]), to_unit(data.images[t_idx])
            sa, ta = data.ages[s_idx], data.ages[t_idx]
            out = age_to(src, ta.unsqueeze(1))
            triv = trivial_baseline(src, ta - sa)
            results["delta"] += (ta - sa).tolist()
            for name, y in (("model", out), ("identity", src), ("trivial", triv)):
                results[f"l1_{name}"] += l1_255(y, tgt).tolist()
                results[f"psnr_{name}"] += psnr(y, tgt).tolist()
            results["age_out"] += E(out).squeeze(1).tolist()
            results["age_target"] += ta.tolist()
        # Estimator on ground truth: every held-out image.
        gt_err = []
        for i in range(0, len(data), 64):
            x = to_unit(data.images[i:i + 64])
            gt_err += (E(x).squeeze(1) - data.ages[i:i + 64]).abs().tolist()

    def mean(xs):
        return sum(xs) / max(len(xs), 1)

    figures = {"pairs": n, "identities": len(data.identity_rows), "buckets": {}}
    lines = ["| bucket | pairs | L1 model | L1 identity | L1 trivial | L1 gain vs identity | PSNR model | PSNR identity | PSNR trivial | age MAE of outputs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, lo, hi in BUCKETS + [("all", 0, 1000)]:
        idx = [i for i, d in enumerate(results["delta"]) if lo <= abs(d) < hi]
        if not idx:
            continue
        f = {k: mean([results[k][i] for i in idx]) for k in results if k not in ("delta", "age_out", "age_target")}
        f["age_mae"] = mean([abs(results["age_out"][i] - results["age_target"][i]) for i in idx])
        f["pairs"] = len(idx)
        f["l1_gain_vs_identity"] = 1 - f["l1_model"] / f["l1_identity"]
        figures["buckets"][label] = {k: round(v, 4) for k, v in f.items()}
        lines.append(f"| {label} | {len(idx)} | {f['l1_model']:.2f} | {f['l1_identity']:.2f} | {f['l1_trivial']:.2f} | "
                     f"{100 * f['l1_gain_vs_identity']:.0f}% | {f['psnr_model']:.2f} | {f['psnr_identity']:.2f} | "
                     f"{f['psnr_trivial']:.2f} | {f['age_mae']:.1f} y |")
    figures["estimator_mae_ground_truth"] = round(mean(gt_err), 2)
    figures["age_mae_outputs"] = round(mean([abs(o - t) for o, t in zip(results["age_out"], results["age_target"])]), 2)
    table = "\n".join(lines)
    print(table)
    print(f"age estimator MAE on ground truth: {figures['estimator_mae_ground_truth']:.2f} years; "
          f"on the ager's outputs vs target: {figures['age_mae_outputs']:.2f} years")

    # Picture: rows = held-out characters; model row then ground-truth row.
    ages = [10, 20, 40, 60, 80]
    picks = [(0, 30), (1, 60), (2, 10), (3, 45), (4, 75), (5, 20)]
    cell = size
    label_h = 18
    sheet = Image.new("RGB", (cell * (len(ages) + 1), label_h + 2 * cell * len(picks)), (255, 255, 255))
    dr = ImageDraw.Draw(sheet)
    for c, title in enumerate(["input"] + [f"age {x}" for x in ages]):
        dr.text((c * cell + 4, 3), title, fill=(0, 0, 0))
    with torch.no_grad():
        for r, (ident, src_age) in enumerate(picks):
            rows = data.identity_rows[ident]
            by_age = {int(data.ages[i]): i for i in rows}
            src = to_unit(data.images[[by_age[src_age]]])
            y0 = label_h + 2 * r * cell
            sheet.paste(to_pil(src[0]), (0, y0))
            dr.text((4, y0 + cell + 4), f"source {src_age} y", fill=(0, 0, 0))
            dr.text((4, y0 + cell + 18), "below: truth", fill=(90, 90, 90))
            for c, age in enumerate(ages, start=1):
                out = age_to(src, torch.tensor([[float(age)]]))
                sheet.paste(to_pil(out[0]), (c * cell, y0))
                sheet.paste(to_pil(to_unit(data.images[by_age[age]])), (c * cell, y0 + cell))
    sheet_path = os.path.join(a.out, "evaluation.png")
    sheet.save(sheet_path)
    print(f"wrote {sheet_path}")

    for path, extra in ((os.path.join(a.out, "model.json"), figures),
                        (os.path.join(a.estimator_out, "model.json"), {"mae_years_heldout": figures["estimator_mae_ground_truth"],
                                                                         "images": len(data)})):
        if os.path.exists(path):
            with open(path) as f:
                manifest = json.load(f)
            manifest["evaluation"] = extra
            with open(path, "w") as f:
                json.dump(manifest, f, indent=2)
                f.write("\n")
    with open(os.path.join(a.out, "evaluation.md"), "w") as f:
        f.write(table + "\n\n")
        f.write(f"Age estimator MAE on held-out ground truth: {figures['estimator_mae_ground_truth']:.2f} years.  \n")
        f.write(f"Age MAE of the ager's outputs (estimator vs target age): {figures['age_mae_outputs']:.2f} years.\n")


if __name__ == "__main__":
    sys.exit(main())
