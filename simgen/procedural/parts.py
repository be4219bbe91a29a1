"""Procedural industrial parts for bin picking, written as URDF files.

Every part is one link built from primitives (box, cylinder, sphere). Collision uses the URDF
primitives (exact cylinders with URDF_USE_IMPLICIT_CYLINDER). A box is drawn exactly as it is,
but PyBullet draws a URDF cylinder as the hull of a 32-sided prism inflated by its 1 mm collision
margin (measured: a 60 mm flange's silhouette 4% larger than the disc), so each cylinder's
visual is an OBJ mesh of the exact cylinder instead (`part_meshes`; simgen.procedural.catalog
writes them beside the URDF): the pixels, the labels and the BOP models then agree with the
physics. The assets can be regenerated anywhere from this package alone. Output is deterministic: the
same text, byte for byte, on every call, so `ensure_project_assets` can compare instead of guess.

Only the standard library is imported here, so building parts never needs pybullet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Densities in kg/m^3.
_STEEL, _ALUMINIUM, _BRASS, _COPPER, _CAST_IRON = 7850.0, 2700.0, 8500.0, 8960.0, 7200.0

Vec3 = tuple[float, float, float]
Mat3 = list[list[float]]


@dataclass(frozen=True)
class _Prim:
    """One primitive of a part, placed in the part's frame.

    size is (x, y, z) for a box, (radius, length) for a cylinder (axis along local z) and
    (radius,) for a sphere. `weight` is the share of the primitive's volume that counts towards
    mass: 1 for primitives that only touch their neighbours, less where primitives overlap (the
    nut's hexagon is three overlapping boxes, each counted half so the sum is the hexagon's area).
    """

    kind: str
    size: tuple[float, ...]
    xyz: Vec3 = (0.0, 0.0, 0.0)
    rpy: Vec3 = (0.0, 0.0, 0.0)
    weight: float = 1.0


@dataclass(frozen=True)
class _Part:
    prims: tuple[_Prim, ...]
    density: float
    rgba: tuple[float, float, float, float]


def _cyl(r: float, length: float, xyz: Vec3, rpy: Vec3 = (0.0, 0.0, 0.0)) -> _Prim:
    return _Prim("cylinder", (r, length), xyz, rpy)


def _bolt() -> _Part:
    # M10-ish hex bolt: the head is a short wide cylinder on top of a 45 mm shaft.
    return _Part((_cyl(0.008, 0.007, (0, 0, 0.0485)), _cyl(0.005, 0.045, (0, 0, 0.0225))),
                 _STEEL, (0.24, 0.24, 0.26, 1.0))


def _nut() -> _Part:
    # M16 brass hex nut: a hexagon (24 mm across flats) is exactly the union of three rectangles,
    # flats-to-flats, turned by 0/60/120 degrees; each is weighted 1/2 so the mass is the hexagon's
    # (the moments about the hexagon's plane come out ~20% low, plausible for a part this small).
    flats, height = 0.024, 0.013
    side = flats / math.sqrt(3.0)
    return _Part(tuple(_Prim("box", (side, flats, height), (0, 0, 0), (0, 0, math.radians(a)), 0.5)
                       for a in (0, 60, 120)), _BRASS, (0.83, 0.70, 0.35, 1.0))


def _bracket() -> _Part:
    # Aluminium angle bracket: 4 mm base plate with an upright flange standing on its far end.
    return _Part((_Prim("box", (0.05, 0.03, 0.004), (0.025, 0, 0.002)),
                  _Prim("box", (0.004, 0.03, 0.036), (0.048, 0, 0.022))),
                 _ALUMINIUM, (0.80, 0.82, 0.86, 1.0))


def _gear() -> _Part:
    # Spur gear: 50 mm disc, 12 box teeth touching its rim (60 mm tip diameter), hub on top.
    r, t, w, h = 0.025, 0.005, 0.004, 0.008
    c, angles = r + t / 2, [2.0 * math.pi * i / 12 for i in range(12)]
    teeth = [_Prim("box", (t, w, h), (c * math.cos(a), c * math.sin(a), h / 2), (0, 0, a))
             for a in angles]
    return _Part((_cyl(r, h, (0, 0, h / 2)), *teeth, _cyl(0.009, 0.005, (0, 0, h + 0.0025))),
                 _STEEL, (0.45, 0.50, 0.58, 1.0))


def _elbow() -> _Part:
    # 90-degree pipe elbow: an 18 mm cube body with 14 mm pipe stubs out of its +z and +x faces.
    b, r, ln = 0.018, 0.007, 0.022
    return _Part((_Prim("box", (b, b, b), (0, 0, 0)),
                  _cyl(r, ln, (0, 0, b / 2 + ln / 2)),
                  _cyl(r, ln, (b / 2 + ln / 2, 0, 0), (0, math.pi / 2, 0))),
                 _COPPER, (0.72, 0.42, 0.22, 1.0))


def _block() -> _Part:
    # Machined steel block, 50 x 35 x 25 mm.
    return _Part((_Prim("box", (0.05, 0.035, 0.025)),), _STEEL, (0.58, 0.60, 0.62, 1.0))


def _flange() -> _Part:
    # Cast-iron pipe flange: 60 mm disc with a 32 mm neck.
    return _Part((_cyl(0.03, 0.006, (0, 0, 0.003)), _cyl(0.016, 0.014, (0, 0, 0.013))),
                 _CAST_IRON, (0.34, 0.38, 0.35, 1.0))


_PARTS = {"bolt": _bolt, "nut": _nut, "bracket": _bracket, "gear": _gear,
          "elbow": _elbow, "block": _block, "flange": _flange}
PART_NAMES: tuple[str, ...] = tuple(_PARTS)


def _rot(rpy: Vec3) -> Mat3:
    # URDF convention: fixed-axis roll, pitch, yaw, i.e. R = Rz(yaw) @ Ry(pitch) @ Rx(roll).
    cr, sr = math.cos(rpy[0]), math.sin(rpy[0])
    cp, sp = math.cos(rpy[1]), math.sin(rpy[1])
    cy, sy = math.cos(rpy[2]), math.sin(rpy[2])
    return [[cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr]]


def _half_extents(p: _Prim) -> Vec3:
    if p.kind == "box":
        return (p.size[0] / 2, p.size[1] / 2, p.size[2] / 2)
    if p.kind == "cylinder":
        return (p.size[0], p.size[0], p.size[1] / 2)
    return (p.size[0], p.size[0], p.size[0])


def _volume(p: _Prim) -> float:
    if p.kind == "box":
        return p.size[0] * p.size[1] * p.size[2]
    if p.kind == "cylinder":
        return math.pi * p.size[0] ** 2 * p.size[1]
    return 4.0 / 3.0 * math.pi * p.size[0] ** 3


def _local_inertia(p: _Prim, m: float) -> Vec3:
    """Principal moments about the primitive's own centre, in its own frame."""
    if p.kind == "box":
        x, y, z = p.size
        return (m * (y * y + z * z) / 12, m * (x * x + z * z) / 12, m * (x * x + y * y) / 12)
    if p.kind == "cylinder":
        r, ln = p.size
        side = m * (3 * r * r + ln * ln) / 12
        return (side, side, m * r * r / 2)
    i = 0.4 * m * p.size[0] ** 2
    return (i, i, i)


