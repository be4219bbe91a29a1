"""Asset references beyond plain files: catalog ids, SDF statics, collision-free statics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simgen
from simgen.procedural import CATALOG_IDS
from simgen.scenario.sample import sample

REPO = Path(__file__).resolve().parents[2]

HEAD = """\
name: assets_ext
image: {width: 96, height: 72}
camera: {fov_deg: 60, look_at: [0, 0, 0.3], distance_m: 2.0, azimuth_deg: 0, elevation_deg: 40}
"""
PLANE = '  - {asset: "pybullet:plane.urdf", name: floor}\n'


def load(folder: Path, body: str):
    path = folder / "assets_ext.yaml"
    path.write_text(HEAD + body)
    return simgen.load_scenario(path)


def draw(scenario, seed: int = 0):
    return sample(scenario, np.random.SeedSequence([seed, 0]))


@pytest.fixture(scope="module")
def world():
    from simgen.sim import World

    with World() as w:
        yield w


# --- catalog ids -----------------------------------------------------------------------------------

def test_catalog_id_resolves_to_the_project_asset(tmp_path: Path) -> None:
    scenario = load(tmp_path, """\
categories: [can]
objects:
  - {asset: catalog:can, category: can, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}}
""")
    want = (REPO / "assets" / "objects" / "can.urdf").resolve()
    assert scenario.asset_paths["catalog:can"] == str(want)
    assert want.is_file()
    assert scenario.asset_choices[("objects", 0)] == ("catalog:can",)
    body = draw(scenario).objects[0]
    assert body.asset == "catalog:can" and body.path == str(want)


def test_unknown_catalog_id_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, """\
categories: [can]
objects:
  - {asset: catalog:can, category: can, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}}
  - {asset: catalog:nope, category: can, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}}
""")
    err = info.value
    assert err.key_path == "objects[1].asset"
    assert err.line == 7          # HEAD is 4 lines; the second group is line 7
    assert "unknown catalog asset 'nope'" in err.message
    assert "known ids: " + ", ".join(CATALOG_IDS) in err.message


# --- SDF ---------------------------------------------------------------------------------------------

SHELF = f"""\
categories: [can]
static:
{PLANE}  - {{asset: "pybullet:kiva_shelf/model.sdf", name: shelf, position: POSITION,
     orientation_deg: ORIENTATION}}
objects:
  - {{asset: catalog:can, category: can, spawn: {{box: {{min: [2, 2, 0.2], max: [2, 2, 0.2]}}}}}}
settle: {{max_steps: 0}}
"""


def _shelf_bodies(world, tmp_path: Path, position: str, orientation: str):
    scenario = load(tmp_path, SHELF.replace("POSITION", position).replace("ORIENTATION", orientation))
    assert scenario.asset_paths["pybullet:kiva_shelf/model.sdf"].endswith("kiva_shelf/model.sdf")
    world.settle(draw(scenario), scenario.spec.settle)
    uids = [uid for uid, name in world._names.items() if name == "shelf"]
    return [world.p.getBasePositionAndOrientation(uid, physicsClientId=world.client) for uid in uids]


def test_sdf_static_loads_and_moves_as_a_whole(tmp_path: Path, world) -> None:
    at_origin = _shelf_bodies(world, tmp_path, "[0, 0, 0]", "[0, 0, 0]")
    assert len(at_origin) >= 1
    moved = _shelf_bodies(world, tmp_path, "[0.5, -0.25, 0.1]", "[0, 0, 0]")
    assert len(moved) == len(at_origin)
    for (p0, q0), (p1, q1) in zip(at_origin, moved):
        assert np.allclose(np.subtract(p1, p0), [0.5, -0.25, 0.1], atol=1e-6)
        assert np.allclose(q1, q0, atol=1e-6)
    turned = _shelf_bodies(world, tmp_path, "[0, 0, 0]", "[0, 0, 90]")
    for (p0, _), (p1, _) in zip(at_origin, turned):
        # a quarter turn about z: (x, y, z) -> (-y, x, z), the file's own pose included
        assert np.allclose(p1, [-p0[1], p0[0], p0[2]], atol=1e-6)


@pytest.mark.parametrize("section", ["objects", "distractors", "robots"])
def test_sdf_outside_static_is_refused(tmp_path: Path, section: str) -> None:
    sdf = '"pybullet:kiva_shelf/model.sdf"'
    entry = {
        "objects": f"objects:\n  - {{asset: {sdf}, category: can, spawn: {{box: {{min: [0, 0, 0], max: [0, 0, 0]}}}}}}\n",
        "distractors": f"distractors:\n  - {{asset: {sdf}, spawn: {{box: {{min: [0, 0, 0], max: [0, 0, 0]}}}}}}\n",
        "robots": f"robots:\n  - {{asset: {sdf}}}\n",
    }[section]
    plain = "objects:\n  - {asset: catalog:can, category: can, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}}\n"
    body = "categories: [can]\n" + entry + ("" if section == "objects" else plain)
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, body)
    assert info.value.key_path == f"{section}[0].asset"
    assert "static bodies only" in info.value.message


def test_texture_must_be_an_image(tmp_path: Path) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, """\
categories: [can]
objects:
  - {asset: catalog:can, category: can, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}},
     appearance: {textures: ["assets:textures/checker.png", "pybullet:plane.urdf"]}}
