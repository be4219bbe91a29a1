"""A mesh file (a CAD export or a scan: OBJ, STL, PLY, GLB/glTF) as a body PyBullet loads: a URDF
made from it, cached outside any dataset and keyed by content.

The mesh is read by trimesh, put in metres (`units`) with z up (`up_axis`), checked (one line
for what is wrong: no triangles, zero extent, degenerate triangles, absurd size for its units,
a texture its material names but the folder lacks, an open surface where a volume is needed),
and written as `visual.obj` (+ `visual.mtl` and its texture) beside `model.urdf`:

- inertia: mass from `mass_kg`, or `density_kg_m3` x the mesh's volume (a closed surface is
  needed for a volume); the inertia tensor and centre of mass from the closed mesh, or, for an
  open one given `mass_kg`, from its convex hull (the solid PyBullet simulates anyway);
- collision: `convex` (the visual mesh, which PyBullet turns into its convex hull), `decomposed`
  (PyBullet's V-HACD, run once per mesh and settings: it is part of the cached folder), or
  `mesh` (the exact triangles, for static bodies only: PyBullet collides concave meshes only
  when they do not move);
- colour: an OBJ's MTL and texture, a GLB's base colour and texture; a PLY's vertex colours as
  their mean (PyBullet draws no vertex colours).

The cache folder is `~/.cache/simgen/meshes/<key>` (SIMGEN_MESH_CACHE moves it), where the key
is the sha256 of the mesh's bytes, its texture's, the options and this converter's version, so
the same mesh always gives the same URDF bytes: `regen` and `verify` re-make images from a
dataset made with user meshes, on any machine that has the mesh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

MESH_SUFFIXES = (".obj", ".stl", ".ply", ".glb", ".gltf")
CONVERTER_VERSION = "1"
MAX_MESH_BYTES = 256 * 1024 * 1024
MAX_FACES = 2_000_000
UNITS_M = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254}
# A body outside these extents (after units) is almost surely in the wrong units.
MIN_EXTENT_M, MAX_EXTENT_M = 0.001, 5.0
# Share of zero-area triangles above which a mesh is refused (a few are common in CAD exports).
MAX_DEGENERATE_SHARE = 0.01


class MeshError(ValueError):
    """The mesh cannot be used as given; the message says why, in one line."""


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simgen" / "meshes"
    return Path(os.environ.get("SIMGEN_MESH_CACHE") or default)


def mesh_urdf(path: Path, options: Any, static: bool = False) -> Path:
    """The URDF (in the cache) of the mesh at `path` with `options` (simgen.scenario.schema
    MeshSpec). Made once; MeshError for a mesh that cannot be used."""
    return mesh_body(path, options, static)[0]


def mesh_body(path: Path, options: Any, static: bool = False) -> tuple[Path, dict[str, Any]]:
    """mesh_urdf, and what a dataset records of the mesh (its sha256 and its material files'),
    from one read of each file."""
    data = _read(path)
    texture_files = _texture_files(path, data)
    record = _record(data, texture_files)
    if options.collision == "mesh" and not static:
        raise MeshError("collision: mesh (exact triangles) is for static bodies only: PyBullet "
                        "does not collide moving concave meshes; use convex or decomposed")
    digest = hashlib.sha256()
    digest.update(f"simgen-mesh/{CONVERTER_VERSION}\n".encode())
    digest.update(path.suffix.lower().encode() + b"\n")
    digest.update(json.dumps(options.model_dump(mode="json"), sort_keys=True).encode())
    digest.update(json.dumps(record, sort_keys=True).encode())   # the mesh's and its files' sha256
    folder = cache_root() / digest.hexdigest()[:32]
    urdf = folder / "model.urdf"
    if urdf.is_file():
        return urdf, record
    mesh = _load(path, data)
    mesh = _to_metres_z_up(mesh, options)
    # The closed surface, for the checks and the mass: vertices split only for their texture
    # coordinates or normals (seams) are one point.
    solid = mesh.copy()
    solid.merge_vertices(merge_tex=True, merge_norm=True)
    _check(solid, options)
    cache_root().mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_root()))
    try:
        rgba = _write_visual(mesh, staging)
        collision = "visual.obj"
        if options.collision == "decomposed":
            _vhacd(staging / "visual.obj", staging / "collision.obj")
            collision = "collision.obj"
        mass, com, inertia = _mass_properties(solid, options)
        (staging / "model.urdf").write_text(
            _urdf(path.stem, rgba, collision, options.collision == "mesh", mass, com, inertia))
        try:
            os.rename(staging, folder)   # atomic; another process may have made it meanwhile
        except OSError:
            if not urdf.is_file():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return urdf, record


def load_mesh(path: Path) -> Any:
    """The trimesh.Trimesh of a mesh file, read within the size bounds; MeshError otherwise."""
    return _load(path, _read(path))


def _record(data: bytes, files: dict[str, bytes]) -> dict[str, Any]:
    """What a dataset records of a mesh asset: its sha256 and its material files' (an OBJ's MTL
    and textures), so a changed texture is caught as well as a changed mesh."""
    out: dict[str, Any] = {"sha256": hashlib.sha256(data).hexdigest()}
    if files:
        out["material_files"] = {name: hashlib.sha256(blob).hexdigest()
                                 for name, blob in sorted(files.items())}
    return out


# --- reading and checking ------------------------------------------------------------------------

def _read(path: Path) -> bytes:
    import stat

    try:
        info = os.stat(path)
    except OSError as err:
        raise MeshError(f"cannot read {path.name} ({err.strerror or err})") from None
    if not stat.S_ISREG(info.st_mode):
        raise MeshError(f"{path.name} is not a regular file")
    if info.st_size > MAX_MESH_BYTES:
        raise MeshError(f"{path.name} is larger than {MAX_MESH_BYTES} bytes")
    return path.read_bytes()


def _texture_files(path: Path, data: bytes) -> dict[str, bytes]:
    """An OBJ's material library and the images it names, read only inside the OBJ's folder
    (a mesh is untrusted input: its MTL could name any file). A named file that is missing is
    an error: the mesh would render without its texture."""
    if path.suffix.lower() != ".obj":
        return {}
    folder = path.parent.resolve()
    out: dict[str, bytes] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("mtllib "):
            mtl = _inside(folder, line[7:].strip(), path)
            out[mtl.name] = _read(mtl)
            for entry in out[mtl.name].decode("utf-8", "replace").splitlines():
                words = entry.split()
                if words and words[0].startswith("map_"):
                    image = _inside(mtl.parent, words[-1], path)
                    out[image.name] = _read(image)
    return out


def _inside(folder: Path, name: str, mesh: Path) -> Path:
    target = (folder / name).resolve()
    if not target.is_relative_to(mesh.parent.resolve()):
        raise MeshError(f"{mesh.name} names {name!r}, outside its own folder")
    if not target.is_file():
        raise MeshError(f"{mesh.name} names {name!r}, which is missing (textures missing?)")
    return target


def _load(path: Path, data: bytes) -> Any:
    import io

    import trimesh

    kind = path.suffix.lower()[1:]
    try:
        if kind == "obj":   # from its folder, so its MTL and texture are found
            loaded = trimesh.load(str(path), force="mesh", process=False)
        else:
            loaded = trimesh.load(io.BytesIO(data), file_type=kind, force="mesh", process=False)
    except Exception as err:   # trimesh raises many kinds on a broken file
        raise MeshError(f"{path.name} cannot be read as {kind.upper()} ({err})") from None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise MeshError(f"{path.name} has no triangles")
    if len(loaded.faces) > MAX_FACES:
        raise MeshError(f"{path.name} has {len(loaded.faces)} triangles, more than {MAX_FACES}")
    return loaded


def _to_metres_z_up(mesh: Any, options: Any) -> Any:
    import numpy as np

    T = np.eye(4)
    T[:3, :3] *= UNITS_M[options.units]
    turn = {"z": np.eye(3),
            "y": np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], float),    # +y up becomes +z
            "x": np.array([[0, 0, -1], [0, 1, 0], [1, 0, 0]], float)}[options.up_axis]
    T[:3, :3] = turn @ T[:3, :3]
    mesh = mesh.copy()
    mesh.apply_transform(T)
    return mesh


def _check(mesh: Any, options: Any) -> None:
    import numpy as np

    extent = float(np.max(mesh.extents))
    if not np.isfinite(mesh.vertices).all() or float(np.min(mesh.extents)) <= 1e-9:
        raise MeshError(f"the mesh has zero extent along an axis (its size: "
                        f"{'x'.join(f'{v:.3g}' for v in mesh.extents)} m): flat, a line or a "
                        "point, it has no volume")
    size = "x".join(f"{v:.3g}" for v in mesh.extents)
    if extent > MAX_EXTENT_M:
        raise MeshError(f"the mesh is {size} m in units: {options.units}; larger than "
                        f"{MAX_EXTENT_M:g} m: check its units (CAD exports are often in mm)")
    if extent < MIN_EXTENT_M:
        raise MeshError(f"the mesh is {size} m in units: {options.units}; smaller than 1 mm: "
                        "check its units")
    areas = mesh.area_faces
    degenerate = int(np.count_nonzero(areas <= 1e-14))
    if degenerate > MAX_DEGENERATE_SHARE * len(areas):
        raise MeshError(f"{degenerate} of its {len(areas)} triangles are degenerate (zero "
                        "area): repair the mesh")
    if options.mass_kg is None and not mesh.is_watertight:
        raise MeshError("the mesh is not watertight (an open surface has no volume for "
                        "density_kg_m3): close it, or give mass_kg (inertia then from its "
                        "convex hull)")


# --- writing ---------------------------------------------------------------------------------------

def _write_visual(mesh: Any, folder: Path) -> tuple[float, float, float, float]:
    """visual.obj (and its MTL and texture) in `folder`; the URDF colour: white where a texture
    or face colours carry the colour, else the mesh's (mean) colour."""
    import numpy as np
    import trimesh
    from trimesh.exchange.obj import export_obj

    rgba = (0.8, 0.8, 0.8, 1.0)
    visual = mesh.visual
    if isinstance(visual, trimesh.visual.TextureVisuals) and hasattr(visual.material,
                                                                      "to_simple"):
        # glTF's PBR material: its base colour texture (or colour) as OBJ's diffuse map.
        visual.material = visual.material.to_simple()
    textured = isinstance(visual, trimesh.visual.TextureVisuals) and getattr(
        visual.material, "image", None) is not None and visual.uv is not None
    if not textured:
        if isinstance(visual, trimesh.visual.TextureVisuals):   # a base colour, no image
            colour = getattr(visual.material, "diffuse", None)
            if colour is not None:
                rgba = tuple(float(c) / 255 for c in colour)
        elif visual.kind in ("vertex", "face"):
            colours = (visual.vertex_colors if visual.kind == "vertex" else visual.face_colors)
            rgba = tuple(float(c) / 255 for c in np.asarray(colours, float).mean(axis=0))
        mesh = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    text, files = export_obj(mesh, include_normals=True, include_color=False,
                             include_texture=textured, return_texture=True,
                             mtl_name="visual.mtl", header=None)
    (folder / "visual.obj").write_text(text)
    for name, blob in sorted(files.items()):
        (folder / name).write_bytes(blob)
    if textured:
        rgba = (1.0, 1.0, 1.0, 1.0)
    return rgba


