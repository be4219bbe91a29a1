"""A contact sheet of a few small labeled renders: see what a scenario change did, in seconds.

`preview` generates a handful of images at reduced size into a temporary folder with the
ordinary pipeline (so what it shows is what `generate` writes, labels included), reads the COCO
files back, draws every annotation's box, mask outline and category name, and tiles the views in
image-id order into one PNG. Nothing but that PNG is left behind, and it is written only when
everything before it succeeded.
"""

from __future__ import annotations

import colorsys
import json
import math
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from simgen.errors import SimgenError
from simgen.dataset.reader import read_manifest, read_stored

PAD_PX = 4                      # around and between tiles
SHEET_BACKGROUND = (40, 40, 40)
MIN_SIDE_PX = 64                # a preview image is never smaller than this (unless the scenario is)
_GOLDEN = 0.618033988749895


def category_color(category_id: int) -> tuple[int, int, int]:
    """A bright RGB colour for a category id: the same id always gets the same colour, and
    neighbouring ids get far-apart hues (golden-ratio steps around the hue circle)."""
    hue = (category_id * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return (round(r * 255), round(g * 255), round(b * 255))


def draw_labels(rgb: np.ndarray, annotations: list[dict], categories: list[str]) -> np.ndarray:
    """A copy of `rgb` (H x W x 3 uint8) with each COCO annotation drawn on it: its mask
    outline and its box in the category's colour, then its category name on a filled tag.

    Names are drawn after every box and outline so no outline crosses a name. Category ids
    are 1-based indexes into `categories`; an id outside it is shown as the number.
    """
    import cv2

    from simgen.label import mask_of

    out = np.ascontiguousarray(rgb, dtype=np.uint8).copy()
    height = out.shape[0]
    for ann in annotations:
        color = category_color(ann["category_id"])
        segmentation = ann.get("segmentation")
        if isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), str):
            mask = mask_of(segmentation).astype(np.uint8)
            # RETR_LIST: holes (a nut's bore, a gear's hub) are outlined too.
            contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(out, contours, -1, color, 1, lineType=cv2.LINE_8)
        x, y, w, h = (int(v) for v in ann["bbox"])
        # COCO boxes hold whole pixels x..x+w-1: draw on the first and last of them.
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), color, 1, lineType=cv2.LINE_8)
    font_scale = max(0.3, min(0.6, height / 700))
    placed: list[tuple[int, int, int, int]] = []   # tags already drawn: (left, top, w, h)
    for ann in annotations:
        category_id = ann["category_id"]
        name = (categories[category_id - 1] if 1 <= category_id <= len(categories)
                else str(category_id))
        _draw_tag(out, name, [int(v) for v in ann["bbox"]], category_color(category_id),
                  font_scale, placed)
    return out


def _draw_tag(out: np.ndarray, text: str, box_xywh: list[int], color: tuple[int, int, int],
              font_scale: float, placed: list[tuple[int, int, int, int]]) -> None:
    """`text` on a filled tag by the box: above its top-left corner where that is free, else
    the first free place among below it, just inside its top and bottom edges, and its right
    end; where all overlap tags already `placed`, the one that overlaps least. In a heap of
    parts this keeps names readable instead of stacking them on one another."""
    import cv2

    height, width = out.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), baseline = cv2.getTextSize(text, font, font_scale, 1)
    tag_w, tag_h = text_w + 2, text_h + baseline + 2
    x, y, w, h = box_xywh
    candidates = [(x, y - tag_h), (x, y + h), (x, y), (x, y + h - tag_h),
                  (x + w - tag_w, y - tag_h), (x + w - tag_w, y + h)]

    def clamp(left: int, top: int) -> tuple[int, int]:
        return (max(0, min(left, width - tag_w)), max(0, min(top, height - tag_h)))

    def overlap(left: int, top: int) -> int:
        return sum(max(0, min(left + tag_w, pl + pw) - max(left, pl))
                   * max(0, min(top + tag_h, pt + ph) - max(top, pt))
                   for pl, pt, pw, ph in placed)

    left, top = min((clamp(*c) for c in candidates), key=lambda c: overlap(*c))  # first of ties
    placed.append((left, top, tag_w, tag_h))
    cv2.rectangle(out, (left, top), (left + tag_w - 1, top + tag_h - 1), color, cv2.FILLED)
    luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    ink = (0, 0, 0) if luminance > 140 else (255, 255, 255)
    cv2.putText(out, text, (left + 1, top + 1 + text_h), font, font_scale, ink, 1, cv2.LINE_AA)


