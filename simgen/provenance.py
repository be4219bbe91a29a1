"""What made a dataset: versions of simgen and of the packages whose behaviour shapes the bytes."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("pybullet", "numpy", "opencv-python-headless", "albumentations", "pycocotools",
            "scipy", "pydantic", "PyYAML")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
