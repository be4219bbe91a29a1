"""Open any COCO instances dataset, simgen's or not, and find its image files.

`load_coco_source(path, images_dir=None)` accepts:

- a simgen dataset folder: `annotations/instances_<split>.json` + `images/<split>/`;
- any COCO folder with `annotations/*.json` (only the `instances_*.json` files when there are
  any, as in COCO itself, whose annotations/ also holds captions and keypoints files), or, when
  it has no annotations/ folder, with COCO `*.json` files at its top (Roboflow's layout);
- a COCO JSON file, its images in a folder nearby or in `images_dir`.

A JSON file's *split* is its stem without `instances_` (`instances_val2017.json` -> `val2017`).
Its image folder is `images_dir` when given, else the first of these folders that holds the
most of a sample of its `file_name`s: `<root>/images/<split>/`, `<root>/images/`,
`<root>/<split>/`, `<root>/`, the JSON's own folder, then every other folder in `<root>`
(sorted). `<root>` is the dataset folder; for a JSON file, the folder it lies in, or the one
above when that is called `annotations`. Every image file must exist (SimgenError otherwise).

Everything a user can get wrong (no such path, not COCO, unreadable JSON, a missing field, a
value of the wrong type, NaN or Infinity where a number goes, an annotation of an unknown image
or category, a mask whose runs do not cover its size, missing image files) is a SimgenError
with a one-line message naming the file and the entry (`read_coco_file`, which export yolo
shares as `check_coco`); the readers after it can rely on the types. The JSON dicts are returned as read, so extra fields (simgen's camera,
provenance, visibility, ...) are there for whoever wants them. Reads only; writes nothing.
"""

from __future__ import annotations

import math
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from simgen.errors import SimgenError
from simgen.dataset.layout import MANIFEST, split_of
from simgen.dataset.reader import (MAX_DECODE_PIXELS, MAX_PATH_CHARS, inside, read_json,
                                   rle_totals, short)

_SPLIT_ORDER = ("train", "val", "test")
_PROBE_IMAGES = 16       # file names tried per candidate folder when looking for the images


