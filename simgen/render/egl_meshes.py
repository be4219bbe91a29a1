"""On EGL, a mesh another body of the scene drew at another scale is loaded under another name.

PyBullet's EGL plugin keeps one GL shape per visual mesh: a body whose visual names a mesh file
(with the same visual frame) that an earlier body of the scene named is drawn with that earlier
shape, whose vertices were scaled for the earlier body. Its cache key (btHashVisual, read in the
plugin's source, pybullet 3.2.x) holds the file name and frames, not the scale. So two bodies of
one asset at two scales were drawn at the first one's size (measured: two pybullet_data trays
at globalScaling 0.8 and 1.2 both drew 784 pixels, where TinyRenderer draws 812 and 1849), while
their physics, poses and 3D boxes had their own: the pixels and labels disagreed with the
recorded scale, and scale randomization did not change the pixels of a repeated asset.

So on EGL every URDF body loads from a copy of its URDF (written once per world) that names
every file by absolute path, and its visual meshes by a spelling of their own:
`dir/mesh.obj` for variant 0, `dir/./mesh.obj` for variant 1, and so on, which the plugin takes
for different meshes while the file read is the same. A body takes the first variant under
whose spellings no earlier body of the scene drew a mesh at another scale; bodies at the same
scale still share a shape, as before. The choice depends only on the scene's bodies in load
order, so every worker makes the same one. Collision meshes keep one spelling: the physics is
unchanged.

A URDF that cannot be copied so (not plain URDF XML, a file named by URL, a mesh not beside it)
and SDF bodies load as they are; what they drew is read back from PyBullet, and a scene where
one of them would share a shape drawn at another scale is refused with an error (never drawn
wrong).

The same bookkeeping says whether a texture can be given to a body after it is loaded
(simgen.render.egl_textures). The plugin hands such a texture to the GL shape whose index is the
body's instance handle (GLInstancingRenderer::replaceTexture is passed an instance where it
expects a shape), which is the body's own shape only while every visual loaded so far in the
scene made one shape and one instance: after resetSimulation both count up from 0 together. A
visual that reuses a cached shape, a body removed (its handles are reused), or a body whose
visuals may draw nothing (a mesh that is not an OBJ with faces, or one PyBullet reads as it is)
breaks that for the rest of the scene. `in_order` says whether it still holds; a body that is
to be given textures takes a variant of its own (`own_shapes`), so it reuses no shape, and a
body of a textured shape already drawn at its scale can reuse that shape, texture and all
(`shares`), which costs the order.
"""

from __future__ import annotations

import hashlib
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simgen.render.egl_rows import aligned_mesh

# A URDF larger than this loads as it is (its meshes are checked after loading).
MAX_URDF_BYTES = 64 * 1024**2
# Variants a mesh may take in one scene: as many bodies of one asset at different scales.
MAX_VARIANTS = 256
# Scales closer than this (relative) draw the same vertices to well under a pixel: they share.
SCALE_RTOL = 1e-6
# PyBullet's getVisualShapeData geometry type of a mesh (p.GEOM_MESH).
GEOM_MESH = 5

Scale = tuple[float, float, float]


class SharedMeshError(RuntimeError):
    """A body would be drawn with a shape another body of the scene drew at another scale."""


@dataclass(frozen=True)
class _Urdf:
    """A URDF as read once: its copy's text (the variant's mark in each visual mesh name; None:
    it loads as it is, having no visual mesh), each visual mesh as (folder, file name, scale),
    and whether its visuals make one new GL shape each (see `in_order`)."""

    text: bytes | None
    meshes: tuple[tuple[str, str, Scale], ...]
    keeps_order: bool


