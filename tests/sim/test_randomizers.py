"""Randomizers reach the world: colours, textures, physical properties; distractors are seen but
never labeled; the draw is a function of the seed; asset lists and patterns expand at load."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import simgen
from simgen.render import start_renderer
from simgen.sim import World

from tests.sim.conftest import PLANE, TABLE, draw, load


@pytest.fixture(scope="module")
def world():
    with World() as w:
        yield w


@pytest.fixture(scope="module")
def renderer(world):
    return start_renderer(world, "tiny")


def visual_rgbas(world: World, uid: int) -> list[tuple[float, ...]]:
    return [tuple(shape[7]) for shape in world.p.getVisualShapeData(uid, physicsClientId=world.client)]


# --- colour -----------------------------------------------------------------------------------------

COLOURED = f"""\
categories: [box]
static:
{PLANE}  - {{asset: "pybullet:table/table.urdf", name: table,
     appearance: {{color_rgba: [{{uniform: [0, 1]}}, {{uniform: [0, 1]}}, {{uniform: [0, 1]}}, 1]}}}}
objects:
  - asset: catalog:box_small
    category: box
    count: 3
    spawn: {{surface: {{min: [-0.5, -0.3, 0.5], max: [0.5, 0.3, 1.0]}}}}
    appearance: {{color_rgba: [{{uniform: [0, 1]}}, {{uniform: [0, 1]}}, {{uniform: [0, 1]}}, {{uniform: [0.5, 1]}}]}}
distractors:
  - asset: catalog:can
    count: 2
    spawn: {{surface: {{min: [-0.5, -0.3, 0.5], max: [0.5, 0.3, 1.0]}}}}
    appearance: {{color_rgba: [0.1, 0.2, 0.3, 1]}}
settle: {{max_steps: 0}}
"""


def test_sampled_colour_is_applied_to_every_visual_shape(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, COLOURED)
    sample = draw(scenario, 3)
    settled = world.settle(sample, scenario.spec.settle)
    table = next(uid for uid, name in world._names.items() if name == "table")
    want = sample.static[1].appearance.color_rgba
    assert want is not None and want[3] == 1.0
    shapes = visual_rgbas(world, table)
    assert len(shapes) >= 1
    for rgba in shapes:
        assert rgba == pytest.approx(want, abs=1e-6)
    colours = []
    for uid, body in zip(settled.labeled_body_ids, sample.objects):
        assert uid >= 0
        want = body.appearance.color_rgba
        colours.append(want)
        for rgba in visual_rgbas(world, uid):
            assert rgba == pytest.approx(want, abs=1e-6)
    assert len(set(colours)) == 3            # each object its own draw
    distractors = [uid for uid, name in world._names.items() if name.startswith("distractor:")]
    assert len(distractors) == 2
    for uid in distractors:
        for rgba in visual_rgbas(world, uid):
            assert rgba == pytest.approx((0.1, 0.2, 0.3, 1.0), abs=1e-6)
    # the plane has no appearance: its own colour is left alone
    floor = next(uid for uid, name in world._names.items() if name == "floor")
    assert all(rgba != pytest.approx(want, abs=1e-3) for rgba in visual_rgbas(world, floor))


def test_sampled_colours_are_rendered_per_instance(tmp_path: Path, world: World, renderer) -> None:
    """Two instances of one mesh, two colours: each is drawn in its own (shared mesh, own colour)."""
    scenario = load(tmp_path, f"""\
categories: [box]
static:
{PLANE}objects:
  - {{asset: catalog:box_medium, category: box, orientation_deg: [0, 0, 0],
     spawn: {{box: {{min: [-0.3, 0, 0.1], max: [-0.3, 0, 0.1]}}}}, appearance: {{color_rgba: [1, 0, 0, 1]}}}}
  - {{asset: catalog:box_medium, category: box, orientation_deg: [0, 0, 0],
     spawn: {{box: {{min: [0.3, 0, 0.1], max: [0.3, 0, 0.1]}}}}, appearance: {{color_rgba: [0, 0, 1, 1]}}}}
camera: {{fov_deg: 60, look_at: [0, 0, 0.1], distance_m: 1.6, azimuth_deg: 90, elevation_deg: 89}}
light: {{ambient: 1.0, diffuse: 0.0, specular: 0.0, shadows: false}}
settle: {{max_steps: 0}}
""")
    sample = draw(scenario, 0)
    settled = world.settle(sample, scenario.spec.settle)
    frame = renderer.render(settled, sample.views[0], sample.light)
    for instance, channel in ((1, 0), (2, 2)):
        mask = frame.instance_map == instance
        assert mask.sum() > 50, instance
        mean = frame.rgb[mask].astype(float).mean(axis=0)
        assert mean[channel] > 150 and np.delete(mean, channel).max() < 60, (instance, mean)


# --- texture ----------------------------------------------------------------------------------------

def _textured_scene(tmp_path: Path, textures: str, name: str):
    scenario = load(tmp_path, f"""\
