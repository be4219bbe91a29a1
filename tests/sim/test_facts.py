"""Physics facts of labeled bodies: present on every annotation, and true to the world."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import simgen
from simgen.scenario.schema import SettleSpec
from simgen.sim import World

from tests.sim.conftest import PLANE, TABLE, TABLE_TOP_Z_M, draw, load

FACT_KEYS = {"settled", "speed_mps", "spin_radps", "penetration_m", "rests_on"}

MUG_ON_TABLE = f"""\
categories: [mug, box]
static:
{PLANE}{TABLE}objects:
  - asset: "pybullet:objects/mug.urdf"
    category: mug
    count: 2
    orientation_deg: [0, 0, {{uniform: [0, 360]}}]
    spawn: {{box: {{min: [-0.3, -0.2, 0.68], max: [0.3, 0.2, 0.72]}}}}
  - asset: catalog:box_small
    category: box
    spawn: {{surface: {{min: [-0.4, -0.3, 0.5], max: [0.4, 0.3, 1.0]}}}}
settle: {{max_steps: 600}}
labels: {{min_pixels: 1}}
"""


@pytest.fixture(scope="module")
def world():
    with World() as w:
        yield w


def test_every_annotation_carries_physics_facts(tmp_path: Path) -> None:
    scenario = load(tmp_path, MUG_ON_TABLE)
    out = tmp_path / "out"
    simgen.generate(scenario, out, images=2, renderer="tiny", seed=1)
    data = json.loads((out / "annotations/instances_train.json").read_text())
    assert len(data["annotations"]) >= 4
    for ann in data["annotations"]:
        facts = ann["physics"]
        assert set(facts) == FACT_KEYS
        assert isinstance(facts["settled"], bool)
        for key in ("speed_mps", "spin_radps", "penetration_m"):
            assert isinstance(facts[key], float) and facts[key] >= 0.0, (key, facts)
        assert facts["rests_on"] == "table", ann
        assert facts["settled"] is True
        assert facts["speed_mps"] < 0.01 and facts["spin_radps"] < 0.01
        assert facts["penetration_m"] < 0.005
        position = ann["pose_world"]["position_m"]
        assert abs(position[0]) <= 0.75 and abs(position[1]) <= 0.5
        assert position[2] > TABLE_TOP_Z_M - 0.005   # (the mug's origin is at its foot)
    for image in data["images"]:
        physics = image["provenance"]["physics"]
        assert physics["settled"] is True
        assert 0 < physics["steps"] < 600
        assert physics["skipped"] == []


def test_mug_dropped_on_the_table_rests_on_the_table(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, MUG_ON_TABLE)
    for seed in range(3):
        settled = world.settle(draw(scenario, seed), scenario.spec.settle)
        assert settled.settled is True
        assert len(settled.labeled) == 3
        for uid, facts in zip(settled.labeled_body_ids, settled.labeled):
            assert facts.rests_on == "table", (seed, uid, facts)
            assert facts.settled is True
            position, orientation = world.p.getBasePositionAndOrientation(
                uid, physicsClientId=world.client)
            assert facts.position_m == pytest.approx(position, abs=1e-9)
            assert facts.quaternion_xyzw == pytest.approx(orientation, abs=1e-9)
        # the mugs fell: they are lower than where they were dropped
        for body, facts in zip(settled.sample.objects[:2], settled.labeled[:2]):
            assert facts.position_m[2] < body.position_m[2] - 0.01


STACK = f"""\
categories: [box, cube]
static:
{PLANE}objects:
  - asset: catalog:box_medium
    category: box
    orientation_deg: [0, 0, 0]
    spawn: {{box: {{min: [0, 0, 0.102], max: [0, 0, 0.102]}}}}
  - asset: catalog:box_small
    category: cube
    scale: 0.5
    orientation_deg: [0, 0, 0]
    spawn: {{box: {{min: [0.02, 0.01, 0.3], max: [0.02, 0.01, 0.3]}}}}
settle: {{max_steps: 600}}
"""


def test_small_box_on_a_big_box_rests_on_that_object(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, STACK)
    settled = world.settle(draw(scenario, 0), scenario.spec.settle)
    big, small = settled.labeled
    assert big.rests_on == "floor"
    assert small.rests_on == "object:0"
    assert settled.settled and big.settled and small.settled
    # the small box sits on the big one's top (0.2 m) with its half height (0.025 m) below it
    assert small.position_m[2] == pytest.approx(0.2 + 0.025, abs=0.004)


def test_small_box_on_the_second_object_names_its_index(tmp_path: Path, world: World) -> None:
    """The support is named by object index (the annotation's object_index), not body id."""
    text = STACK.replace("objects:\n", """objects:
  - asset: catalog:can
    category: cube
    spawn: {box: {min: [0.8, 0.8, 0.1], max: [0.8, 0.8, 0.1]}}
""", 1)
    scenario = load(tmp_path, text)
    settled = world.settle(draw(scenario, 0), scenario.spec.settle)
    can, big, small = settled.labeled
    assert can.rests_on == "floor"
    assert big.rests_on == "floor"
    assert small.rests_on == "object:1"


def test_settled_flags_follow_the_steps(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, STACK)
    sample = draw(scenario, 0)
    rested = world.settle(sample, SettleSpec(max_steps=600))
    assert rested.settled is True
    assert all(f.settled for f in rested.labeled)
    assert rested.steps < 600 and rested.steps % 10 == 0
    falling = world.settle(sample, SettleSpec(max_steps=1))
    assert falling.steps == 1
    assert falling.settled is False
    big, small = falling.labeled
    assert small.settled is False                 # spawned in the air: falling after one step
    assert small.speed_mps == pytest.approx(9.81 / 240, rel=0.05)
    assert small.rests_on is None                 # touching nothing yet
    not_stepped = world.settle(sample, SettleSpec(max_steps=0))
    assert not_stepped.steps == 0
    assert not_stepped.labeled[1].speed_mps == 0.0
    assert not_stepped.labeled[1].rests_on is None
