"""Procedural household and warehouse objects: OBJ meshes (normals and UVs) plus a URDF for each.

Each object is a visual mesh written as a Wavefront OBJ, so textures can be applied to it
(`pybullet.changeVisualShape(textureUniqueId=...)` maps them through the OBJ's UVs), and a URDF
whose collision geometry is what PyBullet simulates well:

- primitives where they are exact: a box for the cardboard boxes, a cylinder for the can, five
  boxes for the open tote;
- the visual mesh itself for the bottle (PyBullet turns a dynamic body's mesh into its convex
  hull, which for a bottle only fills the small step between shoulder and cap);
- for open vessels (bowl, cup) a ring of thin boxes along the wall plus a bottom disc, because
  a convex hull would fill the vessel and nothing could be put inside it.

Mass is volume x density of the real object (a filled can or bottle counts its contents), and the
inertia tensor comes from the same solid: the primitives for box-built objects, the closed visual
mesh for revolved ones. Every object's bounding box is centred on its link origin, like the parts.

Only the standard library is used, and the text is formatted with fixed precision, so the files
are byte-identical on every call.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

from simgen.procedural.parts import (Mat3, Vec3, _contact_lines, _geometry, _inertial_lines,
                                     _mass_properties, _Part, _Prim, _v)

# Densities in kg/m^3. Boxes are "lightly packed" cardboard boxes (contents included); the can
# and bottle are filled with a drink (contents, wall and head space averaged).
_PACKED_BOX, _FILLED_CAN, _FILLED_BOTTLE, _CERAMIC, _HDPE = 150.0, 900.0, 950.0, 2400.0, 950.0

Vec2 = tuple[float, float]


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh with one position, texture coordinate and normal per vertex.

    Triangles wind counter-clockwise seen from outside (the OBJ convention), so the normals the
    winding implies agree with the stored ones.
    """

    positions: tuple[Vec3, ...]
    uvs: tuple[Vec2, ...]
    normals: tuple[Vec3, ...]
    triangles: tuple[tuple[int, int, int], ...]

    def bounds(self) -> tuple[Vec3, Vec3]:
        """(min corner, max corner) of the vertices."""
        lo = tuple(min(p[i] for p in self.positions) for i in range(3))
        hi = tuple(max(p[i] for p in self.positions) for i in range(3))
        return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])

    def shifted(self, d: Vec3) -> "Mesh":
        return replace(self, positions=tuple((p[0] + d[0], p[1] + d[1], p[2] + d[2])
                                             for p in self.positions))


def _merge(meshes: list[Mesh]) -> Mesh:
    positions: list[Vec3] = []
    uvs: list[Vec2] = []
    normals: list[Vec3] = []
    triangles: list[tuple[int, int, int]] = []
    for m in meshes:
        base = len(positions)
        positions += m.positions
        uvs += m.uvs
        normals += m.normals
        triangles += [(a + base, b + base, c + base) for a, b, c in m.triangles]
    return Mesh(tuple(positions), tuple(uvs), tuple(normals), tuple(triangles))


def box_mesh(size: Vec3, centre: Vec3 = (0.0, 0.0, 0.0)) -> Mesh:
    """An axis-aligned box: 4 vertices per face (crisp normals), each face's UVs spanning 0..1."""
    h = (size[0] / 2, size[1] / 2, size[2] / 2)
    # (normal, u axis, v axis) with u x v = normal, so the corner order below is counter-clockwise.
    faces = (((1, 0, 0), (0, 1, 0), (0, 0, 1)), ((-1, 0, 0), (0, -1, 0), (0, 0, 1)),
             ((0, 1, 0), (-1, 0, 0), (0, 0, 1)), ((0, -1, 0), (1, 0, 0), (0, 0, 1)),
             ((0, 0, 1), (1, 0, 0), (0, 1, 0)), ((0, 0, -1), (1, 0, 0), (0, -1, 0)))
    positions, uvs, normals, triangles = [], [], [], []
    for n, u, v in faces:
        base = len(positions)
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            positions.append(tuple(centre[i] + (n[i] + su * u[i] + sv * v[i]) * h[i]
                                   for i in range(3)))
            uvs.append(((su + 1) / 2, (sv + 1) / 2))
            normals.append((float(n[0]), float(n[1]), float(n[2])))
        triangles += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return Mesh(tuple(positions), tuple(uvs), tuple(normals), tuple(triangles))


