"""simgen: synthetic, auto-labeled COCO datasets for robot vision, made with PyBullet.

Importing simgen is light: PyBullet, OpenCV and pycocotools load only when a run needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "generate", "load_scenario", "SimgenError", "ScenarioError"]

from simgen.errors import ScenarioError, SimgenError

if TYPE_CHECKING:
    from simgen.scenario import Scenario


def load_scenario(path: Any, overrides: Any = (), asset_roots: Any = ()) -> "Scenario":
    """Load and validate a scenario file (see `simgen.scenario.load`)."""
    from simgen.scenario import load

    return load(path, overrides, asset_roots)


def generate(*args: Any, **kwargs: Any) -> Any:
    """Generate a dataset (see `simgen.run.generate.generate`)."""
    from simgen.run.generate import generate as _generate

    return _generate(*args, **kwargs)
