"""Training and evaluation frames for the stylised-face keypoint detector (training/train_facedet.py).

The renderer (training/charactergen.py) knows where every eye, nose tip, mouth and ear of a character is, so whole
frames with exact keypoints come for free:

* a *render* is one character drawn whole (head, shoulders and background) into a square picture by a wide,
  shifted and rotated head-crop template, with the figure's silhouette (captured from the renderer's own figure
  mask) and its six keypoints in BlazeFace's order;
* a *frame* is what the detector sees: the network's 128² letterboxed input, made either from one render as it is
  (cropped to a random aspect), or by pasting one to three rendered characters (cut out along their silhouettes)
  onto a background-only render, or from a background alone (a negative), then flipped, blurred, recoloured and
  JPEG-compressed at random.

Keypoints are BlazeFace's six, of the subject, in MediaPipe order (right eye, left eye, nose tip, mouth, right ear,
left ear; the subject's right eye is the one on the picture's left for these frontal characters). Eyes and mouth
are ``charactergen.landmarks``; the nose tip is ``geometry()['nose_y']`` on the face's axis; the ears are the centres
of the drawn ears (``cx ± 0.98 face_rx``, ``cy + 0.02 + 0.01 old``), where a tragion would sit; under a hood they are
hidden and stay where they would be. The box is square, as BlazeFace's: centred on the mouth's x and 0.08 IOD
above the midpoint of the eye line and the mouth, side 1.05 × (IOD + eye–mouth distance), which is what BlazeFace
itself reports on these renders (measured on 30: centre −0.01/−0.08 IOD, side 2.11 IOD ± 0.15).

    /usr/bin/python3 training/facedet_data.py renders --out .local/facedet/train --first 3000000 --count 1600
    /usr/bin/python3 training/facedet_data.py backgrounds --out .local/facedet/backgrounds --first 3100000 --count 300
    /usr/bin/python3 training/facedet_data.py sheet --renders .local/facedet/train --out /tmp/frames.png

Seeds: 3_000_000+ training renders, 3_100_000+ training backgrounds, 4_000_000+ held-out (training/eval_detectors.py).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import sys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import charactergen  # noqa: E402
import croptemplate  # noqa: E402

INPUT = 128          # the network's input side
PAD_VALUE = 128      # letterbox grey (the pipeline's padValue)
RENDER = 192         # side of a cached render

# The subject's keypoints in MediaPipe order.
KEYPOINTS = ("right-eye", "left-eye", "nose", "mouth", "right-ear", "left-ear")


def style_family(style: charactergen.Style) -> str:
    """anime | cartoon (western, realism < 0.5) | painted (western, realism >= 0.5)."""
    if style.anime:
        return "anime"
    return "painted" if style.realism >= 0.5 else "cartoon"


def placed_template(zoom: float, angle_deg: float = 0.0, shift=(0.0, 0.0)) -> croptemplate.CropTemplate:
    """The ager's head-crop template scaled by ``zoom`` and rotated by ``angle_deg`` about the crop centre, then
    shifted (fractions of the side): where the character's eyes and mouth land in a whole-frame render."""
    t = croptemplate.load_template()
    sim = croptemplate.about((0.5, 0.5), math.radians(angle_deg), zoom, shift)
    f = lambda p: croptemplate.apply(sim, *p)  # noqa: E731
    return croptemplate.CropTemplate(f(t.left_eye), f(t.right_eye), f(t.mouth), t.mask_centre, t.mask_radii,
                                     t.mask_feather)


def true_keypoints(ident, age: float, style, template, size: int) -> np.ndarray:
    """The six keypoints [6, 2] in pixels of a ``size`` render made with ``template`` (jitter off)."""
    g = charactergen.geometry(ident, age, style)
    sim = charactergen.crop_transform(ident, style, template, jitter=False)
    (lx, ly), (rx, ry), (mx, my) = charactergen.landmarks(ident, age, style)
    ear_y = g["cy"] + 0.02 + 0.01 * g["old"]
    pts = [(lx, ly), (rx, ry), (g["cx"], g["nose_y"]), (mx, my),
           (g["cx"] - g["face_rx"] * 0.98, ear_y), (g["cx"] + g["face_rx"] * 0.98, ear_y)]
    return np.array([[c * size for c in croptemplate.apply(sim, x, y)] for x, y in pts], np.float64)


