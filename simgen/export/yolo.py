"""Export a simgen (COCO) dataset folder to the Ultralytics YOLO layout.

    YOLO_DIR/images/<split>/<file_name>   OUT's images: copy-on-write clones where the file
                                          system can make them, else copies (see
                                          simgen.dataset.links; hard links only with --link)
    YOLO_DIR/labels/<split>/<stem>.txt    one line per annotation, normalized to [0, 1]
    YOLO_DIR/data.yaml                    train/val/test folders and class names
    YOLO_DIR/simgen_export.json           what made the export (format simgen-yolo/1): the
                                          proof that --overwrite may replace the folder

Boxes are `class cx cy w h`; with segments, `class x1 y1 x2 y2 ...`: the outer contour of the
annotation's RLE mask (cv2.findContours, RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) through the centres
of the mask's boundary pixels, i.e. pixel (i, j) at ((i + 0.5) / W, (j + 0.5) / H). An instance
seen in several parts (split by an occluder) becomes one polygon: the parts are joined by
zero-width bridges between their closest points, largest part first, like Ultralytics'
`merge_multi_segment`, so no visible part is lost. A contour of fewer than 3 points (a line or a
single pixel) is written as the outline of the COCO box, which is that mask exactly.

The class index is the category's position in COCO id order (category_id - 1 for simgen). Splits
with no images are left out. Ultralytics requires a `val` entry: when the dataset has no val
images, data.yaml points val at train so that training still starts, and the result carries a
warning (the CLI prints it as one line on stderr): validation scores are then scores on
training images.

data.yaml has no `path` key, so the export can be moved or copied elsewhere: Ultralytics
(`ultralytics.data.utils.check_det_dataset`) takes the dataset root from `path`, and only when
`path` is absent or empty from the folder of the YAML file itself; a relative `path` (even
`.`) is looked up relative to the current working folder and then to Ultralytics'
DATASETS_DIR, never relative to the YAML file. train/val/test are then relative to data.yaml's
folder.

Everything is validated before anything is written, and the export is built in a hidden sibling
folder renamed to YOLO_DIR at the end: a failure leaves YOLO_DIR as it was and no half-written
file. With `overwrite`, YOLO_DIR may hold a previous simgen YOLO export (its
simgen_export.json has format simgen-yolo/N, and it holds nothing but what an export writes):
it is replaced once the new export is complete. Any other non-empty folder is refused. The same
input always gives the same bytes.

Only a dataset simgen wrote is exported (`simgen generate` or `simgen mix`: its manifest.json
lists every file with its sha256 and size), and only as its manifest lists it: each COCO file
and image is read once and must have the recorded sha256 and size; a hand-made COCO folder, a
changed file or an unlisted one is refused (`simgen verify` tells what changed). COCO files
are checked by the one COCO checker (simgen.dataset.coco_source.check_coco).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from simgen.errors import SimgenError
from simgen.dataset.links import LINK_AUTO, LINK_COPY, LINK_HARD, placer, staged_folder
from simgen.dataset import layout
from simgen.dataset.layout import SPLITS
from simgen.dataset.coco_source import check_coco
from simgen.dataset.images import read_bounded
from simgen.dataset.reader import inside, read_json_bytes, read_manifest, short
from simgen.dataset.writer import write_atomic



@dataclass
class _Split:
    name: str
    images: list[dict[str, Any]]
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by image id


EXPORT_FORMAT = "simgen-yolo/1"
EXPORT_FORMAT_PREFIX = "simgen-yolo/"
MARKER = "simgen_export.json"
# What an export writes at the top of YOLO_DIR: --overwrite replaces a folder holding only these.
EXPORT_ENTRIES = frozenset({"images", "labels", "data.yaml", MARKER})


@dataclass(frozen=True)
class ExportResult:
    out: Path            # YOLO_DIR
    images: int          # images exported (= label files)
    labels: int          # label lines (annotations) written
    splits: dict[str, int]  # split -> images
    warnings: tuple[str, ...] = ()  # e.g. no val split: data.yaml's val is the train images


def export_yolo(dataset: Path | str, out: Path | str, segments: bool = False,
                link: str = LINK_AUTO, overwrite: bool = False) -> ExportResult:
    """Export the simgen dataset folder `dataset` to the YOLO folder `out` (empty or new; with
    `overwrite`, also a previous simgen YOLO export, which is replaced).

    link: "auto" (default) places each image as a copy-on-write clone where the file system
    can, else as a copy; "copy" always copies; "link" hard-links (SimgenError if the file
    system refuses): an edit to a hard-linked image edits the source dataset too.
    """
    if link not in (LINK_AUTO, LINK_COPY, LINK_HARD):
        raise ValueError(f"link must be auto, copy or link (got {link!r})")
    dataset, out = Path(dataset), Path(out)
    splits, names = _read_dataset(dataset, segments)
    _check_target(dataset, out, overwrite)
    split_names = [s.name for s in splits]
    warnings = []
    if "val" not in split_names:
        warnings.append(f"{dataset} has no val images; data.yaml's val is images/"
                        f"{_train_split(split_names)}, so validation scores will be scores on "
                        "training images")

    with staged_folder(out, replace=overwrite) as staging:
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
        counts = {s.name: len(s.images) for s in splits}
        write_atomic(staging / "data.yaml", _data_yaml(split_names, names))
        write_atomic(staging / MARKER, _marker(dataset, segments, counts, n_labels))
    return ExportResult(out, n_images, n_labels, counts, tuple(warnings))


# --- reading and validation (nothing is written before these pass) ---------------------------

# Manifest formats whose datasets are exported: what `simgen generate` and `simgen mix` write.
FORMATS = (layout.DATASET_FORMAT_PREFIX, layout.MIX_FORMAT_PREFIX)
_HASH_THREADS = 8


def _read_dataset(dataset: Path, segments: bool) -> tuple[list[_Split], list[dict[str, Any]]]:
    """The non-empty splits (train, val, test, then others by name) and the categories in id
    order; SimgenError unless `dataset` is a simgen dataset (or mix) whose COCO files and
    images are those its manifest lists, by sha256 and size."""
    files = layout.coco_files(dataset) if dataset.is_dir() else []
    if not files:
        raise SimgenError(f"{dataset}: not a simgen dataset (no annotations/instances_*.json)")
    listed = _read_manifest(dataset)
    order = {name: i for i, name in enumerate(SPLITS)}
    files.sort(key=lambda p: (order.get(layout.split_of(p), len(order)), p.name))
    categories: list[dict[str, Any]] | None = None
    splits = []
    for path in files:
        data = _load_json(dataset, path, listed)
        cats = sorted(data["categories"], key=lambda c: c["id"])
        if categories is None:
            categories = cats
        elif [(c["id"], c["name"]) for c in cats] != [(c["id"], c["name"]) for c in categories]:
            raise SimgenError(f"{path}: categories differ from those of {files[0].name}")
        split = _read_split(path, layout.split_of(path), data, categories, segments)
        if split.images:
            splits.append(split)
    if not splits:
        raise SimgenError(f"{dataset}: the dataset has no images; nothing to export")
    _check_images(dataset, listed, [(layout.image_path(s.name, im["file_name"]),
                                     f"images[{i}] of {layout.coco_path(s.name)}")
                                    for s in splits for i, im in enumerate(s.images)])
    return splits, categories or []


def _read_split(path: Path, name: str, data: dict[str, Any], categories: list[dict[str, Any]],
                segments: bool) -> _Split:
    """One COCO file's images (file names checked) and annotations by image."""
    split = _Split(name, data["images"])
    by_id = {}
    stems: set[str] = set()
    for index, image in enumerate(split.images):
        rel = PurePosixPath(image["file_name"])
        if rel.is_absolute() or ".." in rel.parts or not rel.name:
            raise SimgenError(f"{path}: images[{index}].file_name must be a relative path inside "
                              f"images/{name}/ (got {short(image['file_name'])})")
        for key in ("width", "height"):   # the loader allows any number > 0; YOLO needs pixels
            if not isinstance(image[key], int):
                raise SimgenError(f"{path}: images[{index}].{key} must be an integer "
                                  f"(got {short(image[key])})")
        if image["id"] in by_id:
            raise SimgenError(f"{path}: image id {short(image['id'])} is listed twice")
        label = rel.with_suffix(".txt").as_posix()
        if label in stems:
            raise SimgenError(f"{path}: two images share the label file labels/{name}/{label}")
        stems.add(label)
        by_id[image["id"]] = image
    known = {c["id"] for c in categories}
    for index, ann in enumerate(data["annotations"]):
        image = by_id.get(ann["image_id"])
        if image is None:
            raise SimgenError(f"{path}: annotations[{index}]: unknown image_id "
                              f"{short(ann['image_id'])}")
        if ann["category_id"] not in known:
            raise SimgenError(f"{path}: annotations[{index}]: unknown category_id "
                              f"{short(ann['category_id'])}")
        if ann.get("iscrowd", 0):
            continue  # crowd regions are not objects to detect (simgen writes none)
        if segments:
            _check_mask(path, index, ann, image)
        split.annotations.setdefault(ann["image_id"], []).append(ann)
    return split


