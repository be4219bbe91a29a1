"""Labels from the rendered instance map: boxes, areas and RLE masks, exact to the pixel.

Boxes come from one pass over the map (`scipy.ndimage.find_objects`), pixel counts from each
mask inside its box. Each mask is run-length encoded inside a full-height strip spanning only its
box's columns (COCO RLE runs down columns, so the columns left and right of the box only add to
the first and last runs), then compressed to COCO's string form by pycocotools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
from pycocotools import mask as mask_utils
from scipy import ndimage

from simgen import geometry


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
    labels = []
    for index, slices in enumerate(ndimage.find_objects(instance_map)):
        instance = index + 1
        if slices is None or instance not in categories:
            continue
        rows, cols = slices
        mask = instance_map[:, cols] == instance
        area = int(np.count_nonzero(mask[rows]))   # the pixels are all inside the box
        if area < min_pixels:
            continue
        box = (cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        labels.append(InstanceLabel(instance, categories[instance], box, area,
                                    rle_of_columns(mask, cols.start, width)))
    return labels


def visible_areas(instance_map: np.ndarray, categories: Mapping[int, int]) -> dict[int, int]:
    """{instance id: visible pixels} of every instance in `categories` that shows, in
    instance-id order: what `annotate` counts, without its boxes and masks."""
    areas = np.bincount(instance_map.ravel())
    return {int(i): int(areas[i]) for i in np.flatnonzero(areas) if i in categories}


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


def rle_of_mask(mask: np.ndarray) -> dict:
    """COCO compressed RLE of a bool H x W mask (empty columns cost nothing: see rle_of_columns)."""
    height, width = mask.shape
    cols = np.flatnonzero(mask.any(axis=0))
    if cols.size == 0:
        return rle_of_columns(np.zeros((height, 1), bool), 0, width)
    return rle_of_columns(mask[:, cols[0]:cols[-1] + 1], int(cols[0]), width)


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


# --- per-instance facts in the camera: pose, 3D box keypoints, occlusion fields -----------

# A box corner counts as hidden when the rendered depth at its pixel is nearer than its own by
# more than this (plus 1% of its distance): the corner's own surface, seen at the nearest pixel
# centre, can be a little in front of it.
KEYPOINT_DEPTH_TOL_M = 0.01


def pose_cam(camera: Any, facts: Any) -> dict[str, list[float]]:
    position, quaternion = geometry.pose_in_camera(camera.pose_array, facts.position_m,
                                                   facts.quaternion_xyzw)
    return {"position_m": [round(v, 9) for v in position],
            "quaternion_xyzw": [round(v, 9) for v in quaternion]}


def cuboid_keypoints(camera: Any, facts: Any, depth_m: np.ndarray) -> np.ndarray:
    """Keypoints of the object's 3D box (8 corners, centre) as a 9 x 3 array: x, y in pixels
    (pixel centres at integers, as K), flag 2 visible, 1 hidden (the rendered depth at its pixel
    is nearer than the point: something, the object itself included, covers it; always so for
    the centre), 0 outside the image (x, y then 0)."""
    position, quaternion = geometry.pose_in_camera(camera.pose_array, facts.position_m,
                                                   facts.quaternion_xyzw)
    R = geometry.rotation_from_quaternion(quaternion)
    points = geometry.cuboid_points(facts.box_center_local_m, facts.box_size_m) @ R.T + position
    height, width = depth_m.shape
    out = np.zeros((9, 3))
    for index, (x, y, z) in enumerate(points):
        if z <= 0:
            continue
        u, v = (camera.K_array @ np.array([x, y, z]))[:2] / z
        col, row = int(np.floor(u + 0.5)), int(np.floor(v + 0.5))
        if not (0 <= col < width and 0 <= row < height):
            continue
        if index == 8:
            flag = 1
        else:
            # Hidden only when something nearer covers it: at a corner's pixel the render often
            # sees past the silhouette, onto what lies behind.
            flag = 1 if float(depth_m[row, col]) < z - (KEYPOINT_DEPTH_TOL_M + 0.01 * z) else 2
        out[index] = (u, v, flag)
    return out


def moved_keypoints(keypoints: np.ndarray, moved_xy: np.ndarray,
                     shape: tuple[int, int]) -> np.ndarray:
    """Keypoints after augmentation: new positions, flag 0 where they left the image."""
    height, width = shape
    out = keypoints.copy()
    out[:, :, :2] = moved_xy.reshape(keypoints.shape[0], 9, 2)
    x, y = out[:, :, 0], out[:, :, 1]
    lost = ~np.isfinite(x) | ~np.isfinite(y) | (x < -0.5) | (y < -0.5) | (x >= width - 0.5) | (y >= height - 0.5)
    out[lost] = 0.0
    out[keypoints[:, :, 2] == 0] = 0.0
    return out


def occlusion_fields(facts: Occlusion | None, label: InstanceLabel, mask_after: np.ndarray | None,
                     mask_before: np.ndarray | None, augmented: bool) -> dict[str, Any]:
    """visibility, truncation, bbox_amodal of a label (empty when occlusion is off): `facts`
    from the render, `mask_after` / `mask_before` the object's alone mask in the frame after
    and before augmentation.

    Unaugmented: exact, from the object rendered alone. After augmentation: visibility is exact
    (visible pixels over the augmented alone mask); truncation is carried over as
    1 - (1 - t) * (in-frame silhouette after / before), exact for transforms that keep scale
    (flips, rotations, crops, shifts); the amodal box is that of the augmented in-frame
    silhouette, so it is clipped to the image."""
    if facts is None:
        return {}
    if not augmented:
        return {"visibility": facts.visibility, "truncation": facts.truncation,
                "bbox_amodal": list(facts.bbox_amodal_xywh)}
    mask = mask_after
    after, before = int(np.count_nonzero(mask)), int(np.count_nonzero(mask_before))
    if after == 0:
        return {}
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    kept = min(1.0, after / before) if before else 1.0
    return {"visibility": round(min(1.0, label.area / after), 6),
            "truncation": round(min(1.0, max(0.0, 1.0 - (1.0 - facts.truncation) * kept)), 6),
            "bbox_amodal": [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0]) + 1,
                            int(rows[-1] - rows[0]) + 1]}