def face_box(kp: np.ndarray) -> np.ndarray:
    """BlazeFace-like square box (cx, cy, w, h) from the keypoints (see the module docs)."""
    eye_l, eye_r, mouth = kp[0], kp[1], kp[3]
    eyes = (eye_l + eye_r) / 2
    iod = float(np.linalg.norm(eye_r - eye_l))
    down = mouth - eyes
    emd = float(np.linalg.norm(down))
    up = -down / max(emd, 1e-6)
    centre = (eyes + mouth) / 2 + 0.08 * iod * up
    side = 1.05 * (iod + emd)
    return np.array([centre[0], centre[1], side, side])


def iod(kp: np.ndarray) -> float:
    return float(np.linalg.norm(kp[1] - kp[0]))


# --------------------------------------------------------------------------------------------------------------------
# Renders


_CAPTURED: dict = {}
_ORIGINAL_LIGHT = charactergen.light


def _light_capturing_mask(pt, style, size):
    _CAPTURED["mask"] = pt.mask
    return _ORIGINAL_LIGHT(pt, style, size)


@dataclass
class Render:
    rgb: np.ndarray       # [S, S, 3] uint8, the whole render (with its own background)
    alpha: np.ndarray     # [S, S] uint8, the figure's silhouette
    keypoints: np.ndarray  # [6, 2] pixels
    family: str
    seed: int
    age: float


def render_character(seed: int, age: float, zoom: float, angle: float, shift, size: int = RENDER,
                     ident=None, style=None) -> Render:
    """One character drawn whole: the picture, its silhouette (the renderer's figure mask) and its keypoints."""
    ident = ident or charactergen.random_identity(seed)
    style = style or charactergen.random_style(seed)
    template = placed_template(zoom, angle, shift)
    charactergen.light = _light_capturing_mask
    try:
        img = charactergen.render(ident, age, size, style, template=template, jitter=False)
    finally:
        charactergen.light = _ORIGINAL_LIGHT
    alpha = np.asarray(_CAPTURED.pop("mask").resize((size, size), Image.BILINEAR))
    return Render(np.asarray(img), alpha, true_keypoints(ident, age, style, template, size), style_family(style),
                  seed, age)


def random_placement(r: random.Random):
    """Zoom (head size: 1 = the ager's crop, head ≈ 55 % of the side), rotation and shift of a training render."""
    zoom = math.exp(r.uniform(math.log(0.22), math.log(1.7)))
    angle = max(-25.0, min(25.0, r.gauss(0.0, 8.0)))
    room = max(0.04, 0.42 - 0.22 * zoom)
    return zoom, angle, (r.uniform(-room, room), r.uniform(-room, room * 0.8))


def background(seed: int, size: int = RENDER) -> np.ndarray:
    """A background with no character: the renderer's backgrounds and finishing (grain, grading, JPEG)."""
    ident, style = charactergen.random_identity(seed), charactergen.random_style(seed)
    r = random.Random(seed)
    px = size * charactergen.SUPERSAMPLE
    img = Image.new("RGB", (px, px), (128, 128, 128))
    charactergen.draw_background(img, ident, style, random.Random(style.seed * 31 + 7))
    d = ImageDraw.Draw(img)
    # Some clutter that is not a face: props, ellipses and blobs in skin and hair colours (hard negatives).
    for _ in range(r.randint(0, 5)):
        colour = r.choice([ident.skin, ident.hair_colour, ident.cloth_colour, style.prop_colour])
        x, y, w, h = (r.uniform(-0.1, 1) * px, r.uniform(-0.1, 1) * px, r.uniform(0.05, 0.4) * px,
                      r.uniform(0.05, 0.4) * px)
        if r.random() < 0.5:
            d.ellipse([x, y, x + w, y + h], fill=colour, outline=(30, 25, 25) if r.random() < 0.5 else None,
                      width=max(1, int(px / 128)))
        else:
            d.polygon([(x, y), (x + w, y + r.uniform(-0.1, 0.1) * px), (x + w * r.uniform(0.5, 1.2), y + h)],
                      fill=colour)
    img = img.resize((size, size), Image.LANCZOS)
    return np.asarray(charactergen.finish(img, style))


def save_renders(path: str, renders: list[Render]):
    np.savez(path, rgb=np.stack([x.rgb for x in renders]), alpha=np.stack([x.alpha for x in renders]),
             keypoints=np.stack([x.keypoints for x in renders]), family=np.array([x.family for x in renders]),
             seed=np.array([x.seed for x in renders]), age=np.array([x.age for x in renders]))