def _check_mask(path: Path, index: int, ann: dict[str, Any], image: dict[str, Any]) -> None:
    """--segments reads the RLE string of the image's size that simgen writes (the loader
    checked its runs cover that size: pycocotools decodes it safely)."""
    seg = ann.get("segmentation")
    if not (isinstance(seg, dict) and isinstance(seg.get("counts"), str)):
        raise SimgenError(f"{path}: annotations[{index}].segmentation: --segments needs an RLE "
                          f"with string counts, as simgen writes (got {short(seg)})")
    if seg["size"] != [image["height"], image["width"]]:
        raise SimgenError(f"{path}: annotations[{index}].segmentation: size "
                          f"{short(seg['size'])} is not its image's "
                          f"[{image['height']}, {image['width']}]")


def _read_manifest(dataset: Path) -> dict[str, Any]:
    """The manifest's files list (relative path -> {sha256, bytes}) of a dataset simgen wrote;
    SimgenError for a folder without one (a hand-made COCO folder: its files are not known)."""
    manifest = read_manifest(dataset)
    fmt = manifest.get("format")
    if not (isinstance(fmt, str) and fmt.startswith(FORMATS)):
        raise SimgenError(f"{dataset / layout.MANIFEST}: format {short(fmt)} is not a dataset "
                          "simgen generate or simgen mix wrote")
    return manifest["files"]


