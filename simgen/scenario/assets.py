"""Asset references: which file a scenario's `asset:` string names, and whether it may.

Forms:
- `pybullet:<path>`  a file inside PyBullet's `pybullet_data` package;
- `assets:<path>`    a file in the project's `assets/` folder (procedural assets are built on
                     first use, see `simgen.procedural`);
- `catalog:<id>`     an object of the procedural catalog (`assets/catalog.yaml`), by id;
- anything else      a path relative to the scenario file's folder (or absolute).

Whatever the form, the resolved file (symbolic links followed) must lie inside one of the allowed
roots: the scenario's folder, the project `assets/`, `pybullet_data`, and roots the user adds.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Sequence

BODY_SUFFIXES = (".urdf", ".sdf")
TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
SUPPORTED_SUFFIXES = BODY_SUFFIXES
MAX_PATTERN_MATCHES = 10_000
# A texture is decoded into memory by the renderers (PyBullet keeps RGB and mipmaps): bounded.
MAX_TEXTURE_BYTES = 64 * 1024**2
MAX_TEXTURE_SIDE_PX = 8192


class AssetError(ValueError):
    """The reference cannot be used; the message says why."""


def pybullet_data_root() -> Path:
    import pybullet_data  # a data-only package: importing it does not import pybullet

    return Path(pybullet_data.getDataPath()).resolve()


def project_assets_root() -> Path:
    from simgen.procedural import project_assets_root as root

    return root()


# A path longer than this is no asset reference (Linux allows 4096 bytes in a whole path).
MAX_REF_CHARS = 4096


def _split(ref: str, scenario_dir: Path) -> tuple[str, Path, str]:
    """(prefix, base folder, path inside it) of a reference."""
    if len(ref) > MAX_REF_CHARS:
        raise AssetError(f"an asset reference is at most {MAX_REF_CHARS} characters "
                         f"(got {len(ref)})")
    if any(ord(c) < 32 or ord(c) == 127 for c in ref):
        # A NUL ends a path for the OS (Python refuses it with a ValueError), a newline
        # forges log and error lines: no file name needs them.
        raise AssetError(f"an asset reference may not hold control characters (got {ref!r})")
    if ref.startswith("catalog:"):
        from simgen.procedural import catalog_entry

        try:
            return "catalog:", project_assets_root(), catalog_entry(ref[len("catalog:"):])["file"]
        except KeyError as err:
            raise AssetError(err.args[0]) from None
    for prefix, root in (("pybullet:", pybullet_data_root), ("assets:", project_assets_root)):
        if ref.startswith(prefix):
            return prefix, root(), ref[len(prefix):]
    return "", scenario_dir.resolve(), ref


def asset_stem(ref: str) -> str:
    """The file name of an asset reference without its folder, prefix and last suffix
    (`pybullet:objects/mug.urdf` -> `mug`): a body's default name, a "{file}" category."""
    name = ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name.rsplit(".", 1)[0]


def expand_pattern(ref: str, scenario_dir: Path) -> list[str]:
    """A reference with `*` or `?` becomes the sorted references it matches (else [ref]).

    A pattern is searched only inside its own folder (pybullet_data, the project assets/, or
    the scenario's folder): it must be relative and may not climb out with `..`, and it may
    match at most MAX_PATTERN_MATCHES files (a pattern walking a whole disk is refused, not
    run for minutes)."""
    if not any(c in ref for c in "*?["):
        return [ref]
    prefix, base, rel = _split(ref, scenario_dir)
    parts = PurePosixPath(rel).parts
    if not rel or rel.startswith(("/", "\\")) or ".." in parts or "\\" in rel:
        raise AssetError(f"a pattern must be a relative path inside its folder, without '..' "
                         f"(got {ref!r})")
    if prefix == "assets:":
        from simgen.procedural import ensure_project_assets

        ensure_project_assets()
    matches = []
    for path in base.glob(rel):
        if path.is_file():
            matches.append(path.relative_to(base).as_posix())
            if len(matches) > MAX_PATTERN_MATCHES:
                raise AssetError(f"{ref!r} matches more than {MAX_PATTERN_MATCHES} files; "
                                 "narrow the pattern")
    matches.sort()
    if not matches:
        raise AssetError(f"no asset matches {ref!r} (looked in {base})")
    return [prefix + m for m in matches]


