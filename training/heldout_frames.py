"""Writes whole-frame renders of held-out characters (head and shoulders with room around, as a picture would be)
with their true eyes and mouth: the fixtures with which the C# tests judge the shipped crop ager through the full
face-aware path (detect, align, age the crop, blend back).

    /usr/bin/python3 training/heldout_frames.py --out tests/fixtures/heldout-frames --n 6 --ages 30

Seeds are the held-out split's (1_000_000 + i, never trained on). ``truth.json`` lists, per file, the seed, the age,
the style family and the true left eye, right eye and mouth in pixels.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import croptemplate  # noqa: E402
from charactergen import crop_transform, landmarks, random_identity, random_style, render  # noqa: E402
from measure_jitter import wide_template  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=6)
    ap.add_argument("--ages", default="30")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--zoom", type=float, default=0.55, help="head size in the picture relative to the crop")
    ap.add_argument("--first-seed", type=int, default=1_000_000)
    a = ap.parse_args(argv)

    os.makedirs(a.out, exist_ok=True)
    wide = wide_template(croptemplate.load_template(), a.zoom)
    truth = {}
    for i in range(a.n):
        seed = a.first_seed + i
        ident, style = random_identity(seed), random_style(seed)
        sim = crop_transform(ident, style, wide, jitter=False)
        for age in (int(x) for x in a.ages.split(",")):
            name = f"id{seed}_age{age}.png"
            render(ident, age, a.size, style, template=wide, jitter=False).save(os.path.join(a.out, name), optimize=True)
            points = [[round(c * a.size, 2) for c in croptemplate.apply(sim, x, y)] for x, y in landmarks(ident, age, style)]
            truth[name] = {"seed": seed, "age": age, "anime": bool(style.anime),
                           "leftEye": points[0], "rightEye": points[1], "mouth": points[2]}
            print(name, truth[name])
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
