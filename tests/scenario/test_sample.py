"""Tests for simgen.scenario.sample: deterministic scene draws, ranges, intrinsics and poses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simgen.scenario import Scenario, load
from simgen.scenario.sample import SceneSample, sample

SCENARIO = """\
name: sampled
image: {width: 80, height: 60}
views_per_scene: 3
categories: [plate, mug, cup]
static:
  - {asset: "pybullet:plane.urdf"}
  - asset: "pybullet:plane.urdf"
    position: [1, 2, {uniform: [0.1, 0.2]}]
    scale: 2
objects:
  - asset: "pybullet:objects/mug.urdf"
    category: mug
    count: {randint: [1, 3]}
    scale: {uniform: [0.9, 1.1]}
    spawn: {box: {min: [-0.2, -0.1, 0.5], max: [0.2, 0.1, 0.7]}}
  - asset: "pybullet:objects/mug.urdf"
    category: plate
    count: 2
    spawn: {box: {min: [1.0, 2.0, 3.0], max: [1.5, 2.5, 3.1]}}
    orientation_deg: [90, 0, 0]
camera:
  fov_deg: {uniform: [40, 70]}
  look_at: [0.1, -0.2, {uniform: [0.3, 0.5]}]
  distance_m: {uniform: [0.8, 1.3]}
  azimuth_deg: {uniform: [0, 360]}
  elevation_deg: {uniform: [20, 70]}
light:
  direction: [{uniform: [-1, 1]}, {uniform: [-1, 1]}, 2]
  ambient: {uniform: [0.5, 0.7]}
