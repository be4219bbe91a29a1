#!/usr/bin/env python3
"""simgen benchmark: end-to-end speed against a raw render-only loop, measured in one run.

For each renderer (tiny, and egl where it starts): R0 is PyBullet rendering the same settled
scenes, views and resolution with nothing else; each end-to-end row is `simgen.generate` on the
same scenario and seed, with a photometric augmentation. A ratio near 1 means everything that is
not rendering (sampling, physics, labels, augmentation, encoding, writing) is small beside it.
Also: what exact occlusion labels cost (each visible object rendered alone), 1 against N
workers, the share of time per stage (1 worker), and peak memory.

    python3 scripts/benchmark.py [--scenario scenes/tabletop.yaml] [--images 24]
                                 [--renderer all|tiny|egl] [--workers N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import simgen
from simgen.render import start_renderer
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World


def render_only(scenario, images: int, renderer: str) -> tuple[float, str]:
    """Images/s of rendering alone: scenes are settled first, outside the timed loop."""
    views = scenario.spec.views_per_scene
    with World() as world:
        render = start_renderer(world, renderer)
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


PHOTOMETRIC = ("augment={pipeline: [{RandomBrightnessContrast: {p: 1}}, "
               "{HueSaturationValue: {p: 1}}]}")


def end_to_end(scenario, images: int, renderer: str, workers: int = 1) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        simgen.generate(scenario, Path(out) / "ds", images=images, seed=0, renderer=renderer,
                        workers=workers)
        return images / (time.perf_counter() - start)


def peak_rss_mib() -> float:
    """Peak resident memory of this process and of its finished children (workers), MiB."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024.0


def bench_renderer(path: str, images: int, renderer: str, workers: int) -> dict:
    from simgen import timing

    none = simgen.load_scenario(path, ["labels.occlusion=none", PHOTOMETRIC])
    exact = simgen.load_scenario(path, ["labels.occlusion=exact", PHOTOMETRIC])
    r0, name = render_only(none, images, renderer)
    timing.enable()
    one = end_to_end(none, images, name)
    stages = timing.totals()
    timing.enable(False)
    rows = {"R0 render only": r0,
            "end to end, 1 worker, occlusion none": one,
            "end to end, 1 worker, occlusion exact": end_to_end(exact, images, name),
            f"end to end, {workers} workers, occlusion none": end_to_end(none, images, name, workers)}
    return {"renderer": name, "images_per_s": rows,
            "ratio_to_R0": {k: v / r0 for k, v in rows.items()},
            "workers_scaling": rows[f"end to end, {workers} workers, occlusion none"] / one,
            "stage_seconds_1_worker": stages}


def main() -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(Path(__file__).parent.parent / "scenes/tabletop.yaml"))
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--renderer", default="all", choices=("all", "tiny", "egl"))
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    names = ["tiny", "egl"] if args.renderer == "all" else [args.renderer]
    results = []
    for name in names:
        try:
            results.append(bench_renderer(args.scenario, args.images, name, args.workers))
        except simgen.SimgenError as err:  # egl that does not start here
            print(f"(skipping {name}: {err})")
    spec = simgen.load_scenario(args.scenario).spec
    print(f"simgen benchmark: {Path(args.scenario).name}, {spec.image.width}x{spec.image.height}, "
          f"{spec.views_per_scene} views/scene, {args.images} images, photometric augmentation, "
          f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores")
    for result in results:
        print(f"\nrenderer {result['renderer']}{'':22} {'images/s':>9} {'x R0':>6}")
        for row, rate in result["images_per_s"].items():
            print(f"  {row:40} {rate:9.2f} {result['ratio_to_R0'][row]:6.2f}")
        print(f"  {args.workers} workers / 1 worker: {result['workers_scaling']:.2f}x")
        stages = result["stage_seconds_1_worker"]
        total = sum(stages.values()) or 1.0
        print("  time per stage, 1 worker: " + ", ".join(
            f"{k} {100 * v / total:.0f}%" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])))
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scenario": Path(args.scenario).name, "images": args.images, "workers": args.workers,
            "results": results, "peak_rss_mib": peak_rss_mib(),
            "python": sys.version.split()[0]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