def _check_listed(dataset: Path, listed: dict[str, Any], rel: str, sha256: str,
                  size: int) -> None:
    entry = listed.get(rel)
    if not isinstance(entry, dict):
        raise SimgenError(f"{dataset / rel}: not listed in {dataset / layout.MANIFEST}; the "
                          "dataset changed after simgen wrote it (see simgen verify)")
    if entry.get("sha256") != sha256 or entry.get("bytes") != size:
        raise SimgenError(f"{dataset / rel}: does not match the sha256 and size in "
                          f"{dataset / layout.MANIFEST}; the dataset changed after simgen wrote "
                          "it (see simgen verify)")


def _load_json(dataset: Path, path: Path, listed: dict[str, Any]) -> dict[str, Any]:
    """A COCO file read once: its bytes against the manifest, its content checked by the
    one COCO checker (simgen.dataset.coco_source)."""
    data, raw = read_json_bytes(path, "COCO file")
    _check_listed(dataset, listed, path.relative_to(dataset).as_posix(),
                  hashlib.sha256(raw).hexdigest(), len(raw))
    return check_coco(path, data)


def _facts(path: Path) -> tuple[str, int] | None:
    """(sha256, size) of a regular file, or None (missing, a FIFO, a device, too large)."""
    data = read_bounded(path)
    return None if data is None else (hashlib.sha256(data).hexdigest(), len(data))


