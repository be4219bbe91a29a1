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
from tests.scene.conftest import CUBE_HALF_M, HALF_WIDTH_AT_2M, cube_scenario, scene


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
        instances = cv2.imread(str(out / image["instance_map_file"]), cv2.IMREAD_UNCHANGED)
        assert depth.dtype == instances.dtype == np.uint16
        assert depth.shape == instances.shape == (image["height"], image["width"])
        assert image["depth_file"] in manifest["files"] and image["instance_map_file"] in manifest["files"]
        (ann,) = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        mask = mask_of(ann["segmentation"])
        assert ((instances == ann["instance_index"]) == mask).all()
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


def test_cuboid_keypoints_of_a_known_cube(tmp_path):
    scenario = simgen.load_scenario(cube_scenario(tmp_path, "fov_deg: 50"))
    out = tmp_path / "out"
    simgen.generate(scenario, out, images=3, renderer="tiny")
    data = json.loads((out / "annotations/instances_train.json").read_text())
    category = data["categories"][0]
    assert category["keypoints"] == geometry.CUBOID_KEYPOINT_NAMES
    assert len(category["skeleton"]) == 12
    for ann in data["annotations"]:
        image = next(im for im in data["images"] if im["id"] == ann["image_id"])
        box = ann["box3d"]
        assert np.allclose(box["size_m"], [2 * CUBE_HALF_M] * 3, atol=2.5e-3)
        assert np.allclose(box["center_local_m"], 0, atol=1e-3)
        K = np.array(image["camera"]["K"])
        pose = ann["pose_cam"]
        R = geometry.rotation_from_quaternion(pose["quaternion_xyzw"])
        truth = geometry.cuboid_points([0, 0, 0], [2 * CUBE_HALF_M] * 3) @ R.T + pose["position_m"]
        uv = truth @ K.T
        uv = uv[:, :2] / uv[:, 2:]
        kps = np.array(ann["keypoints"]).reshape(9, 3)
        assert (kps[:, 2] > 0).all() and ann["num_keypoints"] == 9   # all in frame
        assert np.allclose(kps[:, :2], uv, atol=0.3)                  # 1 mm of padding: < 0.3 px
        flags = kps[:8, 2]
        assert kps[8, 2] == 1                                         # the centre is never seen
        assert flags[np.argmin(truth[:8, 2])] == 2                    # nearest corner: visible
        assert flags[np.argmax(truth[:8, 2])] == 1                    # farthest: hidden by the cube
        assert 4 <= (flags == 2).sum() <= 7


def test_keypoints_outside_the_frame_are_flagged_zero(tmp_path):

    cube = scene(tmp_path, [(-HALF_WIDTH_AT_2M, 0.0, 0.3)])[1]
    flags = cube["keypoints"][2::3]
    assert flags.count(0) == 4 and cube["num_keypoints"] == 5   # the left four corners are out
    assert all(x == 0.0 for x, f in zip(cube["keypoints"][0::3], flags) if f == 0)
