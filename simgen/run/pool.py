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

from simgen.run.job import ONE_THREAD_ENV, Job, SceneWorker, Task

_WORKER: list[SceneWorker] = []   # this process's worker, once the pool started it


def _start_worker(job: Job) -> None:
    import signal

    import cv2

    # Ctrl-C reaches the whole process group: the parent alone handles it (stops the pool,
    # keeps what is committed, says how to resume); a worker would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    _WORKER.append(SceneWorker(job))


def _run(task: Task) -> Any:
    seed, scene_index, items = task
    return _WORKER[0].run(seed, scene_index, items)


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


def run_scenes_pool(job: Job, tasks: Sequence[Task], workers: int) -> Iterator[Any]:
    """SceneOutputs (or SceneFailures) of `tasks`, in order, computed by `workers` processes."""
    context = multiprocessing.get_context("spawn")
    with _child_environment():
        pool = context.Pool(workers, initializer=_start_worker, initargs=(job,))
    try:
        yield from pool.imap(_run, tasks, chunksize=1)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
