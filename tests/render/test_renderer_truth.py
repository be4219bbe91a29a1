"""Pixels match provenance on every renderer here: the drawn texture is the recorded one, even
after other scenes loaded other textures in the same world; every light setting a renderer
accepts changes the pixels, and one it cannot apply is refused at load."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import simgen
from simgen.errors import ScenarioError
from simgen.render import start_renderer
from simgen.scenario.sample import sample
from simgen.sim import World
from simgen.seeding import scene_streams
from tests.conftest import RENDERERS_HERE, SCENES

FLAT = {"red.png": (255, 0, 0), "green.png": (0, 255, 0), "blue.png": (0, 0, 255)}

# The table top fills the middle of the image; the floor around it draws from four patterned
# textures, so every scene loads several textures before and after the table's.
TEXTURED = """\
name: flat_table
image: {width: 96, height: 72}
categories: [box]
static:
  - asset: "pybullet:plane.urdf"
    name: floor
    appearance:
      color_rgba: [1, 1, 1, 1]
      textures: ["assets:textures/noise.png", "assets:textures/checker.png",
                 "assets:textures/stripes.png", "assets:textures/wood.png"]
  - asset: "pybullet:table/table.urdf"
    name: table
    appearance: {color_rgba: [1, 1, 1, 1], textures: [red.png, green.png, blue.png]}
objects:
  - {asset: catalog:box_small, category: box, spawn: {box: {min: [0.4, 0.3, 0.7], max: [0.4, 0.3, 0.7]}}}
camera: {fov_deg: 30, look_at: [0, 0, 0.626], distance_m: 1.0, azimuth_deg: 0, elevation_deg: 89}
settle: {max_steps: 0}
"""


def _flat_textures(folder: Path) -> None:
    for name, rgb in FLAT.items():
        cv2.imwrite(str(folder / name), np.full((16, 16, 3), rgb[::-1], np.uint8))


def _drawn_colour(rgb: np.ndarray) -> str:
    """Which flat texture the middle of the image shows: its one bright channel."""
    mean = rgb[30:42, 40:56].reshape(-1, 3).astype(float).mean(axis=0)
    channel = int(np.argmax(mean))
    # Cycles also shows the sky in a surface's sheen (about 50 in the other channels).
    assert mean[channel] > 100 and np.delete(mean, channel).max() < 0.3 * mean[channel], mean
    return list(FLAT)[channel]


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_the_drawn_texture_is_the_recorded_one_after_other_scenes(tmp_path, renderer):
    _flat_textures(tmp_path)
    (tmp_path / "flat.yaml").write_text(TEXTURED)
    scenario = simgen.load_scenario(tmp_path / "flat.yaml")
    recorded, drawn, floors = [], [], set()
    with World() as world:
        render = start_renderer(world, renderer, scenario)
        assert render.name == renderer
        for scene in range(10):
            drawn_sample = sample(scenario, np.random.SeedSequence([0, scene]))
            settled = world.settle(drawn_sample, scenario.spec.settle)
            frame = render.render(settled, drawn_sample.views[0], drawn_sample.light)
            recorded.append(drawn_sample.static[1].appearance.texture)
            drawn.append(_drawn_colour(frame.rgb))
            floors.add(drawn_sample.static[0].appearance.texture)
    assert drawn == recorded
    assert len(set(recorded)) == 3 and len(floors) >= 3   # the table and floor changed textures


LIT = """\
name: lit
image: {width: 96, height: 72}
categories: [box]
static:
  - {asset: "pybullet:plane.urdf", name: floor}
  - {asset: "pybullet:table/table.urdf", name: table}
objects:
  - {asset: catalog:box_medium, category: box, orientation_deg: [0, 0, 30],
     spawn: {box: {min: [0, 0, 0.75], max: [0, 0, 0.75]}}}
