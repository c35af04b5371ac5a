"""Measures how far a real face detector's keypoints are from a rendered character's true eyes and mouth, and the
crop misalignment that follows, to size the renderer's alignment jitter (charactergen.JITTER_*).

    /usr/bin/python3 training/measure_jitter.py --n 300

Needs training/blazeface.py (``detect(image_rgba_uint8) -> [dict(box, score, keypoints)]``). Characters are rendered
whole (head and shoulders with room around, no jitter) from held-out seeds; the best detection's eyes and mouth
are compared with the true ones. Reported: mean keypoint error in inter-ocular distances (IOD), and the similarity
between the crop from detected points and the crop from true points: rotation (degrees), scale, and the shift of
the template centre (IOD), as standard deviations and 95th percentiles, plus the detection rate.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import croptemplate  # noqa: E402
from charactergen import DEFAULT_AGES, crop_transform, landmarks, random_identity, random_style, render  # noqa: E402


def wide_template(t: croptemplate.CropTemplate, zoom: float) -> croptemplate.CropTemplate:
    """The template shrunk about the crop centre: the whole character with room around, as a picture would be."""
    f = lambda p: (0.5 + (p[0] - 0.5) * zoom, 0.5 + (p[1] - 0.5) * zoom)  # noqa: E731
    return croptemplate.CropTemplate(f(t.left_eye), f(t.right_eye), f(t.mouth), t.mask_centre, t.mask_radii, t.mask_feather)


def keypoints3(det, size):
    """(left eye, right eye, mouth) in pixels from a detection: named keypoints (training/blazeface.py: left/right as
    seen in the picture) or a MediaPipe-ordered list (eyes sorted by x; mouth = keypoint 3)."""
    kp = det["keypoints"]
    if isinstance(kp, dict):
        return [tuple(map(float, kp["left_eye"])), tuple(map(float, kp["right_eye"])), tuple(map(float, kp["mouth"]))]
    kp = [tuple(map(float, k[:2])) for k in kp]
    eyes = sorted(kp[:2])
    return [eyes[0], eyes[1], kp[3]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--zoom", type=float, default=0.55, help="head size in the picture relative to the crop")
    ap.add_argument("--out", default="", help="also write the figures as JSON here")
    a = ap.parse_args(argv)
    import blazeface  # noqa: E402 (written alongside; imported late so the rest of the toolchain never needs it)

    t = croptemplate.load_template()
    wide = wide_template(t, a.zoom)
    dst = t.points(1.0)
    centre = tuple(sum(c) / 3 for c in zip(*dst))
    rng = random.Random(5)
    errs, rots, scales, shifts, shift_xy, missed = [], [], [], [], [], 0
    for i in range(a.n):
        seed = 2_000_000 + i
        ident, style = random_identity(seed), random_style(seed)
        age = rng.choice(DEFAULT_AGES)
        img = render(ident, age, a.size, style, template=wide, jitter=False)
        sim = crop_transform(ident, style, wide, jitter=False)
        true = [tuple(c * a.size for c in croptemplate.apply(sim, x, y)) for x, y in landmarks(ident, age, style)]
        rgba = np.dstack([np.asarray(img), np.full((a.size, a.size), 255, np.uint8)])
        dets = blazeface.detect(rgba)
        if not dets:
            missed += 1
            continue
        pred = keypoints3(max(dets, key=lambda d: d["score"]), a.size)
        errs.append(croptemplate.keypoint_error(pred, true))
        # Crop from detected points versus crop from true points, both in template units.
        s_det = croptemplate.fit_similarity(pred, dst)
        s_true = croptemplate.fit_similarity(true, dst)
        rel = croptemplate.compose(s_det, croptemplate.invert(s_true))  # true crop → detected crop
        rots.append(math.degrees(math.atan2(rel[1], rel[0])))
        scales.append(math.hypot(rel[0], rel[1]))
        cx, cy = croptemplate.apply(rel, *centre)
        shifts.append(math.dist((cx, cy), centre) / t.iod)
        shift_xy.append(((cx - centre[0]) / t.iod, (cy - centre[1]) / t.iod))

    def p95(v):
        return sorted(v)[int(0.95 * (len(v) - 1))] if v else float("nan")

    res = {
        "rendered": a.n, "detected": len(errs), "missed": missed,
        "keypoint_error_iod_mean": statistics.fmean(errs) if errs else None,
        "keypoint_error_iod_median": statistics.median(errs) if errs else None,
        "rotation_deg_mean": statistics.fmean(rots) if rots else None,
        "rotation_deg_sd": statistics.pstdev(rots) if rots else None, "rotation_deg_p95": p95([abs(r) for r in rots]),
        "scale_mean": statistics.fmean(scales) if scales else None,
        "scale_sd": statistics.pstdev(scales) if scales else None,
        "scale_p95": p95([abs(math.log(s)) for s in scales]),
        "shift_iod_rms": math.sqrt(statistics.fmean([s * s for s in shifts])) if shifts else None,
        "shift_iod_p95": p95(shifts),
        "shift_iod_mean_xy": [statistics.fmean(c) for c in zip(*shift_xy)] if shift_xy else None,
        "shift_iod_sd_xy": [statistics.pstdev(c) for c in zip(*shift_xy)] if shift_xy else None,
    }
    print(json.dumps(res, indent=2))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
