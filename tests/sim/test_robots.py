"""Robots: joint values set and drawn within the URDF limits, no link inside the set or the
objects, joint names and limits checked at load, and a robot labeled only with a category."""

from __future__ import annotations

from pathlib import Path

import pytest

import simgen
from simgen.scene import run_scene
from simgen.render import start_renderer
from simgen.sim import World

from tests.sim.conftest import PANDA, PLANE, TABLE, TABLE_TOP_Z_M, deepest_overlap_m, draw, load, robot_uid

JOINT_TOL = 1e-3   # rad / m: a fixed-base arm sags a little under gravity while objects settle


def panda_scene(category: str = "", joints: str = "{panda_joint1: 0.5}", extra: str = "gripper: 1.0",
                steps: int = 30, cans: int = 3) -> str:
    robot = f'asset: "{PANDA}", name: panda, position: [-0.45, 0, {TABLE_TOP_Z_M}], joints: {joints}'
    for part in (extra, category):
        if part:
            robot += f", {part}"
    return f"""\
categories: [can, robot_arm]
static:
{PLANE}{TABLE}robots:
  - {{{robot}}}
objects:
  - {{asset: catalog:can, category: can, count: {cans},
     spawn: {{surface: {{min: [-0.1, -0.4, 0.5], max: [0.5, 0.4, 1.0]}}}}}}
camera: {{fov_deg: 60, look_at: [-0.2, 0, 0.8], distance_m: 2.0, azimuth_deg: 0, elevation_deg: 30}}
settle: {{max_steps: {steps}}}
labels: {{min_pixels: 1}}
"""


@pytest.fixture(scope="module")
def world():
    with World() as w:
        yield w


def joint_states(world: World, uid: int) -> dict[str, tuple[float, float, float, int]]:
    """name -> (position, lower, upper, type) of every non-fixed joint."""
    p, cid = world.p, world.client
    out = {}
    for j in range(p.getNumJoints(uid, physicsClientId=cid)):
        info = p.getJointInfo(uid, j, physicsClientId=cid)
        if info[2] == p.JOINT_FIXED:
            continue
        out[info[1].decode()] = (p.getJointState(uid, j, physicsClientId=cid)[0], info[8], info[9],
                                 info[2])
    return out


def test_set_joint_gripper_and_drawn_joints_within_limits(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, panda_scene())
    limits = {name: (lo, hi) for name, _, lo, hi in scenario.robot_joints[0]}
    assert len(limits) == 9
    drawn_joint2 = set()
    for seed in range(5):
        settled = world.settle(draw(scenario, seed), scenario.spec.settle)
        uid = robot_uid(world)
        states = joint_states(world, uid)
        assert set(states) == set(limits)
        assert states["panda_joint1"][0] == pytest.approx(0.5, abs=JOINT_TOL)
        for finger in ("panda_finger_joint1", "panda_finger_joint2"):
            assert states[finger][0] == pytest.approx(0.04, abs=JOINT_TOL), (seed, finger)
        for name, (value, lower, upper, _) in states.items():
            assert (lower, upper) == pytest.approx(limits[name])
            assert lower - JOINT_TOL <= value <= upper + JOINT_TOL, (seed, name, value)
        drawn_joint2.add(round(states["panda_joint2"][0], 3))
        # The arm stands in one of its drawn joint candidates (the first that touches nothing).
        robot = settled.sample.robots[0]
        assert any(all(abs(states[name][0] - value) <= JOINT_TOL for name, value in candidate)
                   for candidate in robot.joint_candidates), seed
        assert all(dict(c)["panda_joint1"] == 0.5 for c in robot.joint_candidates)
    assert len(drawn_joint2) == 5   # the other joints are drawn anew for every scene


def test_no_robot_link_penetrates_the_table_or_objects(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, panda_scene(cans=4))
    for seed in range(5):
        settled = world.settle(draw(scenario, seed), scenario.spec.settle)
        robot = robot_uid(world)
        table = next(uid for uid, name in world._names.items() if name == "table")
        others = [table] + [uid for uid in settled.labeled_body_ids if uid >= 0]
        assert len(others) >= 1 + 3
        for other in others:
            depth = deepest_overlap_m(world, robot, other)
            assert depth <= 1e-3, (seed, world._names[other], depth)
        # and per link, from the contacts the world itself computed
        for contact in world.p.getContactPoints(bodyA=robot, physicsClientId=world.client):
            assert contact[8] >= -1e-3, (seed, contact[3], world._names.get(contact[2]), contact[8])