def _aabb(prims: tuple[_Prim, ...]) -> tuple[Vec3, Vec3]:
    # Box-like bound of each primitive turned by its rpy; exact for boxes at any angle and for
    # cylinders/spheres at the axis-aligned angles used here.
    lo, hi = [math.inf] * 3, [-math.inf] * 3
    for p in prims:
        r, h = _rot(p.rpy), _half_extents(p)
        for i in range(3):
            e = sum(abs(r[i][j]) * h[j] for j in range(3))
            lo[i], hi[i] = min(lo[i], p.xyz[i] - e), max(hi[i], p.xyz[i] + e)
    return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


def _mass_properties(part: _Part) -> tuple[float, Vec3, Mat3]:
    """Mass, centre of mass and inertia tensor about the centre of mass, in the part frame."""
    masses = [part.density * _volume(p) * p.weight for p in part.prims]
    mass = sum(masses)
    com = tuple(sum(m * p.xyz[i] for m, p in zip(masses, part.prims)) / mass for i in range(3))
    tensor = [[0.0] * 3 for _ in range(3)]
    for m, p in zip(masses, part.prims):
        r, d = _rot(p.rpy), [p.xyz[i] - com[i] for i in range(3)]
        principal = _local_inertia(p, m)
        dd = sum(x * x for x in d)
        for i in range(3):
            for j in range(3):
                # Rotated own inertia R diag(I) R^T, plus the parallel-axis shift to the COM.
                own = sum(r[i][k] * principal[k] * r[j][k] for k in range(3))
                tensor[i][j] += own + m * ((dd if i == j else 0.0) - d[i] * d[j])
    return mass, (com[0], com[1], com[2]), tensor


