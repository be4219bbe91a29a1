"""Physics: the only place besides `simgen.render` that imports PyBullet."""

from simgen.sim.world import BodyState, SettledScene, World

__all__ = ["BodyState", "SettledScene", "World"]