"""

SEEDS = range(40)


def _load(folder: Path, text: str = SCENARIO, overrides=()) -> Scenario:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "s.yaml"
    path.write_text(text, encoding="utf-8")
    return load(path, overrides)


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return _load(tmp_path / "scn")


def _draw(scenario: Scenario, seed: int, index: int) -> SceneSample:
    return sample(scenario, np.random.SeedSequence([seed, index]))


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_same_scene(scenario: Scenario) -> None:
    a, b = _draw(scenario, 7, 3), _draw(scenario, 7, 3)
    assert a.provenance() == b.provenance()
    assert a.views == b.views
    assert a == b


def test_same_seed_same_scene_across_loads(tmp_path: Path) -> None:
    a = _draw(_load(tmp_path / "one"), 11, 0)
    b = _draw(_load(tmp_path / "two"), 11, 0)
    assert a.provenance() == b.provenance()
    assert a.views == b.views


def test_different_scene_index_differs(scenario: Scenario) -> None:
    a, b = _draw(scenario, 7, 3), _draw(scenario, 7, 4)
    assert a.provenance() != b.provenance()
    assert a.views != b.views


def test_different_seed_differs(scenario: Scenario) -> None:
    assert _draw(scenario, 1, 0).provenance() != _draw(scenario, 2, 0).provenance()


def test_sampling_ignores_global_numpy_state(scenario: Scenario) -> None:
    np.random.seed(1)
    a = _draw(scenario, 5, 5)
    np.random.seed(99)
    np.random.random(10)
    b = _draw(scenario, 5, 5)
    assert a.provenance() == b.provenance() and a.views == b.views


def test_streams_are_independent(tmp_path: Path, scenario: Scenario) -> None:
    # A different light draw must leave the objects and the cameras as they were.
    other = _load(tmp_path / "other", SCENARIO.replace("ambient: {uniform: [0.5, 0.7]}",
                                                       "ambient: {uniform: [0.1, 0.2]}"))
    a, b = _draw(scenario, 3, 2), _draw(other, 3, 2)
    assert a.light != b.light
    assert a.objects == b.objects
    assert a.static == b.static
    assert a.views == b.views


def test_provenance_is_json_data_without_paths(scenario: Scenario) -> None:
    import json

    prov = _draw(scenario, 0, 0).provenance()
    assert set(prov) == {"static", "robots", "objects", "distractors", "light"}
    keys = {"asset", "position_m", "quaternion_xyzw", "scale", "fixed", "category_id",
            "group_index", "name", "appearance", "physics", "spawn", "collision"}
    assert all(set(body) == keys for body in prov["static"] + prov["objects"])
    assert json.loads(json.dumps(prov)) == json.loads(json.dumps(prov, sort_keys=True))
    assert str(Path(scenario.asset_paths["pybullet:plane.urdf"]).parent) not in json.dumps(prov)
    assert prov["objects"][0]["asset"] == "pybullet:objects/mug.urdf"


# --- objects ----------------------------------------------------------------------------------

def test_object_count_within_randint_range(scenario: Scenario) -> None:
    seen = set()
    for seed in SEEDS:
        objects = _draw(scenario, seed, 0).objects
        mugs = [o for o in objects if o.group_index == 0]
        plates = [o for o in objects if o.group_index == 1]
        assert 1 <= len(mugs) <= 3
        assert len(plates) == 2
        seen.add(len(mugs))
        # groups in order: every group-0 body comes before every group-1 body
        assert [o.group_index for o in objects] == [0] * len(mugs) + [1] * 2
    assert seen == {1, 2, 3}


def test_positions_inside_the_spawn_box(scenario: Scenario) -> None:
    boxes = {0: ((-0.2, -0.1, 0.5), (0.2, 0.1, 0.7)), 1: ((1.0, 2.0, 3.0), (1.5, 2.5, 3.1))}
    for seed in SEEDS:
        for body in _draw(scenario, seed, 1).objects:
            low, high = boxes[body.group_index]
            for value, lo, hi in zip(body.position_m, low, high):
                assert lo - 1e-9 <= value <= hi + 1e-9


def test_positions_spread_over_the_box(scenario: Scenario) -> None:
    xs = [b.position_m[0] for seed in SEEDS for b in _draw(scenario, seed, 0).objects
          if b.group_index == 0]
    assert min(xs) < -0.1 and max(xs) > 0.1


def test_category_ids_follow_declared_order(scenario: Scenario) -> None:
    # categories: [plate, mug, cup]; group 0 is a mug (id 2), group 1 a plate (id 1)
    for seed in range(5):
        for body in _draw(scenario, seed, 0).objects:
            assert body.category_id == {0: 2, 1: 1}[body.group_index]
            assert body.fixed is False


def test_object_scale_and_orientation(scenario: Scenario) -> None:
    for seed in range(10):
        for body in _draw(scenario, seed, 0).objects:
            q = np.array(body.quaternion_xyzw)
            assert abs(np.linalg.norm(q) - 1.0) < 1e-8
            if body.group_index == 0:
                assert 0.9 <= body.scale <= 1.1
                # default orientation: roll = pitch = 0, yaw uniform: a rotation about z
                assert abs(q[0]) < 1e-8 and abs(q[1]) < 1e-8
            else:
                assert body.scale == 1.0
                h = math.sqrt(0.5)
                assert np.allclose(q, [h, 0.0, 0.0, h], atol=1e-8)   # 90 deg about x


def test_static_bodies(scenario: Scenario) -> None:
    s = _draw(scenario, 0, 0)
    assert len(s.static) == 2
    plane, second = s.static
    assert plane.position_m == (0.0, 0.0, 0.0)
    assert plane.quaternion_xyzw == (0.0, 0.0, 0.0, 1.0)
    assert plane.fixed is True and plane.category_id is None and plane.scale == 1.0
    assert second.position_m[:2] == (1.0, 2.0) and 0.1 <= second.position_m[2] <= 0.2
    assert second.scale == 2.0
    assert plane.path == scenario.asset_paths["pybullet:plane.urdf"]


def test_light(scenario: Scenario) -> None:
    light = _draw(scenario, 0, 0).light
    # [uniform(-1, 1), uniform(-1, 1), 2], normalized on draw
    assert abs(sum(v * v for v in light.direction) - 1.0) < 1e-6
    unscaled = [v * 2.0 / light.direction[2] for v in light.direction]
    assert -1 <= unscaled[0] <= 1 and -1 <= unscaled[1] <= 1
    assert 0.5 <= light.ambient <= 0.7
    assert (light.color, light.distance_m, light.diffuse, light.specular, light.shadows) == (
        (1.0, 1.0, 1.0), 4.0, 0.35, 0.05, True)


# --- cameras ----------------------------------------------------------------------------------

def test_views_per_scene_and_image_size(scenario: Scenario) -> None:
    views = _draw(scenario, 0, 0).views
    assert len(views) == 3
    for view in views:
        assert (view.width, view.height) == (80, 60)
        assert (view.near_m, view.far_m) == (0.01, 20.0)
    assert len({v.params["azimuth_deg"] for v in views}) == 3


def test_intrinsics_from_vertical_fov(scenario: Scenario) -> None:
    w, h = 80, 60
    for seed in range(10):
        for view in _draw(scenario, seed, 0).views:
            f = view.params["fov_deg"]
            assert 40.0 <= f <= 70.0
            fy = (h / 2) / math.tan(math.radians(f) / 2)
            K = view.K_array
            assert K.shape == (3, 3)
            assert K[1, 1] == pytest.approx(fy, abs=1e-6)
            assert K[0, 0] == pytest.approx(fy, abs=1e-6)    # square pixels
            assert K[0, 2] == (w - 1) / 2 == 39.5
            assert K[1, 2] == (h - 1) / 2 == 29.5
            assert K[0, 1] == 0.0 and K[1, 0] == 0.0
            assert K[2].tolist() == [0.0, 0.0, 1.0]


def test_fixed_fov_gives_known_focal_length(tmp_path: Path) -> None:
    sc = _load(tmp_path / "fixed", SCENARIO, ["camera.fov_deg=90", "image={width: 101, height: 50}"])
    K = _draw(sc, 0, 0).views[0].K_array
    assert K[1, 1] == pytest.approx(25.0, abs=1e-9)    # (50/2) / tan(45 deg)
    assert K[0, 2] == 50.0 and K[1, 2] == 24.5


def test_intrinsics_from_focal_lengths(tmp_path: Path) -> None:
    text = SCENARIO.replace("  fov_deg: {uniform: [40, 70]}\n",
                            "  fx: 100\n  fy: {uniform: [110, 120]}\n  cx: 40.25\n")
    K = _draw(_load(tmp_path / "focal", text), 0, 0).views[0].K_array
    assert K[0, 0] == 100.0 and 110.0 <= K[1, 1] <= 120.0
    assert K[0, 2] == 40.25 and K[1, 2] == 29.5


def test_camera_distance_and_viewing_direction(scenario: Scenario) -> None:
    for seed in range(10):
        for view in _draw(scenario, seed, 2).views:
            pose = view.pose_array
            assert pose.shape == (4, 4)
            assert pose[3].tolist() == [0.0, 0.0, 0.0, 1.0]
            eye = pose[:3, 3]
            look_at = np.array(view.params["look_at"])
            assert look_at[0] == 0.1 and look_at[1] == -0.2 and 0.3 <= look_at[2] <= 0.5
            d = view.params["distance_m"]
            assert 0.8 <= d <= 1.3
            assert np.linalg.norm(eye - look_at) == pytest.approx(d, abs=1e-7)
            # z (3rd column) points from the camera at look_at
            z = pose[:3, 2]
            assert np.allclose(z, (look_at - eye) / np.linalg.norm(look_at - eye), atol=1e-7)
            R = pose[:3, :3]
            assert np.allclose(R.T @ R, np.eye(3), atol=1e-7)
            assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-7)
            assert abs(R[2, 0]) < 1e-7          # x axis horizontal (world z up)
            assert R[2, 1] < 0                  # OpenCV y points down in the world


def test_camera_orbit_angles(scenario: Scenario) -> None:
    for view in _draw(scenario, 4, 0).views:
        p = view.params
        az, el, d = (math.radians(p["azimuth_deg"]), math.radians(p["elevation_deg"]),
                     p["distance_m"])
        assert 0 <= p["azimuth_deg"] <= 360 and 20 <= p["elevation_deg"] <= 70
        offset = view.pose_array[:3, 3] - np.array(p["look_at"])
        expected = d * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az),
                                 math.sin(el)])
        assert np.allclose(offset, expected, atol=1e-7)


def test_look_at_projects_to_the_principal_point(scenario: Scenario) -> None:
    from simgen.geometry import project_points

    for view in _draw(scenario, 9, 9).views:
        uv = project_points(view.K_array, view.pose_array, np.array([view.params["look_at"]]))
        assert np.allclose(uv[0], [39.5, 29.5], atol=1e-5)
