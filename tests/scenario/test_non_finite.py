"""NaN and infinities are refused at load in every number a scenario holds, and a whole number
is taken only as one; each refusal is one line
naming the file, line and key (they passed `check` and failed mid-run with tracebacks)."""

from __future__ import annotations

import pytest

import simgen
from simgen.errors import ScenarioError

BASE = """\
name: finite
image: {width: 64, height: 48}
categories: [a]
objects:
  - {asset: "pybullet:cube_small.urdf", category: a, spawn: {box: {min: [0, 0, 0.1], max: [0, 0, 0.2]}}}
camera: {fov_deg: 50, look_at: [0, 0, 0], distance_m: 1}
"""


@pytest.mark.parametrize("setting, key", [
    ("camera.far_m=.inf", "camera.far_m"),
    ("camera.near_m=.nan", "camera.near_m"),
    ("camera.distance_m={uniform: [1, .inf]}", "camera.distance_m"),
    ("objects[0].spawn.box.min=[0, -.inf, 0]", "objects[0].spawn.box.min[1]"),
    ("light.direction=[1, .nan, 1]", "light.direction"),
    ("settle.velocity_threshold=.inf", "settle.velocity_threshold"),
    ("objects[0].scale={uniform: [.nan, 1]}", "objects[0].scale"),
])
def test_non_finite_numbers_are_refused_at_load(tmp_path, setting, key):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    simgen.load_scenario(path)          # the base is fine
    with pytest.raises(ScenarioError) as err:
        simgen.load_scenario(path, [setting])
    assert err.value.key_path.startswith(key), str(err.value)
    assert "finite" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("setting", ["views_per_scene=yes", "views_per_scene='4'",
                                     "views_per_scene=4.0", "image.width='160'",
                                     "placement.max_tries=2.5"])
def test_a_whole_number_is_taken_only_as_one(tmp_path, setting):
    """`yes`, "160" and 4.0 were read as 1, 160 and 4 where a whole number is meant."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    with pytest.raises(ScenarioError, match="input should be a valid integer"):
        simgen.load_scenario(path, [setting])
    key, _, value = setting.partition("=")
    if value in ("4.0",):
        assert simgen.load_scenario(path, [f"{key}=4"]).spec.views_per_scene == 4
