"""`simgen mix`: one COCO dataset from a real COCO dataset and a simgen dataset.

    MIXED/images/<split>/000000001.png       every image, renamed to its new id
    MIXED/annotations/instances_<split>.json
    MIXED/manifest.json                      format simgen-mix/1: both sources, the fraction
                                             requested and achieved (per split), the seed,
                                             and the sha256 and size of every file

Real data is the ground truth of a mix, so it passes through untouched: every real image and
annotation is kept, each annotation with every field and value it had except the renumbered
`id`, `image_id` and `category_id`, and with the fields COCO clients index on added where it
lacks them: `iscrowd: 0`, and the keypoint fields below. Image files are placed as
copy-on-write clones where the file system can make them, else copied (hard links only on
request: an edit to a linked image edits the source), never re-encoded.

- Categories are matched by exact name: the real dataset's first, in its id order, then the
  synthetic-only ones; ids become 1..K. A category on both sides keeps the real entry's fields
  and gains those only the synthetic entry has (simgen's cuboid `keypoints` and `skeleton`,
  which the synthetic annotations use).
- Keypoints, as in COCO's own person_keypoints files, where every annotation of a category with
  a keypoint schema has `keypoints` and `num_keypoints`: when any category of the result has a
  schema (simgen's 9 cuboid points), a real annotation of a category with a K-point schema that
  has no keypoints gets `keypoints` of 3K zeros and `num_keypoints: 0` (no keypoint labeled:
  COCOeval ignores it for keypoint AP, its box and mask count as before), and one of a
  category without a schema gets `num_keypoints: 0` and no `keypoints` (a category without a
  schema has no keypoints to list; pycocotools' showAnns would look for its skeleton). So
  pycocotools' COCOeval(iouType="keypoints") runs on the result with its default categories.
  A real annotation with keypoints keeps them (3K numbers, else the mix is refused) and gains
  `num_keypoints` (its points with flag > 0) if it lacks it.
- Ids: images 1..N over the whole result (so file names are unique), in split order (train,
  val, test, then others by name), real images before synthetic ones in each split;
  annotations 1..M in each file, like `simgen generate` writes them.
- Splits: a real `instances_<split>.json` keeps its split; a real JSON file named otherwise
  (`annotations.json`, Roboflow's `_annotations.coco.json`) goes to `real_split` (train).
  Synthetic images, from whichever split of the simgen dataset, go to `synthetic_split`.
- Synthetic fraction F (0 <= F < 1) is the share of synthetic images in `synthetic_split`, the
  split they are added to (other splits stay all real): all real images are kept, and with
  n_real the real images of that split, n_syn = round(F * n_real / (1 - F)) synthetic images
  are drawn (halves round up, computed exactly from F's decimal form) without replacement with
  `numpy.random.default_rng(seed)` from the synthetic images in id order, then kept in id order.
  A fraction > 0 of a split the real data has no image in cannot be met and is refused.
  F=None takes every synthetic image. The manifest's `synthetic_fraction` records `requested`,
  `achieved` (the share in synthetic_split), `by_split` (the share in every split) and
  `overall`; each COCO file's `info.synthetic_fraction` is the share in its split.
- Every image entry gains `synthetic` (true/false) and `origin` (`dataset`, `split`, `image_id`,
  `file_name`: where it came from); a real image keeps all its other fields.
- A synthetic image's depth and instance map PNGs (`depth_file`, `instance_map_file`) are
  placed beside it under `depth/<split>/` and `instance_maps/<split>/`, named by its new id.

Everything is checked before anything is written: the arguments, both datasets (the synthetic
one must be a dataset `simgen generate` wrote, whose COCO files match its manifest), the
categories, the number of synthetic images needed, and MIXED (empty or new). The result is
built in a hidden sibling folder and renamed into place at the end, so a failure (a synthetic
image whose bytes differ from its manifest's sha256 is found while copying) or Ctrl-C leaves
nothing behind. The same inputs give the same bytes, linked or copied.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import Any

from simgen.dataset.coco_source import CocoSource, CocoSplit, load_coco_source
from simgen.dataset.reader import read_json, read_json_bytes, short
from simgen.errors import SimgenError
from simgen.dataset.links import LINK_AUTO, LINK_COPY, LINK_HARD, placer, staged_folder
from simgen.dataset import layout
from simgen.dataset.layout import SPLITS
from simgen.dataset.writer import dumps, sha256_file, write_atomic



@dataclass(frozen=True)
class MixResult:
    out: Path                         # MIXED
    images: int                       # images written (real + synthetic)
    annotations: int
    real_images: int
    synthetic_images: int
    synthetic_available: int          # images in the synthetic dataset
    synthetic_fraction: float         # achieved in synthetic_split: its synthetic share
    splits: dict[str, int]            # split -> images
    fractions: dict[str, float]       # split -> synthetic share of its images
    synthetic_split: str
    categories: tuple[str, ...]       # names in new id order (id = position + 1)
    real_only: tuple[str, ...]        # categories only the real dataset has
    synthetic_only: tuple[str, ...]   # categories only the synthetic dataset has


@dataclass(frozen=True)
class _Item:
    """One image of the result, before it has its new id."""

    split: str                        # split in the result
    source: CocoSplit
    image: dict[str, Any]
    synthetic: bool


@dataclass(frozen=True)
class _Categories:
    entries: list[dict[str, Any]]     # the result's categories, ids 1..K
    new_id: dict[tuple[int, Any], int]  # (id(source split), old category id) -> new id
    points: dict[int, int | None]     # new id -> keypoints in its schema (None: no schema)
    real_only: tuple[str, ...]
    synthetic_only: tuple[str, ...]


def mix_datasets(real: Path | str, synthetic: Path | str, out: Path | str,
                 synthetic_fraction: float | None = None, seed: int = 0, link: str = LINK_AUTO,
                 real_images: Path | str | None = None, synthetic_split: str = "train",
                 real_split: str = "train") -> MixResult:
    """Merge the real COCO dataset `real` (a folder or JSON file, its images in `real_images`
    when not found by themselves) and the simgen dataset folder `synthetic` into the COCO
    dataset `out` (empty or new). See the module docstring for the rules.

    synthetic_fraction: share of synthetic images in synthetic_split, 0 <= F < 1; None: all
    of them. seed: seeds the choice of synthetic images. link: "auto" places copy-on-write
    clones where the file system can, else copies; "copy" always copies; "link" requires hard
    links. real_split: the split of a real JSON file not named instances_<split>.json.
    """
    if link not in (LINK_AUTO, LINK_COPY, LINK_HARD):
        raise ValueError(f"link must be auto, copy or link (got {link!r})")
    fraction = _check_fraction(synthetic_fraction)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise SimgenError(f"seed must be an integer >= 0 (got {seed!r})")
    _check_split_name(synthetic_split, "synthetic split")
    _check_split_name(real_split, "real split")
    out = Path(out)

    real_src = _load_real(real, real_images)
    syn_src, syn_manifest, syn_manifest_sha256 = _load_synthetic(synthetic)
    _check_target(out, real, syn_src)
    categories = _match_categories(real_src, syn_src)

    real_items = [_Item(_output_split(split, real_split), split, image, False)
                  for split, image, _ in real_src.records()]
    pool = sorted(((split, image) for split, image, _ in syn_src.records()),
                  key=lambda pair: pair[1]["id"])
    n_real_there = sum(item.split == synthetic_split for item in real_items)
    if fraction is not None and fraction > 0 and n_real_there == 0:
        raise SimgenError(
            f"{real}: the real dataset has no images in split {synthetic_split!r}, so a "
            f"synthetic fraction of {synthetic_fraction:g} there cannot be met; choose a "
            "--synthetic-split the real data has, or leave out --synthetic-fraction to add "
            "every synthetic image")
    wanted = len(pool) if fraction is None else _synthetic_count(fraction, n_real_there)
    if wanted > len(pool):
        raise SimgenError(
            f"{synthetic}: a synthetic fraction of {synthetic_fraction:g} with "
            f"{n_real_there} real images in {synthetic_split} needs {wanted} synthetic images, "
            f"but the synthetic dataset has {len(pool)}; generate more or lower "
            "--synthetic-fraction")
    # A real annotation whose keypoints the result cannot hold: refused before writing.
    if any(n is not None for n in categories.points.values()):
        for split, _, anns in real_src.records():
            for ann in anns:
                category = categories.new_id[(id(split), ann["category_id"])]
                _keypoint_fields(dict(ann), categories.points[category], split.json_path)
    chosen = _choose(len(pool), wanted, seed)
    syn_items = [_Item(synthetic_split, pool[i][0], pool[i][1], True) for i in chosen]

    split_names = {item.split for item in real_items + syn_items}
    split_names.update(_output_split(s, real_split) for s in real_src.splits)  # empty ones too
    order = {name: i for i, name in enumerate(SPLITS)}
    splits = sorted(split_names, key=lambda name: (order.get(name, len(order)), name))
    by_split: dict[str, list[_Item]] = {name: [] for name in splits}
    for item in real_items + syn_items:
        by_split[item.split].append(item)

    n_images, n_syn = len(real_items) + len(syn_items), len(syn_items)
    fractions = {name: (sum(i.synthetic for i in items) / len(items) if items else 0.0)
                 for name, items in by_split.items()}
    achieved = fractions.get(synthetic_split, 0.0)
    any_schema = any(n is not None for n in categories.points.values())
    licenses = _licenses(real_src)
    syn_files = syn_manifest["files"]

    with staged_folder(out) as staging:
        place = placer(link)
        files: dict[str, dict[str, Any]] = {}

        def record(rel: str) -> dict[str, Any]:
            files[rel] = {"sha256": sha256_file(staging / rel),
                          "bytes": (staging / rel).stat().st_size}
            return files[rel]

        def put(src: Path, rel: str, synthetic: bool) -> None:
            place(src, staging / rel)
            placed = record(rel)
            if synthetic:
                _check_synthetic_image(syn_src, syn_files, src, placed)

        counts: dict[str, dict[str, int]] = {"images": {}, "annotations": {}}
        next_image_id = 1
        for split in splits:
            images, annotations = [], []
            for item in by_split[split]:
                image_id, next_image_id = next_image_id, next_image_id + 1
                old = item.image
                # Zero-padded like simgen's names; the extension (the format) is kept.
                name = layout.image_file_name(image_id, PurePosixPath(old['file_name']).suffix)
                put(item.source.image_path(old), layout.image_path(split, name), item.synthetic)
                source = syn_src if item.synthetic else real_src
                entry = _image_entry(old, image_id, name, item, source.name)
                # A synthetic image's depth and instance-id PNGs come along, renamed like it.
                for key in layout.SIDE_FILES if item.synthetic else ():
                    if isinstance(old.get(key), str):
                        entry[key] = layout.side_file_path(PurePosixPath(old[key]).parts[0], split,
                                                           layout.image_file_name(image_id, "png"))
                        put(syn_src.root / old[key], entry[key], True)
                images.append(entry)
                for ann in item.source.annotations_of(old["id"]):
                    category = categories.new_id[(id(item.source), ann["category_id"])]
                    entry = _annotation_entry(ann, len(annotations) + 1, image_id, category)
                    if any_schema:
                        _keypoint_fields(entry, categories.points[category],
                                         item.source.json_path)
                    annotations.append(entry)
            info = {"description": f"simgen mix of real '{real_src.name}' and synthetic "
                                   f"'{syn_src.name}'",
                    "version": _version(), "contributor": "simgen mix (real and synthetic "
                                                          "images)",
                    "url": "", "synthetic_fraction": fractions[split], "seed": seed}
            coco = {"info": info, "licenses": licenses, "images": images,
                    "annotations": annotations, "categories": categories.entries}
            rel = layout.coco_path(split)
            try:
                data = dumps(coco)
            except (ValueError, RecursionError) as err:  # NaN read from a real file: not JSON
                raise SimgenError(f"{_not_json_entry(real_src)}: cannot be written as JSON "
                                  f"({err})") from None
            write_atomic(staging / rel, data)
            record(rel)
            counts["images"][split] = len(images)
            counts["annotations"][split] = len(annotations)
        manifest = {
            "format": layout.MIX_FORMAT,
            "simgen_version": _version(),
            "seed": seed,
            "synthetic_fraction": {"requested": fraction, "achieved": achieved,
                                   "by_split": fractions, "overall": n_syn / n_images},
            "synthetic_split": synthetic_split,
            "sources": {
                "real": _real_record(real, real_images, real_src, real_items),
                "synthetic": _synthetic_record(synthetic, syn_src, syn_manifest,
                                               syn_manifest_sha256, syn_items, len(pool)),
            },
            "categories": {"names": [c["name"] for c in categories.entries],
                           "real_only": list(categories.real_only),
                           "synthetic_only": list(categories.synthetic_only)},
            "counts": counts,
            "files": {rel: files[rel] for rel in sorted(files)},
        }
        write_atomic(staging / layout.MANIFEST,   # allow_nan=False: always JSON, never NaN
                     json.dumps(manifest, indent=1, ensure_ascii=False, allow_nan=False).encode()
                     + b"\n")
    return MixResult(out, n_images, sum(counts["annotations"].values()), len(real_items), n_syn,
                     len(pool), achieved, dict(counts["images"]), fractions, synthetic_split,
                     tuple(c["name"] for c in categories.entries), categories.real_only,
                     categories.synthetic_only)


# --- checks (nothing is written before these pass) ------------------------------------------

def _check_fraction(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not (0 <= value < 1):
        raise SimgenError(f"synthetic fraction must be >= 0 and < 1 (got {value!r})")
    return float(value)


def _check_split_name(name: Any, what: str) -> None:
    if not (isinstance(name, str) and name and not name.startswith(".")
            and not any(c in name for c in "/\\\0")):
        raise SimgenError(f"{what} must be a folder name such as train (got {name!r})")


def _output_split(split: CocoSplit, real_split: str) -> str:
    """instances_<split>.json keeps its split; any other file name goes to real_split."""
    if not layout.is_coco_file_name(split.json_path.name):
        return real_split
    _check_split_name(split.name, f"{split.json_path}: split")
    return split.name


def _load_real(path: Path | str, images_dir: Path | str | None) -> CocoSource:
    source = load_coco_source(path, images_dir)
    if source.is_simgen:
        # Its images would be marked synthetic: false, which is the one thing a mix must not get
        # wrong. A previous mix is refused too: its real and synthetic images are in one pool.
        what = "a simgen mix" if _manifest_format(source.root).startswith(layout.MIX_FORMAT_PREFIX) \
            else "a simgen dataset (its images are synthetic)"
        raise SimgenError(f"{path}: is {what}; --real takes a dataset of real images only")
    if source.n_images == 0:
        raise SimgenError(f"{path}: the real dataset has no images; nothing to mix")
    return source


def _manifest_format(root: Path) -> str:
    try:
        manifest = read_json(root / layout.MANIFEST, "manifest")
    except SimgenError:
        return ""
    return str(manifest.get("format", "")) if isinstance(manifest, dict) else ""


def _load_synthetic(path: Path | str) -> tuple[CocoSource, dict[str, Any], str]:
    """The simgen dataset, its manifest and the manifest's sha256. Its COCO files must match
    the manifest: the mix records the manifest as the synthetic side's provenance."""
    source = load_coco_source(path)
    manifest_path = source.root / layout.MANIFEST
    try:
        manifest, raw = read_json_bytes(manifest_path, "manifest")
    except SimgenError as err:
        raise SimgenError(f"{path}: not a simgen dataset ({err}); --synthetic takes a folder "
                          "simgen generate wrote") from None
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if not (isinstance(fmt, str) and fmt.startswith(layout.DATASET_FORMAT_PREFIX)):
        raise SimgenError(f"{manifest_path}: format {short(fmt)} is not a dataset simgen "
                          f"generate wrote ({layout.DATASET_FORMAT_PREFIX}N); --synthetic takes "
                          "one")
    if not isinstance(manifest.get("files"), dict):
        raise SimgenError(f"{manifest_path}: has no files list")
    _check_provenance_fields(manifest_path, manifest)
    for split in source.splits:
        _check_listed(source, manifest["files"], split.json_path,
                      {"sha256": sha256_file(split.json_path),
                       "bytes": split.json_path.stat().st_size})
    return source, manifest, hashlib.sha256(raw).hexdigest()


