"""Shared test helpers: the shipped scenes, the renderers this machine has, small datasets
generated once per session, and the checks every generated dataset must pass."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import simgen
from simgen.dataset.images import read_text_tag
from simgen.dataset.writer import sha256_file

REPO = Path(__file__).resolve().parent.parent
SCENES = sorted((REPO / "scenes").glob("*.yaml"))
# Small images, and few Cycles samples (tiny and EGL ignore the cycles section): every promise
# holds at any size and sample count, and the suite stays within CI's minutes.
SMALL = ["image.width=160", "image.height=120", "cycles.samples=4"]


def _renderers_here() -> list[str]:
    """tiny, egl where it starts, and cycles: every promise is tested on each renderer the
    machine has. Cycles is never left out: its Blender comes with the test command
    (`simgen cycles install`), and a test of it fails, saying so, where it is missing."""
    from simgen.render import RendererUnavailable, start_renderer
    from simgen.sim import World

    with World() as world:
        try:
            return ["tiny", start_renderer(world, "egl").name, "cycles"]
        except RendererUnavailable:
            return ["tiny", "cycles"]


RENDERERS_HERE = _renderers_here()


def scenes_for(renderer: str) -> list[Path]:
    """The shipped scenarios `renderer` renders exactly (EGL refuses some light settings)."""
    from simgen.render.capabilities import egl_refusal

    if renderer != "egl":
        return SCENES
    return [s for s in SCENES if egl_refusal(simgen.load_scenario(s, SMALL)) is None]


@pytest.fixture(scope="session")
def make_dataset(tmp_path_factory):
    """generate(...) into a fresh folder, cached by arguments for the whole session."""
    cache: dict[tuple, Path] = {}

    def make(scene: Path | str, images: int = 4, seed: int = 0, overrides: tuple = tuple(SMALL),
             renderer: str = "tiny", image_ids=None, image_format: str = "png",
             workers: int = 1) -> Path:
        key = (str(scene), images, seed, overrides, renderer, image_ids, image_format, workers)
        if key not in cache:
            out = tmp_path_factory.mktemp("dataset")
            scenario = simgen.load_scenario(scene, list(overrides))
            simgen.generate(scenario, out, images=images, seed=seed, renderer=renderer,
                            image_ids=image_ids, image_format=image_format, overwrite=True,
                            workers=workers)
            cache[key] = out
        return cache[key]

    return make


# --- dataset checks shared by the run and scene tests --------------------------------------

def dataset_files(out: Path, run_state: bool = True) -> dict[str, bytes]:
    """Every file of a dataset folder (relative path -> bytes), for byte-for-byte comparisons;
    without the `.simgen/` run state when `run_state` is false."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and (run_state or ".simgen" not in p.parts)}


def check_dataset(out: Path) -> dict[str, COCO]:
    """Assert every rule from DESIGN.md on the dataset in `out`; return the loaded COCO files."""
    manifest = json.loads((out / "manifest.json").read_text())
    for rel, entry in manifest["files"].items():
        assert sha256_file(out / rel) == entry["sha256"], rel
        assert (out / rel).stat().st_size == entry["bytes"], rel
    loaded = {}
    seen_image_ids = set()
    for ann_file in sorted((out / "annotations").glob("instances_*.json")):
        split = ann_file.stem.split("_", 1)[1]
        data = json.loads(ann_file.read_text())
        assert set(data) >= {"info", "licenses", "images", "annotations", "categories"}
        names = manifest["scenario"]["resolved"]["categories"]
        assert [c["id"] for c in data["categories"]] == list(range(1, len(names) + 1))
        assert [c["name"] for c in data["categories"]] == names
        ann_ids = [a["id"] for a in data["annotations"]]
        assert ann_ids == list(range(1, len(ann_ids) + 1))
        images = {im["id"]: im for im in data["images"]}
        assert len(images) == len(data["images"]) and min(images, default=1) >= 1
        assert not seen_image_ids & set(images)
        seen_image_ids |= set(images)
        for im in data["images"]:
            path = out / "images" / split / im["file_name"]
            raw = path.read_bytes()
            decoded = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
            assert decoded.shape[:2] == (im["height"], im["width"])
            assert "simgen" in read_text_tag(raw)
            assert im["provenance"]["split"] == split
        for ann in data["annotations"]:
            im = images[ann["image_id"]]
            assert ann["iscrowd"] == 0 and 1 <= ann["category_id"] <= len(names)
            assert isinstance(ann["segmentation"]["counts"], str)
            assert ann["segmentation"]["size"] == [im["height"], im["width"]]
            x, y, w, h = ann["bbox"]
            assert w >= 1 and h >= 1 and x >= 0 and y >= 0
            assert x + w <= im["width"] and y + h <= im["height"]
            rle = {"size": ann["segmentation"]["size"], "counts": ann["segmentation"]["counts"].encode()}
            assert mask_utils.toBbox(rle).tolist() == ann["bbox"]
            assert int(mask_utils.area(rle)) == ann["area"] == int(mask_utils.decode(rle).sum())
        coco = COCO(str(ann_file))
        if data["annotations"]:
            for iou_type in ("bbox", "segm"):
                detections = [{**a, "score": 1.0} for a in data["annotations"]]
                evaluator = COCOeval(coco, coco.loadRes(detections), iou_type)
                evaluator.evaluate()
                evaluator.accumulate()
                evaluator.summarize()
                assert evaluator.stats[0] == 1.0, (split, iou_type)
        loaded[split] = coco
    assert sum(len(c.imgs) for c in loaded.values()) == sum(manifest["counts"]["images"].values())
    return loaded


