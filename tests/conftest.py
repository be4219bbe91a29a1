"""Shared fixtures: small datasets generated once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

import simgen

REPO = Path(__file__).resolve().parent.parent
SCENES = sorted((REPO / "scenes").glob("*.yaml"))
SMALL = ["image.width=160", "image.height=120"]


def _renderers_here() -> list[str]:
    """tiny, and egl where it starts: every promise is tested on each renderer the machine has."""
    from simgen.render import RendererUnavailable, start_renderer
    from simgen.sim import World

    with World() as world:
        try:
            return ["tiny", start_renderer(world, "egl").name]
        except RendererUnavailable:
            return ["tiny"]


RENDERERS_HERE = _renderers_here()


def scenes_for(renderer: str) -> list[Path]:
    """The shipped scenarios `renderer` renders exactly (EGL refuses some light settings)."""
    from simgen.render.capabilities import egl_refusal

    if renderer != "egl":
        return SCENES
    return [s for s in SCENES if egl_refusal(simgen.load_scenario(s, SMALL)) is None]


@pytest.fixture(scope="session")
def make_dataset(tmp_path_factory):
    """generate(...) into a fresh folder, cached by arguments for the whole session."""
    cache: dict[tuple, Path] = {}

    def make(scene: Path | str, images: int = 4, seed: int = 0, overrides: tuple = tuple(SMALL),
             renderer: str = "tiny", image_ids=None, image_format: str = "png",
             workers: int = 1) -> Path:
        key = (str(scene), images, seed, overrides, renderer, image_ids, image_format, workers)
        if key not in cache:
            out = tmp_path_factory.mktemp("dataset")
            scenario = simgen.load_scenario(scene, list(overrides))
            simgen.generate(scenario, out, images=images, seed=seed, renderer=renderer,
                            image_ids=image_ids, image_format=image_format, overwrite=True,
                            workers=workers)
            cache[key] = out
        return cache[key]

    return make