def _check_provenance_fields(manifest_path: Path, manifest: dict[str, Any]) -> None:
    """The manifest values the mix's own manifest records (sources.synthetic), of the types
    `simgen verify` of the mix requires: a NaN seed would make the mix's manifest not JSON."""
    scenario = manifest.get("scenario")
    seed = manifest.get("seed")
    if not (isinstance(seed, int) and not isinstance(seed, bool)):
        raise SimgenError(f"{manifest_path}: seed must be an integer (got {short(seed)})")
    if not (isinstance(scenario, dict) and isinstance(scenario.get("sha256"), str)
            and isinstance(scenario.get("name"), (str, type(None)))):
        raise SimgenError(f"{manifest_path}: scenario must give name and sha256 as strings")


def _check_listed(source: CocoSource, files: dict[str, Any], path: Path,
                  found: dict[str, Any]) -> None:
    """`found` (sha256 and bytes of `path`) is what the manifest's files list records."""
    entry = files.get(_relative(path, source.root))
    if not (isinstance(entry, dict) and entry.get("sha256") == found["sha256"]
            and entry.get("bytes") == found["bytes"]):
        raise SimgenError(f"{path}: does not match the sha256 and size in "
                          f"{source.root / layout.MANIFEST}; the dataset changed after simgen "
                          "wrote it (see simgen verify)")


