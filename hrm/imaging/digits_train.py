"""Training the printed-digit classifier of hrm.imaging.digits: torch network, synthetic pages, trainer.

Training data are whole synthetic Sudoku pages (random fonts, sizes, line styles, shaded boxes,
surrounding text, paper texture), distorted like phone photos (rotation, perspective, uneven
lighting and shadows, blur, noise, JPEG), then cut into cells by the very code that reads real
images. Reproduce the shipped weights with

    python -m hrm.imaging.digits_train --out weights/digits.safetensors --seed 0

(needs the Debian font packages listed in FONT_PACKAGES; about 10 minutes on one CPU thread).
The fonts in HELD_OUT_FONTS are never used here: bench/bench_photo_sudoku.py tests on them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from hrm.errors import HRMError
from hrm.imaging.digits import DEFAULT_WEIGHTS, FORMAT_VERSION, NUM_CLASSES
from hrm.imaging.sudoku_photo import CELL, MARGIN, WARP_CELL, GridFit, fit_grid, homography, to_gray

if TYPE_CHECKING:
    import torch

log = logging.getLogger("hrm.imaging.digits_train")

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
FONT_PACKAGES = ("fonts-dejavu fonts-liberation fonts-open-sans fonts-lato fonts-cantarell "
                 "fonts-roboto-unhinted fonts-inconsolata fonts-hack fonts-linuxlibertine "
                 "fonts-crosextra-carlito fonts-firacode fonts-noto-mono fonts-league-spartan "
                 "fonts-comfortaa")

# Font files used to train (file names, searched under FONT_DIRS); "<pillow>" is Pillow's bundled font.
TRAIN_FONTS = (
    "<pillow>",
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansCondensed.ttf", "DejaVuSans-ExtraLight.ttf", "DejaVuSerifCondensed-Bold.ttf",
    "LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf", "LiberationSerif-Regular.ttf",
    "LiberationSerif-Bold.ttf", "LiberationMono-Regular.ttf", "LiberationSansNarrow-Regular.ttf",
    "OpenSans-Regular.ttf", "OpenSans-Bold.ttf", "OpenSans-Light.ttf", "OpenSans-CondBold.ttf",
    "Lato-Regular.ttf", "Lato-Bold.ttf", "Lato-Light.ttf", "Lato-Black.ttf",
    "Cantarell-Regular.otf", "Cantarell-Bold.otf",
    "Roboto-Regular.ttf", "Roboto-Bold.ttf", "Roboto-Light.ttf", "Roboto-Medium.ttf",
    "RobotoCondensed-Regular.ttf",
    "Inconsolata.otf", "Hack-Regular.ttf", "Hack-Bold.ttf",
    "LinLibertine_R.otf", "LinLibertine_RB.otf", "LinBiolinum_R.otf", "LinBiolinum_RB.otf",
    "Carlito-Regular.ttf", "Carlito-Bold.ttf", "FiraCode-Regular.ttf", "FiraCode-Bold.ttf",
    "NotoMono-Regular.ttf", "LeagueSpartan-Regular.otf", "LeagueSpartan-Bold.otf",
    "Comfortaa-Regular.ttf", "Comfortaa-Bold.ttf",
)
# Never trained on (nor their clones: GNU FreeFont and TeX Gyre derive from the URW fonts).
HELD_OUT_FONTS = (
    "C059-Roman.otf", "C059-Bold.otf", "P052-Roman.otf", "P052-Bold.otf", "URWBookman-Light.otf",
    "URWBookman-Demi.otf", "URWGothic-Book.otf", "URWGothic-Demi.otf", "NimbusSans-Regular.otf",
    "NimbusSans-Bold.otf", "NimbusRoman-Regular.otf", "NimbusRoman-Bold.otf", "NimbusMonoPS-Regular.otf",
    "NimbusSansNarrow-Regular.otf", "Caladea-Regular.ttf", "Caladea-Bold.ttf", "EBGaramond12-Regular.otf",
    "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf",
)


# ----------------------------------------------------------------------------------------------
# model


def build_model(width: int = 12) -> torch.nn.Module:
    """Small CNN: 32x32 ink -> 10 logits (about 70k parameters, 2.8M multiply-adds)."""
    from torch import nn

    def conv(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    c1, c2, c3 = width, 2 * width, 4 * width
    return nn.Sequential(
        *conv(1, c1), nn.MaxPool2d(2),                     # 32 -> 16
        *conv(c1, c2), *conv(c2, c2), nn.MaxPool2d(2),     # 16 -> 8
        *conv(c2, c3), nn.MaxPool2d(2),                    # 8 -> 4
        nn.Flatten(), nn.Dropout(0.2), nn.Linear(c3 * 16, 64), nn.ReLU(inplace=True),
        nn.Linear(64, NUM_CLASSES),
    )


# ----------------------------------------------------------------------------------------------
# fonts


@lru_cache(maxsize=1)
def _font_index() -> dict[str, Path]:
    index: dict[str, Path] = {}
    for root in FONT_DIRS:
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.suffix.lower() in (".ttf", ".otf"):
                    index.setdefault(p.name, p)
    return index


def find_fonts(names: tuple[str, ...]) -> list[str]:
    """The subset of `names` present on this machine ("<pillow>" is always present)."""
    index = _font_index()
    return [n for n in names if n == "<pillow>" or n in index]


@lru_cache(maxsize=2048)
def load_font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == "<pillow>":
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(str(_font_index()[name]), size=size)


# ----------------------------------------------------------------------------------------------
# synthetic pages


@dataclass
class Page:
    image: Image.Image
    corners: np.ndarray      # [4, 2] outer corners of the grid in `image` (TL, TR, BR, BL)
    digits: np.ndarray       # [9, 9] int, 0 = empty


def random_digits(rng: np.random.Generator) -> np.ndarray:
    fill = rng.uniform(0.25, 0.8)
    return np.where(rng.random((9, 9)) < fill, rng.integers(1, 10, (9, 9)), 0)


def draw_page(rng: np.random.Generator, fonts: list[str], digits: np.ndarray) -> Page:
    """A flat, undistorted page: paper, a Sudoku grid with digits, maybe some text around it."""
    cell = int(rng.integers(26, 70))
    side = 9 * cell
    pads = (rng.uniform(0.04, 0.35, 4) * side).astype(int)
    paper = tuple(int(v) for v in rng.integers(215, 256) - rng.integers(0, 18, 3) * (rng.random() < 0.5))
    page = Image.new("RGB", (side + pads[0] + pads[2], side + pads[1] + pads[3]), paper)
    draw = ImageDraw.Draw(page)
    x0, y0 = int(pads[0]), int(pads[1])
    if rng.random() < 0.7:
        _draw_text_around(rng, draw, fonts, page.size, (x0, y0, x0 + side, y0 + side), cell, paper)
    _shade_cells(rng, draw, x0, y0, cell)
    thin, thick, thin_ink, thick_ink = _line_style(rng, cell)
    _draw_digits(rng, page, fonts, digits, x0, y0, cell)
    _draw_lines(draw, x0, y0, cell, thin, thick, thin_ink, thick_ink)
    half = thick / 2
    corners = np.array([[x0 - half, y0 - half], [x0 + side + half, y0 - half],
                        [x0 + side + half, y0 + side + half], [x0 - half, y0 + side + half]])
    return Page(page, corners, digits)


def _line_style(rng: np.random.Generator, cell: int) -> tuple[int, int, int, int]:
    thin = int(rng.choice([1, 1, 2, 2, 3])) if cell > 40 else int(rng.choice([1, 1, 2]))
    thick = thin + int(rng.integers(0, 4)) if rng.random() < 0.85 else thin
    thin_ink = int(rng.integers(0, 90)) if rng.random() < 0.6 else int(rng.integers(90, 190))
    thick_ink = int(rng.integers(0, 70))
    return thin, max(thick, 1), thin_ink, thick_ink


def _draw_lines(draw: ImageDraw.ImageDraw, x0: int, y0: int, cell: int, thin: int, thick: int,
                thin_ink: int, thick_ink: int) -> None:
    end = 9 * cell
    for k in (1, 2, 4, 5, 7, 8, 0, 3, 6, 9):     # thin lines first, thick ones drawn over them
        width, ink = (thick, thick_ink) if k % 3 == 0 else (thin, thin_ink)
        lo, reach = k * cell - width // 2, thick // 2
        draw.rectangle((x0 + lo, y0 - reach, x0 + lo + width - 1, y0 + end + reach), fill=(ink,) * 3)
        draw.rectangle((x0 - reach, y0 + lo, x0 + end + reach, y0 + lo + width - 1), fill=(ink,) * 3)


def _shade_cells(rng: np.random.Generator, draw: ImageDraw.ImageDraw, x0: int, y0: int, cell: int) -> None:
    """Shaded alternate boxes (newspapers) or highlighted cells (apps)."""
    roll = rng.random()
    if roll < 0.15:
        tone = tuple(int(v) for v in rng.integers(185, 235, 3))
        for br in range(3):
            for bc in range(3):
                if (br + bc) % 2:
                    draw.rectangle((x0 + 3 * bc * cell, y0 + 3 * br * cell, x0 + 3 * (bc + 1) * cell,
                                    y0 + 3 * (br + 1) * cell), fill=tone)
    elif roll < 0.35:
        tone = tuple(int(v) for v in rng.integers(170, 250, 3))
        for _ in range(int(rng.integers(1, 12))):
            left, top = x0 + int(rng.integers(0, 9)) * cell, y0 + int(rng.integers(0, 9)) * cell
            draw.rectangle((left, top, left + cell, top + cell), fill=tone)


def _draw_digits(rng: np.random.Generator, page: Image.Image, fonts: list[str], digits: np.ndarray,
                 x0: int, y0: int, cell: int) -> None:
    main_font = fonts[int(rng.integers(len(fonts)))]
    entry_font = fonts[int(rng.integers(len(fonts)))] if rng.random() < 0.3 else main_font
    size = int(cell * rng.uniform(0.42, 0.85))
    given_ink = tuple(int(v) for v in rng.integers(0, 70, 3))
    entry_ink = given_ink if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(0, 160, 3))
    jitter = rng.uniform(0.0, 0.07) * cell
    style = _glyph_style(rng)
    for (r, c), d in np.ndenumerate(digits):
        if not d:
            continue
        entry = rng.random() < 0.3
        font = load_font(entry_font if entry else main_font, max(8, size + int(rng.integers(-1, 2))))
        glyph = _styled_glyph(str(int(d)), font, style)
        cx = x0 + (c + 0.5) * cell + rng.normal(0, jitter)
        cy = y0 + (r + 0.5) * cell + rng.normal(0, jitter)
        page.paste(entry_ink if entry else given_ink, (int(cx - glyph.width / 2), int(cy - glyph.height / 2)), glyph)


@dataclass
class GlyphStyle:
    """A page-wide deformation of the font, so the model also sees faces no installed font has."""

    widen: float        # horizontal scale
    slant: float        # shear, as in italics
    stroke: int         # -1 thinner, 0 as drawn, +1 bolder


def _glyph_style(rng: np.random.Generator) -> GlyphStyle:
    if rng.random() < 0.4:
        return GlyphStyle(1.0, 0.0, 0)
    return GlyphStyle(rng.uniform(0.8, 1.25), rng.uniform(-0.22, 0.22), int(rng.choice([-1, 0, 0, 1, 1])))


def _styled_glyph(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, style: GlyphStyle) -> Image.Image:
    """The digit as an ink mask ("L", 255 = ink), centred, deformed by `style`."""
    side = int(getattr(font, "size", 20) * 2)
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).text((side / 2, side / 2), text, fill=255, font=font, anchor="mm")
    if style.widen != 1.0 or style.slant:
        a, b = 1 / style.widen, style.slant
        mask = mask.transform((side, side), Image.Transform.AFFINE, (a, b, side / 2 * (1 - a - b), 0, 1, 0),
                              resample=Image.Resampling.BILINEAR)
    if style.stroke > 0:
        mask = mask.filter(ImageFilter.MaxFilter(3))
    elif style.stroke < 0 and side >= 48:
        mask = mask.filter(ImageFilter.MinFilter(3))
    return mask


_TEXT_CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 ,.;:-()"


def _draw_text_around(rng: np.random.Generator, draw: ImageDraw.ImageDraw, fonts: list[str],
                      size: tuple[int, int], grid_box: tuple[int, int, int, int], cell: int,
                      paper: tuple[int, ...]) -> None:
    """Lines of newspaper-like text over the page, then the grid's area (plus a gap) cleared again."""
    font = load_font(fonts[int(rng.integers(len(fonts)))], max(8, int(cell * rng.uniform(0.25, 0.55))))
    step = int(getattr(font, "size", 10) * 1.4)
    ink = (int(rng.integers(0, 80)),) * 3
    for y in range(2, size[1] - step, step):
        line = "".join(rng.choice(list(_TEXT_CHARS), int(rng.integers(20, 140))))
        draw.text((int(rng.integers(0, 12)), y), line, fill=ink, font=font)
    gap = int(cell * rng.uniform(0.08, 0.6))
    gx0, gy0, gx1, gy1 = grid_box
    draw.rectangle((gx0 - gap, gy0 - gap, gx1 + gap, gy1 + gap), fill=paper)


