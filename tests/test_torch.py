"""simgen.torch: a dataset on disk, and a stream generated while training, in a DataLoader.

The promises: torchvision's detection conventions (shapes, dtypes, XYXY boxes tight to the
masks, tv_tensors where torchvision imports), every field equal to the COCO file's, empty
images as empty tensors; stream image k == image k of `simgen generate` (pixels and labels)
whatever num_workers, `start` resuming, and what an endless stream is."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import simgen
from simgen.errors import SimgenError
from simgen.torch import (DEFAULT_TARGET_KEYS, TARGET_KEYS, SimgenDataset, SimgenStream,
                          collate_fn, tv_tensors_available)
from tests.conftest import REPO, RENDERERS_HERE

TABLETOP = REPO / "scenes/tabletop.yaml"
TINY = ("image.width=96", "image.height=72")
# Depth on, so every target key has something to read.
OVERRIDES = TINY + ("outputs.depth=true",)
IMAGES = 7   # 2 scenes of 4 views, the last one short: a train and a val scene


def _torchvision_imports() -> bool:
    try:
        import torchvision.tv_tensors
    except Exception:  # noqa: BLE001 - a torchvision for another torch fails in many ways
        return False
    return torchvision.tv_tensors is not None


@pytest.fixture(scope="module")
def root(make_dataset):
    return make_dataset(TABLETOP, images=IMAGES, overrides=OVERRIDES)


@pytest.fixture(scope="module")
def everything(root):
    """Every image of every split with every target key."""
    return SimgenDataset(root, split=None, target_keys=TARGET_KEYS)


def _coco(root) -> tuple[dict, dict]:
    """(image id -> COCO image entry, image id -> its annotations), from the files directly."""
    images, annotations = {}, {}
    for path in sorted((root / "annotations").glob("instances_*.json")):
        data = json.loads(path.read_text())
        images.update({im["id"]: im for im in data["images"]})
        for ann in data["annotations"]:
            annotations.setdefault(ann["image_id"], []).append(ann)
    return images, annotations


def _same(a: dict, b: dict) -> None:
    """Two targets hold the same keys and values."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


# --- SimgenDataset ------------------------------------------------------------------------

def test_shapes_dtypes_and_tv_tensors(everything):
    assert len(everything) == IMAGES and everything.ids == list(range(1, IMAGES + 1))
    tv = _torchvision_imports()
    assert tv_tensors_available() == tv
    for index in range(len(everything)):
        image, target = everything[index]
        h, w = 72, 96
        n = len(target["labels"])
        assert image.dtype == torch.uint8 and image.shape == (3, h, w)
        assert list(target) == list(TARGET_KEYS)
        shapes = {"boxes": ((n, 4), torch.float32), "labels": ((n,), torch.int64),
                  "masks": ((n, h, w), torch.uint8), "area": ((n,), torch.float32),
                  "iscrowd": ((n,), torch.int64), "keypoints": ((n, 9, 3), torch.float32),
                  "visibility": ((n,), torch.float32), "truncation": ((n,), torch.float32),
                  "bbox_amodal": ((n, 4), torch.float32), "pose_cam": ((n, 7), torch.float32),
                  "depth": ((h, w), torch.float32), "K": ((3, 3), torch.float32)}
        for key, (shape, dtype) in shapes.items():
            assert tuple(target[key].shape) == shape and target[key].dtype == dtype, key
        assert target["image_id"] == everything.ids[index] == target["image_index"] + 1
        assert isinstance(target["provenance"], dict)
        if tv:   # torchvision imports here: v2 transforms see what to move together
            from torchvision import tv_tensors

            assert isinstance(image, tv_tensors.Image)
            assert isinstance(target["boxes"], tv_tensors.BoundingBoxes)
            assert target["boxes"].format == tv_tensors.BoundingBoxFormat.XYXY
            assert tuple(target["boxes"].canvas_size) == (h, w)
            assert isinstance(target["masks"], tv_tensors.Mask)
        else:    # plain tensors, nothing of torchvision
            assert type(image) is torch.Tensor
            assert type(target["boxes"]) is torch.Tensor and type(target["masks"]) is torch.Tensor
        assert type(target["depth"]) is torch.Tensor and type(target["labels"]) is torch.Tensor


def test_boxes_are_the_mask_boxes(everything):
    seen = 0
    for image, target in everything:
        for box, mask in zip(target["boxes"], target["masks"]):
            ys, xs = np.nonzero(mask.numpy())
            assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            seen += 1
        assert torch.equal(target["area"], target["masks"].sum((1, 2)).float())
    assert seen > 5