def _check_synthetic_image(source: CocoSource, files: dict[str, Any], path: Path,
                           placed: dict[str, Any]) -> None:
    _check_listed(source, files, path, placed)


def _not_json_entry(real_src: CocoSource) -> str:
    """Where the real dataset holds a value JSON cannot write (NaN or Infinity in a field the
    loader does not check, nesting too deep to write): looked for only once writing failed."""
    for split in real_src.splits:
        for key in ("images", "annotations"):
            for index, entry in enumerate(getattr(split, key)):
                try:
                    dumps(entry)
                except (ValueError, RecursionError):
                    return f"{split.json_path}: {key}[{index}]"
    return str(real_src.root)


def _check_target(out: Path, real: Path | str, synthetic: CocoSource) -> None:
    if out.exists() and not out.is_dir():
        raise SimgenError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise SimgenError(f"{out}: output folder is not empty; choose an empty or new folder")
    dst = out.resolve()
    # Inside a source folder the result would be taken for part of it (a simgen manifest lists
    # every file of its dataset; a COCO folder's images are searched for in its subfolders).
    for src in [synthetic.root] + ([Path(real)] if Path(real).is_dir() else []):
        src = src.resolve()
        if dst == src or src in dst.parents:
            raise SimgenError(f"{out}: the mixed dataset must lie outside the source {src}")


