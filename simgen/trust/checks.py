"""The checks behind `simgen verify`, shared by a simgen dataset's rules (`Checker`) and a mix's
(`simgen.trust.verify_mix.MixChecker`, a subclass): what each check covers is told in
simgen.trust.verify. Problems, the report, and the helpers both rule sets use live here, so
neither verify module imports the other's privates."""


from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Sequence

import cv2

from simgen.dataset import layout
from simgen.dataset.layout import MANIFEST, STATE_DIR, scenario_sha256
from simgen.dataset.images import decode_bounded, read_bounded
# rle_totals lives with the dataset reader now; imported from here too. brief: a short repr.
from simgen.dataset.reader import StoredImage, inside, rle_totals
from simgen.dataset.reader import short as brief
from simgen.errors import SimgenError
from simgen.trust.regen import RegenResult

PROVENANCE_KEYS = ("scenario", "scenario_sha256", "seed", "scene_index", "view_index", "split",
                   "renderer", "scene", "physics")
COCO_KEYS = ("info", "licenses", "images", "annotations", "categories")
PRINT_LIMIT = 20
MAX_FILE_BYTES = 1024**3          # no file of a dataset is read beyond this


@dataclass(frozen=True)
class Problem:
    """One failed check: `file` is relative to the dataset folder."""

    check: str                 # manifest | coco | geometry | provenance | reproduce
    file: str
    message: str
    image_id: Any = None
    annotation_id: Any = None

    def line(self) -> str:
        where = [self.file]
        if self.image_id is not None:
            where.append(f"image {self.image_id}")
        if self.annotation_id is not None:
            where.append(f"annotation {self.annotation_id}")
        return ": ".join(where + [self.message])

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "file": self.file, "image_id": self.image_id,
                "annotation_id": self.annotation_id, "message": self.message}


@dataclass
class VerifyReport:
    out: Path
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)
    reproduced: list[RegenResult] = field(default_factory=list)
    reproduce_seed: int = 0
    manifest_sha256: str | None = None   # of the manifest read: keep it to anchor the dataset

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {"out": os.fspath(self.out), "ok": self.ok, "checked": self.checked,
                "problems": [p.to_json() for p in self.problems],
                "reproduced": [r.to_json() for r in self.reproduced],
                "reproduce_seed": self.reproduce_seed, "manifest_sha256": self.manifest_sha256}

    def summary(self, limit: int = PRINT_LIMIT) -> str:
        """What a person reads: the verdict, the first `limit` problems, what was checked."""
        c = self.checked
        lines = [f"{os.fspath(self.out)}: " + ("ok" if self.ok else
                                                f"{len(self.problems)} problem"
                                                f"{'s' if len(self.problems) != 1 else ''}")]
        lines += [f"  {p.line()}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more")
        lines.append(f"checked {c.get('files', 0)} files against {MANIFEST}, "
                     f"{c.get('annotation_files', 0)} COCO files, {c.get('images', 0)} images, "
                     f"{c.get('annotations', 0)} annotations")
        if self.manifest_sha256:
            lines.append(f"{MANIFEST} sha256 {self.manifest_sha256} (keep it: "
                         "--manifest-sha256 checks a copy against it)")
        if self.reproduced:
            same = sum(r.identical for r in self.reproduced)
            lines.append(f"re-made {len(self.reproduced)} images (seed {self.reproduce_seed}): "
                         f"{same} identical, {len(self.reproduced) - same} different")
            if same < len(self.reproduced):
                notes = dict.fromkeys(n for r in self.reproduced for n in r.notes)
                lines += [f"  note: {note}" for note in notes]
        return "\n".join(lines)


