"""A whole run: `generate` plans the scenes (all, or an `--image-ids` subset), checks and
resumes, runs the scenes on a backend (simgen.run.backends), commits each one and finalizes the
dataset."""

from __future__ import annotations

import contextlib
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from simgen import __version__
from simgen.errors import SimgenError
from simgen.dataset import layout, writer as ds
from simgen.timing import beside, stage
from simgen.dataset.images import FORMATS
from simgen.progress import Estimate
from simgen.provenance import code_sha256, package_versions
from simgen.scenario import Scenario, load
from simgen.scenario.schema import SplitSpec
from simgen.run.backends import BACKENDS, run_scenes
from simgen.run.job import Job, SceneWorker, render_threads
from simgen.scene import SceneFailure


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    renderer: str
    images: int
    annotations: int
    counts: dict[str, Any]


def active_splits(splits: SplitSpec) -> list[str]:
    return [name for name in layout.SPLITS if getattr(splits, name) > 0]


def plan_scenes(images: int, views_per_scene: int, image_ids: tuple[int, int] | None = None,
                per_view: int = 1) -> list[tuple[int, list[tuple[int, int]]]]:
    """(scene index, (view, variant) pairs) for images 1..images, or only ids first..last."""
    first, last = image_ids if image_ids else (1, images)
    if not 1 <= first <= last <= images:
        raise SimgenError(f"--image-ids must satisfy 1 <= first <= last <= {images} "
                          f"(got {first}..{last})")
    plan: dict[int, list[int]] = {}
    for index in range(first - 1, last):
        per_scene = views_per_scene * per_view
        rest = index % per_scene
        plan.setdefault(index // per_scene, []).append((rest // per_view, rest % per_view))
    return sorted(plan.items())


def generate(scenario: Scenario | str | Path, out: str | Path, images: int, seed: int = 0,
             renderer: str = "auto", image_format: str = "png",
             image_ids: tuple[int, int] | None = None, overwrite: bool = False,
             on_renderer: Callable[[str], None] | None = None,
             progress: bool = False, workers: int = 1, resume: bool = False,
             skip_failed: bool = False, backend: str = "local",
             address: str | None = None,
             on_scene: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Generate a COCO dataset of `images` images from `scenario` into `out`.

    `workers` > 1 runs scenes in that many processes (see simgen.run.pool); `backend="ray"` runs
    them on Ray actors (see simgen.run.ray_actors; `address` joins a cluster). The bytes are the
    same for any backend and number of workers. `resume` goes on with an interrupted run in `out` (same scenario, seed
    and sizes), rendering only the scenes not yet committed; the result is byte-identical to an
    uninterrupted run. A scene that fails stops the run (committed scenes are kept), or with
    `skip_failed` is recorded in the manifest and the run goes on. Every argument is checked, and
    the scenario fully validated, before `out` is touched. `on_scene(scene_index, images)` is
    called after each scene is committed, in scene order, from the thread that committed it
    (simgen's commit thread, not necessarily the caller's; an error it raises stops the run);
    progress displays and the benchmark's clock use it.
    """
    from simgen.render import start_renderer, RendererUnavailable
    from simgen.sim import World

    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SimgenError(f"seed must be an integer >= 0 (got {seed!r})")
    if not isinstance(images, int) or images < 1:
        raise SimgenError(f"images must be an integer >= 1 (got {images!r})")
    if image_format not in FORMATS:
        raise SimgenError(f"format must be one of {', '.join(FORMATS)} (got {image_format!r})")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise SimgenError(f"workers must be an integer >= 1 (got {workers!r})")
    if backend not in BACKENDS:
        raise SimgenError(f"backend must be {' or '.join(BACKENDS)} (got {backend!r})")
    spec = scenario.spec
    plan = plan_scenes(images, spec.views_per_scene, image_ids,
                       spec.augment.augmentations_per_view if spec.augment else 1)
    out = Path(out)
    run_state = {"scenario_sha256": scenario.sha256, "seed": seed, "images": images,
                 "image_ids": list(image_ids) if image_ids else None,
                 "image_format": image_format, "simgen_version": __version__}
    if resume:
        _check_resumable(out, run_state)
    else:
        ds.check_output(out, overwrite)
    created = not out.exists()
    with contextlib.ExitStack() as stack:
        world = stack.enter_context(World())
        try:
            render = start_renderer(world, renderer, scenario, render_threads(1))
        except (RendererUnavailable, ValueError) as err:
            raise SimgenError(f"renderer {renderer!r}: {err}") from None
        if on_renderer:
            on_renderer(f"{render.name} ({render.note})" if render.note else render.name)
        run_state["renderer"] = render.name
        try:
            stack.enter_context(ds.output_lock(out))
        except SimgenError:
            if created and out.is_dir() and not any(out.iterdir()):
                out.rmdir()   # made only to be locked
            raise
        try:
            # Checked again under the lock: another run may have written OUT in between.
            if resume and _check_resumable(out, run_state):
                ds.remove_partial_files(out)
                done = ds.verified_committed_scenes(out)
            else:
                if resume:   # killed before its run state was in place: start it again
                    ds.clear_never_started(out)
                ds.prepare_output(out, overwrite)
                ds.write_run_state(out, run_state)
                done = set()
            todo = [(scene, items) for scene, items in plan if scene not in done]
            total = sum(len(v) for _, v in plan)
            bar = _progress(total, progress)
            bar.update(sum(len(v) for s, v in plan if s in done))
            bar = Estimate(bar, total, sum(len(v) for s, v in plan if s in done),
                           warm=min(workers, max(1, len(todo))))
            job = Job(scenario, render.name, image_format,
                      math.ceil(images / spec.images_per_scene),
                      render_threads(min(workers, max(1, len(todo)))))
            results = run_scenes(job, [(seed, scene, items) for scene, items in todo],
                                 SceneWorker(job, world, render, wait_files=False), backend,
                                 workers, address)
            committer = _Committer(out, bar, on_scene)
            try:
                for (scene_index, items), result in zip(todo, results):
                    if isinstance(result, SceneFailure):
                        committer.wait()
                        failure = {"scene_index": scene_index, "seed": seed, "error": result.error}
                        if not skip_failed:
                            _stop_on_failure(scenario, out, created, failure)
                        ds.commit_scene(out, scene_index, [], {"failed": failure})
                        committer.done(scene_index, len(items))
                    else:
                        committer.commit(scene_index, len(items), result)
                committer.wait()
            finally:
                committer.close()
                bar.close()
            with stage("merge"):
                counts = ds.finalize(out, spec.categories, active_splits(spec.splits),
                                     info=_coco_info(scenario, seed),
                                     manifest=_manifest(scenario, seed, images, image_ids,
                                                        render.name, image_format))
        except OSError as err:
            # A full disk, a folder made read-only, a file system gone: committed scenes are
            # whole (each is renamed into place after its files), nothing half-written stays.
            _stop_on_os_error(out, created, err)
    return GenerateResult(out, render.name, sum(counts["images"].values()),
                          sum(counts["annotations"].values()), counts)


class _Committer:
    """Commits each scene on a thread of its own while the next scene is made: writing and
    syncing files wait on the disk, not the GIL, so with the scenes made in this process (one
    worker) they cost little time beside rendering. One scene at a time, in order; a commit's
    error (or on_scene's) is raised in the caller's thread, before the next is started. The bar
    and `on_scene` are told right after each commit, from the thread that made it: the moment
    a scene is committed is the moment it is reported (the benchmark times scenes by it)."""

    def __init__(self, out: Path, bar: Any, on_scene: Callable[[int, int], None] | None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._out, self._bar, self._on_scene = out, bar, on_scene
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="simgen-commit")
        self._pending: Any = None

    def commit(self, scene_index: int, images: int, result: Any) -> None:
        self.wait()
        self._pending = self._pool.submit(self._write, scene_index, images, result)

    def _write(self, scene_index: int, images: int, result: Any) -> None:
        # A scene made in this process comes with its last files still being encoded
        # (SceneWorker(wait_files=False)): waiting for them here, the next scene goes on.
        try:
            files = result.file_bytes()
        except Exception as err:  # noqa: BLE001 - OpenCV failing on an array it was given
            raise SimgenError(f"scene {scene_index}: its files could not be encoded: "
                              f"{type(err).__name__}: {err} (the scenes before it are kept: "
                              "--resume goes on)") from None
        with beside("write"):
            ds.commit_scene(self._out, scene_index, files, result.record)
        self.done(scene_index, images)

    def wait(self) -> None:
        """Until the scene being committed is, and reported; its error raised here."""
        if self._pending is not None:
            future = self._pending
            self._pending = None
            future.result()

    def done(self, scene_index: int, images: int) -> None:
        self._bar.update(images)
        if self._on_scene:
            self._on_scene(scene_index, images)

    def close(self) -> None:
        """Let the commit under way finish (a scene is committed whole or not at all)."""
        self._pool.shutdown(wait=True)


def _check_resumable(out: Path, run_state: dict[str, Any]) -> bool:
    """Refuse to resume a run started with anything that changes the bytes. True when there is
    a run to resume; False when OUT holds only what a run killed before its run state was
    written leaves (ds.never_started), which the resume then starts from the beginning."""
    started = ds.read_run_state(out)
    if started is None:
        if ds.never_started(out):
            return False
        raise SimgenError(f"{out}: nothing to resume (no {layout.RUN_STATE}); run without --resume")
    missing = [key for key in run_state if key not in started]
    if missing:   # a damaged run state must not skip the checks
        raise SimgenError(f"{out}: cannot resume: {layout.RUN_STATE} lacks {missing[0]!r}; "
                          "start again without --resume (with --overwrite)")
    for key, value in run_state.items():
        if key in started and started[key] != value:
            raise SimgenError(f"{out}: cannot resume: {key} was {started[key]!r} when the run "
                              f"started, now {value!r}")
    return True


def _stop_on_failure(scenario: Scenario, out: Path, created: bool, failure: dict) -> None:
    message = (f"{scenario.source}: scene {failure['scene_index']} (seed {failure['seed']}): "
               f"{failure['error']}")
    if created and not ds.committed_scenes(out):
        shutil.rmtree(out)  # this run made the folder and committed nothing: leave nothing behind
        raise SimgenError(message)
    raise SimgenError(f"{message} (scenes finished before it are kept: --resume goes on, "
                      "--skip-failed records a failing scene and goes on)")


def _stop_on_os_error(out: Path, created: bool, err: OSError) -> None:
    where = f" ({err.filename})" if err.filename else ""
    message = f"{out}: cannot write the dataset: {err.strerror or err}{where}"
    if created and not ds.committed_scenes(out):
        shutil.rmtree(out, ignore_errors=True)
        raise SimgenError(message + "; nothing was kept") from None
    ds.remove_partial_files(out)
    raise SimgenError(f"{message}; the scenes already finished are kept: fix that and go on "
                      "with --resume") from None


def _progress(total: int, enabled: bool) -> Any:
    from simgen.progress import progress

    return progress(total, "images", "generate", enabled)


def _coco_info(scenario: Scenario, seed: int) -> dict[str, Any]:
    return {"description": f"simgen synthetic dataset from scenario {scenario.name!r}",
            "version": __version__, "contributor": "simgen (synthetic)", "url": "",
            "scenario": scenario.name, "scenario_sha256": scenario.sha256, "seed": seed}


def _manifest(scenario: Scenario, seed: int, images: int, image_ids: tuple[int, int] | None,
              renderer: str, image_format: str) -> dict[str, Any]:
    return {
        "format": layout.DATASET_FORMAT,
        "simgen_version": __version__,
        "simgen_code_sha256": code_sha256(),
        "packages": package_versions(),
        "scenario": {"name": scenario.name, "file": Path(scenario.source).name,
                     "file_sha256": scenario.file_sha256, "sha256": scenario.sha256,
                     "overrides": list(scenario.overrides),
                     # where relative asset references were found: what `regen` needs to
                     # rebuild the scenario from this manifest alone
                     "dir": scenario.base_dir, "asset_roots": list(scenario.asset_roots),
                     "resolved": scenario.resolved(),
                     # mesh file assets: each mesh's sha256 and the settings it became a body
                     # with (regen and verify refuse a mesh that changed)
                     **({"meshes": {ref: dict(v) for ref, v in sorted(
                         scenario.mesh_files.items())}} if scenario.mesh_files else {})},
        "seed": seed,
        "images_requested": images,
        "image_ids": list(image_ids) if image_ids else None,
        "scenes": math.ceil(images / scenario.spec.images_per_scene),
        "renderer": renderer,
        "image_format": image_format,
    }
