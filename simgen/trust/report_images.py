"""Pictures for `simgen report`: a seeded contact sheet of images with their labels drawn, and
side-by-side thumbnails of near-duplicate pairs.

Labels are drawn with `simgen.viz.preview.draw_labels` (box, mask outline, name tag) on the
thumbnail, after scaling each annotation to it, so lines stay one pixel wide however large the
source image. Masks may be RLE (compressed or not) or polygons, as in real COCO files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from simgen.dataset.coco_source import CocoSource
from simgen.errors import SimgenError
from simgen.viz.preview import contact_sheet, draw_labels
from simgen.trust.report_stats import decode_flag
from simgen.dataset.images import read_image

THUMB_SIDE_PX = 256       # longest side of a contact-sheet tile (never enlarged)
PAIR_SIDE_PX = 160        # longest side of a near-duplicate thumbnail


def read_rgb(path: Path, width: float, height: float, max_side: int) -> np.ndarray:
    """The image at `path` as RGB uint8, shrunk to at most `max_side` px on its longer side."""
    import cv2

    bgr = read_image(path, decode_flag(width, height))
    if bgr is None:
        raise SimgenError(f"{path}: cannot read the image")
    h, w = bgr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# pycocotools rasterizes a polygon by walking its edges in steps of 1/5 pixel, into arrays it
# allocates without bounds: a vertex at 1e300 crashed the process, one at 1e8 would take GBs.
# Polygons reaching further than one image size past an edge, or whose walk is longer than
# this many steps, are not drawn (their box still is).
MAX_POLYGON_STEPS = 20_000_000


def _drawable(polygon: Any, height: int, width: int) -> bool:
    """A polygon pycocotools can rasterize in bounded memory: >= 3 (x, y) points of finite
    numbers near the image, its walk at most MAX_POLYGON_STEPS steps."""
    if not (isinstance(polygon, list) and len(polygon) >= 6 and len(polygon) % 2 == 0):
        return False
    try:
        xy = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    except (ValueError, TypeError):
        return False
    low, high = -np.array([width, height]), 2 * np.array([width, height])
    if not (np.isfinite(xy).all() and (xy >= low).all() and (xy <= high).all()):
        return False
    steps = np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum() * 5
    return bool(steps <= MAX_POLYGON_STEPS)


def full_mask(segmentation: Any, height: int, width: int) -> np.ndarray | None:
    """A COCO segmentation (polygons, RLE with list or string counts) as a bool mask; None
    where there is none or it cannot be read (the box is drawn all the same). The loader
    (simgen.dataset.coco_source) checked the RLE's size and runs; polygons are checked here."""
    from pycocotools import mask as mask_utils

    try:
        if isinstance(segmentation, list) and segmentation:
            polygons = [p for p in segmentation if _drawable(p, height, width)]
            if not polygons:
                return None
            rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
        elif isinstance(segmentation, dict) and "counts" in segmentation:
            h, w = segmentation["size"]
            if isinstance(segmentation["counts"], list):
                rle = mask_utils.frPyObjects(segmentation, h, w)
            else:
                counts = segmentation["counts"]
                rle = {"size": [h, w],
                       "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
        else:
            return None
        return mask_utils.decode(rle).astype(bool)
    except (ValueError, TypeError, KeyError, OverflowError, UnicodeError):
        return None


def _clip(value: float, size: float) -> float:
    """`value` within one image size of the image (what is further out is not drawn anyway)."""
    return min(max(value, -size), 2.0 * size)


def scaled_annotation(ann: dict[str, Any], image: dict[str, Any], thumb_h: int,
                      thumb_w: int) -> dict[str, Any]:
    """`ann` for drawing on a thumb_w x thumb_h copy of its image: box clipped near the image
    (a box of 1e300 pixels overflowed OpenCV's int coordinates) and scaled, mask resized
    (nearest neighbour) and re-encoded as the string RLE that draw_labels reads."""
    import cv2

    from simgen.label import rle_of_columns

    width, height = float(image["width"]), float(image["height"])
    sx, sy = thumb_w / width, thumb_h / height
    x, y, w, h = (float(v) for v in ann["bbox"])
    x2, y2 = _clip(x + w, width), _clip(y + h, height)
    x, y = _clip(x, width), _clip(y, height)
    left, top = int(x * sx), int(y * sy)
    box = [left, top, max(1, int(np.ceil(x2 * sx)) - left), max(1, int(np.ceil(y2 * sy)) - top)]
    out = {"category_id": ann["category_id"], "bbox": box}
    mask = full_mask(ann.get("segmentation"), int(image["height"]), int(image["width"]))
    if mask is not None:
        small = cv2.resize(mask.astype(np.uint8), (thumb_w, thumb_h),
                           interpolation=cv2.INTER_NEAREST)
        out["segmentation"] = rle_of_columns(small.astype(bool), 0, thumb_w)
    return out


def sample_sheet(source: CocoSource, images: int, seed: int) -> np.ndarray | None:
    """A contact sheet of `images` images drawn with `seed` (in dataset order), labels drawn;
    None for a dataset without images."""
    if source.n_images == 0 or images < 1:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    chosen = set(int(i) for i in rng.choice(source.n_images, size=min(images, source.n_images),
                                            replace=False))
    tiles = []
    for index, (split, image, anns) in enumerate(source.records()):
        if index not in chosen:
            continue
        rgb = read_rgb(split.image_path(image), image["width"], image["height"], THUMB_SIDE_PX)
        th, tw = rgb.shape[:2]
        ids = split.category_names()
        names = [ids.get(i, str(i)) for i in range(1, max(ids, default=0) + 1)]
        drawn = [scaled_annotation(a, image, th, tw) for a in anns if not a.get("iscrowd", 0)]
        tiles.append(draw_labels(rgb, drawn, names))
    return contact_sheet(tiles)


def pair_sheet(pairs: list[tuple[Path, Path]]) -> np.ndarray | None:
    """The images of each pair side by side, one pair per row."""
    import cv2

    tiles = []
    for first, second in pairs:
        for path in (first, second):
            bgr = read_image(path, cv2.IMREAD_COLOR)
            if bgr is None:
                raise SimgenError(f"{path}: cannot read the image")
            h, w = bgr.shape[:2]
            scale = min(1.0, PAIR_SIDE_PX / max(h, w))
            bgr = cv2.resize(bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                             interpolation=cv2.INTER_AREA)
            tiles.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return contact_sheet(tiles, columns=2) if tiles else None
