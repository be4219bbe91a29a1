"""What every scene of a run needs, as one frozen value, and the worker that runs scenes of it.

Every backend (inline, the process pool, Ray actors) and `regen` run scenes the same way: a
`SceneWorker` holds one PyBullet world and renderer for its life and runs whole scenes
(`simgen.scene.run_scene_safely`, a pure function of scenario, seed and scene index); only
where it lives differs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

# Read by Mesa's llvmpipe, OpenMP and the BLAS libraries when a worker process starts.
ONE_THREAD_ENV = {"LP_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class Job:
    """The scenario and how its images are made: the same for every scene of a run."""

    scenario: Any          # simgen.scenario.Scenario
    renderer: str          # resolved: 'tiny', 'egl' or 'cycles': every worker renders alike
    image_format: str
    scenes: int            # scenes of the whole run (-n in scenes): the splits depend on it
    render_threads: int = 1   # Cycles' threads per worker (its pixels do not depend on it)


# One scene to make: (seed, scene index, (view, variant) pairs).
Task = tuple[int, int, Sequence[tuple[int, int]]]


class SceneWorker:
    """One world and renderer, running scenes of `job`. `renderer` may be one already started
    on `world` (the parent's, which resolved 'auto'); otherwise both are made here."""

    def __init__(self, job: Job, world: Any = None, renderer: Any = None,
                 wait_files: bool = True) -> None:
        from simgen.render import start_renderer
        from simgen.sim import World

        self.job = job
        # False: a scene's files come back as Futures (simgen.scene.run_scene), for a caller in
        # this process that waits for them on a thread of its own.
        self.wait_files = wait_files
        self._owns_world = world is None
        self.world = World() if world is None else world
        try:
            self.renderer = (start_renderer(self.world, job.renderer, job.scenario,
                                            job.render_threads)
                             if renderer is None else renderer)
        except BaseException:
            self.close()
            raise

    def run(self, seed: int, scene_index: int, items: Sequence[tuple[int, int]]) -> Any:
        """The scene's SceneOutput, or a SceneFailure when it raised."""
        from simgen.scene import run_scene_safely

        return run_scene_safely(self.job.scenario, seed, scene_index, self.world, self.renderer,
                                list(items), self.job.image_format, self.job.scenes,
                                self.wait_files)

    def close(self) -> None:
        if self._owns_world:
            self.world.close()   # and its renderer's own process (Cycles' Blender) with it


def render_threads(workers: int) -> int:
    """Cycles' threads in each of `workers` workers: the cores here, shared out."""
    return max(1, default_workers() // max(1, workers))


def default_workers() -> int:
    """The CLI's default --workers: the cores this process may run on (its CPU affinity, which
    containers and `taskset` narrow), since each worker renders on one core."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)
