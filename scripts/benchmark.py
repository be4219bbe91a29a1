#!/usr/bin/env python3
"""simgen benchmark: end-to-end speed against a raw render-only loop, measured in one run.

R0 is PyBullet rendering the same settled scenes, views, resolution and renderer with nothing
else; each end-to-end row is `simgen.generate` on the same scenario and seed. A ratio near 1
means everything that is not rendering (sampling, physics, labels, encoding, writing) is small
beside it. Occlusion labels cost extra renders (each visible object alone); the table shows
what `labels.occlusion: exact` costs against `none`.

    python3 scripts/benchmark.py [--scenario scenes/tabletop.yaml] [--images 24]
                                 [--renderer auto|tiny|egl] [--json out.json]
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


def end_to_end(scenario, images: int, renderer: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        simgen.generate(scenario, Path(out) / "ds", images=images, seed=0, renderer=renderer)
        return images / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=str(Path(__file__).parent.parent / "scenes/tabletop.yaml"))
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--renderer", default="auto", choices=("auto", "tiny", "egl"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    rows = {}
    base = simgen.load_scenario(args.scenario, ["labels.occlusion=none"])
    r0, renderer = render_only(base, args.images, args.renderer)
    rows["R0 render only"] = r0
    rows["end to end, occlusion none"] = end_to_end(base, args.images, renderer)
    exact = simgen.load_scenario(args.scenario, ["labels.occlusion=exact"])
    rows["end to end, occlusion exact"] = end_to_end(exact, args.images, renderer)

    spec = base.spec
    print(f"simgen benchmark: {Path(args.scenario).name}, {spec.image.width}x{spec.image.height}, "
          f"{spec.views_per_scene} views/scene, {args.images} images, renderer {renderer}, "
          f"1 worker, {platform.processor() or platform.machine()}")
    print(f"{'':32} {'images/s':>9} {'x R0':>6}")
    for name, rate in rows.items():
        print(f"{name:32} {rate:9.2f} {rate / r0:6.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scenario": Path(args.scenario).name, "renderer": renderer, "images": args.images,
            "images_per_s": rows, "ratio_to_R0": {k: v / r0 for k, v in rows.items()},
            "python": sys.version.split()[0]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
