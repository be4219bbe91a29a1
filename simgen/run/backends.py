"""The backends behind one interface: `run_scenes(job, tasks, ...)` yields each task's
SceneOutput (or SceneFailure) in task order, whichever runs them. The bytes are the same for
every backend and number of workers; only the parent writes."""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from simgen.run.job import Job, SceneWorker, Task

BACKENDS = ("local", "ray")


def run_scenes(job: Job, tasks: Sequence[Task], inline: SceneWorker, backend: str = "local",
               workers: int = 1, address: str | None = None) -> Iterator[Any]:
    """`local` with one worker (or one task) runs on `inline`, the parent's own worker; with
    more, on a process pool (simgen.run.pool). `ray` runs on Ray actors (simgen.run.ray_actors;
    `workers` of them, else one per CPU of the cluster; `address` joins a running cluster)."""
    if backend == "ray":
        from simgen.run.ray_actors import run_scenes_ray

        return run_scenes_ray(job, tasks, workers if workers > 1 else None, address)
    if min(workers, len(tasks)) <= 1:   # no pool to start
        return (inline.run(*task) for task in tasks)
    from simgen.run.pool import run_scenes_pool

    return run_scenes_pool(job, tasks, min(workers, len(tasks)))
