"""Tests for simgen.procedural: deterministic output, and parts that load and behave in PyBullet."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pybullet
import pybullet_data
import pytest

from simgen.procedural import PART_NAMES, build_assets, ensure_project_assets, part_urdf
from simgen.procedural.parts import part_meshes

# The design, written out independently of the generator: bounding-box extents (m) of each part
# as placed in its URDF (centred on the link origin), and its mass (kg).
EXPECTED_EXTENTS = {
    "bolt": (0.016, 0.016, 0.052),
    "nut": (0.048 / math.sqrt(3.0), 0.024, 0.013),  # hexagon: 24 mm across flats
    "bracket": (0.05, 0.03, 0.04),
    "gear": (0.06, 0.06, 0.013),
    "elbow": (0.04, 0.018, 0.04),
    "block": (0.05, 0.035, 0.025),
    "flange": (0.06, 0.06, 0.02),
}
EXPECTED_MASS = {"bolt": 0.0388, "nut": 0.0551, "bracket": 0.0279, "gear": 0.148,
                 "elbow": 0.113, "block": 0.343, "flange": 0.203}

# Modes of loading: PyBullet's default turns URDF cylinders into convex hulls (with a 1 mm
# collision margin); URDF_USE_IMPLICIT_CYLINDER keeps exact cylinders. Parts must work in both.
LOAD_MODES = {"hull": 0, "implicit": pybullet.URDF_USE_IMPLICIT_CYLINDER}


@pytest.fixture(scope="module")
def parts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assets")
    build_assets(root)
    return root / "parts"


@pytest.fixture
def client() -> Iterator[int]:
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        yield cid
    finally:
        pybullet.disconnect(physicsClientId=cid)


def _compound_padding(cid: int, folder: Path) -> float:
    """How far PyBullet pads each side of a multi-shape body's AABB (its compound margin).

    Measured on a reference body of two 2 cm boxes stacked to 4 cm, rather than hard-coded, so the
    size checks below compare true geometry whatever the PyBullet version pads.
    """
    ref = folder / "reference_two_boxes.urdf"
    collisions = "".join(f'<collision><origin xyz="0 0 {z}"/><geometry><box size="0.02 0.02 0.02"/>'
                         f"</geometry></collision>" for z in (-0.01, 0.01))
    ref.write_text(f'<robot name="ref"><link name="l"><inertial><mass value="0.1"/><inertia '
                   f'ixx="1e-5" iyy="1e-5" izz="1e-5" ixy="0" ixz="0" iyz="0"/></inertial>'
                   f"{collisions}</link></robot>")
    body = pybullet.loadURDF(str(ref), physicsClientId=cid)
    lo, hi = pybullet.getAABB(body, physicsClientId=cid)
    pybullet.removeBody(body, physicsClientId=cid)
    pad = (hi[2] - lo[2] - 0.04) / 2
    assert 0.0 <= pad < 0.005
    return pad


def test_expected_tables_cover_every_part() -> None:
    assert len(PART_NAMES) >= 6
    assert set(EXPECTED_EXTENTS) == set(PART_NAMES) == set(EXPECTED_MASS)


def _part_paths(paths: list[Path]) -> list[Path]:
    # build_assets also writes the object meshes, textures and catalog (see test_catalog.py).
    return [p for p in paths if p.parent.name == "parts"]


def test_build_is_byte_identical(tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in _part_paths(build_assets(tmp_path))}
    second_paths = _part_paths(build_assets(tmp_path))
    assert [p.name for p in second_paths] == [
        name for n in PART_NAMES for name in (f"{n}.urdf", *(m[0] for _, m in part_meshes(n)))]
    assert {p.name: p.read_bytes() for p in second_paths} == first
    # Same bytes in a fresh folder too, and no temp files left behind.
    assert {p.name: p.read_bytes() for p in _part_paths(build_assets(tmp_path / "again"))} == first
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == sorted(first)
    # Only cylinders are drawn from meshes (exact; PyBullet draws a URDF cylinder 1 mm fat).
    for name in PART_NAMES:
        urdf = first[f"{name}.urdf"].decode()
        assert urdf.count("<mesh") == len(part_meshes(name)) == urdf.count("<cylinder")
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in second_paths)  # not mkstemp's 0600


def test_ensure_project_assets_builds_and_repairs(tmp_path: Path) -> None:
    ensure_project_assets(tmp_path)
    bolt = tmp_path / "parts" / "bolt.urdf"
    assert bolt.read_text() == part_urdf("bolt")
    stamp = bolt.stat().st_mtime_ns, bolt.stat().st_ino
    ensure_project_assets(tmp_path)  # everything current: nothing rewritten
    assert (bolt.stat().st_mtime_ns, bolt.stat().st_ino) == stamp
    bolt.write_text("stale")
    (tmp_path / "parts" / "gear.urdf").unlink()
    ensure_project_assets(tmp_path)
    assert bolt.read_text() == part_urdf("bolt")
    assert (tmp_path / "parts" / "gear.urdf").read_text() == part_urdf("gear")


def test_make_assets_script(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_assets.py"
    run = subprocess.run([sys.executable, str(script), "--root", str(tmp_path)],
                         capture_output=True, text=True, check=True)
    printed = [p for p in _part_paths([Path(line) for line in run.stdout.splitlines()])
               if p.suffix == ".urdf"]
    assert printed == [tmp_path / "parts" / f"{n}.urdf" for n in PART_NAMES]
    assert all(p.read_text() == part_urdf(p.stem) for p in printed)


@pytest.mark.parametrize("name", PART_NAMES)
def test_part_loads_with_designed_size_and_mass(name: str, parts_dir: Path, client: int,
                                                tmp_path: Path) -> None:
    pad = _compound_padding(client, tmp_path)
    body = pybullet.loadURDF(str(parts_dir / f"{name}.urdf"),
                             flags=pybullet.URDF_USE_IMPLICIT_CYLINDER, physicsClientId=client)
    mass = pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[0]
    assert mass > 0
    assert mass == pytest.approx(EXPECTED_MASS[name], rel=0.01)

    lo, hi = pybullet.getAABB(body, physicsClientId=client)
    shapes = len(pybullet.getCollisionShapeData(body, -1, physicsClientId=client))
    margin = pad if shapes > 1 else 0.0  # a single-shape body is not a compound: no padding
    extents = [h - l - 2 * margin for l, h in zip(lo, hi)]
    for axis in range(3):
        assert 0.01 <= extents[axis] <= 0.12, (name, axis, extents)
        assert extents[axis] == pytest.approx(EXPECTED_EXTENTS[name][axis], abs=0.001), (name, axis)
        # Centred on the link origin: catches a shifted primitive that keeps the size.
        assert (lo[axis] + hi[axis]) / 2 == pytest.approx(0.0, abs=0.001), (name, axis)

    # The inertia written in the file: positive principal moments obeying the triangle inequality.
    body = pybullet.loadURDF(str(parts_dir / f"{name}.urdf"), [1, 0, 0],
                             flags=pybullet.URDF_USE_INERTIA_FROM_FILE, physicsClientId=client)
    a, b, c = sorted(pybullet.getDynamicsInfo(body, -1, physicsClientId=client)[2])
    assert a > 0 and a + b >= c * 0.999
    assert c < mass * sum(e * e for e in EXPECTED_EXTENTS[name])  # no bigger than its bounding box


@pytest.mark.parametrize("mode", LOAD_MODES)
@pytest.mark.parametrize("name", PART_NAMES)
def test_part_comes_to_rest_on_plane(name: str, mode: str, parts_dir: Path, client: int) -> None:
    flags = LOAD_MODES[mode]
    pybullet.setGravity(0, 0, -9.81, physicsClientId=client)
    pybullet.setTimeStep(1.0 / 240.0, physicsClientId=client)
    plane = pybullet.loadURDF("plane.urdf", physicsClientId=client)
    body = pybullet.loadURDF(str(parts_dir / f"{name}.urdf"), [0, 0, 0.2], flags=flags,
                             physicsClientId=client)
    # PyBullet's AABB is conservative (margins, and a loose box around a tilted compound); the
    # padding below the part at spawn is the allowance for "lowest AABB point" after the drop.
    spawn_low = pybullet.getAABB(body, physicsClientId=client)[0][2]
    pad_below = (0.2 - EXPECTED_EXTENTS[name][2] / 2) - spawn_low

    for _ in range(1200):
        pybullet.stepSimulation(physicsClientId=client)
    linear, angular = pybullet.getBaseVelocity(body, physicsClientId=client)
    assert math.dist(linear, (0, 0, 0)) < 0.01, (name, linear)
    assert math.dist(angular, (0, 0, 0)) < 0.1, (name, angular)

    # Signed gap between the part's collision surface and the plane: no sinking, no hovering.
    points = pybullet.getClosestPoints(body, plane, 0.05, physicsClientId=client)
    assert points, f"{name} is nowhere near the plane"
    gap = min(point[8] for point in points)
    assert -0.003 < gap < 0.003, (name, gap)
    # Lowest AABB point, less PyBullet's padding, within 3 mm of the floor. (A part resting tilted,
    # like the bolt, gets a looser box, which only makes this reading lower.)
    low = pybullet.getAABB(body, physicsClientId=client)[0][2] + pad_below
    assert -0.003 < low < 0.003, (name, low, pad_below)