def _match_categories(real: CocoSource, synthetic: CocoSource) -> _Categories:
    for source in (real, synthetic):
        for split in source.splits:
            seen: dict[str, Any] = {}
            for cat in split.categories:
                if not isinstance(cat["name"], str) or not cat["name"]:
                    raise SimgenError(f"{split.json_path}: category {cat['id']}: name must be "
                                      f"a non-empty string (got {cat['name']!r})")
                if cat["name"] in seen:
                    raise SimgenError(f"{split.json_path}: category name {cat['name']!r} is "
                                      f"used by ids {seen[cat['name']]} and {cat['id']}; "
                                      "categories are matched by name")
                seen[cat["name"]] = cat["id"]
    first: dict[str, dict[str, Any]] = {}   # name -> its first entry, real side first
    syn_entry: dict[str, dict[str, Any]] = {}
    for split in real.splits:
        for cat in split.categories:
            first.setdefault(cat["name"], cat)
    real_names = set(first)
    for split in synthetic.splits:
        for cat in split.categories:
            first.setdefault(cat["name"], cat)
            syn_entry.setdefault(cat["name"], cat)
    names = real.category_names() + [n for n in synthetic.category_names() if n not in real_names]
    entries = []
    for new_id, name in enumerate(names, start=1):
        entry = {**first[name], "id": new_id}
        if name in real_names and name in syn_entry:
            theirs = syn_entry[name]
            if "keypoints" in entry and "keypoints" in theirs \
                    and entry["keypoints"] != theirs["keypoints"]:
                raise SimgenError(f"category {name!r}: the real and synthetic datasets name "
                                  "its keypoints differently; cannot merge its annotations")
            entry.update((k, v) for k, v in theirs.items() if k not in entry)
        entries.append(entry)
    index = {name: i for i, name in enumerate(names, start=1)}
    new_id = {(id(split), cat["id"]): index[cat["name"]]
              for source in (real, synthetic) for split in source.splits
              for cat in split.categories}
    points = {}
    for entry in entries:
        schema = entry.get("keypoints")
        if schema is None:
            points[entry["id"]] = None
        elif isinstance(schema, list) and all(isinstance(n, str) for n in schema):
            points[entry["id"]] = len(schema)
        else:
            raise SimgenError(f"category {entry['name']!r}: keypoints must be a list of "
                              f"keypoint names (got {short(schema)})")
    return _Categories(entries, new_id, points,
                       tuple(n for n in real.category_names() if n not in syn_entry),
                       tuple(n for n in names if n not in real_names))


