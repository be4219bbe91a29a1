"""Every scenario in scenes/ runs end to end and gives a valid COCO dataset; reruns are exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RENDERERS_HERE, SCENES, SMALL, check_dataset, dataset_files


@pytest.mark.parametrize("scene", SCENES, ids=lambda p: p.stem)
def test_every_scenario_generates_a_valid_coco_dataset(make_dataset, scene):
    out = make_dataset(scene, images=4)
    loaded = check_dataset(out)
    assert sum(len(c.anns) for c in loaded.values()) > 0, "a small run of a real scenario labels something"


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_same_seed_gives_identical_bytes_across_processes_and_hash_seeds(make_dataset, tmp_path,
                                                                         renderer):
    """The same run in this process and in two others whose str hashes differ
    (PYTHONHASHSEED): any set or dict ordering that leaked into the bytes would show here."""
    first = make_dataset(SCENES[0], images=4, seed=0, renderer=renderer)
    for hash_seed in ("1", "2"):
        again = tmp_path / f"hash{hash_seed}"
        proc = subprocess.run(
            [sys.executable, "-m", "simgen", "generate", str(SCENES[0]), "-o", str(again),
             "-n", "4", "--seed", "0", "--renderer", renderer, "-q",
             *[arg for item in SMALL for arg in ("--set", item)]],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert proc.returncode == 0, proc.stderr
        assert dataset_files(again) == dataset_files(first)


def test_seed_zero_is_a_seed_and_other_seeds_differ(make_dataset):
    zero, one = make_dataset(SCENES[0], seed=0), make_dataset(SCENES[0], seed=1)
    assert json.loads((zero / "manifest.json").read_text())["seed"] == 0

    def first_image(out: Path) -> bytes:
        return next(out.glob("images/*/000000001.png")).read_bytes()

    assert first_image(zero) != first_image(one)


def test_one_image_alone_equals_the_same_image_of_a_full_run(make_dataset):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    full = make_dataset(tabletop, images=8)
    alone = make_dataset(tabletop, images=8, image_ids=(6, 6))
    alone_files = dataset_files(alone)
    images = [k for k in alone_files if k.startswith("images/")]
    assert len(images) == 1 and images[0].endswith("000000006.png")
    assert alone_files[images[0]] == dataset_files(full)[images[0]]
    split = images[0].split("/")[1]

    def entries(out: Path):
        data = json.loads((out / f"annotations/instances_{split}.json").read_text())
        image = next(im for im in data["images"] if im["id"] == 6)
        anns = [{k: v for k, v in a.items() if k != "id"}
                for a in data["annotations"] if a["image_id"] == 6]
        return image, anns

    assert entries(alone) == entries(full)
    assert entries(full)[1], "image 6 of this run has objects to compare"


def test_views_of_a_scene_share_a_split_and_splits_follow_fractions(make_dataset):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    out = make_dataset(tabletop, images=40,
                       overrides=tuple(SMALL) + ("views_per_scene=2", "splits={train: 0.5, val: 0.5}",
                                                 "settle.max_steps=0"))
    by_scene: dict[int, set] = {}
    for split in ("train", "val"):
        data = json.loads((out / f"annotations/instances_{split}.json").read_text())
        for im in data["images"]:
            by_scene.setdefault(im["provenance"]["scene_index"], set()).add(split)
            assert (im["id"] - 1) // 2 == im["provenance"]["scene_index"]
    assert len(by_scene) == 20
    assert all(len(splits) == 1 for splits in by_scene.values())
    assert {next(iter(s)) for s in by_scene.values()} == {"train", "val"}
