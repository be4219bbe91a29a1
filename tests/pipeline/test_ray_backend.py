"""The Ray backend, on a local Ray instance, gives the same bytes as the local backend."""

from __future__ import annotations

from pathlib import Path

import simgen
from tests.conftest import SCENES, SMALL


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file()}


def test_ray_backend_gives_the_local_bytes(make_dataset, tmp_path):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    local = make_dataset(tabletop, images=12)
    on_ray = tmp_path / "ray"
    simgen.generate(simgen.load_scenario(tabletop, SMALL), on_ray, images=12, renderer="tiny",
                    backend="ray", workers=2)
    assert _files(on_ray) == _files(local)
    assert len([k for k in _files(local) if k.startswith("images/")]) == 12
