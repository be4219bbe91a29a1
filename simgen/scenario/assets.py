"""Asset references: which file a scenario's `asset:` string names, and whether it may.

Forms:
- `pybullet:<path>`  a file inside PyBullet's `pybullet_data` package;
- `assets:<path>`    a file in the project's `assets/` folder (procedural assets are built on
                     first use, see `simgen.procedural`);
- anything else      a path relative to the scenario file's folder (or absolute).

Whatever the form, the resolved file (symbolic links followed) must lie inside one of the allowed
roots: the scenario's folder, the project `assets/`, `pybullet_data`, and roots the user adds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

SUPPORTED_SUFFIXES = (".urdf",)


class AssetError(ValueError):
    """The reference cannot be used; the message says why."""


def pybullet_data_root() -> Path:
    import pybullet_data  # a data-only package: importing it does not import pybullet

    return Path(pybullet_data.getDataPath()).resolve()


def project_assets_root() -> Path:
    from simgen.procedural import project_assets_root as root

    return root()


def resolve_asset(ref: str, scenario_dir: Path, extra_roots: Sequence[Path] = ()) -> Path:
    """Return the absolute path `ref` names; raise AssetError if missing or not allowed."""
    if ref.startswith("pybullet:"):
        base, rel = pybullet_data_root(), ref[len("pybullet:"):]
    elif ref.startswith("assets:"):
        base, rel = project_assets_root(), ref[len("assets:"):]
    else:
        base, rel = scenario_dir.resolve(), ref
    if not rel:
        raise AssetError(f"empty asset path (got {ref!r})")
    candidate = base / rel
    if ref.startswith("assets:") and not candidate.exists():
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
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise AssetError(f"unsupported asset type {path.suffix!r} (got {ref!r}); "
                         f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    return path
