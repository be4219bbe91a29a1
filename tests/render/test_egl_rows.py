"""EGL is given textures whose RGB rows are whole 4-byte words (simgen.render.egl_rows): the
plugin reads any other width sheared, and past the end of the buffer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pybullet_data
import pytest

from simgen.render.egl_rows import aligned_mesh, aligned_texture, needs_aligning
from tests.conftest import REPO, dataset_files
from tests.render.conftest import first_view

DATA = Path(pybullet_data.getDataPath())


def _image(path: Path, width: int, height: int = 20) -> np.ndarray:
    # A horizontal ramp: resampling keeps it a ramp, a shear would not.
    ramp = np.tile(np.linspace(0, 255, width), (height, 1)).astype(np.uint8)
    image = np.dstack([ramp, 255 - ramp, np.full_like(ramp, 90)])
    cv2.imwrite(str(path), image)
    return image


def test_a_texture_of_a_width_egl_reads_sheared_is_resampled_to_a_multiple_of_4(tmp_path):
    assert [w for w in range(1, 13) if needs_aligning(w)] == [1, 2, 3, 5, 6, 7, 9, 10, 11]
    _image(tmp_path / "odd.png", 853)
    copy = aligned_texture(str(tmp_path / "odd.png"), tmp_path / "out")
    assert Path(copy).parent == tmp_path / "out"
    resized = cv2.imread(copy)
    assert resized.shape == (20, 852, 3)   # the nearest multiple of 4, every row kept
    # The same ramp, to a level or two.
    expected = cv2.resize(cv2.imread(str(tmp_path / "odd.png")), (852, 20),
                          interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(resized, expected)
    assert aligned_texture(str(tmp_path / "odd.png"), tmp_path / "out") == copy   # written once
    _image(tmp_path / "six.png", 6)
    assert cv2.imread(aligned_texture(str(tmp_path / "six.png"), tmp_path / "out")).shape[1] == 8
    _image(tmp_path / "even.png", 1024)
    assert aligned_texture(str(tmp_path / "even.png"), tmp_path / "out") == str(tmp_path / "even.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert aligned_texture(str(tmp_path / "broken.png"), tmp_path / "out") == str(tmp_path / "broken.png")


def test_the_width_is_read_from_the_header_as_the_plugin_reads_it(tmp_path):
    """PNG and JPEG widths are read without decoding; stb_image (the plugin's reader) leaves a
    JPEG's EXIF orientation alone, and so does simgen (OpenCV would turn it)."""
    from simgen.render.egl_rows import _header_width

    image = _image(tmp_path / "a.png", 853, 31)
    cv2.imwrite(str(tmp_path / "a.jpg"), image)
    cv2.imwrite(str(tmp_path / "p.jpg"), image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    cv2.imwrite(str(tmp_path / "a.bmp"), image)
    assert [_header_width(tmp_path / n) for n in ("a.png", "a.jpg", "p.jpg", "a.bmp")] == [
        853, 853, 853, None]
    wheel = DATA / "racecar/meshes/wheel.jpg"   # stored 640 wide, EXIF: turn a quarter
    assert cv2.imread(str(wheel)).shape[1] == 480
    assert _header_width(wheel) == 640 == cv2.imread(
        str(wheel), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION).shape[1]


def test_a_file_over_the_size_limit_is_given_as_it_is(tmp_path, monkeypatch):
    import simgen.render.egl_rows as egl_rows

    _image(tmp_path / "odd.png", 853)
    monkeypatch.setattr(egl_rows, "MAX_FILE_BYTES", (tmp_path / "odd.png").stat().st_size - 1)
    assert aligned_texture(str(tmp_path / "odd.png"), tmp_path / "out") == str(tmp_path / "odd.png")


def test_an_obj_drawing_such_a_texture_is_read_from_a_copy_naming_the_aligned_one(tmp_path):
    cube = "".join(line for line in (DATA / "cube.obj").read_text().splitlines(keepends=True)
                   if not line.startswith("mtllib"))
    for name, width in (("odd", 10), ("even", 12)):
        _image(tmp_path / f"{name}.png", width)
        (tmp_path / f"{name}.mtl").write_text(f"newmtl m\nKd 1 1 1\nmap_Kd {name}.png\n")
        (tmp_path / f"{name}.obj").write_text(f"mtllib {name}.mtl\n" + cube)
    copy = aligned_mesh(tmp_path / "odd.obj", tmp_path / "out")
    assert copy != tmp_path / "odd.obj" and copy.name == "odd.obj"
    assert copy.read_text() == "mtllib odd.mtl\n" + cube   # its own material, beside it
    material = copy.with_suffix(".mtl").read_text()
    texture = copy.parent / material.split("map_Kd ")[1].strip()
    assert material.startswith("newmtl m\nKd 1 1 1\n") and cv2.imread(str(texture)).shape[1] == 12
    assert aligned_mesh(tmp_path / "even.obj", tmp_path / "out") == tmp_path / "even.obj"
    (tmp_path / "sub").mkdir()   # a texture outside the mesh's folder is not read
    (tmp_path / "sub/out.mtl").write_text("newmtl m\nmap_Kd ../odd.png\n")
    (tmp_path / "sub/out.obj").write_text("mtllib out.mtl\n" + cube)
    assert aligned_mesh(tmp_path / "sub/out.obj", tmp_path / "out") == tmp_path / "sub/out.obj"


TRAY = """\
name: tray
image: {width: 200, height: 200}
categories: [tray]
static:
  - {asset: "pybullet:plane.urdf"}
STATIC
objects:
  - {asset: "pybullet:OBJECT", category: tray, spawn: {box: {min: [0, 0, 0.1], max: [0, 0, 0.1]}}}
camera: {fov_deg: 45, look_at: [0, 0, 0], distance_m: 0.9, azimuth_deg: 0, elevation_deg: 89}
settle: {max_steps: 0}
"""


@pytest.mark.parametrize("section", ["objects", "static"])
def test_egl_draws_pybullet_datas_tray_texture_as_tinyrenderer_does(tmp_path, section):
    """tray.jpg is 853 pixels wide. Read sheared, the tray's floor differed from TinyRenderer's
    by 50-53 levels on average (measured); the lighting models alone differ by under 15. As an
    object the plugin reads the texture from the tray's material (an OBJ copy naming the
    resampled file); as a static body simgen loads it (a texture slot, egl_textures)."""
    tray = '  - {asset: "pybullet:tray/traybox.urdf"}'
    text = (TRAY.replace("STATIC", tray).replace("OBJECT", "lego/lego.urdf")
            if section == "static" else
            TRAY.replace("STATIC\n", "").replace("OBJECT", "tray/traybox.urdf"))
    (tmp_path / "tray.yaml").write_text(text)
    frames = [first_view(tmp_path / "tray.yaml", name) for name in ("tiny", "egl")]
    floor = (slice(50, 150), slice(50, 150))   # the tray's floor fills the middle
    if section == "objects":
        assert (frames[1].instance_map[floor] == 1).all()
    difference = np.abs(frames[0].rgb.astype(int) - frames[1].rgb.astype(int)).mean(axis=2)
    assert difference[floor].mean() < 15


@pytest.mark.slow
def test_a_scene_with_trays_is_the_same_bytes_in_every_run_on_egl(tmp_path):
    """The rows read past a sheared texture's end made about half of these runs differ from
    the others in a few pixels of scene 2 (mobile_floor draws trays; EGL needs its light
    reduced to the direction)."""
    outs = []
    for run in range(4):
        out = tmp_path / f"run{run}"
        proc = subprocess.run(
            [sys.executable, "-m", "simgen", "generate", str(REPO / "scenes/mobile_floor.yaml"),
             "-o", str(out), "-n", "12", "--renderer", "egl", "--workers", "1", "-q",
             "--set", "light={direction: [1, 1, 2]}"],
            capture_output=True, text=True, timeout=600, env=dict(os.environ))
        assert proc.returncode == 0, proc.stderr
        outs.append(dataset_files(out))
    for other in outs[1:]:
        assert other == outs[0]