# --- choosing and building -------------------------------------------------------------------

def _synthetic_count(fraction: float, n_real: int) -> int:
    """round(F * n_real / (1 - F)), halves up, exact for the decimal F was written as."""
    f = Fraction(repr(fraction))
    return math.floor(f * n_real / (1 - f) + Fraction(1, 2))


def _choose(available: int, wanted: int, seed: int) -> list[int]:
    """`wanted` of range(available), in order; all of them without drawing when wanted equals
    available."""
    if wanted == available:
        return list(range(available))
    import numpy as np

    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(available, size=wanted, replace=False))


# Per-image files a simgen image entry may name besides its image (`outputs.depth`,
# `outputs.instance_ids`), relative to the dataset folder.


def _image_entry(old: dict[str, Any], image_id: int, file_name: str, item: _Item,
                 dataset: str) -> dict[str, Any]:
    entry = dict(old)  # every field kept, in its order; the id and file name replaced
    entry["id"] = image_id
    entry["file_name"] = file_name
    entry["synthetic"] = item.synthetic
    entry["origin"] = {"dataset": dataset, "split": item.source.name, "image_id": old["id"],
                       "file_name": old["file_name"]}
    return entry


def _annotation_entry(old: dict[str, Any], ann_id: int, image_id: int,
                      category_id: int) -> dict[str, Any]:
    entry = dict(old) if "id" in old else {"id": ann_id, **old}
    entry["id"] = ann_id
    entry["image_id"] = image_id
    entry["category_id"] = category_id
    entry.setdefault("iscrowd", 0)
    return entry


