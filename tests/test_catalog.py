"""Tests for the procedural asset catalog: mesh objects, textures, catalog.yaml, PyBullet use."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pybullet
import pybullet_data
import pytest
import yaml

from simgen.procedural import (CATALOG_IDS, OBJECT_NAMES, PART_NAMES, TEXTURE_NAMES, build_assets,
                               catalog_entry, ensure_project_assets, object_obj,
                               project_assets_root, texture_path, texture_rgb)
from simgen.procedural.meshes import box_mesh, mesh_mass_properties, revolve
from simgen.procedural.parts import part_meshes
from simgen.procedural.user_meshes import MESH_FILES

REPO = Path(__file__).resolve().parent.parent

# The design, written out independently of the generator: category, bounding box (m) and mass
# (kg) of each object. Masses are volume x density: packed cardboard 150, filled can 900, filled
# bottle 950, ceramic 2400, HDPE 950 kg/m^3.
EXPECTED_OBJECTS = {
    "box_small": ("cardboard_box", (0.20, 0.15, 0.10), 0.20 * 0.15 * 0.10 * 150),
    "box_medium": ("cardboard_box", (0.35, 0.25, 0.20), 0.35 * 0.25 * 0.20 * 150),
    "can": ("can", (0.066, 0.066, 0.122), math.pi * 0.033 ** 2 * 0.122 * 900),
    "bottle": ("bottle", (0.065, 0.065, 0.205), 0.495),  # about 520 cm^3 of solid
    "bowl": ("bowl", (0.15, 0.15, 0.055), 0.30),  # about 126 cm^3 of ceramic
    "cup": ("cup", (0.08, 0.08, 0.095), 0.21),  # about 88 cm^3 of ceramic
    # Floor 600 x 400, long walls 600 x 216, short walls 392 x 216, all 4 mm thick.
    "tote": ("tote", (0.60, 0.40, 0.22),
             (0.6 * 0.4 + 2 * 0.6 * 0.216 + 2 * 0.392 * 0.216) * 0.004 * 950),
}

LOAD_MODES = {"hull": 0, "implicit": pybullet.URDF_USE_IMPLICIT_CYLINDER}


@pytest.fixture(scope="module")
def assets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assets")
    build_assets(root)
    return root


@pytest.fixture
def client() -> Iterator[int]:
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        yield cid
    finally:
        pybullet.disconnect(physicsClientId=cid)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- building -----------------------------------------------------------------------------------

def test_build_is_byte_identical(tmp_path: Path) -> None:
    paths = build_assets(tmp_path / "a")
    first = _files(tmp_path / "a")
    assert sorted(p.relative_to(tmp_path / "a").as_posix() for p in paths) == sorted(first)
    cylinder_meshes = sum(len(part_meshes(n)) for n in PART_NAMES)
    assert cylinder_meshes == 8   # bolt, gear, elbow and flange: two each
    assert len(first) == (len(PART_NAMES) + cylinder_meshes + 2 * len(OBJECT_NAMES)
                          + len(TEXTURE_NAMES) + len(MESH_FILES) + 1)
    assert {f"meshes/{n}" for n in ("bracket_mm.stl", "cup.glb", "crate.obj", "crate.mtl",
                                    "crate.png")} <= set(first)
    build_assets(tmp_path / "a")
    assert _files(tmp_path / "a") == first  # and no temp files left behind
    build_assets(tmp_path / "b")
    assert _files(tmp_path / "b") == first
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in paths)  # not mkstemp's 0600


def test_build_in_another_process_gives_the_same_bytes(tmp_path: Path) -> None:
    # Another interpreter with another hash seed: no set/dict-order or per-process state leaks in.
    build_assets(tmp_path / "here")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "make_assets.py"),
                          "--root", str(tmp_path / "there")],
                         capture_output=True, text=True, check=True, env=env)
    assert _files(tmp_path / "there") == _files(tmp_path / "here")
    printed = [Path(line) for line in run.stdout.splitlines()]
    assert sorted(printed) == sorted(p for p in (tmp_path / "there").rglob("*") if p.is_file())


def test_ensure_project_assets_rewrites_only_what_differs(tmp_path: Path) -> None:
    build_assets(tmp_path / "ref")
    expected = _files(tmp_path / "ref")
    root = tmp_path / "ensured"
    written = ensure_project_assets(root)
    assert _files(root) == expected and len(written) == len(expected)
    texture, catalog = root / "textures" / "wood.png", root / "catalog.yaml"
    mesh = root / "objects" / "bowl.obj"
    stamp = texture.stat().st_mtime_ns, texture.stat().st_ino
    assert ensure_project_assets(root) == []  # everything current: nothing touched
    assert (texture.stat().st_mtime_ns, texture.stat().st_ino) == stamp

    good = texture.read_bytes()
    texture.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))  # same size, one bit off
    catalog.unlink()
    mesh.write_text("stale")
    assert sorted(ensure_project_assets(root)) == sorted([texture, catalog, mesh])
    assert _files(root) == expected


# --- catalog ------------------------------------------------------------------------------------

def test_catalog_ids_are_parts_then_objects() -> None:
    assert CATALOG_IDS == PART_NAMES + OBJECT_NAMES
    assert len(set(CATALOG_IDS)) == len(CATALOG_IDS)
    assert set(EXPECTED_OBJECTS) == set(OBJECT_NAMES)
    assert {"box_small", "box_medium", "can", "bottle", "bowl", "tote"} <= set(OBJECT_NAMES)


@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_catalog_entry_matches_design(name: str) -> None:
    category, size, _ = EXPECTED_OBJECTS[name]
    entry = catalog_entry(name)
    assert entry == {"file": f"objects/{name}.urdf", "category": category,
                     "size_m": pytest.approx(list(size), abs=1e-6)}


def test_catalog_entry_for_parts() -> None:
    assert catalog_entry("bolt") == {"file": "parts/bolt.urdf", "category": "bolt",
                                     "size_m": [0.016, 0.016, 0.052]}
    assert catalog_entry("nut")["size_m"] == [0.027713, 0.024, 0.013]  # 24 mm across flats


def test_catalog_entry_returns_a_fresh_dict() -> None:
    entry = catalog_entry("can")
    entry["size_m"].append(1.0)
    entry["file"] = "x"
    assert catalog_entry("can") == {"file": "objects/can.urdf", "category": "can",
                                    "size_m": [0.066, 0.066, 0.122]}


def test_catalog_entry_unknown_id_names_the_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        catalog_entry("spoon")
    message = str(info.value)
    assert "'spoon'" in message
    assert all(asset_id in message for asset_id in CATALOG_IDS)


def test_catalog_yaml_lists_every_asset_and_texture(assets_dir: Path) -> None:
    data = yaml.safe_load((assets_dir / "catalog.yaml").read_text())
    assert set(data) == {"assets", "textures"}
    assert list(data["assets"]) == sorted(CATALOG_IDS)  # written with sort_keys
    assert data["assets"] == {i: catalog_entry(i) for i in CATALOG_IDS}
    assert all((assets_dir / e["file"]).is_file() for e in data["assets"].values())
    assert data["textures"] == [f"textures/{n}.png" for n in TEXTURE_NAMES]
    assert all((assets_dir / t).is_file() for t in data["textures"])


def test_texture_path() -> None:
    assert texture_path("wood") == project_assets_root() / "textures" / "wood.png"
    with pytest.raises(KeyError, match="known textures: noise, "):
        texture_path("marble")


# --- textures -----------------------------------------------------------------------------------

def test_texture_names() -> None:
    base = {"noise", "stripes", "checker", "wood", "metal_brushed", "cardboard"}
    assert base <= set(TEXTURE_NAMES)
    assert all(any(n == b or n.startswith(b + "_") for b in base) for n in TEXTURE_NAMES)


@pytest.mark.parametrize("name", TEXTURE_NAMES)
def test_texture_decodes_as_256_rgb(name: str, assets_dir: Path) -> None:
    image = cv2.imread(str(assets_dir / "textures" / f"{name}.png"), cv2.IMREAD_UNCHANGED)
    assert image is not None and image.shape == (256, 256, 3) and image.dtype == np.uint8
    assert np.array_equal(image[:, :, ::-1], texture_rgb(name))  # lossless, RGB written as BGR
    assert image.reshape(-1, 3).std(axis=0).max() > 3.0  # a pattern, not a flat colour


def test_textures_all_differ() -> None:
    images = {n: texture_rgb(n) for n in TEXTURE_NAMES}
    for i, a in enumerate(TEXTURE_NAMES):
        for b in TEXTURE_NAMES[i + 1:]:
            assert np.abs(images[a].astype(int) - images[b]).mean() > 5, (a, b)


@pytest.mark.parametrize("name", ["noise", "checker", "stripes", "metal_brushed", "cardboard"])
def test_tileable_textures_wrap_without_a_seam(name: str) -> None:
    # Where the texture wraps, last row to first, the step is no bigger than between any two
    # neighbouring rows inside it (a checker's cell edges included); likewise for columns.
    image = texture_rgb(name).astype(float)
    for rows in (image, image.transpose(1, 0, 2)):
        inside = np.abs(np.diff(rows, axis=0)).mean(axis=(1, 2)).max()
        assert np.abs(rows[0] - rows[-1]).mean() <= 1.1 * inside + 1.0


# --- meshes -------------------------------------------------------------------------------------

def test_box_mesh_mass_properties_are_exact() -> None:
    mass, com, tensor = mesh_mass_properties(box_mesh((0.2, 0.1, 0.05), (1.0, 2.0, 3.0)), 100.0)
    assert mass == pytest.approx(0.1)
    assert com == pytest.approx((1.0, 2.0, 3.0))
    expected = [0.1 / 12 * (0.1 ** 2 + 0.05 ** 2), 0.1 / 12 * (0.2 ** 2 + 0.05 ** 2),
                0.1 / 12 * (0.2 ** 2 + 0.1 ** 2)]
    assert [tensor[i][i] for i in range(3)] == pytest.approx(expected, rel=1e-9)
    # Off the diagonal only round-off, from cancelling the large offset from the origin.
    assert max(abs(tensor[i][j]) for i in range(3) for j in range(3) if i != j) < 1e-9 * expected[0]


def test_revolved_cylinder_approaches_the_true_one() -> None:
    r, h = 0.05, 0.2
    mesh = revolve([[(0.0, 0.0), (r, 0.0)], [(r, 0.0), (r, h)], [(r, h), (0.0, h)]], 256)
    mass, com, tensor = mesh_mass_properties(mesh, 1000.0)
    true_mass = math.pi * r * r * h * 1000.0
    assert mass == pytest.approx(true_mass, rel=1e-3)  # a 256-gon is 0.01% smaller
    assert com == pytest.approx((0.0, 0.0, h / 2), abs=1e-12)
    assert tensor[2][2] == pytest.approx(true_mass * r * r / 2, rel=1e-3)
    assert tensor[0][0] == pytest.approx(true_mass * (3 * r * r + h * h) / 12, rel=1e-3)


def _parse_obj(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows: dict[str, list] = {"v": [], "vt": [], "vn": [], "f": []}
    for line in text.splitlines():
        key, *values = line.split()
        if key in ("v", "vt", "vn"):
            rows[key].append([float(x) for x in values])
        elif key == "f":
            corners = [tuple(int(i) for i in c.split("/")) for c in values]
            assert all(len(set(c)) == 1 for c in corners)  # one index for v/vt/vn alike
            rows["f"].append([c[0] - 1 for c in corners])
    return (np.array(rows["v"]), np.array(rows["vt"]), np.array(rows["vn"]),
            np.array(rows["f"]))


@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_obj_mesh_is_closed_outward_and_textured(name: str, assets_dir: Path) -> None:
    text = (assets_dir / "objects" / f"{name}.obj").read_text()
    assert text == object_obj(name)
    v, vt, vn, faces = _parse_obj(text)
    assert len(v) == len(vt) == len(vn) > 0 and faces.shape[1] == 3
    assert faces.min() >= 0 and faces.max() < len(v)
    assert np.allclose(np.linalg.norm(vn, axis=1), 1.0, atol=1e-5)
    assert vt.min() >= 0.0 and vt.max() <= 1.0 and np.ptp(vt[:, 0]) > 0.5 and np.ptp(vt[:, 1]) > 0.5
    # Centred bounding box of the catalog's size.
    assert np.ptp(v, axis=0) == pytest.approx(catalog_entry(name)["size_m"], abs=2e-6)
    assert (v.min(axis=0) + v.max(axis=0)) / 2 == pytest.approx([0, 0, 0], abs=2e-6)

    # Winding agrees with the stored normals (counter-clockwise from outside).
    a, b, c = v[faces[:, 0]], v[faces[:, 1]], v[faces[:, 2]]
    cross = np.cross(b - a, c - a)
    area = np.linalg.norm(cross, axis=1)
    assert area.min() > 0  # no degenerate triangles (poles are fans, not collapsed quads)
    assert (np.einsum("ij,ij->i", cross, vn[faces].mean(axis=1)) > 0).all()
    # Outward: positive enclosed volume.
    assert np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6 > 0
    if name != "tote":  # the tote is five overlapping boxes, each closed on its own
        # Closed and consistently wound: every edge, by position, is used once each way.
        _, key = np.unique(np.round(v, 6), axis=0, return_inverse=True)
        key = key.reshape(-1)
        edges = {(key[f[i]], key[f[(i + 1) % 3]]) for f in faces for i in range(3)}
        assert len(edges) == 3 * len(faces)
        assert all((q, p) in edges for p, q in edges)


# --- PyBullet -----------------------------------------------------------------------------------

def _aabb_padding(cid: int, folder: Path, body: int) -> float:
    """How far PyBullet pads each side of `body`'s AABB, measured rather than hard-coded.

    The padding depends on how the collision is built: none for one primitive at the centre of
    mass, a compound margin for several shapes (or one shape off the centre of mass, which
    PyBullet wraps in a compound), more for a mesh's convex hull. A 4 cm tall reference with the
    same kind of collision and the same centre of mass shows how much.
    """
    shapes = pybullet.getCollisionShapeData(body, -1, physicsClientId=cid)
    com = pybullet.getDynamicsInfo(body, -1, physicsClientId=cid)[3]
    if any(s[2] == pybullet.GEOM_MESH for s in shapes):
        cube = box_mesh((0.04, 0.04, 0.04))
        (folder / "ref_cube.obj").write_text(
            "".join(f"v {x} {y} {z}\n" for x, y, z in cube.positions)
            + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in cube.triangles))
        geometry = ['<geometry><mesh filename="ref_cube.obj"/></geometry>']
        origins = [0.0]
    elif len(shapes) > 1:
        geometry, origins = ['<geometry><box size="0.04 0.04 0.02"/></geometry>'] * 2, [-0.01, 0.01]
    else:
        geometry, origins = ['<geometry><box size="0.04 0.04 0.04"/></geometry>'], [0.0]
    collisions = "".join(f'<collision><origin xyz="0 0 {z}"/>{g}</collision>'
                         for g, z in zip(geometry, origins))
    ref = folder / "ref.urdf"
    ref.write_text(f'<robot name="ref"><link name="l"><inertial><origin xyz="{com[0]} {com[1]} '
                   f'{com[2]}"/><mass value="0.1"/><inertia ixx="1e-5" iyy="1e-5" izz="1e-5" '
                   f'ixy="0" ixz="0" iyz="0"/></inertial>{collisions}</link></robot>')
    ref_body = pybullet.loadURDF(str(ref), physicsClientId=cid)
    lo, hi = pybullet.getAABB(ref_body, physicsClientId=cid)
    pybullet.removeBody(ref_body, physicsClientId=cid)
    pad = (hi[2] - lo[2] - 0.04) / 2
    assert 0.0 <= pad < 0.006
    return pad


@pytest.mark.parametrize("asset_id", CATALOG_IDS)
def test_catalog_urdf_loads_with_its_size_and_mass(asset_id: str, assets_dir: Path, client: int,
                                                   tmp_path: Path) -> None:
    entry = catalog_entry(asset_id)
    body = pybullet.loadURDF(str(assets_dir / entry["file"]),
                             flags=pybullet.URDF_USE_IMPLICIT_CYLINDER, physicsClientId=client)
    mass = pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[0]
    assert mass > 0
    if asset_id in EXPECTED_OBJECTS:
        assert mass == pytest.approx(EXPECTED_OBJECTS[asset_id][2], rel=0.03)

    lo, hi = pybullet.getAABB(body, physicsClientId=client)
    pad = _aabb_padding(client, tmp_path, body)
    for axis in range(3):
        extent = hi[axis] - lo[axis] - 2 * pad
        assert extent == pytest.approx(entry["size_m"][axis], abs=0.002), (asset_id, axis)
        assert (lo[axis] + hi[axis]) / 2 == pytest.approx(0.0, abs=0.001), (asset_id, axis)

    # The inertia written in the file: positive principal moments obeying the triangle inequality,
    # and no bigger than all the mass at the bounding box's corners.
    body = pybullet.loadURDF(str(assets_dir / entry["file"]), [1, 0, 0],
                             flags=pybullet.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)
    a, b, c = sorted(pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[2])
    assert a > 0 and a + b >= c * 0.999
    assert c <= mass * sum((e / 2) ** 2 for e in entry["size_m"])


@pytest.mark.parametrize("mode", LOAD_MODES)
@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_object_comes_to_rest_on_plane(name: str, mode: str, assets_dir: Path,
                                       client: int) -> None:
    pybullet.setGravity(0, 0, -9.81, physicsClientId=client)
    pybullet.setTimeStep(1.0 / 240.0, physicsClientId=client)
    plane = pybullet.loadURDF("plane.urdf", physicsClientId=client)
    height = catalog_entry(name)["size_m"][2]
    body = pybullet.loadURDF(str(assets_dir / "objects" / f"{name}.urdf"), [0, 0, height / 2 + 0.1],
                             flags=LOAD_MODES[mode], physicsClientId=client)
    for _ in range(1200):
        pybullet.stepSimulation(physicsClientId=client)
    linear, angular = pybullet.getBaseVelocity(body, physicsClientId=client)
    assert math.dist(linear, (0, 0, 0)) < 0.01, (name, linear)
    assert math.dist(angular, (0, 0, 0)) < 0.1, (name, angular)
    # Signed gap between the collision surface and the plane: no sinking, no hovering.
    points = pybullet.getClosestPoints(body, plane, 0.05, physicsClientId=client)
    assert points, f"{name} is nowhere near the plane"
    gap = min(point[8] for point in points)
    assert -0.003 < gap < 0.003, (name, gap)
    assert pybullet.getBasePositionAndOrientation(body, physicsClientId=client)[0][2] > 0.0


def _render(cid: int, size_m: list[float]) -> tuple[np.ndarray, np.ndarray]:
    d = 2.2 * max(size_m)
    view = pybullet.computeViewMatrix([0.7 * d, -0.8 * d, 0.6 * d], [0, 0, 0], [0, 0, 1],
                                      physicsClientId=cid)
    proj = pybullet.computeProjectionMatrixFOV(45, 1.0, 0.01, 10.0, physicsClientId=cid)
    w, h, rgb, _, seg = pybullet.getCameraImage(64, 64, view, proj, shadow=0,
                                                renderer=pybullet.ER_TINY_RENDERER,
                                                physicsClientId=cid)
    return (np.reshape(rgb, (h, w, 4))[:, :, :3].astype(np.float64),
            np.reshape(seg, (h, w)))


@pytest.mark.parametrize("name", OBJECT_NAMES)
def test_texture_maps_through_the_uvs(name: str, assets_dir: Path, client: int) -> None:
    size = catalog_entry(name)["size_m"]
    body = pybullet.loadURDF(str(assets_dir / "objects" / f"{name}.urdf"), physicsClientId=client)
    plain, seg = _render(client, size)
    texture = pybullet.loadTexture(str(assets_dir / "textures" / "checker.png"),
                                   physicsClientId=client)
    assert texture >= 0
    pybullet.changeVisualShape(body, -1, textureUniqueId=texture, physicsClientId=client)
    textured, seg_textured = _render(client, size)

    mask = seg == body
    assert mask.sum() > 100 and np.array_equal(seg_textured, seg)
    assert np.abs(textured - plain)[mask].mean() > 10
    # Black and white squares show up only if UVs vary across the surface: with constant UVs the
    # object would just be tinted by one texel, and shading alone would vary its brightness.
    brightness_plain, brightness_textured = plain.sum(axis=2)[mask], textured.sum(axis=2)[mask]
    assert brightness_textured.std() > 1.3 * brightness_plain.std(), name


def test_a_parts_cylinder_is_drawn_as_the_cylinder_it_collides_as(client, assets_dir) -> None:
    """PyBullet draws a URDF <cylinder> visual as a 32-sided hull inflated by 1 mm; the parts'
    cylinders are drawn from exact OBJ meshes, so a flange seen face-on covers the pixels of
    its 30 mm disc (to the 48-gon's 0.2%), not of a 31 mm one."""
    cid = client
    flags = pybullet.URDF_USE_IMPLICIT_CYLINDER | pybullet.URDF_USE_INERTIA_FROM_FILE
    uid = pybullet.loadURDF(str(assets_dir / "parts/flange.urdf"), flags=flags,
                            physicsClientId=cid)
    pybullet.resetBasePositionAndOrientation(uid, (0, 0, 0), (0, 0, 0, 1), physicsClientId=cid)
    # 1 px = 0.1 mm, seen from straight above (orthographic enough at 1 m for a 60 mm disc).
    size, f = 800, 10000.0
    view = pybullet.computeViewMatrix([0, 0, 1.0], [0, 0, 0], [0, 1, 0])
    projection = pybullet.computeProjectionMatrixFOV(
        2 * np.degrees(np.arctan(size / 2 / f)), 1.0, 0.5, 2.0)
    seg = np.asarray(pybullet.getCameraImage(size, size, view, projection, physicsClientId=cid,
                                             renderer=pybullet.ER_TINY_RENDERER)[4])
    area_px = (seg.reshape(size, size) == uid).sum()
    # The 60 mm disc's top face is 6 mm above the flange's bottom; the silhouette from above is
    # that face (the narrower hub above it stays inside it), at 1 m - its height.
    lo, _ = pybullet.getAABB(uid, physicsClientId=cid)
    radius_px = 0.030 * f / (1.0 - (lo[2] + 0.006))
    assert abs(area_px / (np.pi * radius_px ** 2) - 1) < 0.01