def choose_ids(ids: Sequence[int], count: int, seed: int) -> list[int]:
    """`count` of `ids` (all when fewer), drawn with numpy.random.default_rng(seed), sorted."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(ids, size=min(count, len(ids)), replace=False))


def add_differences(report: VerifyReport) -> None:
    """A `reproduce` Problem for each difference of each re-made image."""
    for result in report.reproduced:
        for line in result.differences:
            report.problems.append(Problem("reproduce", result.file,
                                           f"re-made image differs: {line}", result.image_id))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Checker:
    """The checks of a simgen dataset. `simgen.trust.verify_mix.MixChecker` overrides the hooks marked
    so (what the manifest must hold, file names, provenance, which labels must be exact, a
    last look at the whole) to check a mix with the same code."""

    ignored = frozenset({STATE_DIR})    # top-level folders never listed in the manifest
    categories_from = "the scenario's"  # where self.categories (the names expected) come from

    def __init__(self, out: Path, manifest: dict[str, Any], threads: int) -> None:
        self.out = out
        self.manifest = manifest
        self.threads = threads
        self.problems: list[Problem] = []
        self.checked = {"files": 0, "annotation_files": 0, "images": 0, "annotations": 0}
        self.hashed: set[str] = set()       # manifest files already hashed (images, COCO files)
        self.referenced: set[str] = set()   # files some image entry refers to
        scenario = manifest.get("scenario") if isinstance(manifest.get("scenario"), dict) else {}
        resolved = scenario.get("resolved") if isinstance(scenario.get("resolved"), dict) else {}
        self.scenario = scenario
        self.categories = resolved.get("categories")
        self.views = resolved.get("views_per_scene")
        augment = resolved.get("augment")
        self.augmented = isinstance(augment, dict)
        self.per_view = augment.get("augmentations_per_view", 1) if self.augmented else 1
        self.image_format = manifest.get("image_format", "png")

    def fail(self, check: str, file: str, message: str, image_id: Any = None,
             annotation_id: Any = None) -> None:
        self.problems.append(Problem(check, file, message, image_id, annotation_id))

    # --- the whole run ---------------------------------------------------------------------------

    def run(self) -> dict[int, StoredImage]:
        """Every check; the usable images by id (for --reproduce)."""
        self._check_manifest()
        files = self.manifest["files"]
        stored: dict[int, StoredImage] = {}
        seen_ids: dict[int, str] = {}
        coco_files = layout.coco_files(self.out)
        if not coco_files:
            self.fail("coco", "annotations", "no instances_*.json COCO file")
        for path in coco_files:
            rel = path.relative_to(self.out).as_posix()
            # As every file of the dataset: only a regular file inside it, of bounded size (a
            # FIFO would hang the read, a link to /dev/zero never end it).
            try:
                data = read_bounded(inside(self.out, rel, "COCO file"), MAX_FILE_BYTES)
            except SimgenError:
                data = None
            if data is None:
                self.fail("coco", rel, "cannot be read: not a regular file inside the dataset, "
                          f"or larger than {MAX_FILE_BYTES} bytes")
                self.hashed.add(rel)
                continue
            self._check_hash(rel, _sha256(data), len(data), files)
            self.checked["annotation_files"] += 1
            self._check_coco_file(rel, data, seen_ids, stored)
        self._check_listed_files(files)
        self._check_unreferenced(files)
        if str(self.manifest.get("format", "")).startswith(layout.DATASET_FORMAT_PREFIX):
            from simgen.trust.consistency import check_consistency

            resolved = self.scenario.get("resolved")
            check_consistency(self.fail, self.out, self.manifest,
                              resolved if isinstance(resolved, dict) else {},
                              self.views * self.per_view if self.views else None, stored)
        self._check_whole(stored, [layout.split_of(p) for p in coco_files])
        return stored

    def _check_whole(self, stored: dict[int, StoredImage], splits: list[str]) -> None:
        """Hook: checks of the whole dataset once every file is read (a mix's fraction)."""

    # --- manifest --------------------------------------------------------------------------------

    def _check_manifest(self) -> None:
        """Hook: what the manifest must hold, then its files list."""
        resolved = self.scenario.get("resolved")
        if not isinstance(resolved, dict):
            self.fail("manifest", MANIFEST, "no scenario.resolved")
        else:
            if scenario_sha256(resolved) != self.scenario.get("sha256"):
                self.fail("manifest", MANIFEST, "scenario.resolved does not hash to "
                          f"scenario.sha256 {self.scenario.get('sha256')!r}")
        if not (isinstance(self.categories, list) and all(isinstance(c, str)
                                                          for c in self.categories)):
            self.fail("manifest", MANIFEST, "scenario.resolved.categories is not a list of names")
            self.categories = None
        if not (is_int(self.views) and self.views >= 1 and is_int(self.per_view)
                and self.per_view >= 1):
            self.fail("manifest", MANIFEST, "scenario.resolved lacks views_per_scene (or "
                      "augment.augmentations_per_view) as integers >= 1")
            self.views = None
        for key in ("seed", "renderer", "image_format"):
            if key not in self.manifest:
                self.fail("manifest", MANIFEST, f"no {key!r}")
        self._check_manifest_files()

    def _check_manifest_files(self) -> None:
        for rel, entry in self.manifest["files"].items():
            if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str)
                    and is_int(entry.get("bytes"))):
                self.fail("manifest", MANIFEST, f"files[{rel!r}] needs sha256 and bytes")
            elif not _safe_relative(rel):
                self.fail("manifest", MANIFEST, f"files[{rel!r}] is not a path inside the dataset")

    def _check_hash(self, rel: str, sha256: str, size: int, files: dict[str, Any]) -> None:
        """A file's sha256 and size against its manifest entry (an unlisted file is found
        elsewhere)."""
        entry = files.get(rel)
        if not isinstance(entry, dict) or rel in self.hashed:
            return
        self.hashed.add(rel)
        self.checked["files"] += 1
        if entry.get("bytes") != size:
            self.fail("manifest", rel, f"size {size} bytes, {MANIFEST} says {entry.get('bytes')}")
        elif entry.get("sha256") != sha256:
            self.fail("manifest", rel, f"sha256 differs from {MANIFEST} (the file was changed)")

    def _check_listed_files(self, files: dict[str, Any]) -> None:
        """Listed files not yet hashed (depth, instance ids, unreferenced images), missing
        files, and files on disk that the manifest does not list."""
        todo = []
        for rel in files:
            if rel in self.hashed or not _safe_relative(rel):
                continue
            if (self.out / rel).is_file():
                todo.append(rel)
            else:
                self.fail("manifest", rel, f"listed in {MANIFEST} but missing from disk")
        for rel, (sha256, size, _) in zip(todo, self._map(self._read, todo)):
            if sha256 is not None:
                self._check_hash(rel, sha256, size, files)
            else:
                self.fail("manifest", rel, "cannot be read: not a regular file inside the "
                          f"dataset, or larger than {MAX_FILE_BYTES} bytes")
        for path in _walk(self.out):
            rel = path.relative_to(self.out).as_posix()
            if rel.split("/")[0] in self.ignored:
                continue
            if path.is_symlink():   # simgen writes regular files and folders, never links
                self.fail("manifest", rel, "is a link; a dataset holds regular files only")
                continue
            if rel == MANIFEST or path.is_dir():
                continue
            if rel not in files:
                self.fail("manifest", rel, f"on disk but not listed in {MANIFEST}")

    def _check_unreferenced(self, files: dict[str, Any]) -> None:
        for rel in sorted(files):
            if (rel.split("/")[0] in layout.IMAGE_DIRS
                    and rel not in self.referenced and (self.out / rel).is_file()):
                self.fail("coco", rel, "not referenced by any image entry of the COCO files")

    # --- one COCO file ---------------------------------------------------------------------------

    def _check_coco_file(self, rel: str, raw: bytes, seen_ids: dict[int, str],
                         stored: dict[int, StoredImage]) -> None:
        split = layout.split_of(rel)
        try:
            data = json.loads(raw)
        except RecursionError:   # [[[[...]]]] 100000 levels deep
            self.fail("coco", rel, "not valid JSON (nested too deeply)")
            return
        except ValueError as err:
            self.fail("coco", rel, f"not valid JSON ({err})")
            return
        if not isinstance(data, dict):
            self.fail("coco", rel, "not a JSON object")
            return
        for key in COCO_KEYS:
            if key not in data:
                self.fail("coco", rel, f"no {key!r}")
        lists = {key: data.get(key) for key in ("images", "annotations", "categories")}
        for key, value in lists.items():
            if key in data and not isinstance(value, list):
                self.fail("coco", rel, f"{key!r} is not a list")
        if "licenses" in data and not isinstance(data["licenses"], list):
            self.fail("coco", rel, f"'licenses' is not a list (got {brief(data['licenses'])})")
        if not all(isinstance(v, list) for v in lists.values()):
            return
        category_ids = self._check_categories(rel, lists["categories"])
        images = self._check_image_entries(rel, split, lists["images"], seen_ids)
        self._check_image_files(rel, split, images)
        by_image = self._check_annotations(rel, lists["annotations"], images, category_ids)
        counts = self.manifest.get("counts")
        if isinstance(counts, dict):
            for key, found in (("images", len(lists["images"])),
                               ("annotations", len(lists["annotations"]))):
                per_split = counts.get(key)
                recorded = per_split.get(split) if isinstance(per_split, dict) else None
                if recorded != found:
                    self.fail("manifest", rel, f"{found} {key}, {MANIFEST} counts.{key}.{split} "
                              f"says {recorded}")
        for image_id, image in images.items():
            stored.setdefault(image_id, StoredImage(split, image, by_image.get(image_id, [])))

    def _check_categories(self, rel: str, categories: list[Any]) -> set[int]:
        ids = set()
        for index, category in enumerate(categories):
            if not isinstance(category, dict) or not is_int(category.get("id")):
                self.fail("coco", rel, f"categories[{index}]: id must be an integer")
                continue
            ids.add(category["id"])
        found = [c.get("id") for c in categories if isinstance(c, dict)]
        if found != list(range(1, len(categories) + 1)):
            self.fail("coco", rel, f"category ids must be 1..N in order (got {found})")
        if self.categories is not None:
            names = [c.get("name") for c in categories if isinstance(c, dict)]
            if names != self.categories:
                self.fail("coco", rel, f"category names {names} are not "
                          f"{self.categories_from} {self.categories}")
        return ids

    def _check_image_entries(self, rel: str, split: str, images: list[Any],
                             seen_ids: dict[int, str]) -> dict[int, dict[str, Any]]:
        """Image entries by id, only those whose id, size and file_name can be used further."""
        good: dict[int, dict[str, Any]] = {}
        for index, image in enumerate(images):
            if not isinstance(image, dict):
                self.fail("coco", rel, f"images[{index}] is not an object")
                continue
            image_id = image.get("id")
            if not is_int(image_id) or image_id < 1:
                self.fail("coco", rel, f"images[{index}]: id must be an integer >= 1 "
                          f"(got {brief(image_id)})")
                continue
            if image_id in seen_ids:
                first = seen_ids[image_id]
                other = "earlier in this file" if first == rel else f"in {first}"
                self.fail("coco", rel, f"image id is used twice (also {other})", image_id)
                if isinstance(image.get("file_name"), str):  # its file is not an orphan
                    self.referenced.add(layout.image_path(split, image["file_name"]))
                continue
            seen_ids[image_id] = rel
            usable = True
            for key in ("width", "height"):
                if not is_int(image.get(key)) or image[key] < 1:
                    self.fail("coco", rel, f"{key} must be an integer >= 1 "
                              f"(got {brief(image.get(key))})", image_id)
                    usable = False
            name = image.get("file_name")
            if not isinstance(name, str) or "\0" in name or not _safe_relative(name):
                self.fail("coco", rel, f"file_name must be a relative path inside images/{split}/ "
                          f"(got {brief(name)})", image_id)
                usable = False
            elif name != self._file_name(image_id, name):
                self.fail("coco", rel, f"file_name {brief(name)} is not the one of its id "
                          f"({self._file_name(image_id, name)})", image_id)
            self._check_provenance(rel, split, image_id, image)
            if usable:
                good[image_id] = image
        return good

    def _file_name(self, image_id: int, name: str) -> str:
        """Hook: the file_name an image with this id must have."""
        return layout.image_file_name(image_id, self.image_format)

    def _check_provenance(self, rel: str, split: str, image_id: int,
                          image: dict[str, Any]) -> None:
        """Hook: the image's provenance, complete, agreeing with the manifest, its split and
        its id."""
        def fail(message: str) -> None:
            self.fail("provenance", rel, message, image_id)

        expected = {"scenario": self.scenario.get("name"),
                    "scenario_sha256": self.scenario.get("sha256"),
                    "seed": self.manifest.get("seed"), "split": split,
                    "renderer": self.manifest.get("renderer")}
        provenance = self._check_provenance_fields(fail, image, expected, self.augmented)
        if provenance is None or self.views is None:
            return
        scene, view = provenance["scene_index"], provenance["view_index"]
        if view >= self.views:
            fail(f"provenance.view_index {view} is not below views_per_scene {self.views}")
        elif (image_id - 1) // self.per_view != scene * self.views + view:
            fail(f"provenance scene_index {scene}, view_index {view} do not give image id "
                 f"{image_id}")
        augment = provenance.get("augment")
        if self.augmented and isinstance(augment, dict):
            variant, render_id = (image_id - 1) % self.per_view, scene * self.views + view + 1
            if augment.get("variant") != variant or augment.get("render_id") != render_id:
                fail(f"provenance.augment variant/render_id {augment.get('variant')!r}/"
                     f"{augment.get('render_id')!r}, its id gives {variant}/{render_id}")

    @staticmethod
    def _check_provenance_fields(fail: Any, image: dict[str, Any], expected: dict[str, Any],
                                 augmented: bool | None) -> dict[str, Any] | None:
        """The camera and provenance fields of a simgen image entry, the provenance values in
        `expected` (the split: from its COCO file, the rest from the manifest), and `augment`
        where `augmented` says (None: either way). The provenance when its scene_index and
        view_index can be used further, else None."""
        camera = image.get("camera")
        if not (isinstance(camera, dict) and _matrix(camera.get("K"), 3)
                and _matrix(camera.get("cam_to_world"), 4)):
            fail("camera must give K (3x3) and cam_to_world (4x4)")
        provenance = image.get("provenance")
        if not isinstance(provenance, dict):
            fail("no provenance")
            return None
        missing = [k for k in PROVENANCE_KEYS if k not in provenance]
        if augmented and "augment" not in provenance:
            missing.append("augment")
        if missing:
            fail(f"provenance lacks {', '.join(missing)}")
        for key, value in expected.items():
            if key in provenance and provenance[key] != value:
                where = "its COCO file" if key == "split" else MANIFEST
                fail(f"provenance.{key} {provenance[key]!r} differs from {where} ({value!r})")
        for key in ("scene", "physics"):
            if key in provenance and not isinstance(provenance[key], dict):
                fail(f"provenance.{key} must be an object")
        augment = provenance.get("augment")
        if "augment" in provenance and augmented is False:
            fail("provenance.augment, but the scenario has no augment pipeline")
        elif "augment" in provenance and not isinstance(augment, dict):
            fail("provenance.augment must be an object")
        elif isinstance(augment, dict):
            for key in ("seed", "replay"):
                if key not in augment:
                    fail(f"provenance.augment lacks {key}")
        for key in ("scene_index", "view_index"):
            value = provenance.get(key)
            if key in provenance and (not is_int(value) or value < 0):
                fail(f"provenance.{key} must be an integer >= 0 (got {value!r})")
                return None
        if "scene_index" not in provenance or "view_index" not in provenance:
            return None
        return provenance

    def _check_image_files(self, rel: str, split: str, images: dict[int, dict[str, Any]]) -> None:
        """Read each image file once: its hash, and its decoded size (threads)."""
        from simgen.sim.quiet import c_output_silenced

        jobs = []  # (image id, relative path, expected shape, what it is)
        for image_id, image in images.items():
            size = (image["height"], image["width"])
            jobs.append((image_id, layout.image_path(split, image["file_name"]), size, "image"))
            for key in layout.SIDE_FILES:
                if key in image:
                    name = image[key]
                    if not isinstance(name, str) or not _safe_relative(name):
                        self.fail("coco", rel, f"{key} must be a relative path "
                                  f"(got {brief(name)})", image_id)
                    else:
                        jobs.append((image_id, name, size, key))
        files = self.manifest["files"]
        with c_output_silenced((2,)):  # libpng names a damaged file on stderr; we name it here
            results = list(self._map(self._read_and_decode, [job[1] for job in jobs]))
        for (image_id, path, size, kind), (sha256, nbytes, shape) in zip(jobs, results):
            self.referenced.add(path)
            self.checked["images"] += kind == "image"
            if sha256 is None:
                self.fail("coco", path, f"{kind} file missing", image_id)
                continue
            self._check_hash(path, sha256, nbytes, files)
            if shape is None:
                self.fail("coco", path, f"{kind} file does not decode", image_id)
            elif shape[:2] != size:
                self.fail("coco", path, f"decodes at {shape[1]}x{shape[0]}, its entry in {rel} "
                          f"says {size[1]}x{size[0]}", image_id)
            elif kind != "image" and len(shape) != 2:
                self.fail("coco", path, f"{kind} must be a single-channel image", image_id)

    def _read(self, rel: str,
              decode: bool = False) -> tuple[str | None, int, tuple[int, ...] | None]:
        """(sha256, size, decoded shape or None) of a file, read once; sha256 None if unreadable.
        Only these facts leave the thread, never the bytes: memory stays flat."""
        # Only a regular file inside the dataset, of bounded size, is read; it counts as
        # missing otherwise.
        try:
            data = read_bounded(inside(self.out, rel, "file"), MAX_FILE_BYTES)
        except SimgenError:
            data = None
        if data is None:
            return None, 0, None
        shape = None
        if decode:
            decoded = decode_bounded(data, cv2.IMREAD_UNCHANGED)
            shape = None if decoded is None else decoded.shape
        return _sha256(data), len(data), shape

    def _read_and_decode(self, rel: str) -> tuple[str | None, int, tuple[int, ...] | None]:
        return self._read(rel, decode=True)

    def _map(self, function: Any, items: Sequence[Any]) -> Iterable[Any]:
        if self.threads <= 1 or len(items) < 2:
            return map(function, items)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(function, items))

    def _check_annotations(self, rel: str, annotations: list[Any],
                           images: dict[int, dict[str, Any]],
                           category_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
        """Field rules one by one, then box and area against the masks in one batch."""
        seen: set[int] = set()
        by_image: dict[int, list[dict[str, Any]]] = {}
        batch = []  # (annotation, image) whose segmentation is an RLE of the image's size
        for index, ann in enumerate(annotations):
            if not isinstance(ann, dict):
                self.fail("coco", rel, f"annotations[{index}] is not an object")
                continue
            self.checked["annotations"] += 1
            image = images.get(ann.get("image_id")) if is_int(ann.get("image_id")) else None
            if image is not None:
                by_image.setdefault(ann["image_id"], []).append(ann)
            if self._check_annotation(rel, index, ann, image, category_ids, seen):
                batch.append((ann, image))
        self._check_masks(rel, batch)
        return by_image

    def _check_annotation(self, rel: str, index: int, ann: dict[str, Any],
                          image: dict[str, Any] | None, category_ids: set[int],
                          seen: set[int]) -> bool:
        """The field rules of one annotation; True when its mask can be checked against it."""
        ann_id, image_id = ann.get("id"), ann.get("image_id")

        def fail(message: str) -> None:
            self.fail("coco", rel, message, image_id if is_int(image_id) else None,
                      ann_id if is_int(ann_id) else f"[{index}]")

        if not is_int(ann_id) or ann_id < 1:
            fail(f"id must be an integer >= 1 (got {brief(ann_id)})")
        elif ann_id in seen:
            fail("annotation id is used twice")
        else:
            seen.add(ann_id)
        if image is None:
            fail(f"image_id {image_id!r} refers to no (usable) image of this file")
        if not is_int(ann.get("category_id")) or ann["category_id"] not in category_ids:
            fail(f"category_id {ann.get('category_id')!r} refers to no category")
        if "iscrowd" not in ann:
            fail("no iscrowd")
        elif not is_int(ann["iscrowd"]) or ann["iscrowd"] not in (0, 1):
            fail(f"iscrowd must be 0 or 1 (got {brief(ann['iscrowd'])})")
        return self._check_label(fail, ann, image)

    def _exact_labels(self, image: dict[str, Any] | None) -> bool:
        """Hook: whether the image's labels must be exact (simgen's: integer boxes tight to
        RLE masks, areas their pixel counts), or only what COCO requires."""
        return True

    def _check_label(self, fail: Any, ann: dict[str, Any], image: dict[str, Any] | None) -> bool:
        """Hook: area, bbox and segmentation of one annotation; True when its mask is an RLE
        string of the image's size, to be checked (and checked against them) in a batch."""
        if not is_int(ann.get("area")) or ann["area"] < 0:
            fail(f"area must be an integer >= 0 (got {brief(ann.get('area'))})")
        bbox = ann.get("bbox")
        box_ok = isinstance(bbox, list) and len(bbox) == 4 and all(map(is_int, bbox))
        if not box_ok:
            fail(f"bbox must be 4 integers [x, y, w, h] (got {short(bbox)})")
        seg = ann.get("segmentation")
        if not (isinstance(seg, dict) and isinstance(seg.get("counts"), str)):
            fail("segmentation must be an RLE with str counts")
            return False
        if image is None:
            return False
        size = [image["height"], image["width"]]
        if seg.get("size") != size:
            fail(f"segmentation size {short(seg.get('size'))} is not the image's {size}")
            return False
        if box_ok:
            x, y, w, h = bbox
            if w < 1 or h < 1 or x < 0 or y < 0 or x + w > size[1] or y + h > size[0]:
                fail(f"bbox {bbox} is not inside the {size[1]}x{size[0]} image with w, h >= 1")
        return True

    def _check_masks(self, rel: str, batch: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Each RLE's runs cover exactly its size (else pycocotools would read past them), then
        (where labels must be exact) bbox and area against pycocotools' box and pixel count of
        the mask, in one call each."""
        import numpy as np
        from pycocotools import mask as mask_utils

        if not batch:
            return
        totals = rle_totals([ann["segmentation"]["counts"] for ann, _ in batch])
        valid = []
        for (ann, image), total in zip(batch, totals):
            if total != image["height"] * image["width"]:
                what = "is not a valid RLE string" if total < 0 else (
                    f"has runs covering {total} pixels, not {image['height']}x{image['width']}")
                self.fail("coco", rel, f"segmentation counts {what}",
                          ann.get("image_id"), ann.get("id"))
            elif self._exact_labels(image):
                valid.append(ann)
        if not valid:
            return
        rles = [{"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"]}
                for a in valid]
        boxes = np.asarray(mask_utils.toBbox(rles)).reshape(-1, 4).astype(np.int64).tolist()
        # pycocotools' area() cannot return more than 255 values at once (it sizes its result
        # with a uint8 under NumPy 2): ask in chunks.
        areas = [int(a) for start in range(0, len(rles), 255)
                 for a in np.asarray(mask_utils.area(rles[start:start + 255])).reshape(-1)]
        for ann, box, area in zip(valid, boxes, areas):
            if area == 0:
                self.fail("geometry", rel, "the mask is empty", ann.get("image_id"), ann.get("id"))
                continue
            if ann.get("bbox") != box:
                self.fail("geometry", rel, f"bbox {short(ann.get('bbox'))} is not the box of its "
                          f"mask {box}", ann.get("image_id"), ann.get("id"))
            if ann.get("area") != area:
                self.fail("geometry", rel, f"area {short(ann.get('area'))} is not the mask's "
                          f"pixel count {area}", ann.get("image_id"), ann.get("id"))


def _walk(root: Path) -> list[Path]:
    """Every entry under `root`, sorted, links listed but never followed."""
    found = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        found += [Path(folder) / name for name in dirs + names]
    return sorted(found)


def _safe_relative(rel: str) -> bool:
    path = PurePosixPath(rel)
    return bool(rel) and not path.is_absolute() and ".." not in path.parts and "\\" not in rel


def _matrix(value: Any, n: int) -> bool:
    return (isinstance(value, list) and len(value) == n
            and all(isinstance(row, list) and len(row) == n
                    and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
                    for row in value))


def short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."
