"""`simgen verify` on a dataset `simgen mix` made (manifest format simgen-mix/1).

The checker of `simgen.trust.verify` runs with these rules in its hooks:

- manifest: every listed file has its sha256 and size, none is missing, none is unlisted (a
  mix has no run state: every file but manifest.json is listed); the manifest records the
  fraction, both sources and the category names; its counts agree with the COCO files, the
  achieved fractions (in synthetic_split, in every split, overall) with the shares of
  synthetic images, and the number of synthetic images with the fraction requested of
  synthetic_split (`simgen.export.mix`'s rule) or, without one, with all of them.
- coco: the rules of a simgen dataset for ids, references, required fields and image files,
  with categories named as the manifest's categories.names and file names `{id:09d}<ext>`
  (the extension the source file had). Labels of real images (`synthetic: false`) are held
  only to what COCO requires: area a number > 0; bbox four numbers, w, h > 0, inside the image
  within 0.5 px; segmentation polygons (lists of >= 6 numbers, x, y pairs) or an RLE of the
  image's size, its counts a string or (uncompressed, as crowd regions often are) a list of
  run lengths. Hand-drawn boxes need not be tight to their masks.
- geometry: for synthetic images, as for a simgen dataset: integer boxes equal to the box of
  their RLE mask and areas equal to its pixel count.
- provenance: every image has `synthetic` (bool) and `origin` (dataset, split, image_id,
  file_name), its dataset the name of the source it is flagged as; synthetic images lie in
  the manifest's synthetic_split, come from distinct source images, and keep their camera and
  simgen provenance, its scenario, scenario_sha256 and seed those of the synthetic source.
  Ids and splits are the mix's own, so the id and split agreement of a simgen dataset does not
  apply.
- reproduce (optional): K synthetic images chosen at random (seeded) are re-made from the
  simgen dataset they were mixed from (sources.synthetic.path) with `simgen.trust.regen`, and
  compared with the mix: the image file byte for byte, the image entry and annotations as JSON
  once the mix's renumbering is undone (the origin id and file name, category ids mapped by
  name; annotation ids must run on from the first, as in any simgen file). The source's own
  files are compared too (regen does), their lines naming the source. A source no longer
  there is a failed reproduce check naming it.
"""

from __future__ import annotations

import math
import re
from pathlib import Path, PurePosixPath
from typing import Any

from simgen.dataset import layout
from simgen.dataset.layout import MANIFEST
from simgen.dataset.reader import StoredImage
from simgen.errors import SimgenError
from simgen.trust.checks import (Checker, Problem, VerifyReport, add_differences, choose_ids,
                                 is_int, short)
from simgen.trust.regen import RegenResult

ORIGIN_KEYS = ("dataset", "split", "image_id", "file_name")
BOX_TOLERANCE = 0.5   # pixels a real (float) box may reach past the image border
CATEGORY_LINE = re.compile(r"category_id: stored (\S+), re-made (\S+)$")  # a regen diff line


