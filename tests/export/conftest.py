"""Helpers shared by the export tests: a tiny hand-made COCO dataset of known shapes."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

W, H = 40, 30


def _rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _ann(ann_id: int, image_id: int, category_id: int, mask: np.ndarray) -> dict:
    rle = _rle(mask)
    bbox = [int(v) for v in mask_utils.toBbox({**rle, "counts": rle["counts"].encode()})]
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "iscrowd": 0,
            "bbox": bbox, "area": int(mask.sum()), "segmentation": rle}


def _blank() -> np.ndarray:
    return np.zeros((H, W), bool)


def write_handmade(root: Path) -> Path:
    """A tiny COCO folder: known shapes, categories listed out of id order, an empty image,
    an instance in two parts, one touching the image corner, one a 1-pixel line."""
    rect, disk, parts, corner, line = (_blank() for _ in range(5))
    rect[3:10, 5:15] = True
    yy, xx = np.mgrid[:H, :W]
    disk[(xx - 27) ** 2 + (yy - 18) ** 2 <= 36] = True
    parts[20:27, 2:8] = True
    parts[22:29, 12:17] = True
    corner[0:5, 30:40] = True
    line[15, 10:30] = True
    categories = [{"id": 2, "name": "b", "supercategory": "object"},
                  {"id": 1, "name": "a", "supercategory": "object"}]
    splits = {
        "train": ([{"id": 1, "file_name": "000000001.png", "width": W, "height": H},
                   {"id": 2, "file_name": "000000002.png", "width": W, "height": H}],
                  [_ann(1, 1, 2, rect), _ann(2, 1, 1, disk), _ann(3, 1, 1, parts),
                   _ann(4, 1, 2, corner)]),
        "val": ([{"id": 3, "file_name": "000000003.png", "width": W, "height": H}],
                [_ann(1, 3, 1, line)]),
    }
    for split, (images, anns) in splits.items():
        (root / "images" / split).mkdir(parents=True)
        for im in images:
            pixels = np.full((H, W, 3), 40 * im["id"], np.uint8)
            cv2.imwrite(str(root / "images" / split / im["file_name"]), pixels)
        coco = {"info": {}, "licenses": [], "images": images, "annotations": anns,
                "categories": categories}
        (root / "annotations").mkdir(exist_ok=True)
        (root / "annotations" / f"instances_{split}.json").write_text(json.dumps(coco))
    return root
