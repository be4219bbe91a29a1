"""Mesh files as a user would bring them (a CAD export, a textured model): the example of
`scenes/own_parts.yaml` ("bring your own part"), made here so no download is needed.

- `meshes/bracket_mm.stl`: an L-bracket as CAD exports it: binary STL, in millimetres, no colour;
  concave, so the scenario decomposes it (V-HACD);
- `meshes/cup.glb`: the catalog's cup as glTF: y up, metres, a base colour texture (stripes);
- `meshes/crate.obj` (+ `crate.mtl`, `crate.png`): a box with a cardboard texture, as OBJ
  exporters write it.

Deterministic: the same bytes on every call (STL and OBJ are written here; the GLB by trimesh,
imported only when these files are built).
"""

from __future__ import annotations

import struct

from simgen.procedural.meshes import Mesh, _g, _merge, box_mesh, mesh_object

MESH_FILES = ("meshes/bracket_mm.stl", "meshes/cup.glb", "meshes/crate.obj",
              "meshes/crate.mtl", "meshes/crate.png")


def user_mesh_files() -> list[tuple[str, bytes]]:
    from simgen.procedural.textures import texture_png

    crate = box_mesh((0.16, 0.12, 0.10))
    return [("meshes/bracket_mm.stl", _stl(_bracket_mm())),
            ("meshes/cup.glb", _glb(mesh_object("cup").mesh, texture_png("stripes"))),
            ("meshes/crate.obj", _obj(crate, "crate", "crate.mtl").encode()),
            ("meshes/crate.mtl", b"newmtl crate\nKd 1 1 1\nmap_Kd crate.png\n"),
            ("meshes/crate.png", texture_png("cardboard"))]


def _bracket_mm() -> Mesh:
    """60 x 30 mm base plate, 4 mm thick, with a 4 mm upright 40 mm tall at one end (mm)."""
    return _merge([box_mesh((60.0, 30.0, 4.0), (0.0, 0.0, 2.0)),
                   box_mesh((4.0, 30.0, 36.0), (28.0, 0.0, 22.0))])


def _stl(mesh: Mesh) -> bytes:
    out = [b"simgen procedural bracket, millimetres".ljust(80, b" "),
           struct.pack("<I", len(mesh.triangles))]
    for a, b, c in mesh.triangles:
        pa, pb, pc = mesh.positions[a], mesh.positions[b], mesh.positions[c]
        u = [pb[i] - pa[i] for i in range(3)]
        v = [pc[i] - pa[i] for i in range(3)]
        n = [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]
        length = sum(x * x for x in n) ** 0.5 or 1.0
        out.append(struct.pack("<12fH", *(x / length for x in n), *pa, *pb, *pc, 0))
    return b"".join(out)


def _obj(mesh: Mesh, name: str, mtl: str) -> str:
    out = [f"# simgen procedural mesh: {name}", f"mtllib {mtl}", f"o {name}", f"usemtl {name}"]
    out += [f"v {_g(p[0])} {_g(p[1])} {_g(p[2])}" for p in mesh.positions]
    out += [f"vt {_g(uv[0])} {_g(uv[1])}" for uv in mesh.uvs]
    out += [f"vn {_g(n[0])} {_g(n[1])} {_g(n[2])}" for n in mesh.normals]
    out += ["f " + " ".join(f"{i + 1}/{i + 1}/{i + 1}" for i in tri) for tri in mesh.triangles]
    return "\n".join(out) + "\n"


def _glb(mesh: Mesh, texture: bytes) -> bytes:
    """The mesh as binary glTF, y up (glTF's convention: z up becomes y up), textured."""
    import io

    import numpy as np
    import trimesh
    from PIL import Image

    positions = np.array(mesh.positions)
    y_up = np.c_[positions[:, 0], positions[:, 2], -positions[:, 1]]
    visual = trimesh.visual.TextureVisuals(uv=np.array(mesh.uvs),
                                           image=Image.open(io.BytesIO(texture)))
    tm = trimesh.Trimesh(y_up, np.array(mesh.triangles), visual=visual, process=False)
    return tm.export(file_type="glb")