def test_other_joints_zero_holds_them_at_zero_within_limits(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, panda_scene(joints="{panda_joint4: -1.5, panda_joint6: 1.5}",
                                          extra="other_joints: zero", steps=0))
    world.settle(draw(scenario, 0), scenario.spec.settle)
    states = joint_states(world, robot_uid(world))
    assert states["panda_joint4"][0] == pytest.approx(-1.5, abs=1e-6)
    assert states["panda_joint6"][0] == pytest.approx(1.5, abs=1e-6)
    for name in ("panda_joint1", "panda_joint2", "panda_joint3", "panda_joint5", "panda_joint7",
                 "panda_finger_joint1", "panda_finger_joint2"):
        assert states[name][0] == pytest.approx(0.0, abs=1e-6), name


def test_unknown_joint_name_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, panda_scene(joints="{panda_joint1: 0.5, elbow_joint: 0.2}"))
    err = info.value
    assert err.key_path == "robots[0].joints.elbow_joint"
    assert "no movable joint 'elbow_joint'" in err.message
    assert "panda_joint1" in err.message          # the joints it does have are listed
    assert err.line is not None


@pytest.mark.parametrize("value", ["1.0", "{uniform: [-0.5, 0.5]}", "-3.5"])
def test_joint_value_outside_the_limits_is_a_scenario_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, panda_scene(joints=f"{{panda_joint4: {value}}}"))
    err = info.value
    assert err.key_path == "robots[0].joints.panda_joint4"
    assert "joint limits" in err.message
    assert "[-3.1416, 0]" in err.message


def test_unknown_gripper_joint_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, panda_scene(extra="gripper: 1.0, gripper_joints: [panda_finger_joint1, claw]"))
    assert info.value.key_path == "robots[0].gripper_joints[1]"
    assert "'claw'" in info.value.message


def test_robot_that_collides_in_every_draw_fails_naming_it(tmp_path: Path) -> None:
    # The arm's base under the table top: every link above it cuts through the top.
    text = panda_scene(steps=0).replace(f"position: [-0.45, 0, {TABLE_TOP_Z_M}]",
                                        "position: [0, 0, 0.45]")
    scenario = load(tmp_path, text)
    with pytest.raises(simgen.SimgenError, match=r"robots\[0\] \(panda\): every one of its 20 "
                                                 r"joint draws collides"):
        simgen.generate(scenario, tmp_path / "out", images=1, renderer="tiny")


def _robot_annotations(scenario, seeds=range(2)):
    with World() as world:
        renderer = start_renderer(world, "tiny")
        records = [run_scene(scenario, seed, 0, world, renderer, [0]).record for seed in seeds]
    return [ann for record in records for item in record["images"] for ann in item["annotations"]]


def test_robot_with_a_category_is_labeled_as_one_instance(tmp_path: Path) -> None:
    scenario = load(tmp_path, panda_scene(category="category: robot_arm"))
    annotations = _robot_annotations(scenario)
    robot = [a for a in annotations if "robot_index" in a]
    objects = [a for a in annotations if "object_index" in a]
    assert len(robot) == 2                       # one per image
    assert len(robot) + len(objects) == len(annotations)
    for ann in robot:
        assert ann["robot_index"] == 0
        assert ann["category_id"] == 2           # robot_arm, second declared category
        assert "object_index" not in ann
        assert ann["area"] > max(a["area"] for a in objects if a["image_id"] == ann["image_id"])
        assert set(ann["physics"]) == {"settled", "speed_mps", "spin_radps", "penetration_m",
                                       "rests_on"}
        assert ann["physics"]["speed_mps"] == 0.0      # a fixed base does not move
    assert all(a["category_id"] == 1 for a in objects)


def test_robot_without_a_category_is_not_labeled(tmp_path: Path) -> None:
    scenario = load(tmp_path, panda_scene())
    annotations = _robot_annotations(scenario)
    assert annotations                                # the cans are labeled
    assert all("robot_index" not in a for a in annotations)
    assert all(a["category_id"] == 1 for a in annotations)
    # the instance count is the objects only
    assert all(0 <= a["object_index"] < 3 for a in annotations)
