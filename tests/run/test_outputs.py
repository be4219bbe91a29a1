"""Outputs a user relies on: empty images listed, renderer choice, CLI run, provenance."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import simgen
from simgen.render import renderer as renderer_module
from tests.conftest import REPO, SCENES, SMALL


def test_images_without_objects_are_listed_with_no_annotations(tmp_path):
    tabletop = next(s for s in SCENES if s.stem == "tabletop")
    # Every camera looks away from the table, up into the sky.
    scenario = simgen.load_scenario(tabletop, SMALL + ["camera.elevation_deg=-80",
                                                       "camera.look_at=[0, 0, 5]"])
    simgen.generate(scenario, tmp_path / "out", images=4, renderer="tiny")
    data = json.loads((tmp_path / "out/annotations/instances_train.json").read_text())
    assert [im["id"] for im in data["images"]] == [1, 2, 3, 4]
    assert data["annotations"] == []


def test_auto_renderer_falls_back_to_tiny_when_egl_cannot_start(tmp_path, monkeypatch):
    def no_egl(world, *textures):
        raise renderer_module.RendererUnavailable("no EGL here (test)")

    monkeypatch.setattr(renderer_module, "_start_egl", no_egl)
    scenario = simgen.load_scenario(SCENES[0], SMALL)
    result = simgen.generate(scenario, tmp_path / "out", images=1, renderer="auto")
    assert result.renderer == "tiny"
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["renderer"] == "tiny"


def test_explicit_egl_that_cannot_start_is_a_user_error(tmp_path, monkeypatch):
    def no_egl(world, *textures):
        raise renderer_module.RendererUnavailable("no EGL here (test)")

    monkeypatch.setattr(renderer_module, "_start_egl", no_egl)
    scenario = simgen.load_scenario(SCENES[0], SMALL)
    try:
        simgen.generate(scenario, tmp_path / "out", images=1, renderer="egl")
    except simgen.SimgenError as err:
        assert "no EGL here" in str(err)
    else:
        raise AssertionError("egl that cannot start must raise SimgenError")
    assert not (tmp_path / "out").exists()


def test_provenance_names_everything_that_made_the_image(make_dataset):
    out = make_dataset(SCENES[0])
    manifest = json.loads((out / "manifest.json").read_text())
    scenario = simgen.load_scenario(SCENES[0], SMALL)
    assert manifest["scenario"]["sha256"] == scenario.sha256
    assert manifest["scenario"]["overrides"] == SMALL
    assert manifest["packages"]["pybullet"] and manifest["simgen_version"] == simgen.__version__
    for split_file in (out / "annotations").glob("*.json"):
        for image in json.loads(split_file.read_text())["images"]:
            prov = image["provenance"]
            assert prov["scenario"] == scenario.name and prov["scenario_sha256"] == scenario.sha256
            assert prov["seed"] == 0 and prov["renderer"] == "tiny"
            assert (image["id"] - 1) == prov["scene_index"] * scenario.spec.views_per_scene + prov["view_index"]
            assert len(image["camera"]["K"]) == 3 and len(image["camera"]["cam_to_world"]) == 4
            assert prov["scene"]["objects"], "the sampled scene parameters are recorded"


def test_cli_generate_writes_a_dataset_and_says_so(tmp_path):
    out = tmp_path / "cli"
    proc = subprocess.run(
        [sys.executable, "-m", "simgen", "generate", str(REPO / "scenes/tabletop.yaml"), "-o", str(out),
         "-n", "2", "--seed", "0", "--renderer", "tiny", "--format", "jpg",
         "--set", "image.width=96", "--set", "image.height=72"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("simgen: wrote 2 images")
    assert proc.stderr.strip() == "simgen: renderer tiny"
    assert sorted(p.name for p in out.glob("images/*/*")) == ["000000001.jpg", "000000002.jpg"]


def test_one_writer_per_output_folder(tmp_path):
    """A second run into an OUT that a run is writing is refused with one line, touching
    nothing; the lock goes with its holder, even a killed one."""
    import signal
    import subprocess
    import sys
    import time

    from simgen.dataset import writer

    scenario = simgen.load_scenario(SCENES[0], SMALL)
    out = tmp_path / "out"
    with writer.output_lock(out):
        for overwrite in (False, True):
            with pytest.raises(simgen.SimgenError, match="another simgen run is writing to "
                                                         "this folder"):
                simgen.generate(scenario, out, images=1, renderer="tiny", overwrite=overwrite)
        assert list(out.iterdir()) == []
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time; from pathlib import Path; "
                               "from simgen.dataset.writer import output_lock\n"
                               "with output_lock(Path(sys.argv[1])):\n"
                               "    print('locked', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(simgen.SimgenError, match="another simgen run"):
        simgen.generate(scenario, out, images=1, renderer="tiny")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    time.sleep(0.1)
    result = simgen.generate(scenario, out, images=1, renderer="tiny")
    assert result.images == 1
