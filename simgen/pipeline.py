"""The unit of work (`run_scene`) and a whole run (`generate`).

A scene is a pure function of (scenario, seed, scene_index): image index i belongs to scene
i // views_per_scene, view i % views_per_scene, and every random draw comes from
SeedSequence([seed, scene_index]). So any subset of images, in any order, on any worker, gives
the same bytes as the same images of a full run.
"""

from __future__ import annotations

import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from simgen import __version__
from simgen.errors import SimgenError
from simgen.label import annotate, occlusion
from simgen.output import dataset as ds
from simgen import geometry
from simgen.output.images import FORMATS, encode_image, encode_png16
from simgen.provenance import package_versions
from simgen.scenario import Scenario, load
from simgen.scenario.sample import sample as sample_scene
from simgen.scenario.schema import SplitSpec
from simgen.seeding import generator, scene_streams

IMAGE_TAG = f"synthetic image, made by simgen {__version__}"
# A box corner counts as hidden when the rendered depth at its pixel is nearer than its own by
# more than this (plus 1% of its distance): the corner's own surface, seen at the nearest pixel
# centre, can be a little in front of it.
KEYPOINT_DEPTH_TOL_M = 0.01


@dataclass(frozen=True)
class SceneOutput:
    scene_index: int
    files: list[tuple[str, bytes]]   # (path relative to OUT, bytes)
    record: dict[str, Any]           # the scene record finalize reads


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    renderer: str
    images: int
    annotations: int
    counts: dict[str, Any]


def choose_split(splits: SplitSpec, rng: np.random.Generator) -> str:
    u = rng.random()
    if u < splits.train:
        return "train"
    return "val" if u < splits.train + splits.val else "test"


def active_splits(splits: SplitSpec) -> list[str]:
    return [name for name in ds.SPLITS if getattr(splits, name) > 0]


def run_scene(scenario: Scenario, seed: int, scene_index: int, world: Any, renderer: Any,
              views: Sequence[int], image_format: str = "png") -> SceneOutput:
    """Sample, settle, render the given views, label and encode one scene."""
    spec = scenario.spec
    streams = scene_streams(seed, scene_index)
    sample = sample_scene(scenario, streams.sampling, seed=seed, scene_index=scene_index)
    split = choose_split(spec.splits, generator(streams.split))
    settled = world.settle(sample, spec.settle)
    labeled = sample.labeled
    categories = {i: body.category_id for i, body in enumerate(labeled, start=1)}
    scene_params = sample.provenance()
    physics = settled.provenance()
    files, images = [], []
    for view in views:
        camera = sample.views[view]
        frame = renderer.render(settled, camera, sample.light)
        image_id = scene_index * spec.views_per_scene + view + 1
        file_name = ds.image_file_name(image_id, image_format)
        files.append((f"images/{split}/{file_name}", encode_image(frame.rgb, image_format, IMAGE_TAG)))
        extra_files = {}
        png_name = ds.image_file_name(image_id, "png")
        if spec.outputs.depth:
            extra_files["depth_file"] = f"depth/{split}/{png_name}"
            files.append((extra_files["depth_file"],
                          encode_png16(depth_mm(frame.depth_m, camera.far_m), IMAGE_TAG)))
        if spec.outputs.instance_ids:
            extra_files["instances_file"] = f"instances/{split}/{png_name}"
            files.append((extra_files["instances_file"],
                          encode_png16(frame.instance_map.astype(np.uint16), IMAGE_TAG)))
        annotations = []
        for label in annotate(frame.instance_map, categories, spec.labels.min_pixels):
            body = labeled[label.instance_id - 1]
            facts = settled.labeled[label.instance_id - 1]
            is_object = label.instance_id <= len(sample.objects)
            occluded = {}
            if spec.labels.occlusion == "exact":
                # Half the image on every side catches most of what leaves the frame.
                mx, my = camera.width // 2, camera.height // 2
                alone = renderer.render_alone(settled.labeled_body_ids[label.instance_id - 1],
                                              camera, mx, my)
                facts_occ = occlusion(label.area, alone, mx, my, camera.width, camera.height)
                if facts_occ is not None:
                    if facts_occ.visibility < spec.labels.min_visibility:
                        continue
                    occluded = {"visibility": facts_occ.visibility,
                                "truncation": facts_occ.truncation,
                                "bbox_amodal": list(facts_occ.bbox_amodal_xywh)}
            annotations.append({
                "image_id": image_id, "category_id": label.category_id,
                "bbox": list(label.bbox_xywh), "area": label.area,
                "segmentation": label.segmentation, "iscrowd": 0,
                ("object_index" if is_object else "robot_index"):
                    label.instance_id - 1 if is_object else body.group_index,
                "instance_id": label.instance_id,   # its value in the instance-id PNG
                **occluded,
                "pose_world": {"position_m": [round(v, 9) for v in facts.position_m],
                               "quaternion_xyzw": [round(v, 9) for v in facts.quaternion_xyzw]},
                "pose_cam": _pose_cam(camera, facts),
                "box3d": {"center_local_m": list(facts.box_center_local_m),
                          "size_m": list(facts.box_size_m)},
                **_cuboid_keypoints(camera, facts, frame.depth_m),
                "physics": facts.to_json(),
            })
        images.append({"image": {
            "id": image_id, "file_name": file_name, "width": camera.width, "height": camera.height,
            **extra_files,
            "camera": {"K": [list(r) for r in camera.K],
                       "cam_to_world": [list(r) for r in camera.cam_to_world],
                       "near_m": camera.near_m, "far_m": camera.far_m, **camera.params},
            "provenance": {"scenario": scenario.name, "scenario_sha256": scenario.sha256,
                           "seed": seed, "scene_index": scene_index, "view_index": view,
                           "split": split, "renderer": renderer.name,
                           "scene": scene_params, "physics": physics},
        }, "annotations": annotations})
    return SceneOutput(scene_index, files, {"scene_index": scene_index, "split": split,
                                            "images": images})


