"""Trains and exports `character-face-detector`: a small single-shot face and keypoint detector for stylised
(drawn, painted, anime) faces, trained only on training/charactergen.py renders (frames from training/facedet_data.py).

It has BlazeFace short-range's interface exactly, so the pipeline runs it with the BlazeFace code it already has
(letterbox, anchors, decoder, weighted NMS): a 128² NHWC input in [-1, 1]; anchor layers of 16×16 cells × 2 anchors
and 8×8 cells × 6 anchors (896); per anchor one score logit and 16 regressors (box centre offset, box size, six
keypoint offsets from the anchor's centre, in pixels of the 128² input: regressorScale 128). Each of the 8 anchors
of a cell position stands for one face size (box side 11, 16 | 23, 32, 45, 64, 90, 128 px, a factor √2 apart), and
its regressors are learnt in units of that size; the units are folded into the last convolution at export, so the
ONNX graph holds only Transpose, Conv, Relu, Add and Reshape (training/blazeface.py's interpreter runs it too).

    nice -n 8 /usr/bin/python3 training/train_facedet.py train --out training/runs/facedet1 --minutes 25
    /usr/bin/python3 training/train_facedet.py export --run training/runs/facedet1 --out models/character-face-detector/1

Training is resumable (the checkpoint holds the model, the optimiser, the step and the elapsed minutes that drive
the learning-rate schedule): run the same command again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import facedet_data as fd  # noqa: E402

CELLS = (16, 8)
PER_CELL = (2, 6)
NOMINAL = (11.0, 16.0, 23.0, 32.0, 45.0, 64.0, 90.0, 128.0)  # box side (px of the 128² input) of anchor types 0..7
SCALE = 128.0
# Regressor weights: box (cx, cy, w, h), then keypoints x, y: eyes and mouth (what alignment uses) count most.
REG_WEIGHTS = torch.tensor([1, 1, 1, 1] + [2, 2, 2, 2, 1, 1, 2, 2, 0.5, 0.5, 0.5, 0.5], dtype=torch.float32)


# --------------------------------------------------------------------------------------------------------------------
# Anchors and targets


def anchor_table():
    """Per anchor, in the decoder's order: centre (px), type (0..7), cell size (px)."""
    centres, types, cells = [], [], []
    t0 = 0
    for n, per in zip(CELLS, PER_CELL):
        step = fd.INPUT / n
        for row in range(n):
            for col in range(n):
                for a in range(per):
                    centres.append(((col + 0.5) * step, (row + 0.5) * step))
                    types.append(t0 + a)
                    cells.append(step)
        t0 += per
    return np.array(centres), np.array(types), np.array(cells)


ANCHORS, TYPES, CELL = anchor_table()
A = len(ANCHORS)
ANCHOR_UNIT = np.array(NOMINAL)[TYPES]


def targets(frame: fd.Frame):
    """Labels (1 face, 0 background, -1 ignored) and regression targets (px, relative to the anchor) per anchor."""
    labels = np.zeros(A, np.float32)
    reg = np.zeros((A, 16), np.float32)
    best = np.full(A, np.inf)
    log_nominal = np.log2(np.array(NOMINAL))
    for box in frame.ignore:
        d_size = np.abs(np.log2(max(box[2], 1.0)) - log_nominal[TYPES])
        dist = np.max(np.abs(ANCHORS - box[:2]), axis=1)
        labels[(d_size <= 1.2) & (dist <= 0.5 * box[2])] = -1
    for kp, box in frame.faces:
        s = box[2]
        d_size = np.abs(np.log2(s) - log_nominal[TYPES])
        dist = np.max(np.abs(ANCHORS - box[:2]), axis=1)
        near = (d_size <= 1.2) & (dist <= 0.5 * s)
        labels[near & (labels == 0)] = -1
        pos = (d_size <= 0.6) & (dist <= np.maximum(0.25 * s, 0.5 * CELL))
        if not pos.any():
            pos = np.zeros(A, bool)
            pos[np.argmin(d_size * 1000 + dist)] = True
        closer = pos & (dist < best)
        best[closer] = dist[closer]
        labels[closer] = 1
        row = np.concatenate([box[:2], box[2:4], kp.reshape(-1)])
        rel = np.tile(ANCHORS[closer], 8)
        rel[:, 2:4] = 0
        reg[closer] = row - rel
    return labels, reg


