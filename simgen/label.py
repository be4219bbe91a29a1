"""Labels from the rendered instance map: boxes, areas and RLE masks, exact to the pixel.

Boxes and pixel counts come from one pass over the map (`scipy.ndimage.find_objects` and
`np.bincount`). Each mask is run-length encoded inside a full-height strip spanning only its
box's columns (COCO RLE runs down columns, so the columns left and right of the box only add to
the first and last runs), then compressed to COCO's string form by pycocotools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage


@dataclass(frozen=True)
class InstanceLabel:
    instance_id: int                         # 1-based index into the scene's objects
    category_id: int
    bbox_xywh: tuple[int, int, int, int]     # tight box of the visible pixels
    area: int                                # visible pixel count
    segmentation: dict                       # COCO RLE: {"size": [h, w], "counts": str}


def annotate(instance_map: np.ndarray, categories: Mapping[int, int],
             min_pixels: int) -> list[InstanceLabel]:
    """Labels for every instance in `categories` (instance id -> category id) with at least
    `min_pixels` visible pixels, in instance-id order. Invisible instances are left out."""
    height, width = instance_map.shape
    areas = np.bincount(instance_map.ravel())
    labels = []
    for index, slices in enumerate(ndimage.find_objects(instance_map)):
        instance = index + 1
        if slices is None or instance not in categories or areas[instance] < min_pixels:
            continue
        rows, cols = slices
        box = (cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        mask = instance_map[:, cols] == instance
        labels.append(InstanceLabel(instance, categories[instance], box, int(areas[instance]),
                                    rle_of_columns(mask, cols.start, width)))
    return labels


def rle_of_columns(strip: np.ndarray, x0: int, width: int) -> dict:
    """COCO compressed RLE of a full-image mask that is zero outside columns x0..x0+strip_w."""
    height = strip.shape[0]
    flat = np.ascontiguousarray(strip.T).ravel().astype(np.int8)  # column-major order
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds)
    if flat[0]:  # COCO RLE always starts with a run of zeros
        counts = np.concatenate(([0], counts))
    counts = counts.astype(np.int64)
    before, after = x0 * height, (width - x0 - strip.shape[1]) * height
    counts[0] += before  # the columns left of the box are zeros: they open the first run
    if counts.size % 2 == 1:  # ends on zeros: the columns after the box extend that run
        counts[-1] += after
    elif after:
        counts = np.concatenate((counts, [after]))
    rle = mask_utils.frPyObjects({"size": [height, width], "counts": counts.tolist()}, height, width)
    return {"size": [height, width], "counts": rle["counts"].decode("ascii")}


def mask_of(segmentation: dict) -> np.ndarray:
    """Decode a COCO RLE (as written by `annotate`) to a bool H x W mask."""
    rle = {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}
    return mask_utils.decode(rle).astype(bool)


@dataclass(frozen=True)
class Occlusion:
    visibility: float                        # visible pixels / pixels of the object alone in frame
    truncation: float                        # share of the object's silhouette outside the frame
    bbox_amodal_xywh: tuple[int, int, int, int]   # whole silhouette, unclipped (x, y may be < 0)


def occlusion(visible_pixels: int, alone: np.ndarray, margin_x: int, margin_y: int,
              width: int, height: int) -> Occlusion | None:
    """Occlusion facts from the object's mask rendered alone on a canvas enlarged by the margins
    (the image sits at [margin_y:margin_y+height, margin_x:margin_x+width]). None if the object
    does not show alone (then nothing can be said)."""
    total = int(np.count_nonzero(alone))
    if total == 0:
        return None
    in_frame = int(np.count_nonzero(alone[margin_y:margin_y + height, margin_x:margin_x + width]))
    rows = np.flatnonzero(alone.any(axis=1))
    cols = np.flatnonzero(alone.any(axis=0))
    box = (int(cols[0]) - margin_x, int(rows[0]) - margin_y,
           int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1)
    visibility = min(1.0, visible_pixels / in_frame) if in_frame else 0.0
    return Occlusion(round(visibility, 6), round(1.0 - in_frame / total, 6), box)
