"""simgen data in a PyTorch DataLoader (needs the `torch` extra; torchvision is optional).

`SimgenDataset` reads a generated dataset from disk (map-style); `SimgenStream` generates while
training, writing no files (an IterableDataset). Both give what torchvision's detection
datasets give (`CocoDetection` wrapped by `wrap_dataset_for_transforms_v2`): `(image, target)`,
`image` a uint8 C x H x W tensor, `target` a dict of the keys asked for:

    boxes         float32 N x 4, XYXY in pixels (x1 = x + w: tight to the mask)
    labels        int64 N, category ids (1..C, the scenario's order)
    masks         uint8 N x H x W, from the RLE
    image_id      int, the COCO image id (image index + 1)
    area          float32 N, mask pixels
    iscrowd       int64 N (always 0)
  on request:
    keypoints     float32 N x 9 x 3, the 3D box's 8 corners and centre: x, y, flag (0, 1, 2)
    visibility    float32 N   } labels.occlusion: exact only
    truncation    float32 N   }
    bbox_amodal   float32 N x 4, XYXY, may leave the image   }
    pose_cam      float32 N x 7, position (m) then quaternion xyzw, in the camera frame
    depth         float32 H x W, metres, 0 where nothing was seen (outputs.depth only)
    K             float32 3 x 3, the camera intrinsics
    image_index   int, the image's index (image_id - 1)
    provenance    dict, the COCO entry's provenance (scenario, seed, scene, view, ...)

A stream's targets always carry image_index and provenance. When torchvision imports, image,
boxes and masks are `tv_tensors` (Image, BoundingBoxes, Mask), so v2 transforms move them
together; the other keys are plain tensors that transforms leave alone. An image with no
objects gives tensors with N = 0 and the right other dimensions. `collate_fn` batches
detection samples as lists.

Reading goes through simgen.dataset.reader (manifest, COCO files, paths kept inside the
dataset, bounded reads); generating through simgen.run.job.SceneWorker, as `simgen generate`.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from simgen.dataset.layout import DATASET_FORMAT_PREFIX
from simgen.dataset.reader import StoredImage, inside, read_manifest, read_stored, rle_totals, short
from simgen.errors import SimgenError
from simgen.geometry import CUBOID_KEYPOINT_NAMES as KEYPOINT_NAMES

__all__ = ["SimgenDataset", "SimgenStream", "collate_fn", "tv_tensors_available",
           "DEFAULT_TARGET_KEYS", "TARGET_KEYS"]

DEFAULT_TARGET_KEYS = ("boxes", "labels", "masks", "image_id", "area", "iscrowd")
TARGET_KEYS = DEFAULT_TARGET_KEYS + ("keypoints", "visibility", "truncation", "bbox_amodal",
                                     "pose_cam", "depth", "K", "image_index", "provenance")
# What every sample of a stream carries, so a training run can record exactly what it saw.
STREAM_KEYS = ("image_index", "provenance")
# A stream without end has no run size; its scenes are all train scenes, of a run this long
# (any length gives the same train scenes: see SimgenStream).
_ENDLESS_SCENES = 2**62

Sample = tuple[torch.Tensor, dict[str, Any]]
Transforms = Callable[[Any, dict[str, Any]], tuple[Any, dict[str, Any]]]
# (path relative to the dataset, what it is, cv2 imread flag) -> the decoded array
Reader = Callable[[str, str, int], np.ndarray]

_UNSET = object()
_TV: Any = _UNSET


def _tv_tensors() -> Any:
    """torchvision.tv_tensors, or None where torchvision is missing or does not import (a
    torchvision built for another torch fails at import, not only with ImportError)."""
    global _TV
    if _TV is _UNSET:
        try:
            from torchvision import tv_tensors
        except Exception:  # noqa: BLE001 - any failure means: plain tensors
            tv_tensors = None
        _TV = tv_tensors
    return _TV


def tv_tensors_available() -> bool:
    """Whether samples carry torchvision tv_tensors (torchvision imports here)."""
    return _tv_tensors() is not None


def collate_fn(batch: Sequence[Sample]) -> tuple[list[Any], list[dict[str, Any]]]:
    """(images, targets) of a batch, as lists: detection images and targets differ in size, and
    torchvision's detection models take lists."""
    return [image for image, _ in batch], [target for _, target in batch]


