"""Exports trained checkpoints to the model repository (models/{name}/{version}/model.onnx + model.json).

    /usr/bin/python3 training/export.py ager --checkpoint training/runs/ager/checkpoint.pt --out models/character-ager/2
    /usr/bin/python3 training/export.py estimator --checkpoint training/runs/estimator/checkpoint.pt --out models/age-estimator/2

ONNX opset 17, dynamic batch axis, the age an explicit input. Also writes parity fixtures (inputs and PyTorch's
outputs, raw little-endian float32 + a JSON index) with --parity DIR, which the .NET tests feed to ONNX Runtime
to prove that it computes what PyTorch computes (the max abs difference is printed there).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import croptemplate  # noqa: E402
from networks import AGE_SCALE, AgeEstimator, AgeUNet  # noqa: E402
from pairs import load_pairs, to_unit  # noqa: E402

OPSET = 17


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(out: str, manifest: dict):
    manifest["sha256"] = sha256(os.path.join(out, manifest["file"]))
    path = os.path.join(out, "model.json")
    existing = {}
    if os.path.exists(path):
        with open(path) as f:
            existing = json.load(f)
    # Keep figures written by evaluate.py when re-exporting.
    if "evaluation" in existing and "evaluation" not in manifest:
        manifest["evaluation"] = existing["evaluation"]
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")


def export_ager(a):
    ck = torch.load(a.checkpoint, map_location="cpu")
    cfg = ck.get("config", {"size": 128, "base": 16, "depth": 4})
    model = AgeUNet(cfg["base"], cfg["depth"]).eval()
    model.load_state_dict(ck["G"])
    size = cfg["size"]
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    dummy = (torch.zeros(2, 3, size, size), torch.full((2, 1), 0.4))
    torch.onnx.export(model, dummy, onnx_path, opset_version=OPSET, input_names=["image", "target_age"],
                      output_names=["residual"], dynamic_axes={"image": {0: "batch"}, "target_age": {0: "batch"},
                                                               "residual": {0: "batch"}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(onnx_path))
    name, version = os.path.basename(os.path.dirname(os.path.abspath(a.out))), os.path.basename(os.path.abspath(a.out))
    write_manifest(a.out, {
        "schemaVersion": 1, "name": name, "version": version, "kind": "age-transform", "file": "model.onnx",
        "opset": OPSET,
        "input": {"name": "image", "layout": "NCHW", "channels": 3, "height": size, "width": size, "range": [-1.0, 1.0]},
        "conditions": [{"name": "target_age", "role": "target-age", "unit": "years", "scale": AGE_SCALE, "min": 5, "max": 90}],
        "output": {"name": "residual", "kind": "residual", "range": [-2.0, 2.0]},
        "maxBatch": 32,
        # The head-crop template the model was trained in (charactergen.py renders into it); the pipeline aligns
        # detected faces to it.
        "crop": croptemplate.to_manifest(croptemplate.load_template(), size),
        "licence": "MIT (weights and training code); trained only on procedurally generated images",
        "trainingData": "training/charactergen.py procedural character portraits rendered into the head-crop template "
                        "with style randomisation, 1200 identities x 18 ages (5-90)",
        "training": {"steps": ck["step"], "config": cfg},
    })
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) from step {ck['step']}")
    if a.parity:
        write_parity(a, lambda x, age: model(x, age * AGE_SCALE), size, "residual")


def export_estimator(a):
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = AgeEstimator().eval()
    model.load_state_dict(ck["model"])
    size = 128
    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "model.onnx")
    torch.onnx.export(model, (torch.zeros(2, 3, size, size),), onnx_path, opset_version=OPSET, input_names=["image"],
                      output_names=["age"], dynamic_axes={"image": {0: "batch"}, "age": {0: "batch"}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(onnx_path))
    name, version = os.path.basename(os.path.dirname(os.path.abspath(a.out))), os.path.basename(os.path.abspath(a.out))
    write_manifest(a.out, {
        "schemaVersion": 1, "name": name, "version": version, "kind": "age-estimator", "file": "model.onnx",
        "opset": OPSET,
        "input": {"name": "image", "layout": "NCHW", "channels": 3, "height": size, "width": size, "range": [-1.0, 1.0]},
        "conditions": [],
        "output": {"name": "age", "kind": "age-years", "range": [0.0, 120.0]},
        "maxBatch": 64,
        "licence": "MIT (weights and training code); trained only on procedurally generated images",
        "trainingData": "training/charactergen.py procedural character portraits (augmented)"
                        + (", rendered into the head-crop template with style randomisation" if a.crop else ""),
        "training": {"steps": ck["step"]},
        # An estimator trained on head crops reads the same aligned crop as the ager (at its own size).
        **({"crop": croptemplate.to_manifest(croptemplate.load_template(), size)} if a.crop else {}),
    })
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.1f} MB) from step {ck['step']}")
    if a.parity:
        write_parity(a, lambda x, age: model(x), size, "age")


def write_parity(a, fn, size, output_name):
    """Held-out inputs and PyTorch outputs for the ONNX Runtime parity test."""
    pairs = load_pairs(a.parity_data, size, limit=2)
    rows = [pairs.identity_rows[0][2], pairs.identity_rows[1][-3]]
    x = to_unit(pairs.images[rows])
    ages = torch.tensor([[10.0], [80.0]])
    with torch.no_grad():
        y = fn(x, ages)
    os.makedirs(a.parity, exist_ok=True)
    x.numpy().astype("<f4").tofile(os.path.join(a.parity, "input.f32"))
    ages.numpy().astype("<f4").tofile(os.path.join(a.parity, "ages.f32"))
    y.numpy().astype("<f4").tofile(os.path.join(a.parity, "expected.f32"))
    with open(os.path.join(a.parity, "parity.json"), "w") as f:
        json.dump({"model": a.out, "batch": 2, "inputShape": list(x.shape), "ages": [10, 80],
                   "output": output_name, "outputShape": list(y.shape), "source": "PyTorch " + torch.__version__}, f, indent=2)
    print(f"parity fixtures in {a.parity}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["ager", "estimator"])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--parity", help="folder for parity fixtures (optional)")
    ap.add_argument("--crop", action="store_true", help="estimator: it was trained on head crops (training/data-crop); "
                    "write the crop template into its manifest")
    ap.add_argument("--parity-data", default="training/data/heldout")
    a = ap.parse_args(argv)
    (export_ager if a.what == "ager" else export_estimator)(a)


if __name__ == "__main__":
    sys.exit(main())
