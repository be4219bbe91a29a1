"""A scene's output depends on (scenario, seed, scene index) alone, not on a worker's history."""

from __future__ import annotations

import pytest

import simgen
from simgen.scene import run_scene
from simgen.render import start_renderer
from simgen.sim import World
from tests.conftest import RENDERERS_HERE, SMALL, scenes_for

pytestmark = pytest.mark.slow

CASES = [(renderer, scene) for renderer in RENDERERS_HERE for scene in scenes_for(renderer)]


@pytest.mark.parametrize("renderer,scene", CASES, ids=[f"{r}-{s.stem}" for r, s in CASES])
def test_scene_is_the_same_in_a_fresh_world_and_after_other_scenes(renderer, scene):
    # On EGL a fresh world's first scene is the one its first frames render: it came out
    # unlike the same scene rendered later, until the renderer warmed up before any scene.
    scenario = simgen.load_scenario(scene, SMALL)
    views = list(range(scenario.spec.views_per_scene))
    with World() as fresh:
        alone = run_scene(scenario, 7, 3, fresh, start_renderer(fresh, renderer, scenario), views)
    with World() as used:
        renderer = start_renderer(used, renderer, scenario)
        for other in (0, 1, 2):
            run_scene(scenario, 7, other, used, renderer, views)
        after = run_scene(scenario, 7, 3, used, renderer, views)
    assert alone.files == after.files
    assert alone.record == after.record
    assert any(item["annotations"] for item in alone.record["images"])