def revolve(strips: list[list[Vec2]], segments: int) -> Mesh:
    """Lathe a profile of (radius, z) points around the z axis into a closed mesh.

    The profile runs counter-clockwise around the solid's cross-section (material on its left,
    e.g. bottom centre -> outer rim -> top centre). It is given as `strips`: runs of points with
    smooth normals; consecutive strips share their end point, where the edge is kept sharp by
    doubling the vertices. A point with radius 0 lies on the axis (a pole). u runs once around
    (the seam's vertices are doubled so u goes 0..1), v along the profile's arc length.
    """
    lengths = [[math.dist(s[i], s[i + 1]) for i in range(len(s) - 1)] for s in strips]
    total = sum(sum(x) for x in lengths)
    # One cos/sin per column, the seam column reusing column 0's, so the seam closes exactly.
    ring = [(math.cos(2 * math.pi * j / segments), math.sin(2 * math.pi * j / segments))
            for j in range(segments)]
    ring.append(ring[0])
    positions: list[Vec3] = []
    uvs: list[Vec2] = []
    normals: list[Vec3] = []
    triangles: list[tuple[int, int, int]] = []
    arc = 0.0
    for strip, seg_lengths in zip(strips, lengths):
        base = len(positions)
        for i, (r, z) in enumerate(strip):
            a, b = strip[max(i - 1, 0)], strip[min(i + 1, len(strip) - 1)]
            dr, dz = b[0] - a[0], b[1] - a[1]
            norm = math.hypot(dr, dz)
            nr, nz = dz / norm, -dr / norm  # the tangent turned clockwise: outward
            v = arc / total
            for j, (c, s) in enumerate(ring):
                positions.append((r * c, r * s, z))
                uvs.append((j / segments, v))
                normals.append((nr * c, nr * s, nz))
            if i < len(seg_lengths):
                arc += seg_lengths[i]
        cols = segments + 1
        for i in range(len(strip) - 1):
            for j in range(segments):
                p, q = base + i * cols + j, base + (i + 1) * cols + j
                # (p, p+1) runs around the axis, (p, q) along the profile: their cross product
                # points out of the material, so this order is counter-clockwise from outside.
                if strip[i][0] > 0.0:
                    triangles.append((p, p + 1, q + 1))
                if strip[i + 1][0] > 0.0:
                    triangles.append((p, q + 1, q))
    return Mesh(tuple(positions), tuple(uvs), tuple(normals), tuple(triangles))


def mesh_mass_properties(mesh: Mesh, density: float) -> tuple[float, Vec3, Mat3]:
    """Mass, centre of mass and inertia tensor (about the centre of mass) of a closed mesh.

    Sums the signed tetrahedra (origin, a, b, c) of its triangles: exact for any closed,
    consistently wound mesh, however concave.
    """
    vol = 0.0
    first = [0.0, 0.0, 0.0]
    second = [[0.0] * 3 for _ in range(3)]
    pts = mesh.positions
    for ia, ib, ic in mesh.triangles:
        a, b, c = pts[ia], pts[ib], pts[ic]
        det = (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0])
               + a[2] * (b[0] * c[1] - b[1] * c[0]))
        s = [a[i] + b[i] + c[i] for i in range(3)]
        vol += det / 6
        for i in range(3):
            first[i] += det / 24 * s[i]
            for j in range(3):
                # The tetrahedron's second moment: det/120 (s s^T + a a^T + b b^T + c c^T).
                second[i][j] += det / 120 * (s[i] * s[j] + a[i] * a[j] + b[i] * b[j]
                                             + c[i] * c[j])
    com = (first[0] / vol, first[1] / vol, first[2] / vol)
    cov = [[density * (second[i][j] - vol * com[i] * com[j]) for j in range(3)] for i in range(3)]
    trace = cov[0][0] + cov[1][1] + cov[2][2]
    tensor = [[(trace if i == j else 0.0) - cov[i][j] for j in range(3)] for i in range(3)]
    return density * vol, com, tensor


def _smoothstep(t: float) -> float:
    return t * t * (3 - 2 * t)