def load_renders(folder: str) -> dict:
    """Every renders-*.npz of a folder, concatenated."""
    parts = sorted(f for f in os.listdir(folder) if f.startswith("renders-") and f.endswith(".npz"))
    if not parts:
        raise SystemExit(f"no renders-*.npz in {folder} (run: facedet_data.py renders --out {folder})")
    loaded = [np.load(os.path.join(folder, f)) for f in parts]
    return {k: np.concatenate([p[k] for p in loaded]) for k in loaded[0].files}


def load_backgrounds(folder: str) -> np.ndarray:
    parts = sorted(f for f in os.listdir(folder) if f.startswith("backgrounds-") and f.endswith(".npz"))
    if not parts:
        raise SystemExit(f"no backgrounds-*.npz in {folder}")
    return np.concatenate([np.load(os.path.join(folder, f))["rgb"] for f in parts])


# --------------------------------------------------------------------------------------------------------------------
# Frames


@dataclass
class Frame:
    image: np.ndarray            # [128, 128, 3] uint8, the letterboxed network input
    faces: list                  # [(keypoints [6, 2] in input pixels, box (cx, cy, w, h)), ...] to find
    ignore: list                 # boxes where a detection is neither right nor wrong (cut off, hidden, tiny)


def _letterbox_geometry(w: int, h: int):
    s = INPUT / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    return s, nw, nh, (INPUT - nw) // 2, (INPUT - nh) // 2


def _random_aspect(r: random.Random) -> float:
    return r.choice([1.0, 1.0, 1.0, 0.75, 4 / 3, 16 / 9, 9 / 16, 0.8, 1.25])


def _classify(kp: np.ndarray, w: float, h: float, min_iod: float):
    """A face is to be found when its eyes and mouth are inside the picture and it is not tiny; one cut further
    is ignored (neither found nor missed); one whose centre is outside the picture does not exist."""
    box = face_box(kp)
    inside = lambda p: 0 <= p[0] < w and 0 <= p[1] < h  # noqa: E731
    if not inside(box[:2]):
        return "none", box
    if all(inside(p) for p in kp[[0, 1, 3]]) and iod(kp) >= min_iod:
        return "face", box
    return "ignore", box


def natural_frame(rd: Render, r: random.Random, min_iod: float = 3.0) -> Frame:
    """One render as it is, cropped to a random aspect around a random part of it, letterboxed."""
    S = rd.rgb.shape[0]
    aspect = _random_aspect(r)
    cw, ch = (S, S / aspect) if aspect >= 1 else (S * aspect, S)
    scale = r.uniform(0.75, 1.0)
    cw, ch = cw * scale, ch * scale
    x0, y0 = r.uniform(0, S - cw), r.uniform(0, S - ch)
    crop = Image.fromarray(rd.rgb).crop((round(x0), round(y0), round(x0 + cw), round(y0 + ch)))
    w, h = crop.size
    s, nw, nh, ox, oy = _letterbox_geometry(w, h)
    canvas = Image.new("RGB", (INPUT, INPUT), (PAD_VALUE,) * 3)
    canvas.paste(crop.resize((nw, nh), Image.LANCZOS), (ox, oy))
    kp = (rd.keypoints - [round(x0), round(y0)])
    kind, _ = _classify(kp, w, h, min_iod / s)
    kp = kp * [nw / w, nh / h] + [ox, oy]
    frame = Frame(np.asarray(canvas), [], [])
    if kind == "face":
        frame.faces.append((kp, face_box(kp)))
    elif kind == "ignore":
        frame.ignore.append(face_box(kp))
    return frame


