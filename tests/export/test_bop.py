"""simgen export bop: read back, the BOP files agree with each other and with the pixels. Each
model, put where scene_gt says and projected with cam_K, covers its mask/ (the whole silhouette)
and lies inside bbox_obj; its depth is the depth image's where it is visible; the counts of
scene_gt_info are those of the masks; the same dataset gives the same bytes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import simgen
from simgen.errors import SimgenError
from simgen.export.bop import export_bop
from tests.conftest import REPO, RENDERERS_HERE, dataset_files

BOP_SETTINGS = ["image.width=320", "image.height=240", "outputs.depth=true",
                "labels.amodal_masks=true", "cycles.samples=4",
                "objects.0.symmetry={continuous: [{axis: [0, 0, 1]}]}"]


DEPTH_TOLERANCE_MM = {"tiny": 1.0, "egl": 2.0, "cycles": 1.0}


def _ply(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The vertices (mm) and triangles of a model, read with bop_toolkit's rules: a binary PLY
    with float x, y, z and uchar-counted int vertex lists."""
    data = path.read_bytes()
    header, body = data.split(b"end_header\n", 1)
    lines = header.decode().splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"]
    n_v = int(next(line for line in lines if line.startswith("element vertex")).split()[-1])
    n_f = int(next(line for line in lines if line.startswith("element face")).split()[-1])
    vertices = np.frombuffer(body[:12 * n_v], "<f4").reshape(n_v, 3).astype(float)
    faces = np.frombuffer(body[12 * n_v:], [("n", "u1"), ("v", "<i4", (3,))])
    assert len(faces) == n_f and (faces["n"] == 3).all()
    return vertices, faces["v"].astype(int)