@dataclass(frozen=True)
class _Object:
    """One catalog object, in its natural frame (standing on z = 0) before centring."""

    category: str
    mesh: Mesh
    rgba: tuple[float, float, float, float]
    friction: float
    density: float
    collision: tuple[_Prim, ...] = ()  # empty: collide with the visual mesh (its convex hull)
    mass_from_mesh: bool = False  # else from the collision primitives (they are exact)


def _cardboard_box(size: Vec3) -> _Object:
    z = size[2] / 2
    return _Object("cardboard_box", box_mesh(size, (0, 0, z)), (0.72, 0.56, 0.38, 1.0), 0.5,
                   _PACKED_BOX, (_Prim("box", size, (0, 0, z)),))


def _can() -> _Object:
    # 12 oz drink can: 66 mm across, 122 mm tall.
    r, h = 0.033, 0.122
    mesh = revolve([[(0.0, 0.0), (r, 0.0)], [(r, 0.0), (r, h)], [(r, h), (0.0, h)]], 48)
    return _Object("can", mesh, (0.78, 0.12, 0.12, 1.0), 0.4, _FILLED_CAN,
                   (_Prim("cylinder", (r, h), (0, 0, h / 2)),))


def _bottle() -> _Object:
    # 500 ml bottle, 65 mm across and 205 mm tall: flat base with a rounded heel, straight body,
    # an S-shaped shoulder down to the neck, and a screw cap a little wider than the neck.
    body_r, heel, body_top, neck_r, neck_z, neck_top = 0.0325, 0.0045, 0.125, 0.0135, 0.175, 0.19
    cap_r, cap_top = 0.015, 0.205
    outer: list[Vec2] = [(0.0, 0.0)]
    for k in range(7):  # heel: a quarter circle joining the flat base to the body tangentially
        a = math.pi / 2 * k / 6
        outer.append((body_r - heel + heel * math.sin(a), heel - heel * math.cos(a)))
    for k in range(13):  # shoulder: smoothstep radius, vertical tangents at both ends
        t = k / 12
        outer.append((body_r + (neck_r - body_r) * _smoothstep(t),
                      body_top + (neck_z - body_top) * t))
    outer.append((neck_r, neck_top))
    strips = [outer, [(neck_r, neck_top), (cap_r, neck_top)], [(cap_r, neck_top), (cap_r, cap_top)],
              [(cap_r, cap_top), (0.0, cap_top)]]
    return _Object("bottle", revolve(strips, 48), (0.45, 0.70, 0.85, 1.0), 0.4, _FILLED_BOTTLE,
                   mass_from_mesh=True)


def _wall_ring(outer: list[Vec2], thickness: float, around: int) -> list[_Prim]:
    """Thin boxes approximating a revolved wall: one ring of `around` boxes per profile chord.

    Each box's outer face lies on the chord of the wall's outer profile; its width closes the
    polygon at the chord's larger radius (boxes overlap a little lower down). With `around` a
    multiple of 4 the ring's x and y extents equal that radius exactly, like the visual mesh's.
    """
    prims = []
    for (r0, z0), (r1, z1) in zip(outer, outer[1:]):
        dr, dz = r1 - r0, z1 - z0
        length = math.hypot(dr, dz)
        inward = (-dz / length, dr / length)
        rc = (r0 + r1) / 2 + inward[0] * thickness / 2
        zc = (z0 + z1) / 2 + inward[1] * thickness / 2
        width = 2 * max(r0, r1) * math.tan(math.pi / around)
        tilt = math.atan2(dr, dz)  # from vertical, outwards
        for j in range(around):
            yaw = 2 * math.pi * j / around
            prims.append(_Prim("box", (thickness, width, length),
                               (rc * math.cos(yaw), rc * math.sin(yaw), zc), (0.0, tilt, yaw)))
    return prims


RGBA = tuple[float, float, float, float]


def _vessel(category: str, outer: list[list[Vec2]], inner: list[list[Vec2]],
            chords: list[Vec2], thickness: float, rgba: RGBA) -> _Object:
    """An open, flat-bottomed vessel, revolved from its wall's cross-section.

    `outer` strips run from the bottom centre (0, 0) up to the rim's outer top corner, `inner`
    ones from the rim's inner top corner down to the inside floor's centre (0, thickness); the
    rim's flat top joins them. `chords` (outer profile points from the bottom's edge to the rim)
    place the collision wall. Their last chord should be a vertical rim taller than the wall:
    it keeps the tilted boxes below it from poking above the rim's top with their inner corners.
    """
    strips = [*outer, [outer[-1][-1], inner[0][0]], *inner]
    r_bottom = chords[0][0]
    collision = (*_wall_ring(chords, thickness, 16),
                 _Prim("cylinder", (r_bottom, thickness), (0.0, 0.0, thickness / 2)))
    return _Object(category, revolve(strips, 48), rgba, 0.5, _CERAMIC, collision,
                   mass_from_mesh=True)


