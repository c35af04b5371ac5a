"""Procedural 2D character portraits, one identity rendered at any age, straight into the ager's head crop.

The generator draws head-and-shoulders characters with PIL. An identity is a set of parameters drawn from a seeded
RNG (face shape, skin, hair, eyes, clothes, accessories, background, line weight); age is a separate, continuous
input that changes what really changes with age:

* childhood: rounder, shorter face, larger eyes set lower, small nose and jaw, narrow shoulders;
* adulthood: longer face, stronger jaw and nose (by identity), eyes at their adult size;
* ageing: hair greying then whitening, thinning and a receding hairline (by identity), greying eyebrows,
  forehead lines, crow's feet, nasolabial folds, under-eye bags, drooping lids, jowls, neck lines, paler,
  less saturated skin with age spots, thinner lips.

Framing is the pipeline's: the head-crop template of the shipped ager's model.json (``crop``, read by
croptemplate.py). Each identity's true eye centres and mouth (at all ages together, so that every age of the
identity stays pixel-aligned) are mapped to the template by the least-squares similarity the pipeline uses, then
moved by a detector-like misalignment (rotation, scale, shift; the same for every age of the identity).

A style (``random_style``, one draw per identity, identical at every age) varies how it is drawn: western cartoon
to painted (smaller eyes, shaded nose, no outlines) or anime (large eyes, small nose and mouth, cel shading,
pointed locks, hair shine); line art from none to heavy; flat, soft or cel shading from a key light with tinted
shadows; rim light; painterly brush texture; hair gradients and strands; painted skin-tone shifts; backgrounds
(gradient, blobs, stone, foliage, sky, planks, dark, flattened black/white cut-outs) with optional depth blur;
props crossing the crop edge (staff, sword, pauldrons, cape); helmets, hoods, headbands; partial occlusion (hair
lock, scarf, branch, hand); then blur, film grain, colour grading (saturation, contrast, per-channel gamma, tint),
vignette and JPEG artefacts.

Drawing happens at SUPERSAMPLE times the output size and is reduced with a Lanczos filter, which gives
anti-aliased lines and edges; lighting and texture are applied at output size.

Usage:
    python3 training/charactergen.py --out training/data-crop --train 1200 --heldout 250 --size 128
writes {out}/train/{identity}/{age}.png and {out}/heldout/{identity}/{age}.png plus identity.json files (identity,
style, and the true eye/mouth positions in the crop at each age).
    python3 training/charactergen.py --grid training/styles.png
writes the style grid shown in training/README.md.
"""

from __future__ import annotations

import argparse
import colorsys
import io
import json
import math
import os
import random
import sys
from dataclasses import asdict, dataclass
from multiprocessing import Pool

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import croptemplate  # noqa: E402

SUPERSAMPLE = 2
DEFAULT_AGES = list(range(5, 91, 5))


def clamp01(x: float) -> float:
    return max(0.0, min(1.0, x))


def smooth(edge0: float, edge1: float, x: float) -> float:
    t = clamp01((x - edge0) / (edge1 - edge0))
    return t * t * (3 - 2 * t)


def lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def lerp_rgb(a, b, t):
    return tuple(int(round(lerp(a[i], b[i], t))) for i in range(3))


def shade(rgb, factor):
    return tuple(max(0, min(255, int(round(c * factor)))) for c in rgb)


def desaturate(rgb, amount):
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    r, g, b = colorsys.hls_to_rgb(h, l, s * (1 - amount))
    return (int(r * 255), int(g * 255), int(b * 255))


SKIN_TONES = [
    (255, 224, 196), (247, 208, 176), (234, 192, 155), (224, 172, 130), (198, 142, 102),
    (168, 112, 78), (136, 88, 60), (104, 66, 46), (250, 215, 205), (240, 200, 160),
    # cartoon tones
    (170, 220, 160), (170, 200, 240), (230, 190, 240),
]
HAIR_COLOURS = [
    (25, 20, 20), (60, 40, 30), (95, 60, 35), (140, 90, 50), (200, 160, 90), (235, 205, 130),
    (170, 60, 30), (120, 30, 20),
    # cartoon colours
    (50, 80, 200), (200, 60, 140), (60, 160, 90), (130, 60, 180),
]
EYE_COLOURS = [(60, 40, 25), (90, 60, 30), (50, 100, 160), (60, 130, 80), (110, 110, 120), (30, 30, 30)]
CLOTH_COLOURS = [
    (200, 50, 50), (50, 90, 180), (40, 140, 90), (230, 180, 40), (120, 60, 150), (40, 40, 50),
    (230, 230, 235), (240, 120, 40), (90, 160, 200), (150, 100, 70),
]
HAIR_STYLES = ["short", "bob", "long", "spiky", "ponytail", "curly", "buzz", "side-part"]


@dataclass
class Identity:
    seed: int
    face_width: float      # relative half-width of the face
    jaw_taper: float       # 0 round … 1 pointed
    jaw_strength: float    # how much the jaw widens/squares in adulthood
    skin: tuple
    hair_style: str
    hair_colour: tuple
    grey_rate: float       # how early and fast hair greys
    balding: float         # 0 none … 1 strong recession/thinning
    eye_colour: tuple
    eye_shape: float       # 0 round … 1 almond
    brow_thickness: float
    nose_type: int
    nose_size: float
    mouth_width: float
    lip_colour: tuple
    cloth_colour: tuple
    collar: int
    glasses: int           # 0 none, 1 round, 2 square
    glasses_colour: tuple
    earrings: bool
    freckles: bool
    beard: float           # 0 none; adult facial hair density
    background: tuple
    background2: tuple
    line_weight: float
    line_colour: tuple
    scale: float
    offset_x: float
    offset_y: float
    blush: float


def random_identity(seed: int) -> Identity:
    r = random.Random(seed)
    skin = r.choice(SKIN_TONES)
    hair = r.choice(HAIR_COLOURS)
    bg_h = r.random()
    bg1 = tuple(int(c * 255) for c in colorsys.hls_to_rgb(bg_h, r.uniform(0.55, 0.9), r.uniform(0.2, 0.7)))
    bg2 = tuple(int(c * 255) for c in colorsys.hls_to_rgb((bg_h + r.uniform(-0.1, 0.1)) % 1, r.uniform(0.45, 0.85), r.uniform(0.2, 0.7)))
    return Identity(
        seed=seed,
        face_width=r.uniform(0.56, 0.72),
        jaw_taper=r.uniform(0.1, 0.8),
        jaw_strength=r.uniform(0.0, 1.0),
        skin=skin,
        hair_style=r.choice(HAIR_STYLES),
        hair_colour=hair,
        grey_rate=r.uniform(0.7, 1.3),
        balding=r.choice([0.0, 0.0, 0.2, 0.5, 0.9]) * r.uniform(0.6, 1.0),
        eye_colour=r.choice(EYE_COLOURS),
        eye_shape=r.random(),
        brow_thickness=r.uniform(0.6, 1.5),
        nose_type=r.randrange(3),
        nose_size=r.uniform(0.8, 1.3),
        mouth_width=r.uniform(0.8, 1.2),
        lip_colour=shade(r.choice([(200, 90, 90), (180, 100, 100), (210, 110, 120), (160, 80, 70)]), r.uniform(0.9, 1.1)),
        cloth_colour=r.choice(CLOTH_COLOURS),
        collar=r.randrange(3),
        glasses=r.choices([0, 1, 2], [0.75, 0.12, 0.13])[0],
        glasses_colour=r.choice([(30, 30, 30), (120, 70, 30), (180, 30, 40), (40, 60, 150)]),
        earrings=r.random() < 0.2,
        freckles=r.random() < 0.15,
        beard=r.choice([0.0, 0.0, 0.0, r.uniform(0.3, 1.0)]),
        background=bg1,
        background2=bg2,
        line_weight=r.uniform(0.8, 1.8),
        line_colour=shade(r.choice([(30, 25, 25), (60, 40, 40), (40, 40, 70)]), 1.0),
        scale=r.uniform(1.22, 1.45),
        offset_x=r.uniform(-0.06, 0.06),
        offset_y=r.uniform(-0.03, 0.06),
        blush=r.uniform(0.0, 0.5),
    )


