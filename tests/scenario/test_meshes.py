"""Mesh files as assets (OBJ with its MTL and texture, STL, PLY with vertex colours, GLB with a
base colour texture): each becomes a body of the right size in metres and the right colour in
the image; CAD units and up axes are applied; V-HACD runs once per mesh; a dataset made from
meshes verifies and re-makes bit for bit; and every bad mesh is refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pybullet
import pytest
import trimesh
from PIL import Image

import simgen
from simgen.errors import ScenarioError
from simgen.label import mask_of
from tests.conftest import RENDERERS_HERE

GREEN = np.zeros((64, 64, 3), np.uint8)
GREEN[:] = (30, 170, 40)


def _write_meshes(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # A CAD export in millimetres: 40 x 30 x 20 mm.
    trimesh.creation.box(extents=[40, 30, 20]).export(folder / "block_mm.stl")
    ball = trimesh.creation.icosphere(subdivisions=2, radius=0.03)
    ball.visual.vertex_colors = np.tile([210, 30, 30, 255], (len(ball.vertices), 1))
    ball.export(folder / "ball.ply")
    # A glTF (y up) can, 100 mm tall, with a green base colour texture.
    can = trimesh.creation.cylinder(radius=0.03, height=0.1, sections=32)
    can.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    uv = np.c_[np.arctan2(can.vertices[:, 0], can.vertices[:, 2]) / (2 * np.pi) + 0.5,
               can.vertices[:, 1] / 0.1 + 0.5]
    can.visual = trimesh.visual.TextureVisuals(uv=uv, image=Image.fromarray(GREEN))
    can.export(folder / "can.glb")
    cube = trimesh.creation.box(extents=[0.05, 0.05, 0.05])
    cube.visual = trimesh.visual.TextureVisuals(
        uv=np.c_[cube.vertices[:, 0] / 0.05 + 0.5, cube.vertices[:, 1] / 0.05 + 0.5],
        image=Image.fromarray(GREEN))
    cube.export(folder / "cube.obj")   # cube.obj, material.mtl, material_0.png


SCENARIO = """
name: own
image: {width: 320, height: 240}
views_per_scene: 2
categories: [block_mm, ball, can, cube]
static:
  - {asset: "pybullet:plane.urdf"}
objects:
  - {asset: "*.stl", category: "{file}", mesh: {units: mm, mass_kg: 0.05},
     spawn: {box: {min: [-0.1, -0.1, 0.05], max: [-0.05, -0.05, 0.1]}}}
  - {asset: ball.ply, category: ball, spawn: {box: {min: [0.05, -0.1, 0.05], max: [0.1, -0.05, 0.1]}}}
  - {asset: can.glb, category: can, mesh: {up_axis: y, collision: decomposed},
     spawn: {box: {min: [-0.1, 0.05, 0.1], max: [-0.05, 0.1, 0.12]}}, orientation_deg: [0, 0, 0]}
  - {asset: cube.obj, category: cube, spawn: {box: {min: [0.05, 0.05, 0.05], max: [0.1, 0.1, 0.1]}}}
camera:
  fov_deg: 50
  look_at: [0, 0, 0.03]
  distance_m: 0.55
  elevation_deg: {uniform: [55, 70]}
  azimuth_deg: {uniform: [0, 360]}
