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

from pathlib import Path
from typing import Sequence

BODY_SUFFIXES = (".urdf", ".sdf")
TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")
SUPPORTED_SUFFIXES = BODY_SUFFIXES


class AssetError(ValueError):
    """The reference cannot be used; the message says why."""


def pybullet_data_root() -> Path:
    import pybullet_data  # a data-only package: importing it does not import pybullet

    return Path(pybullet_data.getDataPath()).resolve()


def project_assets_root() -> Path:
    from simgen.procedural import project_assets_root as root

    return root()


def _split(ref: str, scenario_dir: Path) -> tuple[str, Path, str]:
    """(prefix, base folder, path inside it) of a reference."""
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


def expand_pattern(ref: str, scenario_dir: Path) -> list[str]:
    """A reference with `*` or `?` becomes the sorted references it matches (else [ref])."""
    if not any(c in ref for c in "*?["):
        return [ref]
    prefix, base, rel = _split(ref, scenario_dir)
    if prefix == "assets:":
        from simgen.procedural import ensure_project_assets

        ensure_project_assets()
    matches = sorted(p.relative_to(base).as_posix() for p in base.glob(rel) if p.is_file())
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
    path = candidate.resolve()
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
    return path


def urdf_joints(path: Path) -> list[tuple[str, str, float, float]]:
    """(name, type, lower, upper) of every movable joint of a URDF, in file order.

    Read from the XML so joint limits can be checked, and joint values drawn, without PyBullet.
    Continuous joints get (-pi, pi)."""
    import math
    import xml.etree.ElementTree as ET

    joints = []
    for joint in ET.parse(path).getroot().iter("joint"):
        kind = joint.get("type", "")
        if kind not in ("revolute", "prismatic", "continuous"):
            continue
        limit = joint.find("limit")
        if kind == "continuous" or limit is None:
            lower, upper = -math.pi, math.pi
        else:
            lower, upper = float(limit.get("lower", 0.0)), float(limit.get("upper", 0.0))
        if upper < lower:  # some models (husky's wheels) leave limits unset: treat as free
            lower, upper = -math.pi, math.pi
        joints.append((joint.get("name", ""), kind, lower, upper))
    return joints