def batch(renders, backgrounds, r: random.Random, n: int):
    images, labels, regs = [], [], []
    for _ in range(n):
        f = fd.random_frame(renders, backgrounds, r)
        lab, reg = targets(f)
        images.append(f.image)
        labels.append(lab)
        regs.append(reg)
    x = torch.from_numpy(np.stack(images)).float() / 127.5 - 1.0
    return x, torch.from_numpy(np.stack(labels)), torch.from_numpy(np.stack(regs))


# --------------------------------------------------------------------------------------------------------------------
# Network


def conv_bn(cin, cout, k, stride=1, groups=1, dilation=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=dilation * (k // 2), groups=groups,
                                   dilation=dilation, bias=False), nn.BatchNorm2d(cout))


class Block(nn.Module):
    """Depthwise k×k + pointwise, batch-normalised; residual when the shape is kept (BlazeFace's BlazeBlock)."""

    def __init__(self, cin, cout, k=5, stride=1, dilation=1):
        super().__init__()
        self.dw = conv_bn(cin, cin, k, stride, groups=cin, dilation=dilation)
        self.pw = conv_bn(cin, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.pw(self.dw(x))
        return F.relu(x + y if self.residual else y)


class FaceNet(nn.Module):
    def __init__(self, width=(16, 32, 64, 128)):
        super().__init__()
        c1, c2, c3, c4 = width
        self.stem = nn.Sequential(conv_bn(3, c1, 3, 2), nn.ReLU())                                    # 64²
        self.s32 = nn.Sequential(Block(c1, c2, 3, 2), Block(c2, c2, 3))                               # 32²
        self.s16 = nn.Sequential(Block(c2, c3, 3, 2), Block(c3, c3), Block(c3, c3))                   # 16²
        self.s8 = nn.Sequential(Block(c3, c4, 3, 2), Block(c4, c4), Block(c4, c4, dilation=2), Block(c4, c4))  # 8²
        self.head16 = nn.Conv2d(c3, PER_CELL[0] * 17, 1)
        self.head8 = nn.Conv2d(c4, PER_CELL[1] * 17, 1)
        for head, per in ((self.head16, PER_CELL[0]), (self.head8, PER_CELL[1])):
            nn.init.normal_(head.weight, std=0.01)
            nn.init.zeros_(head.bias)
            with torch.no_grad():
                head.bias[:per] = -4.0                      # scores start at p ≈ 0.02 (few faces per anchor)
                b = head.bias[per:].view(per, 16)
                b[:, 2:4] = 1.0                             # box side ≈ the anchor's nominal size

    def features(self, x):
        f16 = self.s16(self.s32(self.stem(x)))
        return f16, self.s8(f16)

    def forward(self, x):
        """x: [N, 3, 128, 128] in [-1, 1] → scores [N, A], regressors [N, A, 16] in units of the anchor size."""
        f16, f8 = self.features(x)
        out_s, out_r = [], []
        for head, f, per in ((self.head16, f16, PER_CELL[0]), (self.head8, f8, PER_CELL[1])):
            h = head(f).permute(0, 2, 3, 1)                 # [N, cells, cells, per × 17]
            n = h.shape[0]
            out_s.append(h[..., :per].reshape(n, -1))
            out_r.append(h[..., per:].reshape(n, -1, 16))
        return torch.cat(out_s, 1), torch.cat(out_r, 1)


def losses(model, x, labels, regs):
    scores, raw = model(x)
    unit = torch.from_numpy(ANCHOR_UNIT).float()
    pos = labels > 0.5
    neg = labels == 0
    npos = pos.sum().clamp(min=1).float()
    bce = F.binary_cross_entropy_with_logits(scores, (labels > 0.5).float(), reduction="none")
    # Hard negatives: per image the 3 × positives (at least 8) most confident background anchors.
    hard = torch.zeros_like(bce)
    neg_loss = torch.where(neg, bce, torch.zeros_like(bce))
    for i in range(x.shape[0]):
        k = int(max(8, 3 * int(pos[i].sum())))
        top = torch.topk(neg_loss[i], k).indices
        hard[i, top] = 1.0
    cls = (bce * pos).sum() / npos + (bce * hard * neg).sum() / npos + 0.05 * (bce * neg).sum() / neg.sum().clamp(min=1)
    if pos.any():
        # Errors in units of the face's size (its box side), so small and large faces count alike.
        pred = raw[pos] * unit.expand(pos.shape)[pos][:, None]
        side = regs[pos][:, 2:3].clamp(min=4.0)
        err = (pred - regs[pos]).abs() / side
        reg = (err * REG_WEIGHTS).sum(1).mean() / REG_WEIGHTS.sum()
        kp_err = (err[:, [4, 5, 6, 7, 10, 11]]).mean()
    else:
        reg = kp_err = scores.sum() * 0
    return cls, reg, kp_err


# --------------------------------------------------------------------------------------------------------------------
# Training


def train(a):
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "checkpoint.pt")
    renders = fd.load_renders(a.renders)
    backgrounds = fd.load_backgrounds(a.backgrounds)
    n_val = a.val_renders
    train_r = {k: v[:-n_val] for k, v in renders.items()}
    val_r = {k: v[-n_val:] for k, v in renders.items()}
    print(f"renders: {len(train_r['rgb'])} train, {n_val} validation; backgrounds {len(backgrounds)}", flush=True)
    vr = random.Random(12345)
    n_bg = max(1, len(backgrounds) // 10)
    val = [batch(val_r, backgrounds[-n_bg:], vr, 32) for _ in range(4)]
    bgs = backgrounds[:-n_bg]

    torch.manual_seed(a.seed)
    model = FaceNet()
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    step, elapsed = 0, 0.0
    r = random.Random(a.seed)
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        r = random.Random(a.seed + step)
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    params = sum(p.numel() for p in model.parameters())
    print(f"FaceNet: {params} parameters, {A} anchors; budget {a.minutes} min on {a.threads} thread(s)", flush=True)

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "args": vars(a)}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    def validate():
        model.eval()
        with torch.no_grad():
            c = g = k = 0.0
            for x, lab, reg in val:
                ci, gi, ki = losses(model, x.permute(0, 3, 1, 2), lab, reg)
                c, g, k = c + float(ci), g + float(gi), k + float(ki)
        model.train()
        return c / len(val), g / len(val), k / len(val)

    budget = a.minutes * 60
    start = time.time() - elapsed
    last_save = time.time()
    log = open(os.path.join(a.out, "log.jsonl"), "a")
    avg = None
    while elapsed < budget:
        frac = elapsed / budget
        warm = min(1.0, (step + 1) / 100)
        lr = a.lr * warm * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in opt.param_groups:
            group["lr"] = lr
        x, lab, reg = batch(train_r, bgs, r, a.batch)
        cls, regl, kp = losses(model, x.permute(0, 3, 1, 2), lab, reg)
        loss = cls + a.reg_weight * regl
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        elapsed = time.time() - start
        cur = np.array([float(cls), float(regl), float(kp)])
        avg = cur if avg is None else 0.95 * avg + 0.05 * cur
        if step % a.log == 0:
            print(f"step {step} {elapsed / 60:.1f} min lr {lr:.2e} cls {avg[0]:.4f} reg {avg[1]:.4f} "
                  f"kp {avg[2]:.4f} (box sides)", flush=True)
        if step % a.val_every == 0 or elapsed >= budget:
            vc, vg, vk = validate()
            print(f"  validation: cls {vc:.4f} reg {vg:.4f} kp {vk:.4f}", flush=True)
            log.write(json.dumps({"step": step, "minutes": elapsed / 60, "lr": lr, "cls": avg[0], "reg": avg[1],
                                  "kp": avg[2], "val_cls": vc, "val_reg": vg, "val_kp": vk}) + "\n")
            log.flush()
        if time.time() - last_save > 120:
            save()
            last_save = time.time()
    save()
    vc, vg, vk = validate()
    print(f"done: {step} steps, {elapsed / 60:.1f} min; train cls {avg[0]:.4f} reg {avg[1]:.4f} kp {avg[2]:.4f}; "
          f"validation cls {vc:.4f} reg {vg:.4f} kp {vk:.4f}", flush=True)