def depth_mm(depth_m: np.ndarray, far_m: float) -> np.ndarray:
    """Depth as uint16 millimetres; 0 where nothing was seen (the far plane) or beyond 65.5 m."""
    mm = np.rint(depth_m.astype(np.float64) * 1000.0)
    mm[(depth_m >= far_m * 0.999) | (mm > 65535)] = 0
    return mm.astype(np.uint16)


def _pose_cam(camera: Any, facts: Any) -> dict[str, list[float]]:
    position, quaternion = geometry.pose_in_camera(camera.pose_array, facts.position_m,
                                                   facts.quaternion_xyzw)
    return {"position_m": [round(v, 9) for v in position],
            "quaternion_xyzw": [round(v, 9) for v in quaternion]}


def _cuboid_keypoints(camera: Any, facts: Any, depth_m: np.ndarray) -> dict[str, Any]:
    """COCO keypoints of the object's 3D box (8 corners, centre): x, y in pixels (pixel centres
    at integers, as K), v = 2 visible, 1 hidden (the rendered depth at its pixel is nearer than
    the point: something, the object itself included, covers it; always so for the centre),
    0 outside the image."""
    position, quaternion = geometry.pose_in_camera(camera.pose_array, facts.position_m,
                                                   facts.quaternion_xyzw)
    R = geometry.rotation_from_quaternion(quaternion)
    points = geometry.cuboid_points(facts.box_center_local_m, facts.box_size_m) @ R.T + position
    height, width = depth_m.shape
    flat = []
    for index, (x, y, z) in enumerate(points):
        if z <= 0:
            flat += [0.0, 0.0, 0]
            continue
        u, v = (camera.K_array @ np.array([x, y, z]))[:2] / z
        col, row = int(np.floor(u + 0.5)), int(np.floor(v + 0.5))
        if not (0 <= col < width and 0 <= row < height):
            flag = 0
        elif index == 8:
            flag = 1
        else:
            # Hidden only when something nearer covers it: at a corner's pixel the render often
            # sees past the silhouette, onto what lies behind.
            seen = float(depth_m[row, col])
            flag = 1 if seen < z - (KEYPOINT_DEPTH_TOL_M + 0.01 * z) else 2
        flat += [round(float(u), 3), round(float(v), 3), flag] if flag else [0.0, 0.0, 0]
    return {"keypoints": flat, "num_keypoints": sum(1 for f in flat[2::3] if f > 0)}


