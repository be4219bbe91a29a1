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


# --- finite but absurd: refused at load, not rendered as blank images -------------------------

@pytest.mark.parametrize("setting, key, message", [
    # each of these made every image blank (0 annotations, exit 0) or overflowed mid-run
    ("camera.near_m=1e-300", "camera.near_m", "greater than or equal to 0.0001"),
    ("camera.far_m=1e308", "camera.far_m", "1e+308 is beyond +-1e+06"),
    ("camera.far_m=1e5", "camera", "far_m / near_m must be at most 1e+06"),
    ("camera.distance_m=1e30", "camera.distance_m", "1e+30 is beyond +-1e+06"),
    ("camera.distance_m=50", "camera", "distance_m must lie between near_m and far_m"),
    ("camera.distance_m={uniform: [0.005, 2]}", "camera",
     "distance_m must lie between near_m and far_m"),
    ("camera={fx: 1e5, fy: 50, look_at: [0, 0, 0], distance_m: 1}", "camera.fx",
     "with an image 64 px across, 100000.0 gives a field of view of 0.0367 to 0.0367 degrees"),
    ("camera={fx: 50, fy: {uniform: [0.1, 50]}, look_at: [0, 0, 0], distance_m: 1}",
     "camera.fy", "gives a field of view of 51.3 to 180 degrees"),
    ("objects[0].spawn.box.max=[0, 0, 1e300]", "objects[0].spawn.box.max[2]",
     "1e+300 is beyond +-1e+06, larger than any length"),
    ("objects[0].scale={uniform: [-1e308, 1e308]}", "objects[0].scale.uniform[0]",
     "-1e+308 is beyond"),
    ("light.distance_m=1e7", "light.distance_m", "10000000.0 is beyond"),
])
def test_finite_extremes_are_refused_at_load(tmp_path, setting, key, message):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    with pytest.raises(ScenarioError) as err:
        simgen.load_scenario(path, [setting])
    assert err.value.key_path.split(" (from --set")[0] == key, str(err.value)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_focal_lengths_within_the_field_of_view_bounds_load(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    spec = simgen.load_scenario(
        path, ["camera={fx: {uniform: [40, 80]}, fy: 60, look_at: [0, 0, 0], "
               "distance_m: 1, near_m: 0.001, far_m: 1000}"]).spec
    assert spec.camera.fx.support() == (40, 80) and spec.camera.far_m == 1000


@pytest.mark.parametrize("text, value", [("1e3", 1e3), ("-2E-3", -2e-3), ("1.5e+2", 150.0)])
def test_exponent_numbers_are_numbers(tmp_path, text, value):
    """PyYAML (YAML 1.1) read 1e5 as the string '1e5': refused where a distribution was meant,
    quietly converted where a plain float was."""
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("distance_m: 1}", f"distance_m: 1, far_m: {text}}}")
                    if value > 1 else BASE.replace("max: [0, 0, 0.2]", f"max: [0, 0, {text}]"))
    if value > 1:
        assert simgen.load_scenario(path).spec.camera.far_m == value
    else:
        with pytest.raises(ScenarioError, match="min must be <= max"):
            simgen.load_scenario(path)


@pytest.mark.parametrize("setting", ["camera.near_m='0.05'", "camera.far_m=true",
                                     "objects[0].spawn.box.min=['0', 0, 0.1]"])
def test_a_number_is_taken_only_as_one(tmp_path, setting):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    with pytest.raises(ScenarioError, match="input should be a valid number"):
        simgen.load_scenario(path, [setting])


MANY = """\
name: many
image: {width: 64, height: 48}
categories: [a]
objects:
GROUPS
placement: {max_tries: TRIES}
camera: {fov_deg: 50, look_at: [0, 0, 0], distance_m: 1}
"""
GROUP = """  - {asset: "pybullet:cube_small.urdf", category: a, count: 200,
     spawn: {box: {min: [0, 0, 0.1], max: [0.1, 0.1, 0.2]}}}
"""


@pytest.mark.parametrize("groups, tries, key, message", [
    # the attack: 20 x 200 objects, 1000 tries each, ran past 300 s for one image
    (20, 1000, "objects", "a scene may hold up to 4000 bodies"),
    (2, 1000, "placement.max_tries", "400 bodies x 1000 tries is 400000 candidate poses"),
])
def test_placement_work_is_bounded_at_load(tmp_path, groups, tries, key, message):
    path = tmp_path / "s.yaml"
    path.write_text(MANY.replace("GROUPS\n", GROUP * groups).replace("TRIES", str(tries)))
    with pytest.raises(ScenarioError) as err:
        simgen.load_scenario(path)
    assert err.value.key_path == key and message in str(err.value)
    path.write_text(MANY.replace("GROUPS\n", GROUP * 5).replace("TRIES", "100"))
    assert simgen.load_scenario(path).spec.placement.max_tries == 100   # 1000 x 100: fine