"""


@pytest.fixture
def mesh_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMGEN_MESH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "scn"
    _write_meshes(folder)
    (folder / "own.yaml").write_text(SCENARIO)
    return folder


def _size(urdf: str) -> np.ndarray:
    """Extents in metres of the body's visual mesh, as PyBullet loads it (the file its URDF
    names, at the scale it gives)."""
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        uid = pybullet.loadURDF(urdf, physicsClientId=cid)
        (shape,) = pybullet.getVisualShapeData(uid, physicsClientId=cid)
        mesh = trimesh.load(shape[4].decode(), force="mesh", process=False)
        return np.asarray(mesh.extents) * np.asarray(shape[3])
    finally:
        pybullet.disconnect(cid)


def test_each_format_has_its_size_in_metres(mesh_dir):
    scenario = simgen.load_scenario(mesh_dir / "own.yaml")
    paths = scenario.asset_paths
    np.testing.assert_allclose(_size(paths["block_mm.stl"]), [0.04, 0.03, 0.02], atol=1e-6)
    np.testing.assert_allclose(_size(paths["ball.ply"]), [0.06, 0.06, 0.06], atol=1e-3)
    np.testing.assert_allclose(_size(paths["can.glb"]), [0.06, 0.06, 0.10], atol=1e-3)  # z up
    np.testing.assert_allclose(_size(paths["cube.obj"]), [0.05, 0.05, 0.05], atol=1e-6)
    record = scenario.mesh_files
    assert set(record) == {"block_mm.stl", "ball.ply", "can.glb", "cube.obj"}
    assert record["block_mm.stl"]["units"] == "mm" and len(record["ball.ply"]["sha256"]) == 64
    assert set(record["cube.obj"]["material_files"]) == {"material.mtl", "material_0.png"}


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_each_format_has_its_colour_in_the_image(mesh_dir, tmp_path, renderer):
    out = tmp_path / f"ds_{renderer}"
    simgen.generate(simgen.load_scenario(mesh_dir / "own.yaml", ["cycles.samples=8"]), out,
                    images=2, renderer=renderer)
    coco = json.loads((out / "annotations/instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    image = np.asarray(Image.open(out / "images/train" / coco["images"][0]["file_name"]))
    seen = set()
    for ann in coco["annotations"]:
        if ann["image_id"] != coco["images"][0]["id"]:
            continue
        r, g, b = image[mask_of(ann["segmentation"])].astype(float).mean(axis=0)
        name = names[ann["category_id"]]
        seen.add(name)
        if name == "ball":      # PLY vertex colours: red
            assert r > 1.5 * g and r > 1.5 * b, (name, r, g, b)
        elif name in ("can", "cube"):   # GLB and OBJ textures: green
            assert g > 1.3 * r and g > 1.3 * b, (name, r, g, b)
        else:                   # STL: no colour, the default light grey
            assert abs(r - g) < 20 and abs(g - b) < 20, (name, r, g, b)
    assert seen == {"block_mm", "ball", "can", "cube"}


def test_decomposition_runs_once_and_the_urdf_is_cached_by_content(mesh_dir, monkeypatch):
    import simgen.scenario.meshes as meshes

    first = simgen.load_scenario(mesh_dir / "own.yaml").asset_paths["can.glb"]
    assert (Path(first).parent / "collision.obj").is_file()
    calls = []
    monkeypatch.setattr(meshes, "_vhacd", lambda *a: calls.append(a))
    again = simgen.load_scenario(mesh_dir / "own.yaml").asset_paths["can.glb"]
    assert again == first and calls == []          # a cache hit: V-HACD not run again
    # Another setting is another body.
    other = simgen.load_scenario(mesh_dir / "own.yaml", ["objects.2.mesh.collision=convex"])
    assert other.asset_paths["can.glb"] != first


@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_a_dataset_of_meshes_verifies_and_is_remade_bit_for_bit(mesh_dir, tmp_path, renderer):
    out = tmp_path / "ds"
    simgen.generate(simgen.load_scenario(mesh_dir / "own.yaml", [
        "image.width=160", "image.height=120", "cycles.samples=4"]), out, images=4,
        renderer=renderer)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["scenario"]["meshes"]) == {"block_mm.stl", "ball.ply", "can.glb",
                                                   "cube.obj"}
    proc = subprocess.run([sys.executable, "-m", "simgen", "verify", str(out), "--reproduce",
                           "4"], capture_output=True, text=True)
    assert proc.returncode == 0 and "4 identical" in proc.stdout, proc.stdout + proc.stderr
    # A changed texture is caught: the images could no longer be re-made.
    (mesh_dir / "material_0.png").write_bytes(
        (mesh_dir / "material_0.png").read_bytes() + b"\0")
    proc = subprocess.run([sys.executable, "-m", "simgen", "regen", str(out), "--image-id",
                           "1"], capture_output=True, text=True)
    assert proc.returncode == 2 and "cube.obj" in proc.stderr, proc.stderr


def _bad(folder: Path, asset: str, mesh: str = "") -> str:
    (folder / "bad.yaml").write_text(f"""
name: bad
image: {{width: 64, height: 48}}
categories: [thing]
objects:
  - asset: {asset}
    category: thing
    spawn: {{box: {{min: [0, 0, 0.1], max: [0, 0, 0.1]}}}}{mesh}