def distort(rng: np.random.Generator, page: Page, strength: float = 1.0) -> Page:
    """Photograph-like version of a page: perspective and rotation, lighting, blur, noise, JPEG."""
    image, corners = _perspective(rng, page.image, page.corners, strength)
    image = _lighting(rng, image, strength)
    if rng.random() < 0.6:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.4) * strength))
    image = _noise(rng, image, rng.uniform(0, 12) * strength)
    if rng.random() < 0.3:
        factor = rng.uniform(0.5, 0.9)
        small = image.resize((max(1, int(image.width * factor)), max(1, int(image.height * factor))),
                             Image.Resampling.BILINEAR)
        image, corners = small, corners * factor
    if rng.random() < 0.7:
        image = _jpeg(image, int(rng.integers(25, 95)))
    return Page(image, corners, page.digits)


def _perspective(rng: np.random.Generator, image: Image.Image, corners: np.ndarray,
                 strength: float) -> tuple[Image.Image, np.ndarray]:
    w, h = image.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    angle = np.deg2rad(rng.uniform(-25, 25) * strength * (rng.random() < 0.85))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = (src - [w / 2, h / 2]) @ rot.T
    dst += rng.uniform(-0.12, 0.12, (4, 2)) * [w, h] * strength
    dst -= dst.min(axis=0)
    forward = homography(src, dst)
    out_size = (int(np.ceil(dst[:, 0].max())) + 1, int(np.ceil(dst[:, 1].max())) + 1)
    inverse = np.linalg.inv(forward)
    coeffs = tuple((inverse / inverse[2, 2]).ravel()[:8])
    fill = tuple(int(v) for v in rng.integers(0, 256, 3))
    warped = image.transform(out_size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                             fillcolor=fill)
    moved = np.c_[corners, np.ones(4)] @ forward.T
    return warped, moved[:, :2] / moved[:, 2:3]