def contact_sheet(tiles: list[np.ndarray], columns: int | None = None) -> np.ndarray:
    """Tiles (H x W x 3 uint8) in a grid, row by row, PAD_PX apart and PAD_PX from the edge.

    `columns` defaults to ceil(sqrt(n)), so the grid is as square as the count allows. Every
    cell is the size of the largest tile; a smaller tile sits in its cell's top-left corner.
    """
    if not tiles:
        raise ValueError("contact_sheet needs at least one tile")
    if columns is None:
        columns = math.ceil(math.sqrt(len(tiles)))
    if columns < 1:
        raise ValueError(f"columns must be >= 1 (got {columns})")
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    cell_h = max(t.shape[0] for t in tiles)
    cell_w = max(t.shape[1] for t in tiles)
    sheet = np.empty((rows * cell_h + (rows + 1) * PAD_PX,
                      columns * cell_w + (columns + 1) * PAD_PX, 3), dtype=np.uint8)
    sheet[:] = SHEET_BACKGROUND
    for index, tile in enumerate(tiles):
        row, col = divmod(index, columns)
        top = PAD_PX + row * (cell_h + PAD_PX)
        left = PAD_PX + col * (cell_w + PAD_PX)
        sheet[top:top + tile.shape[0], left:left + tile.shape[1]] = tile
    return sheet


def preview_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The preview image size: each side times `scale`, but at least MIN_SIDE_PX (or the
    scenario's own size, when that is smaller still)."""
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise SimgenError(f"scale must be a number > 0 (got {scale!r})")
    return (max(round(width * scale), min(width, MIN_SIDE_PX)),
            max(round(height * scale), min(height, MIN_SIDE_PX)))


def load_scaled(path: str | Path, overrides: Sequence[str] = (),
                asset_roots: Sequence[str | Path] = (), scale: float = 0.5) -> Any:
    """Load a scenario with the user's `overrides`, then again with the image size scaled
    (see `preview_size`) added as two more overrides, so it is validated like any `--set`.

    Pixel intrinsics (`camera.fx`, `fy`, `cx`, `cy`), where a scenario gives them, are scaled
    with the image, so the small views show the same field of view as the full-size ones.
    """
    from simgen.scenario import load

    scenario = load(path, overrides, asset_roots)
    image, camera = scenario.spec.image, scenario.spec.camera
    width, height = preview_size(image.width, image.height, scale)
    if (width, height) == (image.width, image.height):
        return scenario
    sx, sy = width / image.width, height / image.height
    extra = [f"image.width={width}", f"image.height={height}"]
    for key, factor, centre in (("fx", sx, False), ("fy", sy, False),
                                ("cx", sx, True), ("cy", sy, True)):
        value = getattr(camera, key)
        if value is not None:
            spec = _scaled_spec(value.to_spec(), factor, centre)
            extra.append(f"camera.{key}={json.dumps(spec)}")
    return load(path, [*overrides, *extra], asset_roots)


def _scaled_spec(spec: Any, factor: float, centre: bool) -> Any:
    """A value or distribution spec with its pixel values scaled by `factor`. A principal point
    (centre=True) scales about the image corner -0.5 (pixel centres at integers); spreads (a
    normal's std) scale without the shift."""
    def scale(v: float, shift: bool = True) -> float:
        return (v + 0.5) * factor - 0.5 if centre and shift else v * factor

    if isinstance(spec, dict):
        (kind, args), = spec.items()
        if kind == "normal":
            return {kind: [scale(args[0]), scale(args[1], shift=False)]}
        return {kind: [scale(v) for v in args]}
    return scale(spec)


def preview(scenario: Any, out_png: str | Path, images: int = 16, seed: int = 0,
            renderer: str = "auto",
            on_renderer: Callable[[str], None] | None = None) -> Path:
    """Render `images` images of `scenario` (a Scenario or a scenario path, at the size it
    says: see `load_scaled` for a smaller one), draw their labels, and write them as one
    contact-sheet PNG to `out_png`. Returns the PNG's path.

    The dataset is made by `simgen.run.generate.generate` in a temporary folder that is removed
    afterwards; `out_png` is written (atomically) only if everything succeeded.
    """
    import cv2

    from simgen.dataset.writer import write_atomic
    from simgen.run.generate import generate

    out_png = Path(out_png)
    if out_png.is_dir():
        raise SimgenError(f"{out_png}: is a folder; give the preview PNG's file name")
    with tempfile.TemporaryDirectory(prefix="simgen-preview-") as tmp:
        out = Path(tmp) / "dataset"
        generate(scenario, out, images=images, seed=seed, renderer=renderer,
                 overwrite=True, on_renderer=on_renderer)
        # Category names in id order, as the dataset's manifest recorded the scenario.
        names = list(read_manifest(out)["scenario"]["resolved"]["categories"])
        views = []   # (image id, drawn tile)
        for image_id, item in sorted(read_stored(out).items()):
            bgr = cv2.imread(str(out / item.file), cv2.IMREAD_COLOR)
            if bgr is None:  # pragma: no cover - generate just wrote it
                raise RuntimeError(f"cannot read back {item.file}")
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            views.append((image_id, draw_labels(rgb, item.annotations, names)))
    views.sort(key=lambda v: v[0])
    sheet = contact_sheet([tile for _, tile in views])
    ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover
        raise RuntimeError("OpenCV could not encode the preview PNG")
    write_atomic(out_png, png.tobytes())
    return out_png
