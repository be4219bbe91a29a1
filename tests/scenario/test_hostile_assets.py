"""Asset references from a scenario stay inside their roots and within bounds: patterns cannot
walk out of their folder, a body file is no texture, a texture must be a bounded image that
decodes. Each refusal is one ScenarioError naming the file, line and key."""

from __future__ import annotations

import struct
import time
import zlib

import cv2
import numpy as np
import pytest

import simgen
from simgen.errors import ScenarioError

BASE = """\
name: hostile
image: {width: 64, height: 48}
categories: [thing]
static:
  - asset: "pybullet:plane.urdf"
    appearance: {textures: [TEXTURE]}
objects:
  - {asset: ASSET, category: thing, spawn: {box: {min: [0, 0, 0.1], max: [0, 0, 0.1]}}}
camera: {fov_deg: 50, look_at: [0, 0, 0], distance_m: 1}
"""


def _load(tmp_path, asset='"pybullet:cube_small.urdf"', texture='"assets:textures/wood.png"'):
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace("ASSET", asset).replace("TEXTURE", texture))
    return simgen.load_scenario(path)


def test_the_base_scenario_loads(tmp_path):
    assert _load(tmp_path).spec.categories == ["thing"]


@pytest.mark.parametrize("asset", ['"pybullet:../../../../**/*.urdf"', '"/**/*.urdf"',
                                   '"../**/*.urdf"', '"assets:../../*/*.urdf"'])
def test_a_pattern_cannot_leave_its_folder(tmp_path, asset):
    start = time.monotonic()
    with pytest.raises(ScenarioError) as err:
        _load(tmp_path, asset=asset)
    assert time.monotonic() - start < 5        # refused, not run over the disk
    assert "objects[0].asset: a pattern must be a relative path inside its folder" in str(
        err.value)
    assert str(err.value).startswith(f"{tmp_path / 's.yaml'}:8: ")


def test_a_body_file_is_no_texture(tmp_path):
    with pytest.raises(ScenarioError, match=r":6: static\[0\]\.appearance\.textures\[0\]: "
                                            r"unsupported asset type '\.urdf'"):
        _load(tmp_path, texture='"pybullet:plane.urdf"')


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size in its header (and holds one row of nothing)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("content, message", [
    (_png_header(16000, 16000), "is 16000 x 16000 pixels; at most 8192 a side"),
    (b"not an image at all", "is not a PNG or JPEG image"),
    (_png_header(32, 32), "does not decode"),
])
def test_a_texture_must_be_a_bounded_image_that_decodes(tmp_path, content, message):
    (tmp_path / "t.png").write_bytes(content)
    with pytest.raises(ScenarioError, match=r"static\[0\]\.appearance\.textures\[0\]: texture "
                                            r"t\.png " + message):
        _load(tmp_path, texture='"t.png"')


def test_a_real_texture_of_the_scenario_folder_is_fine(tmp_path):
    cv2.imwrite(str(tmp_path / "ok.jpg"), np.full((20, 30, 3), 128, np.uint8))
    assert _load(tmp_path, texture='"ok.jpg"').asset_paths["ok.jpg"].endswith("ok.jpg")


URDF = """<?xml version="1.0"?>
<robot name="r"><link name="base">
  <inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial>
  <visual><geometry><mesh filename="MESH"/></geometry></visual>
  <collision><geometry><box size="0.1 0.1 0.1"/></geometry></collision>
</link></robot>
"""


@pytest.mark.parametrize("mesh", ["/etc/hostname", "../../../../etc/hostname",
                                  "package://../../x.obj"])
def test_a_urdf_cannot_name_files_outside_the_roots(tmp_path, mesh):
    (tmp_path / "r.urdf").write_text(URDF.replace("MESH", mesh))
    with pytest.raises(ScenarioError, match=r":8: objects\[0\]\.asset: r\.urdf names .*, outside "
                                            r"the allowed asset roots"):
        _load(tmp_path, asset='"r.urdf"')