def _lighting(rng: np.random.Generator, image: Image.Image, strength: float) -> Image.Image:
    """Multiply by a smooth gradient and maybe a soft shadow blob; maybe tint the light."""
    w, h = image.size
    sw, sh = max(2, w // 8), max(2, h // 8)          # the light field is smooth: build it small
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(theta) * xx / sw + np.sin(theta) * yy / sh
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = 1.0 - rng.uniform(0, 0.6) * strength * ramp
    if rng.random() < 0.4:
        cx, cy, rad = rng.uniform(0, sw), rng.uniform(0, sh), rng.uniform(0.15, 0.5) * max(sw, sh)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / rad ** 2)
        light *= 1.0 - rng.uniform(0.2, 0.5) * strength * blob
    full = np.asarray(Image.fromarray(light.astype(np.float32)).resize((w, h), Image.Resampling.BILINEAR))
    tint = 1.0 - rng.uniform(0, 0.15, 3) * (rng.random() < 0.5)
    arr = np.asarray(image, np.float32) * full[..., None] * tint
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _noise(rng: np.random.Generator, image: Image.Image, sigma: float) -> Image.Image:
    if sigma <= 0.5:
        return image
    arr = np.asarray(image, np.float32) + rng.normal(0, sigma, (image.height, image.width, 1))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    import io

    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def page_cells(rng: np.random.Generator, page: Page) -> GridFit | None:
    """Cells cut the way the reader cuts them, from slightly-off corners as a detector would find."""
    pitch = np.ptp(page.corners[:, 0]) / 9
    corners = page.corners + rng.normal(0, 0.06 * pitch, (4, 2))
    return fit_grid(to_gray(page.image), corners, min_score=0.0)


