"""A scene's output depends on (scenario, seed, scene index) alone, not on a worker's history."""

from __future__ import annotations

import pytest

import simgen
from simgen.pipeline import run_scene
from simgen.render import start_renderer
from simgen.sim import World
from tests.conftest import SCENES, SMALL


@pytest.mark.parametrize("scene", SCENES, ids=lambda p: p.stem)
def test_scene_is_the_same_in_a_fresh_world_and_after_other_scenes(scene):
    scenario = simgen.load_scenario(scene, SMALL)
    views = list(range(scenario.spec.views_per_scene))
    with World() as fresh:
        alone = run_scene(scenario, 7, 3, fresh, start_renderer(fresh, "tiny"), views)
    with World() as used:
        renderer = start_renderer(used, "tiny")
        for other in (0, 1, 2):
            run_scene(scenario, 7, other, used, renderer, views)
        after = run_scene(scenario, 7, 3, used, renderer, views)
    assert alone.files == after.files
    assert alone.record == after.record
    assert any(item["annotations"] for item in alone.record["images"])
