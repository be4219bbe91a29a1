"""Export a simgen (COCO) dataset folder to the Ultralytics YOLO layout.

    YOLO_DIR/images/<split>/<file_name>   hard links to OUT's images (copies where impossible)
    YOLO_DIR/labels/<split>/<stem>.txt    one line per annotation, normalized to [0, 1]
    YOLO_DIR/data.yaml                    path, train/val/test folders and class names

Boxes are `class cx cy w h`; with segments, `class x1 y1 x2 y2 ...`: the outer contour of the
annotation's RLE mask (cv2.findContours, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) through the centres
of the mask's boundary pixels, i.e. pixel (i, j) at ((i + 0.5) / W, (j + 0.5) / H). An instance
seen in several parts (split by an occluder) becomes one polygon: the parts are joined by
zero-width bridges between their closest points, largest part first, like Ultralytics'
`merge_multi_segment`, so no visible part is lost. A contour of fewer than 3 points (a line or a
single pixel) is written as the outline of the COCO box, which is that mask exactly.

The class index is the category's position in COCO id order (category_id - 1 for simgen). Splits
with no images are left out; when val is missing, data.yaml points val at train so that
Ultralytics still starts. Everything is validated before anything is written, and the export is
built in a hidden sibling folder renamed to YOLO_DIR at the end: a failure leaves no YOLO_DIR and
no half-written file. The same input always gives the same bytes (data.yaml's `path` aside).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from simgen.errors import SimgenError
from simgen.dataset.links import LINK_AUTO, LINK_COPY, LINK_HARD, placer, staged_folder
from simgen.dataset import layout
from simgen.dataset.layout import SPLITS
from simgen.dataset.reader import inside, read_json
from simgen.dataset.writer import write_atomic



@dataclass
class _Split:
    name: str
    images: list[dict[str, Any]]
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by image id


@dataclass(frozen=True)
class ExportResult:
    out: Path            # YOLO_DIR
    images: int          # images exported (= label files)
    labels: int          # label lines (annotations) written
    splits: dict[str, int]  # split -> images


def export_yolo(dataset: Path | str, out: Path | str, segments: bool = False,
                link: str = LINK_AUTO) -> ExportResult:
    """Export the simgen dataset folder `dataset` to the YOLO folder `out` (empty or new).

    link: "auto" hard-links images where possible, else copies; "copy" always copies; "link"
    requires hard links (SimgenError if the file system refuses).
    """
    if link not in (LINK_AUTO, LINK_COPY, LINK_HARD):
        raise ValueError(f"link must be auto, copy or link (got {link!r})")
    dataset, out = Path(dataset), Path(out)
    splits, names = _read_dataset(dataset)
    _check_target(dataset, out)

    out_abs = Path(os.path.abspath(out))
    with staged_folder(out) as staging:
        place = placer(link)
        classes = {c["id"]: i for i, c in enumerate(names)}  # COCO id order -> 0..N-1
        n_images = n_labels = 0
        for split in splits:
            for image in split.images:
                rel = PurePosixPath(image["file_name"])
                place(dataset / "images" / split.name / rel, staging / "images" / split.name / rel)
                lines = [_label_line(ann, image, classes, segments)
                         for ann in split.annotations.get(image["id"], [])]
                write_atomic(staging / "labels" / split.name / rel.with_suffix(".txt"),
                             "".join(line + "\n" for line in lines).encode())
                n_images += 1
                n_labels += len(lines)
        write_atomic(staging / "data.yaml", _data_yaml(out_abs, [s.name for s in splits], names))
    return ExportResult(out, n_images, n_labels, {s.name: len(s.images) for s in splits})


# --- reading and validation (nothing is written before these pass) ---------------------------

def _read_dataset(dataset: Path) -> tuple[list[_Split], list[dict[str, Any]]]:
    """The non-empty splits (train, val, test, then others by name) and the categories in id
    order; SimgenError unless `dataset` is a readable simgen/COCO dataset folder."""
    files = layout.coco_files(dataset) if dataset.is_dir() else []
    if not files:
        raise SimgenError(f"{dataset}: not a simgen dataset (no annotations/instances_*.json)")
    order = {name: i for i, name in enumerate(SPLITS)}
    files.sort(key=lambda p: (order.get(layout.split_of(p), len(order)), p.name))
    categories: list[dict[str, Any]] | None = None
    splits = []
    for path in files:
        name = layout.split_of(path)
        data = _load_json(path)
        cats = sorted(data["categories"], key=lambda c: c["id"])
        if categories is None:
            categories = cats
        elif [(c["id"], c["name"]) for c in cats] != [(c["id"], c["name"]) for c in categories]:
            raise SimgenError(f"{path}: categories differ from those of {files[0].name}")
        split = _Split(name, data["images"])
        if not split.images:
            continue
        by_id = {}
        stems: set[str] = set()
        for image in split.images:
            rel = PurePosixPath(image["file_name"])
            if rel.is_absolute() or ".." in rel.parts or not rel.name:
                raise SimgenError(f"{path}: image {image['id']}: file_name must be a relative "
                                  f"path inside images/{name}/ (got {image['file_name']!r})")
            if image["id"] in by_id:
                raise SimgenError(f"{path}: image id {image['id']} is listed twice")
            label = rel.with_suffix(".txt").as_posix()
            if label in stems:
                raise SimgenError(f"{path}: two images share the label file labels/{name}/{label}")
            stems.add(label)
            # Inside the dataset, links included: a link out of it is never exported.
            if not inside(dataset, layout.image_path(name, rel.as_posix()), "image").is_file():
                raise SimgenError(f"{dataset / 'images' / name / rel}: image file missing")
            by_id[image["id"]] = image
        known = {c["id"] for c in categories}
        for ann in data["annotations"]:
            if ann["image_id"] not in by_id:
                raise SimgenError(f"{path}: annotation {ann.get('id')}: unknown image_id "
                                  f"{ann['image_id']}")
            if ann["category_id"] not in known:
                raise SimgenError(f"{path}: annotation {ann.get('id')}: unknown category_id "
                                  f"{ann['category_id']}")
            if ann.get("iscrowd", 0):
                continue  # crowd regions are not objects to detect (simgen writes none)
            split.annotations.setdefault(ann["image_id"], []).append(ann)
        splits.append(split)
    if not splits:
        raise SimgenError(f"{dataset}: the dataset has no images; nothing to export")
    return splits, categories or []


def _load_json(path: Path) -> dict[str, Any]:
    data = read_json(path, "COCO file")
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list)
                                             for key in ("images", "annotations", "categories")):
        raise SimgenError(f"{path}: not a COCO instances file (needs images, annotations and "
                          "categories lists)")
    try:
        for image in data["images"]:
            image["id"], image["file_name"]
            if not (isinstance(image["width"], int) and isinstance(image["height"], int)
                    and image["width"] > 0 and image["height"] > 0):
                raise SimgenError(f"{path}: image {image['id']}: width and height must be "
                                  "integers > 0")
        for ann in data["annotations"]:
            ann["image_id"], ann["category_id"]
            bbox = ann["bbox"]
            if not (isinstance(bbox, list) and len(bbox) == 4
                    and all(isinstance(v, (int, float)) for v in bbox)):
                raise SimgenError(f"{path}: annotation {ann.get('id')}: bbox must be 4 numbers "
                                  "[x, y, w, h]")
        for cat in data["categories"]:
            cat["id"], cat["name"]
    except (KeyError, TypeError) as err:
        raise SimgenError(f"{path}: an image, annotation or category lacks field {err}") from None
    return data


def _check_target(dataset: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SimgenError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise SimgenError(f"{out}: output folder is not empty; choose an empty or new folder")
    src, dst = Path(os.path.abspath(dataset)), Path(os.path.abspath(out))
    if dst == src or src in dst.parents:
        raise SimgenError(f"{out}: the export folder must lie outside the dataset {dataset}")


# --- writing ---------------------------------------------------------------------------------

def _clip(v: float) -> float:
    return 0.0 if not v > 0.0 else (1.0 if v >= 1.0 else v)  # also maps -0.0 and NaN to 0.0


def _fmt(values: list[float]) -> str:
    return " ".join(f"{_clip(v):.6f}" for v in values)


def _label_line(ann: dict[str, Any], image: dict[str, Any], classes: dict[int, int],
                segments: bool) -> str:
    cls = classes[ann["category_id"]]
    width, height = image["width"], image["height"]
    if segments:
        points = _polygon(ann, width, height)
        return f"{cls} " + _fmt([v for x, y in points for v in (x / width, y / height)])
    x, y, w, h = ann["bbox"]
    x1, y1 = _clip(x / width), _clip(y / height)
    x2, y2 = _clip((x + w) / width), _clip((y + h) / height)
    return f"{cls} " + _fmt([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def _polygon(ann: dict[str, Any], width: int, height: int) -> list[tuple[float, float]]:
    """The annotation's mask outline in pixel-edge coordinates (see the module docstring)."""
    import cv2
    import numpy as np

    from simgen.label import mask_of

    seg = ann.get("segmentation")
    if not (isinstance(seg, dict) and isinstance(seg.get("counts"), str)):
        raise SimgenError(f"annotation {ann.get('id')}: --segments needs an RLE segmentation "
                          "with string counts, as simgen writes")
    mask = mask_of(seg).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    parts = [c.reshape(-1, 2).astype(np.float64) for c in contours if len(c)]
    # Largest first (by pixel area, then point count, then position: deterministic).
    parts.sort(key=lambda p: (-cv2.contourArea(p.astype(np.float32)), -len(p),
                              tuple(p.min(axis=0))))
    points = _merge_parts(parts)
    if len(points) == 0 or len(np.unique(points, axis=0)) < 3:
        x, y, w, h = ann["bbox"]
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return [(px + 0.5, py + 0.5) for px, py in points.tolist()]


def _merge_parts(parts: list) -> Any:
    """One closed polygon from several: each next part is spliced in at the closest pair of
    points (one on the polygon so far, one on the part), going out and back over a zero-width
    bridge: [..., a, b, (rest of the part), b, a, ...]."""
    import numpy as np

    if not parts:
        return np.zeros((0, 2))
    polygon = parts[0]
    for part in parts[1:]:
        d = ((polygon[:, None, :] - part[None, :, :]) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(d)), d.shape)
        ring = np.concatenate([np.roll(part, -j, axis=0), part[j:j + 1]])
        polygon = np.concatenate([polygon[:i + 1], ring, polygon[i:]])
    return polygon


def _data_yaml(out: Path, splits: list[str], categories: list[dict[str, Any]]) -> bytes:
    import yaml

    data: dict[str, Any] = {"path": str(out)}
    data["train"] = f"images/{'train' if 'train' in splits else splits[0]}"
    data["val"] = f"images/{'val' if 'val' in splits else data['train'][len('images/'):]}"
    if "test" in splits:
        data["test"] = "images/test"
    data["names"] = {i: c["name"] for i, c in enumerate(categories)}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