def _check_keys(target_keys: Sequence[str], always: Sequence[str] = ()) -> tuple[str, ...]:
    if isinstance(target_keys, str):
        raise SimgenError(f"target_keys must be a sequence of keys (got the string "
                          f"{short(target_keys)})")
    unknown = [k for k in target_keys if k not in TARGET_KEYS]
    if unknown:
        raise SimgenError(f"target_keys: unknown key {short(unknown[0])} (known: "
                          f"{', '.join(TARGET_KEYS)})")
    keys = list(dict.fromkeys(target_keys))
    return tuple(keys + [k for k in always if k not in keys])


# --- one sample from a stored image, wherever its files come from ---------------------------

def _field(annotations: list[dict[str, Any]], key: str, where: str, hint: str = "") -> list:
    try:
        return [ann[key] for ann in annotations]
    except KeyError:
        raise SimgenError(f"{where}: an annotation has no {key!r}{hint}") from None


def _xyxy(boxes_xywh: list, where: str) -> torch.Tensor:
    boxes = torch.tensor(boxes_xywh, dtype=torch.float32).reshape(-1, 4)
    if boxes_xywh and len(boxes_xywh[0]) != 4:
        raise SimgenError(f"{where}: a box is not [x, y, w, h]")
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def _masks(annotations: list[dict[str, Any]], height: int, width: int,
           where: str) -> np.ndarray:
    """N x H x W uint8 from the RLEs, each checked (size, runs covering H * W exactly) before
    pycocotools decodes it."""
    from pycocotools import mask as mask_utils

    if not annotations:
        return np.zeros((0, height, width), np.uint8)
    segs = _field(annotations, "segmentation", where)
    ok = all(isinstance(s, dict) and s.get("size") == [height, width]
             and isinstance(s.get("counts"), str) for s in segs)
    if not ok or (rle_totals([s["counts"] for s in segs]) != height * width).any():
        raise SimgenError(f"{where}: a segmentation is not a COCO RLE of the image's "
                          f"{height} x {width} pixels")
    rles = [{"size": [height, width], "counts": s["counts"].encode("ascii")} for s in segs]
    return np.ascontiguousarray(mask_utils.decode(rles).transpose(2, 0, 1))


def _sample(stored: StoredImage, read: Reader, keys: tuple[str, ...], where: str) -> Sample:
    import cv2

    entry, annotations = stored.image, stored.annotations
    try:
        image_id, height, width = int(entry["id"]), int(entry["height"]), int(entry["width"])
    except (KeyError, TypeError, ValueError) as err:
        raise SimgenError(f"{where}: image entry lacks {err}") from None
    where = f"{where}: image {image_id}"
    bgr = read(stored.file, "image file", cv2.IMREAD_COLOR)
    if bgr.shape[:2] != (height, width):
        raise SimgenError(f"{where}: the image file is {bgr.shape[1]} x {bgr.shape[0]}, its "
                          f"entry says {width} x {height}")
    image = torch.from_numpy(np.ascontiguousarray(bgr[:, :, ::-1].transpose(2, 0, 1)))
    try:
        target = _target(entry, annotations, keys, read, (height, width), where)
    except (KeyError, TypeError, ValueError, RuntimeError) as err:   # a hostile COCO file
        raise SimgenError(f"{where}: cannot read its labels: {short(err, 100)}") from None
    tv = _tv_tensors()
    if tv is not None:
        image = tv.Image(image)
        if "boxes" in target:
            target["boxes"] = tv.BoundingBoxes(target["boxes"], format="XYXY",
                                               canvas_size=(height, width))
        if "masks" in target:
            target["masks"] = tv.Mask(target["masks"])
    return image, target