categories: [box]
static:
{PLANE}objects:
  - asset: catalog:box_medium
    category: box
    orientation_deg: [0, 0, 30]
    spawn: {{box: {{min: [0, 0, 0.1], max: [0, 0, 0.1]}}}}
    appearance: {{textures: {textures}}}
camera: {{fov_deg: 50, look_at: [0, 0, 0.1], distance_m: 0.9, azimuth_deg: 20, elevation_deg: 50}}
light: {{shadows: false}}
settle: {{max_steps: 0}}
""", name=name)
    return scenario


def test_texture_changes_the_rendered_pixels(tmp_path: Path, world: World, renderer) -> None:
    frames, samples = [], []
    for name, textures in (("plain", "[]"), ("checker", '["assets:textures/checker.png"]')):
        scenario = _textured_scene(tmp_path, textures, name)
        sample = draw(scenario, 0)
        settled = world.settle(sample, scenario.spec.settle)
        frames.append(renderer.render(settled, sample.views[0], sample.light))
        samples.append(sample)
    plain, checker = frames
    assert samples[0].objects[0].appearance.texture is None
    assert samples[1].objects[0].appearance.texture == "assets:textures/checker.png"
    assert samples[1].objects[0].appearance.texture_path.endswith("assets/textures/checker.png")
    # Same geometry, same place: the labels agree; the colours inside the object do not.
    assert np.array_equal(plain.instance_map, checker.instance_map)
    mask = plain.instance_map == 1
    assert mask.sum() > 300
    differs = np.abs(plain.rgb.astype(int) - checker.rgb.astype(int)).max(axis=2) > 30
    assert differs[mask].mean() > 0.2
    # a checker has dark and light squares: its pixels spread far more than a plain box's
    gray = lambda f: f.rgb.astype(float).mean(axis=2)[mask]  # noqa: E731
    assert gray(checker).std() > 3 * gray(plain).std()


def test_texture_probability_zero_never_applies_a_texture(tmp_path: Path) -> None:
    scenario = load(tmp_path, """\
categories: [box]
objects:
  - asset: catalog:box_small
    category: box
    count: 20
    spawn: {box: {min: [-1, -1, 0.1], max: [1, 1, 0.5]}}
    appearance: {textures: ["assets:textures/checker.png", "assets:textures/wood.png"],
                 texture_probability: 0}
""")
    assert all(o.appearance.texture is None for o in draw(scenario, 0).objects)


# --- physical properties ----------------------------------------------------------------------------

def test_friction_restitution_and_mass_scale_are_applied(tmp_path: Path, world: World) -> None:
    scenario = load(tmp_path, f"""\
categories: [box]
static:
{PLANE}objects:
  - asset: catalog:box_small
    category: box
    spawn: {{box: {{min: [-0.4, 0, 0.1], max: [-0.4, 0, 0.1]}}}}
    physics: {{mass_scale: {{uniform: [2, 3]}}, lateral_friction: {{uniform: [0.1, 0.2]}},
               restitution: {{uniform: [0.6, 0.9]}}}}
  - asset: catalog:box_small
    category: box
    spawn: {{box: {{min: [0.4, 0, 0.1], max: [0.4, 0, 0.1]}}}}
settle: {{max_steps: 0}}
""")
    sample = draw(scenario, 4)
    settled = world.settle(sample, scenario.spec.settle)
    randomized, plain = settled.labeled_body_ids
    p, cid = world.p, world.client
    info = p.getDynamicsInfo(randomized, -1, physicsClientId=cid)
    base = p.getDynamicsInfo(plain, -1, physicsClientId=cid)
    drawn = sample.objects[0].physics
    assert 2 <= drawn.mass_scale <= 3 and 0.1 <= drawn.lateral_friction <= 0.2
    assert 0.6 <= drawn.restitution <= 0.9
    assert sample.objects[1].physics == type(drawn)()      # defaults: nothing changed
    assert info[0] == pytest.approx(base[0] * drawn.mass_scale, rel=1e-6)
    assert info[1] == pytest.approx(drawn.lateral_friction, abs=1e-6)
    assert info[5] == pytest.approx(drawn.restitution, abs=1e-6)
    assert base[1] != pytest.approx(drawn.lateral_friction, abs=1e-3)
    assert base[5] != pytest.approx(drawn.restitution, abs=1e-3)
    # the provenance records the drawn values
    recorded = sample.provenance()["objects"][0]["physics"]
    assert recorded == dataclasses.asdict(drawn)


@pytest.mark.parametrize("asset", ["catalog:bolt", "catalog:cup", "catalog:box_small"])
def test_mass_scale_keeps_the_declared_inertia_scaled_with_it(tmp_path: Path, world: World,
                                                               asset: str) -> None:
    """Scaling the mass scales the inertia the asset declares by the same factor (the world
    loads inertia from the file, never recomputes it from collision shapes)."""
    scenario = load(tmp_path, f"""\