def make_dataset(rng: np.random.Generator, fonts: list[str], pages: int) -> tuple[np.ndarray, np.ndarray]:
    """[N, CELL, CELL] float16 cells and [N] int labels from `pages` synthetic photos."""
    xs, ys = [], []
    for i in range(pages):
        digits = random_digits(rng)
        page = draw_page(rng, fonts, digits)
        if rng.random() < 0.05:                     # dark-mode screenshot
            page = Page(ImageOps.invert(page.image), page.corners, digits)
        if rng.random() < 0.9:
            page = distort(rng, page, strength=rng.uniform(0.1, 1.0))
        fit = page_cells(rng, page)
        if fit is None:
            continue
        xs.append(fit.cells.astype(np.float16))
        ys.append(digits.ravel())
        if (i + 1) % 100 == 0:
            log.info("pages %d/%d", i + 1, pages)
    return np.concatenate(xs), np.concatenate(ys).astype(np.int64)


# ----------------------------------------------------------------------------------------------
# training


def train(out: Path, seed: int = 0, pages: int = 1200, epochs: int = 4, width: int = 12,
          batch: int = 128) -> dict[str, Any]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # the CPU is shared; one thread keeps training deterministic too
    try:
        return _train(out, seed, pages, epochs, width, batch)
    finally:
        torch.set_num_threads(threads)