def _is_number(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class MixChecker(Checker):
    """The checker of `simgen.trust.verify` with the rules of a mix in its hooks."""

    ignored = frozenset()
    categories_from = f"{MANIFEST} categories.names"

    def __init__(self, out: Path, manifest: dict[str, Any], threads: int) -> None:
        super().__init__(out, manifest, threads)
        sources = _dict(manifest.get("sources"))
        self.real, self.synthetic = _dict(sources.get("real")), _dict(sources.get("synthetic"))
        names = _dict(manifest.get("categories")).get("names")
        self.categories = names if isinstance(names, list) and all(
            isinstance(n, str) for n in names) else None
        self.origins: dict[Any, int] = {}   # origin image id of a synthetic image -> its id

    # --- hooks of the checker ---------------------------------------------------------------

    def _check_manifest(self) -> None:
        def fail(message: str) -> None:
            self.fail("manifest", MANIFEST, message)

        manifest = self.manifest
        fraction = manifest.get("synthetic_fraction")
        if not (isinstance(fraction, dict) and _is_number(fraction.get("achieved"))
                and _is_number(fraction.get("overall"))
                and isinstance(fraction.get("by_split"), dict)
                and all(map(_is_number, fraction["by_split"].values()))
                and (fraction.get("requested") is None or _is_number(fraction["requested"]))):
            fail("synthetic_fraction must give achieved, overall and by_split (numbers) and "
                 "requested (a number or null)")
        if not is_int(manifest.get("seed")):
            fail(f"seed must be an integer (got {manifest.get('seed')!r})")
        if not isinstance(manifest.get("synthetic_split"), str):
            fail("no synthetic_split")
        for side, record in (("real", self.real), ("synthetic", self.synthetic)):
            if not (isinstance(record.get("name"), str) and isinstance(record.get("path"), str)
                    and is_int(record.get("images")) and is_int(record.get("annotations"))):
                fail(f"sources.{side} must give name, path, images and annotations")
        scenario = _dict(self.synthetic.get("scenario"))
        if not (isinstance(scenario.get("sha256"), str) and is_int(self.synthetic.get("seed"))):
            fail("sources.synthetic must give scenario.sha256 and seed")
        if self.categories is None:
            fail("categories.names is not a list of names")
        counts = manifest.get("counts")
        if not (isinstance(counts, dict) and all(isinstance(counts.get(k), dict)
                                                 for k in ("images", "annotations"))):
            fail("counts must give images and annotations per split")
        self._check_manifest_files()

    def _file_name(self, image_id: int, name: str) -> str:
        return layout.image_file_name(image_id, PurePosixPath(name).suffix)

    def _check_provenance(self, rel: str, split: str, image_id: int,
                          image: dict[str, Any]) -> None:
        def fail(message: str) -> None:
            self.fail("provenance", rel, message, image_id)

        synthetic, origin = image.get("synthetic"), image.get("origin")
        if not isinstance(synthetic, bool):
            fail(f"synthetic must be true or false (got {short(synthetic)})")
        # A real dataset's own ids are its business; a synthetic image's is simgen's, an int.
        if not (isinstance(origin, dict) and isinstance(origin.get("dataset"), str)
                and isinstance(origin.get("split"), str)
                and isinstance(origin.get("file_name"), str)
                and (is_int(origin.get("image_id")) if synthetic is True
                     else isinstance(origin.get("image_id"), (int, str)))):
            fail(f"origin must give {', '.join(ORIGIN_KEYS)} (got {short(origin)})")
            origin = None
        if not isinstance(synthetic, bool):
            return
        source = self.synthetic if synthetic else self.real
        if origin is not None and origin["dataset"] != source.get("name"):
            fail(f"origin.dataset {origin['dataset']!r} is not the "
                 f"{'synthetic' if synthetic else 'real'} source's name "
                 f"({source.get('name')!r}, {MANIFEST} sources)")
        if not synthetic:
            return
        if split != self.manifest.get("synthetic_split"):
            fail(f"a synthetic image in split {split!r}, {MANIFEST} synthetic_split is "
                 f"{self.manifest.get('synthetic_split')!r}")
        if origin is not None:
            first = self.origins.setdefault(origin["image_id"], image_id)
            if first != image_id:
                fail(f"origin.image_id {origin['image_id']} is also the origin of image {first}")
        expected = {"scenario": _dict(self.synthetic.get("scenario")).get("name"),
                    "scenario_sha256": _dict(self.synthetic.get("scenario")).get("sha256"),
                    "seed": self.synthetic.get("seed")}
        self._check_provenance_fields(fail, image, expected, None)

    def _exact_labels(self, image: dict[str, Any] | None) -> bool:
        return image is not None and image.get("synthetic") is True

    def _check_label(self, fail: Any, ann: dict[str, Any], image: dict[str, Any] | None) -> bool:
        if self._exact_labels(image):
            return super()._check_label(fail, ann, image)
        return _check_coco_label(fail, ann, image)

    def _check_whole(self, stored: dict[int, StoredImage], splits: list[str]) -> None:
        def fail(message: str) -> None:
            self.fail("manifest", MANIFEST, message)

        n_syn = sum(s.image.get("synthetic") is True for s in stored.values())
        n_real = sum(s.image.get("synthetic") is False for s in stored.values())
        anns = {flag: sum(len(s.annotations) for s in stored.values()
                          if s.image.get("synthetic") is flag) for flag in (True, False)}
        fraction = _dict(self.manifest.get("synthetic_fraction"))
        achieved, requested = fraction.get("achieved"), fraction.get("requested")
        target = self.manifest.get("synthetic_split")
        per_split: dict[str, list[int]] = {split: [0, 0] for split in splits}  # [synthetic, all]
        for item in stored.values():
            counted = per_split.setdefault(item.split, [0, 0])
            counted[0] += item.image.get("synthetic") is True
            counted[1] += 1

        def share(split: str) -> float:
            n, total = per_split.get(split, [0, 0])
            return n / total if total else 0.0

        def differs(value: Any, expected: float) -> bool:
            return _is_number(value) and not math.isclose(value, expected, rel_tol=0,
                                                          abs_tol=1e-12)

        if isinstance(target, str) and differs(achieved, share(target)):
            n, total = per_split.get(target, [0, 0])
            fail(f"synthetic_fraction.achieved {achieved!r} is not the share of synthetic "
                 f"images in {target} ({n} of {total})")
        if stored and differs(fraction.get("overall"), n_syn / len(stored)):
            fail(f"synthetic_fraction.overall {fraction.get('overall')!r} is not the share of "
                 f"synthetic images ({n_syn} of {len(stored)})")
        by_split = _dict(fraction.get("by_split"))
        for split in sorted(set(by_split) | set(per_split)):
            if split not in by_split:
                fail(f"synthetic_fraction.by_split has no {split}")
            elif split not in per_split:
                fail(f"synthetic_fraction.by_split.{split}, but there is no "
                     f"annotations/instances_{split}.json")
            elif differs(by_split[split], share(split)):
                n, total = per_split.get(split, [0, 0])
                fail(f"synthetic_fraction.by_split.{split} {by_split[split]!r} is not the share "
                     f"of synthetic images in {split} ({n} of {total})")
        if _is_number(requested) and 0 <= requested < 1 and isinstance(target, str):
            from simgen.export.mix import _synthetic_count

            n_real_there = per_split.get(target, [0, 0])[1] - per_split.get(target, [0, 0])[0]
            wanted = _synthetic_count(float(requested), n_real_there)
            if wanted != n_syn:
                fail(f"synthetic_fraction.requested {requested!r} with {n_real_there} real "
                     f"images in {target} asks for {wanted} synthetic images, the COCO files "
                     f"have {n_syn}")
        elif requested is None and self.synthetic.get("images_available") != n_syn:
            fail(f"every synthetic image was asked for ({self.synthetic.get('images_available')}"
                 f", sources.synthetic.images_available), the COCO files have {n_syn}")
        for side, record, flag in (("real", self.real, False), ("synthetic", self.synthetic, True)):
            for key, found in (("images", n_syn if flag else n_real), ("annotations", anns[flag])):
                if is_int(record.get(key)) and record[key] != found:
                    fail(f"sources.{side}.{key} is {record[key]}, the COCO files have {found}")
        counts = _dict(_dict(self.manifest.get("counts")).get("images"))
        for split in sorted(set(counts) - set(splits)):
            fail(f"counts.images.{split}, but there is no annotations/instances_{split}.json")


def _check_coco_label(fail: Any, ann: dict[str, Any], image: dict[str, Any] | None) -> bool:
    """What COCO requires of a (real, hand-drawn) label. True when its mask is an RLE string
    of the image's size, whose runs are checked in the batch (and nothing more)."""
    area = ann.get("area")
    if not (_is_number(area) and area > 0):
        fail(f"area must be a number > 0 (got {short(area)})")
    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(_is_number, bbox))):
        fail(f"bbox must be 4 numbers [x, y, w, h] (got {short(bbox)})")
    elif image is not None:
        x, y, w, h = bbox
        width, height, tol = image["width"], image["height"], BOX_TOLERANCE
        if not (w > 0 and h > 0 and x >= -tol and y >= -tol and x + w <= width + tol
                and y + h <= height + tol):
            fail(f"bbox {short(bbox)} is not inside the {width}x{height} image with w, h > 0")
    seg = ann.get("segmentation")
    if isinstance(seg, list):
        if not seg or not all(isinstance(poly, list) and len(poly) >= 6 and len(poly) % 2 == 0
                              and all(map(_is_number, poly)) for poly in seg):
            fail("segmentation polygons must be lists of >= 6 numbers (x, y pairs)")
        elif image is not None and not _polygons_inside(seg, image):
            # Like the box; a point at 1e300 crashed pycocotools' rasterizer (simgen report).
            fail(f"segmentation polygons must lie inside the {image['width']}x"
                 f"{image['height']} image (within {BOX_TOLERANCE} px)")
        return False
    if not (isinstance(seg, dict) and "counts" in seg):
        fail(f"segmentation must be polygons or an RLE (got {short(seg)})")
        return False
    if image is None:
        return False
    size = [image["height"], image["width"]]
    if seg.get("size") != size:
        fail(f"segmentation size {short(seg.get('size'))} is not the image's {size}")
        return False
    counts = seg["counts"]
    if isinstance(counts, str):
        return True
    if isinstance(counts, list) and all(is_int(c) and c >= 0 for c in counts):
        if sum(counts) != size[0] * size[1]:
            fail(f"segmentation counts has runs covering {sum(counts)} pixels, not "
                 f"{size[0]}x{size[1]}")
    else:
        fail("segmentation counts must be an RLE string or a list of run lengths")
    return False