class MeshVariants:
    """Which copy of a URDF a body loads from on EGL, scene by scene (see the module's note)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._urdfs: dict[str, _Urdf | None] = {}
        self._written: dict[tuple[str, int], str] = {}
        self._drawn: dict[str, Scale] = {}   # mesh spelling -> scale it was drawn at, this scene
        # Whether the plugin's shape and instance indices are still equal in this scene.
        self.in_order = True

    def new_scene(self) -> None:
        """resetSimulation empties the plugin's shapes: every spelling is free again."""
        self._drawn = {}
        self.in_order = True

    def lose_order(self) -> None:
        """A body was removed, or loaded where this class cannot follow what it drew (SDF)."""
        self.in_order = False

    def keeps_order(self, urdf_path: str) -> bool:
        """Whether a body of `urdf_path`, loaded with `own_shapes`, makes one new GL shape and
        one instance per visual (so a texture can be given to it while `in_order`)."""
        urdf = self._read(urdf_path)
        return urdf is not None and urdf.keeps_order

    def shares(self, urdf_path: str, scale: float) -> bool:
        """Whether a body of `urdf_path` at `scale` (loaded without `own_shapes`) would draw
        only with shapes an earlier body of the scene made: the copy path_for picks is one
        whose every spelling was drawn at that scale."""
        urdf = self._read(urdf_path)
        if urdf is None or urdf.text is None:
            return False
        found = self._variant(urdf, scale, own_shapes=False)
        return found is not None and all(name in self._drawn for name in found[1])

    def order_needed(self, ahead: list[tuple[str, float]]) -> bool:
        """Whether a body of `ahead` ((URDF, scale) in load order) will find no shapes to
        reuse when it loads (`shares` now, or an earlier one of `ahead` of its URDF and scale),
        so that giving it textures needs the order kept until then."""
        before: list[tuple[str, float]] = []
        for urdf, scale in ahead:
            if not self.shares(urdf, scale) and not any(
                    u == urdf and math.isclose(s, scale, rel_tol=SCALE_RTOL) for u, s in before):
                return True
            before.append((urdf, scale))
        return False

    def path_for(self, urdf_path: str, scale: float, own_shapes: bool = False) -> str:
        """The URDF to load for a body of `urdf_path` at globalScaling `scale`; with
        `own_shapes`, one under whose spellings no body of the scene drew yet."""
        urdf = self._read(urdf_path)
        if urdf is None or urdf.text is None:
            if urdf is None or not urdf.keeps_order:
                self.in_order = False
            return urdf_path
        found = self._variant(urdf, scale, own_shapes)
        if found is None:
            raise SharedMeshError(f"{urdf_path}: more than {MAX_VARIANTS} bodies of it at "
                                  "different scales in one scene")
        variant, names = found
        if not urdf.keeps_order or any(name in self._drawn for name in names):
            self.in_order = False   # a visual reuses a shape, or may draw nothing
        return self._write(urdf_path, urdf, variant)

    def _variant(self, urdf: _Urdf, scale: float,
                 own_shapes: bool) -> tuple[int, list[str]] | None:
        """The first variant (and its mesh spellings) under which no earlier body of the scene
        drew a mesh at another scale (with `own_shapes`: drew it at all); None past the last."""
        for variant in range(MAX_VARIANTS):
            spellings = [(_spelling(folder, name, variant), _scaled(mesh_scale, scale))
                         for folder, name, mesh_scale in urdf.meshes]
            names = [name for name, _ in spellings]
            if own_shapes and any(name in self._drawn for name in names):
                continue
            if all(self._fits(name, scaled) for name, scaled in spellings):
                return variant, names
        return None

    def drew(self, shapes: Any, what: str) -> None:
        """Record what a body just loaded drew (PyBullet's getVisualShapeData of it); raise
        SharedMeshError if it shares a shape drawn at another scale (a body loaded as it is)."""
        new: dict[str, Scale] = {}
        for shape in shapes:
            if shape[2] != GEOM_MESH:
                continue
            name = shape[4].decode("utf-8", "surrogateescape")
            scale = tuple(float(v) for v in shape[3])
            if not self._fits(name, scale):
                raise SharedMeshError(
                    f"{what}: the egl renderer would draw it at the scale another body of the "
                    f"scene drew {Path(name).name} at; use --renderer tiny")
            new.setdefault(name, scale)
        for name, scale in new.items():
            self._drawn.setdefault(name, scale)

    def _fits(self, name: str, scale: Scale) -> bool:
        drawn = self._drawn.get(name)
        return drawn is None or all(math.isclose(a, b, rel_tol=SCALE_RTOL)
                                    for a, b in zip(drawn, scale))

    def _read(self, urdf_path: str) -> _Urdf | None:
        if urdf_path not in self._urdfs:
            self._urdfs[urdf_path] = _read_urdf(Path(urdf_path), self.folder / "meshes")
        return self._urdfs[urdf_path]

    def _write(self, urdf_path: str, urdf: _Urdf, variant: int) -> str:
        key = (urdf_path, variant)
        if key not in self._written:
            folder = self.folder / hashlib.sha256(urdf_path.encode()).hexdigest()[:16]
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{variant}.urdf"
            # Folders and names are absolute and checked at read: only the spelling changes.
            text = urdf.text.replace(_MARK, ("./" * variant).encode())
            path.write_bytes(text)
            self._written[key] = str(path)
        return self._written[key]