@dataclass(frozen=True, eq=False)
class CocoSplit:
    """One COCO JSON file and the folder its images are in."""

    name: str                               # "train" for instances_train.json
    json_path: Path
    images_dir: Path | None                 # None only when the file lists no images
    images: list[dict[str, Any]]            # as in the JSON, in its order
    annotations: list[dict[str, Any]]
    categories: list[dict[str, Any]]        # sorted by id
    _by_image: dict[int, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    licenses: list[Any] = field(default_factory=list)   # the file's `licenses`, as read

    def image_path(self, image: dict[str, Any]) -> Path:
        """The file of one of this split's images."""
        if self.images_dir is None:  # pragma: no cover - a split with images always has one
            raise SimgenError(f"{self.json_path}: no image folder")
        # Inside images_dir, links included: the loader checked every file_name.
        return self.images_dir / image["file_name"]

    def annotations_of(self, image_id: int) -> list[dict[str, Any]]:
        """The annotations of one image (crowd regions included), in file order."""
        return self._by_image.get(image_id, [])

    def category_names(self) -> dict[int, str]:
        """Category id -> name."""
        return {c["id"]: c["name"] for c in self.categories}


@dataclass(frozen=True, eq=False)
class CocoSource:
    """A COCO dataset on disk: one CocoSplit per JSON file."""

    name: str                 # a short name for people: the folder's (see `source_name`)
    root: Path
    splits: tuple[CocoSplit, ...]
    is_simgen: bool           # root has a simgen manifest.json (it lists every dataset file)

    @property
    def n_images(self) -> int:
        return sum(len(s.images) for s in self.splits)

    def category_names(self) -> list[str]:
        """Every category name, in id order within each split, first appearance first."""
        names: dict[str, None] = {}
        for split in self.splits:
            names.update((c["name"], None) for c in split.categories)
        return list(names)

    def records(self) -> Iterator[tuple[CocoSplit, dict[str, Any], list[dict[str, Any]]]]:
        """(split, image, its annotations) for every image, split by split, in file order."""
        for split in self.splits:
            for image in split.images:
                yield split, image, split.annotations_of(image["id"])


def source_name(path: Path | str) -> str:
    """The name `load_coco_source` gives a dataset at `path`, from the path alone: a folder's
    name; for a JSON file, `<root name>-<split>` (`coco-val2017`)."""
    path = Path(path).absolute()
    if path.is_file():
        return f"{_root_of_json(path).name}-{_split_of(path)}"
    return path.resolve().name or "dataset"


def load_coco_source(path: Path | str, images_dir: Path | str | None = None) -> CocoSource:
    """Read the COCO dataset at `path` (a folder or a JSON file; see the module docstring),
    check it, and find its images (in `images_dir`, when given, for every JSON file)."""
    path = Path(path)
    if images_dir is not None:
        images_dir = Path(images_dir)
        if not images_dir.is_dir():
            raise SimgenError(f"{images_dir}: image folder not found")
    if path.is_file():
        files, root = [path], _root_of_json(path)
    elif path.is_dir():
        files, root = _json_files(path), path
    else:
        raise SimgenError(f"{path}: no such file or folder")
    order = {name: i for i, name in enumerate(_SPLIT_ORDER)}
    files.sort(key=lambda p: (order.get(_split_of(p), len(order)), p.name))
    splits = tuple(_read_split(p, root, images_dir) for p in files)
    return CocoSource(source_name(path), root, splits, _is_simgen(root))


# --- finding the files -------------------------------------------------------------------------

def _split_of(json_path: Path) -> str:
    return split_of(json_path) or json_path.stem


def _root_of_json(json_path: Path) -> Path:
    parent = json_path.absolute().parent
    return parent.parent if parent.name == "annotations" else parent


def _json_files(folder: Path) -> list[Path]:
    annotations = folder / "annotations"
    passed_over: list[str] = []    # JSON files that are not COCO files, for the message
    for where in ([annotations] if annotations.is_dir() else []) + [folder]:
        instances = sorted(where.glob("instances_*.json"))
        if instances:
            return instances
        found = []
        for p in sorted(where.glob("*.json")):
            why = _not_coco(p) if p.name != MANIFEST else "a manifest"
            if why is None:
                found.append(p)
            else:
                passed_over.append(f"{p.name}: {why}")
        if found:
            return found
    others = f"; {', '.join(passed_over[:3])}" if passed_over else ""
    raise SimgenError(f"{folder}: not a COCO dataset (no annotations/*.json and no COCO .json "
                      f"file in it{others})")


def _not_coco(path: Path) -> str | None:
    """Why `path` is not taken for a COCO file, from a cheap sniff of its start, so a folder's
    other JSON files (a manifest, a class list) are passed over; None when it may be one (the
    real check is `read_coco_file`). Only a regular file is opened: a FIFO named x.json would
    block the open, a link to /dev/zero never end."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except (OSError, ValueError) as err:
        return f"cannot be read ({getattr(err, 'strerror', None) or err})"
    if b'"images"' in head or b'"annotations"' in head or b'"categories"' in head:
        return None
    return "no images, annotations or categories near its start"


def _is_simgen(root: Path) -> bool:
    try:
        manifest = read_json(root / MANIFEST, "manifest")
    except SimgenError:
        return False
    return isinstance(manifest, dict) and str(manifest.get("format", "")).startswith("simgen")


def _candidate_dirs(root: Path, json_path: Path, split: str) -> list[Path]:
    named = [root / "images" / split, root / "images", root / split, root, json_path.parent]
    others = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                    and p.name != "annotations") if root.is_dir() else []
    seen: set[Path] = set()
    found = []
    for folder in named + others:
        key = folder.absolute()
        if key not in seen and folder.is_dir():
            seen.add(key)
            found.append(folder)
    return found


def _find_images_dir(json_path: Path, root: Path, split: str, images: list[dict[str, Any]],
                     images_dir: Path | None) -> Path:
    """The folder holding the images (see the module docstring); every file must be there."""
    candidates = [images_dir] if images_dir is not None else _candidate_dirs(root, json_path, split)
    step = max(1, len(images) // _PROBE_IMAGES)
    probe = [im["file_name"] for im in images[::step][:_PROBE_IMAGES]]
    best, best_hits = None, 0
    for folder in candidates:
        hits = sum(_is_file(folder, name) for name in probe)
        if hits > best_hits:
            best, best_hits = folder, hits
    if best is None:
        where = ", ".join(str(c) for c in candidates[:4]) + (", ..." if len(candidates) > 4 else "")
        if images_dir is not None:
            raise SimgenError(f"{json_path}: its image files are not in {images_dir} (looked "
                              f"for {short(probe[0])})")
        raise SimgenError(f"{json_path}: image files not found (looked for {short(probe[0])} "
                          f"in {where or root}); give the folder with --images")
    for index, im in enumerate(images):   # every file_name stays inside the folder, links too
        inside(best, im["file_name"], f"{json_path.name}: images[{index}].file_name")
    missing = [im["file_name"] for im in images if not _is_file(best, im["file_name"])]
    if missing:
        raise SimgenError(f"{best / missing[0]}: image file missing ({len(missing)} of "
                          f"{len(images)} images of {json_path.name} are)")
    return best


def _is_file(folder: Path, name: str) -> bool:
    """(folder / name).is_file(), False for a name that leads out of `folder` by its text
    (absolute, `..`: never looked at; `inside` refuses it) or that the file system refuses
    (a part longer than 255 bytes is ENAMETOOLONG, which Path.is_file raises)."""
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts:
        return False
    try:
        return (folder / pure).is_file()
    except OSError:
        return False


# --- reading and checking one JSON file ----------------------------------------------------------

def _read_split(json_path: Path, root: Path, images_dir: Path | None) -> CocoSplit:
    data = read_coco_file(json_path)
    images, annotations = data["images"], data["annotations"]
    categories = sorted(data["categories"], key=lambda c: c["id"])
    known_images: set[Any] = set()
    for index, image in enumerate(images):
        if image["id"] in known_images:
            raise SimgenError(f"{json_path}: images[{index}]: image id {short(image['id'])} is "
                              "listed twice")
        known_images.add(image["id"])
    known_categories = {c["id"] for c in categories}
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for index, ann in enumerate(annotations):
        if ann["image_id"] not in known_images:
            raise SimgenError(f"{json_path}: annotations[{index}]: unknown image_id "
                              f"{short(ann['image_id'])} (no image has it)")
        if ann["category_id"] not in known_categories:
            raise SimgenError(f"{json_path}: annotations[{index}]: unknown category_id "
                              f"{short(ann['category_id'])} (no category has it)")
        by_image.setdefault(ann["image_id"], []).append(ann)
    split = _split_of(json_path)
    folder = _find_images_dir(json_path, root, split, images, images_dir) if images else None
    licenses = data.get("licenses")
    return CocoSplit(split, json_path, folder, images, annotations, categories, by_image,
                     licenses if isinstance(licenses, list) else [])


def read_coco_file(path: Path) -> dict[str, Any]:
    """A COCO instances file, read and checked once for everything its readers use (mix,
    report, export yolo): every image, annotation and category an object of the right fields
    and types, numbers finite, ids hashable, file names plain strings, masks of bounded size
    whose runs cover exactly their size. SimgenError naming the file and the entry
    (`real.json: images[3].file_name: ...`) otherwise. The dict is returned as read."""
    return check_coco(path, read_json(path, "COCO file"))


def check_coco(path: Path, data: Any) -> dict[str, Any]:
    """`data`, read from the COCO file `path`, when it passes `read_coco_file`'s checks (for a
    reader that read the file itself: export yolo hashes its bytes too)."""
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list)
                                             for key in ("images", "annotations", "categories")):
        raise SimgenError(f"{path}: not a COCO instances file (needs images, annotations and "
                          "categories lists)")
    for index, image in enumerate(data["images"]):
        _check_image(path, index, image)
    strings = []    # (annotation index, counts, pixels): RLE strings, checked in one batch
    for index, ann in enumerate(data["annotations"]):
        strings += _check_annotation(path, index, ann)
    _check_rle_strings(path, strings)
    ids: set[int] = set()
    for index, cat in enumerate(data["categories"]):
        _check_category(path, index, cat, ids)
    return data


def _number(value: Any) -> bool:
    """A finite int or float (JSON's 1e400 reads as inf, NaN and Infinity as themselves)."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bad(path: Path, where: str, message: str, value: Any) -> SimgenError:
    return SimgenError(f"{path}: {where}: {message} (got {short(value)})")


def _entry(path: Path, where: str, entry: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """`entry` when it is an object with every key in `keys`."""
    if not isinstance(entry, dict):
        raise _bad(path, where, "must be an object", entry)
    for key in keys:
        if key not in entry:
            raise SimgenError(f"{path}: {where}: lacks field {key!r}")
    return entry


def _check_image(path: Path, index: int, image: Any) -> None:
    where = f"images[{index}]"
    _entry(path, where, image, ("id", "file_name", "width", "height"))
    # A real dataset's ids are its own business (some use strings), but they key dicts.
    if not (_int(image["id"]) or isinstance(image["id"], str)):
        raise _bad(path, f"{where}.id", "must be an integer or a string", image["id"])
    name = image["file_name"]
    if not (isinstance(name, str) and name and "\0" not in name
            and len(name) <= MAX_PATH_CHARS):
        raise _bad(path, f"{where}.file_name", "must be a non-empty string of at most "
                   f"{MAX_PATH_CHARS} characters, without NUL", name)
    for key in ("width", "height"):
        if not (_number(image[key]) and image[key] > 0):
            raise _bad(path, f"{where}.{key}", "must be a number > 0", image[key])
    if image["width"] * image["height"] > MAX_DECODE_PIXELS:
        raise SimgenError(f"{path}: {where}: {image['width']} x {image['height']} pixels, more "
                          f"than the {MAX_DECODE_PIXELS} allowed")


def _check_annotation(path: Path, index: int, ann: Any) -> list[tuple[int, str, int]]:
    """The checks of one annotation; its RLE string, if any, for `_check_rle_strings`."""
    where = f"annotations[{index}]"
    _entry(path, where, ann, ("image_id", "category_id", "bbox"))
    if not (_int(ann["image_id"]) or isinstance(ann["image_id"], str)):
        raise _bad(path, f"{where}.image_id", "must be an integer or a string", ann["image_id"])
    if not _int(ann["category_id"]):
        raise _bad(path, f"{where}.category_id", "must be an integer", ann["category_id"])
    bbox = ann["bbox"]
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_number, bbox))):
        raise _bad(path, f"{where}.bbox", "must be 4 finite numbers [x, y, w, h]", bbox)
    if "area" in ann and not _number(ann["area"]):
        raise _bad(path, f"{where}.area", "must be a finite number", ann["area"])
    if "iscrowd" in ann and not (_int(ann["iscrowd"]) and ann["iscrowd"] in (0, 1)):
        raise _bad(path, f"{where}.iscrowd", "must be 0 or 1", ann["iscrowd"])
    seg = ann.get("segmentation")
    problem = _segmentation_problem(seg)
    if problem:
        raise _bad(path, f"{where}.segmentation", problem, seg)
    if isinstance(seg, dict) and isinstance(seg["counts"], str):
        return [(index, seg["counts"], seg["size"][0] * seg["size"][1])]
    return []


