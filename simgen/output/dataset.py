"""The dataset on disk: atomic per-scene commits, then COCO files and a manifest.

Layout (see DESIGN.md):
    images/<split>/000000001.png      image_id = global image index + 1
    annotations/instances_<split>.json
    manifest.json                     provenance + sha256 and size of every file
    .simgen/scenes/000000.json        one committed record per scene (what finalize reads)

A scene's images are written first, each through a temporary file and a rename; its record is
written last, the same way, so a record on disk always means the whole scene is there. The
manifest is written last of all: a folder without one is an unfinished run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator

from simgen.errors import SimgenError

STATE_DIR = ".simgen"
SCENES_DIR = f"{STATE_DIR}/scenes"
SPLITS = ("train", "val", "test")


def image_file_name(image_id: int, image_format: str) -> str:
    return f"{image_id:09d}.{image_format}"


def check_output(out: Path, overwrite: bool) -> None:
    """Raise SimgenError unless OUT may be written; touches nothing.

    A non-empty folder that is not a simgen dataset is never emptied, --overwrite or not.
    """
    if out.exists() and not out.is_dir():
        raise SimgenError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SimgenError(f"{out}: output folder is not empty (use --overwrite to replace "
                              "a simgen dataset there)")
        if not ((out / "manifest.json").is_file() or (out / STATE_DIR).is_dir()):
            raise SimgenError(f"{out}: not a simgen dataset, so --overwrite will not empty it; "
                              "choose an empty or new folder")


def prepare_output(out: Path, overwrite: bool) -> None:
    """Check OUT (see check_output), empty an old dataset there if overwriting, create it."""
    check_output(out, overwrite)
    if out.is_dir() and overwrite:
        for child in out.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


RUN_STATE = f"{STATE_DIR}/run.json"


def write_run_state(out: Path, state: dict[str, Any]) -> None:
    """What a run was started with: a resume must match it to give the same bytes."""
    write_atomic(out / RUN_STATE, json.dumps(state, indent=1, sort_keys=True).encode(), durable=True)


def read_run_state(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / RUN_STATE).read_bytes())
    except FileNotFoundError:
        return None


def committed_scenes(out: Path) -> set[int]:
    return {int(p.stem) for p in (out / SCENES_DIR).glob("*.json")} if (out / SCENES_DIR).is_dir() else set()


def remove_partial_files(out: Path) -> None:
    """Temporary files a killed run left behind (`.name.tmp-PID`): never part of a dataset."""
    for folder in ("images", "depth", "instances", STATE_DIR):
        if (out / folder).is_dir():
            for path in (out / folder).rglob(".*.tmp-*"):
                path.unlink()


def write_atomic(path: Path, data: bytes, durable: bool = False) -> None:
    """Write via a temporary file in the same folder and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def dumps(data: Any) -> bytes:
    """The one JSON encoding of the project: stable key order as built, compact, UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def commit_scene(out: Path, scene_index: int, files: Iterable[tuple[str, bytes]],
                 record: dict[str, Any]) -> None:
    """Commit one scene: its files (relative path, bytes), then its record."""
    for rel, data in files:
        write_atomic(out / rel, data)
    write_atomic(out / SCENES_DIR / f"{scene_index:06d}.json", dumps(record), durable=True)


def read_scene_records(out: Path) -> Iterator[dict[str, Any]]:
    """Committed scene records in scene order."""
    folder = out / SCENES_DIR
    for path in sorted(folder.glob("*.json"), key=lambda p: int(p.stem)):
        record = json.loads(path.read_bytes())
        if "failed" not in record:
            yield record


def read_failed_scenes(out: Path) -> list[dict[str, Any]]:
    """Scenes recorded as failed (with --skip-failed), in scene order."""
    folder = out / SCENES_DIR
    records = (json.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"), key=lambda p: int(p.stem)))
    return [r["failed"] for r in records if "failed" in r]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finalize(out: Path, categories: list[str], splits: Iterable[str], info: dict[str, Any],
             manifest: dict[str, Any], failed: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """Merge the scene records into one COCO file per split, then write the manifest.

    Annotation ids are assigned here, 1..N per file in image-id order. Returns the counts.
    """
    from simgen.geometry import CUBOID_KEYPOINT_NAMES, CUBOID_SKELETON

    coco_categories = [{"id": i, "name": name, "supercategory": "object",
                        "keypoints": CUBOID_KEYPOINT_NAMES, "skeleton": CUBOID_SKELETON}
                       for i, name in enumerate(categories, start=1)]
    per_split: dict[str, dict[str, list]] = {s: {"images": [], "annotations": []} for s in splits}
    for record in read_scene_records(out):
        for item in record["images"]:
            bucket = per_split.setdefault(item["image"]["provenance"]["split"],
                                          {"images": [], "annotations": []})
            bucket["images"].append(item["image"])
            for ann in item["annotations"]:
                bucket["annotations"].append(ann)
    counts: dict[str, Any] = {"images": {}, "annotations": {}}
    written = []
    for split, bucket in per_split.items():
        images = sorted(bucket["images"], key=lambda im: im["id"])
        annotations = sorted(bucket["annotations"], key=lambda a: a["image_id"])  # stable
        annotations = [{"id": i, **a} for i, a in enumerate(annotations, start=1)]
        coco = {"info": info, "licenses": [], "images": images, "annotations": annotations,
                "categories": coco_categories}
        rel = f"annotations/instances_{split}.json"
        write_atomic(out / rel, dumps(coco))
        written.append(rel)
        counts["images"][split] = len(images)
        counts["annotations"][split] = len(annotations)
    files = {}
    for rel in sorted(_dataset_files(out)):
        path = out / rel
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    manifest = {**manifest, "counts": counts, "failed_scenes": list(failed), "files": files}
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=1).encode() + b"\n", durable=True)
    return counts


def _dataset_files(out: Path) -> Iterator[str]:
    for folder in ("images", "depth", "instances", "annotations"):
        root = out / folder
        if root.is_dir():
            for path in root.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    yield path.relative_to(out).as_posix()
