"""Helpers for the render tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import simgen
from simgen.render import start_renderer
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World


def first_view(path: Path, renderer: str,
               before_settle: Callable[[World], None] | None = None) -> Any:
    """The Frame of scene 0's first view (seed 0) of the scenario at `path` on `renderer`;
    `before_settle(world)` runs once the renderer has started."""
    scenario = simgen.load_scenario(path)
    drawn = sample(scenario, scene_streams(0, 0).sampling, seed=0, scene_index=0)
    with World() as world:
        render = start_renderer(world, renderer, scenario)
        if before_settle is not None:
            before_settle(world)
        settled = world.settle(drawn, scenario.spec.settle)
        return render.render(settled, drawn.views[0], drawn.light)