@dataclass
class Style:
    """How an identity is drawn: one draw per identity, applied identically at every age (pairs stay aligned)."""
    seed: int
    anime: bool            # large eyes, small nose and mouth, cel shading, stylised hair
    realism: float         # western styles: 0 cartoon … 1 painted (smaller eyes, shaded nose, no outlines)
    ink: float             # line-art weight factor, 0 = no line art … 2.5 = heavy
    ink_colour: tuple
    shading: str           # flat | soft | cel
    light_angle: float     # direction the key light comes from (radians, image coordinates)
    light: float           # key-light strength
    light_tint: tuple
    shadow_tint: tuple
    rim: float             # rim-light strength (0 = none)
    rim_colour: tuple
    texture: float         # painterly brush-noise amplitude
    streak_angle: float
    hair_strands: int
    hair_gradient: float
    skin_shift: tuple      # (hue, lightness, saturation) offsets of the painted skin tone
    background: str        # gradient | blobs | stone | foliage | sky | dark | planks
    bg_blur: float
    prop: str              # none | staff | sword | pauldrons | cape
    prop_colour: tuple
    headwear: str          # none | helmet | hood | headband
    headwear_colour: tuple
    occlusion: str         # none | lock | scarf | branch | hand
    grain: float
    blur: float
    jpeg: int              # 0 = none, else quality
    saturation: float
    contrast: float
    gamma: tuple
    tint: tuple
    vignette: float
    jitter: tuple          # (rotation rad, scale, shift x, shift y in IOD units) misalignment of a real detector


# Misalignment of a real detector, as jitter of the aligned crop: measured with training/measure_jitter.py (BlazeFace
# through training/blazeface.py on 120 whole renders; figures in training/jitter-measured.json and training/README.md).
# The crop from detected eyes and mouth differs from the crop from the true ones by a similarity about the
# template centre: rotation N(-0.5°, 4.7°), scale log-normal (median 1.085, σ 0.115 in log), shift of the centre
# N((-0.01, 0.03), (0.072, 0.094)) inter-ocular distances; clipped to the measured 95th-percentile-ish ranges.
JITTER_ROT_DEG = (-0.5, 4.7, 12.0)            # mean, sd, clip
JITTER_LOG_SCALE = (math.log(1.085), 0.115, 0.30)
JITTER_SHIFT_IOD = ((-0.01, 0.072), (0.03, 0.094), 0.3)


def _clipped_gauss(r: random.Random, mean: float, sd: float, limit: float) -> float:
    return max(mean - limit, min(mean + limit, r.gauss(mean, sd)))


def random_style(seed: int) -> Style:
    r = random.Random(seed * 104729 + 3)
    anime = r.random() < 0.3
    realism = 0.0 if anime else r.random() ** 0.7
    ink = 0.0 if r.random() < (0.1 if anime else 0.1 + 0.5 * realism) else r.uniform(0.4, 2.5) ** (1.0 if not anime else 0.8)
    hue = r.random()
    return Style(
        seed=seed,
        anime=anime,
        realism=realism,
        ink=ink,
        ink_colour=r.choice([(20, 15, 15), (45, 30, 25), (30, 30, 55), (70, 40, 30)]),
        shading=r.choices(["flat", "soft", "cel"], [0.12, 0.33, 0.55] if anime else [0.1 * (1 - realism), 0.65 + 0.3 * realism, 0.2])[0],
        light_angle=r.uniform(-math.pi, 0.0) if r.random() < 0.85 else r.uniform(0, math.pi),
        light=r.uniform(0.25, 0.65),
        light_tint=tuple(int(c * 255) for c in colorsys.hls_to_rgb(r.uniform(0.05, 0.17), 0.85, r.uniform(0, 0.6))),
        shadow_tint=tuple(int(c * 255) for c in colorsys.hls_to_rgb(r.choice([0.6, 0.7, 0.8, 0.03]), 0.3, r.uniform(0.2, 0.6))),
        rim=r.uniform(0.2, 0.7) if r.random() < 0.4 else 0.0,
        rim_colour=tuple(int(c * 255) for c in colorsys.hls_to_rgb(r.random(), 0.8, r.uniform(0.2, 0.9))),
        texture=r.uniform(0.02, 0.11) if r.random() < 0.7 else 0.0,
        streak_angle=r.uniform(0, math.pi),
        hair_strands=r.choice([0, 4, 10, 18, 30]),
        hair_gradient=r.uniform(0.0, 0.45),
        skin_shift=(r.uniform(-0.02, 0.02), r.uniform(-0.06, 0.05), r.uniform(-0.15, 0.15)),
        background=r.choices(["gradient", "blobs", "stone", "foliage", "sky", "dark", "planks", "black", "white"],
                             [0.17, 0.15, 0.1, 0.1, 0.08, 0.16, 0.06, 0.1, 0.08])[0],
        bg_blur=r.choice([0.0, 0.0, 1.5, 4.0]),
        prop=r.choices(["none", "staff", "sword", "pauldrons", "cape"], [0.5, 0.1, 0.12, 0.16, 0.12])[0],
        prop_colour=r.choice([(150, 150, 160), (120, 80, 40), (180, 150, 60), (90, 50, 40), (60, 70, 90)]),
        headwear=r.choices(["none", "helmet", "hood", "headband"], [0.8, 0.07, 0.08, 0.05])[0],
        headwear_colour=r.choice([(150, 150, 160), (170, 130, 60), (90, 60, 40), (50, 70, 50), (110, 30, 30), (40, 40, 60)]),
        occlusion=r.choices(["none", "lock", "scarf", "branch", "hand"], [0.82, 0.06, 0.03, 0.05, 0.04])[0],
        grain=r.uniform(0.0, 0.05) if r.random() < 0.5 else 0.0,
        blur=r.choice([0.0, 0.0, 0.0, r.uniform(0.3, 1.1)]),
        jpeg=r.choice([0, 0, 0, r.randint(30, 90)]),
        saturation=r.uniform(0.6, 1.3),
        contrast=r.uniform(0.8, 1.2),
        gamma=tuple(r.uniform(0.88, 1.12) for _ in range(3)),
        tint=tuple(r.uniform(-0.06, 0.06) for _ in range(3)),
        vignette=r.uniform(0.0, 0.5) if r.random() < 0.4 else 0.0,
        jitter=(math.radians(_clipped_gauss(r, *JITTER_ROT_DEG)),
                math.exp(_clipped_gauss(r, *JITTER_LOG_SCALE)),
                _clipped_gauss(r, *JITTER_SHIFT_IOD[0], JITTER_SHIFT_IOD[2]),
                _clipped_gauss(r, *JITTER_SHIFT_IOD[1], JITTER_SHIFT_IOD[2])),
    )


class Painter:
    """Draws in character coordinates mapped by a similarity straight into the head-crop template, at
    SUPERSAMPLE times the output size. Shapes drawn while ``region`` is set also go into the figure mask
    (and the face mask for region 'face'), which the lighting pass uses."""

    def __init__(self, size: int, sim, line_weight: float, ink, ink_off, soft_ink):
        self.px = size * SUPERSAMPLE
        self.img = Image.new("RGB", (self.px, self.px), (128, 128, 128))
        self.draw = ImageDraw.Draw(self.img)
        self.mask = Image.new("L", (self.px, self.px), 0)
        self.mdraw = ImageDraw.Draw(self.mask)
        self.face = Image.new("L", (self.px, self.px), 0)
        self.fdraw = ImageDraw.Draw(self.face)
        a, b, tx, ty = sim
        self.sim = (a * self.px, b * self.px, tx * self.px, ty * self.px)
        self.unit = math.hypot(a, b)  # crop sides per character unit
        self.lw = line_weight * size / 128 * SUPERSAMPLE * self.unit / 1.33
        self.ink, self.ink_off, self.soft_ink = ink, ink_off, soft_ink
        self.region = "figure"

    def p(self, x: float, y: float):
        a, b, tx, ty = self.sim
        return (a * x - b * y + tx, b * x + a * y + ty)

    def pts(self, points):
        return [self.p(x, y) for x, y in points]

    def w(self, factor: float = 1.0) -> int:
        return max(1, int(round(self.lw * factor)))

    def _masks(self, pts):
        if self.region:
            self.mdraw.polygon(pts, fill=255)
            if self.region == "face":
                self.fdraw.polygon(pts, fill=255)

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=1.0, n=28):
        self.polygon([(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in (2 * math.pi * i / n for i in range(n))],
                     fill=fill, outline=outline, width=width)

    def polygon(self, points, fill=None, outline=None, width=1.0):
        pts = self.pts(points)
        if fill is not None:
            self.draw.polygon(pts, fill=fill)
            self._masks(pts)
        if outline is not None:
            if outline == self.ink and self.ink_off:
                return
            self.draw.line(pts + [pts[0]], fill=outline, width=self.w(width), joint="curve")

    def line(self, points, colour, width=1.0):
        if colour == self.ink and self.ink_off:
            colour, width = self.soft_ink, max(width, 0.8)
        self.draw.line(self.pts(points), fill=colour, width=self.w(width), joint="curve")

    def arc_points(self, cx, cy, rx, ry, a0, a1, n=24):
        return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in (a0 + (a1 - a0) * i / n for i in range(n + 1))]