def _target(entry: dict[str, Any], annotations: list[dict[str, Any]], keys: tuple[str, ...],
            read: Reader, size: tuple[int, int], where: str) -> dict[str, Any]:
    import cv2

    (height, width), image_id = size, int(entry["id"])
    occlusion = " (labels.occlusion: none makes none)"
    n = len(annotations)
    target: dict[str, Any] = {}
    for key in keys:
        if key == "boxes":
            target[key] = _xyxy(_field(annotations, "bbox", where), where)
        elif key == "labels":
            target[key] = torch.tensor(_field(annotations, "category_id", where),
                                       dtype=torch.int64).reshape(n)
        elif key == "masks":
            target[key] = torch.from_numpy(_masks(annotations, height, width, where))
        elif key == "image_id":
            target[key] = image_id
        elif key == "image_index":
            target[key] = image_id - 1
        elif key == "area":
            target[key] = torch.tensor(_field(annotations, "area", where),
                                       dtype=torch.float32).reshape(n)
        elif key == "iscrowd":
            target[key] = torch.tensor(_field(annotations, "iscrowd", where),
                                       dtype=torch.int64).reshape(n)
        elif key == "keypoints":
            target[key] = torch.tensor(_field(annotations, "keypoints", where),
                                       dtype=torch.float32).reshape(n, len(KEYPOINT_NAMES), 3)
        elif key in ("visibility", "truncation"):
            target[key] = torch.tensor(_field(annotations, key, where, occlusion),
                                       dtype=torch.float32).reshape(n)
        elif key == "bbox_amodal":
            target[key] = _xyxy(_field(annotations, "bbox_amodal", where, occlusion), where)
        elif key == "pose_cam":
            poses = _field(annotations, "pose_cam", where)
            target[key] = torch.tensor([p["position_m"] + p["quaternion_xyzw"] for p in poses],
                                       dtype=torch.float32).reshape(n, 7)
        elif key == "depth":
            if "depth_file" not in entry:
                raise SimgenError(f"{where}: no depth image (made without outputs.depth: true)")
            mm = read(entry["depth_file"], "depth file", cv2.IMREAD_UNCHANGED)
            if mm.dtype != np.uint16 or mm.shape != (height, width):
                raise SimgenError(f"{where}: the depth file is not {width} x {height} uint16")
            target[key] = torch.from_numpy(mm.astype(np.float32) / np.float32(1000.0))
        elif key == "K":
            target[key] = torch.tensor(entry["camera"]["K"], dtype=torch.float32).reshape(3, 3)
        elif key == "provenance":
            target[key] = entry.get("provenance", {})
    return target


def _decoded(data: bytes | None, what: str, flag: int, where: str) -> np.ndarray:
    from simgen.dataset.images import decode_bounded

    array = None if data is None else decode_bounded(data, flag)
    if array is None:
        raise SimgenError(f"{where}: cannot read {what} (not a regular file of a readable "
                          "size, or not a PNG/JPEG)")
    return array


# --- a dataset on disk ------------------------------------------------------------------------

class SimgenDataset(Dataset):
    """A simgen dataset on disk (what `simgen generate` wrote to `root`), one split, as
    torchvision detection datasets: `dataset[i]` is `(image, target)` (see the module's
    docstring for the keys), images in image-id order. `split=None` takes every split.
    `transforms(image, target)` is applied last (torchvision v2 transforms take that pair)."""

    def __init__(self, root: str | Path, split: str | None = "train",
                 transforms: Transforms | None = None,
                 target_keys: Sequence[str] = DEFAULT_TARGET_KEYS) -> None:
        self.root = Path(root)
        self.target_keys = _check_keys(target_keys)
        self.transforms = transforms
        self.manifest = read_manifest(self.root)
        kind = self.manifest.get("format")
        if not isinstance(kind, str) or not kind.startswith(DATASET_FORMAT_PREFIX):
            raise SimgenError(f"{self.root}: not a dataset `simgen generate` made (format "
                              f"{short(kind)}); a mix of real and synthetic images opens "
                              "with torchvision's CocoDetection")
        stored = read_stored(self.root)
        splits = sorted({s.split for s in stored.values()})
        if split is not None and split not in splits:
            raise SimgenError(f"{self.root}: no split {short(split)} (it has "
                              f"{', '.join(splits) or 'no images'})")
        self.split = split
        self.ids = sorted(i for i, s in stored.items() if split is None or s.split == split)
        self._stored = {i: stored[i] for i in self.ids}

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> Sample:
        image_id = self.ids[index]
        image, target = _sample(self._stored[image_id], self._read, self.target_keys,
                                str(self.root))
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target

    def stored(self, index: int) -> StoredImage:
        """The COCO entry and annotations of sample `index`, as the dataset holds them."""
        return self._stored[self.ids[index]]

    def _read(self, rel: str, what: str, flag: int) -> np.ndarray:
        from simgen.dataset.images import read_bounded

        path = inside(self.root, rel, what)
        return _decoded(read_bounded(path), what, flag, str(path))


# --- a stream generated while training --------------------------------------------------------

def _train_only(scenario: Any) -> Any:
    """The scenario with every scene drawn as a train scene: splits train 1, val 0, test 0,
    `hold_out` kept (held-out assets still never appear in train scenes). Made with
    model_copy, not validation, since a hold_out without val or test scenes does not load; the
    scenario's hash (in each image's provenance) is that of this spec."""
    spec = scenario.spec
    splits = spec.splits.model_copy(update={"train": 1.0, "val": 0.0, "test": 0.0})
    return dataclasses.replace(scenario, spec=spec.model_copy(update={"splits": splits}))


