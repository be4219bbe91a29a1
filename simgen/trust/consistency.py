"""What a simgen dataset proves about itself, beyond its files' hashes.

The manifest's sha256 of every file catches damage, and an edit made without re-hashing. Someone
who edits a label or an image and re-hashes the manifest is caught only where the edit breaks a
fact the dataset states twice. These are the facts it states twice, each checked here:

- complete: the run's `-n` (images_requested, image_ids) and its failed scenes give the exact
  set of image ids; an image deleted with its COCO entries is missing from it.
- split: a scene's split is a pure function of the scenario's splits, the seed, the scene index
  and the run's scene count (simgen.seeding.scene_split); an image moved to another split
  disagrees with it.
- scene: every view of a scene shares its provenance (scene, physics) and, per object, its
  category, world pose and 3D box: an edit of one view disagrees with the others.
- category: an annotation's category_id is the category its object was drawn with
  (provenance.scene.objects[object_index], or the robot's).
- camera geometry (images not augmented): pose_cam is pose_world seen from cam_to_world, and the
  box keypoints are the projections of box3d's corners (flag 0 exactly when outside the image).
- records: when the run state is still there (OUT/.simgen/scenes), every COCO entry equals the
  scene record it was merged from.

A forgery consistent in all of these (a re-render, or every copy edited alike) passes: without a
key nothing in the folder can tell. `verify --reproduce K` re-makes K images from their
provenance; `verify --manifest-sha256 HEX` anchors the whole dataset to a manifest hash kept
elsewhere (every file is then as the run wrote it).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from simgen.dataset import layout
from simgen.dataset.layout import MANIFEST
from simgen.dataset.reader import StoredImage

Fail = Callable[..., None]

# Stored values are rounded (poses to 1e-9, keypoints to 1e-3 px) and computed from unrounded
# ones: agreement within these is exact agreement.
POSE_TOL = 1e-6
KEYPOINT_TOL_PX = 0.01


def check_consistency(fail: Fail, out: Any, manifest: dict[str, Any], resolved: dict[str, Any],
                      images_per_scene: int | None, stored: dict[int, StoredImage]) -> None:
    """Every check of the module docstring; `fail(check, file, message, image_id=,
    annotation_id=)` records a problem."""
    _check_complete(fail, manifest, images_per_scene, stored)
    _check_splits(fail, manifest, resolved, stored)
    _check_scenes(fail, stored)
    for image_id, item in sorted(stored.items()):
        _check_image(fail, image_id, item)
    _check_records(fail, out, manifest, stored)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _expected_ids(manifest: dict[str, Any], images_per_scene: int) -> set[int] | None:
    requested, subset = manifest.get("images_requested"), manifest.get("image_ids")
    if not _is_int(requested) or requested < 1:
        return None
    first, last = 1, requested
    if subset is not None:
        if not (isinstance(subset, list) and len(subset) == 2 and all(map(_is_int, subset))):
            return None
        first, last = subset
    failed = {f.get("scene_index") for f in manifest.get("failed_scenes") or []
              if isinstance(f, dict)}
    return {i for i in range(first, last + 1) if (i - 1) // images_per_scene not in failed}


def _check_complete(fail: Fail, manifest: dict[str, Any], images_per_scene: int | None,
                    stored: dict[int, StoredImage]) -> None:
    if images_per_scene is None:
        return
    expected = _expected_ids(manifest, images_per_scene)
    if expected is None:
        fail("complete", MANIFEST, "images_requested / image_ids do not say which images the "
                                   "run made")
        return
    what = f"the run (-n {manifest['images_requested']})"
    missing, extra = sorted(expected - set(stored)), sorted(set(stored) - expected)
    for image_id in missing[:50]:
        fail("complete", MANIFEST, f"image {image_id} of {what} is missing: no COCO entry")
    if len(missing) > 50:
        fail("complete", MANIFEST, f"... and {len(missing) - 50} more images missing")
    for image_id in extra[:50]:
        fail("complete", MANIFEST, f"image {image_id} is not one {what} made", image_id)


def _check_splits(fail: Fail, manifest: dict[str, Any], resolved: dict[str, Any],
                  stored: dict[int, StoredImage]) -> None:
    from pydantic import ValidationError

    from simgen.scenario.schema import SplitSpec
    from simgen.seeding import scene_split

    seed, scenes = manifest.get("seed"), manifest.get("scenes")
    try:
        splits = SplitSpec.model_validate(resolved.get("splits"))
    except ValidationError:
        return   # the manifest checks report a broken scenario
    if not (_is_int(seed) and seed >= 0 and _is_int(scenes) and scenes >= 1):
        return
    drawn: dict[int, str] = {}
    for image_id, item in sorted(stored.items()):
        scene = _provenance(item).get("scene_index")
        if not _is_int(scene) or not 0 <= scene < scenes:
            continue   # beyond the run: the completeness check names it
        if scene not in drawn:
            drawn[scene] = scene_split(splits, seed, scene, scenes)
        if item.split != drawn[scene]:
            fail("split", layout.coco_path(item.split), f"scene {scene} draws split "
                 f"{drawn[scene]!r} from seed {seed}, but the image is in {item.split!r}",
                 image_id)


def _provenance(item: StoredImage) -> dict[str, Any]:
    provenance = item.image.get("provenance") if isinstance(item.image, dict) else None
    return provenance if isinstance(provenance, dict) else {}


def _check_scenes(fail: Fail, stored: dict[int, StoredImage]) -> None:
    """Views of one scene agree on what the scene was, and on each object. What most views say
    is taken as the scene's (the first view's on a tie); each view that says otherwise is a
    problem, so an edit is named where it was made."""
    shared: dict[tuple[Any, str], list[tuple[int, Any, None]]] = {}
    objects: dict[tuple[Any, str, Any], list[tuple[int, Any, Any]]] = {}
    for image_id, item in sorted(stored.items()):
        provenance = _provenance(item)
        scene = provenance.get("scene_index")
        if not _is_int(scene):
            continue
        for key in ("scene", "physics", "seed"):
            shared.setdefault((scene, f"provenance.{key}"), []).append(
                (image_id, provenance.get(key), None))
        for ann in item.annotations:
            if isinstance(ann, dict):
                index_key = "object_index" if "object_index" in ann else "robot_index"
                index = ann.get(index_key)
                objects.setdefault((scene, f"{index_key} {index!r}: category_id, pose_world or "
                                           "box3d", _hashable(index)), []).append(
                    (image_id, [ann.get(k) for k in ("category_id", "pose_world", "box3d")],
                     ann.get("id")))
    for (scene, what, *_), views in list(shared.items()) + list(objects.items()):
        values = [value for _, value, _ in views]
        usual = max(values, key=lambda v: (values.count(v), -values.index(v)))
        reference = next(image_id for image_id, value, _ in views if value == usual)
        for image_id, value, ann_id in views:
            if value != usual:
                fail("scene", layout.coco_path(stored[image_id].split), f"{what} differ"
                     f"{'s' if what.startswith('provenance') else ''} from image {reference} "
                     f"and the other views of scene {scene}", image_id, ann_id)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (int, str, type(None))) else repr(value)


def _check_image(fail: Fail, image_id: int, item: StoredImage) -> None:
    rel = layout.coco_path(item.split)
    provenance = _provenance(item)
    scene = provenance.get("scene") if isinstance(provenance.get("scene"), dict) else {}
    camera = _camera(item.image)
    for ann in item.annotations:
        if not isinstance(ann, dict):
            continue

        def bad(message: str, ann: dict[str, Any] = ann) -> None:
            fail("labels", rel, message, image_id, ann.get("id"))

        _check_category(bad, ann, scene)
        if camera is not None and "augment" not in provenance:
            try:
                _check_geometry(bad, ann, camera, item.image)
            except (TypeError, ValueError, KeyError, IndexError, np.linalg.LinAlgError):
                bad("pose_world, box3d, pose_cam or keypoints are malformed")


def _check_category(bad: Fail, ann: dict[str, Any], scene: dict[str, Any]) -> None:
    for index_key, section in (("object_index", "objects"), ("robot_index", "robots")):
        if index_key not in ann:
            continue
        bodies, index = scene.get(section), ann[index_key]
        if not (isinstance(bodies, list) and _is_int(index) and 0 <= index < len(bodies)
                and isinstance(bodies[index], dict)):
            bad(f"{index_key} {index!r} names no body of provenance.scene.{section}")
        elif bodies[index].get("category_id") != ann.get("category_id"):
            bad(f"category_id {ann.get('category_id')!r}, but {section}[{index}] was drawn as "
                f"category {bodies[index].get('category_id')!r}")
        return
    bad("names neither object_index nor robot_index")


def _camera(image: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    camera = image.get("camera")
    try:
        K = np.array(camera["K"], dtype=float)
        pose = np.array(camera["cam_to_world"], dtype=float)
    except (TypeError, ValueError, KeyError):
        return None
    if K.shape != (3, 3) or pose.shape != (4, 4) or not (np.isfinite(K).all()
                                                          and np.isfinite(pose).all()):
        return None
    return K, pose


def _check_geometry(bad: Fail, ann: dict[str, Any], camera: tuple[np.ndarray, np.ndarray],
                    image: dict[str, Any]) -> None:
    from simgen import geometry

    K, cam_to_world = camera
    world, cam, box = ann["pose_world"], ann["pose_cam"], ann["box3d"]
    position, quaternion = geometry.pose_in_camera(cam_to_world, world["position_m"],
                                                   world["quaternion_xyzw"])
    stored_q = np.array(cam["quaternion_xyzw"], dtype=float)
    if (np.abs(np.array(cam["position_m"], dtype=float) - position).max() > POSE_TOL
            or min(np.abs(stored_q - quaternion).max(),
                   np.abs(stored_q + quaternion).max()) > POSE_TOL):
        bad("pose_cam is not pose_world seen from the image's cam_to_world")
    keypoints = ann["keypoints"]
    if not (isinstance(keypoints, list) and len(keypoints) == 27):
        bad("keypoints must be 9 (x, y, flag) triples")
        return
    R = geometry.rotation_from_quaternion(quaternion)
    points = geometry.cuboid_points(box["center_local_m"], box["size_m"]) @ R.T + np.array(position)
    z = points[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (points @ K.T)[:, :2] / z[:, None]
    pixel = np.floor(uv + 0.5)
    inside = ((z > 0) & (pixel[:, 0] >= 0) & (pixel[:, 0] < image["width"])
              & (pixel[:, 1] >= 0) & (pixel[:, 1] < image["height"]))
    stored = np.array(keypoints, dtype=float).reshape(9, 3)
    flagged = stored[:, 2] != 0
    wrong = (flagged != inside) | (inside & (np.abs(stored[:, :2] - uv) > KEYPOINT_TOL_PX).any(1))
    if wrong.any():
        index = int(np.argmax(wrong))
        sx, sy, flag = keypoints[3 * index: 3 * index + 3]
        if inside[index]:
            bad(f"keypoint {index} ({sx!r}, {sy!r}, flag {flag!r}) is not box3d's corner "
                f"projected ({uv[index, 0]:.3f}, {uv[index, 1]:.3f})")
        else:
            bad(f"keypoint {index} is flagged {flag!r}, but box3d projects it outside the image")


def _records(out: Any) -> Any:
    """(scene index, record) of every whole scene record of OUT/.simgen/scenes
    (simgen.dataset.writer.read_whole_record: a damaged record proves nothing, and is no dataset
    file); recorded failures have no images and are left out."""
    from pathlib import Path

    from simgen.dataset.writer import read_whole_record

    folder = Path(out) / layout.SCENES_DIR
    if not folder.is_dir() or folder.is_symlink():
        return
    for path in sorted(folder.glob("*.json")):
        record = read_whole_record(path)
        if record is not None and "failed" not in record:
            yield record["scene_index"], record


def _check_records(fail: Fail, out: Any, manifest: dict[str, Any],
                   stored: dict[int, StoredImage]) -> None:
    """COCO entries and file hashes against the scene records of the run, when those are kept
    (a second copy of each scene's labels and of its files' sha256, written at commit)."""
    from simgen.dataset.writer import coco_entries

    listed = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
    for scene_index, record in _records(out):
        where = f"{layout.SCENES_DIR}/{scene_index:06d}.json"
        for rel, sha256 in record["files"].items():
            entry = listed.get(rel)
            if isinstance(entry, dict) and entry.get("sha256") != sha256:
                fail("records", rel, f"sha256 in {MANIFEST} differs from the one recorded when "
                     f"the scene was committed ({where})")
        for item in record["images"]:
            try:
                image, annotations = coco_entries(item, 1)
                image_id = image.get("id")
            except (TypeError, KeyError, AttributeError):
                continue
            have = stored.get(image_id) if isinstance(image_id, int) else None
            if have is None:
                continue   # reported as missing by the completeness check
            strip = [{k: v for k, v in a.items() if k != "id"} for a in annotations]
            have_strip = [{k: v for k, v in a.items() if k != "id"} if isinstance(a, dict)
                          else a for a in have.annotations]
            if have.image != image or have_strip != strip:
                fail("records", layout.coco_path(have.split), "the COCO entry or its "
                     f"annotations differ from the run's record of the scene ({where})",
                     image_id)
