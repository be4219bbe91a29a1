#!/usr/bin/env python3
"""Write simgen's procedural assets: `python3 scripts/make_assets.py [--root DIR]`.

Writes the industrial parts (parts/<name>.urdf, their cylinders' .obj), the household/warehouse
objects (objects/<name>.urdf + .obj), the textures (textures/<name>.png), the example user meshes
(meshes/: an STL in mm, a GLB, an OBJ with MTL and texture) and catalog.yaml, and prints
each path written. Without --root the files go to the repository's assets/ folder, which is where
simgen looks for them; simgen also builds them itself on first use. The output is the same bytes
on every run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

try:
    from simgen.procedural import build_assets, project_assets_root
except ImportError:  # Run from a checkout without `pip install -e .`: use the repo next door.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from simgen.procedural import build_assets, project_assets_root


def main(argv: list[str] | None = None) -> int:
    """Build the assets and print each path written; returns the exit code."""
    parser = argparse.ArgumentParser(
        description="Generate simgen's procedural assets: part and object URDFs, OBJ meshes, "
                    "PNG textures and catalog.yaml.")
    parser.add_argument("--root", type=Path, default=None,
                        help="assets folder to write into (default: the repository's assets/)")
    args = parser.parse_args(argv)
    for path in build_assets(args.root if args.root is not None else project_assets_root()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
