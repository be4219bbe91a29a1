"""EGL loads a static URDF's mesh textures once per client (simgen.render.egl_textures): the
scene draws the same bytes as loading the URDF as it is, and what cannot be given back exactly
loads as it always did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pybullet_data
import pytest

from simgen.render import start_renderer
from simgen.render.egl_textures import make_twins
from simgen.scenario import load
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World
from tests.conftest import REPO

DATA = Path(pybullet_data.getDataPath())
TABLE = str(DATA / "table/table.urdf")


def test_a_textured_urdf_is_twinned_with_untextured_visual_copies(tmp_path):
    twin = make_twins([TABLE], tmp_path)[TABLE]
    texture = str((DATA / "table/table.png").resolve())
    # One link of five visuals, all drawing the table's texture: the link gets it back.
    assert twin.link_textures == (("baseLink", texture),) and twin.textures == (texture,)
    text = Path(twin.urdf_path).read_text()
    copies = {line.split('"')[1] for line in text.splitlines() if "filename=" in line}
    # The five visuals read one copy of the mesh, whose material names no texture.
    (copy,) = copies
    assert Path(copy).parent == Path(twin.urdf_path).parent
    assert Path(copy).read_text().count("mtllib") == 1
    mtl = Path(copy).with_suffix(".mtl").read_text()
    assert "map_Kd" not in mtl and "Kd 0.5880" in mtl


def test_what_cannot_be_given_back_exactly_is_not_twinned(tmp_path):
    (tmp_path / "a.png").write_bytes((DATA / "table/table.png").read_bytes())
    (tmp_path / "b.png").write_bytes((DATA / "table/table.png").read_bytes())
    box = (DATA / "table/table.obj").read_text()

    def mesh(name: str, mtl: str) -> None:
        (tmp_path / f"{name}.obj").write_text(box.replace("mtllib table.mtl", f"mtllib {name}.mtl"))
        (tmp_path / f"{name}.mtl").write_text(mtl)

    mesh("one", "newmtl m\nKd 1 1 1\nmap_Kd a.png\n")
    mesh("other", "newmtl m\nKd 1 1 1\nmap_Kd b.png\n")
    mesh("two", "newmtl m\nmap_Kd a.png\nnewmtl n\nmap_Kd b.png\n")
    mesh("out", "newmtl m\nmap_Kd ../outside.png\n")
    mesh("plain", "newmtl m\nKd 1 0 0\n")
    (tmp_path / "sub").mkdir()   # the texture is there: only the material's place refuses
    (tmp_path / "sub/a.png").write_bytes((DATA / "table/table.png").read_bytes())
    (tmp_path / "sub/linked.obj").write_text(box.replace("mtllib table.mtl", "mtllib ../one.mtl"))
    (tmp_path / "sub/symlinked.mtl").symlink_to(tmp_path / "one.mtl")
    (tmp_path / "sub/symlinked.obj").write_text(box.replace("mtllib table.mtl",
                                                            "mtllib symlinked.mtl"))

    def urdf(name: str, *links: list[str]) -> str:
        body = "".join(
            f'<link name="l{i}">' + "".join(
                f'<visual><geometry><mesh filename="{m}"/></geometry></visual>'
                f'<collision><geometry><mesh filename="{m}"/></geometry></collision>'
                for m in meshes) + "</link>" for i, meshes in enumerate(links))
        (tmp_path / f"{name}.urdf").write_text(f'<robot name="{name}">{body}</robot>')
        return str(tmp_path / f"{name}.urdf")

    cases = {
        urdf("fine", ["one.obj", "one.obj"], ["plain.obj"]): True,
        urdf("link_two_textures", ["one.obj", "other.obj"]): False,
        urdf("link_part_untextured", ["one.obj", "plain.obj"]): False,
        urdf("material_two_textures", ["two.obj"]): False,
        urdf("texture_outside_the_mesh_folder", ["out.obj"]): False,
        urdf("nothing_textured", ["plain.obj"]): False,
        urdf("package_path", ["package://x/one.obj"]): False,
        urdf("material_outside_the_mesh_folder", ["sub/linked.obj"]): False,
        urdf("material_linked_out_of_the_mesh_folder", ["sub/symlinked.obj"]): False,
    }
    twins = make_twins(list(cases), tmp_path / "twins")
    assert {path: path in twins for path in cases} == cases
    fine = twins[next(iter(cases))]
    assert [name for name, _ in fine.link_textures] == ["l0"]
    # Collision meshes (and the untextured link's visual) are read from the original files.
    text = Path(fine.urdf_path).read_text()
    assert text.count(f'"{(tmp_path / "one.obj").resolve()}"') == 2
    assert text.count(f'"{(tmp_path / "plain.obj").resolve()}"') == 2


def _frames(world, renderer, scenario, scenes: int):
    out = []
    for index in range(scenes):
        drawn = sample(scenario, scene_streams(0, index).sampling, seed=0, scene_index=index)
        settled = world.settle(drawn, scenario.spec.settle)
        for camera in drawn.views[:2]:
            frame = renderer.render(settled, camera, drawn.light)
            out.append((frame.rgb, frame.instance_map, frame.depth_m))
    return out


@pytest.mark.parametrize("scene", ["tabletop", "bin_picking", "own_parts"])
def test_static_twins_draw_the_same_bytes_as_the_urdf_loaded_as_it_is(scene):
    scenario = load(REPO / f"scenes/{scene}.yaml", ["image.width=160", "image.height=120"])
    with World() as world:
        renderer = start_renderer(world, "egl", scenario)
        assert world.twins, "this scenario's set draws a file texture"
        twinned = _frames(world, renderer, scenario, 4)
        table = next(iter(world.twins.values()))
        assert table.textures[0] in world.texture_slots
    with World() as world:
        renderer = start_renderer(world, "egl", scenario)
        world.twins = {}   # every URDF as it is
        plain = _frames(world, renderer, scenario, 4)
    for a, b in zip(twinned, plain):
        for layer_a, layer_b in zip(a, b):
            np.testing.assert_array_equal(layer_a, layer_b)


def test_tiny_loads_every_urdf_as_it_is():
    with World() as world:
        start_renderer(world, "tiny", load(REPO / "scenes/tabletop.yaml"))
        assert world.twins == {}


def test_only_the_set_before_a_repeated_or_drawn_asset_is_twinned(tmp_path):
    """The textures EGL gives after loading reach the right body only while the static bodies
    load the same shapes in the same order every scene: no body repeats an asset, and none is
    drawn from several."""
    from simgen.render.capabilities import egl_static_models

    base = (REPO / "scenes/tabletop.yaml").read_text()
    scenario = load(REPO / "scenes/tabletop.yaml")
    assert [Path(p).name for p in egl_static_models(scenario)] == ["plane.urdf", "table.urdf"]
    drawn = tmp_path / "drawn.yaml"
    drawn.write_text(base.replace('- asset: "pybullet:plane.urdf"',
                                  '- asset: ["pybullet:plane.urdf", "pybullet:plane100.urdf"]'))
    assert egl_static_models(load(drawn)) == []
    repeated = tmp_path / "repeated.yaml"
    repeated.write_text(base.replace('- asset: "pybullet:table/table.urdf"',
                                     '- asset: "pybullet:plane.urdf"'))
    assert [Path(p).name for p in egl_static_models(load(repeated))] == ["plane.urdf"]


def test_a_file_over_the_size_limit_is_not_twinned(tmp_path, monkeypatch):
    """Sizes are checked before a file is read: a URDF, mesh or material file over
    MAX_TWIN_FILE_BYTES (here made smaller than the table's files) leaves the URDF to load as
    it is."""
    import simgen.render.egl_textures as egl_textures

    smallest = min((DATA / name).stat().st_size
                   for name in ("table/table.urdf", "table/table.obj", "table/table.mtl"))
    monkeypatch.setattr(egl_textures, "MAX_TWIN_FILE_BYTES", smallest - 1)
    assert make_twins([TABLE], tmp_path) == {}
    monkeypatch.setattr(egl_textures, "MAX_TWIN_FILE_BYTES", 64 * 1024**2)
    assert TABLE in make_twins([TABLE], tmp_path)