def _check_images(dataset: Path, listed: dict[str, Any], images: list[tuple[str, str]]) -> None:
    """Every image (relative path, the COCO entry naming it) inside the dataset (links
    followed), a regular file, and the bytes its manifest lists: each read once, in threads
    (hashing releases the GIL); only the hashes leave them. Hard links made later need no
    second read."""
    from concurrent.futures import ThreadPoolExecutor

    # Inside the dataset, links included: a link out of it is never read or exported.
    paths = [inside(dataset, rel, f"image ({entry})") for rel, entry in images]
    threads = max(1, min(_HASH_THREADS, os.cpu_count() or 1, len(paths)))
    with ThreadPoolExecutor(threads) as pool:
        facts = list(pool.map(_facts, paths))
    for (rel, entry), path, found in zip(images, paths, facts):
        if found is None:
            raise SimgenError(f"{path}: image file missing (or not a regular file); {entry} "
                              "names it")
        _check_listed(dataset, listed, rel, *found)


def _check_target(dataset: Path, out: Path, overwrite: bool, kind: str = "YOLO",
                  prefix: str = EXPORT_FORMAT_PREFIX,
                  ours: Callable[[str], bool] = EXPORT_ENTRIES.__contains__) -> None:
    """OUT may be written: new, empty, or (with `overwrite`) a previous simgen `kind` export,
    proved by its marker of format `prefix`N and holding only top-level names `ours` accepts;
    never the dataset or a folder holding it. Shared by every export format."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SimgenError(f"{out}: output path exists and is not a folder")
    src, dst = Path(os.path.abspath(dataset)), Path(os.path.abspath(out))
    if dst == src or src in dst.parents:
        raise SimgenError(f"{out}: the export folder must lie outside the dataset {dataset}")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise SimgenError(f"{out}: output folder is not empty (use --overwrite to replace "
                              f"a simgen {kind} export there)")
        if not _provably_export(out, prefix):
            raise SimgenError(f"{out}: not a simgen {kind} export (no {MARKER} of format "
                              f"{prefix}N), so --overwrite will not replace it; "
                              "choose an empty or new folder")
        foreign = sorted(p.name for p in out.iterdir() if not ours(p.name))
        if foreign:
            raise SimgenError(f"{out}: holds {foreign[0]!r}, which simgen export did not "
                              "write, so --overwrite will not replace it; move it or choose "
                              "another folder")
        if dst in src.parents:
            raise SimgenError(f"{out}: holds the dataset {dataset}; --overwrite would remove it")


def _provably_export(out: Path, prefix: str = EXPORT_FORMAT_PREFIX) -> bool:
    """OUT holds a simgen export: its marker, a JSON object with the export format id (of
    `prefix`). A file that is merely named like it is not enough."""
    from simgen.dataset.reader import read_json

    try:
        marker = read_json(out / MARKER, "export marker", max_bytes=1 << 20)
    except SimgenError:
        return False
    return isinstance(marker, dict) and isinstance(marker.get("format"), str) \
        and marker["format"].startswith(prefix)


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

    mask = mask_of(ann["segmentation"]).astype(np.uint8)   # checked by _check_mask
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


def _train_split(splits: list[str]) -> str:
    return "train" if "train" in splits else splits[0]


# Why data.yaml has no `path` (see the module docstring), for whoever opens the file.
_YAML_HEADER = ("# simgen export yolo. No `path` key: Ultralytics then resolves train, val and "
                "test\n# against this file's folder, so the export can be moved.\n")


def _data_yaml(splits: list[str], categories: list[dict[str, Any]]) -> bytes:
    import yaml

    data: dict[str, Any] = {"train": f"images/{_train_split(splits)}"}
    data["val"] = f"images/{'val' if 'val' in splits else _train_split(splits)}"
    if "test" in splits:
        data["test"] = "images/test"
    data["names"] = {i: c["name"] for i, c in enumerate(categories)}
    return (_YAML_HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)).encode()


def _marker(dataset: Path, segments: bool, counts: dict[str, int], labels: int) -> bytes:
    import json

    from simgen import __version__
    from simgen.dataset.writer import sha256_file

    marker = {"format": EXPORT_FORMAT, "simgen_version": __version__,
              "source": {"path": Path(os.path.abspath(dataset)).as_posix(),
                         "manifest_sha256": sha256_file(dataset / layout.MANIFEST)},
              "segments": segments, "images": counts, "labels": labels}
    return json.dumps(marker, indent=1, ensure_ascii=False).encode() + b"\n"
