"""The head-crop template, read from the shipped ager's manifest, and the similarity alignment to it.

The template is a contract shared with the C# pipeline (``CropTemplate.Default`` in
src/AgingPipeline.Contracts/Faces.cs): eyes and mouth as fractions of the crop side, plus the blend mask. Every
script of the toolchain (renderer, training, evaluation, detector checks) reads it from here, so the numbers live
in one place: ``crop`` of ``models/character-ager/<latest>/model.json``.

The alignment is the least-squares similarity (rotation, uniform scale, translation; no reflection) taking the
detected eye centres and mouth to the template points, as the pipeline computes it (Umeyama 1991, 2-D).
"""

from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


@dataclass(frozen=True)
class CropTemplate:
    left_eye: tuple    # (x, y) fraction of the crop side; the eye on the image's left
    right_eye: tuple
    mouth: tuple
    mask_centre: tuple
    mask_radii: tuple
    mask_feather: float

    def points(self, size: float = 1.0):
        """The three template points in pixels of a crop of side ``size``: left eye, right eye, mouth."""
        return [(x * size, y * size) for x, y in (self.left_eye, self.right_eye, self.mouth)]

    @property
    def iod(self) -> float:
        """Inter-ocular distance, fraction of the crop side."""
        return math.dist(self.left_eye, self.right_eye)


def latest_manifest() -> str:
    """The manifest of the newest character-ager version that declares a crop."""
    found = []
    for path in glob.glob(os.path.join(REPO, "models", "character-ager", "*", "model.json")):
        version = os.path.basename(os.path.dirname(path))
        try:
            with open(path) as f:
                if "crop" in json.load(f):
                    found.append((int(version), path))
        except (ValueError, OSError):
            continue
    if not found:
        raise SystemExit("no models/character-ager/*/model.json declares a crop template")
    return max(found)[1]


def load_template(manifest: str | None = None) -> CropTemplate:
    path = manifest or os.environ.get("AGER_CROP_MANIFEST") or latest_manifest()
    with open(path) as f:
        crop = json.load(f)["crop"]
    mask = crop["mask"]
    return CropTemplate(tuple(crop["leftEye"]), tuple(crop["rightEye"]), tuple(crop["mouth"]),
                        tuple(mask["centre"]), tuple(mask["radii"]), float(mask["feather"]))


def to_manifest(t: CropTemplate, size: int) -> dict:
    """The manifest's ``crop`` object for a model of input side ``size``."""
    return {"size": size, "leftEye": list(t.left_eye), "rightEye": list(t.right_eye), "mouth": list(t.mouth),
            "mask": {"centre": list(t.mask_centre), "radii": list(t.mask_radii), "feather": t.mask_feather}}


def fit_similarity(src, dst):
    """Least-squares similarity taking points ``src`` to ``dst`` (lists of (x, y)).

    Returns (a, b, tx, ty) for x' = a·x − b·y + tx, y' = b·x + a·y + ty (scale = hypot(a, b), angle = atan2(b, a)).
    """
    n = len(src)
    sx = sum(p[0] for p in src) / n
    sy = sum(p[1] for p in src) / n
    dx = sum(p[0] for p in dst) / n
    dy = sum(p[1] for p in dst) / n
    num_a = num_b = den = 0.0
    for (x, y), (u, v) in zip(src, dst):
        x, y, u, v = x - sx, y - sy, u - dx, v - dy
        num_a += x * u + y * v
        num_b += x * v - y * u
        den += x * x + y * y
    a, b = num_a / den, num_b / den
    return a, b, dx - (a * sx - b * sy), dy - (b * sx + a * sy)


def compose(outer, inner):
    """Similarity ``outer ∘ inner`` (apply ``inner`` first)."""
    a1, b1, tx1, ty1 = outer
    a2, b2, tx2, ty2 = inner
    return (a1 * a2 - b1 * b2, a1 * b2 + b1 * a2, a1 * tx2 - b1 * ty2 + tx1, b1 * tx2 + a1 * ty2 + ty1)


def apply(sim, x, y):
    a, b, tx, ty = sim
    return a * x - b * y + tx, b * x + a * y + ty


def invert(sim):
    a, b, tx, ty = sim
    d = a * a + b * b
    ia, ib = a / d, -b / d
    return ia, ib, -(ia * tx - ib * ty), -(ib * tx + ia * ty)


def about(centre, angle_rad: float, scale: float, shift=(0.0, 0.0)):
    """Rotation by ``angle_rad`` and scale about ``centre``, then ``shift``."""
    a, b = scale * math.cos(angle_rad), scale * math.sin(angle_rad)
    cx, cy = centre
    return a, b, cx - (a * cx - b * cy) + shift[0], cy - (b * cx + a * cy) + shift[1]


def keypoint_error(pred, true):
    """Mean distance of predicted eyes/mouth to the true ones, in inter-ocular distances of the true eyes."""
    iod = math.dist(true[0], true[1])
    return sum(math.dist(p, t) for p, t in zip(pred, true)) / len(true) / iod