def _bowl() -> _Object:
    # Cereal bowl: 150 mm across, 55 mm tall, 4 mm ceramic wall; a flat 70 mm foot, then a
    # quarter-ellipse wall up to a short vertical rim. Every curve meets the next tangentially,
    # so each side of the wall is one smooth strip.
    r_out, height, foot, t, rim, steps = 0.075, 0.055, 0.035, 0.004, 0.006, 12
    wall_top = height - rim
    outer, inner = [(0.0, 0.0)], [(r_out - t, height)]
    for k in range(steps + 1):
        a = math.pi / 2 * k / steps
        outer.append((foot + (r_out - foot) * math.sin(a), wall_top * (1 - math.cos(a))))
        b = math.pi / 2 * (steps - k) / steps
        inner.append((foot + (r_out - t - foot) * math.sin(b),
                      wall_top - (wall_top - t) * math.cos(b)))
    outer.append((r_out, height))
    inner.append((0.0, t))
    # Collide with a coarser wall than the visual one: every third chord, then the rim.
    chords = outer[1:steps + 2:3] + [outer[-1]]
    return _vessel("bowl", [outer], [inner], chords, t, (0.92, 0.90, 0.85, 1.0))


def _cup() -> _Object:
    # Ceramic tumbler: 60 mm foot widening to 80 mm at the top, 95 mm tall, 4 mm wall, with a
    # vertical rim. Its corners are sharp, so each straight run is a strip of its own.
    r_bottom, r_top, height, t, rim = 0.030, 0.040, 0.095, 0.004, 0.006
    wall_top = height - rim
    # The inside wall parallel to the outside one, from the inner rim down to the floor.
    inner_bottom = r_top - t - (r_top - r_bottom) * (wall_top - t) / wall_top
    outer = [(0.0, 0.0), (r_bottom, 0.0), (r_top, wall_top), (r_top, height)]
    inner = [(r_top - t, height), (r_top - t, wall_top), (inner_bottom, t), (0.0, t)]
    return _vessel("cup", [outer[i:i + 2] for i in range(3)], [inner[i:i + 2] for i in range(3)],
                   outer[1:], t, (0.25, 0.45, 0.70, 1.0))


def _tote() -> _Object:
    # Euro stacking container: 600 x 400 x 220 mm, 4 mm HDPE walls and floor, open on top.
    ln, w, h, t = 0.60, 0.40, 0.22, 0.004
    wall_z = t + (h - t) / 2
    prims = (_Prim("box", (ln, w, t), (0, 0, t / 2)),
             _Prim("box", (ln, t, h - t), (0, w / 2 - t / 2, wall_z)),
             _Prim("box", (ln, t, h - t), (0, -(w / 2 - t / 2), wall_z)),
             _Prim("box", (t, w - 2 * t, h - t), (ln / 2 - t / 2, 0, wall_z)),
             _Prim("box", (t, w - 2 * t, h - t), (-(ln / 2 - t / 2), 0, wall_z)))
    mesh = _merge([box_mesh((p.size[0], p.size[1], p.size[2]), p.xyz) for p in prims])
    return _Object("tote", mesh, (0.20, 0.38, 0.65, 1.0), 0.5, _HDPE, prims)


_OBJECTS = {"box_small": lambda: _cardboard_box((0.20, 0.15, 0.10)),
            "box_medium": lambda: _cardboard_box((0.35, 0.25, 0.20)),
            "can": _can, "bottle": _bottle, "bowl": _bowl, "cup": _cup, "tote": _tote}
OBJECT_NAMES: tuple[str, ...] = tuple(_OBJECTS)


@dataclass(frozen=True)
class MeshObject:
    """A catalog object, centred on its link origin: what its URDF and OBJ files are made of."""

    name: str
    category: str
    mesh: Mesh
    size_m: Vec3
    mass_kg: float
    com: Vec3
    inertia: Mat3
    rgba: tuple[float, float, float, float]
    friction: float
    collision: tuple[_Prim, ...]


