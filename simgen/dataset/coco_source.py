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

Everything a user can get wrong (no such path, not COCO, unreadable JSON, a missing field, an
annotation of an unknown image or category, missing image files) is a SimgenError with a
one-line message. The JSON dicts are returned as read, so extra fields (simgen's camera,
provenance, visibility, ...) are there for whoever wants them. Reads only; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from simgen.errors import SimgenError
from simgen.dataset.layout import MANIFEST, split_of
from simgen.dataset.reader import MAX_DECODE_PIXELS, inside, read_json

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
    for where in ([annotations] if annotations.is_dir() else []) + [folder]:
        instances = sorted(where.glob("instances_*.json"))
        if instances:
            return instances
        found = [p for p in sorted(where.glob("*.json")) if p.name != MANIFEST
                 and _looks_like_coco(p)]
        if found:
            return found
    raise SimgenError(f"{folder}: not a COCO dataset (no annotations/*.json and no COCO .json "
                      "file in it)")


def _looks_like_coco(path: Path) -> bool:
    """Cheap sniff of the file's start, so a folder's other JSON files (a manifest, a class
    list) are not taken for COCO files; the real check is `_load_json`."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return b'"images"' in head or b'"annotations"' in head or b'"categories"' in head


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
        hits = sum((folder / name).is_file() for name in probe)
        if hits > best_hits:
            best, best_hits = folder, hits
    if best is None:
        where = ", ".join(str(c) for c in candidates[:4]) + (", ..." if len(candidates) > 4 else "")
        if images_dir is not None:
            raise SimgenError(f"{json_path}: its image files are not in {images_dir} (looked "
                              f"for {probe[0]!r})")
        raise SimgenError(f"{json_path}: image files not found (looked for "
                          f"{probe[0]!r} in {where or root}); give the folder with --images")
    for im in images:   # every file_name stays inside the folder, links included
        inside(best, str(im["file_name"]), f"{json_path.name}: image {im.get('id')!r} file_name")
    missing = [im["file_name"] for im in images if not (best / im["file_name"]).is_file()]
    if missing:
        raise SimgenError(f"{best / missing[0]}: image file missing ({len(missing)} of "
                          f"{len(images)} images of {json_path.name} are)")
    return best


# --- reading and checking one JSON file ----------------------------------------------------------

def _read_split(json_path: Path, root: Path, images_dir: Path | None) -> CocoSplit:
    data = _load_json(json_path)
    images, annotations = data["images"], data["annotations"]
    categories = sorted(data["categories"], key=lambda c: c["id"])
    known_images: set[int] = set()
    for image in images:
        if image["id"] in known_images:
            raise SimgenError(f"{json_path}: image id {image['id']} is listed twice")
        known_images.add(image["id"])
    known_categories = {c["id"] for c in categories}
    by_image: dict[int, list[dict[str, Any]]] = {}
    for ann in annotations:
        if ann["image_id"] not in known_images:
            raise SimgenError(f"{json_path}: annotation {ann.get('id')}: unknown image_id "
                              f"{ann['image_id']}")
        if ann["category_id"] not in known_categories:
            raise SimgenError(f"{json_path}: annotation {ann.get('id')}: unknown category_id "
                              f"{ann['category_id']}")
        by_image.setdefault(ann["image_id"], []).append(ann)
    split = _split_of(json_path)
    folder = _find_images_dir(json_path, root, split, images, images_dir) if images else None
    licenses = data.get("licenses")
    return CocoSplit(split, json_path, folder, images, annotations, categories, by_image,
                     licenses if isinstance(licenses, list) else [])


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load_json(path: Path) -> dict[str, Any]:
    data = read_json(path, "COCO file")
    if not isinstance(data, dict) or not all(isinstance(data.get(key), list)
                                             for key in ("images", "annotations", "categories")):
        raise SimgenError(f"{path}: not a COCO instances file (needs images, annotations and "
                          "categories lists)")
    try:
        for image in data["images"]:
            if not (isinstance(image["file_name"], str) and image["file_name"]):
                raise SimgenError(f"{path}: image {image['id']}: file_name must be a "
                                  "non-empty string")
            if not (_number(image["width"]) and _number(image["height"])
                    and image["width"] > 0 and image["height"] > 0):
                raise SimgenError(f"{path}: image {image['id']}: width and height must be "
                                  "numbers > 0")
            if image["width"] * image["height"] > MAX_DECODE_PIXELS:
                raise SimgenError(f"{path}: image {image['id']}: {image['width']} x "
                                  f"{image['height']} pixels, more than the "
                                  f"{MAX_DECODE_PIXELS} allowed")
        for ann in data["annotations"]:
            ann["image_id"], ann["category_id"]
            bbox = ann["bbox"]
            if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_number, bbox))):
                raise SimgenError(f"{path}: annotation {ann.get('id')}: bbox must be 4 numbers "
                                  "[x, y, w, h]")
            seg = ann.get("segmentation")
            if isinstance(seg, dict):   # an RLE decodes to its size: bounded like images
                size = seg.get("size")
                if not (isinstance(size, list) and len(size) == 2 and all(map(_number, size))
                        and 0 < size[0] * size[1] <= MAX_DECODE_PIXELS):
                    raise SimgenError(f"{path}: annotation {ann.get('id')}: RLE size must be "
                                      f"[height, width] of at most {MAX_DECODE_PIXELS} pixels "
                                      f"(got {str(size)[:40]})")
        for cat in data["categories"]:
            cat["id"], cat["name"]
    except (KeyError, TypeError) as err:
        raise SimgenError(f"{path}: an image, annotation or category lacks field {err}") from None
    return data