def test_a_urdf_naming_its_own_mesh_is_fine(tmp_path):
    (tmp_path / "m.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (tmp_path / "r.urdf").write_text(URDF.replace("MESH", "m.obj"))
    assert _load(tmp_path, asset='"r.urdf"').asset_paths["r.urdf"].endswith("r.urdf")


ARM = """<?xml version="1.0"?>
<robot name="arm">
  <link name="base"><inertial><mass value="1"/><inertia ixx="1e-3" iyy="1e-3" izz="1e-3" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><geometry><box size="0.1 0.1 0.1"/></geometry></collision></link>
  <link name="tip"><inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" iyz="0"/></inertial>
    <collision><geometry><box size="0.05 0.05 0.2"/></geometry></collision></link>
  <joint name="j1" type="revolute"><parent link="base"/><child link="tip"/>
    <axis xyz="0 0 1"/><limit LIMITS effort="1" velocity="1"/></joint>
</robot>
"""

ROBOT_SCENARIO = """\
name: arm
image: {width: 64, height: 48}
categories: [thing]
robots:
  - {asset: "arm.urdf", name: arm, category: thing, position: [0, 0, 0], joints: {j1: 0.1}}
objects:
  - {asset: "pybullet:cube_small.urdf", category: thing, spawn: {box: {min: [0, 0, 1], max: [0, 0, 1]}}}
camera: {fov_deg: 50, look_at: [0, 0, 0], distance_m: 1}
"""


@pytest.mark.parametrize("limits, message", [
    ('lower="abc" upper="1"', r"arm\.urdf: joint 'j1' has limits that are not numbers "
                              r"\(lower='abc', upper='1'\)"),
    ('lower="-inf" upper="nan"', r"arm\.urdf: joint 'j1' has limits that are not finite"),
])
def test_a_robot_urdf_with_malformed_limits_is_refused(tmp_path, limits, message):
    (tmp_path / "arm.urdf").write_text(ARM.replace("LIMITS", limits))
    (tmp_path / "s.yaml").write_text(ROBOT_SCENARIO)
    with pytest.raises(ScenarioError, match=r"s\.yaml:5: robots\[0\]\.asset: " + message):
        simgen.load_scenario(tmp_path / "s.yaml")


def test_a_robot_urdf_with_sane_limits_loads(tmp_path):
    (tmp_path / "arm.urdf").write_text(ARM.replace("LIMITS", 'lower="-1" upper="1"'))
    (tmp_path / "s.yaml").write_text(ROBOT_SCENARIO)
    assert simgen.load_scenario(tmp_path / "s.yaml").robot_joints[0][0][2:] == (-1.0, 1.0)


def test_an_xml_entity_bomb_is_refused_quickly(tmp_path):
    # "billion laughs": 10 levels of 10 entity copies, 10^10 characters expanded. expat (the
    # parser ElementTree uses) refuses its amplification since 2.4; checked here so that a
    # change of parser cannot bring it back.
    entities = '<!ENTITY e0 "lol">' + "".join(
        f'<!ENTITY e{i} "{("&e" + str(i - 1) + ";") * 10}">' for i in range(1, 11))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE robot [{entities}]>'
            + ARM.split("?>", 1)[1].replace('name="arm"', 'name="&e10;"', 1)
            .replace("LIMITS", 'lower="-1" upper="1"'))
    (tmp_path / "arm.urdf").write_text(bomb)
    (tmp_path / "s.yaml").write_text(ROBOT_SCENARIO)
    start = time.monotonic()
    with pytest.raises(ScenarioError, match=r"s\.yaml:5: robots\[0\]\.asset: arm\.urdf is not "
                                            r"valid XML \(limit on input amplification"):
        simgen.load_scenario(tmp_path / "s.yaml")
    assert time.monotonic() - start < 5