camera: {fov_deg: 50, look_at: [0, 0, 0.626], distance_m: 1.4, azimuth_deg: 30, elevation_deg: 50}
settle: {max_steps: 0}
"""
# One change of each light key from its default.
LIGHT_CHANGES = {"direction": "light.direction=[-1, 0.5, 1]", "color": "light.color=[1, 0.3, 0.3]",
                 "distance_m": "light.distance_m=1.5", "ambient": "light.ambient=0.1",
                 "diffuse": "light.diffuse=0.9", "specular": "light.specular=0.8",
                 "shadows": "light.shadows=false"}
EGL_APPLIES = {"direction"}
CYCLES_REFUSES = {"distance_m"}   # where TinyRenderer puts its shadow map: a sun has none


def _render_lit(folder: Path, renderer: str, overrides: list[str]) -> np.ndarray:
    scenario = simgen.load_scenario(folder / "lit.yaml", overrides)
    with World() as world:
        render = start_renderer(world, renderer, scenario)
        drawn = sample(scenario, np.random.SeedSequence([0, 0]))
        settled = world.settle(drawn, scenario.spec.settle)
        return render.render(settled, drawn.views[0], drawn.light).rgb


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
@pytest.mark.parametrize("key", list(LIGHT_CHANGES))
def test_each_light_setting_changes_the_pixels_or_is_refused(tmp_path, renderer, key):
    (tmp_path / "lit.yaml").write_text(LIT)
    if (renderer == "egl" and key not in EGL_APPLIES) or (renderer == "cycles"
                                                          and key in CYCLES_REFUSES):
        with pytest.raises(ScenarioError) as err:
            _render_lit(tmp_path, renderer, [LIGHT_CHANGES[key]])
        assert err.value.key_path.startswith(f"light.{key} (from --set")
        assert f"the {renderer} renderer" in str(err.value) and "\n" not in str(err.value)
        return
    default = _render_lit(tmp_path, renderer, [])
    changed = _render_lit(tmp_path, renderer, [LIGHT_CHANGES[key]])
    assert (changed != default).any(axis=2).sum() > 100


def test_egl_refusals_name_the_file_line_and_key(tmp_path):
    # Decided from the scenario alone, before EGL starts: the same on a machine without EGL.
    (tmp_path / "lit.yaml").write_text(LIT.replace("settle:", "light: {ambient: 0.4}\nsettle:"))
    scenario = simgen.load_scenario(tmp_path / "lit.yaml")
    with World() as world, pytest.raises(ScenarioError) as err:
        start_renderer(world, "egl", scenario)
    assert str(err.value).startswith(f"{tmp_path / 'lit.yaml'}:11: light.ambient: the egl renderer")
    _flat_textures(tmp_path)
    on_object = TEXTURED.replace("spawn: {box: {min: [0.4", "appearance: {textures: [red.png]}, "
                                 "spawn: {box: {min: [0.4")
    (tmp_path / "obj.yaml").write_text(on_object)
    with World() as world, pytest.raises(ScenarioError, match=r"objects\[0\]\.appearance\.textures"):
        start_renderer(world, "egl", simgen.load_scenario(tmp_path / "obj.yaml"))
    repeated = TEXTURED.replace('  - asset: "pybullet:table/table.urdf"',
                                '  - {asset: "pybullet:plane.urdf", position: [0, 0, -1]}\n'
                                '  - asset: "pybullet:table/table.urdf"')
    (tmp_path / "rep.yaml").write_text(repeated)
    with World() as world, pytest.raises(ScenarioError, match=r"static\[2\]\.appearance\.textures"):
        start_renderer(world, "egl", simgen.load_scenario(tmp_path / "rep.yaml"))


# The light EGL can apply (its direction), so that every shipped scenario whose bodies EGL can
# draw is drawn by both; the geometry is what is compared.
DIRECTION_ONLY = "light={direction: [1, 1, 2]}"


def _geometry_scenes() -> list[Path]:
    from simgen.render.capabilities import egl_refusal

    return [s for s in SCENES
            if egl_refusal(simgen.load_scenario(s, [DIRECTION_ONLY])) is None]


@pytest.mark.parametrize("renderer", [r for r in RENDERERS_HERE if r == "egl"])
@pytest.mark.parametrize("scene", _geometry_scenes(), ids=lambda p: p.stem)
def test_each_object_covers_the_same_pixels_as_on_tinyrenderer(renderer, scene):
    """Every object of a shipped scenario, drawn by another renderer, covers TinyRenderer's
    pixels of it but for its edges: what a renderer's own fault in the geometry would break
    (EGL drew a body of a mesh another body drew at another scale at that one's scale:
    mobile_floor's boxes at IoU 0.2-0.6, tabletop's second mug at 0.79)."""
    scenario = simgen.load_scenario(scene, [DIRECTION_ONLY])
    with World() as tiny_world, World() as other_world:
        tiny, other = start_renderer(tiny_world, "tiny", scenario), start_renderer(
            other_world, renderer, scenario)
        compared = 0
        for index in range(2):
            drawn = sample(scenario, scene_streams(0, index).sampling, seed=0, scene_index=index)
            tiny_scene = tiny_world.settle(drawn, scenario.spec.settle)
            other_scene = other_world.settle(drawn, scenario.spec.settle)
            for camera in drawn.views[:2]:
                a = tiny.render(tiny_scene, camera, drawn.light).instance_map
                b = other.render(other_scene, camera, drawn.light).instance_map
                for instance in range(1, len(drawn.labeled) + 1):
                    mine, theirs = a == instance, b == instance
                    if min(mine.sum(), theirs.sum()) < 300:
                        continue   # thin or far: its edges are most of it
                    iou = (mine & theirs).sum() / (mine | theirs).sum()
                    assert iou > 0.9, (scene.stem, index, instance, iou)
                    compared += 1
    assert compared >= 4