def _f(x: float) -> str:
    # One fixed float format keeps the files byte-identical. 9 significant digits keep 60-degree
    # angles exact to ~1e-9; round-off residue (~1e-18 m) is written as 0, and -0.0 as 0.
    return f"{(0.0 if abs(x) < 1e-12 else x) + 0.0:.9g}"


def _v(xs: tuple[float, ...] | list[float]) -> str:
    return " ".join(_f(x) for x in xs)


def _geometry(p: _Prim) -> str:
    if p.kind == "box":
        return f'<box size="{_v(p.size)}"/>'
    if p.kind == "cylinder":
        return f'<cylinder radius="{_f(p.size[0])}" length="{_f(p.size[1])}"/>'
    return f'<sphere radius="{_f(p.size[0])}"/>'


def _contact_lines(lateral_friction: float) -> list[str]:
    return ['    <contact>', f'      <lateral_friction value="{_f(lateral_friction)}"/>',
            '      <rolling_friction value="0.001"/>', '      <spinning_friction value="0.001"/>',
            '    </contact>']


def _inertial_lines(mass: float, com: Vec3, t: Mat3) -> list[str]:
    # Round-off leaves ~1e-20 off-diagonal terms on symmetric parts; write them as exact zeros.
    tiny = 1e-9 * (t[0][0] + t[1][1] + t[2][2])
    t = [[0.0 if abs(x) < tiny else x for x in row] for row in t]
    inertia = " ".join(f'i{"xyz"[i]}{"xyz"[j]}="{_f(t[i][j])}"'
                       for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
    return ['    <inertial>', f'      <origin xyz="{_v(com)}" rpy="0 0 0"/>',
            f'      <mass value="{_f(mass)}"/>', f'      <inertia {inertia}/>', '    </inertial>']


def part_size_m(name: str) -> Vec3:
    """Bounding-box extents (x, y, z) in metres of part `name` (one of PART_NAMES)."""
    lo, hi = _aabb(_PARTS[name]().prims)
    return (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])


def part_meshes(name: str) -> list[tuple[int, tuple[str, float, float]]]:
    """The visual meshes of part `name`: (primitive index, (OBJ file name, radius, length)) for
    each cylinder, drawn from `simgen.procedural.meshes.cylinder_obj`."""
    return [(i, (f"{name}_{i}.obj", p.size[0], p.size[1]))
            for i, p in enumerate(_PARTS[name]().prims) if p.kind == "cylinder"]


def part_urdf(name: str) -> str:
    """The URDF text of part `name` (one of PART_NAMES), its bounding box centred on the origin."""
    part = _PARTS[name]()
    lo, hi = _aabb(part.prims)
    # Centre the bounding box on the link origin so callers can place parts by their middle.
    c = [(a + b) / 2 for a, b in zip(lo, hi)]
    prims = tuple(_Prim(p.kind, p.size, (p.xyz[0] - c[0], p.xyz[1] - c[1], p.xyz[2] - c[2]),
                        p.rpy, p.weight) for p in part.prims)
    mass, com, t = _mass_properties(_Part(prims, part.density, part.rgba))
    out = ['<?xml version="1.0"?>', f'<robot name="{name}">', '  <link name="base_link">',
           # Steel on steel-ish friction; a little rolling/spinning friction so round parts
           # (bolts, flanges) come to rest instead of rolling around the bin forever.
           *_contact_lines(0.6), *_inertial_lines(mass, com, t)]
    material = f'      <material name="{name}_metal"><color rgba="{_v(part.rgba)}"/></material>'
    meshes = dict(part_meshes(name))
    for tag in ("visual", "collision"):
        for i, p in enumerate(prims):
            mesh = meshes.get(i) if tag == "visual" else None
            geometry = (f'<mesh filename="{mesh[0]}" scale="1 1 1"/>' if mesh is not None
                        else _geometry(p))
            out += [f'    <{tag} name="{name}_{i}">',
                    f'      <origin xyz="{_v(p.xyz)}" rpy="{_v(p.rpy)}"/>',
                    f'      <geometry>{geometry}</geometry>',
                    *([material] if tag == "visual" else []), f'    </{tag}>']
    out += ['  </link>', '</robot>', '']
    return "\n".join(out)
