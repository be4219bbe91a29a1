"""Shared fixtures: small datasets generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import simgen

REPO = Path(__file__).resolve().parent.parent
SCENES = sorted((REPO / "scenes").glob("*.yaml"))
SMALL = ["image.width=160", "image.height=120"]


@pytest.fixture(scope="session")
def make_dataset(tmp_path_factory):
    """generate(...) into a fresh folder, cached by arguments for the whole session."""
    cache: dict[tuple, Path] = {}

    def make(scene: Path | str, images: int = 4, seed: int = 0, overrides: tuple = tuple(SMALL),
             renderer: str = "tiny", image_ids=None, image_format: str = "png") -> Path:
        key = (str(scene), images, seed, overrides, renderer, image_ids, image_format)
        if key not in cache:
            out = tmp_path_factory.mktemp("dataset")
            scenario = simgen.load_scenario(scene, list(overrides))
            simgen.generate(scenario, out, images=images, seed=seed, renderer=renderer,
                            image_ids=image_ids, image_format=image_format, overwrite=True)
            cache[key] = out
        return cache[key]

    return make
