"""Helpers shared by the scene tests: a cube of known size, scenarios that place cubes where
the expected labels can be worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import simgen

CUBE_HALF_M = 0.05
CUBE_URDF = f"""<?xml version="1.0"?>
<robot name="cube"><link name="base">
  <inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial>
  <visual><geometry><box size="{2 * CUBE_HALF_M} {2 * CUBE_HALF_M} {2 * CUBE_HALF_M}"/></geometry>
    <material name="c"><color rgba="0.8 0.2 0.2 1"/></material></visual>
  <collision><geometry><box size="{2 * CUBE_HALF_M} {2 * CUBE_HALF_M} {2 * CUBE_HALF_M}"/></geometry></collision>
</link></robot>
"""


def cube_scenario(folder: Path, camera: str) -> Path:
    (folder / "cube.urdf").write_text(CUBE_URDF)
    path = folder / "cube.yaml"
    path.write_text(f"""
name: cube
image: {{width: 200, height: 150}}
views_per_scene: 3
categories: [cube]
objects:
  - asset: cube.urdf
    category: cube
    spawn: {{box: {{min: [0.1, -0.05, 0.3], max: [0.1, -0.05, 0.3]}}}}
    orientation_deg: [10, 20, 30]
camera:
  {camera}
  look_at: [0, 0, 0.25]
  distance_m: 0.9
  azimuth_deg: {{uniform: [0, 360]}}
  elevation_deg: {{uniform: [10, 80]}}
settle: {{max_steps: 0}}
labels: {{min_pixels: 1}}
""")
    return path


HALF_WIDTH_AT_2M = float(99.5 / (75 / np.tan(np.radians(15))) * 2)  # frame half-width at 2 m


def scene(tmp_path, cubes: list[tuple[float, float, float]], extra: str = "",
          renderer: str = "tiny") -> dict:
    (tmp_path / "cube.urdf").write_text(CUBE_URDF)
    groups = "\n".join(
        f"  - {{asset: cube.urdf, category: cube{i}, count: 1, orientation_deg: [0, 0, 0],\n"
        f"     spawn: {{box: {{min: {list(c)}, max: {list(c)}}}}}}}"
        for i, c in enumerate(cubes))
    (tmp_path / "s.yaml").write_text(f"""
name: occlusion
image: {{width: 200, height: 150}}
categories: [{", ".join(f"cube{i}" for i in range(len(cubes)))}]
objects:
{groups}
camera:
  fov_deg: 30
  poses: [{{position: [0, -2, 0.3], look_at: [0, 0, 0.3]}}]
settle: {{max_steps: 0}}
labels: {{min_pixels: 1{extra}}}
""")
    out = tmp_path / "out"
    simgen.generate(simgen.load_scenario(tmp_path / "s.yaml"), out, images=1, renderer=renderer)
    data = json.loads((out / "annotations/instances_train.json").read_text())
    return {a["category_id"]: a for a in data["annotations"]}