def plan_scenes(images: int, views_per_scene: int,
                image_ids: tuple[int, int] | None = None) -> list[tuple[int, list[int]]]:
    """(scene index, views to render) for images 1..images, or only ids first..last."""
    first, last = image_ids if image_ids else (1, images)
    if not 1 <= first <= last <= images:
        raise SimgenError(f"--image-ids must satisfy 1 <= first <= last <= {images} "
                          f"(got {first}..{last})")
    plan: dict[int, list[int]] = {}
    for index in range(first - 1, last):
        plan.setdefault(index // views_per_scene, []).append(index % views_per_scene)
    return sorted(plan.items())


def generate(scenario: Scenario | str | Path, out: str | Path, images: int, seed: int = 0,
             renderer: str = "auto", image_format: str = "png",
             image_ids: tuple[int, int] | None = None, overwrite: bool = False,
             on_renderer: Callable[[str], None] | None = None,
             progress: bool = False) -> GenerateResult:
    """Generate a COCO dataset of `images` images from `scenario` into `out`.

    Every argument is checked, and the scenario fully validated, before `out` is touched.
    """
    from simgen.render import start_renderer, RendererUnavailable
    from simgen.sim import PlacementError, World

    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SimgenError(f"seed must be an integer >= 0 (got {seed!r})")
    if not isinstance(images, int) or images < 1:
        raise SimgenError(f"images must be an integer >= 1 (got {images!r})")
    if image_format not in FORMATS:
        raise SimgenError(f"format must be one of {', '.join(FORMATS)} (got {image_format!r})")
    spec = scenario.spec
    plan = plan_scenes(images, spec.views_per_scene, image_ids)
    out = Path(out)
    ds.check_output(out, overwrite)
    created = not out.exists()
    with World() as world:
        try:
            render = start_renderer(world, renderer)
        except (RendererUnavailable, ValueError) as err:
            raise SimgenError(f"renderer {renderer!r}: {err}") from None
        if on_renderer:
            on_renderer(render.name)
        ds.prepare_output(out, overwrite)
        bar = _progress(sum(len(v) for _, v in plan), progress)
        for scene_index, views in plan:
            try:
                result = run_scene(scenario, seed, scene_index, world, render, views, image_format)
            except PlacementError as err:
                if created and not any(ds.read_scene_records(out)):
                    shutil.rmtree(out)  # nothing was committed: leave no empty folder behind
                raise SimgenError(f"{scenario.source}: scene {scene_index} (seed {seed}): {err}") from None
            ds.commit_scene(out, scene_index, result.files, result.record)
            bar.update(len(views))
        bar.close()
    counts = ds.finalize(out, spec.categories, active_splits(spec.splits),
                         info=_coco_info(scenario, seed),
                         manifest=_manifest(scenario, seed, images, image_ids, render.name,
                                            image_format))
    return GenerateResult(out, render.name, sum(counts["images"].values()),
                          sum(counts["annotations"].values()), counts)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="img", disable=not enabled, file=sys.stderr,
                dynamic_ncols=True)


def _coco_info(scenario: Scenario, seed: int) -> dict[str, Any]:
    return {"description": f"simgen synthetic dataset from scenario {scenario.name!r}",
            "version": __version__, "contributor": "simgen (synthetic)", "url": "",
            "scenario": scenario.name, "scenario_sha256": scenario.sha256, "seed": seed}


def _manifest(scenario: Scenario, seed: int, images: int, image_ids: tuple[int, int] | None,
              renderer: str, image_format: str) -> dict[str, Any]:
    return {
        "format": "simgen-dataset/1",
        "simgen_version": __version__,
        "packages": package_versions(),
        "scenario": {"name": scenario.name, "file": Path(scenario.source).name,
                     "file_sha256": scenario.file_sha256, "sha256": scenario.sha256,
                     "overrides": list(scenario.overrides), "resolved": scenario.resolved()},
        "seed": seed,
        "images_requested": images,
        "image_ids": list(image_ids) if image_ids else None,
        "scenes": math.ceil(images / scenario.spec.views_per_scene),
        "renderer": renderer,
        "image_format": image_format,
    }