# --- a foreign COCO dataset, for mix and verify of a mix -------------------------------------

REAL_CATEGORIES = [{"id": 5, "name": "mug", "supercategory": "kitchen"},   # out of id order
                   {"id": 9, "name": "plant", "supercategory": "garden"},  # real only
                   {"id": 2, "name": "ball", "supercategory": "toy"}]


def write_real(root: Path) -> Path:
    """A 'real' COCO dataset in a non-simgen layout: root/annotations.json + root/imgs/, odd
    ids, a subfolder, mixed formats, extra fields, polygons, an image without objects and an
    annotation without iscrowd. Returns the JSON file's folder."""
    rng = np.random.default_rng(7)
    images = [
        {"id": 101, "file_name": "a.jpg", "width": 40, "height": 30, "license": 3,
         "date_captured": "2024-05-01"},
        {"id": 57, "file_name": "b.png", "width": 32, "height": 24},
        {"id": 300, "file_name": "sub/c.png", "width": 40, "height": 30, "flickr_url": ""},
        {"id": 4, "file_name": "d.png", "width": 20, "height": 20},
    ]
    for im in images:
        path = root / "imgs" / im["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 256, (im["height"], im["width"], 3), np.uint8))
    annotations = [
        {"id": 9001, "image_id": 101, "category_id": 5, "bbox": [2.5, 3.0, 10.0, 8.0],
         "area": 80.0, "iscrowd": 0, "segmentation": [[2.5, 3, 12.5, 3, 12.5, 11, 2.5, 11]],
         "attributes": {"occluded": False}, "score": 1},
        {"id": 17, "image_id": 101, "category_id": 9, "bbox": [20, 5, 6, 12], "area": 50,
         "iscrowd": 0, "segmentation": [[20, 5, 26, 5, 26, 17]]},
        {"id": 3, "image_id": 57, "category_id": 2, "bbox": [1, 1, 5, 5], "area": 25,
         "segmentation": [[1, 1, 6, 1, 6, 6, 1, 6]]},                     # no iscrowd
        {"id": 44, "image_id": 300, "category_id": 5, "bbox": [0, 0, 40, 30], "area": 1200,
         "iscrowd": 0, "segmentation": [[0, 0, 40, 0, 40, 30, 0, 30]]},
        {"id": 45, "image_id": 300, "category_id": 2, "bbox": [4, 4, 4, 4], "area": 16,
         "iscrowd": 0, "segmentation": [[4, 4, 8, 4, 8, 8, 4, 8]]},
    ]
    coco = {"info": {"description": "handmade real"},
            "licenses": [{"id": 3, "name": "CC-BY", "url": ""}],
            "images": images, "annotations": annotations, "categories": REAL_CATEGORIES}
    (root / "annotations.json").write_text(json.dumps(coco))
    return root
