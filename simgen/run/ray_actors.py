"""Clusters through Ray: one actor per CPU, each holding a PyBullet world for its life.

Tasks are whole scenes (`run_scene_safely`, a pure function of scenario, seed and scene index).
Actors send back the encoded files and the scene record, and the driver alone writes them, with
the same atomic commits and resume rules as the local backend: so the output folder needs to
exist only where the driver runs, and the bytes are the same as with any other backend.
Scenario assets are read by the actors from the paths the driver resolved, so every node needs
the project and `pybullet_data` at the same paths (the same install, or a shared filesystem).

When a node dies, Ray restarts its actors elsewhere and retries their scenes (max_restarts and
max_task_retries unbounded); a scene is a pure function, so a re-run gives the same bytes.
Ray is imported only here, and only when this backend is used (the `ray` extra).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from simgen.run.job import ONE_THREAD_ENV, Job, SceneWorker, Task


class _SceneActor:
    def __init__(self, job: Job) -> None:
        import cv2

        cv2.setNumThreads(1)
        self.worker = SceneWorker(job)

    def run(self, seed: int, scene_index: int, items: list) -> Any:
        return self.worker.run(seed, scene_index, items)


def run_scenes_ray(job: Job, tasks: Sequence[Task], workers: int | None,
                   address: str | None) -> Iterator[Any]:
    """SceneOutputs (or SceneFailures) of `tasks`, in order, computed by Ray actors: one per
    CPU of the cluster, or `workers` of them. `address` joins a running cluster ('auto' or
    host:port); without it a local Ray instance is started for the run and shut down after."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        from simgen.errors import SimgenError

        raise SimgenError("the ray backend needs Ray, which is not installed: pip install 'simgen[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else workers,
                 include_dashboard=False, log_to_driver=False, configure_logging=False,
                 runtime_env={"env_vars": ONE_THREAD_ENV})
    actors = []
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor_class = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_SceneActor)
        # By value, not ray.put: a restarted actor needs its constructor arguments again, and
        # an object-store reference may be gone by then (ray-project/ray#53727).
        actors = [actor_class.remote(job) for _ in range(count)]
        pool = ActorPool(actors)
        yield from pool.map(lambda actor, task: actor.run.remote(*task), tasks)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started_here:
            ray.shutdown()
