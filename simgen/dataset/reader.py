"""Reading a simgen dataset back: its manifest and its images' COCO entries, by id.

Every read of a dataset's JSON goes through `read_json`: a regular file (not a link, not a
device), its size checked before it is read. Every path a dataset names (an image's
file_name, a side file) is resolved with `inside`, which refuses what would lead out of the
dataset folder (absolute paths, `..`, links pointing elsewhere). Foreign COCO datasets are read
by simgen.dataset.coco_source, with the same two helpers.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from simgen.dataset.layout import MANIFEST, coco_files, image_path, split_of
from simgen.errors import SimgenError

# The largest JSON file read (COCO files of large datasets run to hundreds of MB).
MAX_JSON_BYTES = 2 * 1024**3
# The largest image (or RLE mask) decoded from a dataset simgen is handed, checked from its
# header or declared size before decoding: a 30000 x 30000 PNG took ~3 GB.
MAX_DECODE_PIXELS = 100_000_000


def read_json(path: Path, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The parsed JSON of `path`; SimgenError naming `path` and `what` it should be when it is
    not a regular file, is larger than `max_bytes`, or does not parse."""
    try:
        info = os.lstat(path)
    except OSError as err:
        raise SimgenError(f"{path}: cannot read {what}: {err.strerror or err}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SimgenError(f"{path}: cannot read {what}: not a regular file")
    if info.st_size > max_bytes:
        raise SimgenError(f"{path}: cannot read {what}: {info.st_size} bytes, more than the "
                          f"{max_bytes} allowed")
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError) as err:
        raise SimgenError(f"{path}: cannot read {what}: {err}") from None


def inside(root: Path, rel: str, what: str) -> Path:
    """root / rel, when that stays inside `root` with every link followed; SimgenError
    otherwise."""
    pure = PurePosixPath(str(rel))
    if not str(rel) or pure.is_absolute() or ".." in pure.parts or "\\" in str(rel):
        raise SimgenError(f"{root}: {what} {rel!r} is not a relative path inside the dataset")
    path = Path(root) / pure
    try:
        resolved, base = path.resolve(), Path(root).resolve()
    except (OSError, RuntimeError) as err:
        raise SimgenError(f"{path}: cannot resolve {what}: {err}") from None
    if resolved != base and base not in resolved.parents:
        raise SimgenError(f"{path}: {what} leads out of the dataset (to {resolved})")
    return path


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The dataset's manifest; SimgenError when `out` is not a finished simgen dataset."""
    out = Path(out)
    if not out.is_dir():
        raise SimgenError(f"{out}: not a dataset folder (no such folder)")
    path = out / MANIFEST
    if not path.exists() and not path.is_symlink():
        raise SimgenError(f"{out}: not a simgen dataset (no {MANIFEST}; an unfinished run has "
                          "none)")
    manifest = read_json(path, "the manifest")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise SimgenError(f"{path}: not a simgen manifest (no 'files' mapping)")
    return manifest


@dataclass(frozen=True)
class StoredImage:
    """One image as the dataset holds it: its split, COCO entry and annotations (file order)."""

    split: str
    image: dict[str, Any]
    annotations: list[dict[str, Any]]

    @property
    def file(self) -> str:
        """The image file, relative to OUT."""
        return image_path(self.split, str(self.image.get("file_name")))


def read_stored(out: str | Path) -> dict[int, StoredImage]:
    """Every image of the dataset's COCO files by id; SimgenError when a file cannot be read."""
    stored: dict[int, StoredImage] = {}
    for path in coco_files(Path(out)):
        data = read_json(path, "COCO file")
        try:
            images, annotations = data["images"], data["annotations"]
            by_image: dict[Any, list[dict[str, Any]]] = {}
            for ann in annotations:
                by_image.setdefault(ann["image_id"], []).append(ann)
            split = split_of(path)
            for image in images:
                stored.setdefault(image["id"], StoredImage(split, image,
                                                           by_image.get(image["id"], [])))
        except (ValueError, KeyError, TypeError) as err:
            raise SimgenError(f"{path}: cannot read COCO file: {err!r}") from None
    return stored
