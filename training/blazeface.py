"""MediaPipe BlazeFace in Python without ONNX Runtime: a tiny torch interpreter for the shipped ONNX graphs, a numpy
decoder (anchors, sigmoid, weighted NMS, keypoints) written independently of the C# one, and the letterbox the
pipeline uses. The .NET tests compare their decoder and their full path against the fixtures this writes.

    /usr/bin/python3 training/blazeface.py detect tests/fixtures/heldout/*.png          # print detections
    /usr/bin/python3 training/blazeface.py count DIR [--network full-range|short-range]  # faces found per image
    /usr/bin/python3 training/blazeface.py make-dynamic SRC.onnx DST.onnx               # the batch edit (see NOTICE)
    /usr/bin/python3 training/blazeface.py fixtures --out tests/fixtures/faces IMAGE...  # raw outputs + expected detections

For other tools (the training-data renderer measures keypoint error with it):

    from blazeface import detect
    faces = detect(rgba_uint8)   # [{'box': (x, y, w, h), 'score': s, 'keypoints': {'left_eye': (x, y), ...}}]

All coordinates are in pixels of the image given (x right, y down, continuous: the left edge of pixel 0 is 0.0).
"left"/"right" are as seen in the picture (left_eye.x < right_eye.x), not the subject's own.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
from dataclasses import dataclass

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "..", "models", "face-detector", "1")

# Pixel value of the letterbox padding and of the background transparent pixels are composited on. 128 is the
# sRGB value nearest to 0.0 in the [-1, 1] input range, i.e. "no information" to the network.
PAD_VALUE = 128

# MediaPipe order of the six keypoints, of the subject (the subject's right eye is on the picture's left).
MEDIAPIPE_KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")

torch.set_grad_enabled(False)


# --------------------------------------------------------------------------------------------------------------------
# The ONNX interpreter (exactly the ops the BlazeFace graphs use)


class OnnxGraph:
    """Executes an ONNX graph of Conv, Relu, Add, Transpose, Reshape, MaxPool, ConstantOfShape, Concat and Pad."""

    def __init__(self, path: str):
        model = onnx.load(path)
        self.path = path
        self.graph = model.graph
        self.values = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in model.graph.initializer}
        self.inputs = [i.name for i in model.graph.input if i.name not in self.values]
        self.outputs = [o.name for o in model.graph.output]
        self.ops = sorted({n.op_type for n in model.graph.node})

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        env = dict(self.values)
        for name, value in feeds.items():
            env[name] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
        for node in self.graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            args = [env[i] if i else None for i in node.input]
            env[node.output[0]] = _OPS[node.op_type](args, attrs)
        return {name: env[name].numpy() for name in self.outputs}


def _conv(args, attrs):
    x, w = args[0], args[1]
    b = args[2] if len(args) > 2 else None
    if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise NotImplementedError("auto_pad")
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, w, b, stride=tuple(attrs.get("strides", [1, 1])), dilation=tuple(attrs.get("dilations", [1, 1])),
                    groups=attrs.get("group", 1))


def _maxpool(args, attrs):
    top, left, bottom, right = attrs.get("pads", [0, 0, 0, 0])
    x = F.pad(args[0], (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(x, tuple(attrs["kernel_shape"]), tuple(attrs.get("strides", attrs["kernel_shape"])))


def _reshape(args, attrs):
    shape = [int(v) for v in args[1].tolist()]
    shape = [args[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return args[0].reshape(shape)


def _constant_of_shape(args, attrs):
    value = numpy_helper.to_array(attrs["value"]) if "value" in attrs else np.zeros(1, np.float32)
    return torch.full([int(v) for v in args[0].tolist()], float(value.reshape(-1)[0]), dtype=torch.float32)


def _pad(args, attrs):
    mode = attrs.get("mode", b"constant")
    if mode not in (b"constant", "constant"):
        raise NotImplementedError(f"Pad mode {mode}")
    pads = [int(v) for v in args[1].tolist()]
    rank = len(pads) // 2
    value = float(args[2].reshape(-1)[0]) if len(args) > 2 and args[2] is not None else 0.0
    torch_pads = []
    for axis in reversed(range(rank)):
        torch_pads += [pads[axis], pads[axis + rank]]
    return F.pad(args[0], torch_pads, value=value)


_OPS = {
    "Conv": _conv,
    "Relu": lambda a, _: torch.relu(a[0]),
    "Add": lambda a, _: a[0] + a[1],
    "Transpose": lambda a, at: a[0].permute(*at["perm"]).contiguous(),
    "Reshape": _reshape,
    "MaxPool": _maxpool,
    "ConstantOfShape": _constant_of_shape,
    "Concat": lambda a, at: torch.cat(a, dim=at["axis"]),
    "Pad": _pad,
}


def make_dynamic(src: str, dst: str) -> list[str]:
    """Makes the batch axis of a BlazeFace graph dynamic; returns the changes made (for the NOTICE).

    tf2onnx froze the batch size 1 in three places: the input/output shapes, the Reshape targets [1, A, K] before
    each output, and the ConstantOfShape [1, C, H, W] + Concat pairs that zero-pad channels (TF's channel Pad). The
    first become a symbolic "N", the second [-1, A, K], the third one Pad op per pair (pads only the channel axis at
    its end, with zeros: the same values as the Concat of zeros).
    """
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    changes = []
    for value in list(graph.input) + list(graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    changes.append("input and output batch axes made symbolic ('N')")

    producers = {o: n for n in graph.node for o in n.output}
    new_nodes = []
    drop = set()
    reshapes = pads = 0
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]]).copy()
            if shape[0] == 1:
                shape[0] = -1
                name = node.input[1] + "_dynamic_batch"
                graph.initializer.append(numpy_helper.from_array(shape.astype(np.int64), name))
                node.input[1] = name
                reshapes += 1
        if node.op_type == "Concat" and len(node.input) == 2 and node.input[1] in producers \
                and producers[node.input[1]].op_type == "ConstantOfShape":
            zeros = producers[node.input[1]]
            shape = numpy_helper.to_array(inits[zeros.input[0]])
            axis = node.attribute[0].i
            if axis != 1 or len(shape) != 4:
                raise ValueError(f"unexpected channel pad at {node.name}")
            pad_name = node.output[0] + "_pads"
            graph.initializer.append(numpy_helper.from_array(
                np.array([0, 0, 0, 0, 0, int(shape[1]), 0, 0], np.int64), pad_name))
            new_nodes.append(onnx.helper.make_node("Pad", [node.input[0], pad_name], list(node.output),
                                                   name=(node.name or node.output[0]) + "_pad", mode="constant"))
            drop.add(zeros.name or zeros.output[0])
            pads += 1
            continue
        new_nodes.append(node)
    new_nodes = [n for n in new_nodes if (n.name or n.output[0]) not in drop]
    del graph.node[:]
    graph.node.extend(new_nodes)
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    changes.append(f"{reshapes} Reshape targets [1, A, K] changed to [-1, A, K]")
    changes.append(f"{pads} ConstantOfShape+Concat channel paddings replaced by Pad (same zeros)")
    del graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, dst)
    return changes


# --------------------------------------------------------------------------------------------------------------------
# Letterbox


@dataclass
class Letterbox:
    size: int
    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float

    def to_image(self, u: float, v: float) -> tuple[float, float]:
        """A point in normalised letterbox coordinates ([0, 1]²) to image pixels."""
        return (u * self.size - self.offset_x) / self.scale_x, (v * self.size - self.offset_y) / self.scale_y


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """RGB(A) uint8 [H, W, 3|4] to a [1, size, size, 3] float32 tensor in [-1, 1]: alpha composited on grey 128,
    the longer side scaled to `size` (Lanczos), the rest padded centred with grey 128."""
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise ValueError("expected an RGB or RGBA uint8 array [H, W, 3|4]")
    h, w = image.shape[:2]
    rgb = image[:, :, :3].astype(np.float64)
    if image.shape[2] == 4:
        a = image[:, :, 3:4].astype(np.float64) / 255.0
        rgb = rgb * a + PAD_VALUE * (1.0 - a)
    rgb = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    s = size / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    resized = np.asarray(Image.fromarray(rgb, "RGB").resize((nw, nh), Image.LANCZOS))
    ox, oy = (size - nw) // 2, (size - nh) // 2
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[oy:oy + nh, ox:ox + nw] = resized
    tensor = (canvas.astype(np.float32) / 127.5 - 1.0)[None]
    return tensor, Letterbox(size, nw / w, nh / h, float(ox), float(oy))


# --------------------------------------------------------------------------------------------------------------------
# Decoding (numpy, independent of the C# decoder)


def anchors(layers: list[dict]) -> np.ndarray:
    """Anchor centres [A, 2] in normalised coordinates, in output order (row-major cells, anchors within a cell)."""
    out = []
    for layer in layers:
        cells, per_cell = layer["cells"], layer["anchorsPerCell"]
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_cell, axis=1).reshape(-1, 2))
    return np.concatenate(out).astype(np.float64)


def decode(scores: np.ndarray, regressors: np.ndarray, layers: list[dict], scale: float, min_score: float,
           iou: float, score_clip: float = 100.0) -> list[dict]:
    """Raw outputs of one image (scores [A], regressors [A, 16], layers concatenated) to detections in normalised
    letterbox coordinates, after weighted NMS. Each: centre (2), extent (2), keypoints (6×2, MediaPipe order), score."""
    centres = anchors(layers)
    logits = np.clip(scores.astype(np.float64).reshape(-1), -score_clip, score_clip)
    probability = 1.0 / (1.0 + np.exp(-logits))
    r = regressors.astype(np.float64).reshape(-1, 16) / scale
    geometry = np.concatenate([
        centres + r[:, 0:2],                     # box centre
        r[:, 2:4],                               # box extent
        (centres[:, None, :] + r[:, 4:16].reshape(-1, 6, 2)).reshape(-1, 12),
    ], axis=1)
    keep = probability >= min_score
    return weighted_nms(geometry[keep], probability[keep], iou)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of box a (centre, extent) with each row of b."""
    a0, a1 = a[0:2] - a[2:4] / 2, a[0:2] + a[2:4] / 2
    b0, b1 = b[:, 0:2] - b[:, 2:4] / 2, b[:, 0:2] + b[:, 2:4] / 2
    inner = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(axis=1)
    union = a[2] * a[3] + b[:, 2] * b[:, 3] - inner
    return np.where(union > 0, inner / np.where(union > 0, union, 1), 0.0)


def weighted_nms(geometry: np.ndarray, scores: np.ndarray, iou: float, tags: list | None = None) -> list[dict]:
    """MediaPipe's WEIGHTED overlap removal: take the best remaining candidate, cluster every remaining candidate whose
    IoU with it is >= `iou`, average the cluster's geometry weighted by score, keep the best score."""
    order = np.argsort(-scores, kind="stable")
    remaining = list(order)
    out = []
    while remaining:
        best = remaining[0]
        overlaps = _iou(geometry[best], geometry[remaining])
        cluster = [remaining[i] for i in range(len(remaining)) if overlaps[i] >= iou]
        if best not in cluster:
            cluster.insert(0, best)
        w = scores[cluster]
        g = (geometry[cluster] * w[:, None]).sum(axis=0) / w.sum()
        out.append({"centre": g[0:2].tolist(), "extent": g[2:4].tolist(), "keypoints": g[4:16].reshape(6, 2).tolist(),
                    "score": float(scores[best]), "tag": tags[best] if tags is not None else None})
        taken = set(cluster)
        remaining = [i for i in remaining if i not in taken]
    return out


# --------------------------------------------------------------------------------------------------------------------
# The detector


class BlazeFace:
    """Both networks of a shipped face-detector version, as its model.json describes them."""

    def __init__(self, model_dir: str = MODEL_DIR):
        with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.networks = []
        for net in self.manifest["networks"]:
            self.networks.append((net, OnnxGraph(os.path.join(model_dir, net["file"]))))
        self.min_score = self.manifest["detection"]["minScore"]
        self.iou = self.manifest["detection"]["nmsIou"]
        self.score_clip = self.manifest["detection"]["scoreClip"]

    def raw(self, net: dict, graph: OnnxGraph, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs one network on [N, S, S, 3]; returns scores [N, A] and regressors [N, A, 16] (layers concatenated)."""
        out = graph.run({net["input"]["name"]: tensor})
        scores = np.concatenate([out[l["scores"]].reshape(tensor.shape[0], -1) for l in net["layers"]], axis=1)
        regs = np.concatenate([out[l["regressors"]].reshape(tensor.shape[0], -1, 16) for l in net["layers"]], axis=1)
        return scores, regs

    def candidates(self, image: np.ndarray, network: str | None = None):
        """Every network's decoded detections (normalised, per-network NMS) with its letterbox."""
        result = []
        for net, graph in self.networks:
            if network is not None and net["name"] != network:
                continue
            tensor, box = letterbox(image, net["input"]["width"])
            scores, regs = self.raw(net, graph, tensor)
            dets = decode(scores[0], regs[0], net["layers"], net["regressorScale"], self.min_score, self.iou,
                          self.score_clip)
            result.append((net, tensor, scores[0], regs[0], box, dets))
        return result

    def detect(self, image: np.ndarray, network: str | None = None, min_score: float | None = None) -> list[dict]:
        """Faces in image pixels, best first. Both networks' detections are merged with the same weighted NMS."""
        if min_score is not None and min_score != self.min_score:
            old, self.min_score = self.min_score, min_score
            try:
                return self.detect(image, network)
            finally:
                self.min_score = old
        per_net = self.candidates(image, network)
        geometry, scores, tags = [], [], []
        for net, _, _, _, box, dets in per_net:
            for d in dets:
                geometry.append(d["centre"] + d["extent"] + [c for p in d["keypoints"] for c in p])
                scores.append(d["score"])
                tags.append((net["name"], box))
        if not geometry:
            return []
        merged = weighted_nms(np.array(geometry), np.array(scores), self.iou, tags)
        box = per_net[0][4]  # every network letterboxes the same way, so normalised coordinates agree
        return [to_pixels(d, box, d["tag"][0]) for d in merged]


def to_pixels(d: dict, box: Letterbox, network: str) -> dict:
    """A normalised detection to image pixels, keypoints named as seen in the picture."""
    cx, cy = box.to_image(*d["centre"])
    w, h = d["extent"][0] * box.size / box.scale_x, d["extent"][1] * box.size / box.scale_y
    kp = [box.to_image(*p) for p in d["keypoints"]]
    named = dict(zip(MEDIAPIPE_KEYPOINTS, kp))
    eyes = sorted([named["right_eye"], named["left_eye"]])
    ears = sorted([named["right_ear"], named["left_ear"]])
    return {
        "box": (cx - w / 2, cy - h / 2, w, h),
        "score": d["score"],
        "keypoints": {"left_eye": eyes[0], "right_eye": eyes[1], "nose": named["nose"], "mouth": named["mouth"],
                      "left_ear": ears[0], "right_ear": ears[1]},
        "network": network,
    }


_DEFAULT: BlazeFace | None = None


def detect(image_rgba_uint8: np.ndarray, min_score: float | None = None) -> list[dict]:
    """Faces in an RGB or RGBA uint8 image [H, W, 3|4], in its pixels, best first (both networks, merged)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = BlazeFace()
    return _DEFAULT.detect(image_rgba_uint8, min_score=min_score)


def load_rgba(path: str) -> np.ndarray:
    with Image.open(path) as im:
        im = im.convert("RGBA") if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info else im.convert("RGB")
        return np.asarray(im)


# --------------------------------------------------------------------------------------------------------------------
# CLI


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _expand(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        out += sorted(glob.glob(os.path.join(p, "*.png"))) if os.path.isdir(p) else [p]
    return out


def _round(v, n=6):
    if isinstance(v, (list, tuple)):
        return [_round(x, n) for x in v]
    if isinstance(v, dict):
        return {k: _round(x, n) for k, x in v.items()}
    return round(v, n) if isinstance(v, float) else v


def cmd_detect(args):
    bf = BlazeFace(args.model)
    for path in _expand(args.images):
        faces = bf.detect(load_rgba(path), args.network)
        print(f"{path}: {len(faces)} face(s)")
        for f in faces:
            k = f["keypoints"]
            print(f"  score {f['score']:.3f} [{f['network']}] box ({f['box'][0]:.1f}, {f['box'][1]:.1f}, "
                  f"{f['box'][2]:.1f}×{f['box'][3]:.1f}) eyes ({k['left_eye'][0]:.1f}, {k['left_eye'][1]:.1f}) "
                  f"({k['right_eye'][0]:.1f}, {k['right_eye'][1]:.1f}) mouth ({k['mouth'][0]:.1f}, {k['mouth'][1]:.1f})")


def cmd_count(args):
    bf = BlazeFace(args.model)
    paths = _expand(args.images)
    found = {"full-range": 0, "short-range": 0, "combined": 0}
    for path in paths:
        image = load_rgba(path)
        row = []
        for name in ("full-range", "short-range", None):
            n = len(bf.detect(image, name, args.min_score))
            found[name or "combined"] += n > 0
            row.append(n)
        print(f"{os.path.basename(path)}: full {row[0]}, short {row[1]}, combined {row[2]}")
    print(f"images with a face (score >= {args.min_score}), of {len(paths)}: " +
          ", ".join(f"{k} {v}" for k, v in found.items()))


def cmd_make_dynamic(args):
    for change in make_dynamic(args.src, args.dst):
        print(change)
    a, b = OnnxGraph(args.src), OnnxGraph(args.dst)
    size = onnx.load(args.src).graph.input[0].type.tensor_type.shape.dim[1].dim_value
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (3, size, size, 3)).astype(np.float32)
    worst = 0.0
    for i in range(3):
        ra = a.run({a.inputs[0]: x[i:i + 1]})
        rb = b.run({b.inputs[0]: x})
        for name in a.outputs:
            worst = max(worst, float(np.abs(ra[name][0] - rb[name][i]).max()))
    print(f"original (batch 1) vs edited (batch 3): max |diff| = {worst:.3g}")
    print(f"sha256 {_sha256(args.dst)}")


def cmd_fixtures(args):
    """For each image and network: the letterboxed input (a lossless PNG of the grey-padded canvas; the tensor is
    v/127.5 - 1 of it) and the raw outputs (little-endian float32: scores [A], regressors [A, 16], layers
    concatenated); and expected.json with each network's decoded detections (normalised, MediaPipe keypoint order)
    and the merged detections in image pixels."""
    bf = BlazeFace(args.model)
    os.makedirs(args.out, exist_ok=True)
    index = {"model": "face-detector/1", "minScore": bf.min_score, "nmsIou": bf.iou, "images": []}
    for path in args.images:
        stem = os.path.splitext(os.path.basename(path))[0]
        image = load_rgba(path)
        entry = {"image": os.path.basename(path), "width": image.shape[1], "height": image.shape[0], "networks": []}
        for net, tensor, scores, regs, box, dets in bf.candidates(image):
            prefix = f"{stem}.{net['name']}"
            canvas = np.rint((tensor[0].astype(np.float64) + 1.0) * 127.5).astype(np.uint8)
            Image.fromarray(canvas, "RGB").save(os.path.join(args.out, prefix + ".input.png"), optimize=True)
            scores.astype("<f4").tofile(os.path.join(args.out, prefix + ".scores.f32"))
            regs.astype("<f4").tofile(os.path.join(args.out, prefix + ".regressors.f32"))
            entry["networks"].append({
                "network": net["name"], "files": prefix,
                "letterbox": {"size": box.size, "scaleX": box.scale_x, "scaleY": box.scale_y,
                              "offsetX": box.offset_x, "offsetY": box.offset_y},
                "detections": [_round({k: v for k, v in d.items() if k != "tag"}) for d in dets],
            })
        entry["faces"] = [_round(f) for f in bf.detect(image)]
        index["images"].append(entry)
        print(f"{stem}: " + ", ".join(f"{n['network']} {len(n['detections'])}" for n in entry["networks"]) +
              f", merged {len(entry['faces'])}")
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=MODEL_DIR, help="face-detector version folder (default: models/face-detector/1)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("detect")
    p.add_argument("images", nargs="+")
    p.add_argument("--network", choices=["full-range", "short-range"])
    p.set_defaults(fn=cmd_detect)
    p = sub.add_parser("count")
    p.add_argument("images", nargs="+")
    p.add_argument("--min-score", type=float, default=0.5)
    p.set_defaults(fn=cmd_count)
    p = sub.add_parser("make-dynamic")
    p.add_argument("src")
    p.add_argument("dst")
    p.set_defaults(fn=cmd_make_dynamic)
    p = sub.add_parser("fixtures")
    p.add_argument("images", nargs="+")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_fixtures)
    args = ap.parse_args(argv)
    args.fn(args)


if __name__ == "__main__":
    main()