def _egl_loaded() -> bool:
    """Whether an EGL library is mapped into this process (an EGL renderer started here, or in
    the process this one was forked from: the libraries stay loaded after their world closes)."""
    try:
        with open("/proc/self/maps") as maps:
            return any("libEGL" in line for line in maps)
    except OSError:
        return False


_RESOLVE = """
import json, pickle, sys
from simgen.errors import SimgenError
from simgen.render import RendererUnavailable, start_renderer
from simgen.sim import World
scenario, name = pickle.load(sys.stdin.buffer)
try:
    with World() as world:
        print(json.dumps({"name": start_renderer(world, name, scenario).name}))
except (RendererUnavailable, ValueError, SimgenError) as err:
    print(json.dumps({"error": str(err)}))
"""


def _resolve_renderer(scenario: Any, renderer: str) -> str:
    """'tiny' or 'egl': 'auto' resolved once, here, so every DataLoader worker renders alike.
    EGL is tried in a separate process while this one has none loaded: Mesa's threads do not
    survive a fork, and DataLoader workers are forked from this process (see _scene_worker)."""
    import json
    import pickle
    import subprocess
    import sys

    from simgen.render import RENDERERS, RendererUnavailable, start_renderer
    from simgen.sim import World

    if renderer not in RENDERERS:
        raise SimgenError(f"renderer must be one of {', '.join(RENDERERS)} (got "
                          f"{short(renderer)})")
    if renderer == "tiny" or _egl_loaded():
        with World() as world:
            try:
                return start_renderer(world, renderer, scenario).name
            except RendererUnavailable as err:
                raise SimgenError(f"renderer {renderer!r}: {err}") from None
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.run([sys.executable, "-c", _RESOLVE],
                          input=pickle.dumps((scenario, renderer)), capture_output=True, env=env,
                          timeout=600)
    try:
        answer = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SimgenError(f"renderer {renderer!r}: could not be started: "
                          f"{proc.stderr.decode(errors='replace').strip()[-500:]}") from None
    if "error" in answer:
        raise SimgenError(f"renderer {renderer!r}: {answer['error']}")
    return answer["name"]


