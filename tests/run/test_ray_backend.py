"""The Ray backend, on a local Ray instance, gives the same bytes as the local backend."""

from __future__ import annotations
import pytest

import simgen
from tests.conftest import RENDERERS_HERE, SCENES, SMALL, dataset_files

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_ray_backend_gives_the_local_bytes(make_dataset, tmp_path, renderer):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    local = make_dataset(tabletop, images=12, renderer=renderer)
    on_ray = tmp_path / "ray"
    simgen.generate(simgen.load_scenario(tabletop, SMALL), on_ray, images=12, renderer=renderer,
                    backend="ray", workers=2)
    assert dataset_files(on_ray) == dataset_files(local)
    assert len([k for k in dataset_files(local) if k.startswith("images/")]) == 12
