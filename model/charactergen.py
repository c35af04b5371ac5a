"""Procedural 2D character portraits, one identity rendered at any age.

The generator draws head-and-shoulders portraits of illustrated characters with PIL. An identity is a set of
parameters drawn from a seeded RNG (face shape, skin, hair, eyes, clothes, accessories, background, framing,
line weight); age is a separate, continuous input that changes what really changes with age:

* childhood: rounder, shorter face, larger eyes set lower, small nose and jaw, narrow shoulders;
* adulthood: longer face, stronger jaw and nose (by identity), eyes at their adult size;
* ageing: hair greying then whitening, thinning and a receding hairline (by identity), greying eyebrows,
  forehead lines, crow's feet, nasolabial folds, under-eye bags, drooping lids, jowls, neck lines, paler,
  less saturated skin with age spots, thinner lips.

Drawing happens at SUPERSAMPLE times the output size and is reduced with a Lanczos filter, which gives
anti-aliased lines and edges.

Usage:
    python3 model/charactergen.py --out model/data --train 1200 --heldout 250 --size 256
writes {out}/train/{identity}/{age}.png and {out}/heldout/{identity}/{age}.png plus identity.json files.
"""

from __future__ import annotations

import argparse
import colorsys
import json
import math
import os
import random
import sys
from dataclasses import asdict, dataclass
from multiprocessing import Pool

from PIL import Image, ImageDraw, ImageFilter

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


class Painter:
    """Draws in unit coordinates: x, y in [0, 1] across the canvas, scaled to pixels at SUPERSAMPLE."""

    def __init__(self, size: int, ident: Identity):
        self.px = size * SUPERSAMPLE
        self.img = Image.new("RGB", (self.px, self.px), ident.background)
        self.draw = ImageDraw.Draw(self.img)
        self.ident = ident
        self.lw = max(1, int(round(ident.line_weight * size / 128 * SUPERSAMPLE)))
        self.s = ident.scale
        self.ox = ident.offset_x
        self.oy = ident.offset_y

    def p(self, x: float, y: float):
        """Maps character-space coordinates (head centred at 0.5, 0.42) to pixels, applying framing."""
        cx, cy = 0.5, 0.45
        x = cx + (x - cx) * self.s + self.ox
        y = cy + (y - cy) * self.s + self.oy
        return (x * self.px, y * self.px)

    def pts(self, points):
        return [self.p(x, y) for x, y in points]

    def w(self, factor: float = 1.0) -> int:
        return max(1, int(round(self.lw * factor)))

    def ellipse(self, cx, cy, rx, ry, fill=None, outline=None, width=1.0):
        x0, y0 = self.p(cx - rx, cy - ry)
        x1, y1 = self.p(cx + rx, cy + ry)
        self.draw.ellipse([x0, y0, x1, y1], fill=fill, outline=outline, width=self.w(width) if outline else 0)

    def polygon(self, points, fill=None, outline=None, width=1.0):
        pts = self.pts(points)
        self.draw.polygon(pts, fill=fill)
        if outline is not None:
            self.draw.line(pts + [pts[0]], fill=outline, width=self.w(width), joint="curve")

    def line(self, points, colour, width=1.0):
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


