"""Procedural textures for domain randomization: 256 x 256 RGB PNGs made with NumPy.

Each texture is a pure function of its name: its random numbers come from
`np.random.default_rng([TEXTURE_SEED, crc32(name)])`, so adding a texture never changes another
one's bytes. Only exactly reproducible arithmetic is used (+, *, floor, sqrt; no transcendental
array functions, whose last bits differ between NumPy builds and CPUs), values are rounded to
uint8 once at the end, and PNG encoding (OpenCV, compression level 3) is deterministic: the files
are the same bytes on every build.

Patterns that can tile (noise, stripes, checker, brushed metal, cardboard) are periodic, so a
UV range beyond 0..1 shows no seams; wood is not.

NumPy and OpenCV are imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import numpy as np

TEXTURE_SIZE_PX = 256
TEXTURE_SEED = 20240611
PNG_COMPRESSION = 3

RGB = tuple[float, float, float]

# name -> (pattern, colours). Colour variants are cheap: the same pattern, other colours.
_TEXTURES: dict[str, tuple[str, tuple[RGB, ...]]] = {
    "noise": ("noise", ((0.18, 0.18, 0.18), (0.88, 0.88, 0.88))),
    "noise_green": ("noise", ((0.10, 0.22, 0.08), (0.58, 0.72, 0.32))),
    "noise_blue": ("noise", ((0.05, 0.12, 0.30), (0.55, 0.72, 0.92))),
    "stripes": ("stripes", ((0.92, 0.92, 0.90), (0.80, 0.12, 0.10))),
    "stripes_hazard": ("stripes", ((0.95, 0.78, 0.05), (0.08, 0.08, 0.08))),
    "checker": ("checker", ((0.08, 0.08, 0.08), (0.92, 0.92, 0.92))),
    "checker_blue": ("checker", ((0.10, 0.25, 0.65), (0.92, 0.88, 0.75))),
    "wood": ("wood", ((0.80, 0.62, 0.40), (0.52, 0.33, 0.17))),
    "wood_dark": ("wood", ((0.45, 0.28, 0.15), (0.22, 0.12, 0.06))),
    "metal_brushed": ("metal_brushed", ((0.78, 0.79, 0.81),)),
    "cardboard": ("cardboard", ((0.72, 0.56, 0.37),)),
    "cardboard_white": ("cardboard", ((0.90, 0.88, 0.83),)),
}
TEXTURE_NAMES: tuple[str, ...] = tuple(_TEXTURES)


def _upsample(grid: "np.ndarray", size: int) -> "np.ndarray":
    """Smoothly interpolate a periodic (rows, cols) grid of values to (size, size) pixels."""
    import numpy as np

    def axis(n: int) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
        t = (np.arange(size) + 0.5) * (n / size) - 0.5
        i0 = np.floor(t)
        f = t - i0
        i0 = i0.astype(np.int64) % n
        return i0, (i0 + 1) % n, f * f * (3.0 - 2.0 * f)  # smoothstep: no visible grid lines

    r0, r1, fr = axis(grid.shape[0])
    c0, c1, fc = axis(grid.shape[1])
    rows = grid[:, c0] * (1.0 - fc) + grid[:, c1] * fc
    return rows[r0, :] * (1.0 - fr)[:, None] + rows[r1, :] * fr[:, None]


def _fractal_noise(rng: "np.random.Generator", size: int, cells: tuple[int, int],
                   octaves: int, persistence: float = 0.5) -> "np.ndarray":
    """Tileable fractal value noise, (size, size), stretched to span 0..1.

    `cells` is the (rows, cols) lattice of the first octave; each octave doubles it.
    """
    import numpy as np

    total = np.zeros((size, size))
    amplitude = 1.0
    for octave in range(octaves):
        shape = (cells[0] << octave, cells[1] << octave)
        total += amplitude * _upsample(rng.random(shape), size)
        amplitude *= persistence
    lo, hi = total.min(), total.max()
    return (total - lo) / (hi - lo)


def _mix(colours: tuple[RGB, ...], t: "np.ndarray") -> "np.ndarray":
    """Blend colours[0] (t = 0) to colours[1] (t = 1) per pixel: an (H, W, 3) float image."""
    import numpy as np

    c0, c1 = np.array(colours[0]), np.array(colours[1])
    return c0 + (c1 - c0) * t[..., None]


def _noise(rng: "np.random.Generator", size: int, colours: tuple[RGB, ...]) -> "np.ndarray":
    return _mix(colours, _fractal_noise(rng, size, (4, 4), 5))


def _stripes(rng: "np.random.Generator", size: int, colours: tuple[RGB, ...]) -> "np.ndarray":
    import numpy as np

    # Diagonal stripes, 6 periods across and 6 down so the pattern tiles; edges soft over a
    # couple of pixels (no aliasing when rendered small), with a little noise so the paint is
    # not perfectly flat.
    y, x = np.mgrid[0:size, 0:size] + 0.5
    phase = (x + y) * (6.0 / size)
    d = np.abs(phase - np.floor(phase) - 0.5)  # 0 in a stripe's middle, 0.5 at the other's
    t = np.clip((d - 0.25) * (size / 12.0) + 0.5, 0.0, 1.0)
    grain = _fractal_noise(rng, size, (8, 8), 3)
    return _mix(colours, t) * (0.94 + 0.06 * grain)[..., None]


def _checker(rng: "np.random.Generator", size: int, colours: tuple[RGB, ...]) -> "np.ndarray":
    import numpy as np

    cell = size // 8
    y, x = np.mgrid[0:size, 0:size]
    t = ((x // cell + y // cell) % 2).astype(np.float64)
    grain = _fractal_noise(rng, size, (8, 8), 3)
    return _mix(colours, t) * (0.95 + 0.05 * grain)[..., None]


def _wood(rng: "np.random.Generator", size: int, colours: tuple[RGB, ...]) -> "np.ndarray":
    import numpy as np

    # Growth rings seen on a plank: distance to the trunk's axis, far off to one side and
    # squashed along the grain, wobbled by noise; a fine grain streaks along x.
    y, x = (np.mgrid[0:size, 0:size] + 0.5) / size
    warp = _fractal_noise(rng, size, (2, 3), 4)
    d = np.sqrt(((x + 0.8) * 0.35) ** 2 + (y - 0.45) ** 2) * 30.0 + 1.5 * warp
    ring = d - np.floor(d)
    late = np.clip((ring - 0.55) / 0.45, 0.0, 1.0)  # early wood light, late wood darker
    late = late * late * (3.0 - 2.0 * late)
    grain = _fractal_noise(rng, size, (64, 4), 2)
    return _mix(colours, np.clip(0.75 * late + 0.35 * grain - 0.1, 0.0, 1.0))


def _box_blur_x(a: "np.ndarray", k: int) -> "np.ndarray":
    """Circular moving average of width k along each row (keeps the image tileable)."""
    import numpy as np

    c = np.cumsum(np.concatenate([a[:, -k:], a], axis=1), axis=1)
    return (c[:, k:] - c[:, :-k]) / k


def _metal_brushed(rng: "np.random.Generator", size: int,
                   colours: tuple[RGB, ...]) -> "np.ndarray":
    import numpy as np

    # Brushing: white noise smeared along x, twice, then a faint large-scale sheen.
    streaks = _box_blur_x(_box_blur_x(rng.standard_normal((size, size)), 24), 24)
    streaks = streaks / np.abs(streaks).max()
    sheen = _fractal_noise(rng, size, (2, 2), 3)
    tone = 0.86 + 0.08 * streaks + 0.10 * sheen
    return np.array(colours[0]) * tone[..., None]


def _cardboard(rng: "np.random.Generator", size: int, colours: tuple[RGB, ...]) -> "np.ndarray":
    import numpy as np

    # Kraft paper: blotchy low-frequency tone, short fibres along x, and the faint ridges of the
    # corrugation beneath (16 across, so it tiles).
    blotch = _fractal_noise(rng, size, (4, 4), 4)
    fibres = _box_blur_x(rng.random((size, size)), 6)
    x = (np.arange(size) + 0.5) * (16.0 / size)
    ridge = np.abs(x - np.floor(x) - 0.5) * 2.0  # triangle wave 0..1
    tone = 0.88 + 0.10 * blotch + 0.08 * (fibres - 0.5) + 0.03 * ridge[None, :]
    return np.array(colours[0]) * tone[..., None]


_PATTERNS: dict[str, Callable[..., "np.ndarray"]] = {
    "noise": _noise, "stripes": _stripes, "checker": _checker, "wood": _wood,
    "metal_brushed": _metal_brushed, "cardboard": _cardboard}


def _check_name(name: str) -> None:
    if name not in _TEXTURES:
        raise KeyError(f"unknown texture {name!r}; known textures: {', '.join(TEXTURE_NAMES)}")


def texture_rgb(name: str, size: int = TEXTURE_SIZE_PX) -> "np.ndarray":
    """Texture `name` (one of TEXTURE_NAMES) as a (size, size, 3) uint8 RGB image."""
    import numpy as np

    _check_name(name)
    pattern, colours = _TEXTURES[name]
    rng = np.random.default_rng([TEXTURE_SEED, zlib.crc32(name.encode("ascii"))])
    image = _PATTERNS[pattern](rng, size, colours)
    return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def texture_png(name: str) -> bytes:
    """The PNG file bytes of texture `name` (one of TEXTURE_NAMES), 256 x 256 RGB."""
    import cv2

    ok, buf = cv2.imencode(".png", texture_rgb(name)[:, :, ::-1],  # OpenCV writes BGR
                           [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode texture {name!r} as PNG")
    return buf.tobytes()
