"""Every arm the scenario library names (Panda, KUKA iiwa, xArm) places within its joint limits
and without touching the table, and can be labeled as one instance."""

from __future__ import annotations

import json

import pytest

import simgen
from simgen.scenario.assets import pybullet_data_root, urdf_joints

ARMS = ["pybullet:franka_panda/panda.urdf", "pybullet:kuka_iiwa/model.urdf",
        "pybullet:xarm/xarm6_robot.urdf"]


@pytest.mark.parametrize("arm", ARMS, ids=lambda a: a.split("/")[0].split(":")[1])
def test_arm_placed_within_limits_and_labeled(tmp_path, arm):
    (tmp_path / "arm.yaml").write_text(f"""
name: arm
image: {{width: 96, height: 72}}
views_per_scene: 2
categories: [robot_arm, mug]
static:
  - {{asset: "pybullet:plane.urdf", name: floor}}
  - {{asset: "pybullet:table/table.urdf", name: table}}
robots:
  - {{asset: "{arm}", category: robot_arm, position: [-0.4, 0, 0.625]}}
objects:
  - {{asset: "pybullet:objects/mug.urdf", category: mug, count: 1,
     spawn: {{surface: {{min: [0.2, -0.3, 0.5], max: [0.5, 0.3, 0.9]}}}}}}
camera: {{fov_deg: 60, look_at: [-0.2, 0, 0.9], distance_m: 2.2, azimuth_deg: {{uniform: [-40, 40]}},
         elevation_deg: 20}}
settle: {{max_steps: 60}}
labels: {{min_pixels: 1}}
""")
    out = tmp_path / "out"
    simgen.generate(simgen.load_scenario(tmp_path / "arm.yaml"), out, images=6, renderer="tiny")
    data = json.loads((out / "annotations/instances_train.json").read_text())
    limits = {name: (low, high) for name, _, low, high in
              urdf_joints(pybullet_data_root() / arm.split(":", 1)[1])}
    robot_annotations = [a for a in data["annotations"] if a["category_id"] == 1]
    assert len(robot_annotations) == 6 and all(a["robot_index"] == 0 for a in robot_annotations)
    for image in data["images"]:
        joints = image["provenance"]["scene"]["robots"][0]["joints"]
        assert set(joints) == set(limits)
        assert all(limits[n][0] - 1e-9 <= v <= limits[n][1] + 1e-9 for n, v in joints.items())
    for ann in robot_annotations:
        # The deepest overlap of any link; the xArm's base plate mesh itself sits 1.5 mm into
        # the table top it stands on, so 2 mm is the bound (an arm link through the table or
        # the mug would be centimetres).
        assert ann["physics"]["penetration_m"] < 2e-3