# Where a variant's "./" segments go in the copy's visual mesh names. A URDF that already holds
# it anywhere loads as it is (the count is checked).
_MARK_TEXT = "{simgen-variant}"
_MARK = _MARK_TEXT.encode()


def _spelling(folder: str, name: str, variant: int) -> str:
    return f"{folder}/{'./' * variant}{name}"


def _scaled(mesh_scale: Scale, scale: float) -> Scale:
    return (mesh_scale[0] * scale, mesh_scale[1] * scale, mesh_scale[2] * scale)


def _read_urdf(urdf: Path, meshes_folder: Path) -> _Urdf | None:
    """The URDF with every file named by absolute path and a mark where the variant's segments
    go in each visual mesh's name, or None when it is to load as it is. A visual OBJ whose
    texture EGL would read sheared is named by its copy (simgen.render.egl_rows)."""
    try:
        if not urdf.is_file() or urdf.stat().st_size > MAX_URDF_BYTES:
            return None
        root = ET.fromstring(urdf.read_bytes())
    except (OSError, ET.ParseError, ValueError):
        return None
    if root.tag != "robot":
        return None
    base = urdf.parent
    visual_meshes = {id(el) for visual in root.iter("visual")
                     for el in visual.iterfind("geometry/mesh")}
    keeps_order = _keeps_order(root, base)
    meshes = []
    for element in root.iter():
        name = element.get("filename")
        if not name:
            continue
        if "://" in name:
            return None
        target = (base / name).resolve()
        if not target.is_file():   # PyBullet finds it elsewhere, or not at all: leave it be
            return None
        if id(element) not in visual_meshes:
            element.set("filename", str(target))
            continue
        try:
            values = [float(v) for v in (element.get("scale") or "1 1 1").split()]
        except ValueError:
            return None
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            return None
        if target.suffix.lower() == ".obj":
            target = aligned_mesh(target, meshes_folder)
        meshes.append((str(target.parent), target.name, (values[0], values[1], values[2])))
        element.set("filename", f"{target.parent}/{_MARK_TEXT}{target.name}")
    if not meshes:
        return _Urdf(None, (), keeps_order)   # nothing the plugin would share: as it is
    text = ET.tostring(root, encoding="utf-8")
    if text.count(_MARK) != len(meshes):   # the URDF held the mark itself
        return None
    return _Urdf(text, tuple(meshes), keeps_order)


def _keeps_order(root: ET.Element, base: Path) -> bool:
    """Whether every visual of the URDF (read before its names are rewritten) makes one GL shape
    of its own: each visual mesh an OBJ with faces, no two visuals of one mesh at the same
    origin (whatever their scales), and no link drawn from collision meshes (the plugin draws a link without visuals
    from its collision shapes, whose mesh names every body of the asset shares)."""
    seen = set()
    for link in root.iter("link"):
        visuals = link.findall("visual")
        if not visuals:
            if link.find("collision/geometry/mesh") is not None:
                return False
            continue
        for visual in visuals:
            mesh = visual.find("geometry/mesh")
            if mesh is None:
                continue   # a primitive: never taken from the plugin's cache
            name = mesh.get("filename", "")
            if "://" in name or not _draws_faces(base / name):
                return False
            # The plugin's cache key: the name and the frames, not the mesh's scale.
            origin = _origin(visual.find("origin"))
            key = ((base / name).resolve(), origin)
            if origin is None or key in seen:
                return False
            seen.add(key)
    return True


def _origin(element: ET.Element | None) -> tuple[float, ...] | None:
    """A visual's origin as six numbers (xyz, rpy; zero where left out), None if unreadable."""
    values = []
    for attribute in ("xyz", "rpy"):
        text = element.get(attribute) if element is not None else None
        try:
            numbers = [float(v) for v in (text or "0 0 0").split()]
        except ValueError:
            return None
        if len(numbers) != 3:
            return None
        values += numbers
    return tuple(values)


def _draws_faces(path: Path) -> bool:
    """Whether `path` is an OBJ with at least one face (what the plugin surely draws)."""
    try:
        if path.suffix.lower() != ".obj" or not path.is_file() \
                or path.stat().st_size > MAX_URDF_BYTES:
            return False
        text = path.read_bytes()
    except OSError:
        return False
    return text.startswith((b"f ", b"f\t")) or b"\nf " in text or b"\nf\t" in text
