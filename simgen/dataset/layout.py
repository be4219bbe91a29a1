"""The dataset on disk, in one place: where every file of a simgen dataset (or mix) lives, how
it is named, and the format ids its manifest carries. Every writer and reader takes its paths
from here.

    images/<split>/000000001.png          image_id (global image index + 1), 9 digits
    depth/<split>/000000001.png           uint16 depth in mm, when the scenario asks for it
    instance_maps/<split>/000000001.png   instance maps, when the scenario asks for it
    annotations/instances_<split>.json    COCO
    manifest.json                         provenance + sha256 and size of every file
    .simgen/run.json                      the run's settings (resume checks them)
    .simgen/scenes/000000.json            one committed record per scene (finalize reads them)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

MANIFEST = "manifest.json"
STATE_DIR = ".simgen"
SCENES_DIR = f"{STATE_DIR}/scenes"
RUN_STATE = f"{STATE_DIR}/run.json"
ANNOTATIONS_DIR = "annotations"
SPLITS = ("train", "val", "test")
DEPTH_DIR = "depth"
# Not "instances": Datumaro takes a folder of that name for the MOTS format.
INSTANCE_MAP_DIR = "instance_maps"
# Top-level folders of per-image files.
IMAGE_DIRS = ("images", DEPTH_DIR, INSTANCE_MAP_DIR)
# COCO image keys naming a per-image side file (depth, instance map), relative to the root.
SIDE_FILES = ("depth_file", "instance_map_file")

DATASET_FORMAT = "simgen-dataset/1"    # manifest format `simgen generate` writes
DATASET_FORMAT_PREFIX = "simgen-dataset/"
MIX_FORMAT = "simgen-mix/1"            # manifest format `simgen mix` writes
MIX_FORMAT_PREFIX = "simgen-mix/"

_COCO_PREFIX = "instances_"


def image_file_name(image_id: int, suffix: str) -> str:
    """'000000007.png' for image 7: the id, 9 digits; `suffix` with or without its dot."""
    return f"{image_id:09d}.{suffix.lstrip('.')}"


def image_path(split: str, file_name: str) -> str:
    """Path of an image relative to the dataset root."""
    return f"images/{split}/{file_name}"


def side_file_path(folder: str, split: str, file_name: str) -> str:
    """Path of a side file (DEPTH_DIR or INSTANCE_MAP_DIR) relative to the dataset root."""
    return f"{folder}/{split}/{file_name}"


def coco_path(split: str) -> str:
    """Path of a split's COCO file relative to the dataset root."""
    return f"{ANNOTATIONS_DIR}/{_COCO_PREFIX}{split}.json"


def coco_files(root: Path) -> list[Path]:
    """The dataset's COCO files, sorted by name."""
    return sorted((Path(root) / ANNOTATIONS_DIR).glob(f"{_COCO_PREFIX}*.json"))


def is_coco_file_name(name: str) -> bool:
    return name.startswith(_COCO_PREFIX) and name.endswith(".json")


def split_of(coco_file: Path | str) -> str:
    """The split a COCO file holds: its stem without `instances_` ('val2017' for
    instances_val2017.json)."""
    return PurePosixPath(str(coco_file)).stem.removeprefix(_COCO_PREFIX)


def scenario_sha256(resolved: Mapping[str, Any]) -> str:
    """The scenario hash rule: sha256 of the resolved scenario (every default filled in) as
    compact JSON with sorted keys. Manifests record it; verify and regen recompute it."""
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
