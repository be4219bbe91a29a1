"""The COCO rules every simgen dataset must keep, as one reusable check."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from simgen.dataset.writer import sha256_file
from simgen.dataset.images import read_text_tag


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
