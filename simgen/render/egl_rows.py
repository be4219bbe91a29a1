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

# Bytes in an uploaded RGB row must be a multiple of this (OpenGL's GL_UNPACK_ALIGNMENT default).
GL_UNPACK_ALIGNMENT = 4
# A texture, OBJ or material file larger than this is given as it is, never read.
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
    # The plugin reads 3 channels (stb_image): so does this.
    image = cv2.imread(path, cv2.IMREAD_COLOR)
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
    text = _read_text(obj)
    if text is None:
        return obj
    libs = [line.split(None, 1)[1].strip() for line in text.splitlines()
            if line.startswith("mtllib") and len(line.split(None, 1)) == 2]
    if len(set(libs)) != 1:
        return obj
    home = obj.parent.resolve()
    mtl = (obj.parent / libs[0]).resolve()
    mtl_text = _read_text(mtl) if mtl.is_relative_to(home) else None
    if mtl_text is None:
        return obj
    names = {line.split()[-1] for line in mtl_text.splitlines()
             if line.strip().startswith("map_Kd") and len(line.split()) >= 2}
    if len(names) != 1:
        return obj
    texture = (obj.parent / names.pop()).resolve()
    if not texture.is_relative_to(home):
        return obj
    target = folder / _key(str(obj.resolve()))
    aligned = aligned_texture(str(texture), target)
    if aligned == str(texture):
        return obj
    copy = target / obj.name
    if not copy.is_file():
        mtl_copy = copy.with_suffix(".mtl")
        mtl_copy.write_text("".join(
            f"map_Kd {Path(aligned).name}\n" if line.strip().startswith("map_Kd") else line
            for line in mtl_text.splitlines(keepends=True)),
            encoding="utf-8", errors="surrogateescape")
        copy.write_text("".join(f"mtllib {mtl_copy.name}\n" if line.startswith("mtllib")
                                else line for line in text.splitlines(keepends=True)),
                        encoding="utf-8", errors="surrogateescape")
    return copy


def _key(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _read_text(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