camera: {{fov_deg: 50, look_at: [0, 0, 0], distance_m: 0.5}}
""")
    with pytest.raises(ScenarioError) as info:
        simgen.load_scenario(folder / "bad.yaml")
    message = str(info.value)
    assert "\n" not in message and "bad.yaml:6" in message and "objects[0].asset" in message
    return message


def test_every_bad_mesh_gets_one_line(mesh_dir, tmp_path):
    folder = mesh_dir
    open_box = trimesh.creation.box(extents=[0.05, 0.05, 0.05])
    open_box.update_faces(np.arange(len(open_box.faces)) > 1)   # two triangles gone: a hole
    open_box.export(folder / "open.stl")
    assert "not watertight" in _bad(folder, "open.stl")
    screw = trimesh.creation.cylinder(radius=4, height=40)   # a 40 mm screw in metres
    screw.export(folder / "screw.stl")
    assert "check its units" in _bad(folder, "screw.stl")
    flat = trimesh.Trimesh([[0, 0, 0], [0.01, 0, 0], [0.02, 0, 0]], [[0, 1, 2]], process=False)
    flat.export(folder / "flat.stl")
    assert "zero extent" in _bad(folder, "flat.stl", "\n    mesh: {mass_kg: 1}")
    bad_tris = trimesh.creation.box(extents=[0.05, 0.05, 0.05])
    v = np.vstack([bad_tris.vertices, bad_tris.vertices[:1]])
    f = np.vstack([bad_tris.faces, [[0, 8, 0]] * 4])
    trimesh.Trimesh(v, f, process=False).export(folder / "degenerate.stl")
    assert "degenerate" in _bad(folder, "degenerate.stl", "\n    mesh: {mass_kg: 1}")
    (folder / "lost.obj").write_text((folder / "cube.obj").read_text().replace(
        "material.mtl", "missing.mtl"))
    assert "missing" in _bad(folder, "lost.obj")
    assert "static bodies only" in _bad(folder, "cube.obj", "\n    mesh: {collision: mesh}")
    (tmp_path / "outside.png").write_bytes((folder / "material_0.png").read_bytes())
    (folder / "sneaky.mtl").write_text("newmtl m\nmap_Kd ../outside.png\n")
    (folder / "sneaky.obj").write_text((folder / "cube.obj").read_text().replace(
        "material.mtl", "sneaky.mtl"))
    assert "outside its own folder" in _bad(folder, "sneaky.obj")
    (folder / "junk.glb").write_bytes(b"not a mesh at all")
    assert "cannot be read" in _bad(folder, "junk.glb")
    # The CLI: exit 2, one line.
    proc = subprocess.run([sys.executable, "-m", "simgen", "check", str(folder / "bad.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_sidecar_file_sets_the_units(mesh_dir):
    (mesh_dir / "block_mm.stl.yaml").write_text("units: mm\nmass_kg: 0.05\n")
    (mesh_dir / "own.yaml").write_text(SCENARIO.replace("mesh: {units: mm, mass_kg: 0.05},",
                                                        ""))
    scenario = simgen.load_scenario(mesh_dir / "own.yaml")
    np.testing.assert_allclose(_size(scenario.asset_paths["block_mm.stl"]),
                               [0.04, 0.03, 0.02], atol=1e-6)
    assert scenario.mesh_files["block_mm.stl"]["units"] == "mm"


def test_a_glob_of_meshes_takes_categories_from_file_names_or_a_map(mesh_dir, tmp_path):
    for name, size in (("bolt_m8", 30), ("bolt_m6", 26), ("washer", 40)):   # big: seen
        trimesh.creation.cylinder(radius=size / 2, height=30).export(mesh_dir / f"{name}.stl")
    text = SCENARIO.replace("categories: [block_mm, ball, can, cube]",
                            "categories: [block_mm, ball, can, cube, bolt, washer]")
    text = text.replace('asset: "*.stl", category: "{file}", mesh: {units: mm, mass_kg: 0.05}',
                        'asset: "*.stl", category: "{file}", count: 6, mesh: {units: mm, '
                        'mass_kg: 0.05}, category_map: {bolt_m8: bolt, bolt_m6: bolt}')
    # Room for six: a larger drop region.
    text = text.replace("max: [-0.05, -0.05, 0.1]}}}", "max: [0.0, 0.0, 0.4]}}}")
    (mesh_dir / "own.yaml").write_text(text)
    out = tmp_path / "ds"
    simgen.generate(simgen.load_scenario(mesh_dir / "own.yaml"), out, images=4,
                    renderer="tiny")
    coco = json.loads((out / "annotations/instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    images = {im["id"]: im for im in coco["images"]}
    checked = set()
    for ann in coco["annotations"]:
        objects = images[ann["image_id"]]["provenance"]["scene"]["objects"]
        asset = objects[ann["object_index"]]["asset"]
        expected = {"bolt_m8.stl": "bolt", "bolt_m6.stl": "bolt", "washer.stl": "washer",
                    "block_mm.stl": "block_mm"}.get(asset)
        if expected is not None:
            assert names[ann["category_id"]] == expected
            checked.add(expected)
    assert {"bolt", "washer"} <= checked
    # A file whose name (or map entry) is no declared category is refused at load.
    (mesh_dir / "own.yaml").write_text(text.replace("bolt_m6: bolt", "bolt_m6: screw"))
    with pytest.raises(ScenarioError, match="'screw', which is not declared"):
        simgen.load_scenario(mesh_dir / "own.yaml")


def test_a_sidecar_that_leads_out_of_the_mesh_folder_is_refused(mesh_dir, tmp_path):
    (tmp_path / "elsewhere.yaml").write_text("units: mm\n")
    (mesh_dir / "cube.obj.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    with pytest.raises(ScenarioError, match="not a regular file beside the mesh"):
        simgen.load_scenario(mesh_dir / "own.yaml")