def _rasterize(vertices_cam: np.ndarray, faces: np.ndarray, K: np.ndarray, w: int,
               h: int) -> np.ndarray:
    """Depth (mm, inf where empty) of a triangle mesh in camera coordinates, sampled at pixel
    centres (integer coordinates, as K), nearest surface kept."""
    depth = np.full((h, w), np.inf)
    uv = vertices_cam[:, :2] / vertices_cam[:, 2:3] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
    for tri in faces:
        p, z = uv[tri], vertices_cam[tri, 2]
        if (z <= 0).any():
            continue
        x0, y0 = np.maximum(np.floor(p.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(p.max(axis=0)).astype(int), [w - 1, h - 1])
        if x1 < x0 or y1 < y0:
            continue
        xs, ys = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        (ax, ay), (bx, by), (cx, cy) = p
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        if abs(area) < 1e-12:
            continue
        w0 = ((bx - xs) * (cy - ys) - (by - ys) * (cx - xs)) / area
        w1 = ((cx - xs) * (ay - ys) - (cy - ys) * (ax - xs)) / area
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        zz = 1.0 / (w0 / z[0] + w1 / z[1] + w2 / z[2])   # 1/z is linear on the screen
        region = depth[y0:y1 + 1, x0:x1 + 1]
        np.copyto(region, np.minimum(region, np.where(inside, zz, np.inf)))
    return depth


@pytest.fixture(scope="module", params=RENDERERS_HERE)
def exported(request, tmp_path_factory):
    scene = "bin_picking" if request.param == "cycles" else "tabletop"
    out = tmp_path_factory.mktemp("bop")
    dataset = out / "ds"
    images = 4 if request.param == "cycles" else 8
    simgen.generate(simgen.load_scenario(scene, BOP_SETTINGS), dataset, images=images, seed=0,
                    renderer=request.param)
    export_bop(dataset, out / "bop")
    return dataset, out / "bop", request.param


def test_models_posed_by_scene_gt_cover_their_masks(exported):
    dataset, bop, renderer = exported
    infos = json.loads((bop / "models" / "models_info.json").read_text())
    models = {int(k): _ply(bop / "models" / f"obj_{int(k):06d}.ply") for k in infos}
    checked = 0
    for scene in sorted(bop.glob("*_pbr/*")):
        cameras = json.loads((scene / "scene_camera.json").read_text())
        gts = json.loads((scene / "scene_gt.json").read_text())
        gt_infos = json.loads((scene / "scene_gt_info.json").read_text())
        for im_id, gt in gts.items():
            K = np.array(cameras[im_id]["cam_K"]).reshape(3, 3)
            depth = cv2.imread(str(scene / "depth" / f"{int(im_id):06d}.png"),
                               cv2.IMREAD_UNCHANGED) * cameras[im_id]["depth_scale"]
            h, w = depth.shape
            for gt_id, (pose, info) in enumerate(zip(gt, gt_infos[im_id])):
                vertices, faces = models[pose["obj_id"]]
                R = np.array(pose["cam_R_m2c"]).reshape(3, 3)
                cam = vertices @ R.T + np.array(pose["cam_t_m2c"])
                name = f"{int(im_id):06d}_{gt_id:06d}.png"
                mask = cv2.imread(str(scene / "mask" / name), cv2.IMREAD_GRAYSCALE) > 0
                visib = cv2.imread(str(scene / "mask_visib" / name), cv2.IMREAD_GRAYSCALE) > 0
                assert not (visib & ~mask).any()
                assert info["px_count_all"] == mask.sum()
                assert info["px_count_visib"] == visib.sum()
                assert info["visib_fract"] == pytest.approx(visib.sum() / mask.sum(), abs=1e-6)
                # Every vertex projects inside bbox_obj, whose pixels span x - 0.5 .. x + w -
                # 0.5 (centres at integers), give or take the pixel a silhouette's edge can
                # reach past the last pixel centre it covers (measured: at most 0.8 px).
                uv = cam[:, :2] / cam[:, 2:3] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
                x, y, bw, bh = info["bbox_obj"]
                assert (uv[:, 0] >= x - 1.5).all() and (uv[:, 0] <= x + bw + 0.5).all()
                assert (uv[:, 1] >= y - 1.5).all() and (uv[:, 1] <= y + bh + 0.5).all()
                if mask.sum() < 200:   # too small for a silhouette IoU to mean much
                    continue
                model_depth = _rasterize(cam, faces, K, w, h)
                silhouette = np.isfinite(model_depth)
                iou = (silhouette & mask).sum() / (silhouette | mask).sum()
                assert iou >= 0.97, (renderer, scene.name, im_id, gt_id, iou)
                # Where the object is seen, the depth image is the model's depth: within the
                # millimetre simgen's depth PNG rounds to (EGL's depth buffer adds up to about
                # another; measured 99th percentiles: tiny 0.50 mm, EGL 1.28 mm at 1.2 m).
                seen = visib & silhouette & (depth > 0)
                error = np.abs(depth[seen] - model_depth[seen])
                assert np.percentile(error, 99) <= DEPTH_TOLERANCE_MM[renderer], (
                    renderer, im_id, gt_id, np.percentile(error, 99))
                checked += 1
    assert checked >= 4


def test_bop_files_and_symmetries(exported):
    dataset, bop, _ = exported
    camera = json.loads((bop / "camera.json").read_text())
    assert set(camera) == {"cx", "cy", "depth_scale", "fx", "fy", "height", "width"}
    infos = json.loads((bop / "models" / "models_info.json").read_text())
    mapping = json.loads((bop / "models" / "simgen_models.json").read_text())
    assert set(infos) == set(mapping)
    for obj_id, info in infos.items():
        assert {"diameter", "min_x", "min_y", "min_z", "size_x", "size_y", "size_z"} <= set(info)
        assert info["diameter"] >= max(info["size_x"], info["size_y"], info["size_z"]) - 1e-6
        # objects[0]'s group declared a continuous symmetry about z; no other group did.
        group_0 = mapping[obj_id]["category_id"] == 1
        assert ("symmetries_continuous" in info) == group_0
        if group_0:   # declared about the asset's z axis; the model frame is its centre of
            # mass, on that axis for the mug and the bolt (their z axes stay z)
            (sym,) = info["symmetries_continuous"]
            assert sym["axis"] == pytest.approx([0, 0, 1], abs=1e-6)
            assert sym["offset"][:2] == pytest.approx([0, 0], abs=1e-6)
    # One model per (asset, scale): every instance of the same asset and scale shares it.
    keys = [(m["asset"], m["scale"]) for m in mapping.values()]
    assert len(keys) == len(set(keys))
    from pycocotools.coco import COCO

    for scene in sorted(bop.glob("*_pbr/*")):
        coco = COCO(str(scene / "scene_gt_coco.json"))
        gts = json.loads((scene / "scene_gt.json").read_text())
        assert len(coco.anns) == sum(len(v) for v in gts.values())
        assert set(coco.imgs) == {int(k) for k in gts}
        for ann in coco.anns.values():
            assert str(ann["category_id"]) in infos


def test_the_same_dataset_exports_the_same_bytes(exported, tmp_path):
    dataset, bop, _ = exported
    export_bop(dataset, tmp_path / "again")
    assert dataset_files(tmp_path / "again") == dataset_files(bop)


def test_bop_export_refuses_what_it_cannot_make_exact(tmp_path, make_dataset):
    plain = make_dataset(REPO / "scenes/tabletop.yaml", images=4)   # no amodal masks, no depth
    with pytest.raises(SimgenError, match="labels.amodal_masks"):
        export_bop(plain, tmp_path / "a")
    depthless = make_dataset(REPO / "scenes/tabletop.yaml", images=4,
                             overrides=("image.width=160", "image.height=120",
                                        "labels.amodal_masks=true"))
    with pytest.raises(SimgenError, match="outputs.depth"):
        export_bop(depthless, tmp_path / "b")
    flipped = make_dataset(REPO / "scenes/tabletop.yaml", images=4, overrides=(
        "image.width=160", "image.height=120", "labels.amodal_masks=true", "outputs.depth=true",
        "augment={pipeline: [{HorizontalFlip: {p: 1}}]}"))
    with pytest.raises(SimgenError, match="moves pixels"):
        export_bop(flipped, tmp_path / "c")
    assert not any(tmp_path.iterdir())
    # The CLI: one line, exit 2; a non-empty folder that is no BOP export is never replaced.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "keep.txt").write_text("x")
    good = make_dataset(REPO / "scenes/tabletop.yaml", images=4, overrides=(
        "image.width=160", "image.height=120", "labels.amodal_masks=true", "outputs.depth=true"))
    for target, extra in ((tmp_path / "d", []), (tmp_path / "mine", ["--overwrite"])):
        source = plain if target.name == "d" else good
        proc = subprocess.run([sys.executable, "-m", "simgen", "export", "bop", str(source),
                               "-o", str(target), *extra], capture_output=True, text=True)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert (tmp_path / "mine" / "keep.txt").read_text() == "x"
    proc = subprocess.run([sys.executable, "-m", "simgen", "export", "bop", str(good), "-o",
                           str(tmp_path / "e")], capture_output=True, text=True)
    assert proc.returncode == 0 and "object poses" in proc.stdout, proc.stderr


def test_a_symmetry_declared_on_the_asset_is_one_of_the_model(tmp_path, monkeypatch):
    """A symmetry is declared in the asset's own frame; BOP's models_info needs it in the model
    frame (centre of mass, principal axes). A box whose mesh origin is off its centre and which
    is turned in its file: its 180-degree turn about its own long axis, moved into the model
    frame, maps the model's vertices onto themselves."""
    import trimesh

    from simgen.export.bop import _symmetries
    from simgen.export.models import body_model
    from simgen.scenario.meshes import mesh_urdf
    from simgen.scenario.schema import MeshSpec, SymmetrySpec

    monkeypatch.setenv("SIMGEN_MESH_CACHE", str(tmp_path / "cache"))
    box = trimesh.creation.box(extents=[0.08, 0.03, 0.02])
    turn = trimesh.transformations.rotation_matrix(0.5, [0, 0, 1], point=[0, 0, 0])
    turn[:3, 3] = [0.03, 0.01, 0.0]   # its centre at (30, 10, 0) mm, turned 0.5 rad about z
    box.apply_transform(turn)
    box.export(tmp_path / "box.stl")
    model = body_model(mesh_urdf(tmp_path / "box.stl", MeshSpec()), 1.0)
    # 180 degrees about the box's long axis, in the file's frame (mm).
    axis = turn[:3, :3] @ [1.0, 0, 0]
    flip = trimesh.transformations.rotation_matrix(np.pi, axis, point=turn[:3, 3] * 1000)
    declared = SymmetrySpec(discrete=[flip.ravel().tolist()],
                            continuous=[{"axis": axis.tolist(),
                                         "offset_mm": (turn[:3, 3] * 1000).tolist()}])
    info = _symmetries(declared, model, 1.0)
    S = np.array(info["symmetries_discrete"][0]).reshape(4, 4)
    moved = model.vertices_mm @ S[:3, :3].T + S[:3, 3]
    distance = np.linalg.norm(moved[:, None] - model.vertices_mm[None], axis=2).min(axis=1)
    assert distance.max() < 1e-3                       # the same vertex set
    assert not np.allclose(S[:3, :3], flip[:3, :3])     # ... which the file's matrix is not
    # The continuous axis passes through the box's centre, which is the model's origin.
    (sym,) = info["symmetries_continuous"]
    axis_m, offset = np.array(sym["axis"]), np.array(sym["offset"])
    assert np.linalg.norm(np.cross(axis_m, -offset)) < 1e-3


def test_a_tampered_or_linked_dataset_file_is_refused(tmp_path, make_dataset):
    """The export reads each image and depth file inside the dataset, regular, and as its
    manifest lists it: a depth file turned into a link out of the dataset, or edited, is
    refused with one line and nothing is written."""
    import shutil

    good = make_dataset(REPO / "scenes/tabletop.yaml", images=4, overrides=(
        "image.width=160", "image.height=120", "labels.amodal_masks=true", "outputs.depth=true"))
    for how in ("link", "edit"):
        copy = tmp_path / f"ds_{how}"
        shutil.copytree(good, copy)
        depth = sorted((copy / "depth").rglob("*.png"))[0]
        outside = tmp_path / "outside.png"
        outside.write_bytes(depth.read_bytes())
        if how == "link":
            depth.unlink()
            depth.symlink_to(outside)
            match = "leads out of the dataset"
        else:
            depth.write_bytes(depth.read_bytes() + b"\0")
            match = "does not match"
        with pytest.raises(SimgenError, match=match) as info:
            export_bop(copy, tmp_path / f"bop_{how}")
        assert "\n" not in str(info.value)
        assert not (tmp_path / f"bop_{how}").exists()