def _train(out: Path, seed: int, pages: int, epochs: int, width: int, batch: int) -> dict[str, Any]:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    fonts = find_fonts(TRAIN_FONTS)
    missing = sorted(set(TRAIN_FONTS) - set(fonts))
    if missing:
        log.warning("%d training fonts missing (%s); install: apt-get install %s",
                    len(missing), ", ".join(missing[:5]), FONT_PACKAGES)
    started = time.time()
    x, y = make_dataset(rng, fonts, pages)
    n_val = len(x) // 20
    log.info("dataset: %d cells (%d blank) from %d fonts in %.0fs", len(x), int((y == 0).sum()), len(fonts),
             time.time() - started)
    model = build_model(width)
    config = {"format_version": FORMAT_VERSION, "width": width, "cell": CELL, "warp_cell": WARP_CELL,
              "margin": MARGIN, "classes": "0=empty,1..9", "seed": seed, "pages": pages, "epochs": epochs,
              "fonts": fonts, "cells": len(x)}
    try:
        _fit(model, x[n_val:], y[n_val:], epochs, batch, seed)
    except KeyboardInterrupt:
        partial = out.with_suffix(".interrupted.safetensors")
        save_file(model.state_dict(), str(partial), metadata={"config": json.dumps(config)})
        raise HRMError(f"training interrupted; weights so far saved to {partial}") from None
    config["val_accuracy"] = _accuracy(model, x[:n_val], y[:n_val])
    config["train_seconds"] = round(time.time() - started)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out),
              metadata={"config": json.dumps(config)})
    log.info("held-out synthetic cells: %.4f accuracy; saved %s (%.0f kB)", config["val_accuracy"], out,
             out.stat().st_size / 1024)
    return config


def _fit(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, batch: int, seed: int) -> None:
    import torch

    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    steps = epochs * (len(x) // batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.02)
    model.train()
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(len(x) // batch):
            idx = order[i * batch:(i + 1) * batch]
            inputs = _augment(xt[idx].float().unsqueeze(1), gen)
            loss = loss_fn(model(inputs), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
            step += 1
        mean_loss = total / max(1, len(x) // batch)
        log.info("epoch %d/%d  loss %.4f  (%d steps)", epoch + 1, epochs, mean_loss, step)
    model.eval()


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Small shifts and contrast changes on top of the page-level distortions."""
    import torch

    shift = torch.randint(-2, 3, (2,), generator=gen).tolist()
    x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(2, 3))
    gain = 0.7 + 0.5 * torch.rand(x.shape[0], 1, 1, 1, generator=gen)
    return (x * gain).clamp_(0, 1)


def _accuracy(model: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    import torch

    with torch.inference_mode():
        pred = torch.cat([model(torch.from_numpy(x[i:i + 1024]).float().unsqueeze(1)).argmax(1)
                          for i in range(0, len(x), 1024)])
    return float((pred.numpy() == y).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hrm.imaging.digits_train", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="where to write the .safetensors")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pages", type=int, default=1200, help="synthetic Sudoku pages (81 cells each)")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if not args.out.parent.is_dir():
        parser.error(f"folder {args.out.parent} does not exist")
    try:
        train(args.out, seed=args.seed, pages=args.pages, epochs=args.epochs)
    except HRMError as exc:
        log.error("%s", exc)
        return 130 if "interrupted" in exc.message else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
