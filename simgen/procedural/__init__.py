"""Procedural assets: industrial parts, household/warehouse objects, textures, and their catalog.

- `parts`: bin-picking parts as text-only URDFs built from primitives (PART_NAMES);
- `meshes`: objects with OBJ visual meshes (normals, UVs) and URDFs (OBJECT_NAMES);
- `textures`: 256 x 256 PNG textures made with NumPy (TEXTURE_NAMES);
- `catalog`: catalog.yaml, `catalog_entry`, and building/refreshing an assets folder.

Everything is deterministic, byte for byte. Importing this package loads only the standard
library; NumPy, OpenCV and PyYAML load when textures or the catalog file are made.
"""

from __future__ import annotations

from simgen.procedural.catalog import (CATALOG_FILE, CATALOG_IDS, build_assets, catalog_entry,
                                       catalog_yaml, ensure_project_assets, project_assets_root,
                                       texture_path)
from simgen.procedural.meshes import OBJECT_NAMES, object_obj, object_urdf
from simgen.procedural.parts import PART_NAMES, part_size_m, part_urdf
from simgen.procedural.textures import TEXTURE_NAMES, texture_png, texture_rgb

__all__ = ["CATALOG_FILE", "CATALOG_IDS", "OBJECT_NAMES", "PART_NAMES", "TEXTURE_NAMES",
           "build_assets", "catalog_entry", "catalog_yaml", "ensure_project_assets",
           "object_obj", "object_urdf", "part_size_m", "part_urdf", "project_assets_root",
           "texture_path", "texture_png", "texture_rgb"]
