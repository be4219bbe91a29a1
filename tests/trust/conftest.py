"""Edits to a copy of a dataset, the way a damaged or tampered dataset would look."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from simgen.dataset.writer import dumps

TRAIN = "annotations/instances_train.json"
# An override that puts every scene in train: tests that edit "the" COCO file use it.
ALL_TRAIN = "splits={train: 1, val: 0, test: 0}"


def copy_dataset(source: Path, target: Path, run_state: bool = True) -> Path:
    """A private copy: the session's datasets are shared by every test. Without `run_state`
    the copy has no `.simgen/` (as a dataset shipped on its own): its scene records, a second
    copy of the labels and hashes, then cannot expose an edit, so a test sees the one check it
    is about."""
    shutil.copytree(source, target,
                    ignore=None if run_state else shutil.ignore_patterns(".simgen"))
    return target


def rehash(out: Path, rel: str) -> None:
    """Record the file's present sha256 and size in manifest.json: hides an edit from the
    sha256 check, so only the other checks can find it."""
    manifest = json.loads((out / "manifest.json").read_bytes())
    data = (out / rel).read_bytes()
    manifest["files"][rel] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (out / "manifest.json").write_bytes(json.dumps(manifest, indent=1).encode() + b"\n")


def edit_coco(out: Path, edit: Callable[[dict[str, Any]], None], rel: str = TRAIN,
              hide: bool = True) -> None:
    """Edit a COCO file as JSON, written back the way finalize writes it; `hide` rehashes it."""
    data = json.loads((out / rel).read_bytes())
    edit(data)
    (out / rel).write_bytes(dumps(data))
    if hide:
        rehash(out, rel)


def flip_byte(path: Path, at: int | None = None) -> int:
    """Change one byte (the middle one by default); returns its offset."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    return at


def repaint_pixel(path: Path) -> None:
    """Change one pixel and re-encode: still a valid, tagged PNG, only the picture differs."""
    import cv2
    import numpy as np

    from simgen.dataset.images import encode_image, read_text_tag

    raw = path.read_bytes()
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR),
                       cv2.COLOR_BGR2RGB)
    rgb[10, 10] = 255 - rgb[10, 10]
    path.write_bytes(encode_image(rgb, "png", read_text_tag(raw)))
