"""sampling: sobol | halton covers a scenario's parameter space more evenly than i.i.d. draws,
and stays a pure function of (seed, scene index)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

import simgen
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from tests.conftest import REPO

SCENES = 128


def camera_points(mode: str, seed: int = 3) -> np.ndarray:
    """(azimuth, elevation) of view 0 of each scene, scaled to the unit square."""
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", [f"sampling={mode}"])
    points = []
    for index in range(SCENES):
        view = sample(scenario, scene_streams(seed, index).sampling, seed=seed,
                      scene_index=index).views[0]
        points.append([view.params["azimuth_deg"] / 360.0,
                       (view.params["elevation_deg"] - 25.0) / 45.0])
    return np.array(points)


@pytest.mark.parametrize("mode", ["sobol", "halton"])
def test_low_discrepancy_sampling_covers_cameras_more_evenly(mode):
    qmc_points, random_points = camera_points(mode), camera_points("random")
    assert ((0 <= qmc_points) & (qmc_points <= 1)).all()
    assert qmc.discrepancy(qmc_points) < 0.5 * qmc.discrepancy(random_points)


def test_sobol_scene_is_a_pure_function_of_seed_and_index():
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", ["sampling=sobol"])

    def draw(seed, index):
        return sample(scenario, scene_streams(seed, index).sampling, seed=seed,
                      scene_index=index)

    later_first = draw(5, 9)
    for index in range(9):
        draw(5, index)
    assert draw(5, 9) == later_first
    assert draw(6, 9) != later_first


def test_camera_pose_list_and_shadow_probability():
    scenario = simgen.load_scenario(REPO / "scenes/tabletop.yaml", [
        "camera.poses=[{position: [1, 0, 1.5], look_at: [0, 0, 0.6]},"
        " {position: [0, {uniform: [-1.1, -0.9]}, 1.2], look_at: [0, 0, 0.7]}]",
        "light.shadows=0.5"])
    seen_poses, shadows = set(), set()
    for index in range(40):
        drawn = sample(scenario, scene_streams(0, index).sampling)
        shadows.add(drawn.light.shadows)
        for view in drawn.views:
            pose = np.array(view.cam_to_world)
            which = view.params["pose_index"]
            seen_poses.add(which)
            if which == 0:
                assert np.allclose(pose[:3, 3], [1, 0, 1.5])
            else:
                assert pose[0, 3] == 0 and -1.1 <= pose[1, 3] <= -0.9
            target = np.array(view.params["look_at"])
            direction = (target - pose[:3, 3]) / np.linalg.norm(target - pose[:3, 3])
            assert np.allclose(pose[:3, 2], direction)  # the optical axis meets look_at
    assert seen_poses == {0, 1} and shadows == {True, False}