def _segmentation_problem(seg: Any) -> str | None:
    """What is wrong with a COCO segmentation (None, [], polygons, or an RLE), or None. An
    RLE's size is bounded like an image's (it decodes to that many bytes); its runs must
    cover exactly that size (pycocotools decodes past the end of a shorter mask otherwise)."""
    if seg is None:
        return None
    if isinstance(seg, list):
        if all(isinstance(poly, list) and all(map(_number, poly)) for poly in seg):
            return None
        return "polygons must be lists of finite numbers"
    if not isinstance(seg, dict):
        return "must be polygons or an RLE"
    size = seg.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(_int(v) and v > 0 for v in size)
            and size[0] * size[1] <= MAX_DECODE_PIXELS):
        return f"RLE size must be [height, width] of at most {MAX_DECODE_PIXELS} pixels"
    counts = seg.get("counts")
    if isinstance(counts, str):
        return None
    if not (isinstance(counts, list) and all(_int(c) and c >= 0 for c in counts)):
        return "RLE counts must be a string or a list of run lengths >= 0"
    if sum(counts) != size[0] * size[1]:
        return f"RLE runs must cover its size, {size[0]} x {size[1]} pixels"
    return None


def _check_rle_strings(path: Path, strings: list[tuple[int, str, int]]) -> None:
    totals = rle_totals([counts for _, counts, _ in strings]) if strings else []
    for (index, counts, pixels), total in zip(strings, totals):
        if total != pixels:
            raise _bad(path, f"annotations[{index}].segmentation.counts",
                       "not an RLE string whose runs cover its size", counts)


def _check_category(path: Path, index: int, cat: Any, ids: set[int]) -> None:
    where = f"categories[{index}]"
    _entry(path, where, cat, ("id", "name"))
    if not _int(cat["id"]):
        raise _bad(path, f"{where}.id", "must be an integer", cat["id"])
    if cat["id"] in ids:
        raise SimgenError(f"{path}: {where}: category id {cat['id']} is listed twice")
    ids.add(cat["id"])
    if not (isinstance(cat["name"], str) and cat["name"]):
        raise _bad(path, f"{where}.name", "must be a non-empty string", cat["name"])