def composite_frame(renders: dict, backgrounds: np.ndarray, r: random.Random, people: int,
                    min_iod: float = 3.0) -> Frame:
    """``people`` characters (0 for a negative) cut out of random renders and pasted onto a background render at
    random sizes and places (later ones in front), letterboxed."""
    aspect = _random_aspect(r)
    w, h = (INPUT, round(INPUT / aspect)) if aspect >= 1 else (round(INPUT * aspect), INPUT)
    bg = Image.fromarray(backgrounds[r.randrange(len(backgrounds))])
    side = max(w, h)
    bg = bg.resize((side, side), Image.BILINEAR).crop((0, 0, w, h)) if r.random() < 0.5 else bg.resize((w, h), Image.BILINEAR)
    canvas = bg.copy()
    placed = []   # (keypoints in canvas pixels, alpha layer drawn after it)
    for k in range(people):
        i = r.randrange(len(renders["rgb"]))
        kp0 = renders["keypoints"][i]
        # Head size in the frame: IOD from 3 % to 40 % of the picture's shorter side (smaller with more people).
        target_iod = math.exp(r.uniform(math.log(0.035), math.log(0.40 if people == 1 else 0.22))) * min(w, h)
        f = target_iod / iod(kp0)
        S = renders["rgb"].shape[1]
        n = max(1, round(S * f))
        f = n / S
        rgb = Image.fromarray(renders["rgb"][i]).resize((n, n), Image.LANCZOS if f < 1 else Image.BILINEAR)
        alpha = Image.fromarray(renders["alpha"][i]).resize((n, n), Image.BILINEAR)
        kp = kp0 * f
        box = face_box(kp)
        # Place the face centre anywhere in the picture; portraits usually reach the bottom edge.
        cx, cy = r.uniform(0.1, 0.9) * w, r.uniform(0.15, 0.75) * h
        ox, oy = round(cx - box[0]), round(cy - box[1])
        if r.random() < 0.6:
            bottom = oy + n
            if bottom < h:
                oy += min(h - bottom, round(0.3 * h))
        canvas.paste(rgb, (ox, oy), alpha)
        layer = np.zeros((h, w), np.uint8)
        layer_img = Image.fromarray(layer)
        layer_img.paste(alpha, (ox, oy))
        placed.append((kp + [ox, oy], np.asarray(layer_img)))
    s, nw, nh, lx, ly = _letterbox_geometry(w, h)
    out = Image.new("RGB", (INPUT, INPUT), (PAD_VALUE,) * 3)
    out.paste(canvas.resize((nw, nh), Image.LANCZOS) if (nw, nh) != (w, h) else canvas, (lx, ly))
    frame = Frame(np.asarray(out), [], [])
    for k, (kp, _) in enumerate(placed):
        kind, _ = _classify(kp, w, h, min_iod / s)
        # Hidden by a character pasted later (eyes or mouth under its silhouette)?
        for _, later in placed[k + 1:]:
            for p in kp[[0, 1, 3]]:
                x, y = int(p[0]), int(p[1])
                if 0 <= x < w and 0 <= y < h and later[y, x] > 100 and kind != "none":
                    kind = "ignore"
        kp = kp * [nw / w, nh / h] + [lx, ly]
        if kind == "face":
            frame.faces.append((kp, face_box(kp)))
        elif kind == "ignore":
            frame.ignore.append(face_box(kp))
    return frame


def flip(frame: Frame) -> Frame:
    """Mirrors a frame; the subject's right eye (and ear) stays the one on the picture's left."""
    image = frame.image[:, ::-1].copy()
    faces = []
    for kp, _ in frame.faces:
        kp = kp.copy()
        kp[:, 0] = INPUT - kp[:, 0]
        kp = kp[[1, 0, 2, 3, 5, 4]]
        faces.append((kp, face_box(kp)))
    ignore = [np.array([INPUT - b[0], b[1], b[2], b[3]]) for b in frame.ignore]
    return Frame(image, faces, ignore)


def photometric(image: np.ndarray, r: random.Random) -> np.ndarray:
    """Light colour, blur, noise and JPEG changes (the pipeline sees uploads of every kind)."""
    im = Image.fromarray(image)
    if r.random() < 0.25:
        im = im.filter(ImageFilter.GaussianBlur(r.uniform(0.3, 1.2)))
    a = np.asarray(im, np.float32) / 255
    if r.random() < 0.8:
        grey = a.mean(2, keepdims=True)
        sat = 0.0 if r.random() < 0.07 else r.uniform(0.6, 1.4)
        a = grey + (a - grey) * sat
        a = (a - 0.5) * r.uniform(0.75, 1.25) + 0.5 + r.uniform(-0.12, 0.12)
        a = a * np.array([r.uniform(0.9, 1.1) for _ in range(3)], np.float32)
        a = np.clip(a, 0, 1) ** r.uniform(0.8, 1.25)
    if r.random() < 0.2:
        a = a + np.random.default_rng(r.randrange(1 << 30)).normal(0, r.uniform(0.01, 0.04), a.shape).astype(np.float32)
    im = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))
    if r.random() < 0.3:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=r.randint(35, 90))
        buf.seek(0)
        im = Image.open(buf).convert("RGB")
    return np.asarray(im)


