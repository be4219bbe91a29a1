"""An object rendered alone on a canvas larger than the image: what exact occlusion labels need
(visibility, truncation, the amodal box), the same way on every renderer.

Only the window where the body can appear is rendered: its 3D box (padded) projected into the
canvas. A render's cost is mostly per pixel, and an object covers a small part of a canvas four
times the image; the window is the same pixel grid (the principal point moves by whole pixels),
so its pixels are those of the whole canvas. Should the mask touch a window edge that is not
the canvas edge (a visual mesh larger than its collision box), the whole canvas is rendered.

A render call has a fixed cost besides its pixels (measured on the 2-core machine: about 1.7 ms
on EGL, as much as 100,000 window pixels; 0.15 ms on TinyRenderer, which skips the other bodies
outright when they are made transparent), and a view holds several objects. Objects whose
windows do not overlap cannot cover one another's window, so they are rendered alone together:
one call for a group, over the box around their windows, each object's mask read in its own
window (`render_alone_many`). The groups are a greedy colouring of the
windows' overlap graph that joins a window to a group only where the larger box costs less than
a call of its own. An object with a pixel outside its own window (it could cover a neighbour's)
makes its whole group render one object at a time, as before.

"The same pixel grid" holds up to float32 rounding in TinyRenderer's viewport transform: a pixel
centre within rounding of a triangle edge can fall either way in windows of different sizes
(measured: 1 pixel of 1 object in 176 bin_picking objects differed between an object's own
window and its group's box; the box agreed with the whole canvas). EGL: no pixel of 364 objects
differed. Cycles renders one object a call (see CyclesRenderer.render_alone_many).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from simgen import geometry

# How far the window of an object rendered alone reaches beyond its projected collision box
# (PyBullet's box is already a millimetre or so larger than the shapes). The window need only
# hold the visual mesh, and a mask that touches an inner edge of its window is rendered again on
# the whole canvas, so the pad trades pixels and overlapping windows (more calls) against those
# whole-canvas renders. Measured on EGL, 32 views each, no whole-canvas render either way: a
# pad of 10 mm + 5% of the size took 2.69 calls and 14.4 ms a tabletop view, 6.09 calls and 26.2
# ms a bin_picking view; 3 mm takes 2.38 and 11.7 ms, 4.53 and 20.6 ms.
ALONE_PAD_M = 0.003
ALONE_PAD_PX = 2

Window = tuple[int, int, int, int]   # x0, y0, x1, y1 on the canvas
_SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
# render_group(uids, window) -> {uid: bool mask of the window}: those bodies alone, together.
GroupRender = Callable[[list, Window], dict]


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
    if _touches_inner_edge(canvas, window):
        canvas = render_window((0, 0, w, h))
    return canvas


def _touches_inner_edge(canvas: np.ndarray, window: Window) -> bool:
    """Whether the mask in `window` reaches an edge of the window that is not the canvas's
    edge: the body may go on beyond the window (a visual mesh larger than its collision box)."""
    h, w = canvas.shape
    x0, y0, x1, y1 = window
    mask = canvas[y0:y1, x0:x1]
    return bool((x0 > 0 and mask[:, 0].any()) or (y0 > 0 and mask[0].any())
                or (x1 < w and mask[:, -1].any()) or (y1 < h and mask[-1].any()))


def alone_window(world: Any, uid: int, camera: Any, margin_x: int, margin_y: int, w: int,
                 h: int) -> Window | None:
    """(x0, y0, x1, y1) of the canvas where body `uid` can appear, or None when that cannot
    be bounded (part of its box is behind the camera)."""
    box = world.body_box(uid)
    if box is not None:   # the box turned with the body: a window half the size or less
        centre, R, half = box
        half = half + ALONE_PAD_M
        corners = centre + (_SIGNS * half) @ R.T
    else:
        lo, hi = world.body_aabb(uid)
        lo, hi = lo - ALONE_PAD_M, hi + ALONE_PAD_M
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


def _area(window: Window) -> int:
    return (window[2] - window[0]) * (window[3] - window[1])


def _box(windows: list[Window]) -> Window:
    return (min(w[0] for w in windows), min(w[1] for w in windows),
            max(w[2] for w in windows), max(w[3] for w in windows))


def _overlap(a: Window, b: Window) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def plan_groups(windows: dict[int, Window | None], call_px: int) -> list[list[int]]:
    """Bodies that can be rendered alone in one call: no two windows of a group overlap, and a
    window joins the group whose box grows least, if that growth (in pixels) is less than a call
    of its own costs (`call_px`, the fixed cost in pixels, plus the window). Unbounded windows
    (None) and empty ones are rendered by themselves. Deterministic: largest windows first,
    ties by body id."""
    groups: list[tuple[list[int], Window]] = []
    singles: list[list[int]] = []
    order = sorted(windows, key=lambda u: (-_area(windows[u]) if windows[u] else 0, u))
    for uid in order:
        window = windows[uid]
        if window is None or window[2] <= window[0] or window[3] <= window[1]:
            singles.append([uid])
            continue
        best, best_growth = None, call_px + _area(window)
        for g, (members, box) in enumerate(groups):
            if any(_overlap(window, windows[m]) for m in members):
                continue
            growth = _area(_box([box, window])) - _area(box)
            if growth < best_growth:
                best, best_growth = g, growth
        if best is None:
            groups.append(([uid], window))
        else:
            members, box = groups[best]
            groups[best] = (members + [uid], _box([box, window]))
    return [members for members, _ in groups] + singles


def render_alone_many(world: Any, uids: list[int], camera: Any, margin_x: int, margin_y: int,
                      render_group: GroupRender, call_px: int) -> dict[int, np.ndarray]:
    """{uid: render_alone's canvas mask} for every body in `uids`, in as few render calls as
    `plan_groups` finds (see the module's note)."""
    w, h = camera.width + 2 * margin_x, camera.height + 2 * margin_y
    windows = {uid: alone_window(world, uid, camera, margin_x, margin_y, w, h) for uid in uids}
    out: dict[int, np.ndarray] = {}
    for group in plan_groups(windows, call_px):
        if len(group) > 1:
            box = _box([windows[u] for u in group])
            masks = render_group(group, box)
            canvases: dict[int, np.ndarray] | None = {}
            for uid in group:
                canvas = np.zeros((h, w), dtype=bool)
                canvas[box[1]:box[3], box[0]:box[2]] = masks[uid]
                x0, y0, x1, y1 = windows[uid]
                inside = canvas[y0:y1, x0:x1]
                if (_touches_inner_edge(canvas, windows[uid])
                        or inside.sum() != masks[uid].sum()):   # a pixel outside its window
                    canvases = None
                    break
                canvases[uid] = canvas
            if canvases is not None:
                out.update(canvases)
                continue
        for uid in group:   # one call per body: as render_alone always did
            out[uid] = render_alone(world, uid, camera, margin_x, margin_y,
                                    lambda window, uid=uid: render_group([uid], window)[uid])
    return out
