"""The unit of work: `run_scene` makes one scene's images, labels and records.

A scene is a pure function of (scenario, seed, scene_index): image index i belongs to scene
i // (views_per_scene * per_view), its view and augmented variant follow from the rest, and
every random draw comes from SeedSequence([seed, scene_index]). So any subset of images, in any
order, on any worker, gives the same bytes as the same images of a full run.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from simgen import __version__
from simgen import label as label_math
from simgen.label import annotate, occlusion
from simgen.dataset import layout, records
from simgen.timing import stage
from simgen.dataset.images import depth_mm, encode_image, encode_later, encode_png16
from simgen.scenario import Scenario
from simgen.render.capabilities import applied_light
from simgen.scenario.sample import sample as sample_scene
from simgen.seeding import scene_split, scene_streams

IMAGE_TAG = f"synthetic image, made by simgen {__version__}"


@dataclass(frozen=True)
class SceneOutput:
    scene_index: int
    # (path relative to OUT, bytes); run with wait_files=False, a Future of the bytes.
    files: list[tuple[str, Any]]
    record: dict[str, Any]           # the scene record finalize reads

    def file_bytes(self) -> list[tuple[str, bytes]]:
        """The files, waiting for any still being encoded."""
        return [(path, data.result() if isinstance(data, Future) else data)
                for path, data in self.files]


@dataclass(frozen=True)
class SceneFailure:
    """A scene that raised: which, and the one-line error."""

    scene_index: int
    error: str


def run_scene_safely(scenario: Scenario, seed: int, scene_index: int, world: Any, renderer: Any,
                     items: Sequence[tuple[int, int]], image_format: str,
                     scenes: int, wait_files: bool = True) -> "SceneOutput | SceneFailure":
    """run_scene, with any error (a PyBullet error, an impossible placement) returned as a
    SceneFailure, so the caller decides whether the run stops or records it and goes on."""
    from simgen.sim import PlacementError

    try:
        return run_scene(scenario, seed, scene_index, world, renderer, items, image_format,
                         scenes, wait_files)
    except PlacementError as err:
        return SceneFailure(scene_index, str(err))
    except Exception as err:  # noqa: BLE001 - reported with its scene and seed, never swallowed
        return SceneFailure(scene_index, f"{type(err).__name__}: {err}")


def run_scene(scenario: Scenario, seed: int, scene_index: int, world: Any, renderer: Any,
              items: Sequence[tuple[int, int]] | Sequence[int],
              image_format: str = "png", scenes: int | None = None,
              wait_files: bool = True) -> SceneOutput:
    """Sample, settle, render, label (and augment) and encode one scene's images.

    With `wait_files` False the output's files are Futures of their bytes, the last view's
    still being encoded (SceneOutput.file_bytes waits): the caller goes on to the next scene
    while a thread of its own waits for them (the one-worker run's committer).

    `scenes` is the number of scenes of the run (its -n in scenes), which the split assignment
    needs (simgen.seeding.scene_split); None: the scene alone, a run of scene_index + 1 scenes.
    `items` are (view, variant) pairs; a plain view index means variant 0. Each view is
    rendered once; its `augment.augmentations_per_view` variants are augmented copies of that render."""
    spec = scenario.spec
    scenes = scene_index + 1 if scenes is None else scenes
    per_view = spec.augment.augmentations_per_view if spec.augment else 1
    augmenter = _augmenter(spec.augment.pipeline) if spec.augment else None
    streams = scene_streams(seed, scene_index)
    split = scene_split(spec.splits, seed, scene_index, scenes)
    with stage("sample"):
        sample = sample_scene(scenario, streams.sampling, seed=seed, scene_index=scene_index,
                              split=split)
    # One seed sequence per (view, variant), spawned in a fixed order whatever is rendered.
    variant_seqs = [view_ss.spawn(per_view) for view_ss in streams.views.spawn(spec.views_per_scene)]
    with stage("settle"):
        settled = world.settle(sample, spec.settle)
    look = None
    if renderer.name == "cycles":  # what only Cycles draws, from its own stream
        from simgen.scenario.look import draw_look

        look = draw_look(spec.cycles, sample, spec.categories, streams.look)
    context = _SceneContext(scenario, seed, scene_index, split, sample, settled, renderer, look)
    files, images = [], []
    rendered: dict[int, _Render] = {}
    for item in items:
        view, variant = (item, 0) if isinstance(item, int) else item
        if view not in rendered:
            rendered[view] = _render_view(context, view)
        aug_seed = int(variant_seqs[view][variant].generate_state(1)[0])
        image_files, record = _make_image(context, rendered[view], view, variant, per_view,
                                          augmenter, aug_seed, image_format)
        files += image_files
        images.append(record)
    output = SceneOutput(scene_index, files, {"scene_index": scene_index, "split": split,
                                              "images": images})
    if not wait_files:
        return output
    with stage("encode"):   # what is left of it: the last view's files, mostly
        return SceneOutput(scene_index, output.file_bytes(), output.record)


@dataclass(frozen=True)
class _SceneContext:
    scenario: Scenario
    seed: int
    scene_index: int
    split: str
    sample: Any
    settled: Any
    renderer: Any
    look: Any = None   # simgen.scenario.look.draw_look's, under Cycles

    @property
    def categories(self) -> dict[int, int]:
        return {i: body.category_id for i, body in enumerate(self.sample.labeled, start=1)}

    @cached_property
    def scene_provenance(self) -> dict[str, Any]:
        """Once per scene: every image of the scene shares it. The light is recorded as the
        renderer applies it (EGL takes its direction only); under Cycles, every value Blender
        applied (world, lights, materials, samples, denoiser, noise seeds)."""
        out = self.sample.provenance()
        out["light"] = applied_light(self.renderer.name, self.sample.light)
        if self.look is not None:
            out["cycles"] = self.renderer.applied(self.look)
        return out


@dataclass(frozen=True)
class _Render:
    """One rendered view and what is known of each labeled instance in it, before augmenting."""

    frame: Any
    keypoints: np.ndarray                       # (labeled, 9, 3): x, y, flag
    alone_in_frame: dict[int, np.ndarray]       # instance id -> its mask alone, in the frame
    occlusion: dict[int, Any]                   # instance id -> label.Occlusion


def _render_view(ctx: _SceneContext, view: int) -> _Render:
    spec = ctx.scenario.spec
    camera = ctx.sample.views[view]
    with stage("render"):
        frame = ctx.renderer.render(ctx.settled, camera, ctx.sample.light, ctx.look)
    keypoints = np.zeros((len(ctx.sample.labeled), 9, 3))
    for index, facts in enumerate(ctx.settled.labeled):
        if facts is not None:
            keypoints[index] = label_math.cuboid_keypoints(camera, facts, frame.depth_m)
    alone_in_frame, occluded = {}, {}
    if spec.labels.occlusion == "exact":
        # Half the image on every side catches most of what leaves the frame.
        mx, my = camera.width // 2, camera.height // 2
        seen = label_math.visible_areas(frame.instance_map, ctx.categories)
        uids = [ctx.settled.labeled_body_ids[instance - 1] for instance in seen]
        with stage("render alone (occlusion)"):
            alone_masks = ctx.renderer.render_alone_many(uids, camera, mx, my)
        for (instance, area), uid in zip(seen.items(), uids):
            alone = alone_masks[uid]
            facts = occlusion(area, alone, mx, my, camera.width, camera.height)
            if facts is not None:
                occluded[instance] = facts
                alone_in_frame[instance] = alone[my:my + camera.height, mx:mx + camera.width]
    return _Render(frame, keypoints, alone_in_frame, occluded)


def _make_image(ctx: _SceneContext, render: _Render, view: int, variant: int, per_view: int,
                augmenter: Any, aug_seed: int, image_format: str) -> tuple[list, dict]:
    spec = ctx.scenario.spec
    camera, frame = ctx.sample.views[view], render.frame
    image_id = (ctx.scene_index * spec.views_per_scene + view) * per_view + variant + 1
    rgb, instance_map, keypoints = frame.rgb, frame.instance_map, render.keypoints.copy()
    depth = depth_mm(frame.depth_m, camera.far_m) if spec.outputs.depth else None
    alone_in_frame, augmented = render.alone_in_frame, None
    if augmenter is not None:
        with stage("augment"):
            rgb, instance_map, keypoints, alone_in_frame, depth, augmented = _augment(
                ctx, render, view, variant, augmenter, aug_seed, keypoints, depth)
    height, width = instance_map.shape
    split = ctx.split
    file_name = layout.image_file_name(image_id, image_format)
    # Encoded on the encoding thread while the next view renders; run_scene collects the bytes.
    files = [(layout.image_path(split, file_name),
              encode_later(encode_image, rgb, image_format, IMAGE_TAG))]
    extra_files = {}
    png_name = layout.image_file_name(image_id, "png")
    if depth is not None:
        extra_files["depth_file"] = layout.side_file_path("depth", split, png_name)
        files.append((extra_files["depth_file"], encode_later(encode_png16, depth, IMAGE_TAG)))
    if spec.outputs.instance_ids:
        extra_files["instance_map_file"] = layout.side_file_path(layout.INSTANCE_MAP_DIR, split,
                                                                 png_name)
        files.append((extra_files["instance_map_file"],
                      encode_later(encode_png16, instance_map.astype(np.uint16), IMAGE_TAG)))
    annotations = []
    with stage("label"):
        labels = annotate(instance_map, ctx.categories, spec.labels.min_pixels)
    for label in labels:
        occluded = label_math.occlusion_fields(
            render.occlusion.get(label.instance_id), label,
            alone_in_frame.get(label.instance_id), render.alone_in_frame.get(label.instance_id),
            augmented is not None)
        if occluded and occluded["visibility"] < spec.labels.min_visibility:
            continue
        amodal = None
        if spec.labels.amodal_masks:
            alone = alone_in_frame.get(label.instance_id)
            amodal = (label_math.rle_of_mask(alone) if alone is not None
                      else label.segmentation)   # nothing alone: the visible part is all of it
        annotations.append(_annotation(ctx, camera, label, image_id, occluded,
                                       keypoints[label.instance_id - 1], amodal))
    provenance = {"scenario": ctx.scenario.name, "scenario_sha256": ctx.scenario.sha256,
                  "seed": ctx.seed, "scene_index": ctx.scene_index, "view_index": view,
                  "split": split, "renderer": ctx.renderer.name,
                  "scene": ctx.scene_provenance, "physics": ctx.settled.provenance()}
    if augmented is not None:
        provenance["augment"] = augmented
    return files, records.image_record(image_id, file_name, width, height, extra_files, camera,
                                       provenance, annotations)


def _augment(ctx: _SceneContext, render: _Render, view: int, variant: int, augmenter: Any,
             aug_seed: int, keypoints: np.ndarray, depth: np.ndarray | None) -> tuple:
    """Augment a render: the same seed applies the same transform to every per-pixel layer
    (image, instance map, each object's alone-mask, depth; nearest-neighbour for labels)."""
    frame = render.frame
    if not augmenter.moves_pixels:
        # A photometric pipeline leaves every label layer where it is: only the image goes
        # through (the same draws and bytes; the layers' copies cost ~3 ms an image).
        result = augmenter.apply(frame.rgb, frame.instance_map, np.zeros((0, 2)), aug_seed)
        keypoints = label_math.moved_keypoints(keypoints, keypoints[:, :, :2],
                                               result.instance_map.shape)
        alone_in_frame = render.alone_in_frame
    else:
        alone_ids = list(render.alone_in_frame)
        layers = [render.alone_in_frame[i].astype(np.int32) for i in alone_ids]
        if depth is not None:
            layers.append(depth.astype(np.int32))
        result = augmenter.apply(frame.rgb, frame.instance_map,
                                 keypoints[:, :, :2].reshape(-1, 2), aug_seed, masks=layers)
        keypoints = label_math.moved_keypoints(keypoints, result.keypoints_xy,
                                               result.instance_map.shape)
        alone_in_frame = {i: layer > 0 for i, layer in zip(alone_ids, result.masks)}
        if depth is not None:
            depth = result.masks[-1].astype(np.uint16)
    views = ctx.scenario.spec.views_per_scene
    augmented = {"variant": variant, "render_id": ctx.scene_index * views + view + 1,
                 "seed": aug_seed, "replay": result.replay}
    return result.rgb, result.instance_map, keypoints, alone_in_frame, depth, augmented


def _annotation(ctx: _SceneContext, camera: Any, label: Any, image_id: int,
                occluded: dict[str, Any], keypoints: np.ndarray,
                amodal: dict | None = None) -> dict[str, Any]:
    body = ctx.sample.labeled[label.instance_id - 1]
    facts = ctx.settled.labeled[label.instance_id - 1]
    if label.instance_id <= len(ctx.sample.objects):
        index_key, index = "object_index", label.instance_id - 1
    else:
        index_key, index = "robot_index", body.group_index
    return records.annotation_record(label, image_id, facts, index_key, index, occluded,
                                     keypoints, label_math.pose_cam(camera, facts), amodal)


_AUGMENTERS: dict[str, Any] = {}


def _augmenter(pipeline: dict) -> Any:
    """One Augmenter per pipeline per process (building one costs more than applying it)."""
    import json

    from simgen.augment import Augmenter

    key = json.dumps(pipeline, sort_keys=True)
    if key not in _AUGMENTERS:
        _AUGMENTERS[key] = Augmenter(pipeline)
    return _AUGMENTERS[key]
