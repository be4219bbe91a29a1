"""On EGL two bodies of one mesh at two scales each draw at their own scale
(simgen.render.egl_meshes): the plugin would draw the second with the first one's shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet_data
import pytest

import simgen
from simgen.render import start_renderer
from simgen.render.egl_meshes import GEOM_MESH, MeshVariants, SharedMeshError
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World
from tests.render.conftest import first_view

DATA = Path(pybullet_data.getDataPath())
MUG = str(DATA / "objects/mug.urdf")

# Two trays of one mesh side by side, seen from above: the small one loaded first.
TRAYS = """\
name: trays
image: {width: 160, height: 120}
categories: [tray]
static:
  - {asset: "pybullet:plane.urdf"}
objects:
  - {asset: "pybullet:ASSET", category: tray, scale: SMALL,
     spawn: {box: {min: [-0.45, 0, 0.1], max: [-0.45, 0, 0.1]}}}
  - {asset: "pybullet:ASSET", category: tray, scale: LARGE,
     spawn: {box: {min: [0.45, 0, 0.1], max: [0.45, 0, 0.1]}}}
camera: {fov_deg: 60, look_at: [0, 0, 0], distance_m: 2.2, azimuth_deg: 0, elevation_deg: 89}
settle: {max_steps: 0}
"""


def _instance_maps(tmp_path: Path, renderer: str, small: float, large: float,
                   variants: bool = True, asset: str = "tray/traybox.urdf",
                   ) -> tuple[np.ndarray, np.ndarray]:
    path = tmp_path / f"trays_{small}_{large}.yaml"
    path.write_text(TRAYS.replace("SMALL", str(small)).replace("LARGE", str(large))
                    .replace("ASSET", asset))

    def plain(world: World) -> None:
        world.mesh_variants = None

    frame = first_view(path, renderer, None if variants else plain)
    return frame.rgb, frame.instance_map


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_two_bodies_of_one_mesh_at_two_scales_draw_at_their_own_scale_on_egl(tmp_path):
    _, egl = _instance_maps(tmp_path, "egl", 0.8, 1.2)
    _, tiny = _instance_maps(tmp_path, "tiny", 0.8, 1.2)
    areas = [int((egl == i).sum()) for i in (1, 2)]
    # 1.5 times the size: 2.25 times the pixels, seen from above (the small tray is seen a
    # little further off the centre).
    assert 2.0 < areas[1] / areas[0] < 2.5, areas
    for instance in (1, 2):   # and as TinyRenderer draws them, to the edge pixels
        assert _iou(egl == instance, tiny == instance) > 0.95
    # What the plugin does unaided: the large tray drawn with the small one's shape.
    _, shared = _instance_maps(tmp_path, "egl", 0.8, 1.2, variants=False)
    shared_areas = [int((shared == i).sum()) for i in (1, 2)]
    assert abs(shared_areas[1] / shared_areas[0] - 1) < 0.1, shared_areas


def test_bodies_at_one_scale_share_a_shape_and_draw_the_same_bytes(tmp_path):
    """(Mugs: the tray's texture is one EGL is given a copy of, simgen.render.egl_rows.)"""
    with_variants = _instance_maps(tmp_path, "egl", 4.0, 4.0, asset="objects/mug.urdf")
    plain = _instance_maps(tmp_path, "egl", 4.0, 4.0, variants=False, asset="objects/mug.urdf")
    assert (plain[1] == 1).sum() > 300 and (plain[1] == 2).sum() > 300
    for a, b in zip(with_variants, plain):
        np.testing.assert_array_equal(a, b)


def _shapes(names_and_scales):
    return [(0, -1, GEOM_MESH, scale, name.encode()) for name, scale in names_and_scales]


def test_a_body_takes_the_first_variant_where_no_earlier_body_drew_another_scale(tmp_path):
    variants = MeshVariants(tmp_path)
    first = variants.path_for(MUG, 0.8)
    text = Path(first).read_text()
    mesh = (DATA / "objects/mug.obj").resolve()
    assert f'filename="{mesh}"' in text   # variant 0: the file's own absolute name
    assert f'filename="{mesh.parent}/mug_col.obj"' in text   # collision: absolute, one name
    variants.drew(_shapes([(str(mesh), (0.8, 0.8, 0.8))]), "mug")
    assert variants.path_for(MUG, 0.8) == first   # the same scale shares the shape
    second = variants.path_for(MUG, 1.2)
    assert second != first
    assert f'filename="{mesh.parent}/./{mesh.name}"' in Path(second).read_text()
    assert f'filename="{mesh.parent}/mug_col.obj"' in Path(second).read_text()
    variants.drew(_shapes([(f"{mesh.parent}/./{mesh.name}", (1.2, 1.2, 1.2))]), "mug")
    third = variants.path_for(MUG, 1.0)
    assert f'filename="{mesh.parent}/././{mesh.name}"' in Path(third).read_text()
    variants.new_scene()   # resetSimulation: every spelling is free again
    assert variants.path_for(MUG, 1.2) == first


def test_collision_meshes_keep_one_name_and_relative_names_become_absolute(tmp_path):
    (tmp_path / "m.obj").write_text((DATA / "cube.obj").read_text())
    (tmp_path / "body.urdf").write_text(
        '<robot name="b"><link name="l">'
        '<visual><geometry><mesh filename="m.obj" scale="2 2 2"/></geometry></visual>'
        '<collision><geometry><mesh filename="m.obj"/></geometry></collision>'
        '</link></robot>')
    variants = MeshVariants(tmp_path / "out")
    mesh = (tmp_path / "m.obj").resolve()
    variants.drew(_shapes([(str(mesh), (2.0, 2.0, 2.0))]), "b")
    text = Path(variants.path_for(str(tmp_path / "body.urdf"), 0.5)).read_text()
    assert f'<visual><geometry><mesh filename="{mesh.parent}/./m.obj" scale="2 2 2"' in text
    assert f'<collision><geometry><mesh filename="{mesh}"' in text


def test_what_cannot_be_copied_loads_as_it_is_and_a_shared_scale_is_refused(tmp_path):
    (tmp_path / "m.obj").write_text((DATA / "cube.obj").read_text())
    cases = {
        "package": '<mesh filename="package://x/m.obj"/>',
        "missing": '<mesh filename="nowhere.obj"/>',
        "bad_scale": '<mesh filename="m.obj" scale="1 x 1"/>',
        "marked": '<mesh filename="m.obj"/><!-- --><box size="1 1 1"/>',
    }
    variants = MeshVariants(tmp_path / "out")
    for name, geometry in cases.items():
        path = tmp_path / f"{name}.urdf"
        extra = ' name="{simgen-variant}"' if name == "marked" else ""
        path.write_text(f'<robot name="b"{extra}><link name="l"><visual><geometry>{geometry}'
                        '</geometry></visual></link></robot>')
        assert variants.path_for(str(path), 2.0) == str(path), name
    (tmp_path / "not_urdf.urdf").write_text("<sdf/>")
    assert variants.path_for(str(tmp_path / "not_urdf.urdf"), 2.0) == str(tmp_path / "not_urdf.urdf")
    # Loaded as it is, it is checked after loading: a shape drawn at another scale is refused.
    variants.drew(_shapes([("/x/m.obj", (1.0, 1.0, 1.0))]), "first")
    variants.drew(_shapes([("/x/m.obj", (1.0, 1.0, 1.0 + 1e-9))]), "same, to rounding")
    with pytest.raises(SharedMeshError, match="second: the egl renderer would draw it"):
        variants.drew(_shapes([("/x/m.obj", (2.0, 2.0, 2.0))]), "second")


def test_a_urdf_over_the_size_limit_loads_as_it_is(tmp_path, monkeypatch):
    import simgen.render.egl_meshes as egl_meshes

    monkeypatch.setattr(egl_meshes, "MAX_URDF_BYTES", Path(MUG).stat().st_size - 1)
    assert MeshVariants(tmp_path).path_for(MUG, 1.0) == MUG
    monkeypatch.setattr(egl_meshes, "MAX_URDF_BYTES", 64 * 1024**2)
    assert MeshVariants(tmp_path).path_for(MUG, 1.0) != MUG


def test_tiny_loads_every_urdf_as_it_is():
    with World() as world:
        start_renderer(world, "tiny")
        assert world.mesh_variants is None


SHELVES = """\
name: shelves
image: {width: 96, height: 72}
categories: [box]
static:
  - {asset: "pybullet:kiva_shelf/model.sdf", scale: FIRST}
  - {asset: "pybullet:kiva_shelf/model.sdf", position: [3, 0, 0], scale: SECOND}
objects:
  - {asset: catalog:box_small, category: box, spawn: {box: {min: [0, -1.5, 0.1], max: [0, -1.5, 0.1]}}}
camera: {fov_deg: 60, look_at: [0, 0, 0.5], distance_m: 4, azimuth_deg: 0, elevation_deg: 30}
settle: {max_steps: 0}
"""


@pytest.mark.parametrize("first, second, refused", [
    ("1.0", "1.0", False), ("1.0", "0.5", True), ("1.0", "{uniform: [0.9, 1.1]}", True),
    ("{uniform: [0.9, 1.1]}", "1.0", True)])
def test_egl_refuses_an_sdf_drawn_at_two_scales_at_load(tmp_path, first, second, refused):
    """An SDF loads as it is (no copy under another name), so two static bodies of one SDF
    file at different scales are refused at load, naming the second's scale."""
    from simgen.errors import ScenarioError

    path = tmp_path / "shelves.yaml"
    path.write_text(SHELVES.replace("FIRST", first).replace("SECOND", second))
    scenario = simgen.load_scenario(path)
    with World() as world:
        if not refused:
            assert start_renderer(world, "egl", scenario).name == "egl"
            return
        with pytest.raises(ScenarioError) as err:
            start_renderer(world, "egl", scenario)
        assert str(err.value).startswith(f"{path}:6: static[1].scale: the egl renderer draws")
        assert start_renderer(world, "auto", scenario).name == "tiny"   # and says why


@pytest.mark.parametrize("scene, overrides", [("tabletop", []), ("bin_picking", []),
                                              ("mobile_floor", ["light={direction: [1, 1, 2]}"])])
def test_the_copies_leave_the_physics_as_it_was(scene, overrides):
    """Only visual meshes are spelled anew; collision meshes keep one name: every body settles
    where the URDF loaded as it is settles."""
    from tests.conftest import REPO

    scenario = simgen.load_scenario(REPO / f"scenes/{scene}.yaml", overrides)
    facts = []
    for variants in (True, False):
        with World() as world:
            start_renderer(world, "egl", scenario)
            if not variants:
                world.mesh_variants = None
            settled = []
            for index in range(4):
                drawn = sample(scenario, scene_streams(0, index).sampling, seed=0,
                               scene_index=index)
                scene_facts = world.settle(drawn, scenario.spec.settle)
                settled.append((scene_facts.provenance(),
                                [f.to_json() if f else None for f in scene_facts.labeled]))
            facts.append(settled)
    assert facts[0] == facts[1]


# --- in_order: may a texture be given to the next body after loading? (egl_textures) -------


def test_the_order_holds_until_a_visual_reuses_a_shape_and_own_shapes_never_does(tmp_path):
    variants = MeshVariants(tmp_path)
    mesh = str((DATA / "objects/mug.obj").resolve())
    assert variants.in_order and variants.keeps_order(MUG)
    first = variants.path_for(MUG, 1.0)
    variants.drew(_shapes([(mesh, (1.0, 1.0, 1.0))]), "mug")
    assert variants.in_order   # a new shape
    own = variants.path_for(MUG, 1.0, own_shapes=True)
    assert own != first and variants.in_order   # the same scale, but a spelling of its own
    assert variants.path_for(MUG, 1.0) == first
    assert not variants.in_order   # this one shares the first mug's shape
    variants.new_scene()
    assert variants.in_order
    variants.lose_order()   # a body removed, or an SDF loaded
    assert not variants.in_order


def _urdf(tmp_path: Path, name: str, link: str) -> str:
    path = tmp_path / f"{name}.urdf"
    path.write_text(f'<robot name="{name}"><link name="l">{link}</link></robot>')
    return str(path)


def test_a_urdf_keeps_the_order_only_if_each_visual_surely_makes_a_shape_of_its_own(tmp_path):
    (tmp_path / "m.obj").write_text((DATA / "cube.obj").read_text())
    (tmp_path / "nofaces.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (tmp_path / "m.stl").write_bytes(b"\0" * 84)
    visual = '<visual>{origin}<geometry><mesh filename="{mesh}"/></geometry></visual>'
    box = '<visual><geometry><box size="1 1 1"/></geometry></visual>'
    cases = {
        "obj": (visual.format(origin="", mesh="m.obj"), True),
        "two_origins": (visual.format(origin="", mesh="m.obj")
                        + visual.format(origin='<origin xyz="1 0 0"/>', mesh="m.obj"), True),
        "primitives": (box + box, True),   # never cached: loads as it is, in order
        "same_origin": (visual.format(origin="", mesh="m.obj") * 2, False),
        "same_origin_spelled_twice": (visual.format(origin="", mesh="m.obj")
                                      + visual.format(origin='<origin xyz="0 0 0.0"/>',
                                                      mesh="m.obj"), False),
        "same_origin_other_scale": (visual.format(origin="", mesh="m.obj")
                                    + visual.format(origin="", mesh='m.obj" scale="2 2 2'),
                                    False),
        "bad_origin": (visual.format(origin='<origin xyz="1 x 0"/>', mesh="m.obj"), False),
        "no_faces": (visual.format(origin="", mesh="nofaces.obj"), False),
        "stl": (visual.format(origin="", mesh="m.stl"), False),
        "collision_drawn": ('<collision><geometry><mesh filename="m.obj"/></geometry>'
                            '</collision>', False),
    }
    for name, (link, keeps) in cases.items():
        variants = MeshVariants(tmp_path / "out")
        path = _urdf(tmp_path, name, link)
        assert variants.keeps_order(path) == keeps, name
        variants.path_for(path, 1.0, own_shapes=True)
        assert variants.in_order == keeps, name
    variants = MeshVariants(tmp_path / "out")
    package = _urdf(tmp_path, "package", visual.format(origin="", mesh="package://x/m.obj"))
    assert variants.path_for(package, 1.0) == package   # as it is: what it drew is unknown
    assert not variants.in_order


def test_a_body_of_a_textured_shape_drawn_at_its_scale_shares_it(tmp_path):
    variants = MeshVariants(tmp_path)
    mesh = str((DATA / "objects/mug.obj").resolve())
    assert not variants.shares(MUG, 1.0)
    first = variants.path_for(MUG, 1.0, own_shapes=True)
    variants.drew(_shapes([(mesh, (1.0, 1.0, 1.0))]), "mug")
    assert variants.shares(MUG, 1.0) and not variants.shares(MUG, 1.5)
    # Later bodies need the order kept while one of them has no shape to reuse by then.
    assert not variants.order_needed([(MUG, 1.0), (MUG, 1.0)])
    assert variants.order_needed([(MUG, 1.5)])
    assert not variants.order_needed([])
    assert variants.path_for(MUG, 1.0) == first and not variants.in_order


# Ducks at one scale (the model is textured), then optionally jenga blocks, in a row.
DUCKS = """\
name: ducks
image: {width: 160, height: 120}
categories: [duck, block]
static:
  - {asset: "pybullet:plane.urdf"}
objects:
  - {asset: "pybullet:duck_vhacd.urdf", category: duck, count: 5, scale: 1.0,
     spawn: {box: {min: [-0.6, -0.1, 0.1], max: [0.6, 0.1, 0.1]}}}
BLOCKS
camera: {fov_deg: 60, look_at: [0, 0, 0], distance_m: 2.0, azimuth_deg: 0, elevation_deg: 89}
settle: {max_steps: 0}
"""
BLOCKS = """\
  - {asset: "pybullet:jenga/jenga.urdf", category: block, count: 2,
     spawn: {box: {min: [-0.6, 0.4, 0.1], max: [0.6, 0.4, 0.1]}}}
"""


@pytest.mark.parametrize("blocks", [False, True])
def test_bodies_of_one_textured_model_share_its_shape_unless_a_later_body_needs_the_order(
        tmp_path, monkeypatch, blocks):
    """Five ducks alone: one takes its own shapes and is given its texture, the other four
    reuse them (one draw call). Jenga blocks after them: every duck takes its own shapes, so
    that the order holds for the first block; the second block reuses the first's. The bytes
    are those of the URDFs loaded as they are."""
    path = tmp_path / "ducks.yaml"
    path.write_text(DUCKS.replace("BLOCKS\n", BLOCKS if blocks else ""))
    how: list[tuple[str, str]] = []
    usable = World._usable_twin

    def spy(self, body):
        twin, give = usable(self, body)
        how.append((Path(body.path).stem, "given" if give else "shared" if twin else "as is"))
        return twin, give

    monkeypatch.setattr(World, "_usable_twin", spy)
    twinned = first_view(path, "egl")
    if blocks:
        assert how[1:] == [("duck_vhacd", "given")] * 5 + [("jenga", "given"), ("jenga", "shared")]
    else:
        assert how[1:] == [("duck_vhacd", "given")] + [("duck_vhacd", "shared")] * 4

    def plain(world: World) -> None:
        world.twins = {}

    loaded_as_they_are = first_view(path, "egl", plain)
    assert len(np.unique(twinned.instance_map)) == (8 if blocks else 6)
    np.testing.assert_array_equal(twinned.rgb, loaded_as_they_are.rgb)
    np.testing.assert_array_equal(twinned.instance_map, loaded_as_they_are.instance_map)
