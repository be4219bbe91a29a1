"""What made a dataset: versions of simgen and of the packages whose behaviour shapes the bytes."""

from __future__ import annotations

import hashlib
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# trimesh writes the bodies of mesh file assets (simgen.scenario.meshes) and the BOP models.
PACKAGES = ("pybullet", "numpy", "opencv-python-headless", "albumentations", "pycocotools",
            "scipy", "pydantic", "PyYAML", "trimesh")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """sha256 over simgen's own source files (path and bytes of every .py, sorted): the version
    number does not move with every change, and a change of code is what most often explains
    a re-made image that differs from the stored one."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