# --------------------------------------------------------------------------------------------------------------------
# Export


def fuse(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      conv.dilation, conv.groups, bias=True)
    std = torch.sqrt(bn.running_var + bn.eps)
    fused.weight.data = conv.weight.data * (bn.weight / std)[:, None, None, None]
    fused.bias.data = bn.bias - bn.weight * bn.running_mean / std
    return fused


class Exported(nn.Module):
    """The inference graph: NHWC input, fused convolutions, regressors in pixels (anchor units folded in), and the
    four outputs BlazeFace has ([N, 512, 1], [N, 384, 1], [N, 512, 16], [N, 384, 16])."""

    def __init__(self, model: FaceNet):
        super().__init__()
        model = model.eval()
        layers = [fuse(model.stem[0][0], model.stem[0][1]), nn.ReLU()]
        self.trunk16 = nn.Sequential(*layers, *[FusedBlock(b) for s in (model.s32, model.s16) for b in s])
        self.trunk8 = nn.Sequential(*[FusedBlock(b) for b in model.s8])
        self.head16 = self._scaled(model.head16, PER_CELL[0], NOMINAL[:2])
        self.head8_s, self.head8_r = None, None
        self.head8 = self._scaled(model.head8, PER_CELL[1], NOMINAL[2:])

    @staticmethod
    def _scaled(head: nn.Conv2d, per: int, units) -> nn.ModuleList:
        """Splits a head into a score conv and a regressor conv whose outputs are in pixels."""
        w, b = head.weight.data.clone(), head.bias.data.clone()
        s = nn.Conv2d(head.in_channels, per, 1)
        s.weight.data, s.bias.data = w[:per].clone(), b[:per].clone()
        scale = torch.tensor(units, dtype=torch.float32).repeat_interleave(16)
        r = nn.Conv2d(head.in_channels, per * 16, 1)
        r.weight.data = w[per:] * scale[:, None, None, None]
        r.bias.data = b[per:] * scale
        return nn.ModuleList([s, r])

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        f16 = self.trunk16(x)
        f8 = self.trunk8(f16)
        s16 = self.head16[0](f16).permute(0, 2, 3, 1).reshape(-1, CELLS[0] ** 2 * PER_CELL[0], 1)
        s8 = self.head8[0](f8).permute(0, 2, 3, 1).reshape(-1, CELLS[1] ** 2 * PER_CELL[1], 1)
        r16 = self.head16[1](f16).permute(0, 2, 3, 1).reshape(-1, CELLS[0] ** 2 * PER_CELL[0], 16)
        r8 = self.head8[1](f8).permute(0, 2, 3, 1).reshape(-1, CELLS[1] ** 2 * PER_CELL[1], 16)
        return s16, s8, r16, r8


