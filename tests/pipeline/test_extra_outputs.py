"""Optional depth and instance-id PNGs, and each instance's 6D pose in the camera frame."""

from __future__ import annotations

import itertools
import json

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import simgen
from simgen import geometry
from simgen.label import mask_of
from tests.pipeline.test_camera_agreement import CUBE_HALF_M, cube_scenario


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.floats(-180, 180)] * 3))
def test_quaternion_from_rotation_inverts_rotation_from_quaternion(rpy):
    q = geometry.quaternion_from_euler_deg(rpy)
    back = geometry.quaternion_from_rotation(geometry.rotation_from_quaternion(q))
    assert np.allclose(back, q, atol=1e-9) or np.allclose(back, -np.array(q), atol=1e-9)
    assert back[3] >= 0


def test_depth_instances_and_camera_pose_agree_with_the_render(tmp_path):
    scenario = simgen.load_scenario(cube_scenario(tmp_path, "fov_deg: 50"),
                                    ["outputs={depth: true, instance_ids: true}"])
    out = tmp_path / "out"
    simgen.generate(scenario, out, images=3, renderer="tiny")
    data = json.loads((out / "annotations/instances_train.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    corners = np.array(list(itertools.product([-CUBE_HALF_M, CUBE_HALF_M], repeat=3)))
    for image in data["images"]:
        depth = cv2.imread(str(out / image["depth_file"]), cv2.IMREAD_UNCHANGED)
        instances = cv2.imread(str(out / image["instances_file"]), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == instances.dtype == np.uint16
        assert depth.shape == instances.shape == (image["height"], image["width"])
        assert image["depth_file"] in manifest["files"] and image["instances_file"] in manifest["files"]
        (ann,) = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        mask = mask_of(ann["segmentation"])
        assert ((instances == ann["instance_id"]) == mask).all()
        assert (instances[~mask] == 0).all()
        # Only the cube is in view (no floor): depth is 0 exactly where the cube is not.
        assert (depth[~mask] == 0).all() and (depth[mask] > 0).all()
        # The camera-frame pose alone, with K, puts the cube where it was drawn ...
        pose = ann["pose_cam"]
        R = geometry.rotation_from_quaternion(pose["quaternion_xyzw"])
        cam_points = corners @ R.T + pose["position_m"]
        uv = cam_points @ np.array(image["camera"]["K"]).T
        uv = uv[:, :2] / uv[:, 2:]
        x, y, w, h = ann["bbox"]
        assert np.allclose([x, y, x + w - 1, y + h - 1],
                           [np.floor(uv[:, 0].min() + 0.5), np.floor(uv[:, 1].min() + 0.5),
                            np.ceil(uv[:, 0].max() - 0.5), np.ceil(uv[:, 1].max() - 0.5)], atol=1.0)
        # ... and at the depths the depth image holds (mm, to the millimetre).
        z = cam_points[:, 2]
        assert z.min() * 1000 - 1 <= depth[mask].min() and depth[mask].max() <= z.max() * 1000 + 1
