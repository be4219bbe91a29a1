"""Textures given to EGL with rows of a whole number of 4-byte words.

PyBullet's EGL plugin uploads a texture as tightly packed RGB rows without setting OpenGL's
unpack alignment, whose default is 4 bytes (GLInstancingRenderer::registerTexture and
updateTexture, read in pybullet 3.2.x). A texture whose width times 3 is not a multiple of 4 is
then read with each row 1 to 3 bytes further on than it is: drawn sheared, with its colour
channels rotating from row to row, and its last rows read from past the end of the buffer, so
the pixels can differ between two identical runs. Measured: pybullet_data's tray.jpg (853 px
wide) drawn skewed across the tray; a mobile_floor view with trays differed in 1 to 3 pixels
between identical runs, in about half the runs.

So EGL is given such a texture resampled to the nearest width that is a multiple of 4 (a change
of at most 2 columns: texture coordinates are fractions of the width, so where the texture lies
is unchanged). A texture loaded with loadTexture is replaced by its copy (`aligned_texture`); an
OBJ whose material draws one is read from a copy of the OBJ and material naming the copy
(`aligned_mesh`). The copies are written once per world and are the same bytes in every worker.
TinyRenderer samples the file as it is and needs none of this.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from simgen.render.egl_textures import read_mesh, write_mesh_copy

# Bytes in an uploaded RGB row must be a multiple of this (OpenGL's GL_UNPACK_ALIGNMENT default).
GL_UNPACK_ALIGNMENT = 4
# A texture larger than this is given as it is, never read (OBJ and material files: see
# simgen.render.egl_textures.MAX_TWIN_FILE_BYTES).
MAX_FILE_BYTES = 64 * 1024**2


def needs_aligning(width_px: int) -> bool:
    return (width_px * 3) % GL_UNPACK_ALIGNMENT != 0


def aligned_texture(path: str, folder: Path) -> str:
    """`path`, or a copy of it (under `folder`) resampled to a width the plugin reads right."""
    import cv2

    source = Path(path)
    try:
        if not source.is_file() or source.stat().st_size > MAX_FILE_BYTES:
            return path
    except OSError:
        return path
    copy = folder / f"{_key(path)}.png"
    if copy.is_file():
        return str(copy)
    width = _header_width(source)
    if width is not None and not needs_aligning(width):
        return path   # most textures: known from the header, without decoding (ms each)
    # The plugin reads 3 channels with stb_image, which leaves EXIF orientation alone: so does
    # this (OpenCV would turn a JPEG its camera held upright).
    image = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None or not needs_aligning(image.shape[1]):
        return path
    height, width = image.shape[:2]
    # The nearest multiple of 4 (a tie, 2 columns either way, goes up).
    aligned = max(GL_UNPACK_ALIGNMENT, (width + 2) // GL_UNPACK_ALIGNMENT * GL_UNPACK_ALIGNMENT)
    resized = cv2.resize(image, (aligned, height),
                         interpolation=cv2.INTER_AREA if aligned < width else cv2.INTER_LINEAR)
    folder.mkdir(parents=True, exist_ok=True)
    ok, png = cv2.imencode(".png", resized)
    if not ok:   # pragma: no cover - OpenCV encodes any 8-bit image
        return path
    partial = copy.with_suffix(".part")
    partial.write_bytes(png.tobytes())
    partial.replace(copy)
    return str(copy)


def aligned_mesh(obj: Path, folder: Path) -> Path:
    """`obj`, or a copy of it (with its material) whose material draws `aligned_texture`'s copy
    of its texture: when the material names one texture inside the mesh's folder that the
    plugin would read sheared. Anything else is given as it is."""
    mesh = read_mesh(obj)
    if mesh is None or mesh.texture is None:
        return obj
    target = folder / _key(str(obj.resolve()))
    aligned = aligned_texture(mesh.texture, target)
    if aligned == mesh.texture:
        return obj
    copy = target / obj.name
    if not copy.is_file():
        write_mesh_copy(mesh, copy, Path(aligned).name)
    return copy


def _header_width(path: Path) -> int | None:
    """A PNG's or baseline/progressive JPEG's width from its header; None for anything else
    (then the image is decoded)."""
    try:
        with path.open("rb") as f:
            head = f.read(64 * 1024)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big")
    if head[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(head) and head[at] == 0xFF:
        marker = head[at + 1]
        length = int.from_bytes(head[at + 2:at + 4], "big")
        # Start of frame: SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(head[at + 7:at + 9], "big")
        at += 2 + length
    return None


def _key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]
