#!/usr/bin/env python3
"""simgen benchmark: end-to-end speed against a raw render-only loop, measured in one run.

First (with --renderer all, the default), the default path: `simgen generate` with the scenario's
own settings (renderer auto, exact occlusion where the scenario asks for it, all cores) against
the loop a user would write instead (NAIVE_OBJECTS: one TinyRenderer view a scene, boxes, RLE,
PNG, one process per core), at the same image size.

For each renderer (tiny, and egl where it starts): R0 is PyBullet rendering the same settled
scenes, views and resolution with nothing else; each end-to-end row is `simgen.generate` on the
same scenario and seed, with full labels and a photometric augmentation. A ratio near 1 means
everything that is not rendering (sampling, physics, labels, augmentation, encoding, writing) is
small beside it. Also: what exact occlusion labels cost (each visible object rendered alone),
1 against N workers, the share of time per stage (1 worker), and peak memory. With torch
installed, the training input: simgen.torch.SimgenStream through a DataLoader with 2 workers,
against `simgen generate --workers 2` and against SimgenDataset reading that same dataset from
disk through the same DataLoader, the ratios taken in each round.

One render thread per worker, everywhere: a simgen worker runs Mesa, OpenCV and BLAS on one
thread (simgen.run.job.ONE_THREAD_ENV), so R0 and the 1-worker rows are measured the same way,
and R0 is what one core can render. A worker encodes its files, and the one-worker run commits
its scenes, on threads beside the renders, so a 1-worker rate may use part of a second core:
the "per CPU second" rows count the CPU time of every thread of that process, what one core
does (R0 runs on one thread: its CPU time is its wall time). For EGL, R0 with Mesa's own thread
count (all cores, one process) is shown beside it for reference.

End-to-end rates are steady state: the clock starts when the first scene of every worker is
committed, so process start, imports and EGL start-up (a few seconds, once per run) are left
out; they are reported separately as `startup_s`.

    python3 scripts/benchmark.py [--scenario scenes/tabletop.yaml] [--images 48] [--rounds 3]
                                 [--renderer all|tiny|egl|cycles] [--workers N] [--json out.json]
    python3 scripts/benchmark.py --default-only          # simgen's defaults against the naive loop
    python3 scripts/benchmark.py --scaling               # cost by image size, objects, views
    python3 scripts/benchmark.py --memory 1000,10000     # peak RSS of long runs, small images
"""

from __future__ import annotations

import os
import sys

# Before anything can start Mesa: it reads its thread count when a context is made.
if "--mesa-default-threads" not in sys.argv:
    from simgen.run.job import ONE_THREAD_ENV

    os.environ.update(ONE_THREAD_ENV)

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import simgen
from simgen import timing
from simgen.render import start_renderer
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World

HERE = Path(__file__).resolve()
PHOTOMETRIC = ("augment={pipeline: [{RandomBrightnessContrast: {p: 1}}, "
               "{HueSaturationValue: {p: 1}}]}")


