"""A local process pool: each worker keeps one PyBullet world and renderer for its whole life.

Workers run whole scenes (`run_scene`, a pure function of scenario, seed and scene index) and
send back the encoded files and the scene record; the parent is the only writer, so commits,
ordering and the final merge are the same as inline, and so are the bytes. Workers start with
the `spawn` method: forking a process that holds an EGL context or PyBullet client is unsafe.
Mesa (llvmpipe), OpenMP/BLAS and OpenCV get one thread per worker, so N workers use N cores
instead of fighting over them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from typing import Any, Iterator, Sequence

# Read by Mesa's llvmpipe, OpenMP and the BLAS libraries when a worker starts.
ONE_THREAD_ENV = {"LP_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1"}

_WORKER: dict[str, Any] = {}


def default_workers() -> int:
    """The CLI's default --workers: the cores this process may run on (its CPU affinity, which
    containers and `taskset` narrow), since each worker renders on one core."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _start_worker(scenario: Any, renderer: str, image_format: str) -> None:
    import signal

    import cv2

    # Ctrl-C reaches the whole process group: the parent alone handles it (stops the pool,
    # keeps what is committed, says how to resume); a worker would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from simgen.render import start_renderer
    from simgen.sim import World

    cv2.setNumThreads(1)
    world = World()
    _WORKER.update(scenario=scenario, world=world, renderer=start_renderer(world, renderer, scenario),
                   image_format=image_format)


def _run(task: tuple[int, int, list]) -> Any:
    from simgen.scene import run_scene_safely

    seed, scene_index, items = task
    w = _WORKER
    return run_scene_safely(w["scenario"], seed, scene_index, w["world"], w["renderer"], items,
                            w["image_format"])


@contextlib.contextmanager
def _child_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in ONE_THREAD_ENV}
    os.environ.update(ONE_THREAD_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_scenes(scenario: Any, seed: int, plan: Sequence[tuple[int, list]], renderer: str,
               image_format: str, workers: int) -> Iterator[Any]:
    """SceneOutputs of `plan`, in plan order, computed by `workers` processes. `renderer` is a
    resolved name ('tiny' or 'egl'), so every worker renders the same way."""
    context = multiprocessing.get_context("spawn")
    with _child_environment():
        pool = context.Pool(workers, initializer=_start_worker,
                            initargs=(scenario, renderer, image_format))
    try:
        yield from pool.imap(_run, [(seed, scene, list(items)) for scene, items in plan],
                             chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