def hair_tone(ident: Identity, age: float):
    grey = smooth(30, 80, age * ident.grey_rate + (ident.grey_rate - 1) * 20)
    grey_target = (205, 205, 210) if age < 75 else (235, 235, 238)
    base = ident.hair_colour
    if age < 12 and ident.hair_colour in HAIR_COLOURS[:6]:
        base = shade(base, 1.0 + 0.15 * (12 - age) / 7)  # children's hair is often lighter
    return lerp_rgb(base, grey_target, grey), grey


def geometry(ident: Identity, age: float, style: Style | None = None) -> dict:
    """Face geometry in character coordinates at ``age``; eye centres and mouth are the alignment landmarks."""
    anime = style is not None and style.anime
    child = 1.0 - smooth(5, 18, age)          # 1 at 5 years, 0 from 18
    old = smooth(35, 85, age)                 # 0 until 35, 1 at 85
    very_old = smooth(60, 90, age)
    g = dict(child=child, old=old, very_old=very_old)
    g["adult_jaw"] = smooth(12, 25, age) * (0.6 + 0.4 * ident.jaw_strength)
    cx = 0.5
    head_top = 0.16 + 0.02 * child
    face_rx = ident.face_width * 0.5 * (0.32 / 0.5) * (1.0 + 0.08 * child)
    face_len = 0.30 + 0.05 * (1 - child) + 0.01 * very_old
    chin_y = head_top + face_len * 1.45
    cy = head_top + face_len * 0.62
    eye_y = cy + 0.005 + 0.035 * child - 0.005 * (1 - child) + (0.012 if anime else 0.0)
    eye_dx = face_rx * (0.47 if anime else 0.45)
    eye_r = (0.034 + 0.022 * child) * (1 - 0.12 * old)
    if anime:
        eye_r = (0.05 + 0.022 * child) * (1 - 0.22 * old)
    elif style is not None:
        eye_r *= 1 - 0.3 * style.realism
    nose_y = eye_y + 0.07 + 0.045 * (1 - child) + 0.008 * old - (0.01 if anime else 0.0)
    mouth_y = nose_y + 0.05 + 0.02 * (1 - child) + 0.01 * very_old
    g.update(cx=cx, head_top=head_top, face_rx=face_rx, face_len=face_len, chin_y=chin_y, cy=cy, eye_y=eye_y,
             eye_dx=eye_dx, eye_r=eye_r, nose_y=nose_y, mouth_y=mouth_y)
    return g


def landmarks(ident: Identity, age: float, style: Style | None = None):
    """True (left eye, right eye, mouth) centres in character coordinates."""
    g = geometry(ident, age, style)
    return [(g["cx"] - g["eye_dx"], g["eye_y"]), (g["cx"] + g["eye_dx"], g["eye_y"]), (g["cx"], g["mouth_y"])]


def crop_transform(ident: Identity, style: Style, template=None, jitter: bool = True):
    """Character coordinates → crop coordinates (fractions of the side) for this identity: the least-squares
    similarity from its landmarks at all ages (one transform, so every age of the identity stays pixel-aligned)
    to the template, then the detector-like misalignment of the style."""
    template = template or _template()
    src, dst = [], []
    for age in DEFAULT_AGES:
        src += landmarks(ident, age, style)
        dst += template.points(1.0)
    sim = croptemplate.fit_similarity(src, dst)
    if jitter:
        rot, scale, sx, sy = style.jitter
        iod = template.iod
        centre = tuple(sum(c) / 3 for c in zip(*template.points(1.0)))
        sim = croptemplate.compose(croptemplate.about(centre, rot, scale, (sx * iod, sy * iod)), sim)
    return sim


_TEMPLATE = None


def _template():
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = croptemplate.load_template()
    return _TEMPLATE


# ---------------------------------------------------------------------------------------------------- backgrounds


def draw_background(img: Image.Image, ident: Identity, style: Style, r: random.Random):
    px = img.width
    d = ImageDraw.Draw(img)
    c1, c2 = ident.background, ident.background2
    kind = style.background
    if kind == "dark":
        c1, c2 = shade(c1, 0.25), shade(c2, 0.12)
    if kind in ("black", "white"):  # portraits cut out on a transparent background, flattened
        img.paste((8, 8, 8) if kind == "black" else (250, 250, 250), (0, 0, px, px))
        return
    if kind == "sky":
        c1 = tuple(int(c * 255) for c in colorsys.hls_to_rgb(r.uniform(0.52, 0.64), r.uniform(0.55, 0.75), 0.5))
        c2 = lerp_rgb(c1, (250, 230, 200), 0.6)
    grad = Image.linear_gradient("L").resize((px, px))
    img.paste(Image.composite(Image.new("RGB", (px, px), c2), Image.new("RGB", (px, px), c1), grad))
    if kind == "blobs":
        for _ in range(r.randint(8, 20)):
            x, y, rr = r.uniform(0, px), r.uniform(0, px), r.uniform(0.04, 0.25) * px
            d.ellipse([x - rr, y - rr, x + rr, y + rr], fill=lerp_rgb(c1, (r.randrange(256), r.randrange(256), r.randrange(256)), 0.5))
    elif kind == "stone":
        h = r.uniform(0.08, 0.16) * px
        mortar = shade(c2, 0.55)
        y, row = 0.0, 0
        while y < px:
            x = -r.uniform(0, h * 2) if row % 2 else -h
            while x < px:
                w = h * r.uniform(1.2, 2.2)
                d.rounded_rectangle([x + 2, y + 2, x + w - 2, y + h - 2], radius=int(h * 0.2),
                                    fill=shade(lerp_rgb(c1, c2, r.random()), r.uniform(0.8, 1.1)), outline=mortar, width=2)
                x += w
            y += h
            row += 1
    elif kind == "foliage":
        base = (r.randint(30, 90), r.randint(80, 150), r.randint(30, 80))
        for _ in range(r.randint(40, 90)):
            x, y, rr = r.uniform(0, px), r.uniform(0, px), r.uniform(0.02, 0.08) * px
            d.ellipse([x - rr, y - rr * 0.6, x + rr, y + rr * 0.6], fill=shade(base, r.uniform(0.5, 1.4)))
    elif kind == "sky":
        for _ in range(r.randint(2, 6)):
            x, y = r.uniform(0, px), r.uniform(0, px * 0.7)
            for _ in range(5):
                rr = r.uniform(0.04, 0.1) * px
                xx, yy = x + r.uniform(-0.1, 0.1) * px, y + r.uniform(-0.03, 0.03) * px
                d.ellipse([xx - rr, yy - rr * 0.6, xx + rr, yy + rr * 0.6], fill=(245, 245, 250))
    elif kind == "planks":
        w = r.uniform(0.08, 0.2) * px
        x = 0.0
        while x < px:
            d.rectangle([x, 0, x + w, px], fill=shade(c1, r.uniform(0.75, 1.1)), outline=shade(c1, 0.5), width=2)
            x += w
    elif kind == "gradient" and r.random() < 0.5:
        for _ in range(r.randint(1, 4)):  # a few simple shapes: windows, pillars, furniture edges
            x0, y0 = r.uniform(-0.2, 1) * px, r.uniform(-0.2, 1) * px
            d.rectangle([x0, y0, x0 + r.uniform(0.1, 0.5) * px, y0 + r.uniform(0.1, 0.8) * px],
                        fill=shade(lerp_rgb(c1, c2, r.random()), r.uniform(0.7, 1.2)))
    if style.bg_blur:
        img.paste(img.filter(ImageFilter.GaussianBlur(style.bg_blur * px / 256)))


