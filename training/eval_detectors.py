"""Compares the two face detectors the pipeline tries in order: MediaPipe BlazeFace (`face-detector`) and the
stylised-face detector trained here (`character-face-detector`), on held-out renders and on Flare's portraits.

    /usr/bin/python3 training/eval_detectors.py --out artifacts/eval/detectors
    /usr/bin/python3 training/eval_detectors.py --fixtures tests/fixtures/faces-stylised --fixtures-only  # C# fixtures

Both run through training/blazeface.py (its torch interpreter of the ONNX graphs, its letterbox and its numpy decoder
with weighted NMS), each with its own model.json, so the figures are for the graphs the pipeline serves.

Held-out renders: characters of seeds 4_000_000+ (training used 3_000_000+, charactergen's ager data 0..1199 and
1_000_000+, measure_jitter 2_000_000+), each drawn whole with its own background at three head sizes (zoom 0.3,
0.6 and 1.1 of the ager's head crop: the eyes 7 %, 14 % and 26 % of the picture apart), upright ± a few degrees.
Per detector and style family (anime; western cartoon, realism < 0.5; painted, realism >= 0.5):

* hit rate: a detection whose box centre lies inside the true face box (training/facedet_data.face_box, which is
  BlazeFace's own box on these renders) and whose side is within a factor 2 of the true side (BlazeFace finds
  single anime eyes as faces: boxes a quarter of the face's size, not hits);
* keypoint error of hits: the mean distance of the detected eyes and mouth to the true ones, in the true
  inter-ocular distance (IOD), as training/measure_jitter.py computes it; mean, median and the share under 0.25 IOD;
* false detections per picture (detections matching no face), and pictures with a detection among held-out
  backgrounds with no character (seeds 4_100_000+);
* "pipeline": BlazeFace, and the stylised detector only where BlazeFace finds nothing (Faces:Detectors order).

Flare (35 painted portraits, fetched by training/evaluate_art.py's fetch_flare into .local/eval/flare, never
committed): no true keypoints, so the hit rate (a face found) and, where both detectors find one, how far apart
their eyes and mouth are, in BlazeFace's IOD.

Writes figures.json, figures.md (the table for MODEL_CARD.md) and sheets (PNG) of detections drawn on renders and
portraits (truth white, BlazeFace red, stylised green) into --out.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import blazeface  # noqa: E402
import charactergen  # noqa: E402
import facedet_data as fd  # noqa: E402

OURS_DIR = os.path.join(ROOT, "models", "character-face-detector", "1")
ZOOMS = (0.3, 0.6, 1.1)
FAMILIES = ("anime", "cartoon", "painted")
HELDOUT = 4_000_000
HELDOUT_BACKGROUNDS = 4_100_000


def three(det) -> np.ndarray:
    """(left eye, right eye, mouth) as seen in the picture, from a blazeface.py detection."""
    k = det["keypoints"]
    return np.array([k["left_eye"], k["right_eye"], k["mouth"]], np.float64)


def heldout_render(i: int, zoom: float, size: int = 256):
    seed = HELDOUT + i
    r = random.Random(seed * 3 + int(zoom * 10))
    angle = max(-10.0, min(10.0, r.gauss(0, 4)))
    room = max(0.03, 0.3 - 0.2 * zoom)
    shift = (r.uniform(-room, room), r.uniform(-room, room * 0.5))
    return fd.render_character(seed, r.uniform(5, 90), zoom, angle, shift, size)


def match(dets, truth_kp: np.ndarray):
    """The detection whose box centre is inside the true box and whose side is within a factor 2 of the true side
    (nearest first; a box around one eye is no hit), and the number of the others."""
    box = fd.face_box(truth_kp)
    inside = []
    for d in dets:
        x, y, w, h = d["box"]
        cx, cy = x + w / 2, y + h / 2
        if abs(cx - box[0]) <= box[2] / 2 and abs(cy - box[1]) <= box[3] / 2 and abs(math.log(max(w, 1e-6) / box[2])) <= math.log(2):
            inside.append((math.hypot(cx - box[0], cy - box[1]), d))
    if not inside:
        return None, len(dets)
    inside.sort(key=lambda t: t[0])
    return inside[0][1], len(dets) - 1


def keypoint_error(det, truth_kp: np.ndarray) -> float:
    """Mean eyes + mouth distance in true IOD (truth in MediaPipe order: picture-left eye first)."""
    true3 = truth_kp[[0, 1, 3]]
    pred = three(det)
    return float(np.linalg.norm(pred - true3, axis=1).mean() / np.linalg.norm(true3[1] - true3[0]))


def summary(rows: list[dict]) -> dict:
    n = len(rows)
    errs = [r["error"] for r in rows if r["hit"]]
    return {
        "pictures": n,
        "hits": len(errs),
        "hit_rate": len(errs) / n if n else None,
        "error_iod_mean": statistics.fmean(errs) if errs else None,
        "error_iod_median": statistics.median(errs) if errs else None,
        "under_025_iod": sum(e < 0.25 for e in errs) / len(errs) if errs else None,
        "false_per_picture": sum(r["false"] for r in rows) / n if n else None,
    }


def draw(image: np.ndarray, truth, dets_by_colour, scale=1) -> Image.Image:
    im = Image.fromarray(image[:, :, :3] if image.shape[2] == 4 else image)
    if image.shape[2] == 4:
        bg = Image.new("RGB", im.size, (128, 128, 128))
        bg.paste(im, mask=Image.fromarray(image[:, :, 3]))
        im = bg
    im = im.resize((im.width * scale, im.height * scale))
    d = ImageDraw.Draw(im)

    def dot(p, colour, r):
        x, y = p[0] * scale, p[1] * scale
        d.ellipse([x - r, y - r, x + r, y + r], outline=colour, width=2)

    if truth is not None:
        for p in truth[[0, 1, 3]]:
            dot(p, (255, 255, 255), 5)
    for colour, dets in dets_by_colour:
        for det in dets:
            x, y, w, h = [v * scale for v in det["box"]]
            d.rectangle([x, y, x + w, y + h], outline=colour, width=2)
            for p in three(det):
                dot(p, colour, 3)
            d.text((x + 2, y + 2), f"{det['score']:.2f}", fill=colour)
    return im


def sheet(images: list[Image.Image], cols: int, path: str, cell: int = 256):
    rows = (len(images) + cols - 1) // cols
    out = Image.new("RGB", (cols * cell, rows * cell), (0, 0, 0))
    for k, im in enumerate(images):
        im = im.copy()
        im.thumbnail((cell, cell))
        out.paste(im, ((k % cols) * cell, (k // cols) * cell))
    out.save(path, optimize=True)


def fmt(v, digits=2, pct=False):
    if v is None:
        return "–"
    return f"{100 * v:.0f} %" if pct else f"{v:.{digits}f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=150, help="held-out characters per head size")
    ap.add_argument("--backgrounds", type=int, default=100)
    ap.add_argument("--out", default=os.path.join(ROOT, "artifacts", "eval", "detectors"))
    ap.add_argument("--ours", default=OURS_DIR)
    ap.add_argument("--flare", default=os.path.join(ROOT, ".local", "eval", "flare"))
    ap.add_argument("--fixtures", default="", help="also write C# fixtures (held-out renders + true keypoints) here")
    ap.add_argument("--fixtures-only", action="store_true", help="only write the fixtures")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    detectors = {"blazeface": blazeface.BlazeFace(), "stylised": blazeface.BlazeFace(a.ours)}
    if a.fixtures:
        write_fixtures(a.fixtures, detectors["blazeface"])
        if a.fixtures_only:
            return

    rows = {name: [] for name in (*detectors, "pipeline")}
    drawn = []
    for zoom in ZOOMS:
        for i in range(a.n):
            rd = heldout_render(i, zoom)
            result = {name: det.detect(rd.rgb) for name, det in detectors.items()}
            result["pipeline"] = result["blazeface"] or result["stylised"]
            for name, dets in result.items():
                m, false = match(dets, rd.keypoints)
                rows[name].append({"seed": rd.seed, "zoom": zoom, "family": rd.family, "hit": m is not None,
                                   "error": keypoint_error(m, rd.keypoints) if m else None, "false": false})
            if i < 12 and len(drawn) < 36:
                drawn.append(draw(rd.rgb, rd.keypoints, [((255, 40, 40), result["blazeface"]),
                                                          ((40, 255, 40), result["stylised"])]))
        print(f"zoom {zoom}: " + ", ".join(
            f"{k} {fmt(summary([r for r in v if r['zoom'] == zoom])['hit_rate'], pct=True)}" for k, v in rows.items()),
            flush=True)
    sheet(drawn, 6, os.path.join(a.out, "heldout-sheet.png"))

    table = {}
    for name, rs in rows.items():
        table[name] = {"all": summary(rs)}
        for fam in FAMILIES:
            table[name][fam] = summary([r for r in rs if r["family"] == fam])
        for zoom in ZOOMS:
            table[name][f"zoom {zoom}"] = summary([r for r in rs if r["zoom"] == zoom])

    # Backgrounds with no character: any detection is a false one.
    negatives = {name: 0 for name in detectors}
    for i in range(a.backgrounds):
        bg = fd.background(HELDOUT_BACKGROUNDS + i, 256)
        for name, det in detectors.items():
            negatives[name] += bool(det.detect(bg))
    grey = np.full((240, 320, 3), 128, np.uint8)
    yy, xx = np.mgrid[0:240, 0:320]
    gradient = np.dstack([255 * xx // 319, 255 * yy // 239, np.full_like(xx, 128)]).astype(np.uint8)
    plain = {name: {"grey": len(det.detect(grey)), "gradient": len(det.detect(gradient))} for name, det in detectors.items()}

    # Flare portraits.
    flare = None
    try:
        import evaluate_art
        portraits = evaluate_art.fetch_flare(a.flare)
    except Exception as e:  # noqa: BLE001 (no apt or no network: report without Flare)
        print(f"Flare portraits unavailable: {e}", file=sys.stderr)
        portraits = None
    if portraits:
        names = sorted(f for f in os.listdir(portraits) if f.endswith(".png"))
        found = {name: 0 for name in detectors}
        agreement, flare_drawn, per_portrait = [], [], []
        for f in names:
            img = blazeface.load_rgba(os.path.join(portraits, f))
            res = {name: det.detect(img) for name, det in detectors.items()}
            for name in detectors:
                found[name] += bool(res[name])
            entry = {"portrait": f, **{name: len(res[name]) for name in detectors}}
            if res["blazeface"] and res["stylised"]:
                b, s = three(res["blazeface"][0]), three(res["stylised"][0])
                entry["agreement_iod"] = float(np.linalg.norm(b - s, axis=1).mean() / np.linalg.norm(b[1] - b[0]))
                agreement.append(entry["agreement_iod"])
            per_portrait.append(entry)
            flare_drawn.append(draw(img, None, [((255, 40, 40), res["blazeface"]), ((40, 255, 40), res["stylised"])]))
        sheet(flare_drawn, 7, os.path.join(a.out, "flare-sheet.png"), cell=200)
        flare = {"portraits": len(names), "found": found,
                 "pipeline_found": sum(bool(p["blazeface"] or p["stylised"]) for p in per_portrait),
                 "both": len(agreement),
                 "agreement_iod_mean": statistics.fmean(agreement) if agreement else None,
                 "agreement_iod_median": statistics.median(agreement) if agreement else None,
                 "per_portrait": per_portrait}

    figures = {"heldout": table, "heldout_n_per_zoom": a.n, "zooms": ZOOMS,
               "backgrounds": {"pictures": a.backgrounds, "with_detection": negatives}, "plain": plain,
               "flare": flare}
    with open(os.path.join(a.out, "figures.json"), "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=1)

    lines = ["| held-out renders | detector | pictures | hit rate | keypoint error mean / median (IOD) | < 0.25 IOD | false / picture |",
             "|---|---|---|---|---|---|---|"]
    for group in ("all", *FAMILIES, *(f"zoom {z}" for z in ZOOMS)):
        for name in rows:
            s = table[name][group]
            lines.append(f"| {group} | {name} | {s['pictures']} | {fmt(s['hit_rate'], pct=True)} | "
                         f"{fmt(s['error_iod_mean'])} / {fmt(s['error_iod_median'])} | {fmt(s['under_025_iod'], pct=True)} | "
                         f"{fmt(s['false_per_picture'])} |")
    lines.append("")
    lines.append(f"Backgrounds with no character ({a.backgrounds}): pictures with a detection — " +
                 ", ".join(f"{k} {v}" for k, v in negatives.items()) + "; plain grey / colour gradient: " +
                 ", ".join(f"{k} {v['grey']} / {v['gradient']}" for k, v in plain.items()) + ".")
    if flare:
        lines.append("")
        lines.append(f"Flare portraits ({flare['portraits']}): a face found by BlazeFace {flare['found']['blazeface']}, "
                     f"stylised {flare['found']['stylised']}, pipeline (BlazeFace, else stylised) {flare['pipeline_found']}; "
                     f"where both find one ({flare['both']}), their eyes and mouth are "
                     f"{fmt(flare['agreement_iod_mean'])} (mean) / {fmt(flare['agreement_iod_median'])} (median) "
                     f"of BlazeFace's IOD apart.")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(a.out, "figures.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)



def write_fixtures(folder: str, blazeface_detector, side: int = 160):
    """Per style family, the first two held-out renders (seeds 4_000_000+, every zoom in turn) in which BlazeFace finds
    no face (none even at score 0.3) and the first one in which it finds one (at 0.7), as ``side``² PNGs with their true keypoints, for the C# tests.
    BlazeFace runs on the PNG as written (what the C# test reads); the selection looks at BlazeFace only, so the C#
    assertions on the stylised detector are not chosen to pass."""
    os.makedirs(folder, exist_ok=True)
    wanted = {(fam, finds): (1 if finds else 2) for fam in FAMILIES for finds in (False, True)}
    entries = []
    i = 0
    while any(wanted.values()) and i < 1000:
        for zoom in ZOOMS:
            rd = heldout_render(i, zoom)
            img = Image.fromarray(rd.rgb).resize((side, side), Image.LANCZOS)
            # Clear cases only (the C# letterbox resamples a little differently): no candidate at 0.3, or one at 0.7.
            finds = bool(blazeface_detector.detect(np.asarray(img), min_score=0.7))
            if not finds and blazeface_detector.detect(np.asarray(img), min_score=0.3):
                continue
            if not wanted[(rd.family, finds)]:
                continue
            wanted[(rd.family, finds)] -= 1
            name = f"{rd.family}-{rd.seed}-zoom{zoom}.png"
            img.save(os.path.join(folder, name), optimize=True)
            kp = rd.keypoints * side / rd.rgb.shape[0]
            entries.append({"image": name, "seed": int(rd.seed), "zoom": zoom, "family": rd.family,
                            "age": round(float(rd.age), 2), "blazefaceFinds": finds,
                            "keypoints": {"leftEye": kp[0].round(2).tolist(), "rightEye": kp[1].round(2).tolist(),
                                          "nose": kp[2].round(2).tolist(), "mouth": kp[3].round(2).tolist()}})
        i += 1
    with open(os.path.join(folder, "truth.json"), "w", encoding="utf-8") as f:
        json.dump({"about": "Held-out training/charactergen.py renders (seeds 4000000+) written by "
                            "training/eval_detectors.py --fixtures; keypoints in pixels, left/right as seen; "
                            "blazefaceFinds: whether training/blazeface.py finds any face in this PNG.",
                   "images": entries}, f, indent=1)
        f.write("\n")
    print(f"fixtures: {len(entries)} images -> {folder}")


if __name__ == "__main__":
    main()
