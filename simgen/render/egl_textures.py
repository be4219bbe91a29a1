"""The textures a URDF's meshes name, loaded once per EGL client rather than once per scene.

PyBullet's EGL plugin decodes and uploads the texture an OBJ's material file names (`map_Kd`)
every time a body is loaded, and never frees it (resetSimulation empties its lists, not the GL
renderer's). Every scene starts from resetSimulation, so every scene paid for the table's
1024 x 768 texture again (measured on tabletop: the table loads in 9.8 ms on EGL against 2.7 ms
on TinyRenderer, and the plugin grows by 9.5 MiB a scene, so a worker needs a new client every
~50 scenes; see simgen.sim.world.World.restart_every).

So on EGL a URDF whose meshes carry textures is loaded from a twin: the same file with its
visual meshes read from copies whose material file names no texture (collision meshes and
everything else read from the original files), and each texture is loaded once, when the
renderer starts, into a texture slot of the world (World.texture_slots), then given to the links
that drew it with changeVisualShape. What a scene draws is the same, byte for byte (tested on
the shipped scenarios EGL renders); the physics reads the same collision files. Measured on
tabletop: loading a scene's bodies took 27.8 ms, 17.0 with the set twinned; with the objects too
(a jenga block's 1024 x 1024 texture was 7-10 ms of every load of it), about 2.5 ms an image
less end to end.

The plugin hands a texture given after loading to the GL shape whose index equals the body's
instance index, which is the body's own shape only while the scene's shapes and instances are
in step (measured: a jenga block given its texture this way stayed untextured in one scene of
four). simgen.render.egl_meshes follows that (`MeshVariants.in_order`): a body loads from its
twin only while it holds, else as it is, with the plugin reading its texture.

Only what can be given back exactly is twinned: OBJ meshes whose material file names one
texture, inside the mesh's folder, and links whose visuals all draw that same texture
(changeVisualShape textures a whole link). Anything else loads as it always did.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

# A URDF, OBJ or MTL larger than this is loaded as it is, never copied.
MAX_TWIN_FILE_BYTES = 64 * 1024**2


@dataclass(frozen=True)
class Twin:
    """Where to load a URDF from on EGL, and the texture each link is then given."""

    urdf_path: str
    link_textures: tuple[tuple[str, str], ...]   # (link name, texture file), in file order

    @property
    def textures(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(texture for _, texture in self.link_textures))


def make_twins(urdf_paths: list[str], folder: Path) -> dict[str, Twin]:
    """{URDF path: its Twin} for every URDF in `urdf_paths` that draws a texture and can be
    twinned; the twins' files are written under `folder`."""
    twins: dict[str, Twin] = {}
    for path in urdf_paths:
        if path in twins or not path.lower().endswith(".urdf"):
            continue
        twin = _twin(Path(path), folder / hashlib.sha256(path.encode()).hexdigest()[:16])
        if twin is not None:
            twins[path] = twin
    return twins


def _read_text(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_TWIN_FILE_BYTES:
            return None
        return path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None


@dataclass(frozen=True)
class Mesh:
    """An OBJ as read once: its text, the material file it names and that file's text, and
    the one texture the material draws (None: no texture)."""

    obj_text: str
    mtllib: str | None
    mtl_text: str | None
    texture: str | None


def read_mesh(obj: Path) -> Mesh | None:
    """The OBJ `obj`, or None when it cannot be twinned (unreadable, several material files or
    textures, a material file or texture outside the mesh's folder, a texture missing)."""
    text = _read_text(obj)
    if text is None:
        return None
    libs = [line.split(None, 1)[1].strip() for line in text.splitlines()
            if line.startswith("mtllib") and len(line.split(None, 1)) == 2]
    if not libs:
        return Mesh(text, None, None, None)
    if len(set(libs)) > 1:
        return None
    folder = obj.parent.resolve()
    mtl = (obj.parent / libs[0]).resolve()
    if not mtl.is_relative_to(folder):   # read only inside the mesh's folder, links followed
        return None
    mtl_text = _read_text(mtl)
    if mtl_text is None:   # PyBullet finds no material file either: nothing is drawn
        return Mesh(text, libs[0], None, None)
    names = {line.split()[-1] for line in mtl_text.splitlines()
             if line.strip().startswith("map_Kd") and len(line.split()) >= 2}
    if len(names) > 1:
        return None
    if not names:
        return Mesh(text, libs[0], mtl_text, None)
    texture = (obj.parent / names.pop()).resolve()
    if not texture.is_file() or not texture.is_relative_to(folder):
        return None
    return Mesh(text, libs[0], mtl_text, str(texture))


def write_mesh_copy(mesh: Mesh, copy: Path, texture: str | None) -> None:
    """Write `mesh` to `copy` with a material of its own beside it (copy.mtl) that draws
    `texture` (a file name in copy's folder), or no texture when None."""
    material = copy.with_suffix(".mtl")
    draws = f"map_Kd {texture}\n" if texture is not None else ""
    material.write_text("".join(draws if line.strip().startswith("map_Kd") else line
                                for line in mesh.mtl_text.splitlines(keepends=True)),
                        encoding="utf-8", errors="surrogateescape")
    copy.write_text("".join(f"mtllib {material.name}\n" if line.startswith("mtllib")
                            else line for line in mesh.obj_text.splitlines(keepends=True)),
                    encoding="utf-8", errors="surrogateescape")


def _twin(urdf: Path, folder: Path) -> Twin | None:
    text = _read_text(urdf)
    if text is None:
        return None
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError):
        return None
    if root.tag != "robot" or any(el.tag == "texture" for el in root.iter()):
        return None
    base = urdf.parent
    link_textures: list[tuple[str, str]] = []
    meshes: dict[str, Mesh | None] = {}   # each mesh file read once, however many visuals
    copies: dict[str, tuple[Mesh, Path]] = {}   # textured visual mesh name -> (mesh, copy)
    twinned: set[int] = set()   # ids of the <mesh> elements that now name a copy
    for link in root.iter("link"):
        drawn = set()
        for visual in link.findall("visual"):
            element = visual.find("geometry/mesh")
            name = element.get("filename", "") if element is not None else ""
            if not name.lower().endswith(".obj") or "://" in name:
                drawn.add(None)
                continue
            if name not in meshes:
                meshes[name] = read_mesh(base / name)
            mesh = meshes[name]
            if mesh is None:
                return None
            drawn.add(mesh.texture)
            if mesh.texture is not None:
                if name not in copies:
                    copies[name] = (mesh, folder / f"{len(copies)}_{Path(name).name}")
                element.set("filename", str(copies[name][1]))
                twinned.add(id(element))
        textures = drawn - {None}
        if len(textures) > 1 or (textures and None in drawn):
            return None   # a link drawn partly with another texture, or partly without
        if textures:
            link_textures.append((link.get("name", ""), textures.pop()))
    if not link_textures:
        return None
    for element in root.iter():   # everything else from the original files
        name = element.get("filename")
        if not name or id(element) in twinned:
            continue
        if "://" in name:
            return None
        element.set("filename", str((base / name).resolve()))
    folder.mkdir(parents=True, exist_ok=True)
    for mesh, copy in copies.values():
        write_mesh_copy(mesh, copy, None)
    twin_urdf = folder / urdf.name
    twin_urdf.write_bytes(ET.tostring(root, encoding="utf-8"))
    return Twin(str(twin_urdf), tuple(link_textures))
