"""The render, the stored K and the stored pose agree: a cube's box is its projected corners'."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import simgen
from simgen import geometry
from tests.scene.conftest import CUBE_HALF_M, cube_scenario

@pytest.mark.parametrize("camera", ["fov_deg: 50", "{fx: 180, fy: 150, cx: 80.5, cy: 90}"],
                         ids=["fov", "off-centre-K"])
@pytest.mark.parametrize("renderer", ["tiny", "egl", "cycles"])
def test_cube_box_equals_its_projected_corners(tmp_path, camera, renderer):
    if camera.startswith("{"):
        camera = "\n  ".join(f"{k.strip()}: {v.strip()}" for k, v in
                             (kv.split(":") for kv in camera.strip("{}").split(",")))
    scenario = simgen.load_scenario(cube_scenario(tmp_path, camera))
    out = tmp_path / "out"
    result = simgen.generate(scenario, out, images=3, renderer=renderer)
    assert result.renderer == renderer
    data = json.loads((out / "annotations/instances_train.json").read_text())
    assert len(data["annotations"]) == 3
    for ann in data["annotations"]:
        image = next(im for im in data["images"] if im["id"] == ann["image_id"])
        K, pose = np.array(image["camera"]["K"]), np.array(image["camera"]["cam_to_world"])
        placed = image["provenance"]["scene"]["objects"][0]
        R = geometry.rotation_from_quaternion(placed["quaternion_xyzw"])
        corners = np.array(list(itertools.product([-CUBE_HALF_M, CUBE_HALF_M], repeat=3)))
        uv = project_corners = geometry.project_points(K, pose, corners @ R.T + placed["position_m"])
        # Pixel centres are integers, so a pixel u is covered from u - 0.5 to u + 0.5.
        expected = [np.floor(uv[:, 0].min() + 0.5), np.floor(uv[:, 1].min() + 0.5),
                    np.ceil(uv[:, 0].max() - 0.5), np.ceil(uv[:, 1].max() - 0.5)]
        x, y, w, h = ann["bbox"]
        assert np.allclose([x, y, x + w - 1, y + h - 1], expected, atol=1.0), (ann["bbox"], project_corners)