def render_only(scenario, images: int, renderer: str) -> tuple[float, str]:
    """Images/s of rendering alone: scenes are settled first, outside the timed loop."""
    import cv2

    cv2.setNumThreads(1 if "LP_NUM_THREADS" in os.environ else -1)
    views = scenario.spec.views_per_scene
    with World() as world:
        render = start_renderer(world, renderer, scenario)
        elapsed, done = 0.0, 0
        for scene_index in range((images + views - 1) // views):
            drawn = sample(scenario, scene_streams(0, scene_index).sampling, seed=0,
                           scene_index=scene_index)
            settled = world.settle(drawn, scenario.spec.settle)
            for camera in drawn.views[:images - done]:
                start = time.perf_counter()
                render.render(settled, camera, drawn.light)
                elapsed += time.perf_counter() - start
                done += 1
        return done / elapsed, render.name


def end_to_end(scenario, images: int, renderer: str, workers: int = 1,
               keep: Path | None = None, cpu: list | None = None) -> tuple[float, float]:
    """(steady-state images/s, start-up seconds) of one generate run; the dataset is written
    to `keep` when given (and kept), else to a folder removed afterwards. With `cpu` given (one
    worker), the steady-state images per CPU second of this process, all its threads (encoding
    and committing run beside the renders), is appended to it."""
    import cv2

    cv2.setNumThreads(1)
    commits: list[tuple[float, int, float]] = []
    with tempfile.TemporaryDirectory() as out:
        start, cpu_start = time.perf_counter(), time.process_time()
        simgen.generate(scenario, keep or Path(out) / "ds", images=images, seed=0,
                        renderer=renderer, workers=workers,
                        on_scene=lambda _, n: commits.append((time.perf_counter(), n,
                                                              time.process_time())))
        end, cpu_end = time.perf_counter(), time.process_time()
    warm = min(workers, len(commits) - 1)   # every worker has finished its first scene
    if warm < 1:   # one scene a worker: the whole run
        if cpu is not None:
            cpu.append(images / (cpu_end - cpu_start))
        return images / (end - start), 0.0
    t0 = commits[warm - 1][0]
    counted = sum(n for _, n, _ in commits[warm:])
    if cpu is not None:
        cpu.append(counted / (commits[-1][2] - commits[warm - 1][2]))
    # Start-up: what the first scenes took beyond their share at the steady rate.
    rate = counted / (commits[-1][0] - t0)
    first = sum(n for _, n, _ in commits[:warm])
    return rate, max(0.0, (t0 - start) - first / rate)


# The loop a user would write instead of simgen (issue 17's yardstick): per image, reset, load a
# plane, the table and 8 objects above it, settle 240 steps, one TinyRenderer view, boxes by
# np.where, RLE masks by pycocotools, a PNG; one process per core.
NAIVE_OBJECTS = ("objects/mug.urdf", "duck_vhacd.urdf", "lego/lego.urdf", "jenga/jenga.urdf",
                 "teddy_vhacd.urdf", "soccerball.urdf", "objects/mug.urdf", "lego/lego.urdf")


def _naive_worker(job: tuple[int, int, int, int, str]) -> tuple[float, int]:
    """(seconds, images) of the naive loop in this process, its set-up left out."""
    import cv2
    import numpy as np
    import pybullet as p
    import pybullet_data
    from pycocotools import mask as mask_util

    first, count, width, height, out = job
    cv2.setNumThreads(1)
    cid = p.connect(p.DIRECT)
    p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
    rng = np.random.default_rng(first)
    view = p.computeViewMatrix([1.0, 0.0, 1.45], [0.0, 0.0, 0.63], [0, 0, 1])
    projection = p.computeProjectionMatrixFOV(50, width / height, 0.05, 10.0)
    start = time.perf_counter()
    for image in range(first, first + count):
        p.resetSimulation(physicsClientId=cid)
        p.setGravity(0, 0, -9.81, physicsClientId=cid)
        p.loadURDF("plane.urdf", physicsClientId=cid)
        p.loadURDF("table/table.urdf", physicsClientId=cid)
        ids = [p.loadURDF(name, [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 0.75],
                          p.getQuaternionFromEuler(rng.uniform(0, 6.28, 3).tolist()),
                          physicsClientId=cid) for name in NAIVE_OBJECTS]
        for _ in range(240):
            p.stepSimulation(physicsClientId=cid)
        _, _, rgba, _, seg = p.getCameraImage(width, height, view, projection,
                                              renderer=p.ER_TINY_RENDERER, physicsClientId=cid)
        rgba = np.asarray(rgba, np.uint8).reshape(height, width, 4)
        seg = np.asarray(seg, np.int32).reshape(height, width)
        annotations = []
        for uid in ids:
            ys, xs = np.where(seg == uid)
            if len(xs) == 0:
                continue
            rle = mask_util.encode(np.asfortranarray((seg == uid).astype(np.uint8)))
            annotations.append({"bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                         int(ys.max() - ys.min() + 1)], "segmentation": rle})
        cv2.imwrite(f"{out}/{image:06d}.png", cv2.cvtColor(rgba[:, :, :3], cv2.COLOR_RGB2BGR))
    seconds = time.perf_counter() - start
    p.disconnect(cid)
    return seconds, count


def naive_loop(images: int, workers: int, width: int, height: int) -> float:
    """Images/s of the naive loop on `workers` processes (its steady state: each process's
    own loop time, as simgen's rows leave start-up out)."""
    from concurrent.futures import ProcessPoolExecutor

    share = [images // workers + (1 if i < images % workers else 0) for i in range(workers)]
    firsts = [sum(share[:i]) for i in range(workers)]
    with tempfile.TemporaryDirectory() as out, ProcessPoolExecutor(workers) as pool:
        done = list(pool.map(_naive_worker, [(f, n, width, height, out)
                                             for f, n in zip(firsts, share) if n]))
    return sum(n for _, n in done) / max(seconds for seconds, _ in done)


STREAM_ROWS = ("stream, {w} DataLoader workers", "generate, {w} workers",
               "read from disk, {w} DataLoader workers")


def streaming(scenario, images: int, renderer: str, workers: int = 2) -> dict[str, float] | None:
    """Steady-state images/s of simgen.torch.SimgenStream through a DataLoader with `workers`
    workers, of `simgen generate --workers` as many on the same scenario and seed, and of
    SimgenDataset reading that very dataset from disk through the same DataLoader (default
    target keys: image, boxes, labels, masks, ...). Workers start with spawn, as generate's
    pool (this process has rendered with EGL, which a fork cannot carry). None without torch.

    Steady state, as end_to_end: the clock starts when every worker has delivered its first
    scene (stream) or first image (disk); start-up is left out of every rate."""
    try:
        from torch.utils.data import DataLoader

        from simgen.torch import SimgenDataset, SimgenStream
    except ImportError:
        return None

    def arrivals(dataset) -> list[tuple[float, int]]:
        loader = DataLoader(dataset, batch_size=None, num_workers=workers,
                            multiprocessing_context="spawn")
        return [(time.perf_counter(), target["image_id"] - 1) for _, target in loader]

    def steady(times: list[tuple[float, int]], first_of_worker: list[int]) -> float:
        """Images/s after the arrival of each worker's first unit (image indices)."""
        done = [max(t for t, k in times if k in unit) for unit in first_of_worker]
        t0 = max(done, default=times[0][0])
        later = [t for t, _ in times if t > t0]
        if len(later) < 2:
            return len(times) / (times[-1][0] - times[0][0] or 1e-9)
        return len(later) / (later[-1] - t0)

    per_scene = scenario.spec.images_per_scene
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ds"
        rates["generate"] = end_to_end(scenario, images, renderer, workers, keep=out)[0]
        times = arrivals(SimgenDataset(out, split=None))
        # DataLoader's sampler deals images 0, 1, ... to the workers in turn.
        rates["disk"] = steady(times, [{w} for w in range(min(workers, len(times) - 1))])
    times = arrivals(SimgenStream(scenario, seed=0, images=images, renderer=renderer))
    scenes = -(-images // per_scene)
    rates["stream"] = steady(times, [set(range(s * per_scene, (s + 1) * per_scene))
                                     for s in range(min(workers, scenes - 1))])
    names = [row.format(w=workers) for row in STREAM_ROWS]
    return dict(zip(names, (rates["stream"], rates["generate"], rates["disk"])))


def egl_new_client(scenario, scene_s: float, scenes: int = 12, repeats: int = 5) -> dict:
    """What EGL's new client costs (simgen.render.renderer: the plugin never frees the GL
    textures each scene registers): seconds per restart (plugin start and warm-up renders), the
    memory a scene adds, hence how many scenes a client lasts, and the share of an EGL worker's
    time that restarting takes when a scene takes `scene_s` end to end."""
    from simgen.render import renderer as renderer_module
    from simgen.sim.world import _rss_mib

    with World() as world:
        render = start_renderer(world, "egl", scenario)
        start = time.perf_counter()
        for _ in range(repeats):
            world._reconnect()
        restart_s = (time.perf_counter() - start) / repeats
        world._scenes_per_client = None   # measure the growth without restarts
        before = None
        for scene_index in range(scenes + 1):   # scene 0 fills what is made once
            drawn = sample(scenario, scene_streams(0, scene_index).sampling, seed=0,
                           scene_index=scene_index)
            render.render(world.settle(drawn, scenario.spec.settle), drawn.views[0], drawn.light)
            before = _rss_mib() if before is None else before
        per_scene_mib = (_rss_mib() - before) / scenes
    per_client = renderer_module.EGL_SCENES_PER_CLIENT
    if per_scene_mib > 0:
        per_client = min(per_client, renderer_module.EGL_CLIENT_GROWTH_MIB / per_scene_mib)
    return {"seconds": restart_s, "mib_per_scene": per_scene_mib, "scenes_per_client": per_client,
            "share_of_1_worker_time": restart_s / (per_client * scene_s + restart_s)}


def peak_rss_mib() -> float:
    """Peak resident memory of this process and of its finished children (workers), MiB."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def r0_mesa_default_threads(path: str, images: int) -> float | None:
    """EGL's R0 in a fresh process with Mesa's own thread count (every core)."""
    env = {k: v for k, v in os.environ.items() if k not in ("LP_NUM_THREADS",)}
    proc = subprocess.run([sys.executable, str(HERE), "--scenario", path, "--images",
                           str(images), "--r0-only", "egl", "--mesa-default-threads"],
                          capture_output=True, text=True, env=env, timeout=600)
    try:
        return float(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return None


def bench_default(path: str, images: int, workers: int, rounds: int) -> dict:
    """`simgen generate` with its defaults (the scenario as it is, renderer auto, all cores)
    against the naive loop on as many processes, at the scenario's image size: interleaved
    rounds, the ratio taken in each."""
    from statistics import median

    scenario = simgen.load_scenario(path)
    spec = scenario.spec
    per_round = []
    for _ in range(rounds):
        naive = naive_loop(images, workers, spec.image.width, spec.image.height)
        rate, _ = end_to_end(scenario, images, "auto", workers)
        per_round.append((naive, rate))
    return {"renderer": start_renderer_name(scenario), "workers": workers,
            "occlusion": spec.labels.occlusion, "views_per_scene": spec.views_per_scene,
            "images_per_s": {"naive loop": median(n for n, _ in per_round),
                             "simgen generate, defaults": median(r for _, r in per_round)},
            "ratio": median(r / n for n, r in per_round),
            "ratio_rounds": [r / n for n, r in per_round]}


def _counts(n: int) -> list[str]:
    """Overrides that put exactly n labeled objects in a tabletop scene: mugs, ducks, lego
    bricks and jenga blocks in turn (no teddy or ball)."""
    per = [n // 4 + (1 if i < n % 4 else 0) for i in range(4)]
    # Dropped from up to 30 cm above the table, so 30 of them find free places and pile up.
    spawn = "{box: {min: [-0.35, -0.25, 0.66], max: [0.35, 0.25, 0.95]}}"
    return [f"objects.{i}.count={c}" for i, c in enumerate(per)] + [
        f"objects.{i}.spawn={spawn}" for i in range(4)] + [
        "objects.4.count=0", "objects.5.count=0"]


SCALING = {   # row: overrides on the tabletop scenario (its defaults: 640x480, 4 views, exact)
    "320x240": ["image.width=320", "image.height=240"],
    "640x480": [],
    "1280x960": ["image.width=1280", "image.height=960"],
    "2 objects": _counts(2), "8 objects": _counts(8), "16 objects": _counts(16),
    "30 objects": _counts(30),
    "1 view a scene": ["views_per_scene=1"], "2 views": ["views_per_scene=2"],
    "8 views": ["views_per_scene=8"],
    "640x480, occlusion none": ["labels.occlusion=none"],
}


def scaling(path: str, images: int, renderer: str) -> dict[str, float]:
    """Seconds an image (1 worker, steady state) of each SCALING row: how cost grows with image
    size, objects and views, so the cost of a dataset can be predicted."""
    out = {}
    for row, overrides in SCALING.items():
        scenario = simgen.load_scenario(path, overrides)
        # At least three scenes past the first, whatever the views a scene.
        n = max(images, 4 * scenario.spec.images_per_scene)
        rate, _ = end_to_end(scenario, n, renderer)
        out[row] = 1.0 / rate
        print(f"  {row:28} {1000 / rate:8.1f} ms an image", flush=True)
    return out


def start_renderer_name(scenario) -> str:
    with World() as world:
        return start_renderer(world, "auto", scenario).name


# Images per CPU second of the 1-worker process, every thread counted: against R0 (one thread,
# its CPU time its wall time), what a core does, whatever runs beside the renders.
CPU_ROWS = ("1 worker, occlusion none, per CPU second", "1 worker, occlusion exact, per CPU second")


def bench_renderer(path: str, images: int, renderer: str, workers: int, rounds: int) -> dict:
    """Every row, measured in `rounds` interleaved rounds (R0, 1 worker, N workers, R0, ...):
    this machine's speed drifts by 10-20% over minutes, and a ratio of two rates taken minutes
    apart would carry that drift. Each ratio is the median of its per-round ratios; each rate
    the median of its rounds. The stage shares are taken in round 1."""
    from statistics import median

    none = simgen.load_scenario(path, ["labels.occlusion=none", PHOTOMETRIC])
    exact = simgen.load_scenario(path, ["labels.occlusion=exact", PHOTOMETRIC])
    many_row = f"end to end, {workers} workers, occlusion none"
    per_round: list[dict[str, float]] = []
    startups: dict[str, list[float]] = {"1 worker": [], f"{workers} workers": []}
    stages: dict[str, float] = {}
    stream_rounds: list[dict[str, float]] = []
    for round_index in range(rounds):
        r0, name = render_only(none, images, renderer)
        if round_index == 0:
            timing.enable()
        cpu: list[float] = []
        one, startup_one = end_to_end(none, images, name, cpu=cpu)
        if round_index == 0:
            stages = timing.totals()
            timing.enable(False)
        many, startup_many = end_to_end(none, images, name, workers)
        row = {"R0 render only": r0, "end to end, 1 worker, occlusion none": one,
               many_row: many, CPU_ROWS[0]: cpu[0]}
        row["end to end, 1 worker, occlusion exact"] = end_to_end(exact, images, name, cpu=cpu)[0]
        row[CPU_ROWS[1]] = cpu[1]
        per_round.append(row)
        streamed = streaming(none, images, name)
        if streamed is not None:
            stream_rounds.append(streamed)
        startups["1 worker"].append(startup_one)
        startups[f"{workers} workers"].append(startup_many)
    rows = {key: median(r[key] for r in per_round if key in r)
            for key in ("R0 render only", "end to end, 1 worker, occlusion none",
                        "end to end, 1 worker, occlusion exact", many_row, *CPU_ROWS)}
    ratios = {key: median(r[key] / r["R0 render only"] for r in per_round if key in r)
              for key in rows}
    scaling = [r[many_row] / r["end to end, 1 worker, occlusion none"] for r in per_round]
    result = {"renderer": name, "rounds": rounds, "images_per_s": rows, "ratio_to_R0": ratios,
              "workers_scaling": median(scaling), "workers_scaling_rounds": scaling,
              "ratio_1_worker_rounds": [r["end to end, 1 worker, occlusion none"]
                                        / r["R0 render only"] for r in per_round],
              "startup_s": {k: median(v) for k, v in startups.items()},
              "stage_seconds_1_worker": stages, "images": images}
    if stream_rounds:
        stream_row, generate_row, disk_row = stream_rounds[0]
        over_generate = [r[stream_row] / r[generate_row] for r in stream_rounds]
        over_disk = [r[stream_row] / r[disk_row] for r in stream_rounds]
        result["streaming"] = {
            "images_per_s": {key: median(r[key] for r in stream_rounds)
                             for key in stream_rounds[0]},
            "stream_over_generate": median(over_generate), "stream_over_disk": median(over_disk),
            "stream_over_generate_rounds": over_generate, "stream_over_disk_rounds": over_disk}
    if name == "egl":
        result["R0_mesa_default_threads"] = r0_mesa_default_threads(path, images)
        scene_s = none.spec.views_per_scene / rows["end to end, 1 worker, occlusion none"]
        result["egl_new_client"] = egl_new_client(none, scene_s)
    return result


def memory(path: str, sizes: list[int], workers: int,
           renderer: str = "tiny") -> dict[int, dict[str, float]]:
    """Peak RSS (MiB) of the parent and of the largest worker, for runs of each size, each in
    a fresh process. Small images and short settling keep 10,000 images to minutes; what grows
    with a run's length (records, the merge) does not depend on the image size."""
    code = (
        "import resource, sys, tempfile, simgen\n"
        "sc = simgen.load_scenario(sys.argv[1], ['image.width=64', 'image.height=48', "
        "'settle.max_steps=20', 'labels.occlusion=none'])\n"
        "with tempfile.TemporaryDirectory() as out:\n"
        "    simgen.generate(sc, out + '/ds', images=int(sys.argv[2]), workers=int(sys.argv[3]),"
        " renderer=sys.argv[4])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n")
    peaks = {}
    for size in sizes:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code, path, str(size), str(workers),
                               renderer],
                              capture_output=True, text=True, timeout=3600)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        parent, child = (float(v) for v in proc.stdout.split()[-2:])
        peaks[size] = {"parent_mib": parent, "worker_mib": child,
                       "seconds": time.perf_counter() - start}
    return peaks


def bench_cycles(path: str, images: int, workers: int) -> dict:
    """Cycles at the scenario's size and its default cycles settings: seconds per image end to
    end with 1 and `workers` workers, beside tiny and EGL on the same scenario in this run, and
    the share of a 1-worker run's steady-state time that is not Blender's own render (scene
    export, the pipe, labels, encoding, writing: the goal is under 10%)."""
    scenario = simgen.load_scenario(path)
    timing.enable()
    start = time.perf_counter()
    one, startup = end_to_end(scenario, images, "cycles")
    one_wall = (time.perf_counter() - start) / images
    stages = timing.totals()
    timing.enable(False)
    # A few scenes only, finishing together on N workers: whole-run wall time, start included.
    start = time.perf_counter()
    end_to_end(scenario, images, "cycles", workers)
    many_wall = (time.perf_counter() - start) / images
    blender_s_per_image = stages.get("blender render", 0.0) / images
    others = {}
    for name in ("tiny", "egl"):
        try:
            others[name] = 1.0 / end_to_end(scenario, images, name)[0]
        except simgen.SimgenError:   # egl that does not start here
            pass
    from simgen.scenario.schema import CyclesSpec

    settings = scenario.spec.cycles or CyclesSpec()
    return {"renderer": "cycles", "samples": settings.samples, "denoise": settings.denoise,
            "seconds_per_image": {"1 worker": one_wall, f"{workers} workers": many_wall},
            "steady_seconds_per_image_1_worker": 1.0 / one,
            "same_run_seconds_per_image_1_worker": others,
            "blender_render_s_per_image": blender_s_per_image,
            "not_blender_share": max(0.0, 1.0 - blender_s_per_image * one),
            "startup_s": startup, "stage_seconds_1_worker": stages}


def main() -> int:
    from simgen.run.job import default_workers

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(HERE.parent.parent / "scenes/tabletop.yaml"))
    parser.add_argument("--images", type=int, default=48, help="images per measurement")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of every row (medians are reported)")
    parser.add_argument("--renderer", default="all", choices=("all", "tiny", "egl", "cycles"))
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--memory", help="comma-separated run sizes: measure peak RSS instead")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--scaling", action="store_true",
                        help="only how cost grows with image size, objects and views (tabletop)")
    parser.add_argument("--default-only", action="store_true",
                        help="only simgen generate's defaults against the naive loop")
    parser.add_argument("--r0-only", help=argparse.SUPPRESS)
    parser.add_argument("--mesa-default-threads", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.r0_only:
        scenario = simgen.load_scenario(args.scenario, ["labels.occlusion=none"])
        print(render_only(scenario, args.images, args.r0_only)[0])
        return 0
    machine = (f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, "
               f"Python {sys.version.split()[0]}")
    if args.memory:
        sizes = [int(v) for v in args.memory.split(",")]
        print(f"simgen memory: {Path(args.scenario).name} at 64x48, {args.workers} workers, {machine}")
        all_peaks = {}
        for name in (["tiny", "egl"] if args.renderer == "all" else [args.renderer]):
            peaks = all_peaks[name] = memory(args.scenario, sizes, args.workers, name)
            for size, peak in peaks.items():
                print(f"  {name:4} {size:7d} images: parent {peak['parent_mib']:6.0f} MiB, "
                      f"largest worker {peak['worker_mib']:6.0f} MiB ({peak['seconds']:.0f} s)")
            if len(sizes) > 1:
                first, last = peaks[sizes[0]], peaks[sizes[-1]]
                print(f"  {name:4} {sizes[-1]} / {sizes[0]} images: parent "
                      f"{last['parent_mib'] / first['parent_mib']:.2f}x, worker "
                      f"{last['worker_mib'] / first['worker_mib']:.2f}x")
        if args.json:
            Path(args.json).write_text(json.dumps({"memory": all_peaks, "machine": machine},
                                                  indent=1))
        return 0

    names = ["tiny", "egl"] if args.renderer == "all" else [args.renderer]
    if args.scaling:
        table = {}
        for name in [n for n in names if n != "cycles"]:
            print(f"{name}: 1 worker, seconds an image, steady state ({machine})")
            table[name] = scaling(args.scenario, args.images, name)
        if args.json:
            Path(args.json).write_text(json.dumps({"scaling": table, "machine": machine},
                                                  indent=1))
        return 0
    results = []
    cycles = None
    if ("cycles" in names or args.renderer == "all") and not args.default_only:
        # Not the rows below: one Cycles image costs what a hundred of EGL's do.
        names = [n for n in names if n != "cycles"]
        cycles = bench_cycles(args.scenario, args.images if args.renderer == "cycles"
                              else max(2, args.images // 8), args.workers)
    default = None
    if args.renderer == "all" or args.default_only:
        default = bench_default(args.scenario, args.images, args.workers, args.rounds)
    for name in ([] if args.default_only else names):
        try:
            results.append(bench_renderer(args.scenario, args.images, name, args.workers,
                                          args.rounds))
        except simgen.SimgenError as err:  # egl that does not start here
            print(f"(skipping {name}: {err})")
    spec = simgen.load_scenario(args.scenario).spec
    print(f"simgen benchmark: {Path(args.scenario).name}, {spec.image.width}x{spec.image.height}, "
          f"{spec.views_per_scene} views/scene, {args.images} images x {args.rounds} rounds "
          f"(medians), photometric augmentation, one render thread per worker, {machine}")
    if default is not None:
        print(f"\ndefault path: simgen generate with the scenario's settings (renderer auto: "
              f"{default['renderer']}, occlusion {default['occlusion']}, "
              f"{default['views_per_scene']} views/scene), {default['workers']} workers, against "
              f"the naive loop (one view a scene, TinyRenderer) on {default['workers']} processes:")
        for row, rate in default["images_per_s"].items():
            print(f"  {row:49} {rate:9.2f}")
        print(f"  simgen / naive loop: {default['ratio']:.2f}x (rounds: "
              + ", ".join(f"{v:.2f}" for v in default["ratio_rounds"]) + ")")
    for result in results:
        print(f"\nrenderer {result['renderer']}{'':31} {'images/s':>9} {'x R0':>6}")
        for row, rate in result["images_per_s"].items():
            print(f"  {row:49} {rate:9.2f} {result['ratio_to_R0'][row]:6.2f}")
        if result.get("R0_mesa_default_threads"):
            print(f"  {'(R0 with Mesa threads on every core: one process)':49} "
                  f"{result['R0_mesa_default_threads']:9.2f}")
        print(f"  {args.workers} workers / 1 worker: {result['workers_scaling']:.2f}x (rounds: "
              + ", ".join(f"{v:.2f}" for v in result["workers_scaling_rounds"])
              + "); 1 worker / R0 rounds: "
              + ", ".join(f"{v:.2f}" for v in result["ratio_1_worker_rounds"]))
        if "egl_new_client" in result:
            new = result["egl_new_client"]
            print(f"  new EGL client (frees the plugin's GL textures, +{new['mib_per_scene']:.1f}"
                  f" MiB a scene): {new['seconds']:.2f} s every {new['scenes_per_client']:.0f} "
                  f"scenes, {100 * new['share_of_1_worker_time']:.1f}% of a worker's time")
        if "streaming" in result:
            streamed = result["streaming"]
            print("  training input (simgen.torch, spawned workers, default target keys):")
            for row, rate in streamed["images_per_s"].items():
                print(f"    {row:47} {rate:9.2f}")
            print(f"    stream / generate: {streamed['stream_over_generate']:.2f}x, stream / "
                  f"read from disk: {streamed['stream_over_disk']:.3f}x (rounds: "
                  + ", ".join(f"{a:.2f} {b:.3f}" for a, b in zip(
                      streamed["stream_over_generate_rounds"],
                      streamed["stream_over_disk_rounds"])) + ")")
        else:
            print("  (no stream rows: torch is not installed; pip install -e '.[torch]')")
        print("  start-up (not in the rates): "
              + ", ".join(f"{k} {v:.1f} s" for k, v in result["startup_s"].items()))
        stages = dict(result["stage_seconds_1_worker"])
        beside = {k: stages.pop(k) for k in list(stages) if k.endswith(timing.BESIDE)}
        total = sum(stages.values()) or 1.0
        print("  time per stage, 1 worker: " + ", ".join(
            f"{k} {100 * v / total:.0f}%" for k, v in sorted(stages.items(), key=lambda kv: -kv[1]))
            + ("; on threads of their own, beside them: " + ", ".join(
                f"{k.removesuffix(timing.BESIDE)} {1000 * v / result['images']:.1f} ms of CPU "
                "an image" for k, v in sorted(beside.items())) if beside else ""))
    if cycles is not None:
        print(f"\nrenderer cycles (default settings: {cycles['samples']} samples, denoiser "
              f"{'on' if cycles['denoise'] else 'off'}), seconds per image end to end (whole "
              "runs, start-up included):")
        for row, seconds in cycles["seconds_per_image"].items():
            print(f"  {row:49} {seconds:9.2f}")
        for name, seconds in cycles["same_run_seconds_per_image_1_worker"].items():
            print(f"  {name + ', 1 worker (this run)':49} {seconds:9.3f}")
        print(f"  Blender's own render: {cycles['blender_render_s_per_image']:.2f} s an image; "
              f"not Blender's render: {100 * cycles['not_blender_share']:.1f}% of a worker's "
              f"steady-state time ({cycles['steady_seconds_per_image_1_worker']:.2f} s an image)")
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scenario": Path(args.scenario).name, "images": args.images, "rounds": args.rounds,
            "workers": args.workers,
            "results": results, "cycles": cycles, "default_vs_naive": default, "peak_rss_mib": peak_rss_mib(),
            "machine": machine,
            "python": sys.version.split()[0]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