def _polygons_inside(polygons: list[list[float]], image: dict[str, Any]) -> bool:
    tol = BOX_TOLERANCE
    return all(-tol <= v <= limit + tol for poly in polygons
               for v, limit in zip(poly, [image["width"], image["height"]] * (len(poly) // 2)))


# --- --reproduce -------------------------------------------------------------------------------

def reproduce_mix(report: VerifyReport, manifest: dict[str, Any],
                  stored: dict[int, StoredImage], count: int, seed: int,
                  scenario_dir: str | Path | None, progress: bool = False) -> None:
    """Re-make `count` synthetic images (chosen with `seed`) from the simgen dataset they were
    mixed from and compare them with the mix (see the module docstring); `progress` shows it
    on stderr."""
    from simgen.dataset.reader import read_manifest
    from simgen.progress import progress as progress_bar
    from simgen.trust.regen import regenerate_many

    def fail(message: str) -> None:
        report.problems.append(Problem("reproduce", MANIFEST, message))

    ids = sorted(i for i, item in stored.items() if item.image.get("synthetic") is True)
    if not ids:
        fail("no synthetic image to re-make")
        return
    record = _dict(_dict(manifest.get("sources")).get("synthetic"))
    path = record.get("path")
    if not isinstance(path, str) or not (Path(path) / MANIFEST).is_file():
        fail(f"cannot re-make images: the synthetic source {path!r} (sources.synthetic.path) "
             "is not there any more")
        return
    source = Path(path)
    try:
        source_manifest = read_manifest(source)
    except SimgenError as err:
        fail(f"cannot re-make images: {err}")
        return
    recorded = (_dict(record.get("scenario")).get("sha256"), record.get("seed"))
    found = (_dict(source_manifest.get("scenario")).get("sha256"), source_manifest.get("seed"))
    if recorded != found:
        fail(f"cannot re-make images: {source} is not the dataset mixed (its scenario sha256 "
             f"and seed {found}, {MANIFEST} records {recorded})")
        return
    names = _dict(manifest.get("categories")).get("names") or []
    resolved = _dict(_dict(source_manifest.get("scenario")).get("resolved"))
    source_ids = {name: i for i, name in enumerate(resolved.get("categories") or [], start=1)}
    plan: dict[int, tuple[int, StoredImage]] = {}   # origin id -> (mixed id, translated)
    early: dict[int, RegenResult] = {}              # mixed id -> why it cannot be re-made
    for image_id in choose_ids(ids, count, seed):
        item = stored[image_id]
        origin = item.image.get("origin")
        if not (isinstance(origin, dict) and is_int(origin.get("image_id"))
                and isinstance(origin.get("split"), str)
                and isinstance(origin.get("file_name"), str)):
            why = "no usable origin"
        elif origin["image_id"] in plan:
            why = (f"origin.image_id {origin['image_id']} is also the origin of image "
                   f"{plan[origin['image_id']][0]}")
        else:
            plan[origin["image_id"]] = (image_id, _as_in_source(item, origin, names, source_ids))
            continue
        early[image_id] = RegenResult(image_id, item.file, False, [f"cannot re-make: {why}"],
                                      None)
    bar = progress_bar(len(plan), "images", "verify --reproduce", progress)
    try:
        remade = regenerate_many(source, list(plan), manifest=source_manifest,
                                 stored={k: v for k, (_, v) in plan.items()},
                                 scenario_dir=scenario_dir, on_scene=bar.update) if plan else []
    except SimgenError as err:
        fail(f"cannot re-make images from {source}: {err}")
        return
    finally:
        bar.close()
    results = dict(early)
    for (_, (image_id, translated)), result in zip(plan.items(), remade):
        results[image_id] = _against_mix(report.out, source, stored[image_id], translated,
                                         result, list(source_ids))
    report.reproduced = [results[i] for i in sorted(results)]
    add_differences(report)


def _as_in_source(item: StoredImage, origin: dict[str, Any], names: list[Any],
                  source_ids: dict[str, int]) -> StoredImage:
    """A mixed synthetic image as its source dataset would hold it: the mix's renumbering of
    the image, its file and its categories undone (annotation ids are left: re-made ones run
    on from the first, as they must in the mix too)."""
    image = {k: v for k, v in item.image.items() if k not in ("synthetic", "origin")}
    image["id"], image["file_name"] = origin["image_id"], origin["file_name"]
    annotations = []
    for ann in item.annotations:
        category = ann.get("category_id")
        name = names[category - 1] if is_int(category) and 1 <= category <= len(names) else None
        annotations.append({**ann, "image_id": origin["image_id"],
                            "category_id": source_ids.get(name)})
    return StoredImage(origin["split"], image, annotations)


def _against_mix(out: Path, source: Path, item: StoredImage, translated: StoredImage,
                 result: RegenResult, source_names: list[str]) -> RegenResult:
    """regen's result (against the source's files and the translated entry) as a result of
    the mixed image: lines about source files name the source, category ids (the source's)
    read as names, and the re-made bytes are compared with the mixed file."""
    from simgen.trust.regen import _compare_file

    source_files = {translated.file} | {str(translated.image[key]) for key in
                                        layout.SIDE_FILES
                                        if key in translated.image}

    def name(value: str) -> str:
        index = int(value) - 1 if value.isdigit() else -1
        return repr(source_names[index]) if 0 <= index < len(source_names) else value

    differences = []
    for line in result.differences:
        if line.split(": ", 1)[0] in source_files:
            line = f"{source.as_posix()}/{line}"
        line = CATEGORY_LINE.sub(lambda m: f"category: stored {name(m[1])}, re-made "
                                 f"{name(m[2])}", line)
        differences.append(line)
    if result.image_bytes is not None:
        differences += _compare_file(out, item.file, result.image_bytes)
    return RegenResult(item.image["id"], item.file, not differences, differences,
                       result.image_bytes, result.annotations, result.notes)
