"""An object rendered alone on a canvas larger than the image: what exact occlusion labels need
(visibility, truncation, the amodal box), the same way on every renderer.

Only the window where the body can appear is rendered: its 3D box (padded) projected into the
canvas. A render's cost is mostly per pixel, and an object covers a small part of a canvas four
times the image; the window is the same pixel grid (the principal point moves by whole pixels),
so its pixels are those of the whole canvas. Should the mask touch a window edge that is not
the canvas edge (a visual mesh larger than its collision box), the whole canvas is rendered.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from simgen import geometry

# How far the window of an object rendered alone reaches beyond its projected collision box.
ALONE_PAD_M = 0.01
ALONE_PAD_PX = 2

Window = tuple[int, int, int, int]   # x0, y0, x1, y1 on the canvas


def render_alone(world: Any, uid: int, camera: Any, margin_x: int, margin_y: int,
                 render_window: Callable[[Window], np.ndarray]) -> np.ndarray:
    """Mask of body `uid` seen alone by `camera`, on a canvas enlarged by the margins on every
    side (so the part of it outside the frame shows too). Bool, (H + 2my) x (W + 2mx).
    `render_window(window)` renders the body alone in that window of the canvas: a bool mask
    of the window's size."""
    w, h = camera.width + 2 * margin_x, camera.height + 2 * margin_y
    canvas = np.zeros((h, w), dtype=bool)
    window = alone_window(world, uid, camera, margin_x, margin_y, w, h) or (0, 0, w, h)
    x0, y0, x1, y1 = window
    if x1 <= x0 or y1 <= y0:
        return canvas  # entirely off the canvas
    canvas[y0:y1, x0:x1] = render_window(window)
    mask = canvas[y0:y1, x0:x1]
    touches = ((x0 > 0 and mask[:, 0].any()) or (y0 > 0 and mask[0].any())
               or (x1 < w and mask[:, -1].any()) or (y1 < h and mask[-1].any()))
    if touches:
        canvas = render_window((0, 0, w, h))
    return canvas


def alone_window(world: Any, uid: int, camera: Any, margin_x: int, margin_y: int, w: int,
                 h: int) -> Window | None:
    """(x0, y0, x1, y1) of the canvas where body `uid` can appear, or None when that cannot
    be bounded (part of its box is behind the camera)."""
    lo, hi = world.body_aabb(uid)
    pad = 0.05 * (hi - lo) + ALONE_PAD_M
    lo, hi = lo - pad, hi + pad
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                        for z in (lo[2], hi[2])])
    R, t = camera.pose_array[:3, :3], camera.pose_array[:3, 3]
    depth = ((corners - t) @ R)[:, 2]
    if np.any(depth <= camera.near_m):
        return None
    uv = geometry.project_points(camera.K_array, camera.pose_array, corners)
    uv += (margin_x, margin_y)
    x0 = max(0, int(np.floor(uv[:, 0].min())) - ALONE_PAD_PX)
    y0 = max(0, int(np.floor(uv[:, 1].min())) - ALONE_PAD_PX)
    x1 = min(w, int(np.ceil(uv[:, 0].max())) + 1 + ALONE_PAD_PX)
    y1 = min(h, int(np.ceil(uv[:, 1].max())) + 1 + ALONE_PAD_PX)
    return x0, y0, x1, y1
