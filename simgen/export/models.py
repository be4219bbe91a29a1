"""Object models as pose estimators take them: the visual mesh of an asset at a scale, in the
frame simgen's pose labels give (the body's centre of mass, as PyBullet reports a base), in
millimetres, written as PLY.

The mesh is what PyBullet draws: every visual shape of every link (OBJ or STL meshes, boxes,
spheres, cylinders, capsules), with the URDF's mesh scale, the scenario's scale and each
visual's own frame, read back from PyBullet itself (getVisualShapeData) with the body loaded at
the origin, so the model and the rendered silhouette agree (the Cycles renderer rebuilds scenes
the same way). Meshes are read by trimesh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simgen.errors import SimgenError

PRIMITIVE_SECTIONS = 48


@dataclass(frozen=True)
class Model:
    vertices_mm: np.ndarray   # (N, 3) float64, in the body's centre-of-mass frame
    faces: np.ndarray         # (M, 3) int64
    # The asset's own frame (its URDF base link, or the mesh file's axes) in the model frame,
    # 4x4 with translation in mm: what turns a symmetry declared on the asset into the model's.
    asset_in_model: np.ndarray = field(default_factory=lambda: np.eye(4))

    def symmetry_in_model(self, transform_mm: np.ndarray) -> np.ndarray:
        """A rigid transform of the asset's frame (mm) as the same motion of the model."""
        A = self.asset_in_model
        return A @ transform_mm @ np.linalg.inv(A)

    def info(self) -> dict[str, float]:
        """BOP's models_info fields: the box and the diameter (largest distance between two
        vertices, taken over the convex hull's vertices)."""
        from scipy.spatial import ConvexHull
        from scipy.spatial.distance import pdist

        lo, hi = self.vertices_mm.min(axis=0), self.vertices_mm.max(axis=0)
        try:
            hull = self.vertices_mm[ConvexHull(self.vertices_mm).vertices]
        except Exception:   # flat or degenerate: every vertex
            hull = self.vertices_mm
        return {"diameter": float(pdist(hull).max()) if len(hull) > 1 else 0.0,
                "min_x": float(lo[0]), "min_y": float(lo[1]), "min_z": float(lo[2]),
                "size_x": float(hi[0] - lo[0]), "size_y": float(hi[1] - lo[1]),
                "size_z": float(hi[2] - lo[2])}


def body_model(path: str | Path, scale: float) -> Model:
    """The model of the URDF (or SDF's first body) at `path` loaded with globalScaling `scale`."""
    import pybullet as pb
    from pybullet_utils import bullet_client

    from simgen.render.cycles import (GEOM_BOX, GEOM_CAPSULE, GEOM_CYLINDER, GEOM_MESH,
                                      GEOM_SPHERE, _link_frame, _pose_matrix)
    from simgen.sim.quiet import c_output_silenced
    from simgen.sim.world import load_flags

    with c_output_silenced():   # PyBullet prints on connecting
        client = bullet_client.BulletClient(connection_mode=pb.DIRECT)
    try:
        with c_output_silenced():
            if str(path).endswith(".sdf"):
                uid = client.loadSDF(str(path), globalScaling=scale)[0]
            else:   # the world's flags: the same centre-of-mass frame as the pose labels
                uid = client.loadURDF(str(path), globalScaling=scale, flags=load_flags(pb))
        # The base's centre of mass at the origin: the frame pose labels give.
        client.resetBasePositionAndOrientation(uid, (0, 0, 0), (0, 0, 0, 1))
        parts = []
        cid = client._client
        links: dict[int, np.ndarray] = {-1: _link_frame(pb, cid, uid, -1)}
        asset_in_model = links[-1].copy()
        asset_in_model[:3, 3] *= 1000.0
        for shape in client.getVisualShapeData(uid):
            _, link, kind, dims, mesh, local_pos, local_orn = shape[:7]
            if link not in links:
                links[link] = _link_frame(pb, cid, uid, link)
            T = links[link] @ _pose_matrix(local_pos, local_orn)
            if kind == GEOM_MESH:
                mesh = mesh.decode() if isinstance(mesh, bytes) else mesh
                vertices, faces = _mesh_file(Path(mesh))
                vertices = vertices * np.asarray(dims[:3], float)
            elif kind in (GEOM_BOX, GEOM_SPHERE, GEOM_CYLINDER, GEOM_CAPSULE):
                vertices, faces = _primitive(kind, dims)
            else:
                continue
            parts.append((vertices @ T[:3, :3].T + T[:3, 3], faces))
    finally:
        client.disconnect()
    if not parts:
        raise SimgenError(f"{path}: has no visual mesh to make a model of")
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    vertices = np.concatenate([v for v, _ in parts]) * 1000.0
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets)])
    return Model(vertices.astype(np.float64), faces.astype(np.int64), asset_in_model)


def _mesh_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A visual mesh file PyBullet loaded, read as mesh assets are (bounded, regular)."""
    from simgen.scenario.meshes import MeshError, load_mesh

    try:
        mesh = load_mesh(path)
    except MeshError as err:
        raise SimgenError(f"{path}: {err}") from None
    return np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)


def _primitive(kind: int, dims: Any) -> tuple[np.ndarray, np.ndarray]:
    """A box (dims: full extents), sphere (dims[0]: radius), cylinder or capsule (dims[0]:
    length, dims[1]: radius) about its own origin, as PyBullet's shapes are."""
    import trimesh

    from simgen.render.cycles import GEOM_BOX, GEOM_CYLINDER, GEOM_SPHERE

    if kind == GEOM_BOX:
        mesh = trimesh.creation.box(extents=dims[:3])
    elif kind == GEOM_SPHERE:
        mesh = trimesh.creation.uv_sphere(radius=dims[0], count=[PRIMITIVE_SECTIONS // 2,
                                                                 PRIMITIVE_SECTIONS])
    elif kind == GEOM_CYLINDER:
        mesh = trimesh.creation.cylinder(radius=dims[1], height=dims[0],
                                         sections=PRIMITIVE_SECTIONS)
    else:
        mesh = trimesh.creation.capsule(radius=dims[1], height=dims[0],
                                        count=[PRIMITIVE_SECTIONS, PRIMITIVE_SECTIONS // 2])
    return np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)


def ply_bytes(model: Model) -> bytes:
    """Binary little-endian PLY (x, y, z as float32 in mm; triangles), the same bytes for the
    same model: bop_toolkit's inout.load_ply and trimesh read it."""
    vertices = model.vertices_mm.astype("<f4")
    faces = np.empty(len(model.faces), dtype=[("n", "u1"), ("v", "<i4", (3,))])
    faces["n"], faces["v"] = 3, model.faces
    header = ("ply\nformat binary_little_endian 1.0\ncomment simgen model, millimetres, "
              "centre-of-mass frame\n"
              f"element vertex {len(vertices)}\nproperty float x\nproperty float y\n"
              f"property float z\nelement face {len(faces)}\n"
              "property list uchar int vertex_indices\nend_header\n")
    return header.encode("ascii") + vertices.tobytes() + faces.tobytes()