categories: [part]
static:
{PLANE}objects:
  - {{asset: "{asset}", category: part, physics: {{mass_scale: 2.0}},
     spawn: {{box: {{min: [-0.4, 0, 0.3], max: [-0.4, 0, 0.3]}}}}}}
  - {{asset: "{asset}", category: part, spawn: {{box: {{min: [0.4, 0, 0.3], max: [0.4, 0, 0.3]}}}}}}
settle: {{max_steps: 0}}
""")
    settled = world.settle(draw(scenario, 0), scenario.spec.settle)
    scaled, plain = (world.p.getDynamicsInfo(uid, -1, physicsClientId=world.client)
                     for uid in settled.labeled_body_ids)
    assert scaled[0] == pytest.approx(2.0 * plain[0], rel=1e-9)
    assert scaled[2] == pytest.approx([2.0 * i for i in plain[2]], rel=1e-6)


TWO_LINKS = """<?xml version="1.0"?>
<robot name="dumbbell">
  <link name="base">
    <inertial><mass value="0.2"/><inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial>
    <visual><geometry><box size="0.05 0.05 0.05"/></geometry></visual>
    <collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>
  </link>
  <link name="weight">
    <inertial><mass value="0.3"/><inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial>
    <visual><geometry><box size="0.05 0.05 0.05"/></geometry></visual>
    <collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>
  </link>
  <joint name="bar" type="fixed"><parent link="base"/><child link="weight"/>
    <origin xyz="0.1 0 0"/></joint>
</robot>
"""


def test_physics_randomization_applies_to_every_link(tmp_path: Path, world: World) -> None:
    """Like appearance, physics randomizes the whole body: every link's mass is scaled and
    every link gets the drawn friction and restitution."""
    (tmp_path / "dumbbell.urdf").write_text(TWO_LINKS)
    scenario = load(tmp_path, f"""\
categories: [thing]
static:
{PLANE}objects:
  - {{asset: dumbbell.urdf, category: thing, orientation_deg: [0, 0, 0],
     physics: {{mass_scale: 2.0, lateral_friction: 0.15, restitution: 0.8}},
     spawn: {{box: {{min: [0, 0, 0.3], max: [0, 0, 0.3]}}}}}}
settle: {{max_steps: 0}}
""")
    settled = world.settle(draw(scenario, 0), scenario.spec.settle)
    (uid,) = settled.labeled_body_ids
    p, cid = world.p, world.client
    assert p.getNumJoints(uid, physicsClientId=cid) == 1
    infos = [p.getDynamicsInfo(uid, link, physicsClientId=cid) for link in (-1, 0)]
    got = {"mass": [i[0] for i in infos], "lateral_friction": [i[1] for i in infos],
           "restitution": [i[5] for i in infos]}
    assert got == {"mass": pytest.approx([0.4, 0.6], rel=1e-9),
                   "lateral_friction": pytest.approx([0.15, 0.15], abs=1e-6),
                   "restitution": pytest.approx([0.8, 0.8], abs=1e-6)}


# --- distractors ------------------------------------------------------------------------------------

def _clutter(tmp_path: Path, labeled: int, distractors: int, name: str):
    region = "{surface: {min: [-0.6, -0.4, 0.5], max: [0.6, 0.4, 1.0]}}"
    return load(tmp_path, f"""\
categories: [box]
static:
{PLANE}{TABLE}objects:
  - {{asset: catalog:box_small, category: box, count: {labeled}, spawn: {region}}}
distractors:
  - {{asset: catalog:can, count: {distractors}, spawn: {region}}}
  - {{asset: catalog:box_small, count: {distractors}, spawn: {region},
     appearance: {{color_rgba: [0.9, 0.1, 0.1, 1]}}}}