""")
    assert info.value.key_path == "objects[0].appearance.textures[1]"
    assert "unsupported asset type '.urdf'" in info.value.message


# --- collision: false --------------------------------------------------------------------------------

def _crate_scene(collision: str, spawn: str) -> str:
    return f"""\
categories: [can]
static:
{PLANE}  - {{asset: catalog:box_medium, name: crate, position: [0, 0, 0.1], orientation_deg: [0, 0, 0],
     collision: {collision}}}
objects:
  - {{asset: catalog:can, category: can, orientation_deg: [0, 0, 0], spawn: {spawn}}}
settle: {{max_steps: 600}}
"""


DROP = "{box: {min: [0.02, 0.01, 0.35], max: [0.02, 0.01, 0.35]}}"
SURFACE = "{surface: {min: [-0.05, -0.05, 0.0], max: [0.05, 0.05, 0.5]}}"
CAN_HALF_HEIGHT_M = 0.061


def test_static_without_collision_lets_a_dropped_object_fall_through(tmp_path: Path, world) -> None:
    scenario = load(tmp_path, _crate_scene("false", DROP))
    settled = world.settle(draw(scenario), scenario.spec.settle)
    (facts,) = settled.labeled
    assert facts.rests_on == "floor"
    assert facts.settled
    assert facts.position_m[2] == pytest.approx(CAN_HALF_HEIGHT_M, abs=0.004)
    # and the crate is still there to be seen
    crate = next(uid for uid, name in world._names.items() if name == "crate")
    assert world.p.getVisualShapeData(crate, physicsClientId=world.client)


def test_static_with_collision_carries_the_same_object(tmp_path: Path, world) -> None:
    scenario = load(tmp_path, _crate_scene("true", DROP))
    settled = world.settle(draw(scenario), scenario.spec.settle)
    (facts,) = settled.labeled
    assert facts.rests_on == "crate"
    assert facts.position_m[2] == pytest.approx(0.2 + CAN_HALF_HEIGHT_M, abs=0.004)


@pytest.mark.parametrize("collision, top_z", [("false", 0.0), ("true", 0.2)])
def test_surface_spawn_ray_passes_through_a_static_without_collision(
        tmp_path: Path, world, collision: str, top_z: float) -> None:
    region = SURFACE.replace("0.0]", "-0.1]")     # the ray reaches below the floor's top
    scenario = load(tmp_path, _crate_scene(collision, region).replace("max_steps: 600",
                                                                      "max_steps: 0"))
    settled = world.settle(draw(scenario), scenario.spec.settle)
    (uid,) = settled.labeled_body_ids
    lo, _ = world.body_aabb(uid)
    assert top_z <= lo[2] <= top_z + 0.005, lo[2]