def render(ident: Identity, age: float, size: int = 256) -> Image.Image:
    """Renders one identity at one age (years, 5–90) as an RGB image of size × size."""
    pt = Painter(size, ident)
    d = pt.draw
    r = random.Random(ident.seed * 7919 + 17)  # identity-stable randomness (wrinkle jitter, spots)

    # Background: vertical two-colour gradient.
    for i in range(0, pt.px, 4):
        c = lerp_rgb(ident.background, ident.background2, i / pt.px)
        d.rectangle([0, i, pt.px, i + 4], fill=c)

    child = 1.0 - smooth(5, 18, age)          # 1 at 5 years, 0 from 18
    old = smooth(35, 85, age)                 # 0 until 35, 1 at 85
    very_old = smooth(60, 90, age)
    adult_jaw = smooth(12, 25, age) * (0.6 + 0.4 * ident.jaw_strength)

    skin = ident.skin
    skin = desaturate(skin, 0.25 * old)
    skin = shade(skin, 1.0 - 0.06 * old)
    line = ident.line_colour

    # Head geometry.
    cx = 0.5
    head_top = 0.16 + 0.02 * child
    face_rx = ident.face_width * 0.5 * (0.32 / 0.5) * (1.0 + 0.08 * child)
    face_len = 0.30 + 0.05 * (1 - child) + 0.01 * very_old
    chin_y = head_top + face_len * 1.45
    cy = head_top + face_len * 0.62
    jaw_w = lerp(0.55, 0.78, adult_jaw) - 0.25 * ident.jaw_taper * (1 - child * 0.5) + 0.10 * very_old  # jowls widen

    # Neck and shoulders.
    neck_w = lerp(0.06, 0.085, 1 - child) + 0.01 * ident.jaw_strength
    shoulder_w = lerp(0.30, 0.43, 1 - child)
    neck_top = chin_y - 0.05
    shoulder_y = chin_y + 0.10 - 0.03 * child
    neck_skin = shade(skin, 0.88)
    pt.polygon([(cx - neck_w, neck_top), (cx + neck_w, neck_top), (cx + neck_w * 1.1, shoulder_y + 0.02),
                (cx - neck_w * 1.1, shoulder_y + 0.02)], fill=neck_skin, outline=line)
    if old > 0.2:
        for k in range(2 + int(2 * old)):
            yy = neck_top + 0.04 + k * 0.025
            pt.line(pt.arc_points(cx, yy, neck_w * 0.8, 0.01, 0.2, math.pi - 0.2, 8), shade(neck_skin, 0.75), 0.5 + 0.4 * old)
    cloth = ident.cloth_colour
    body = [(cx - shoulder_w, 1.05), (cx - shoulder_w, shoulder_y + 0.09), (cx - shoulder_w * 0.75, shoulder_y + 0.015),
            (cx - neck_w * 1.6, shoulder_y - 0.01), (cx + neck_w * 1.6, shoulder_y - 0.01),
            (cx + shoulder_w * 0.75, shoulder_y + 0.015), (cx + shoulder_w, shoulder_y + 0.09), (cx + shoulder_w, 1.05)]
    pt.polygon(body, fill=cloth, outline=line)
    if ident.collar == 1:
        pt.polygon([(cx - neck_w * 1.6, shoulder_y - 0.01), (cx, shoulder_y + 0.08), (cx - neck_w * 0.2, shoulder_y - 0.01)],
                   fill=shade(cloth, 1.25), outline=line)
        pt.polygon([(cx + neck_w * 1.6, shoulder_y - 0.01), (cx, shoulder_y + 0.08), (cx + neck_w * 0.2, shoulder_y - 0.01)],
                   fill=shade(cloth, 1.25), outline=line)
    elif ident.collar == 2:
        pt.line(pt.arc_points(cx, shoulder_y - 0.005, neck_w * 1.6, 0.05, 0.1, math.pi - 0.1, 16), shade(cloth, 0.6), 1.2)

    hair, grey = hair_tone(ident, age)
    thin = ident.balding * smooth(30, 75, age)
    hair_outline = shade(hair, 0.55)

    # Hair behind the head.
    style = ident.hair_style
    hair_volume = 1.0 - 0.35 * thin
    if style in ("long", "ponytail", "bob", "curly") and thin < 0.7:
        back_len = {"long": 0.42, "bob": 0.22, "ponytail": 0.12, "curly": 0.28}[style] * (1 - 0.3 * old)
        back = [(cx - face_rx * 1.22, cy - 0.05), (cx + face_rx * 1.22, cy - 0.05)]
        back += pt.arc_points(cx, cy + back_len - 0.05, face_rx * 1.26 * hair_volume, 0.05, 0.0, math.pi, 12)
        pt.polygon(back, fill=hair, outline=hair_outline)

    # Ears.
    for sgn in (-1, 1):
        ex = cx + sgn * face_rx * 0.98
        ear_ry = 0.045 + 0.008 * old
        pt.ellipse(ex, cy + 0.02 + 0.01 * old, 0.028, ear_ry, fill=shade(skin, 0.95), outline=line)
        if ident.earrings:
            pt.ellipse(ex, cy + 0.02 + ear_ry + 0.012, 0.008, 0.008, fill=(230, 200, 60), outline=shade((230, 200, 60), 0.6), width=0.5)

    # Face outline: upper half-ellipse, lower jaw tapered by identity and age.
    face = []
    n = 64
    upper_ry = cy - head_top
    lower_ry = chin_y - cy
    for i in range(n):
        a = math.pi + 2 * math.pi * i / n
        s, c = math.sin(a), math.cos(a)
        if s <= 0:
            face.append((cx + face_rx * c, cy + upper_ry * s))
        else:
            width = face_rx * (1 - (1 - jaw_w) * s ** 1.6)
            sag = 0.012 * very_old * s
            face.append((cx + width * c * (1 + 0.05 * very_old * s), cy + lower_ry * s + sag))
    pt.polygon(face, fill=skin, outline=line)

    # Skin shading: cheeks and age spots.
    if ident.blush > 0.1 or child > 0:
        blush = lerp_rgb(skin, (235, 120, 120), 0.25 * ident.blush + 0.25 * child)
        for sgn in (-1, 1):
            pt.ellipse(cx + sgn * face_rx * 0.58, cy + 0.075, 0.035, 0.02, fill=blush)
    if very_old > 0.05:
        spot = shade(desaturate(skin, 0.1), 0.82)
        for _ in range(int(10 * very_old)):
            sx = cx + r.uniform(-0.8, 0.8) * face_rx
            sy = cy + r.uniform(-0.9, 0.2) * upper_ry
            rr = r.uniform(0.004, 0.009)
            pt.ellipse(sx, sy, rr, rr * 0.8, fill=spot)
    if ident.freckles and age < 50:
        fr = shade(skin, 0.8)
        for _ in range(14):
            sx = cx + r.uniform(-0.55, 0.55) * face_rx
            sy = cy + r.uniform(0.03, 0.1)
            pt.ellipse(sx, sy, 0.004, 0.004, fill=fr)

    # Features.
    eye_y = cy + 0.005 + 0.035 * child - 0.005 * (1 - child)
    eye_dx = face_rx * 0.45
    eye_r = (0.034 + 0.022 * child) * (1 - 0.12 * old)
    eye_ry = eye_r * (1.05 - 0.35 * ident.eye_shape) * (1 - 0.25 * very_old)
    lid_droop = 0.45 * very_old + 0.2 * old
    wrinkle = shade(skin, 0.68)
    wr_strength = smooth(30, 80, age)

    for sgn in (-1, 1):
        ex = cx + sgn * eye_dx
        pt.ellipse(ex, eye_y, eye_r * 1.15, eye_ry, fill=(250, 250, 250), outline=line, width=0.9)
        iris_r = eye_ry * 0.85
        pt.ellipse(ex, eye_y + eye_ry * 0.05, iris_r * 0.85, iris_r, fill=ident.eye_colour)
        pt.ellipse(ex, eye_y + eye_ry * 0.05, iris_r * 0.42, iris_r * 0.48, fill=(15, 15, 20))
        pt.ellipse(ex - iris_r * 0.3, eye_y - iris_r * 0.35, iris_r * 0.22, iris_r * 0.22, fill=(255, 255, 255))
        if lid_droop > 0.02:
            # Upper lid covers part of the eye.
            lid = pt.arc_points(ex, eye_y, eye_r * 1.18, eye_ry * 1.05, math.pi, 2 * math.pi, 16)
            lower = [(x, eye_y - eye_ry * 1.05 + (y - (eye_y - eye_ry * 1.05)) * 0 + eye_ry * 2.1 * lid_droop * (1 - abs(x - ex) / (eye_r * 1.2)) ** 0.5)
                     for x, y in reversed(lid)]
            pt.polygon(lid + lower, fill=shade(skin, 0.93))
            pt.line(lower, line, 0.8)
        # Lashes for some identities.
        if ident.eye_shape > 0.6:
            pt.line([(ex + sgn * eye_r * 1.1, eye_y - eye_ry * 0.3), (ex + sgn * eye_r * 1.4, eye_y - eye_ry * 0.7)], line, 0.8)
        # Crow's feet and under-eye bags.
        if wr_strength > 0:
            for k in range(3):
                ang = -0.35 + k * 0.35
                x0 = ex + sgn * eye_r * 1.3
                x1 = x0 + sgn * (0.018 + 0.012 * wr_strength) * math.cos(ang)
                y1 = eye_y + (0.018 + 0.012 * wr_strength) * math.sin(ang)
                col = lerp_rgb(skin, wrinkle, wr_strength)
                pt.line([(x0, eye_y + 0.004 * (k - 1)), (x1, y1)], col, 0.5 + 0.5 * wr_strength)
            bag = lerp_rgb(skin, wrinkle, smooth(40, 85, age))
            pt.line(pt.arc_points(ex, eye_y + eye_ry * 0.9, eye_r * 0.9, eye_ry * 0.6, 0.3, math.pi - 0.3, 10), bag, 0.5 + 0.5 * old)

        # Eyebrows: grey later than the hair, bushier when very old.
        brow_grey = clamp01(grey - 0.15)
        brow_col = lerp_rgb(ident.hair_colour, (215, 215, 218), brow_grey)
        by = eye_y - eye_ry - 0.028 - 0.01 * child
        bw = ident.brow_thickness * (1.6 + 0.8 * very_old) * (0.8 + 0.2 * (1 - child))
        pt.line([(ex - sgn * eye_r * 0.9, by + 0.006), (ex, by - 0.004), (ex + sgn * eye_r * 1.25, by + 0.004 + 0.01 * very_old)], brow_col, bw)

    # Nose: grows and lengthens with age.
    nose_y = eye_y + 0.06 + 0.035 * (1 - child) + 0.008 * old
    ns = ident.nose_size * (0.55 + 0.45 * (1 - child)) * (1 + 0.12 * old)
    nose_col = shade(skin, 0.78)
    if ident.nose_type == 0:
        pt.line([(cx - 0.012 * ns, nose_y), (cx, nose_y + 0.008 * ns), (cx + 0.012 * ns, nose_y)], line, 0.9)
    elif ident.nose_type == 1:
        pt.line([(cx + 0.004, eye_y + 0.02), (cx + 0.016 * ns, nose_y - 0.002), (cx - 0.004, nose_y + 0.006)], line, 0.9)
    else:
        pt.ellipse(cx, nose_y, 0.016 * ns, 0.011 * ns, fill=shade(skin, 0.9), outline=nose_col, width=0.8)

    # Nasolabial folds.
    mouth_y = nose_y + 0.05 + 0.012 * (1 - child) + 0.01 * very_old
    if wr_strength > 0.05:
        col = lerp_rgb(skin, wrinkle, wr_strength)
        for sgn in (-1, 1):
            pt.line([(cx + sgn * 0.03 * ns, nose_y + 0.002), (cx + sgn * (0.045 + 0.01 * old), mouth_y + 0.012 * old)], col, 0.5 + 0.7 * wr_strength)

    # Mouth: lips thin with age; the corners turn down when very old.
    mw = 0.045 * ident.mouth_width * (0.8 + 0.2 * (1 - child))
    lip_h = 0.012 * (1 - 0.5 * old)
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
        base = Image.new("RGBA", pt.img.size, (0, 0, 0, 0))
        bd = ImageDraw.Draw(base)
        bd.polygon(pt.pts(chin), fill=beard_col + (int(200 * density),))
        pt.img.paste(base, (0, 0), base)
        pt.polygon([(cx - mw * 0.9, mouth_y + lip_h * 0.2), (cx + mw * 0.9, mouth_y + lip_h * 0.2),
                    (cx + mw * 0.7, mouth_y + lip_h * 1.1), (cx - mw * 0.7, mouth_y + lip_h * 1.1)], fill=lips)

    # Forehead lines.
    if wr_strength > 0.05:
        col = lerp_rgb(skin, wrinkle, wr_strength)
        count = 1 + int(round(2.5 * wr_strength))
        for k in range(count):
            fy = eye_y - eye_ry - 0.06 - 0.018 * k
            span = face_rx * (0.45 - 0.05 * k)
            jitter = r.uniform(-0.004, 0.004)
            pt.line(pt.arc_points(cx, fy + 0.012 + jitter, span, 0.012, math.pi + 0.4, 2 * math.pi - 0.4, 12), col, 0.45 + 0.6 * wr_strength)

    # Hair on top: the hairline recedes and the volume thins with balding × age.
    hairline = head_top + 0.045 + 0.09 * thin + 0.01 * child
    cap_ry = (cy - head_top) * (1.05 + 0.05 * hair_volume)
    fringe_drop = 0.0 if style in ("buzz", "spiky") else 0.03
    if thin < 0.95:
        alpha = int(255 * (1 - 0.55 * smooth(0.6, 1.0, thin)))
        layer = Image.new("RGBA", pt.img.size, (0, 0, 0, 0))
        hd = ImageDraw.Draw(layer)
        top = []
        for i in range(33):
            a = math.pi + math.pi * i / 32
            top.append((cx + face_rx * 1.08 * math.cos(a), cy - 0.02 + cap_ry * math.sin(a) * (1 + 0.1 * (style == "curly"))))
        # hairline edge back from right temple to left temple
        temple = cy - 0.02 - 0.03 * thin
        edge = [(cx + face_rx * 1.05, temple)]
        for i in range(9):
            t = i / 8
            x = cx + face_rx * (0.95 - 1.9 * t)
            wave = fringe_drop * math.sin(math.pi * t) * (1 - thin)
            if style == "side-part":
                wave = fringe_drop * (1.4 - t) * (1 - thin)
            edge.append((x, hairline + wave + 0.04 * abs(t - 0.5) * thin))
        edge.append((cx - face_rx * 1.05, temple))
        hd.polygon(pt.pts(top + edge), fill=hair + (alpha,))
        if style == "spiky":
            for i in range(7):
                a = math.pi + math.pi * (i + 0.5) / 7
                bx, byy = cx + face_rx * 1.0 * math.cos(a), cy - 0.02 + cap_ry * math.sin(a)
                tip = (cx + face_rx * 1.35 * math.cos(a), cy - 0.02 + cap_ry * 1.3 * math.sin(a))
                hd.polygon(pt.pts([(bx - 0.03, byy + 0.01), tip, (bx + 0.03, byy + 0.01)]), fill=hair + (alpha,))
        if style == "curly":
            for i in range(11):
                a = math.pi + math.pi * i / 10
                bx, byy = cx + face_rx * 1.08 * math.cos(a), cy - 0.02 + cap_ry * 1.05 * math.sin(a)
                x0, y0 = pt.p(bx - 0.03, byy - 0.03)
                x1, y1 = pt.p(bx + 0.03, byy + 0.03)
                hd.ellipse([x0, y0, x1, y1], fill=hair + (alpha,))
        if style == "ponytail":
            x0, y0 = pt.p(cx + face_rx * 1.05, cy - 0.12)
            x1, y1 = pt.p(cx + face_rx * 1.4, cy + 0.02)
            hd.ellipse([x0, y0, x1, y1], fill=hair + (alpha,))
        pt.img.paste(layer, (0, 0), layer)
        # strands
        strand = shade(hair, 0.75 if grey < 0.5 else 0.88)
        for i in range(5):
            t = (i + 1) / 6
            x = cx + face_rx * (0.8 - 1.6 * t)
            pt.line([(x, head_top + 0.02 + 0.05 * thin), (x + 0.02, hairline - 0.01)], strand, 0.5)
        pt.line(pt.arc_points(cx, cy - 0.02, face_rx * 1.08, cap_ry, math.pi, 2 * math.pi, 24), hair_outline, 0.9)
    if thin > 0.5:
        # Sparse side hair remains on balding heads.
        for sgn in (-1, 1):
            pt.polygon([(cx + sgn * face_rx * 1.06, cy - 0.07), (cx + sgn * face_rx * 0.92, cy - 0.09),
                        (cx + sgn * face_rx * 0.9, cy + 0.0), (cx + sgn * face_rx * 1.04, cy + 0.01)], fill=hair)

    # Glasses.
    if ident.glasses:
        gc = ident.glasses_colour
        for sgn in (-1, 1):
            ex = cx + sgn * eye_dx
            if ident.glasses == 1:
                pt.ellipse(ex, eye_y, eye_r * 1.6, eye_r * 1.35, outline=gc, width=1.2)
            else:
                x0, y0 = pt.p(ex - eye_r * 1.7, eye_y - eye_r * 1.2)
                x1, y1 = pt.p(ex + eye_r * 1.7, eye_y + eye_r * 1.2)
                d.rectangle([x0, y0, x1, y1], outline=gc, width=pt.w(1.2))
        pt.line([(cx - eye_dx + eye_r * 1.6, eye_y), (cx + eye_dx - eye_r * 1.6, eye_y)], gc, 1.0)

    img = pt.img.resize((size, size), Image.LANCZOS)
    if old > 0.3:
        # Slightly softer, lower-contrast look for very old skin texture.
        img = Image.blend(img, img.filter(ImageFilter.GaussianBlur(0.6)), 0.2 * old)
    return img


def render_identity(args):
    seed, folder, ages, size = args
    ident = random_identity(seed)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "identity.json"), "w") as f:
        json.dump(asdict(ident), f)
    for age in ages:
        path = os.path.join(folder, f"{age}.png")
        if not os.path.exists(path):
            render(ident, age, size).save(path, optimize=False, compress_level=1)
    return seed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="model/data")
    ap.add_argument("--train", type=int, default=1200, help="training identities")
    ap.add_argument("--heldout", type=int, default=250, help="held-out identities (disjoint seeds)")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--ages", default=",".join(map(str, DEFAULT_AGES)))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed-base", type=int, default=0)
    a = ap.parse_args(argv)
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