camera: {{fov_deg: 60, look_at: [0, 0, 0.65], distance_m: 1.5, azimuth_deg: 0, elevation_deg: 70}}
light: {{shadows: false}}
settle: {{max_steps: 0}}
labels: {{min_pixels: 1}}
""", name=name)


def test_distractors_are_never_labeled(tmp_path: Path, world: World, renderer) -> None:
    from simgen.scene import run_scene

    cluttered = _clutter(tmp_path, 0, 5, "cluttered")
    empty = _clutter(tmp_path, 0, 0, "empty")
    for seed in range(2):
        out = run_scene(cluttered, seed, 0, world, renderer, [0])
        assert out.record["images"][0]["annotations"] == []
        sample = draw(cluttered, seed)
        settled = world.settle(sample, cluttered.spec.settle)
        assert settled.labeled_body_ids == ()
        assert len(settled.skipped) == 0
        frame = renderer.render(settled, sample.views[0], sample.light)
        assert not frame.instance_map.any()
        empty_sample = draw(empty, seed)
        assert empty_sample.views == sample.views            # the camera does not depend on counts
        empty_frame = renderer.render(world.settle(empty_sample, empty.spec.settle),
                                      empty_sample.views[0], empty_sample.light)
        changed = np.abs(frame.rgb.astype(int) - empty_frame.rgb.astype(int)).max(axis=2) > 20
        assert changed.sum() > 100, (seed, changed.sum())   # the clutter is in view


def test_labeled_objects_among_distractors_only_label_objects(tmp_path: Path, world: World,
                                                              renderer) -> None:
    scenario = _clutter(tmp_path, 2, 4, "mixed")
    sample = draw(scenario, 1)
    settled = world.settle(sample, scenario.spec.settle)
    frame = renderer.render(settled, sample.views[0], sample.light)
    assert set(np.unique(frame.instance_map)) <= {0, 1, 2}
    distractors = [uid for uid, name in world._names.items() if name.startswith("distractor:")]
    assert len(distractors) == 8
    assert min(distractors) > max(settled.labeled_body_ids)


# --- determinism of the draw -------------------------------------------------------------------------

def test_same_seed_same_sample_and_other_seeds_other_colours(tmp_path: Path) -> None:
    scenario = load(tmp_path, COLOURED.replace("count: 3", "count: 3\n    physics: {mass_scale: "
                                               "{uniform: [0.5, 2]}, lateral_friction: {uniform: [0.2, 1]}}"))
    a, b = draw(scenario, 9), draw(scenario, 9)
    assert a == b
    assert a.provenance() == b.provenance()
    c = draw(scenario, 10)
    d = draw(scenario, 9, scene_index=1)
    colours = lambda s: [o.appearance.color_rgba for o in s.objects]  # noqa: E731
    assert colours(a) != colours(c)
    assert colours(a) != colours(d)
    assert a.static[1].appearance.color_rgba != c.static[1].appearance.color_rgba
    assert [o.physics for o in a.objects] != [o.physics for o in c.objects]
    assert len({o.physics.mass_scale for o in a.objects}) == 3


# --- asset lists and patterns ------------------------------------------------------------------------

def test_asset_pattern_expands_and_picks_from_the_matches(tmp_path: Path) -> None:
    scenario = load(tmp_path, """\
categories: [thing]
objects:
  - asset: "pybullet:random_urdfs/00*/*.urdf"
    category: thing
    count: 30
    spawn: {box: {min: [-1, -1, 0.1], max: [1, 1, 0.5]}}
distractors:
  - asset: [catalog:can, catalog:bolt]
    count: 20
    spawn: {box: {min: [-1, -1, 0.1], max: [1, 1, 0.5]}}
""")
    choices = scenario.asset_choices[("objects", 0)]
    assert len(choices) > 1
    assert list(choices) == sorted(choices)
    assert all(c.startswith("pybullet:random_urdfs/00") and c.endswith(".urdf") for c in choices)
    assert all(Path(scenario.asset_paths[c]).is_file() for c in choices)
    assert scenario.asset_choices[("distractors", 0)] == ("catalog:can", "catalog:bolt")
    sample = draw(scenario, 0)
    used = {o.asset for o in sample.objects}
    assert used <= set(choices) and len(used) > 1
    assert {o.asset for o in sample.distractors} == {"catalog:can", "catalog:bolt"}
    for body in sample.objects:
        assert body.path == scenario.asset_paths[body.asset]


def test_asset_pattern_without_a_match_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(simgen.ScenarioError) as info:
        load(tmp_path, """\
categories: [thing]
objects:
  - {asset: catalog:can, category: thing, spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}}
distractors:
  - asset: ["catalog:bolt", "pybullet:random_urdfs/zz*/*.urdf"]
    spawn: {box: {min: [0, 0, 0], max: [0, 0, 0]}}
""")
    err = info.value
    assert err.key_path == "distractors[0].asset"
    assert "no asset matches 'pybullet:random_urdfs/zz*/*.urdf'" in err.message
    assert err.line is not None
