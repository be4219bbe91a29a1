"""The cycles renderer: labels exact for the pixels Blender draws, the same pixels whatever its
thread count, every look setting changing the pixels (and never the labels), provenance of what
Blender applied, refusals at load, and a clear error where Blender is missing.

The promises every renderer keeps (workers, subsets, resume, regen, Ray, scene independence,
the projected cube) run on cycles through tests.conftest.RENDERERS_HERE."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simgen
from simgen.errors import ScenarioError
from simgen.render import RendererUnavailable, start_renderer
from simgen.scenario.look import draw_look
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World
from tests.conftest import SCENES, SMALL

FAST = ["cycles.samples=4"]


def _settled(scenario, world, scene_index=0):
    streams = scene_streams(0, scene_index)
    drawn = sample(scenario, streams.sampling, seed=0, scene_index=scene_index)
    return drawn, world.settle(drawn, scenario.spec.settle), streams


def test_instance_map_and_depth_agree_with_tinyrenderer_pixel_for_pixel():
    # The label pass samples each pixel at its centre, as TinyRenderer does: the same settled
    # scene gives the same instance map (measured: 0 of 307,200 pixels differ at 640 x 480).
    scenario = simgen.load_scenario("tabletop", ["image.width=320", "image.height=240", *FAST])
    with World() as world:
        drawn, settled, streams = _settled(scenario, world)
        tiny = start_renderer(world, "tiny", scenario)
        cycles = start_renderer(world, "cycles", scenario)
        look = draw_look(scenario.spec.cycles, drawn, scenario.spec.categories, streams.look)
        for camera in drawn.views[:2]:
            a = tiny.render(settled, camera, drawn.light)
            b = cycles.render(settled, camera, drawn.light, look)
            assert (a.instance_map > 0).sum() > 1000
            assert (a.instance_map != b.instance_map).sum() <= 0.001 * a.instance_map.size
            both = (a.instance_map > 0) & (a.instance_map == b.instance_map)
            assert np.abs(a.depth_m[both] - b.depth_m[both]).max() < 1e-3
            assert b.rgb.dtype == np.uint8 and b.rgb.shape == (240, 320, 3)
            # ... and the object alone is the same mask (visibility, amodal boxes).
            uid = settled.labeled_body_ids[0]
            alone_tiny = tiny.render_alone(uid, camera, 160, 120)
            alone_cycles = cycles.render_alone(uid, camera, 160, 120)
            assert alone_tiny.sum() > 0
            assert (alone_tiny != alone_cycles).sum() <= 0.01 * alone_tiny.sum()


@pytest.mark.slow   # whole runs or every shipped scene: CI runs it, the quick loop not
@pytest.mark.parametrize("scene", [s.stem for s in SCENES])
def test_every_shipped_scene_has_tinyrenderers_geometry(scene):
    # Meshes from OBJ and STL, primitives, SDF bodies, robot links and base inertial offsets:
    # every visual shape lands where PyBullet draws it, in every view.
    scenario = simgen.load_scenario(scene, [*SMALL, "cycles.samples=1", "cycles.denoise=false"])
    with World() as world:
        tiny = start_renderer(world, "tiny", scenario)
        cycles = start_renderer(world, "cycles", scenario)
        for scene_index in range(2):
            drawn, settled, streams = _settled(scenario, world, scene_index)
            look = draw_look(scenario.spec.cycles, drawn, scenario.spec.categories, streams.look)
            for camera in drawn.views:
                a = tiny.render(settled, camera, drawn.light).instance_map
                b = cycles.render(settled, camera, drawn.light, look).instance_map
                assert (a != b).sum() <= 0.005 * a.size, (scene_index, (a != b).sum())
                assert set(np.unique(a)) == set(np.unique(b))


def test_pixels_do_not_depend_on_the_thread_count():
    scenario = simgen.load_scenario("bin_picking", [*SMALL, "cycles.samples=8"])
    frames = []
    for threads in (1, 2):
        with World() as world:
            drawn, settled, streams = _settled(scenario, world)
            renderer = start_renderer(world, "cycles", scenario, threads=threads)
            look = draw_look(scenario.spec.cycles, drawn, scenario.spec.categories, streams.look)
            frames.append(renderer.render(settled, drawn.views[0], drawn.light, look))
    assert np.array_equal(frames[0].rgb, frames[1].rgb)   # the denoiser included
    assert np.array_equal(frames[0].instance_map, frames[1].instance_map)


LOOKS = {
    "exposure": ["cycles.exposure=1.5"],
    "sky": ["cycles.sky={strength: 0.5, sun_elevation_deg: 20}"],
    "sun": ["cycles.sun={strength: 6, angle_deg: 10}"],
    "lamp": ['cycles.lights=[{type: area, position: [0.3, -0.3, 1.4], look_at: [0, 0, 0.63], '
             'power_w: 300, size_m: 0.4, color: [1, 0.6, 0.3]}]'],
    "metal": ["cycles.materials=[{section: objects, metallic: 1, roughness: 0.2}]"],
    "view": ["cycles.view_transform=AgX"],
    "samples": ["cycles.samples=16"],
    "denoise": ["cycles.denoise=false"],
}


@pytest.mark.slow   # whole runs or every shipped scene: CI runs it, the quick loop not
def test_each_look_setting_changes_the_pixels_and_never_the_labels(tmp_path):
    base = [*SMALL, *FAST]
    outputs = {}
    for name, extra in [("base", [])] + list(LOOKS.items()):
        out = tmp_path / name
        simgen.generate(simgen.load_scenario("tabletop", [*base, *extra]), out, images=1,
                        renderer="cycles")
        image = next((out / "images").rglob("*.png")).read_bytes()
        coco = json.loads(next((out / "annotations").glob("instances_*.json")).read_text())
        outputs[name] = (image, [(a["bbox"], a["area"]) for a in coco["annotations"]],
                         coco["images"][0]["provenance"]["scene"]["cycles"])
    image, labels, _ = outputs["base"]
    for name in LOOKS:
        assert outputs[name][0] != image, name
        assert outputs[name][1] == labels, name
    assert outputs["exposure"][2]["exposure"] == 1.5
    assert outputs["sky"][2]["world"]["sky"]["sun_elevation_deg"] == 20.0
    assert outputs["sun"][2]["lights"][0]["strength"] == 6.0
    lamp = outputs["lamp"][2]["lights"][1]
    assert lamp["type"] == "AREA" and lamp["power_w"] == 300.0 and lamp["color"] == [1, 0.6, 0.3]
    assert all(m == {"roughness": 0.2, "metallic": 1.0, "specular": 0.5}
               for m in outputs["metal"][2]["materials"]["objects"])
    plain = {"roughness": 0.5, "metallic": 0.0, "specular": 0.5}   # light.specular 0.05
    assert outputs["metal"][2]["materials"]["static"] == [plain, plain]
    assert outputs["samples"][2]["samples"] == 16
    assert outputs["denoise"][2]["denoiser"] is None
    assert outputs["base"][2]["denoiser"] == "OpenImageDenoise"
    assert outputs["base"][2]["blender"] == "5.0.1"


@pytest.mark.slow   # whole runs or every shipped scene: CI runs it, the quick loop not
def test_randomized_look_differs_per_scene_and_is_recorded(tmp_path):
    scenario = simgen.load_scenario("bin_picking", [
        *SMALL, *FAST, "cycles.exposure={uniform: [-1, 1]}",
        "cycles.materials=[{category: bolt, metallic: 1, roughness: {uniform: [0.1, 0.4]}}]"])
    simgen.generate(scenario, tmp_path / "d", images=8, renderer="cycles")
    seen = {}
    for path in (tmp_path / "d" / "annotations").glob("instances_*.json"):
        for image in json.loads(path.read_text())["images"]:
            look = image["provenance"]["scene"]["cycles"]
            seen[image["provenance"]["scene_index"]] = look
            objects = image["provenance"]["scene"]["objects"]
            for body, material in zip(objects, look["materials"]["objects"]):
                if body["category_id"] == 1 + scenario.spec.categories.index("bolt"):
                    assert material["metallic"] == 1.0 and 0.1 <= material["roughness"] <= 0.4
                else:   # no rule: light.specular's level (bin_picking keeps the default)
                    assert material == {"roughness": 0.5, "metallic": 0.0, "specular": 0.5}
    exposures = {look["exposure"] for look in seen.values()}
    assert len(seen) == 2 and len(exposures) == 2
    assert all(-1 <= e <= 1 for e in exposures)


def test_a_cycles_section_changes_nothing_tiny_draws(tmp_path):
    size = ["image.width=160", "image.height=120"]   # SMALL has a cycles section
    plain = simgen.load_scenario("tabletop", size)
    dressed = simgen.load_scenario("tabletop", [*size, "cycles.exposure=2", "cycles.sky={}"])
    for scenario, out in ((plain, tmp_path / "a"), (dressed, tmp_path / "b")):
        simgen.generate(scenario, out, images=2, renderer="tiny")
    images = [sorted(p.read_bytes() for p in (tmp_path / d / "images").rglob("*.png"))
              for d in "ab"]
    assert images[0] == images[1]


@pytest.mark.parametrize("override,key", [
    ("light.distance_m=2", "light.distance_m"),
])
def test_a_light_setting_cycles_cannot_apply_is_refused_at_load(tmp_path, override, key):
    scenario = simgen.load_scenario("tabletop", [*SMALL, override])
    with World() as world, pytest.raises(ScenarioError, match=key.split(".")[1]):
        start_renderer(world, "cycles", scenario)
    proc = subprocess.run([sys.executable, "-m", "simgen", "generate", "tabletop", "-o",
                           str(tmp_path / "out"), "-n", "1", "--renderer", "cycles", "--set",
                           override], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert key in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_sky_beside_a_changed_ambient_is_refused(tmp_path):
    scenario = simgen.load_scenario("tabletop", [*SMALL, "light.ambient=0.3", "cycles.sky={}"])
    with World() as world, pytest.raises(ScenarioError, match="ambient"):
        start_renderer(world, "cycles", scenario)


def test_a_material_rule_naming_an_unknown_category_is_refused():
    with pytest.raises(ScenarioError, match=r"cycles\.materials\[0\]\.category") as err:
        simgen.load_scenario("tabletop", ["cycles.materials=[{category: spoon, metallic: 1}]"])
    assert "spoon" in str(err.value)


def test_missing_blender_is_one_line_naming_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMGEN_CYCLES_HOME", str(tmp_path / "nowhere"))
    monkeypatch.delenv("SIMGEN_BLENDER_PYTHON", raising=False)
    with World() as world, pytest.raises(RendererUnavailable, match="simgen cycles install"):
        start_renderer(world, "cycles")
    proc = subprocess.run([sys.executable, "-m", "simgen", "generate", "tabletop", "-o",
                           str(tmp_path / "out"), "-n", "1", "--renderer", "cycles"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "simgen cycles install" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_blender_goes_with_its_world():
    scenario = simgen.load_scenario("tabletop", [*SMALL, *FAST])
    with World() as world:
        renderer = start_renderer(world, "cycles", scenario)
        process = renderer._blender._proc
        assert process.poll() is None
    assert process.wait(timeout=10) == 0


@pytest.mark.slow   # whole runs or every shipped scene: CI runs it, the quick loop not
def test_preview_renders_with_cycles(tmp_path):
    out = tmp_path / "sheet.png"
    proc = subprocess.run([sys.executable, "-m", "simgen", "preview", "tabletop", "-o", str(out),
                           "-n", "2", "--renderer", "cycles", "--scale", "0.25", "--set",
                           "cycles.samples=2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "renderer cycles" in proc.stderr
    import cv2

    sheet = cv2.imread(str(out))
    assert sheet is not None and sheet.shape[0] >= 120 and sheet.std() > 10


def test_each_blender_takes_cores_no_other_holds(tmp_path, monkeypatch):
    # OpenImageDenoise runs on every core a Blender may use: two workers' Blenders on the same
    # cores slowed each other by a quarter, so each is pinned to cores of its own.
    from simgen.render import cycles

    monkeypatch.setattr(cycles, "CORES_DIR", tmp_path)
    cpus = sorted(os.sched_getaffinity(0))
    claims = [cycles.claim_cores(1) for _ in cpus]
    if len(cpus) == 1:   # one core: nothing to share out
        assert claims == [(None, None)]
        return
    assert sorted(c for cores, _ in claims for c in cores) == cpus
    assert cycles.claim_cores(1) == (None, None)          # every core taken
    claims[0][1].close()                                    # a Blender ends ...
    again, lock = cycles.claim_cores(1)
    assert again == claims[0][0]                            # ... and its cores are free again
    assert cycles.claim_cores(len(cpus)) == (None, None)  # all cores: no pinning needed
    scenario = simgen.load_scenario("tabletop", [*SMALL, *FAST])
    lock.close()
    with World() as world:
        renderer = start_renderer(world, "cycles", scenario, threads=1)
        status = Path(f"/proc/{renderer._blender._proc.pid}/status").read_text()
        allowed = next(line for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
        assert allowed.split()[-1] == str(claims[0][0][0])
    for _, held in claims[1:]:
        held.close()


def test_cycles_where_names_the_blender_and_says_how_to_get_one(tmp_path):
    env = {**os.environ, "SIMGEN_CYCLES_HOME": str(tmp_path / "none")}
    env.pop("SIMGEN_BLENDER_PYTHON", None)
    missing = subprocess.run([sys.executable, "-m", "simgen", "cycles", "where"],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 2 and "simgen cycles install" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    (tmp_path / "home" / "bpy").mkdir(parents=True)
    env["SIMGEN_CYCLES_HOME"] = str(tmp_path / "home")
    found = subprocess.run([sys.executable, "-m", "simgen", "cycles", "where"],
                           capture_output=True, text=True, env=env)
    assert found.returncode == 0 and str(tmp_path / "home") in found.stdout
    # An installed folder is kept as it is: install does not run pip again.
    done = subprocess.run([sys.executable, "-m", "simgen", "cycles", "install"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and str(tmp_path / "home") in done.stdout
    named = subprocess.run([sys.executable, "-m", "simgen", "cycles", "where"],
                           capture_output=True, text=True,
                           env={**env, "SIMGEN_BLENDER_PYTHON": "/opt/blender/python"})
    assert named.returncode == 0 and "/opt/blender/python" in named.stdout


def test_a_blender_that_dies_is_one_scenes_error_with_its_last_words():
    scenario = simgen.load_scenario("tabletop", [*SMALL, *FAST])
    with World() as world:
        drawn, settled, streams = _settled(scenario, world)
        renderer = start_renderer(world, "cycles", scenario)
        renderer._blender._proc.kill()
        renderer._blender._proc.wait()
        with pytest.raises(RuntimeError, match="Blender stopped"):
            renderer.render(settled, drawn.views[0], drawn.light)


def test_an_objs_material_library_is_read_only_inside_its_folder(tmp_path):
    # An asset is untrusted: its MTL may name any file. Only regular files inside the OBJ's own
    # folder, links resolved, are taken as its texture.
    from simgen.render.cycles import _mtl_texture

    outside = tmp_path / "secret.png"
    outside.write_bytes(b"\x89PNG not really")
    asset = tmp_path / "asset"
    asset.mkdir()
    (asset / "tex.png").write_bytes(b"\x89PNG")
    (asset / "link.png").symlink_to(outside)
    cases = {"good": ("m.mtl", "tex.png", asset / "tex.png"),
             "up": ("m.mtl", "../secret.png", None),
             "absolute": ("m.mtl", str(outside), None),
             "link": ("m.mtl", "link.png", None),
             "mtl outside": ("../evil.mtl", "tex.png", None)}
    (tmp_path / "evil.mtl").write_text("map_Kd asset/tex.png\n")
    for name, (mtl, texture, expected) in cases.items():
        obj = asset / f"{name.replace(' ', '_')}.obj"
        obj.write_text(f"mtllib {mtl}\nv 0 0 0\n")
        if mtl == "m.mtl":
            (asset / "m.mtl").write_text(f"newmtl a\nmap_Kd {texture}\n")
        _mtl_texture.cache_clear()
        assert _mtl_texture(str(obj)) == (str(expected) if expected else None), name
