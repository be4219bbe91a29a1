"""EGL loads a URDF's mesh textures once per client (simgen.render.egl_textures): the scene
draws the same bytes as loading the URDF as it is, and what cannot be given back exactly loads
as it always did."""

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


# scene: (overrides, scenes, how some bodies of a model load: "given" (from the twin, textures
# given after loading), "shared" (from the twin, reusing a textured shape an earlier body of it
# drew at its scale), "as is" (the plugin reads the texture: the order was lost)).
TWIN_SCENES = {
    "tabletop": ([], 6, {("jenga.urdf", "given"), ("duck_vhacd.urdf", "given"),
                         ("table.urdf", "given")}),
    "own_parts": ([], 8, {("model.urdf", "given"), ("model.urdf", "shared"),
                          ("model.urdf", "as is")}),
    "bin_picking": ([], 3, {("traybox.urdf", "given")}),
    "mobile_floor": (["light={direction: [1, 1, 2]}"], 3, {("traybox.urdf", "as is")}),
}


def _twin_uses(monkeypatch) -> set[tuple[str, str]]:
    uses: set[tuple[str, str]] = set()
    usable = World._usable_twin

    def spy(self, body):
        twin, give = usable(self, body)
        if body.path in self.twins:
            uses.add((Path(body.path).name,
                      "given" if give else "shared" if twin is not None else "as is"))
        return twin, give

    monkeypatch.setattr(World, "_usable_twin", spy)
    return uses


@pytest.mark.parametrize("scene", list(TWIN_SCENES))
def test_twins_draw_the_same_bytes_as_the_urdf_loaded_as_it_is(scene, monkeypatch):
    """Statics and objects: a twin's textures are given after loading, and reach the right
    shape only while the plugin's shapes and instances are in step (egl_meshes.in_order); a
    body may reuse a textured shape drawn at its scale; once neither holds, the body loads as
    it is. Every way, the bytes are those of every URDF loaded as it is."""
    overrides, scenes, expected = TWIN_SCENES[scene]
    scenario = load(REPO / f"scenes/{scene}.yaml",
                    ["image.width=160", "image.height=120", *overrides])
    uses = _twin_uses(monkeypatch)
    with World() as world:
        renderer = start_renderer(world, "egl", scenario)
        assert world.twins, "this scenario draws a file texture"
        twinned = _frames(world, renderer, scenario, scenes)
        assert all(t in world.texture_slots for twin in world.twins.values()
                   for t in twin.textures)
    assert expected <= uses
    with World() as world:
        renderer = start_renderer(world, "egl", scenario)
        world.twins = {}   # every URDF as it is
        plain = _frames(world, renderer, scenario, scenes)
    for a, b in zip(twinned, plain):
        for layer_a, layer_b in zip(a, b):
            np.testing.assert_array_equal(layer_a, layer_b)


def test_a_twin_given_textures_out_of_order_draws_wrong(monkeypatch):
    """Why the order is followed: own_parts' parts given their texture whatever the order (a
    body removed, a shape shared before them) draw other pixels than loaded as they are."""
    scenario = load(REPO / "scenes/own_parts.yaml", ["image.width=160", "image.height=120"])
    frames = {}
    for forced in (False, True):
        if forced:
            monkeypatch.setattr(World, "_usable_twin",
                                lambda self, body: (self.twins.get(body.path),
                                                    body.path in self.twins))
        with World() as world:
            renderer = start_renderer(world, "egl", scenario)
            frames[forced] = _frames(world, renderer, scenario, 2)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(frames[False], frames[True]))


def test_tiny_loads_every_urdf_as_it_is():
    with World() as world:
        start_renderer(world, "tiny", load(REPO / "scenes/tabletop.yaml"))
        assert world.twins == {}


def test_egl_twins_every_model_a_body_may_load(tmp_path):
    from simgen.render.capabilities import egl_models

    scenario = load(REPO / "scenes/tabletop.yaml")
    names = [Path(p).name for p in egl_models(scenario)]
    assert names[:4] == ["plane.urdf", "table.urdf", "mug.urdf", "duck_vhacd.urdf"]
    assert len(names) == len(set(names)) and "jenga.urdf" in names and "001.urdf" in names


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