def resolve_asset(ref: str, scenario_dir: Path, extra_roots: Sequence[Path] = (),
                  suffixes: Sequence[str] = BODY_SUFFIXES) -> Path:
    """Return the absolute path `ref` names; raise AssetError if missing or not allowed."""
    _, base, rel = _split(ref, scenario_dir)
    if not rel:
        raise AssetError(f"empty asset path (got {ref!r})")
    candidate = base / rel
    if ref.startswith(("assets:", "catalog:")) and not candidate.exists():
        from simgen.procedural import ensure_project_assets

        ensure_project_assets()
    try:
        path = candidate.resolve()
    except (OSError, RuntimeError) as err:   # a link loop, a name too long
        raise AssetError(f"cannot resolve {ref!r} ({getattr(err, 'strerror', None) or err})") from None
    roots = [scenario_dir.resolve(), project_assets_root().resolve(), pybullet_data_root(),
             *(Path(r).resolve() for r in extra_roots)]
    if not any(path.is_relative_to(root) for root in roots):
        raise AssetError(f"{ref!r} resolves to {path}, outside the allowed asset roots "
                         "(the scenario's folder, the project assets/, pybullet_data, and "
                         "roots added with --asset-root)")
    if not path.is_file():
        raise AssetError(f"asset not found: {ref!r} (looked for {path})")
    if path.suffix.lower() not in suffixes:
        raise AssetError(f"unsupported asset type {path.suffix!r} (got {ref!r}); "
                         f"supported here: {', '.join(suffixes)}")
    if path.suffix.lower() in BODY_SUFFIXES:
        check_model_files(path, roots)
    return path


def check_texture(path: Path) -> None:
    """AssetError unless `path` is a PNG or JPEG of bounded size that decodes."""
    size = path.stat().st_size
    if size > MAX_TEXTURE_BYTES:
        raise AssetError(f"texture {path.name} is {size} bytes, more than {MAX_TEXTURE_BYTES}")
    data = path.read_bytes()
    from simgen.dataset.images import image_size

    dims = image_size(data)
    if dims is None:
        raise AssetError(f"texture {path.name} is not a PNG or JPEG image")
    if max(dims) > MAX_TEXTURE_SIDE_PX or min(dims) < 1:
        raise AssetError(f"texture {path.name} is {dims[0]} x {dims[1]} pixels; at most "
                         f"{MAX_TEXTURE_SIDE_PX} a side")
    import cv2
    import numpy as np

    if cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) is None:
        raise AssetError(f"texture {path.name} does not decode")


MAX_MODEL_BYTES = 64 * 1024**2   # a URDF or SDF is XML text


def check_model_files(path: Path, roots: Sequence[Path]) -> None:
    """AssetError unless every file a URDF or SDF names (meshes, textures) lies inside `roots`,
    links followed: PyBullet would otherwise read a mesh at any absolute path, or climb out with
    `..`. Paths resolve against the model's folder, as PyBullet resolves them."""
    import xml.etree.ElementTree as ET

    if path.stat().st_size > MAX_MODEL_BYTES:
        raise AssetError(f"{path.name} is larger than {MAX_MODEL_BYTES} bytes")
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, ValueError) as err:
        raise AssetError(f"{path.name} is not valid XML ({err})") from None
    names = [el.get("filename", "") for el in root.iter() if el.get("filename")]
    names += [(el.text or "").strip() for el in root.iter("uri")]
    resolved_roots = [Path(r).resolve() for r in roots]
    for name in names:
        for scheme in ("package://", "model://", "file://"):
            if name.startswith(scheme):
                name = name[len(scheme):]
        if not name:
            continue
        target = (path.parent / name).resolve()
        if not any(target.is_relative_to(r) for r in resolved_roots):
            raise AssetError(f"{path.name} names {name!r}, which resolves to {target}, outside "
                             "the allowed asset roots")


def urdf_joints(path: Path) -> list[tuple[str, str, float, float]]:
    """(name, type, lower, upper) of every movable joint of a URDF, in file order.

    Read from the XML so joint limits can be checked, and joint values drawn, without PyBullet.
    Continuous joints get (-pi, pi)."""
    import math
    import xml.etree.ElementTree as ET

    joints = []
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, ValueError) as err:
        raise AssetError(f"{path.name} is not valid XML ({err})") from None
    for joint in root.iter("joint"):
        kind = joint.get("type", "")
        if kind not in ("revolute", "prismatic", "continuous"):
            continue
        limit = joint.find("limit")
        if kind == "continuous" or limit is None:
            lower, upper = -math.pi, math.pi
        else:
            try:
                lower, upper = float(limit.get("lower", 0.0)), float(limit.get("upper", 0.0))
            except ValueError:
                raise AssetError(f"{path.name}: joint {joint.get('name', '')!r} has limits that "
                                 f"are not numbers (lower={limit.get('lower')!r}, "
                                 f"upper={limit.get('upper')!r})") from None
            if not (math.isfinite(lower) and math.isfinite(upper)):
                raise AssetError(f"{path.name}: joint {joint.get('name', '')!r} has limits that "
                                 f"are not finite (lower={lower}, upper={upper})")
        if upper < lower:  # some models (husky's wheels) leave limits unset: treat as free
            lower, upper = -math.pi, math.pi
        joints.append((joint.get("name", ""), kind, lower, upper))
    return joints
