"""Physics: the only place besides `simgen.render` that imports PyBullet."""

from simgen.sim.world import BodyFacts, PlacementError, SettledScene, World

__all__ = ["BodyFacts", "PlacementError", "SettledScene", "World"]