class FusedBlock(nn.Module):
    def __init__(self, b: Block):
        super().__init__()
        self.dw = fuse(b.dw[0], b.dw[1])
        self.pw = fuse(b.pw[0], b.pw[1])
        self.residual = b.residual

    def forward(self, x):
        y = self.pw(self.dw(x))
        return F.relu(x + y if self.residual else y)


def constants_to_initializers(path: str):
    """Turns the exporter's Constant nodes (the Reshape targets) into initializers, as in the BlazeFace graphs, and
    writes the outputs' fixed dimensions ([N, anchors, 1 | 16]; the exporter leaves them symbolic)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    fixed = {OUTPUTS[0]: (CELLS[0] ** 2 * PER_CELL[0], 1), OUTPUTS[1]: (CELLS[1] ** 2 * PER_CELL[1], 1),
             OUTPUTS[2]: (CELLS[0] ** 2 * PER_CELL[0], 16), OUTPUTS[3]: (CELLS[1] ** 2 * PER_CELL[1], 16)}
    for output in m.graph.output:
        for dim, value in zip(output.type.tensor_type.shape.dim[1:], fixed[output.name]):
            dim.ClearField("dim_param")
            dim.dim_value = value
    keep = []
    for node in m.graph.node:
        if node.op_type == "Constant":
            value = numpy_helper.to_array(node.attribute[0].t)
            m.graph.initializer.append(numpy_helper.from_array(value, node.output[0]))
        else:
            keep.append(node)
    del m.graph.node[:]
    m.graph.node.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, path)


OUTPUTS = ["scores_16", "scores_8", "regressors_16", "regressors_8"]


def export(a):
    torch.set_num_threads(a.threads)
    ck = torch.load(os.path.join(a.run, "checkpoint.pt"))
    model = FaceNet()
    model.load_state_dict(ck["model"])
    model.eval()
    graph = Exported(model).eval()
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "character_face_detector.onnx")
    x = torch.rand(2, fd.INPUT, fd.INPUT, 3) * 2 - 1
    with torch.no_grad():
        torch.onnx.export(graph, x, path, input_names=["input"], output_names=OUTPUTS, opset_version=a.opset,
                          dynamic_axes={"input": {0: "N"}, **{o: {0: "N"} for o in OUTPUTS}}, do_constant_folding=True)
        # The exported graph against the training graph (anchor units applied) and against training/blazeface.py's
        # interpreter, which is what the evaluation runs.
        scores, raw = model(x.permute(0, 3, 1, 2))
        pixels = raw * torch.from_numpy(ANCHOR_UNIT).float()[None, :, None]
        s16, s8, r16, r8 = graph(x)
    constants_to_initializers(path)
    import blazeface
    out = blazeface.OnnxGraph(path).run({"input": x.numpy()})
    diff_train = max(float((torch.cat([s16[..., 0], s8[..., 0]], 1) - scores).abs().max()),
                     float((torch.cat([r16, r8], 1) - pixels).abs().max()))
    diff_onnx = max(float(np.abs(out[n] - t.numpy()).max()) for n, t in zip(OUTPUTS, (s16, s8, r16, r8)))
    import onnx
    ops = sorted({n.op_type for n in onnx.load(path).graph.node})
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    print(f"exported {path}: opset {a.opset}, ops {ops}, sha256 {sha}")
    print(f"max |fused − training graph| = {diff_train:.2e}; max |ONNX (interpreter) − fused| = {diff_onnx:.2e}")
    params = sum(p.numel() for p in model.parameters())
    manifest = {
        "schemaVersion": 1,
        "name": "character-face-detector",
        "version": os.path.basename(os.path.normpath(a.out)),
        "kind": "face-detector",
        "networks": [{
            "name": "stylised",
            "file": os.path.basename(path),
            "sha256": sha,
            "opset": a.opset,
            "input": {"name": "input", "layout": "NHWC", "channels": 3, "height": fd.INPUT, "width": fd.INPUT,
                      "range": [-1.0, 1.0]},
            "layers": [
                {"cells": CELLS[0], "anchorsPerCell": PER_CELL[0], "scores": OUTPUTS[0], "regressors": OUTPUTS[2]},
                {"cells": CELLS[1], "anchorsPerCell": PER_CELL[1], "scores": OUTPUTS[1], "regressors": OUTPUTS[3]},
            ],
            "regressorScale": SCALE,
            "source": "training/train_facedet.py export of " + os.path.relpath(os.path.join(a.run, "checkpoint.pt"),
                                                                          os.path.dirname(HERE)),
        }],
        "detection": {"minScore": 0.5, "nmsIou": 0.3, "scoreClip": 100.0,
                      "keypoints": ["right-eye", "left-eye", "nose", "mouth", "right-ear", "left-ear"]},
        "normalisation": "sRGB; alpha composited on grey 128; longer side scaled to 128, the rest padded centred "
                         "with grey 128; v/127.5 - 1 (BlazeFace's letterbox)",
        "padValue": 128,
        "maxBatch": 16,
        "licence": "MIT (weights and training code); trained only on procedurally generated images",
        "trainingData": "training/charactergen.py renders of whole characters (seeds 3000000+), composited and "
                        "augmented by training/facedet_data.py; see MODEL_CARD.md",
        "training": {"steps": ck["step"], "minutes": round(ck["elapsed"] / 60, 1), "parameters": params},
    }
    with open(os.path.join(a.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {os.path.join(a.out, 'model.json')}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("train")
    p.add_argument("--out", default="training/runs/facedet1")
    p.add_argument("--renders", default=".local/facedet/train")
    p.add_argument("--backgrounds", default=".local/facedet/backgrounds")
    p.add_argument("--minutes", type=float, default=25)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--reg-weight", type=float, default=20.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--val-renders", type=int, default=150)
    p.add_argument("--log", type=int, default=25)
    p.add_argument("--val-every", type=int, default=250)
    p.set_defaults(fn=train)
    p = sub.add_parser("export")
    p.add_argument("--run", default="training/runs/facedet1")
    p.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "models", "character-face-detector", "1"))
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--threads", type=int, default=1)
    p.set_defaults(fn=export)
    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