@functools.cache
def mesh_object(name: str) -> MeshObject:
    """The object `name` (one of OBJECT_NAMES), its bounding box centred on the origin."""
    obj = _OBJECTS[name]()
    lo, hi = obj.mesh.bounds()
    c = tuple((a + b) / 2 for a, b in zip(lo, hi))
    mesh = obj.mesh.shifted((-c[0], -c[1], -c[2]))
    prims = tuple(replace(p, xyz=(p.xyz[0] - c[0], p.xyz[1] - c[1], p.xyz[2] - c[2]))
                  for p in obj.collision)
    if obj.mass_from_mesh:
        mass, com, tensor = mesh_mass_properties(mesh, obj.density)
    else:
        mass, com, tensor = _mass_properties(_Part(prims, obj.density, obj.rgba))
    size = (hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2])
    return MeshObject(name, obj.category, mesh, size, mass, com, tensor, obj.rgba, obj.friction,
                      prims)


def _g(x: float) -> str:
    # Micrometres (and 1e-6 in UV/normal units) are finer than any renderer or collision needs,
    # and a fixed-point format keeps the files byte-identical; "-0.000000" is written as 0.
    s = f"{x:.6f}"
    return "0.000000" if s == "-0.000000" else s


# Sides of a part's cylinder mesh: the polygon's edge lies within 0.2% of the radius of the
# circle (a 30 mm flange: 0.06 mm).
CYLINDER_SEGMENTS = 48


def cylinder_obj(radius: float, length: float, name: str) -> str:
    """The OBJ text of a closed cylinder about the z axis, centred on the origin (a URDF
    cylinder's frame), smooth sides and flat caps."""
    h = length / 2
    mesh = revolve([[(0.0, -h), (radius, -h)], [(radius, -h), (radius, h)],
                    [(radius, h), (0.0, h)]], CYLINDER_SEGMENTS)
    return _obj_text(mesh, name)


def object_obj(name: str) -> str:
    """The Wavefront OBJ text of object `name`'s visual mesh (positions, UVs, normals)."""
    return _obj_text(mesh_object(name).mesh, name)


def _obj_text(mesh: Mesh, name: str) -> str:
    out = [f"# simgen procedural mesh: {name}", f"o {name}"]
    out += [f"v {_g(p[0])} {_g(p[1])} {_g(p[2])}" for p in mesh.positions]
    out += [f"vt {_g(uv[0])} {_g(uv[1])}" for uv in mesh.uvs]
    out += [f"vn {_g(n[0])} {_g(n[1])} {_g(n[2])}" for n in mesh.normals]
    out += ["f " + " ".join(f"{i + 1}/{i + 1}/{i + 1}" for i in tri) for tri in mesh.triangles]
    out.append("")
    return "\n".join(out)


def object_urdf(name: str) -> str:
    """The URDF text of object `name`; its visual mesh is `<name>.obj` in the same folder."""
    obj = mesh_object(name)
    mesh_tag = f'<mesh filename="{name}.obj" scale="1 1 1"/>'
    out = ['<?xml version="1.0"?>', f'<robot name="{name}">', '  <link name="base_link">',
           *_contact_lines(obj.friction), *_inertial_lines(obj.mass_kg, obj.com, obj.inertia),
           f'    <visual name="{name}_visual">', '      <origin xyz="0 0 0" rpy="0 0 0"/>',
           f'      <geometry>{mesh_tag}</geometry>',
           f'      <material name="{name}_material"><color rgba="{_v(obj.rgba)}"/></material>',
           '    </visual>']
    if not obj.collision:
        out += [f'    <collision name="{name}_0">', '      <origin xyz="0 0 0" rpy="0 0 0"/>',
                f'      <geometry>{mesh_tag}</geometry>', '    </collision>']
    for i, p in enumerate(obj.collision):
        out += [f'    <collision name="{name}_{i}">',
                f'      <origin xyz="{_v(p.xyz)}" rpy="{_v(p.rpy)}"/>',
                f'      <geometry>{_geometry(p)}</geometry>', '    </collision>']
    out += ['  </link>', '</robot>', '']
    return "\n".join(out)
