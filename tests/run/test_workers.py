"""Worker processes change nothing but speed: the same bytes for any worker count."""

from __future__ import annotations


import pytest

import simgen
from tests.conftest import SCENES, SMALL, dataset_files


def test_one_and_two_workers_give_identical_bytes(make_dataset, tmp_path):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    inline = make_dataset(tabletop, images=12)
    pooled = tmp_path / "pooled"
    simgen.generate(simgen.load_scenario(tabletop, SMALL), pooled, images=12, renderer="tiny",
                    workers=2)
    assert dataset_files(pooled) == dataset_files(inline)
    assert len([k for k in dataset_files(inline) if k.startswith("images/")]) == 12


def test_a_scene_failing_in_a_worker_is_reported_with_its_group(tmp_path):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    scenario = simgen.load_scenario(tabletop, SMALL + [
        "objects[0].count=40", "objects[0].spawn={box: {min: [0, 0, 0.7], max: [0.05, 0.05, 0.72]}}",
        "placement.max_tries=3"])
    with pytest.raises(simgen.SimgenError) as err:
        simgen.generate(scenario, tmp_path / "out", images=4, renderer="tiny", workers=2)
    assert "scene 0" in str(err.value) and "objects[0]" in str(err.value)
    assert not (tmp_path / "out").exists()