def random_frame(renders: dict, backgrounds: np.ndarray, r: random.Random) -> Frame:
    """Natural 45 %, one pasted character 25 %, two or three 18 %, none 12 %; then flip and photometric changes."""
    u = r.random()
    if u < 0.45:
        i = r.randrange(len(renders["rgb"]))
        rd = Render(renders["rgb"][i], renders["alpha"][i], renders["keypoints"][i], "", 0, 0)
        frame = natural_frame(rd, r)
    elif u < 0.70:
        frame = composite_frame(renders, backgrounds, r, 1)
    elif u < 0.88:
        frame = composite_frame(renders, backgrounds, r, r.choice([2, 2, 3]))
    else:
        frame = composite_frame(renders, backgrounds, r, 0)
    if r.random() < 0.5:
        frame = flip(frame)
    frame.image = photometric(frame.image, r)
    return frame


# --------------------------------------------------------------------------------------------------------------------
# CLI


def cmd_renders(a):
    os.makedirs(a.out, exist_ok=True)
    for start in range(0, a.count, a.chunk):
        path = os.path.join(a.out, f"renders-{a.first + start:07d}.npz")
        if os.path.exists(path):
            continue
        batch = []
        for seed in range(a.first + start, a.first + min(a.count, start + a.chunk)):
            r = random.Random(seed)
            zoom, angle, shift = random_placement(r)
            batch.append(render_character(seed, r.uniform(5, 90), zoom, angle, shift, a.size))
        save_renders(path, batch)
        print(f"renders {start + len(batch)}/{a.count} -> {path}", flush=True)


def cmd_backgrounds(a):
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"backgrounds-{a.first:07d}.npz")
    rgb = np.stack([background(a.first + i, a.size) for i in range(a.count)])
    np.savez(path, rgb=rgb)
    print(f"backgrounds {a.count} -> {path}")


def draw_faces(image: np.ndarray, faces, colour=(255, 0, 0), scale: int = 1, ignore=()) -> Image.Image:
    """Frame with boxes and keypoints drawn (eyes/mouth larger), for looking at."""
    im = Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST)
    d = ImageDraw.Draw(im)
    for kp, box in faces:
        cx, cy, bw, bh = [v * scale for v in box]
        d.rectangle([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], outline=colour)
        for j, (x, y) in enumerate(kp * scale):
            rr = 2 if j in (0, 1, 3) else 1
            d.ellipse([x - rr, y - rr, x + rr, y + rr], fill=colour if j != 0 else (0, 255, 255))
    for b in ignore:
        cx, cy, bw, bh = [v * scale for v in b]
        d.rectangle([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], outline=(255, 255, 0))
    return im


def cmd_sheet(a):
    renders = load_renders(a.renders)
    backgrounds = load_backgrounds(a.backgrounds)
    r = random.Random(a.seed)
    sheet = Image.new("RGB", (8 * INPUT * 2, 4 * INPUT * 2))
    for k in range(32):
        f = random_frame(renders, backgrounds, r)
        sheet.paste(draw_faces(f.image, f.faces, scale=2, ignore=f.ignore), ((k % 8) * INPUT * 2, (k // 8) * INPUT * 2))
    sheet.save(a.out)
    print(a.out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("renders")
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=int, default=3_000_000)
    p.add_argument("--count", type=int, default=1600)
    p.add_argument("--chunk", type=int, default=200)
    p.add_argument("--size", type=int, default=RENDER)
    p.set_defaults(fn=cmd_renders)
    p = sub.add_parser("backgrounds")
    p.add_argument("--out", required=True)
    p.add_argument("--first", type=int, default=3_100_000)
    p.add_argument("--count", type=int, default=300)
    p.add_argument("--size", type=int, default=RENDER)
    p.set_defaults(fn=cmd_backgrounds)
    p = sub.add_parser("sheet")
    p.add_argument("--renders", default=".local/facedet/train")
    p.add_argument("--backgrounds", default=".local/facedet/backgrounds")
    p.add_argument("--out", default="/tmp/frames.png")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(fn=cmd_sheet)
    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
