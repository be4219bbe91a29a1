"""What this machine offers simgen: versions, renderers that start, cores."""

from __future__ import annotations

import os
from typing import Any

from simgen import __version__
from simgen.provenance import package_versions


def machine_info() -> dict[str, Any]:
    from simgen.render import RendererUnavailable, start_renderer
    from simgen.sim import World

    renderers = {}
    for name in ("tiny", "egl", "cycles"):
        with World() as world:  # a fresh world each: the EGL plugin takes a client over
            try:
                renderers[name] = start_renderer(world, name).name == name
            except RendererUnavailable as err:
                renderers[name] = f"unavailable: {err}"
    with World() as world:
        numpy_enabled = bool(world.p.isNumpyEnabled())
        auto = start_renderer(world, "auto").name
    from simgen.run.job import default_workers

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"simgen": __version__, "packages": package_versions(),
            "pybullet_numpy": numpy_enabled, "renderers": renderers, "auto_renderer": auto,
            "cores": cores, "default_workers": default_workers()}