class SimgenStream(IterableDataset):
    """Images generated while training, no files written: `(image, target)` as SimgenDataset
    gives them, the target always carrying `image_index` and `provenance`.

    Image k of the stream has the same pixels and labels as image k of `simgen generate` with
    the same scenario, seed and `-n images` (and format), whatever the DataLoader's
    `num_workers`: each worker keeps its own PyBullet world and renders whole scenes, scene s
    going to worker s % num_workers, so no scene is rendered twice. The order samples arrive in
    interleaves the workers' scenes; each carries its index. `start` resumes: the stream then
    holds images start, start + 1, ... (a run that saw every image below k resumes with
    start=k).

    `images=None` streams without end. There is no run size then, which `generate` splits its
    scenes by, so every scene is a train scene: image k is image k of `generate` of the
    scenario with `splits: {train: 1}` (any -n above k; `hold_out` kept, so held-out assets
    never appear), and equally image k of any `generate` run that put its scene in train.
    `self.scenario` is the scenario streamed (its hash is in every provenance).

    A scene that fails (an impossible placement) raises SimgenError, or with `skip_failed` is
    left out (its images never come)."""

    def __init__(self, scenario: Any, seed: int = 0, images: int | None = None, start: int = 0,
                 renderer: str = "auto", image_format: str = "png",
                 transforms: Transforms | None = None,
                 target_keys: Sequence[str] = DEFAULT_TARGET_KEYS,
                 skip_failed: bool = False) -> None:
        from simgen.dataset.images import FORMATS
        from simgen.scenario import Scenario, load

        if not isinstance(scenario, Scenario):
            scenario = load(scenario)
        for name, value, least in (("seed", seed, 0), ("start", start, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise SimgenError(f"{name} must be an integer >= {least} (got {short(value)})")
        if images is not None:
            if not isinstance(images, int) or isinstance(images, bool) or images < 1:
                raise SimgenError(f"images must be an integer >= 1 or None (got "
                                  f"{short(images)})")
            if start >= images:
                raise SimgenError(f"start must be below images ({images}) (got {start})")
        if image_format not in FORMATS:
            raise SimgenError(f"image_format must be one of {', '.join(FORMATS)} (got "
                              f"{short(image_format)})")
        self.scenario = scenario if images is not None else _train_only(scenario)
        self.seed, self.images, self.start = seed, images, start
        self.image_format = image_format
        self.transforms = transforms
        self.target_keys = _check_keys(target_keys, STREAM_KEYS)
        self.skip_failed = skip_failed
        self.images_per_scene = scenario.spec.images_per_scene
        self.scenes = (math.ceil(images / self.images_per_scene) if images is not None
                       else None)
        self.renderer = _resolve_renderer(self.scenario, renderer)
        self._worker: tuple[int, Any] | None = None   # (pid, SceneWorker) of this process

    def __len__(self) -> int:
        if self.images is None:
            raise TypeError("a SimgenStream with images=None has no length")
        return self.images - self.start

    def __getstate__(self) -> dict[str, Any]:
        # A DataLoader worker started with spawn makes its own world, never the parent's.
        return {**self.__dict__, "_worker": None}

    def scene_plan(self, worker: int = 0, workers: int = 1
                   ) -> Iterator[tuple[int, list[tuple[int, int]]]]:
        """(scene index, (view, variant) pairs) that DataLoader worker `worker` of `workers`
        renders, in order: the scenes from the one holding image `start`, every `workers`-th,
        each with its images in [start, images)."""
        per_scene = self.images_per_scene
        per_view = self.scenario.spec.augment.augmentations_per_view \
            if self.scenario.spec.augment else 1
        end = self.images if self.images is not None else math.inf
        scene = self.start // per_scene + worker
        while scene * per_scene < end:
            first = max(self.start, scene * per_scene)
            last = min(end, (scene + 1) * per_scene)
            yield scene, [((k % per_scene) // per_view, (k % per_scene) % per_view)
                          for k in range(first, int(last))]
            scene += workers

    def __iter__(self) -> Iterator[Sample]:
        import json

        from simgen.scene import SceneFailure

        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        scene_worker = self._scene_worker(in_loader_worker=info is not None)
        for scene_index, items in self.scene_plan(worker, workers):
            result = scene_worker.run(self.seed, scene_index, items)
            if isinstance(result, SceneFailure):
                if self.skip_failed:
                    continue
                raise SimgenError(f"{self.scenario.source}: scene {scene_index} (seed "
                                  f"{self.seed}): {result.error}")
            files = dict(result.files)
            # Through JSON, as the record reaches the COCO file: the same lists, ints, floats.
            record = json.loads(json.dumps(result.record))
            for item in record["images"]:
                stored = StoredImage(record["split"], item["image"], item["annotations"])
                image, target = _sample(
                    stored, lambda rel, what, flag: _decoded(files.get(rel), what, flag, rel),
                    self.target_keys, f"scene {scene_index}")
                if self.transforms is not None:
                    image, target = self.transforms(image, target)
                yield image, target

    def _scene_worker(self, in_loader_worker: bool) -> Any:
        """This process's SceneWorker, made on first use and kept for the stream's life (a
        persistent DataLoader worker keeps it across epochs). A forked worker inherits the
        parent's, and makes its own: a PyBullet client or EGL context is not shared."""
        from simgen.run.job import ONE_THREAD_ENV, Job, SceneWorker

        pid = os.getpid()
        if self._worker is None or self._worker[0] != pid:
            if in_loader_worker and self.renderer == "egl" and _egl_loaded():
                raise SimgenError(
                    "SimgenStream: this DataLoader worker was forked from a process that has "
                    "started EGL (a render, generate or stream ran in it), and EGL does not "
                    "survive a fork: give the DataLoader multiprocessing_context='spawn', or "
                    "make the stream before anything in the process renders with EGL")
            if in_loader_worker:
                # One thread each for Mesa and BLAS, as generate's workers: read when the
                # renderer starts, below. Not cv2.setNumThreads: in a worker forked from a
                # process whose OpenCV thread pool has run (any augmentation, resize or blur in
                # the training script), that call deadlocks (measured: the workers hang on a
                # futex; tests/test_torch.py's fresh-process test runs that case).
                os.environ.update(ONE_THREAD_ENV)
            job = Job(self.scenario, self.renderer, self.image_format,
                      self.scenes if self.scenes is not None else _ENDLESS_SCENES)
            self._worker = (pid, SceneWorker(job))
        return self._worker[1]

    def close(self) -> None:
        """Close this process's world (a later iteration makes a new one)."""
        if self._worker is not None and self._worker[0] == os.getpid():
            self._worker[1].close()
        self._worker = None
