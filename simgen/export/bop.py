"""Export a simgen dataset to the BOP format, the layout 6D object pose estimators train and are
evaluated on (bop_toolkit's docs/bop_datasets_format.md; BlenderProc's train_pbr sets).

    BOP_DIR/camera.json                        the first image's camera (every image's own K is
                                               in its scene_camera.json: simgen's vary)
    BOP_DIR/models/obj_NNNNNN.ply              each object model, mm, in its pose frame
    BOP_DIR/models/models_info.json            box, diameter, symmetries of each model
    BOP_DIR/models/simgen_models.json          obj_id -> asset, scale, category (the mapping)
    BOP_DIR/<split>_pbr/<scene>/               one BOP scene per simgen scene (scene_index)
        scene_camera.json   cam_K (row-major), depth_scale, cam_R_w2c, cam_t_w2c (mm)
        scene_gt.json       obj_id, cam_R_m2c, cam_t_m2c (mm), one per annotation
        scene_gt_info.json  bbox_obj, bbox_visib, px_count_all/valid/visib, visib_fract
        scene_gt_coco.json  COCO of the scene: category = obj_id, boxes and RLEs of the visible part
        rgb/IMID.png        the image (as the dataset holds it; .jpg for a JPEG dataset)
        depth/IMID.png      uint16, depth * depth_scale = mm (simgen's depth is in mm: scale 1)
        mask/IMID_GTID.png       the object's whole silhouette in the image (amodal): rendered
                                 alone, exact (not a depth-threshold estimate)
        mask_visib/IMID_GTID.png its visible part (the annotation's segmentation)
    BOP_DIR/simgen_export.json                 what made the export (format simgen-bop/1)

im_id is simgen's image id, so each BOP image traces to its dataset image. One obj_id per
distinct (asset, scale): a scenario drawing scales gives one model per scale drawn; the objects
of one asset at one scale share one. Symmetries are the scenario's `symmetry` of the object's
group. The dataset must have been made with `outputs.depth: true` and `labels.amodal_masks:
true` (mask/ and depth/ are required), and no augmentation that moves pixels (the poses and K
would no longer fit the image). Labeled robots are left out (an articulated body is not one
rigid model); the result says how many.

Read like every export: only a dataset simgen wrote, each file against its manifest; built in a
hidden sibling folder renamed into place, so a failure leaves nothing half-written; the same
dataset always gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from simgen.errors import SimgenError
from simgen.dataset import layout
from simgen.dataset.links import staged_folder
from simgen.dataset.reader import read_manifest, short
from simgen.dataset.writer import sha256_file, write_atomic

EXPORT_FORMAT = "simgen-bop/1"
EXPORT_FORMAT_PREFIX = "simgen-bop/"
MARKER = "simgen_export.json"
DEPTH_SCALE = 1.0   # simgen's depth PNGs hold millimetres
MAX_IMAGES_PER_SCENE = 1000   # BOP's (and BlenderProc's) chunk size
# What an export writes at the top of BOP_DIR, besides its <split>_pbr folders.
TOP_ENTRIES = frozenset({"camera.json", "models", MARKER})


@dataclass(frozen=True)
class BopExportResult:
    out: Path
    images: int
    objects: int           # scene_gt entries
    models: int
    scenes: int
    robots_left_out: int   # labeled robot instances (not rigid: no model)


def export_bop(dataset: Path | str, out: Path | str, overwrite: bool = False,
               scenario_dir: Path | str | None = None) -> BopExportResult:
    """Export the simgen dataset `dataset` to the BOP folder `out` (empty or new; with
    `overwrite`, a previous simgen BOP export). `scenario_dir`: where the scenario's relative
    assets are, when not where the manifest recorded (as for `simgen regen`)."""
    from simgen.export.models import body_model, ply_bytes
    from simgen.export.yolo import _check_target, _read_dataset
    from simgen.trust.regen import scenario_of

    dataset, out = Path(dataset), Path(out)
    splits, categories = _read_dataset(dataset, segments=False)
    manifest = read_manifest(dataset)
    listed = manifest["files"]
    scenario = scenario_of(manifest, scenario_dir)
    spec = scenario.spec
    where = f"{dataset / layout.MANIFEST}: scenario {scenario.name}"
    if not spec.labels.amodal_masks:
        raise SimgenError(f"{where}: BOP's mask/ is each object's whole silhouette, which the "
                          "dataset holds only when made with labels.amodal_masks: true "
                          "(--set labels.amodal_masks=true)")
    if not spec.outputs.depth:
        raise SimgenError(f"{where}: BOP needs depth images: make the dataset with "
                          "outputs.depth: true (--set outputs.depth=true)")
    if spec.augment is not None and _moves_pixels(spec.augment.pipeline):
        raise SimgenError(f"{where}: its augmentation moves pixels, so the poses and K no "
                          "longer fit the images; export a dataset without it (photometric "
                          "augmentation is fine)")
    _check_target(dataset, out, overwrite, "BOP", EXPORT_FORMAT_PREFIX,
                  lambda name: name in TOP_ENTRIES or name.endswith("_pbr"))

    # The models: one per (asset, scale) of a labeled object, numbered in sorted order.
    keys: dict[tuple[str, float], dict[str, Any]] = {}
    robots = 0
    for split in splits:
        for image in split.images:
            objects = image["provenance"]["scene"]["objects"]
            for ann in split.annotations.get(image["id"], []):
                if "object_index" not in ann:
                    robots += 1
                    continue
                body = objects[ann["object_index"]]
                keys.setdefault((body["asset"], float(body["scale"])),
                                {"group_index": body["group_index"],
                                 "category_id": ann["category_id"]})
    obj_ids = {key: i for i, key in enumerate(sorted(keys), start=1)}
    names = {c["id"]: c["name"] for c in categories}

    with staged_folder(out, replace=overwrite) as staging:
        infos, mapping = {}, {}
        for (asset, scale), obj_id in obj_ids.items():
            path = scenario.asset_paths.get(asset)
            if path is None:
                raise SimgenError(f"{where}: asset {short(asset)} of the dataset is not one the "
                                  "scenario resolves")
            model = body_model(path, scale)
            write_atomic(staging / "models" / f"obj_{obj_id:06d}.ply", ply_bytes(model))
            info = model.info()
            symmetry = spec.objects[keys[(asset, scale)]["group_index"]].symmetry
            if symmetry is not None:
                info.update(_symmetries(symmetry, model, scale))
            infos[str(obj_id)] = info
            category_id = keys[(asset, scale)]["category_id"]
            mapping[str(obj_id)] = {"asset": asset, "scale": scale, "category_id": category_id,
                                    "category": names[category_id]}
        write_atomic(staging / "models" / "models_info.json", _json(infos))
        write_atomic(staging / "models" / "simgen_models.json", _json(mapping))

        first = splits[0].images[0]
        write_atomic(staging / "camera.json", _json(_camera_json(first)))
        n_images = n_objects = 0
        scenes: set[tuple[str, int]] = set()
        for split in splits:
            by_scene: dict[int, list[dict[str, Any]]] = {}
            for image in split.images:
                by_scene.setdefault(image["provenance"]["scene_index"], []).append(image)
            for scene_index, images in sorted(by_scene.items()):
                if len(images) > MAX_IMAGES_PER_SCENE:
                    raise SimgenError(f"{dataset}: scene {scene_index} has {len(images)} images, "
                                      f"more than a BOP scene's {MAX_IMAGES_PER_SCENE}")
                folder = staging / f"{split.name}_pbr" / f"{scene_index:06d}"
                n_objects += _write_scene(dataset, listed, folder, split.name, sorted(
                    images, key=lambda im: im["id"]), split.annotations, obj_ids)
                n_images += len(images)
                scenes.add((split.name, scene_index))
        write_atomic(staging / MARKER, _json({
            "format": EXPORT_FORMAT,
            "source_manifest_sha256": sha256_file(dataset / layout.MANIFEST),
            "images": n_images, "objects": n_objects, "models": len(obj_ids),
            "robots_left_out": robots}))
    return BopExportResult(out, n_images, n_objects, len(obj_ids), len(scenes), robots)


def _write_scene(dataset: Path, listed: dict[str, Any], folder: Path, split: str,
                 images: list[dict[str, Any]], annotations: dict[int, list[dict[str, Any]]],
                 obj_ids: dict) -> int:
    from simgen.label import mask_of

    camera, gt, gt_info = {}, {}, {}
    coco_images, coco_annotations = [], []
    count = 0
    for image in images:
        im_id = image["id"]
        key = str(im_id)
        width, height = image["width"], image["height"]
        suffix = PurePosixPath(image["file_name"]).suffix
        rgb = _read(dataset, layout.image_path(split, image["file_name"]), listed)
        write_atomic(folder / "rgb" / f"{im_id:06d}{suffix}", rgb)
        depth_rel = image.get("depth_file")
        if not isinstance(depth_rel, str):
            raise SimgenError(f"{dataset}: image {im_id} has no depth_file")
        depth_bytes = _read(dataset, depth_rel, listed)
        write_atomic(folder / "depth" / f"{im_id:06d}.png", depth_bytes)
        depth = _decode_depth(depth_bytes, dataset / depth_rel, width, height)
        camera[key] = _scene_camera(image)
        gt[key], gt_info[key] = [], []
        objects = image["provenance"]["scene"]["objects"]
        for ann in annotations.get(im_id, []):
            if "object_index" not in ann:
                continue
            body = objects[ann["object_index"]]
            obj_id = obj_ids[(body["asset"], float(body["scale"]))]
            gt_id = len(gt[key])
            R = _rotation(ann["pose_cam"]["quaternion_xyzw"])
            t = np.asarray(ann["pose_cam"]["position_m"], float) * 1000.0
            gt[key].append({"cam_R_m2c": _round(R.ravel()), "cam_t_m2c": _round(t),
                            "obj_id": obj_id})
            visib = mask_of(ann["segmentation"])
            full = mask_of(ann["segmentation_amodal"]) | visib
            all_px, visib_px = int(full.sum()), int(visib.sum())
            gt_info[key].append({
                "bbox_obj": list(ann.get("bbox_amodal") or _bbox(full)),
                "bbox_visib": _bbox(visib),
                "px_count_all": all_px,
                "px_count_valid": int(np.count_nonzero(full & (depth > 0))),
                "px_count_visib": visib_px,
                "visib_fract": round(visib_px / all_px, 6) if all_px else 0.0})
            name = f"{im_id:06d}_{gt_id:06d}.png"
            write_atomic(folder / "mask" / name, _mask_png(full))
            write_atomic(folder / "mask_visib" / name, _mask_png(visib))
            coco_annotations.append({
                "id": len(coco_annotations) + 1, "image_id": im_id, "category_id": obj_id,
                "iscrowd": 0, "area": visib_px, "bbox": _bbox(visib),
                "segmentation": ann["segmentation"], "width": width, "height": height,
                "ignore": False})
            count += 1
        coco_images.append({"id": im_id, "file_name": f"rgb/{im_id:06d}{suffix}",
                            "width": width, "height": height})
    used = sorted({a["category_id"] for a in coco_annotations})
    write_atomic(folder / "scene_camera.json", _json(camera))
    write_atomic(folder / "scene_gt.json", _json(gt))
    write_atomic(folder / "scene_gt_info.json", _json(gt_info))
    write_atomic(folder / "scene_gt_coco.json", _json({
        "info": {"description": "simgen BOP export", "format": EXPORT_FORMAT},
        "licenses": [], "images": coco_images, "annotations": coco_annotations,
        "categories": [{"id": i, "name": str(i), "supercategory": "simgen"} for i in used]}))
    return count


# --- small pieces -------------------------------------------------------------------------------

def _symmetries(symmetry: Any, model: Any, scale: float) -> dict[str, Any]:
    """The group's symmetries, declared in the asset's own frame (mm, before `scale`), as BOP's
    models_info gives them: in the model frame (centre of mass, principal axes), mm."""
    out: dict[str, Any] = {}
    A = model.asset_in_model
    if symmetry.continuous:
        out["symmetries_continuous"] = [
            {"axis": _round(A[:3, :3] @ np.asarray(s.axis, float)),
             "offset": _round(A[:3, :3] @ (np.asarray(s.offset_mm, float) * scale) + A[:3, 3])}
            for s in symmetry.continuous]
    if symmetry.discrete:
        moved = []
        for values in symmetry.discrete:
            T = np.asarray(values, float).reshape(4, 4)
            T[:3, 3] *= scale
            moved.append(_round(model.symmetry_in_model(T).ravel()))
        out["symmetries_discrete"] = moved
    return out


def _moves_pixels(pipeline: Any) -> bool:
    from simgen.augment import Augmenter

    return Augmenter(pipeline).moves_pixels


def _camera_json(image: dict[str, Any]) -> dict[str, Any]:
    K = image["camera"]["K"]
    return {"cx": K[0][2], "cy": K[1][2], "depth_scale": DEPTH_SCALE, "fx": K[0][0],
            "fy": K[1][1], "height": image["height"], "width": image["width"]}


def _scene_camera(image: dict[str, Any]) -> dict[str, Any]:
    cam_to_world = np.asarray(image["camera"]["cam_to_world"], float)
    R_w2c = cam_to_world[:3, :3].T
    t_w2c = -R_w2c @ cam_to_world[:3, 3] * 1000.0
    return {"cam_K": _round(np.asarray(image["camera"]["K"], float).ravel()),
            "cam_R_w2c": _round(R_w2c.ravel()), "cam_t_w2c": _round(t_w2c),
            "depth_scale": DEPTH_SCALE}


def _rotation(quaternion_xyzw: list[float]) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_quat(quaternion_xyzw).as_matrix()


def _round(values: np.ndarray) -> list[float]:
    return [round(float(v), 9) for v in values]


def _bbox(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return [-1, -1, -1, -1]   # BOP's value for nothing visible
    return [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1)]


def _mask_png(mask: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", mask.astype(np.uint8) * 255,
                           [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RuntimeError("OpenCV could not encode a mask")
    return buf.tobytes()


def _decode_depth(data: bytes, path: Path, width: int, height: int) -> np.ndarray:
    import cv2

    depth = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if depth is None or depth.dtype != np.uint16 or depth.shape != (height, width):
        raise SimgenError(f"{path}: not a {width}x{height} 16-bit depth PNG")
    return depth


def _read(dataset: Path, rel: str, listed: dict[str, Any]) -> bytes:
    """A file of the dataset, inside it (links followed), regular, bounded, and as its manifest
    lists it (the COCO files were checked against it; the images and depth files are here)."""
    import hashlib

    from simgen.dataset.images import read_bounded
    from simgen.dataset.reader import inside

    path = inside(dataset, rel, "file")
    data = read_bounded(path)
    if data is None:
        raise SimgenError(f"{path}: missing, not a regular file, or too large")
    entry = listed.get(rel)
    if (not isinstance(entry, dict) or entry.get("sha256") != hashlib.sha256(data).hexdigest()
            or entry.get("bytes") != len(data)):
        raise SimgenError(f"{path}: does not match {dataset / layout.MANIFEST}; the dataset "
                          "changed after simgen wrote it (see simgen verify)")
    return data


def _json(data: Any) -> bytes:
    return json.dumps(data, indent=1, ensure_ascii=False).encode() + b"\n"