def _keypoint_fields(entry: dict[str, Any], points: int | None, where: Path) -> None:
    """COCO's keypoint fields on an annotation (see the module docstring), in place."""
    keypoints = entry.get("keypoints")
    if points is None:
        if keypoints is None:
            entry.setdefault("num_keypoints", 0)
        return
    if keypoints is None:
        entry["keypoints"] = [0] * (3 * points)
        entry.setdefault("num_keypoints", 0)
        return
    if not (isinstance(keypoints, list) and len(keypoints) == 3 * points
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in keypoints)):
        raise SimgenError(f"{where}: annotation {short(entry.get('id'))}: keypoints must be "
                          f"{3 * points} numbers, (x, y, flag) for each of its category's "
                          f"{points} keypoints (got {short(keypoints)})")
    entry.setdefault("num_keypoints", sum(1 for v in keypoints[2::3] if v > 0))


def _licenses(source: CocoSource) -> list[Any]:
    """The real files' licenses (their images refer to them by id), first of each id kept."""
    licenses: list[Any] = []
    ids: set[Any] = set()
    for split in source.splits:
        for lic in split.licenses:
            key = lic.get("id") if isinstance(lic, dict) else None
            if key is None or key not in ids:
                ids.add(key)
                licenses.append(lic)
    return licenses


# --- the manifest's record of the sources ------------------------------------------------------

def _relative(path: Path, root: Path) -> str:
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _real_record(path: Path | str, images_dir: Path | str | None, source: CocoSource,
                 items: list[_Item]) -> dict[str, Any]:
    return {
        "name": source.name,
        "path": Path(os.path.abspath(path)).as_posix(),
        "images_dir": None if images_dir is None else Path(os.path.abspath(images_dir)).as_posix(),
        "files": {_relative(s.json_path, source.root): {"sha256": sha256_file(s.json_path),
                                                        "bytes": s.json_path.stat().st_size}
                  for s in source.splits},
        "splits": {s.name: {"images": len(s.images), "annotations": len(s.annotations)}
                   for s in source.splits},
        "images": len(items),
        "annotations": sum(len(s.annotations) for s in source.splits),
    }


def _synthetic_record(path: Path | str, source: CocoSource, manifest: dict[str, Any],
                      manifest_sha256: str, items: list[_Item], available: int) -> dict[str, Any]:
    scenario = manifest.get("scenario") if isinstance(manifest.get("scenario"), dict) else {}
    return {
        "name": source.name,
        "path": Path(os.path.abspath(path)).as_posix(),
        "format": manifest.get("format"),
        "manifest_sha256": manifest_sha256,
        # A string or None: the manifest may hold any JSON value there, NaN too.
        "simgen_version": (manifest["simgen_version"]
                           if isinstance(manifest.get("simgen_version"), str) else None),
        "scenario": {"name": scenario.get("name"), "sha256": scenario.get("sha256")},
        "seed": manifest.get("seed"),
        "images_available": available,
        "images": len(items),
        "annotations": sum(len(i.source.annotations_of(i.image["id"])) for i in items),
    }


def _version() -> str:
    from simgen import __version__

    return __version__
