#!/usr/bin/env python3
"""The README's renderer figure: one settled scene under tiny, EGL and Cycles, side by side,
with the instance map (the same for all three) below.

    python3 scripts/renderer_figure.py [--scenario tabletop] [--scene 0] [-o docs/renderers.jpg]

Each view is rendered from the same settled PyBullet scene, so only the renderer differs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

import simgen
from simgen.render import RendererUnavailable, start_renderer
from simgen.scenario.look import draw_look
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World

HERE = Path(__file__).resolve().parent
DRESSED = ["cycles.sky={strength: 0.02, sun_elevation_deg: 35, sun_rotation_deg: 60}",
           "cycles.sun={strength: 1.5, angle_deg: 4}",
           "cycles.view_transform=AgX", "cycles.exposure=-0.3",
           "cycles.materials=[{section: objects, roughness: 0.25, specular: 0.6}, "
           "{section: static, roughness: 0.6}]",
           "cycles.lights=[{type: area, position: [0.5, -0.6, 1.6], look_at: [0, 0, 0.63], "
           "power_w: 10, size_m: 0.6}]"]


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.rectangle(out, (0, 0), (8 + 11 * len(text), 26), (0, 0, 0), -1)
    cv2.putText(out, text, (5, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def _colour_instances(instance_map: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(3)
    palette = rng.integers(60, 255, (int(instance_map.max()) + 1, 3), dtype=np.uint8)
    palette[0] = 0
    return palette[instance_map]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="tabletop")
    parser.add_argument("--scene", type=int, default=0)
    parser.add_argument("--view", type=int, default=0)
    parser.add_argument("--set", dest="overrides", action="append",
                        default=["image.width=400", "image.height=300"])
    parser.add_argument("-o", "--out", default=str(HERE.parent / "docs" / "renderers.jpg"))
    args = parser.parse_args()

    scenario = simgen.load_scenario(args.scenario, args.overrides)
    streams = scene_streams(0, args.scene)
    drawn = sample(scenario, streams.sampling, seed=0, scene_index=args.scene)
    look = draw_look(scenario.spec.cycles, drawn, scenario.spec.categories, streams.look)
    # The same scene once more, dressed by a cycles section (sky, sun, a lamp, materials).
    dressed = simgen.load_scenario(args.scenario, [*args.overrides, *DRESSED])
    dressed_look = draw_look(dressed.spec.cycles, drawn, dressed.spec.categories, streams.look)
    camera = drawn.views[args.view]
    tiles, maps = [], {}
    for name, renderer_name, scene_look in (("tiny", "tiny", look), ("egl", "egl", look),
                                            ("cycles", "cycles", look),
                                            ("cycles, sky + materials", "cycles", dressed_look)):
        with World() as world:   # one renderer per world: EGL takes its client over
            try:   # started before the scene is built: EGL draws the bodies loaded after it
                renderer = start_renderer(world, renderer_name, scenario, threads=2)
            except (RendererUnavailable, simgen.SimgenError) as err:
                print(f"(no {name}: {err})", file=sys.stderr)
                continue
            settled = world.settle(drawn, scenario.spec.settle)
            frame = renderer.render(settled, camera, drawn.light, scene_look)
            maps[name] = frame.instance_map
            tiles.append(_label(frame.rgb, name))
    differing = {name: int((m != maps["tiny"]).sum()) for name, m in maps.items()}
    print("instance-map pixels that differ from tiny's:", differing)
    labels = _label(_colour_instances(maps["tiny"]), "instance map (every renderer)")
    while len(tiles) % 2 or len(tiles) < 4:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + 2]) for i in range(0, 4, 2)]
    figure = np.vstack(rows + [np.hstack([labels, np.zeros_like(labels)])])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), figure[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
