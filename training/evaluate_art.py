"""Evaluates the whole face-aware pipeline on real character art that nobody here drew.

    /usr/bin/python3 training/evaluate_art.py --out artifacts/eval/flare-v3 --model character-ager:3

The evaluation set is the 35 painted portraits of Debian's `flare-game` package
(`usr/share/games/flare/mods/fantasycore/images/portraits/{male,female}*.png`, CC-BY-SA 3.0, by the Flare
artists). They are fetched with `apt-get download flare-game` into `.local/eval/flare` (git-ignored) and never
committed or trained on.

The portraits go through the real pipeline code: `./aging age` (the runner's ImageAger: face detection, alignment,
the ager on the head crop, blend-back) with `--region auto`. Then, per portrait and age:

* faces found (from the CLI's JSON report);
* mean absolute change outside the head, in 0–255 levels over the visible (alpha > 0) pixels, where "the head" is
  each reported face box grown to take in hair, chin and ears (2.4 × its width, 2.8 × its height, centre raised by
  a quarter of the box height) — a region defined from the detector's box, independent of the blend mask;
* the same change inside the head, so that an output that changes nothing is visible as such;
* with `--estimator`, the age estimator's reading of the aged head crops (monotonic in the target age?).

Writes `figures.json`, `figures.md` and `contact-sheet.png` (8 portraits × input, 10, 30, 60, 85) into --out.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLARE_PORTRAITS = "usr/share/games/flare/mods/fantasycore/images/portraits"
SHEET_PORTRAITS = ["male01", "male04", "male09", "male14", "female02", "female05", "female10", "female13"]
SHEET_AGES = [10, 30, 60, 85]
EVAL_AGES = [10, 30, 40, 60, 80, 85]


def fetch_flare(dest: str) -> str:
    """Returns the folder of Flare's male*/female* portraits, downloading the Debian package once."""
    portraits = os.path.join(dest, "portraits")
    if len(glob.glob(os.path.join(portraits, "*.png"))) >= 35:
        return portraits
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print("evaluate_art: apt-get download flare-game (~120 MB, once)", file=sys.stderr)
        subprocess.run(["apt-get", "download", "flare-game"], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        deb = glob.glob(os.path.join(tmp, "flare-game_*.deb"))[0]
        subprocess.run(["dpkg-deb", "-x", deb, os.path.join(tmp, "x")], check=True)
        os.makedirs(portraits, exist_ok=True)
        for path in sorted(glob.glob(os.path.join(tmp, "x", FLARE_PORTRAITS, "*.png"))):
            name = os.path.basename(path)
            if name.startswith(("male", "female")):
                shutil.copy(path, portraits)
        with open(os.path.join(dest, "SOURCE.txt"), "w", encoding="utf-8") as f:
            f.write(f"Debian package {os.path.basename(deb)}, {FLARE_PORTRAITS}; CC-BY-SA 3.0, the Flare artists.\n")
    return portraits


def run_pipeline(portraits: str, out: str, model: str, ages: list[int], region: str) -> dict:
    """Ages every portrait with the repository's `aging age` (the pipeline's own ImageAger) and returns its report."""
    cmd = [os.path.join(ROOT, "aging"), "age", portraits, "--ages", ",".join(map(str, ages)), "--out", out,
           "--model", model, "--region", region, "--force", "--json", "--quiet"]
    print("evaluate_art: " + " ".join(cmd), file=sys.stderr)
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode not in (0,) and not done.stdout.strip().startswith("{"):
        raise SystemExit(f"aging age failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def head_mask(shape: tuple[int, int], boxes: list[dict]) -> np.ndarray:
    """True inside the grown face boxes (see the module docs)."""
    h, w = shape
    mask = np.zeros((h, w), dtype=bool)
    for b in boxes:
        cx = b["x"] + b["width"] / 2
        cy = b["y"] + b["height"] / 2 - 0.25 * b["height"]
        hw, hh = 1.2 * b["width"], 1.4 * b["height"]
        x0, x1 = int(max(0, np.floor(cx - hw))), int(min(w, np.ceil(cx + hw)))
        y0, y1 = int(max(0, np.floor(cy - hh))), int(min(h, np.ceil(cy + hh)))
        mask[y0:y1, x0:x1] = True
    return mask


def load_rgba(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.float32)


def file_faces(entry: dict) -> list[dict]:
    return entry.get("faceBoxes") or []


def measure(portraits: str, aged: str, report: dict, ages: list[int], heads: dict | None = None) -> dict:
    rows = []
    for entry in report["files"]:
        stem = os.path.splitext(entry["input"])[0]
        src = load_rgba(os.path.join(portraits, entry["input"]))
        faces = file_faces(entry)
        head = head_mask(src.shape[:2], heads.get(entry["input"], []) if heads is not None else faces)
        visible = src[..., 3] > 0
        row = {"portrait": stem, "faces": len(faces), "applied": entry.get("appliedRegion"),
               "outside": {}, "inside": {}}
        for age in ages:
            path = os.path.join(aged, f"{stem}.age{age}.png")
            if not os.path.exists(path):
                continue
            diff = np.abs(load_rgba(path)[..., :3] - src[..., :3]).mean(axis=2)
            out_sel, in_sel = visible & ~head, visible & head
            row["outside"][age] = float(diff[out_sel].mean()) if out_sel.any() else 0.0
            row["inside"][age] = float(diff[in_sel].mean()) if in_sel.any() else 0.0
        rows.append(row)
    summary = {
        "portraits": len(rows),
        "facesFound": sum(1 for r in rows if r["faces"] > 0),
        "outsideMean": {a: statistics.fmean(r["outside"][a] for r in rows if a in r["outside"]) for a in ages},
        "outsideMax": {a: max(r["outside"][a] for r in rows if a in r["outside"]) for a in ages},
        "insideMean": {a: statistics.fmean(r["inside"][a] for r in rows if a in r["inside"]) for a in ages},
    }
    return {"summary": summary, "portraits": rows}


def estimator_readings(portraits: str, aged: str, report: dict, ages: list[int], checkpoint: str) -> dict:
    """The age estimator's reading of each aged head, cropped to the ager's template exactly as the pipeline crops
    it: eyes and mouth found on the input by training/blazeface.py (the detector the pipeline serves, run by an
    independent implementation), the least-squares similarity to the template, the crop sampled from each output."""
    import torch  # noqa: PLC0415 - only this optional step needs torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import blazeface  # noqa: PLC0415
    import croptemplate  # noqa: PLC0415
    from networks import AgeEstimator  # noqa: PLC0415

    estimator = AgeEstimator().eval()
    estimator.load_state_dict(torch.load(checkpoint, map_location="cpu")["model"])
    template = croptemplate.load_template()
    side = 128
    readings = {}
    for entry in report["files"]:
        stem = os.path.splitext(entry["input"])[0]
        source = blazeface.load_rgba(os.path.join(portraits, entry["input"]))
        faces = blazeface.detect(source)
        if not faces:
            continue
        k = faces[0]["keypoints"]
        to_crop = croptemplate.fit_similarity([k["left_eye"], k["right_eye"], k["mouth"]], template.points(side))
        a, b, tx, ty = croptemplate.invert(to_crop)
        crops = []
        for age in ages:
            path = os.path.join(aged, f"{stem}.age{age}.png")
            if not os.path.exists(path):
                break
            image = Image.open(path).convert("RGBA")
            ground = Image.new("RGBA", image.size, (128, 128, 128, 255))
            flat = Image.alpha_composite(ground, image).convert("RGB")
            # PIL's affine takes the inverse map (crop → image) as (a, b, c, d, e, f): x = a·u + b·v + c.
            crop = flat.transform((side, side), Image.AFFINE, (a, -b, tx, b, a, ty), resample=Image.BILINEAR)
            crops.append(torch.from_numpy(np.asarray(crop, dtype=np.float32) / 127.5 - 1).permute(2, 0, 1))
        if len(crops) == len(ages):
            with torch.no_grad():
                years = estimator(torch.stack(crops)).view(-1).tolist()
            readings[stem] = dict(zip(ages, years))
    return readings


def _font(size: int):
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def _tile(path: str, tile: int) -> Image.Image:
    """A portrait or an aged image at tile × tile on the light grey ground of the sheets (the portraits have alpha)."""
    im = Image.open(path).convert("RGBA").resize((tile, tile), Image.LANCZOS)
    return Image.alpha_composite(Image.new("RGBA", im.size, (236, 236, 236, 255)), im).convert("RGB")


def contact_sheet(portraits: str, aged: str, out_path: str, names: list[str], ages: list[int], tile: int = 200) -> None:
    """Rows = portraits, columns = input then each age, on a light grey ground (the portraits have alpha)."""
    font = _font(18)
    label_h = 28
    names = [n for n in names if os.path.exists(os.path.join(portraits, n + ".png"))]
    sheet = Image.new("RGB", (tile * (1 + len(ages)), label_h + tile * len(names)), (236, 236, 236))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(["input"] + [f"age {a}" for a in ages]):
        draw.text((c * tile + tile // 2, label_h // 2), label, fill=(30, 30, 30), font=font, anchor="mm")
    for r, name in enumerate(names):
        paths = [os.path.join(portraits, name + ".png")] + [os.path.join(aged, f"{name}.age{a}.png") for a in ages]
        for c, path in enumerate(paths):
            if os.path.exists(path):
                sheet.paste(_tile(path, tile), (c * tile, label_h + r * tile))
    sheet.save(out_path, optimize=True)


def compare_sheet(portraits: str, runs: list[tuple[str, str]], out_path: str, names: list[str], ages: list[int],
                  tile: int = 160) -> None:
    """Versions side by side: rows = portraits; columns = input, then for each age one column per run
    (label, aged folder), so that the same portrait at the same age sits next to itself."""
    font = _font(15)
    label_h = 26
    names = [n for n in names if os.path.exists(os.path.join(portraits, n + ".png"))]
    columns = [("input", None, None)] + [(f"{label} · {a}", folder, a) for a in ages for label, folder in runs]
    sheet = Image.new("RGB", (tile * len(columns), label_h + tile * len(names)), (236, 236, 236))
    draw = ImageDraw.Draw(sheet)
    for c, (label, _, _) in enumerate(columns):
        draw.text((c * tile + tile // 2, label_h // 2), label, fill=(30, 30, 30), font=font, anchor="mm")
    for r, name in enumerate(names):
        for c, (_, folder, age) in enumerate(columns):
            path = os.path.join(portraits, name + ".png") if folder is None else os.path.join(folder, f"{name}.age{age}.png")
            if os.path.exists(path):
                sheet.paste(_tile(path, tile), (c * tile, label_h + r * tile))
    sheet.save(out_path, optimize=True)


def write_markdown(figures: dict, model: str, path: str) -> None:
    s = figures["summary"]
    ages = sorted(int(a) for a in s["outsideMean"])
    lines = [f"# Real character art: Flare's painted portraits through the pipeline ({model}, region={figures['region']})", "",
             f"Faces found: **{s['facesFound']} of {s['portraits']}** portraits.", "",
             "| age | mean change outside the head | worst portrait | mean change inside the head |",
             "| --- | --- | --- | --- |"]
    for a in ages:
        lines.append(f"| {a} | {s['outsideMean'][a]:.3f} | {s['outsideMax'][a]:.3f} | {s['insideMean'][a]:.2f} |")
    if "estimator" in figures:
        e = figures["estimator"]
        means = {a: statistics.fmean(r[a] for r in e["readings"].values()) for a in (10, 40, 80)}
        lines += ["", f"Age estimator ({e['checkpoint']}) on the aged head crops: reading rises 10 < 40 < 80 for "
                  f"**{e['monotonic']} of {e['read']}** portraits; mean reading "
                  + ", ".join(f"{a}: {v:.1f} y" for a, v in means.items()) + "."]
    lines += ["", "Levels on the 0–255 scale, visible pixels only; the head is the detector's face box grown "
              "2.4 × 2.8 (see training/evaluate_art.py). Portraits: Debian's flare-game, CC-BY-SA 3.0, the Flare artists.",
              "", f"Command: `{figures['command']}`", ""]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the aged images, figures and contact sheet")
    ap.add_argument("--model", default="character-ager", help="name[:version] as `aging age --model` takes it")
    ap.add_argument("--region", default="auto", choices=["auto", "faces", "whole"])
    ap.add_argument("--portraits", help="a folder of portraits instead of Flare's (fetched when not given)")
    ap.add_argument("--estimator", help="an age-estimator checkpoint trained on head crops (training/train_estimator.py "
                    "on the crop data): reads the aged heads at 10, 40 and 80")
    ap.add_argument("--reuse", action="store_true", help="measure the aged images of an earlier run in --out "
                    "instead of running the pipeline again")
    ap.add_argument("--heads-from", help="report.json of a region=auto run whose face boxes define the head (to "
                    "measure a region=whole run on the same heads)")
    ap.add_argument("--compare-with", metavar="LABEL=DIR",
                    help="an earlier run's --out (e.g. v3=artifacts/eval/flare-v3): also writes compare.png, that run "
                         "and this one side by side at ages 10, 60 and 85")
    ap.add_argument("--label", default="", help="this run's label in compare.png (default: the model)")
    args = ap.parse_args(argv)
    heads = None
    if args.heads_from:
        with open(args.heads_from, encoding="utf-8") as f:
            heads = {e["input"]: file_faces(e) for e in json.load(f)["files"]}

    portraits = args.portraits or fetch_flare(os.path.join(ROOT, ".local", "eval", "flare"))
    aged = os.path.join(args.out, "aged")
    os.makedirs(aged, exist_ok=True)
    report_path = os.path.join(args.out, "report.json")
    if args.reuse and os.path.exists(report_path):
        with open(report_path, encoding="utf-8") as f:
            report = json.load(f)
    else:
        report = run_pipeline(portraits, aged, args.model, EVAL_AGES, args.region)
        with open(report_path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=1)
    figures = measure(portraits, aged, report, EVAL_AGES, heads)
    figures["model"] = report.get("model", args.model)
    figures["region"] = args.region
    figures["command"] = "/usr/bin/python3 training/evaluate_art.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.estimator:
        readings = estimator_readings(portraits, aged, report, [10, 40, 80], args.estimator)
        rising = [r for r in readings.values() if r[10] < r[40] < r[80]]
        figures["estimator"] = {"checkpoint": args.estimator, "readings": readings,
                                "monotonic": len(rising), "read": len(readings)}
        print(f"estimator: reading rises 10 < 40 < 80 for {len(rising)} of {len(readings)} portraits; mean "
              + ", ".join(f"{a}: {statistics.fmean(r[a] for r in readings.values()):.1f} y" for a in (10, 40, 80)))
    with open(os.path.join(args.out, "figures.json"), "w", encoding="utf-8") as f:
        json.dump(figures, f, indent=1)
    write_markdown(figures, figures["model"], os.path.join(args.out, "figures.md"))
    contact_sheet(portraits, aged, os.path.join(args.out, "contact-sheet.png"), SHEET_PORTRAITS, SHEET_AGES)
    if args.compare_with:
        label, _, folder = args.compare_with.partition("=")
        compare_sheet(portraits, [(label, os.path.join(folder, "aged")), (args.label or args.model, aged)],
                      os.path.join(args.out, "compare.png"), SHEET_PORTRAITS, [10, 60, 85])
    s = figures["summary"]
    print(f"faces found {s['facesFound']}/{s['portraits']}; mean change outside the head: "
          + ", ".join(f"age {a}: {v:.3f}" for a, v in s["outsideMean"].items()))


if __name__ == "__main__":
    main()
