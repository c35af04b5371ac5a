#!/usr/bin/python3
"""The usual alternative to the runner, for the benchmark harness (bench/AgingPipeline.Bench, mode `torch`):
PyTorch eager + Pillow in one Python process, with the very weights of the shipped ONNX model.

Per image, what the C# path does (src/AgingPipeline.Imaging): open with Pillow, apply the EXIF orientation, convert
to RGB, fit inside the model's square (aspect kept) and pad by replicating the edges, scale to [-1, 1]; one forward
pass for all the ages of the image (a batch of len(ages)); per age, crop the residual to the content rectangle,
upsample it bilinearly (pixel centres aligned) to the full size, add residual x 127.5 to the 8-bit pixels, round,
clamp and encode a JPEG (quality 90, the input's chroma subsampling, as the runner does) into memory. Storage is not involved: bytes in, bytes out.

The weights are the ONNX file's initializers loaded into training/networks.py's AgeUNet; with --parity the output is
checked against ONNX Runtime's on a tensor the C# harness wrote (input.f32, ages.f32, expected.f32).

Run with Debian's Python (/usr/bin/python3, python3-torch 1.13, python3-onnx, python3-pil). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image, ImageOps, JpegImagePlugin

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))
from networks import AGE_SCALE, AgeUNet  # noqa: E402


def load_model(model_dir: str) -> tuple[AgeUNet, dict]:
    with open(os.path.join(model_dir, "model.json")) as f:
        manifest = json.load(f)
    graph = onnx.load(os.path.join(model_dir, manifest.get("file", "model.onnx")))
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.graph.initializer}
    base = weights["stem.body.0.weight"].shape[0]
    depth = sum(1 for name in weights if name.startswith("down.") and name.endswith(".0.weight") and name.count(".") == 3)
    model = AgeUNet(base, depth).eval()
    state = model.state_dict()
    missing = sorted(set(state) - set(weights))
    if missing:
        raise SystemExit(f"the ONNX file lacks weights for {missing[:5]} ...: not an AgeUNet export")
    model.load_state_dict({k: weights[k] for k in state})
    return model, manifest


def check_parity(model: AgeUNet, folder: str, size: int) -> float:
    x = torch.from_numpy(np.fromfile(os.path.join(folder, "input.f32"), dtype="<f4")).view(-1, 3, size, size)
    ages = torch.from_numpy(np.fromfile(os.path.join(folder, "ages.f32"), dtype="<f4")).view(-1, 1)
    expected = torch.from_numpy(np.fromfile(os.path.join(folder, "expected.f32"), dtype="<f4")).view(-1, 3, size, size)
    with torch.no_grad():
        y = model(x, ages)
    return float((y - expected).abs().max())


def to_model_input(image: Image.Image, size: int) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Fit inside size x size keeping the aspect, pad centred by edge replication; returns CHW [-1, 1] and the
    content rectangle (x, y, w, h)."""
    w, h = image.size
    scale = min(size / w, size / h)
    cw, ch = max(1, min(size, round(w * scale))), max(1, min(size, round(h * scale)))
    small = np.asarray(image.resize((cw, ch), Image.BICUBIC, reducing_gap=2.0), dtype=np.float32)
    x, y = (size - cw) // 2, (size - ch) // 2
    padded = np.pad(small, ((y, size - ch - y), (x, size - cw - x), (0, 0)), mode="edge")
    tensor = torch.from_numpy(padded).permute(2, 0, 1).contiguous() / 127.5 - 1.0
    return tensor, (x, y, cw, ch)


def age_one(model: AgeUNet, data: bytes, ages: list[int], size: int) -> list[bytes]:
    source = Image.open(io.BytesIO(data))
    # Pillow's codes: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0, -1 = not a JPEG (then Pillow's default, 4:2:0).
    sampling = JpegImagePlugin.get_sampling(source) if source.format == "JPEG" else -1
    image = ImageOps.exif_transpose(source)
    image = image.convert("RGB")
    full = torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float()  # 3 x H x W, 0..255
    tensor, (x, y, cw, ch) = to_model_input(image, size)
    batch = tensor.unsqueeze(0).expand(len(ages), 3, size, size)
    with torch.no_grad():
        residual = model(batch, torch.tensor([[a * AGE_SCALE] for a in ages], dtype=torch.float32))
        residual = residual[:, :, y:y + ch, x:x + cw]
        outputs = []
        for i in range(len(ages)):
            up = F.interpolate(residual[i:i + 1], size=full.shape[1:], mode="bilinear", align_corners=False)[0]
            aged = (full + up * 127.5 + 0.5).clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
            buffer = io.BytesIO()
            Image.fromarray(aged).save(buffer, format="JPEG", quality=90, subsampling=sampling)
            outputs.append(buffer.getvalue())
    return outputs


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    lo = int(rank)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (rank - lo)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default="models/character-ager/1")
    ap.add_argument("--images", required=True, help="folder of input images (processed in name order, cyclically)")
    ap.add_argument("--ages", default="20,40,60,80")
    ap.add_argument("--count", type=int, default=40, help="images to process after the warm-up")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--parity", help="folder with input.f32, ages.f32, expected.f32 from ONNX Runtime")
    a = ap.parse_args(argv)

    torch.set_num_threads(a.threads)
    model, manifest = load_model(a.model_dir)
    size = int(manifest["input"]["height"])
    ages = [int(v) for v in a.ages.split(",")]
    parity = check_parity(model, a.parity, size) if a.parity else None
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images) if not f.startswith("."))
    blobs = [open(f, "rb").read() for f in files]

    for i in range(a.warmup):
        age_one(model, blobs[i % len(blobs)], ages, size)
    latencies = []
    started = time.perf_counter()
    out_bytes = 0
    for i in range(a.count):
        t = time.perf_counter()
        out_bytes += sum(len(o) for o in age_one(model, blobs[i % len(blobs)], ages, size))
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - started

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "images": a.count,
        "ages": ages,
        "agedImages": a.count * len(ages),
        "seconds": wall,
        "agedImagesPerSecond": a.count * len(ages) / wall,
        "imageP50Seconds": statistics.median(latencies),
        "imageP95Seconds": percentile(latencies, 95),
        "outputBytes": out_bytes,
        "parityMaxAbsDiff": parity,
        "modelBase": model.stem.body[0].out_channels,
        "modelDepth": model.depth,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