def test_every_field_equals_the_coco_files(root, everything):
    import cv2
    from pycocotools import mask as mask_utils

    images, annotations = _coco(root)
    for image, target in everything:
        entry, anns = images[target["image_id"]], annotations.get(target["image_id"], [])
        split = entry["provenance"]["split"]
        bgr = cv2.imread(str(root / "images" / split / entry["file_name"]), cv2.IMREAD_COLOR)
        assert torch.equal(image, torch.from_numpy(bgr[:, :, ::-1].copy()).permute(2, 0, 1))
        mm = cv2.imread(str(root / entry["depth_file"]), cv2.IMREAD_UNCHANGED)
        assert torch.equal(target["depth"], torch.from_numpy(mm.astype(np.float32) / 1000))
        assert target["K"].tolist() == np.float32(entry["camera"]["K"]).tolist()
        assert target["provenance"] == entry["provenance"]
        assert target["labels"].tolist() == [a["category_id"] for a in anns]
        assert target["area"].tolist() == [a["area"] for a in anns]
        assert target["iscrowd"].tolist() == [a["iscrowd"] for a in anns]
        xyxy = [[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]
        assert target["boxes"].tolist() == xyxy
        amodal = [[x, y, x + w, y + h] for x, y, w, h in (a["bbox_amodal"] for a in anns)]
        assert target["bbox_amodal"].tolist() == amodal
        assert target["visibility"].tolist() == np.float32([a["visibility"] for a in anns]).tolist()
        assert target["truncation"].tolist() == np.float32([a["truncation"] for a in anns]).tolist()
        keypoints = np.float32([a["keypoints"] for a in anns]).reshape(len(anns), 9, 3)
        assert target["keypoints"].tolist() == keypoints.tolist()
        pose = np.float32([a["pose_cam"]["position_m"] + a["pose_cam"]["quaternion_xyzw"]
                           for a in anns]).reshape(len(anns), 7)
        assert target["pose_cam"].tolist() == pose.tolist()
        for mask, ann in zip(target["masks"], anns):
            rle = {"size": ann["segmentation"]["size"],
                   "counts": ann["segmentation"]["counts"].encode()}
            assert np.array_equal(mask.numpy(), mask_utils.decode(rle))


def test_an_image_without_objects_gives_empty_tensors(make_dataset):
    root = make_dataset(TABLETOP, images=1, overrides=OVERRIDES + ("labels.min_pixels=100000",))
    image, target = SimgenDataset(root, split=None, target_keys=TARGET_KEYS)[0]
    empty = {"boxes": (0, 4), "labels": (0,), "masks": (0, 72, 96), "area": (0,),
             "iscrowd": (0,), "keypoints": (0, 9, 3), "visibility": (0,), "truncation": (0,),
             "bbox_amodal": (0, 4), "pose_cam": (0, 7)}
    for key, shape in empty.items():
        assert tuple(target[key].shape) == shape, key
    assert image.shape == (3, 72, 96) and target["depth"].shape == (72, 96)
    images, targets = collate_fn([(image, target)] * 2)
    assert len(images) == len(targets) == 2


def test_dataloader_batches_with_the_collate(root):
    train = SimgenDataset(root, split="train")
    assert {train.stored(i).split for i in range(len(train))} == {"train"}
    dataset = SimgenDataset(root, split=None)
    assert list(dataset.target_keys) == list(DEFAULT_TARGET_KEYS)
    for workers in (0, 2):
        # (spawned: see _stream_samples on forking this pytest process)
        loader = DataLoader(dataset, batch_size=3, collate_fn=collate_fn, num_workers=workers,
                            multiprocessing_context="spawn" if workers else None)
        batches = list(loader)
        assert [len(images) for images, _ in batches] == [3, 3, 1]
        ids = [t["image_id"] for _, targets in batches for t in targets]
        assert ids == dataset.ids == list(range(1, IMAGES + 1))
        for (images, targets), start in zip(batches, (0, 3, 6)):
            for i, (image, target) in enumerate(zip(images, targets)):
                want_image, want_target = dataset[start + i]
                assert torch.equal(image, want_image)
                _same(target, want_target)


def test_transforms_move_image_and_boxes_together(root):
    if tv_tensors_available():
        from torchvision.transforms import v2

        flip = v2.RandomHorizontalFlip(p=1.0)
    else:
        def flip(image, target):
            boxes = target["boxes"].clone()
            boxes[:, [0, 2]] = image.shape[-1] - target["boxes"][:, [2, 0]]
            return image.flip(-1), {**target, "boxes": boxes, "masks": target["masks"].flip(-1)}
    plain, flipped = SimgenDataset(root), SimgenDataset(root, transforms=flip)
    image, target = plain[0]
    image2, target2 = flipped[0]
    assert torch.equal(image2, image.flip(-1))
    assert torch.equal(target2["masks"], target["masks"].flip(-1))
    for box, mask in zip(target2["boxes"], target2["masks"]):
        ys, xs = np.nonzero(mask.numpy())
        assert box.tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def test_dataset_refusals(root, tmp_path, make_dataset):
    with pytest.raises(SimgenError, match="no split 'test'"):
        SimgenDataset(root, split="test")
    with pytest.raises(SimgenError, match="not a simgen dataset"):
        SimgenDataset(tmp_path)
    with pytest.raises(SimgenError, match="unknown key 'segmentation'"):
        SimgenDataset(root, target_keys=["boxes", "segmentation"])
    with pytest.raises(SimgenError, match="sequence of keys"):
        SimgenDataset(root, target_keys="boxes")
    none = make_dataset(TABLETOP, images=1, overrides=TINY + ("labels.occlusion=none",))
    with pytest.raises(SimgenError, match="no 'visibility'.*occlusion"):
        SimgenDataset(none, split=None, target_keys=["visibility"])[0]
    with pytest.raises(SimgenError, match="no depth image"):
        SimgenDataset(none, split=None, target_keys=["depth"])[0]


def test_a_file_named_out_of_the_dataset_is_refused(make_dataset, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(make_dataset(TABLETOP, images=1, overrides=TINY), root)
    coco_file = root / "annotations/instances_train.json"
    data = json.loads(coco_file.read_text())
    data["images"][0]["file_name"] = "../../../../etc/passwd"
    coco_file.write_text(json.dumps(data))
    with pytest.raises(SimgenError, match="not a relative path inside"):
        SimgenDataset(root, split=None)[0]


# --- SimgenStream -------------------------------------------------------------------------

def _stream_samples(stream, workers: int, batch_size: int = 3, limit: int | None = None,
                    **loader) -> dict[int, tuple]:
    """image index -> (image, target), through a DataLoader with `workers` workers. Spawned
    unless a test says otherwise: this pytest process has run EGL and thread pools before, and
    a fork of a process with running threads can deadlock in the child on a lock one of them
    held (seen: workers stuck on a futex). A fresh training process forks safely (tested
    below, in a process of its own)."""
    if workers:
        loader.setdefault("multiprocessing_context", "spawn")
    loader = DataLoader(stream, batch_size=batch_size, collate_fn=collate_fn,
                        num_workers=workers, **loader)
    samples = {}
    for images, targets in itertools.islice(loader, limit):
        for image, target in zip(images, targets):
            assert target["image_index"] not in samples   # no image twice
            samples[target["image_index"]] = (image, target)
    return samples


@pytest.mark.parametrize("workers", [0, 2])
def test_stream_image_k_is_generate_image_k(root, everything, workers):
    scenario = simgen.load_scenario(TABLETOP, list(OVERRIDES))
    stream = SimgenStream(scenario, seed=0, images=IMAGES, renderer="tiny",
                          target_keys=TARGET_KEYS)
    assert len(stream) == IMAGES and stream.renderer == "tiny"
    samples = _stream_samples(stream, workers)
    assert sorted(samples) == list(range(IMAGES))
    for k, (image, target) in samples.items():
        want_image, want_target = everything[k]
        assert torch.equal(image, want_image) and type(image) is type(want_image)
        _same(target, want_target)
    splits = {target["provenance"]["split"] for _, target in samples.values()}
    assert splits == {"train", "val"}   # the run size decides the splits, as in generate


def test_stream_start_resumes(everything):
    scenario = simgen.load_scenario(TABLETOP, list(OVERRIDES))
    stream = SimgenStream(scenario, images=IMAGES, start=5, renderer="tiny")
    assert len(stream) == IMAGES - 5
    assert list(stream.scene_plan()) == [(1, [(1, 0), (2, 0)])]   # only what is left
    got = [(target["image_index"], image, target) for image, target in stream]
    assert [k for k, _, _ in got] == [5, 6]
    for k, image, target in got:
        want_image, want_target = everything[k]
        assert torch.equal(image, want_image)
        assert torch.equal(target["masks"], want_target["masks"])
        assert target["provenance"] == want_target["provenance"]
    # Two workers split scenes, never images of one scene.
    assert list(stream.scene_plan(1, 2)) == []
    stream.close()


def test_scene_plan_splits_scenes_among_workers():
    scenario = simgen.load_scenario(TABLETOP, list(TINY))
    stream = SimgenStream(scenario, images=22, start=3, renderer="tiny")
    plans = [list(stream.scene_plan(w, 3)) for w in range(3)]
    scenes = sorted(s for plan in plans for s, _ in plan)
    assert scenes == list(range(6))
    images = sorted(s * 4 + view for plan in plans for s, items in plan for view, _ in items)
    assert images == list(range(3, 22))
    endless = SimgenStream(scenario, images=None, start=9, renderer="tiny")
    assert [s for s, _ in itertools.islice(endless.scene_plan(1, 2), 3)] == [3, 5, 7]
    with pytest.raises(TypeError):
        len(endless)


def test_an_endless_stream_is_a_train_only_run(make_dataset):
    """images=None: every scene a train scene, so image k is image k of generate of the
    scenario with splits {train: 1}; the scenario's hash in each provenance is that one's."""
    train_only = OVERRIDES + ("splits={train: 1}",)
    root = make_dataset(TABLETOP, images=6, overrides=train_only)
    on_disk = SimgenDataset(root, target_keys=TARGET_KEYS)
    stream = SimgenStream(simgen.load_scenario(TABLETOP, list(OVERRIDES)), images=None,
                          renderer="tiny", target_keys=TARGET_KEYS)
    assert stream.scenario.sha256 == simgen.load_scenario(TABLETOP, list(train_only)).sha256
    for k, (image, target) in enumerate(itertools.islice(stream, 6)):
        want_image, want_target = on_disk[k]
        assert target["image_index"] == k
        assert torch.equal(image, want_image)
        _same(target, want_target)
    stream.close()


def test_an_endless_stream_keeps_held_out_assets_out(make_dataset):
    """With splits.hold_out the endless stream's scenes are generate's train scenes: equal
    where generate put the scene in train, and never drawing what val holds out."""
    hold = ("views_per_scene=1", "labels.occlusion=none",
            "splits={train: 0.5, val: 0.5, hold_out: {fraction: 0.5, of: [assets, textures]}}")
    overrides = TINY + hold
    root = make_dataset(TABLETOP, images=6, overrides=overrides)
    on_disk = SimgenDataset(root, split=None)
    stream = SimgenStream(simgen.load_scenario(TABLETOP, list(overrides)), images=None,
                          renderer="tiny")
    compared = 0
    for k, (image, target) in enumerate(itertools.islice(stream, 6)):
        assert target["provenance"]["split"] == "train"
        want_image, want_target = on_disk[k]
        if on_disk.stored(k).split == "train":
            assert torch.equal(image, want_image)
            assert torch.equal(target["masks"], want_target["masks"])
            compared += 1
    assert compared == 3   # the other 3 are val scenes there, train scenes here


def test_stream_refusals():
    scenario = simgen.load_scenario(TABLETOP, list(TINY))
    for kwargs, match in (({"seed": -1}, "seed must be"), ({"images": 0}, "images must be"),
                          ({"images": 4, "start": 4}, "start must be below"),
                          ({"start": True}, "start must be"),
                          ({"image_format": "bmp"}, "image_format must be"),
                          ({"renderer": "vulkan"}, "renderer must be"),
                          ({"target_keys": ["nope"]}, "unknown key")):
        with pytest.raises(SimgenError, match=match):
            SimgenStream(scenario, **{"renderer": "tiny", **kwargs})
    stream = SimgenStream(scenario, images=1, renderer="tiny", target_keys=["boxes"])
    assert stream.target_keys == ("boxes", "image_index", "provenance")


@pytest.mark.slow
def test_stream_jpeg_is_the_bytes_generate_writes(make_dataset):
    """JPEG is lossy: the stream decodes the very bytes generate writes, so it still matches."""
    root = make_dataset(TABLETOP, images=4, overrides=TINY, image_format="jpg")
    on_disk = SimgenDataset(root, split=None)
    stream = SimgenStream(simgen.load_scenario(TABLETOP, list(TINY)), images=4,
                          renderer="tiny", image_format="jpg")
    samples = _stream_samples(stream, 2, batch_size=1)
    assert sorted(samples) == [0, 1, 2, 3]
    for k, (image, target) in samples.items():
        assert torch.equal(image, on_disk[k][0])


@pytest.mark.slow
def test_an_augmented_stream_equals_generate(make_dataset):
    overrides = TINY + ("views_per_scene=2",
                        "augment={pipeline: [{HorizontalFlip: {p: 0.5}}, "
                        "{RandomBrightnessContrast: {p: 1}}], augmentations_per_view: 2}")
    root = make_dataset(TABLETOP, images=10, overrides=overrides)
    on_disk = SimgenDataset(root, split=None)
    stream = SimgenStream(simgen.load_scenario(TABLETOP, list(overrides)), images=10, start=3,
                          renderer="tiny")
    samples = _stream_samples(stream, 2)
    assert sorted(samples) == list(range(3, 10))
    for k, (image, target) in samples.items():
        want_image, want_target = on_disk[k]
        assert torch.equal(image, want_image)
        _same({key: target[key] for key in want_target}, want_target)


@pytest.mark.slow
@pytest.mark.parametrize("renderer", RENDERERS_HERE)
def test_stream_on_every_renderer_with_spawned_workers(make_dataset, renderer):
    """Spawned DataLoader workers (what a process that already rendered with EGL needs)."""
    root = make_dataset(TABLETOP, images=6, overrides=TINY, renderer=renderer)
    on_disk = SimgenDataset(root, split=None)
    stream = SimgenStream(simgen.load_scenario(TABLETOP, list(TINY)), images=6,
                          renderer=renderer)
    assert stream.renderer == renderer
    samples = _stream_samples(stream, 2, multiprocessing_context="spawn")
    assert sorted(samples) == list(range(6))
    for k, (image, target) in samples.items():
        want_image, want_target = on_disk[k]
        assert torch.equal(image, want_image)
        _same({key: target[key] for key in want_target}, want_target)
        assert target["provenance"]["renderer"] == renderer


def test_a_forked_worker_of_an_egl_process_says_what_to_do():
    """EGL does not survive a fork: a forked worker refuses it in one clear error, never
    hangs. This pytest process has started EGL (tests/conftest.py) where it can."""
    scenario = simgen.load_scenario(TABLETOP, list(TINY))
    if "egl" not in RENDERERS_HERE:   # no EGL here: the stream resolves 'auto' to tiny
        assert SimgenStream(scenario, images=1).renderer == "tiny"
        return
    stream = SimgenStream(scenario, images=4, renderer="egl")
    loader = DataLoader(stream, batch_size=None, num_workers=1,
                        multiprocessing_context="fork")
    with pytest.raises(Exception, match="multiprocessing_context='spawn'"):
        next(iter(loader))


@pytest.mark.slow
def test_a_fresh_training_process_streams_on_auto_with_forked_workers(tmp_path):
    """The common case: a training script makes a stream (renderer 'auto') and a DataLoader
    with the default (fork) workers. 'auto' is resolved in a separate process, so this one
    has no EGL to hand down to its forked workers. The script has used OpenCV's thread pool
    first, as augmentation does: a worker forked after that hung when it set OpenCV's
    threads."""
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(
        "import json, sys, cv2, numpy, simgen\n"
        "from torch.utils.data import DataLoader\n"
        "image = numpy.zeros((2000, 2000, 3), numpy.uint8)\n"
        "for _ in range(3): cv2.GaussianBlur(image, (31, 31), 0)\n"
        "from simgen.torch import SimgenStream, collate_fn, _egl_loaded\n"
        f"scenario = simgen.load_scenario({str(TABLETOP)!r}, {list(TINY)!r})\n"
        "stream = SimgenStream(scenario, images=8)\n"
        "loaded = _egl_loaded()\n"
        "indices = sorted(t['image_index'] for _, targets in DataLoader(\n"
        "    stream, batch_size=2, num_workers=2, collate_fn=collate_fn) for t in targets)\n"
        "print(json.dumps([stream.renderer, loaded, indices]))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    renderer, loaded, indices = json.loads(proc.stdout.splitlines()[-1])
    auto = "egl" if "egl" in RENDERERS_HERE else "tiny"   # 'auto' never picks cycles
    assert renderer == auto and loaded is False and indices == list(range(8))