def _vhacd(source: Path, target: Path) -> None:
    import pybullet as p

    from simgen.sim.quiet import c_output_silenced

    with c_output_silenced():
        cid = p.connect(p.DIRECT)
        try:
            p.vhacd(str(source), str(target), str(target.with_suffix(".log")),
                    physicsClientId=cid)
        finally:
            p.disconnect(cid)
    target.with_suffix(".log").unlink(missing_ok=True)
    if not target.is_file() or target.stat().st_size == 0:
        raise MeshError("V-HACD made no convex parts of the mesh")


def _mass_properties(mesh: Any, options: Any) -> tuple[float, Any, Any]:
    solid = mesh if mesh.is_watertight else mesh.convex_hull
    volume = float(solid.volume)
    if volume <= 0:
        raise MeshError("the mesh encloses no volume (flat, or its normals point inwards)")
    mass = options.mass_kg if options.mass_kg is not None else options.density_kg_m3 * volume
    inertia = solid.moment_inertia * (mass / volume)   # trimesh: for density 1, about the COM
    return float(mass), solid.center_mass, inertia


def _urdf(name: str, rgba: tuple, collision: str, concave: bool, mass: float, com: Any,
          inertia: Any) -> str:
    def f(x: float) -> str:
        return f"{(0.0 if abs(x) < 1e-15 else float(x)) + 0.0:.9g}"

    I = inertia
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in name) or "mesh"
    return "\n".join([
        '<?xml version="1.0"?>', f'<robot name="{safe}">',
        f'  <link name="base_link"{" concave=" + chr(34) + "yes" + chr(34) if concave else ""}>',
        '    <inertial>', f'      <origin xyz="{f(com[0])} {f(com[1])} {f(com[2])}" rpy="0 0 0"/>',
        f'      <mass value="{f(mass)}"/>',
        f'      <inertia ixx="{f(I[0][0])}" ixy="{f(I[0][1])}" ixz="{f(I[0][2])}" '
        f'iyy="{f(I[1][1])}" iyz="{f(I[1][2])}" izz="{f(I[2][2])}"/>',
        '    </inertial>',
        '    <visual>', '      <origin xyz="0 0 0" rpy="0 0 0"/>',
        '      <geometry><mesh filename="visual.obj" scale="1 1 1"/></geometry>',
        f'      <material name="{safe}_material"><color rgba="{" ".join(f(c) for c in rgba)}"/>'
        '</material>', '    </visual>',
        f'    <collision{" concave=" + chr(34) + "yes" + chr(34) if concave else ""}>',
        '      <origin xyz="0 0 0" rpy="0 0 0"/>',
        f'      <geometry><mesh filename="{collision}" scale="1 1 1"/></geometry>',
        '    </collision>', '  </link>', '</robot>', ''])