# ---------------------------------------------------------------------------------------------------- lighting


def _blur(a: np.ndarray, radius: float) -> np.ndarray:
    im = Image.fromarray(np.clip(a * 255, 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), dtype=np.float32) / 255


def _normal_light(mask: np.ndarray, radius: float, angle: float):
    """Pseudo-normal lighting of a silhouette: the blurred mask's gradient stands in for the surface normal;
    returns dot(normal, light) in about [-1, 1] (positive towards the light)."""
    b = _blur(mask, radius)
    gy, gx = np.gradient(b)
    m = max(float(np.abs(gx).max()), float(np.abs(gy).max()), 1e-6)
    lx, ly = math.cos(angle), math.sin(angle)
    return np.clip(-(gx * lx + gy * ly) / m * 1.6, -1, 1), b


_TEXTURE_CACHE: dict = {}


def _texture(style: Style, px: int) -> np.ndarray:
    """Brush noise of a style (identical at every age: cached for the identity being rendered)."""
    key = (style.seed, px)
    if key not in _TEXTURE_CACHE:
        _TEXTURE_CACHE.clear()
        rng = np.random.default_rng(style.seed)
        low = Image.fromarray((rng.random((10, 10, 3)) * 255).astype(np.uint8)).resize((px, px), Image.BICUBIC)
        n = (np.asarray(low, np.float32) / 255 - 0.5)
        streak = Image.fromarray((rng.random((max(2, px // 24), px // 2)) * 255).astype(np.uint8)).resize((px * 2, px * 2), Image.BICUBIC)
        streak = streak.rotate(math.degrees(style.streak_angle), resample=Image.BILINEAR).crop((px // 2, px // 2, px // 2 * 3, px // 2 * 3))
        s = (np.asarray(streak, np.float32) / 255 - 0.5)[..., None]
        _TEXTURE_CACHE[key] = 1.0 * n + 1.2 * s
    return _TEXTURE_CACHE[key]


def light(pt: Painter, style: Style, size: int) -> np.ndarray:
    """Lighting and brush texture, at output size (the fields are smooth; 4× cheaper than at the supersample)."""
    img = np.asarray(pt.img.resize((size, size), Image.LANCZOS), dtype=np.float32) / 255
    fig = np.asarray(pt.mask.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
    face = np.asarray(pt.face.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255
    px = size
    if style.shading != "flat":
        v_fig, _ = _normal_light(fig, px * 0.06, style.light_angle)
        v_face, _ = _normal_light(face, px * 0.09, style.light_angle)
        v = v_fig * (1 - face) + v_face * face
        yy, xx = np.mgrid[0:px, 0:px].astype(np.float32) / (px - 1) - 0.5
        v = np.clip(0.8 * v + 1.2 * (xx * math.cos(style.light_angle) + yy * math.sin(style.light_angle)), -1, 1)
        if style.shading == "cel":
            v = np.where(v < -0.12, -0.8, np.where(v > 0.5, 0.35, 0.0)).astype(np.float32)
            v = _blur((v + 1) / 2, 0.7) * 2 - 1
        k = style.light * fig
        lit = np.array(style.light_tint, np.float32) / 255
        dark = np.array(style.shadow_tint, np.float32) / 255
        pos = np.clip(v, 0, 1) * k
        neg = np.clip(-v, 0, 1) * k
        img = img * (1 - pos[..., None] * 0.6) + (img * 0.4 + lit * 0.6) * pos[..., None] * 0.6 + 0.08 * pos[..., None]
        img = img * (1 - neg[..., None]) + img * dark * 1.6 * neg[..., None] * 0.9 + img * 0.1 * neg[..., None]
    if style.rim:
        inner = _blur(fig, px * 0.012)
        edge = fig * np.clip((1 - inner) * 2.5, 0, 1)
        v_rim, _ = _normal_light(fig, px * 0.03, style.light_angle + math.pi * 0.8)
        e = (edge * np.clip(v_rim, 0, 1) * style.rim)[..., None]
        img = img + e * (np.array(style.rim_colour, np.float32) / 255)
    if style.texture:
        img = img * (1 + style.texture * _texture(style, px))
    return img


def finish(img: Image.Image, style: Style) -> Image.Image:
    """Camera and print effects at output size: blur, grain, colour grading, vignette, JPEG."""
    if style.blur:
        img = img.filter(ImageFilter.GaussianBlur(style.blur))
    a = np.asarray(img, dtype=np.float32) / 255
    rng = np.random.default_rng(style.seed + 1)
    if style.grain:
        a = a + rng.normal(0, style.grain, a.shape[:2])[..., None] * (0.6 + 0.4 * rng.random(3))
    grey = a.mean(2, keepdims=True)
    a = grey + (a - grey) * style.saturation
    a = (a - 0.5) * style.contrast + 0.5 + np.array(style.tint, np.float32)
    a = np.clip(a, 0, 1) ** np.array(style.gamma, np.float32)
    if style.vignette:
        h = a.shape[0]
        yy, xx = np.mgrid[0:h, 0:h] / (h - 1) - 0.5
        a = a * (1 - style.vignette * np.clip((xx ** 2 + yy ** 2) * 2 - 0.1, 0, 1))[..., None]
    img = Image.fromarray((np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8))
    if style.jpeg:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=style.jpeg)
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img


# ---------------------------------------------------------------------------------------------------- the character


def render(ident: Identity, age: float, size: int = 256, style: Style | None = None, template=None,
           jitter: bool = True) -> Image.Image:
    """Renders one identity at one age (years, 5–90) as an RGB image of size × size, in the head-crop template."""
    style = style or random_style(ident.seed)
    r = random.Random(ident.seed * 7919 + 17)  # identity-stable randomness (wrinkle jitter, spots, props)
    anime = style.anime
    g = geometry(ident, age, style)
    child, old, very_old, adult_jaw = g["child"], g["old"], g["very_old"], g["adult_jaw"]
    cx, cy, head_top, face_rx, chin_y = g["cx"], g["cy"], g["head_top"], g["face_rx"], g["chin_y"]
    eye_y, eye_dx, eye_r = g["eye_y"], g["eye_dx"], g["eye_r"]

    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in ident.skin))
    dh, dl, ds = style.skin_shift
    skin0 = tuple(int(c * 255) for c in colorsys.hls_to_rgb((h + dh) % 1, clamp01(l + dl), clamp01(s * (1 + ds))))
    # Old skin keeps nearly all its colour: a strongly desaturated, softened face read as a pale veil, and the
    # ager learnt to lay one over painted faces. Age shows in lines, spots, folds and hair instead.
    skin = desaturate(skin0, 0.08 * old)
    skin = shade(skin, 1.0 - 0.04 * old)
    ink = style.ink_colour if style.ink > 0 else (1, 2, 3)
    soft_ink = shade(skin, 0.55)
    pt = Painter(size, crop_transform(ident, style, template, jitter), ident.line_weight * max(style.ink, 0.5),
                 ink, style.ink == 0, soft_ink)
    line = ink
    d = pt.draw

    pt.region = None
    draw_background(pt.img, ident, style, random.Random(style.seed * 31 + 7))
    prop_r = random.Random(style.seed * 17 + 5)
    if style.prop in ("staff", "sword"):
        side = prop_r.choice([-1, 1])
        x0 = cx + side * prop_r.uniform(0.25, 0.4)
        top = (x0 + side * prop_r.uniform(-0.05, 0.15), -0.1)
        bottom = (x0 - side * prop_r.uniform(0.0, 0.2), 1.1)
        wdt = 0.018 if style.prop == "staff" else 0.028
        pc = style.prop_colour
        pt.polygon([(top[0] - wdt, top[1]), (top[0] + wdt, top[1]), (bottom[0] + wdt, bottom[1]), (bottom[0] - wdt, bottom[1])],
                   fill=pc, outline=line)
        if style.prop == "sword":
            gy = prop_r.uniform(0.1, 0.3)
            gx = top[0] + (bottom[0] - top[0]) * (gy + 0.1) / 1.2
            pt.polygon([(gx - 0.07, gy - 0.012), (gx + 0.07, gy - 0.012), (gx + 0.07, gy + 0.012), (gx - 0.07, gy + 0.012)],
                       fill=shade(pc, 0.7), outline=line)
    pt.region = "figure"

    adult = 1 - child
    jaw_w = lerp(0.55, 0.78, adult_jaw) - 0.25 * ident.jaw_taper * (1 - child * 0.5) + 0.10 * very_old  # jowls widen
    if anime:
        jaw_w -= 0.1

    # Neck and shoulders.
    pt.region = "face"
    neck_w = lerp(0.06, 0.085, adult) + 0.01 * ident.jaw_strength
    shoulder_w = lerp(0.30, 0.43, adult)
    neck_top = chin_y - 0.05
    shoulder_y = chin_y + 0.10 - 0.03 * child
    neck_skin = shade(skin, 0.88)
    pt.polygon([(cx - neck_w, neck_top), (cx + neck_w, neck_top), (cx + neck_w * 1.1, shoulder_y + 0.02),
                (cx - neck_w * 1.1, shoulder_y + 0.02)], fill=neck_skin, outline=line)
    pt.region = "figure"
    if old > 0.2:
        for k in range(2 + int(2 * old)):
            yy = neck_top + 0.04 + k * 0.025
            pt.line(pt.arc_points(cx, yy, neck_w * 0.8, 0.01, 0.2, math.pi - 0.2, 8), shade(neck_skin, 0.75), 0.5 + 0.4 * old)
    cloth = ident.cloth_colour
    body = [(cx - shoulder_w, 1.35), (cx - shoulder_w, shoulder_y + 0.09), (cx - shoulder_w * 0.75, shoulder_y + 0.015),
            (cx - neck_w * 1.6, shoulder_y - 0.01), (cx + neck_w * 1.6, shoulder_y - 0.01),
            (cx + shoulder_w * 0.75, shoulder_y + 0.015), (cx + shoulder_w, shoulder_y + 0.09), (cx + shoulder_w, 1.35)]
    if style.prop == "cape":
        pt.polygon([(cx - shoulder_w * 1.15, 1.35), (cx - neck_w * 2.2, shoulder_y - 0.04), (cx + neck_w * 2.2, shoulder_y - 0.04),
                    (cx + shoulder_w * 1.15, 1.35)], fill=style.prop_colour, outline=line)
    pt.polygon(body, fill=cloth, outline=line)
    if ident.collar == 1:
        pt.polygon([(cx - neck_w * 1.6, shoulder_y - 0.01), (cx, shoulder_y + 0.08), (cx - neck_w * 0.2, shoulder_y - 0.01)],
                   fill=shade(cloth, 1.25), outline=line)
        pt.polygon([(cx + neck_w * 1.6, shoulder_y - 0.01), (cx, shoulder_y + 0.08), (cx + neck_w * 0.2, shoulder_y - 0.01)],
                   fill=shade(cloth, 1.25), outline=line)
    elif ident.collar == 2:
        pt.line(pt.arc_points(cx, shoulder_y - 0.005, neck_w * 1.6, 0.05, 0.1, math.pi - 0.1, 16), shade(cloth, 0.6), 1.2)
    if style.prop == "pauldrons":
        for sgn in (-1, 1):
            pt.ellipse(cx + sgn * shoulder_w * 0.85, shoulder_y + 0.05, shoulder_w * 0.32, 0.07, fill=style.prop_colour, outline=line)
            pt.ellipse(cx + sgn * shoulder_w * 0.8, shoulder_y + 0.035, shoulder_w * 0.12, 0.02, fill=shade(style.prop_colour, 1.3))

    hair, grey = hair_tone(ident, age)
    thin = ident.balding * smooth(30, 75, age)
    hair_outline = shade(hair, 0.55) if style.ink == 0 or not anime else line
    style_h = ident.hair_style
    hidden_hair = style.headwear in ("helmet", "hood")
    hair_volume = 1.0 - 0.35 * thin

    if style.headwear == "hood":
        hc = style.headwear_colour
        hood = pt.arc_points(cx, cy - 0.02, face_rx * 1.55, (cy - head_top) * 1.45, math.pi * 0.95, math.pi * 2.05, 20)
        hood += [(cx + face_rx * 1.9, shoulder_y + 0.1), (cx - face_rx * 1.9, shoulder_y + 0.1)]
        pt.polygon(hood, fill=hc, outline=line)
        pt.ellipse(cx, cy + 0.02, face_rx * 1.3, (chin_y - head_top) * 0.62, fill=shade(hc, 0.35))

    # Hair behind the head.
    if style_h in ("long", "ponytail", "bob", "curly") and thin < 0.7 and style.headwear != "hood":
        back_len = {"long": 0.42, "bob": 0.22, "ponytail": 0.12, "curly": 0.28}[style_h] * (1 - 0.3 * old)
        back = [(cx - face_rx * 1.22, cy - 0.05), (cx + face_rx * 1.22, cy - 0.05)]
        back += pt.arc_points(cx, cy + back_len - 0.05, face_rx * 1.26 * hair_volume, 0.05, 0.0, math.pi, 12)
        pt.polygon(back, fill=shade(hair, 0.85), outline=hair_outline)

    # Ears.
    pt.region = "face"
    if style.headwear != "hood":
        for sgn in (-1, 1):
            ex = cx + sgn * face_rx * 0.98
            ear_ry = 0.045 + 0.008 * old
            pt.ellipse(ex, cy + 0.02 + 0.01 * old, 0.028, ear_ry, fill=shade(skin, 0.95), outline=line)
            if ident.earrings:
                pt.ellipse(ex, cy + 0.02 + ear_ry + 0.012, 0.008, 0.008, fill=(230, 200, 60), outline=shade((230, 200, 60), 0.6), width=0.5)

    # Face outline: upper half-ellipse, lower jaw tapered by identity and age.
    face = []
    n = 48
    upper_ry = cy - head_top
    lower_ry = chin_y - cy
    for i in range(n):
        a = math.pi + 2 * math.pi * i / n
        s_, c_ = math.sin(a), math.cos(a)
        if s_ <= 0:
            face.append((cx + face_rx * c_, cy + upper_ry * s_))
        else:
            width = face_rx * (1 - (1 - jaw_w) * s_ ** (1.6 if not anime else 1.2))
            sag = 0.012 * very_old * s_
            face.append((cx + width * c_ * (1 + 0.05 * very_old * s_), cy + lower_ry * s_ + sag))
    pt.polygon(face, fill=skin, outline=line)
    pt.region = "figure"

    # Skin shading: cheeks and age spots.
    if ident.blush > 0.1 or child > 0 or anime:
        blush = lerp_rgb(skin, (235, 120, 120), 0.25 * ident.blush + 0.25 * child + (0.2 if anime else 0))
        for sgn in (-1, 1):
            pt.ellipse(cx + sgn * face_rx * 0.58, cy + 0.075, 0.035, 0.02, fill=blush)
    if very_old > 0.05:
        spot = shade(desaturate(skin, 0.1), 0.82)
        for _ in range(int(10 * very_old)):
            sx = cx + r.uniform(-0.8, 0.8) * face_rx
            sy = cy + r.uniform(-0.9, 0.2) * upper_ry
            rr = r.uniform(0.004, 0.009)
            pt.ellipse(sx, sy, rr, rr * 0.8, fill=spot, n=10)
    if ident.freckles and age < 50:
        fr = shade(skin, 0.8)
        for _ in range(14):
            sx = cx + r.uniform(-0.55, 0.55) * face_rx
            sy = cy + r.uniform(0.03, 0.1)
            pt.ellipse(sx, sy, 0.004, 0.004, fill=fr, n=8)

    # Features.
    eye_ry = eye_r * (1.05 - 0.35 * ident.eye_shape) * (1 - 0.25 * very_old)
    if anime:
        eye_ry = eye_r * (1.25 - 0.25 * ident.eye_shape) * (1 - 0.3 * very_old)
    lid_droop = 0.45 * very_old + 0.2 * old
    wrinkle = shade(skin, 0.68)
    wr_strength = smooth(30, 80, age)

    for sgn in (-1, 1):
        ex = cx + sgn * eye_dx
        if anime:
            ew = eye_r * 0.95
            pt.ellipse(ex, eye_y, ew, eye_ry, fill=(252, 252, 252))
            iris_rx, iris_ry = ew * 0.78, eye_ry * 0.92
            pt.ellipse(ex, eye_y + eye_ry * 0.06, iris_rx, iris_ry, fill=ident.eye_colour)
            pt.ellipse(ex, eye_y + eye_ry * 0.35, iris_rx * 0.8, iris_ry * 0.5, fill=shade(ident.eye_colour, 1.5))
            pt.ellipse(ex, eye_y + eye_ry * 0.02, iris_rx * 0.45, iris_ry * 0.5, fill=(15, 15, 25))
            pt.ellipse(ex - sgn * iris_rx * 0.35, eye_y - iris_ry * 0.4, iris_rx * 0.3, iris_ry * 0.25, fill=(255, 255, 255))
            pt.ellipse(ex + sgn * iris_rx * 0.3, eye_y + iris_ry * 0.35, iris_rx * 0.12, iris_ry * 0.1, fill=(255, 255, 255), n=10)
            lash = pt.arc_points(ex, eye_y + eye_ry * 0.1, ew * 1.12, eye_ry * 1.15, math.pi * 1.05, math.pi * 1.95, 10)
            d.line(pt.pts(lash), fill=style.ink_colour, width=pt.w(2.2 if style.ink else 1.6) or 1, joint="curve")
            pt.line([lash[-1 if sgn > 0 else 0], (ex + sgn * ew * 1.3, eye_y - eye_ry * 0.55)], style.ink_colour, 1.2)
            if lid_droop > 0.05:
                pt.line(pt.arc_points(ex, eye_y - eye_ry * (0.3 - 0.5 * lid_droop), ew * 1.0, eye_ry * 0.8, math.pi * 1.1, math.pi * 1.9, 8),
                        line, 0.6 + 0.6 * lid_droop)
        else:
            pt.ellipse(ex, eye_y, eye_r * 1.15, eye_ry, fill=(250, 250, 250), outline=line, width=0.9)
            iris_r = eye_ry * 0.85
            pt.ellipse(ex, eye_y + eye_ry * 0.05, iris_r * 0.85, iris_r, fill=ident.eye_colour)
            pt.ellipse(ex, eye_y + eye_ry * 0.05, iris_r * 0.42, iris_r * 0.48, fill=(15, 15, 20))
            pt.ellipse(ex - iris_r * 0.3, eye_y - iris_r * 0.35, iris_r * 0.22, iris_r * 0.22, fill=(255, 255, 255), n=10)
            if lid_droop > 0.02:
                # Upper lid covers part of the eye.
                lid = pt.arc_points(ex, eye_y, eye_r * 1.18, eye_ry * 1.05, math.pi, 2 * math.pi, 16)
                lower = [(x, eye_y - eye_ry * 1.05 + eye_ry * 2.1 * lid_droop * (1 - abs(x - ex) / (eye_r * 1.2)) ** 0.5)
                         for x, y in reversed(lid)]
                pt.polygon(lid + lower, fill=shade(skin, 0.93))
                pt.line(lower, line, 0.8)
            if ident.eye_shape > 0.6:
                pt.line([(ex + sgn * eye_r * 1.1, eye_y - eye_ry * 0.3), (ex + sgn * eye_r * 1.4, eye_y - eye_ry * 0.7)], line, 0.8)
        # Crow's feet and under-eye bags.
        er = eye_r if not anime else eye_r * 0.95
        if wr_strength > 0:
            for k in range(3):
                ang = -0.35 + k * 0.35
                x0 = ex + sgn * er * 1.3
                x1 = x0 + sgn * (0.018 + 0.012 * wr_strength) * math.cos(ang)
                y1 = eye_y + (0.018 + 0.012 * wr_strength) * math.sin(ang)
                col = lerp_rgb(skin, wrinkle, wr_strength)
                pt.line([(x0, eye_y + 0.004 * (k - 1)), (x1, y1)], col, 0.5 + 0.5 * wr_strength)
            bag = lerp_rgb(skin, wrinkle, smooth(40, 85, age))
            pt.line(pt.arc_points(ex, eye_y + eye_ry * 0.9, er * 0.9, eye_ry * 0.6, 0.3, math.pi - 0.3, 10), bag, 0.5 + 0.5 * old)

        # Eyebrows: grey later than the hair, bushier when very old.
        brow_grey = clamp01(grey - 0.15)
        brow_col = lerp_rgb(ident.hair_colour, (215, 215, 218), brow_grey)
        by = eye_y - eye_ry - 0.028 - 0.01 * child - (0.01 if anime else 0)
        bw = ident.brow_thickness * (1.6 + 0.8 * very_old) * (0.8 + 0.2 * adult) * (0.6 if anime else 1.0)
        pt.line([(ex - sgn * er * 0.9, by + 0.006), (ex, by - 0.004), (ex + sgn * er * 1.25, by + 0.004 + 0.01 * very_old)], brow_col, bw)

    # Nose: grows and lengthens with age.
    nose_y = g["nose_y"]
    ns = ident.nose_size * (0.55 + 0.45 * adult) * (1 + 0.12 * old) * (0.6 if anime else 1.0)
    nose_col = shade(skin, 0.78)
    if anime:
        pt.line([(cx + 0.004, nose_y - 0.006), (cx - 0.002, nose_y + 0.002 * ns)], shade(skin, 0.6), 0.8)
    elif style.realism > 0.5:
        ls = -1 if math.cos(style.light_angle) > 0 else 1  # the nose's shadow side
        nshade = shade(skin, 0.8)
        pt.polygon([(cx + ls * 0.004, eye_y + 0.01), (cx + ls * 0.012 * ns, eye_y + 0.02), (cx + ls * 0.02 * ns, nose_y),
                    (cx, nose_y + 0.01 * ns), (cx + ls * 0.002, nose_y - 0.01)], fill=lerp_rgb(skin, nshade, 0.6))
        for sgn in (-1, 1):
            pt.ellipse(cx + sgn * 0.009 * ns, nose_y + 0.004, 0.005 * ns, 0.003 * ns, fill=shade(skin, 0.55), n=8)
        pt.ellipse(cx - ls * 0.004, nose_y - 0.012, 0.004, 0.01, fill=lerp_rgb(skin, (255, 255, 255), 0.35), n=8)
    elif ident.nose_type == 0:
        pt.line([(cx - 0.012 * ns, nose_y), (cx, nose_y + 0.008 * ns), (cx + 0.012 * ns, nose_y)], line, 0.9)
    elif ident.nose_type == 1:
        pt.line([(cx + 0.004, eye_y + 0.02), (cx + 0.016 * ns, nose_y - 0.002), (cx - 0.004, nose_y + 0.006)], line, 0.9)
    else:
        pt.ellipse(cx, nose_y, 0.016 * ns, 0.011 * ns, fill=shade(skin, 0.9), outline=nose_col, width=0.8)

    # Nasolabial folds.
    mouth_y = g["mouth_y"]
    if wr_strength > 0.05:
        col = lerp_rgb(skin, wrinkle, wr_strength)
        for sgn in (-1, 1):
            pt.line([(cx + sgn * 0.03 * max(ns, 0.8), nose_y + 0.002), (cx + sgn * (0.045 + 0.01 * old), mouth_y + 0.012 * old)], col, 0.5 + 0.7 * wr_strength)

    # Mouth: lips thin with age; the corners turn down when very old.
    mw = 0.045 * ident.mouth_width * (0.8 + 0.2 * adult) * (0.55 if anime else 1.0)
    lip_h = 0.012 * (1 - 0.5 * old) * (0.5 if anime else 1.0)
    corner = 0.006 * very_old - 0.004 * (1 - old)
    lips = desaturate(ident.lip_colour, 0.4 * old)
    pt.polygon([(cx - mw, mouth_y + corner), (cx - mw * 0.4, mouth_y - lip_h * 0.6), (cx, mouth_y - lip_h * 0.3),
                (cx + mw * 0.4, mouth_y - lip_h * 0.6), (cx + mw, mouth_y + corner), (cx + mw * 0.3, mouth_y + lip_h),
                (cx - mw * 0.3, mouth_y + lip_h)], fill=lips)
    pt.line([(cx - mw, mouth_y + corner), (cx, mouth_y + 0.002), (cx + mw, mouth_y + corner)], line, 0.9)
    if very_old > 0.1:  # marionette lines
        col = lerp_rgb(skin, wrinkle, very_old)
        for sgn in (-1, 1):
            pt.line([(cx + sgn * mw * 1.05, mouth_y + 0.008), (cx + sgn * mw * 1.15, mouth_y + 0.035)], col, 0.7)

    # Beard / stubble for adults of some identities.
    if ident.beard > 0 and age >= 18:
        density = ident.beard * smooth(16, 25, age)
        beard_col = lerp_rgb(ident.hair_colour, (225, 225, 228), clamp01(grey + 0.05))
        chin = [(cx - face_rx * 0.85, cy + 0.06)]
        for i in range(13):
            a = math.pi * i / 12
            width = face_rx * 0.85 * (1 - (1 - jaw_w) * math.sin(a) ** 1.6)
            chin.append((cx - width * math.cos(a), mouth_y - 0.01 + (chin_y - mouth_y + 0.012) * math.sin(a)))
        chin.append((cx + face_rx * 0.85, cy + 0.06))
        # Hair, not a tint: a uniform translucent fill read as a pale veil over the lower face (and taught the
        # ager to lay one at old ages). Full beards are near-opaque; sparse ones are stubble, opaque specks whose
        # share grows with the density; both stay the same specks at every age (seeded by the identity).
        base = Image.new("L", pt.img.size, 0)
        ImageDraw.Draw(base).polygon(pt.pts(chin), fill=255)
        w, h = pt.img.size
        speck = np.random.default_rng(ident.seed * 31 + 7).random((h, w))
        coverage = np.where(speck < 0.35 + 0.65 * density, 1.0, 0.0) if density < 0.7 else np.full((h, w), 0.96)
        alpha = np.asarray(base, np.float32) / 255 * coverage * smooth(0.0, 0.15, density)
        pt.img.paste(Image.new("RGB", pt.img.size, beard_col), (0, 0), Image.fromarray((alpha * 255).astype(np.uint8)))
        if style.hair_strands:
            bs = shade(beard_col, 0.8)
            for i in range(10):
                t = (i + 0.5) / 10
                xx = cx + face_rx * 0.7 * (2 * t - 1)
                pt.line([(xx, mouth_y + 0.02), (xx * 0.95 + cx * 0.05, chin_y - 0.005)], bs, 0.5)
        pt.polygon([(cx - mw * 0.9, mouth_y + lip_h * 0.2), (cx + mw * 0.9, mouth_y + lip_h * 0.2),
                    (cx + mw * 0.7, mouth_y + lip_h * 1.1), (cx - mw * 0.7, mouth_y + lip_h * 1.1)], fill=lips)

    # Forehead lines.
    if wr_strength > 0.05:
        col = lerp_rgb(skin, wrinkle, wr_strength)
        count = 1 + int(round(2.5 * wr_strength))
        for k in range(count):
            fy = eye_y - eye_ry - 0.06 - 0.018 * k
            span = face_rx * (0.45 - 0.05 * k)
            jit = r.uniform(-0.004, 0.004)
            pt.line(pt.arc_points(cx, fy + 0.012 + jit, span, 0.012, math.pi + 0.4, 2 * math.pi - 0.4, 12), col, 0.45 + 0.6 * wr_strength)

    # Hair on top: the hairline recedes and the volume thins with balding × age.
    hairline = head_top + 0.045 + 0.09 * thin + 0.01 * child
    cap_ry = (cy - head_top) * (1.05 + 0.05 * hair_volume)
    fringe_drop = 0.0 if style_h in ("buzz", "spiky") else 0.03
    if thin < 0.95 and style.headwear != "hood":
        alpha = int(255 * (1 - 0.55 * smooth(0.6, 1.0, thin)))
        layer = Image.new("L", pt.img.size, 0)
        hd = ImageDraw.Draw(layer)
        top = []
        for i in range(33):
            a = math.pi + math.pi * i / 32
            top.append((cx + face_rx * 1.08 * math.cos(a), cy - 0.02 + cap_ry * math.sin(a) * (1 + 0.1 * (style_h == "curly"))))
        temple = cy - 0.02 - 0.03 * thin
        edge = [(cx + face_rx * 1.05, temple)]
        steps = 8 if not anime else 12
        for i in range(steps + 1):
            t = i / steps
            x = cx + face_rx * (0.95 - 1.9 * t)
            wave = fringe_drop * math.sin(math.pi * t) * (1 - thin)
            if style_h == "side-part":
                wave = fringe_drop * (1.4 - t) * (1 - thin)
            yv = hairline + wave + 0.04 * abs(t - 0.5) * thin
            if anime and thin < 0.5:
                yv += (0.045 if i % 2 else -0.005) * (1 - thin)  # pointed locks over the forehead
            edge.append((x, yv))
        edge.append((cx - face_rx * 1.05, temple))
        hd.polygon(pt.pts(top + edge), fill=alpha)
        if style_h == "spiky":
            for i in range(7):
                a = math.pi + math.pi * (i + 0.5) / 7
                bx, byy = cx + face_rx * 1.0 * math.cos(a), cy - 0.02 + cap_ry * math.sin(a)
                tip = (cx + face_rx * 1.35 * math.cos(a), cy - 0.02 + cap_ry * 1.3 * math.sin(a))
                hd.polygon(pt.pts([(bx - 0.03, byy + 0.01), tip, (bx + 0.03, byy + 0.01)]), fill=alpha)
        if style_h == "curly":
            for i in range(11):
                a = math.pi + math.pi * i / 10
                bx, byy = cx + face_rx * 1.08 * math.cos(a), cy - 0.02 + cap_ry * 1.05 * math.sin(a)
                hd.polygon(pt.pts([(bx + 0.03 * math.cos(t), byy + 0.03 * math.sin(t)) for t in (2 * math.pi * k / 12 for k in range(12))]), fill=alpha)
        if style_h == "ponytail":
            hd.polygon(pt.pts([(cx + face_rx * 1.22 + 0.17 * face_rx * math.cos(t), cy - 0.05 + 0.07 * math.sin(t))
                               for t in (2 * math.pi * k / 14 for k in range(14))]), fill=alpha)
        # Gradient fill: lighter towards the top (the key light), darker at the ends.
        top_col = shade(hair, 1 + style.hair_gradient * (0.5 if grey < 0.7 else 0.1))
        bot_col = shade(hair, 1 - style.hair_gradient)
        grad = Image.linear_gradient("L").resize(pt.img.size)
        fill_img = Image.composite(Image.new("RGB", pt.img.size, bot_col), Image.new("RGB", pt.img.size, top_col), grad)
        pt.img.paste(fill_img, (0, 0), layer)
        pt.mask.paste(255, (0, 0), layer)
        if anime and thin < 0.6:  # the anime shine band
            shine = pt.arc_points(cx, cy - 0.02, face_rx * 0.8, cap_ry * 0.72, math.pi * 1.2, math.pi * 1.8, 10)
            d.line(pt.pts(shine), fill=lerp_rgb(hair, (255, 255, 255), 0.5), width=pt.w(3.5))
        # Strands: highlight and shadow lines following the hair flow.
        hl = lerp_rgb(hair, (255, 255, 255), 0.3 if grey < 0.5 else 0.15)
        dk = shade(hair, 0.65 if grey < 0.5 else 0.8)
        n_str = max(3, style.hair_strands) if not thin > 0.6 else 3
        for i in range(n_str):
            t = (i + 0.5) / n_str
            x = cx + face_rx * (0.95 - 1.9 * t)
            ytop = head_top + 0.02 + 0.05 * thin
            bend = (t - 0.5) * 0.06
            pts = [(x * 0.6 + cx * 0.4, ytop - 0.01), (x + bend * 0.5, (ytop + hairline) / 2), (x + bend, hairline - 0.005)]
            pt.line(pts, dk if i % 2 else hl, 0.45 if style.hair_strands > 10 else 0.6)
        if (style.ink > 0 or not anime) and thin < 0.5:
            pt.line(pt.arc_points(cx, cy - 0.02, face_rx * 1.08, cap_ry, math.pi, 2 * math.pi, 24), hair_outline, 0.9)
    if thin > 0.5 and not hidden_hair:
        for sgn in (-1, 1):
            pt.polygon([(cx + sgn * face_rx * 1.06, cy - 0.07), (cx + sgn * face_rx * 0.92, cy - 0.09),
                        (cx + sgn * face_rx * 0.9, cy + 0.0), (cx + sgn * face_rx * 1.04, cy + 0.01)], fill=hair)

    # Headwear.
    hc = style.headwear_colour
    if style.headwear == "helmet":
        dome = pt.arc_points(cx, cy - 0.03, face_rx * 1.18, (cy - head_top) * 1.25, math.pi, 2 * math.pi, 24)
        brim = eye_y - eye_ry - 0.045
        dome += [(cx + face_rx * 1.18, brim), (cx - face_rx * 1.18, brim)]
        pt.polygon(dome, fill=hc, outline=line)
        pt.polygon([(cx - face_rx * 1.22, brim - 0.03), (cx + face_rx * 1.22, brim - 0.03), (cx + face_rx * 1.22, brim + 0.005),
                    (cx - face_rx * 1.22, brim + 0.005)], fill=shade(hc, 0.75), outline=line)
        pt.line([(cx - face_rx * 0.5, head_top + 0.01), (cx - face_rx * 0.7, brim - 0.05)], shade(hc, 1.4), 2.0)
        if prop_r.random() < 0.5:  # nose guard
            pt.polygon([(cx - 0.012, brim), (cx + 0.012, brim), (cx + 0.009, nose_y - 0.01), (cx - 0.009, nose_y - 0.01)],
                       fill=shade(hc, 0.9), outline=line)
    elif style.headwear == "headband":
        yb = hairline + 0.005
        pt.polygon([(cx - face_rx * 1.08, yb - 0.02), (cx + face_rx * 1.08, yb - 0.02), (cx + face_rx * 1.08, yb + 0.012),
                    (cx - face_rx * 1.08, yb + 0.012)], fill=hc, outline=line)
        pt.ellipse(cx, yb - 0.004, 0.014, 0.012, fill=(220, 40, 60) if hc[0] < 150 else (60, 160, 220))

    # Glasses.
    if ident.glasses:
        gc = ident.glasses_colour
        gr = eye_r if not anime else eye_r * 0.85
        for sgn in (-1, 1):
            ex = cx + sgn * eye_dx
            if ident.glasses == 1:
                pt.ellipse(ex, eye_y, gr * 1.6, gr * 1.35, outline=gc, width=1.2)
            else:
                pt.polygon([(ex - gr * 1.7, eye_y - gr * 1.2), (ex + gr * 1.7, eye_y - gr * 1.2),
                            (ex + gr * 1.7, eye_y + gr * 1.2), (ex - gr * 1.7, eye_y + gr * 1.2)], outline=gc, width=1.2)
        pt.line([(cx - eye_dx + gr * 1.6, eye_y), (cx + eye_dx - gr * 1.6, eye_y)], gc, 1.0)

    # Partial occlusion.
    occ_r = random.Random(style.seed * 13 + 1)
    side = occ_r.choice([-1, 1])
    if style.occlusion == "lock" and not hidden_hair:
        x0 = cx + side * face_rx * occ_r.uniform(0.1, 0.5)
        pt.polygon([(x0 - 0.03, head_top), (x0 + 0.04, head_top), (x0 + side * 0.05 + 0.015, eye_y + 0.05),
                    (x0 + side * 0.04, eye_y + 0.07)], fill=shade(hair, 0.95), outline=hair_outline)
    elif style.occlusion == "scarf":
        sy = mouth_y + occ_r.uniform(0.02, 0.05)
        pt.polygon([(cx - face_rx * 1.3, sy), (cx + face_rx * 1.3, sy - 0.02), (cx + face_rx * 1.4, chin_y + 0.12),
                    (cx - face_rx * 1.4, chin_y + 0.12)], fill=style.prop_colour, outline=line)
    elif style.occlusion == "branch":
        y0 = occ_r.uniform(cy - 0.05, chin_y)
        x_start = cx + side * 0.5
        pts = [(x_start, y0), (cx + side * face_rx * occ_r.uniform(0.3, 0.8), y0 + occ_r.uniform(-0.08, 0.08))]
        pt.line(pts, (70, 50, 30), 3.0)
        for k in range(5):
            t = k / 5
            lx, ly = lerp(pts[0][0], pts[1][0], t), lerp(pts[0][1], pts[1][1], t)
            pt.ellipse(lx, ly + 0.02 * (1 if k % 2 else -1), 0.03, 0.015, fill=shade((60, 130, 50), occ_r.uniform(0.7, 1.3)), outline=line)
    elif style.occlusion == "hand":
        hx, hy = cx + side * face_rx * 0.8, chin_y + 0.01
        hand = shade(skin0, 0.95)
        pt.ellipse(hx, hy, 0.07, 0.05, fill=hand, outline=line)
        for k in range(4):
            pt.ellipse(hx - side * 0.03 + k * 0.02 * side, hy - 0.06, 0.011, 0.035, fill=hand, outline=line)

    lit = light(pt, style, size)
    img = Image.fromarray((np.clip(lit, 0, 1) * 255 + 0.5).astype(np.uint8))
    return finish(img, style)


def render_identity(args):
    seed, folder, ages, size = args
    ident = random_identity(seed)
    style = random_style(seed)
    os.makedirs(folder, exist_ok=True)
    sim = crop_transform(ident, style)
    marks = {str(age): [croptemplate.apply(sim, x, y) for x, y in landmarks(ident, age, style)] for age in ages}
    with open(os.path.join(folder, "identity.json"), "w") as f:
        json.dump({**asdict(ident), "style": asdict(style), "crop_landmarks": marks}, f)
    for age in ages:
        path = os.path.join(folder, f"{age}.png")
        if not os.path.exists(path):
            render(ident, age, size, style).save(path, optimize=False, compress_level=1)
    return seed


def style_grid(path: str, seeds, ages=(10, 30, 60, 85), size: int = 128):
    """A grid of training styles: two identities per row, each at ``ages`` (for training/README.md)."""
    cols = 2 * len(ages)
    rows = (len(seeds) + 1) // 2
    grid = Image.new("RGB", (size * cols + 8, size * rows), (255, 255, 255))
    for k, seed in enumerate(seeds):
        ident = random_identity(seed)
        for j, age in enumerate(ages):
            x = (k % 2) * (size * len(ages) + 8) + j * size
            grid.paste(render(ident, age, size), (x, (k // 2) * size))
    grid.save(path, optimize=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="training/data")
    ap.add_argument("--train", type=int, default=1200, help="training identities")
    ap.add_argument("--heldout", type=int, default=250, help="held-out identities (disjoint seeds)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ages", default=",".join(map(str, DEFAULT_AGES)))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed-base", type=int, default=0)
    ap.add_argument("--grid", default="", help="only write a style grid (identities × ages 10/30/60/85) to this PNG")
    ap.add_argument("--grid-seeds", default="0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15")
    a = ap.parse_args(argv)
    if a.grid:
        style_grid(a.grid, [int(x) for x in a.grid_seeds.split(",")], size=min(a.size, 128))
        return 0
    ages = [int(x) for x in a.ages.split(",")]
    jobs = []
    # Held-out identities use a disjoint seed range.
    for i in range(a.train):
        seed = a.seed_base + i
        jobs.append((seed, os.path.join(a.out, "train", f"id{seed:06d}"), ages, a.size))
    for i in range(a.heldout):
        seed = a.seed_base + 1_000_000 + i
        jobs.append((seed, os.path.join(a.out, "heldout", f"id{seed:06d}"), ages, a.size))
    done = 0
    with Pool(a.workers) as pool:
        for _ in pool.imap_unordered(render_identity, jobs, chunksize=4):
            done += 1
            if done % 50 == 0 or done == len(jobs):
                print(f"rendered {done}/{len(jobs)} identities", flush=True)


if __name__ == "__main__":
    sys.exit(main())
