"""The numbers behind `simgen report`: label, pixel and camera statistics of a COCO dataset,
near-duplicate images by perceptual hash, and distances between two datasets' statistics.

Label statistics use every annotation (crowd regions are counted apart and left out of the
rest). Pixel statistics and hashes use at most `max_images` images, drawn with a fixed seed;
each is decoded once, at reduced size where it is large (`cv2.IMREAD_REDUCED_COLOR_2/4`), in
a few threads (OpenCV releases the GIL while decoding). No matplotlib here: see report_plots.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from simgen.dataset.coco_source import CocoSource
from simgen.errors import SimgenError
from simgen.dataset.images import read_image

HASH_BITS = 64
COCO_SMALL_PX2, COCO_MEDIUM_PX2 = 32 ** 2, 96 ** 2     # COCO's small / medium / large areas
_DECODE_THREADS = 4
MAX_PAIRS_KEPT = 1000     # near-duplicate pairs kept for listing (all are counted)


@dataclass(frozen=True, eq=False)
class LabelStats:
    """Statistics of the labels, over every image and (non-crowd) annotation."""

    n_images: int
    images_per_split: dict[str, int]
    n_annotations: int                  # not counting crowd regions
    n_crowd: int
    categories: list[str]               # every category name (see CocoSource.category_names)
    class_counts: dict[str, int]        # name -> annotations, for every category
    images_per_class: dict[str, int]    # name -> images with at least one
    objects_per_image: np.ndarray       # int, one per image
    box_rel_size: np.ndarray            # sqrt(box area / image area): a box's side as image share
    box_aspect_log2: np.ndarray         # log2(w / h) of boxes with w, h > 0
    centre_xy: np.ndarray               # (n, 2) box centres as a fraction of width and height
    coco_sizes: dict[str, int]          # small / medium / large by `area` (else box area)
    visibility: np.ndarray | None       # None: no annotation has the field
    truncation: np.ndarray | None
    camera_distance_m: np.ndarray | None    # None: no image has `camera` info
    camera_elevation_deg: np.ndarray | None
    camera_azimuth_deg: np.ndarray | None


@dataclass(frozen=True, eq=False)
class PixelStats:
    """Statistics of the sampled images' pixels (rows in sample order)."""

    keys: list[str]                     # "<split>/<file_name>"
    paths: list[Path]
    brightness: np.ndarray              # mean grey level, 0..255
    contrast: np.ndarray                # std of the grey levels
    saturation: np.ndarray              # mean HSV saturation, 0..1
    mean_rgb: np.ndarray                # (n, 3) mean R, G, B, 0..255
    dhash: np.ndarray                   # (n,) uint64 difference hashes


@dataclass(frozen=True, eq=False)
class Duplicates:
    """Near-duplicate pairs among the sampled images (indexes into PixelStats' rows)."""

    max_distance: int
    n_pairs: int                        # pairs within max_distance bits
    pairs: list[tuple[int, int, int]]   # (i, j, Hamming distance), i < j, closest first; the
                                        # first MAX_PAIRS_KEPT of them
    nearest: np.ndarray                 # each image's distance to its nearest other image
    groups: int                         # images left when each near-duplicate group counts once


@dataclass(frozen=True, eq=False)
class DatasetStats:
    name: str
    source: CocoSource
    labels: LabelStats
    pixels: PixelStats
    duplicates: Duplicates


def dataset_stats(source: CocoSource, max_images: int = 2000, seed: int = 0,
                  max_distance: int = 4, progress: bool = False) -> DatasetStats:
    """All statistics of `source`; pixels from at most `max_images` images drawn with `seed`
    (with `progress`, their decoding shows progress on stderr: see simgen.progress)."""
    pixels = pixel_stats(source, sample_images(source.n_images, max_images, seed), progress)
    return DatasetStats(source.name, source, label_stats(source), pixels,
                        near_duplicates(pixels.dhash, max_distance))


# --- labels ----------------------------------------------------------------------------------

def _values(rows: list[Any]) -> np.ndarray | None:
    return np.asarray(rows, dtype=np.float64) if rows else None


def label_stats(source: CocoSource) -> LabelStats:
    categories = source.category_names()
    counts = dict.fromkeys(categories, 0)
    per_class_images = dict.fromkeys(categories, 0)
    per_image, rel_size, aspect, centres, visibility, truncation = [], [], [], [], [], []
    coco_sizes = {"small": 0, "medium": 0, "large": 0}
    camera: dict[str, list[float]] = {"distance_m": [], "elevation_deg": [], "azimuth_deg": []}
    n_crowd = 0
    for split, image, anns in source.records():
        names = split.category_names()
        width, height = float(image["width"]), float(image["height"])
        objects = 0
        seen: set[str] = set()
        for ann in anns:
            if ann.get("iscrowd", 0):
                n_crowd += 1
                continue
            objects += 1
            name = names[ann["category_id"]]
            counts[name] += 1
            seen.add(name)
            x, y, w, h = (float(v) for v in ann["bbox"])
            # Two roots, not the root of a product: w * h of a 1e300-pixel box is inf.
            rel_size.append(math.sqrt(max(w, 0.0) / width) * math.sqrt(max(h, 0.0) / height))
            if w > 0 and h > 0:
                aspect.append(math.log2(w / h))
            centres.append(((x + w / 2) / width, (y + h / 2) / height))
            area = ann.get("area")
            area = float(area) if _is_number(area) else w * h
            coco_sizes["small" if area < COCO_SMALL_PX2 else
                       "medium" if area < COCO_MEDIUM_PX2 else "large"] += 1
            if _is_number(ann.get("visibility")):
                visibility.append(float(ann["visibility"]))
            if _is_number(ann.get("truncation")):
                truncation.append(float(ann["truncation"]))
        for name in seen:
            per_class_images[name] += 1
        per_image.append(objects)
        cam = image.get("camera")
        if isinstance(cam, dict):
            for key, rows in camera.items():
                if _is_number(cam.get(key)):
                    rows.append(float(cam[key]))
    return LabelStats(
        n_images=source.n_images,
        images_per_split={s.name: len(s.images) for s in source.splits},
        n_annotations=sum(counts.values()), n_crowd=n_crowd, categories=categories,
        class_counts=counts, images_per_class=per_class_images,
        objects_per_image=np.asarray(per_image, dtype=np.int64),
        box_rel_size=np.asarray(rel_size, dtype=np.float64),
        box_aspect_log2=np.asarray(aspect, dtype=np.float64),
        centre_xy=np.asarray(centres, dtype=np.float64).reshape(-1, 2),
        coco_sizes=coco_sizes, visibility=_values(visibility), truncation=_values(truncation),
        camera_distance_m=_values(camera["distance_m"]),
        camera_elevation_deg=_values(camera["elevation_deg"]),
        camera_azimuth_deg=_values(camera["azimuth_deg"]))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- pixels ----------------------------------------------------------------------------------

def sample_images(n_images: int, max_images: int, seed: int) -> list[int]:
    """Indexes (into CocoSource.records() order) of at most `max_images` images, sorted;
    all of them when there are no more than that. The same arguments give the same sample."""
    if max_images < 1:
        raise SimgenError(f"max_images must be >= 1 (got {max_images})")
    if n_images <= max_images:
        return list(range(n_images))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return sorted(int(i) for i in rng.choice(n_images, size=max_images, replace=False))


def decode_flag(width: float, height: float) -> int:
    """The imread flag that decodes an image of this size to about 320 px or more on its
    longer side: JPEG decodes a reduced image for a fraction of the work."""
    import cv2

    side = max(width, height)
    if side >= 1280:
        return cv2.IMREAD_REDUCED_COLOR_4
    if side >= 640:
        return cv2.IMREAD_REDUCED_COLOR_2
    return cv2.IMREAD_COLOR


def dhash(gray: np.ndarray) -> int:
    """64-bit difference hash: the grey image shrunk to 9x8, one bit per pair of horizontal
    neighbours (1 where the right one is brighter). Alike images differ in few bits."""
    import cv2

    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return int(np.packbits(bits).view(">u8")[0])


def image_facts(bgr: np.ndarray) -> tuple[float, float, float, tuple[float, float, float], int]:
    """(brightness, contrast, saturation, mean RGB, dHash) of one BGR uint8 image."""
    import cv2

    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    mean, std = cv2.meanStdDev(gray)
    saturation = float(cv2.cvtColor(bgr, cv2.COLOR_BGR2HSV)[:, :, 1].mean()) / 255.0
    b, g, r = (float(v) for v in bgr.reshape(-1, 3).mean(axis=0))
    return float(mean[0, 0]), float(std[0, 0]), saturation, (r, g, b), dhash(gray)


def pixel_stats(source: CocoSource, indexes: list[int], progress: bool = False) -> PixelStats:
    """Pixel statistics of the images at `indexes` (see `sample_images`); with `progress`, a
    bar in a terminal or a line every 10 s in a log while they are decoded."""
    from simgen.progress import progress as progress_bar

    wanted = set(indexes)
    chosen = [(f"{split.name}/{image['file_name']}", split.image_path(image),
               decode_flag(image["width"], image["height"]))
              for i, (split, image, _) in enumerate(source.records()) if i in wanted]

    def facts(item: tuple[str, Path, int]) -> Any:
        _, path, flag = item
        bgr = read_image(path, flag)
        if bgr is None:
            raise SimgenError(f"{path}: cannot read the image")
        return image_facts(bgr)

    threads = max(1, min(_DECODE_THREADS, os.cpu_count() or 1))
    bar = progress_bar(len(chosen), "images", f"report {source.name}: decoding", progress)
    rows = []
    try:
        with ThreadPoolExecutor(threads) as pool:
            for row in pool.map(facts, chosen):   # in order, as each is done
                rows.append(row)
                bar.update(1)
    finally:
        bar.close()
    return PixelStats(
        keys=[key for key, _, _ in chosen], paths=[path for _, path, _ in chosen],
        brightness=np.array([r[0] for r in rows], dtype=np.float64),
        contrast=np.array([r[1] for r in rows], dtype=np.float64),
        saturation=np.array([r[2] for r in rows], dtype=np.float64),
        mean_rgb=np.array([r[3] for r in rows], dtype=np.float64).reshape(-1, 3),
        dhash=np.array([r[4] for r in rows], dtype=np.uint64))


# --- near duplicates -------------------------------------------------------------------------

def hash_bits(hashes: np.ndarray) -> np.ndarray:
    """(n, 64) 0/1 float32 matrix of the hashes' bits, most significant first."""
    as_bytes = np.asarray(hashes, dtype=">u8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).astype(np.float32)


def near_duplicates(hashes: np.ndarray, max_distance: int, chunk: int = 1024) -> Duplicates:
    """Pairs of hashes at most `max_distance` bits apart, every image's nearest-neighbour
    distance, and the number of groups that those pairs connect.

    All pairs are compared as matrix products of the bit matrices, `chunk` rows at a time;
    the groups are merged chunk by chunk (each image linked to its group's first image), so
    memory stays bounded by a chunk even where every image is a copy of every other.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    bits = hash_bits(hashes)
    n = len(bits)
    nearest = np.full(n, HASH_BITS, dtype=np.int64)
    representative = np.arange(n)
    kept = np.zeros((0, 3), dtype=np.int64)        # rows (distance, i, j)
    n_pairs = 0
    inverse = 1.0 - bits
    for start in range(0, n, chunk):
        rows = bits[start:start + chunk]
        distance = np.rint(rows @ inverse.T + (1.0 - rows) @ bits.T).astype(np.int64)
        local = np.arange(len(rows))
        distance[local, start + local] = HASH_BITS + 1     # not itself
        nearest[start:start + len(rows)] = distance.min(axis=1)
        ii, jj = np.nonzero(distance <= max_distance)
        upper = start + ii < jj
        ii, jj = start + ii[upper], jj[upper]
        if not len(ii):
            continue
        n_pairs += len(ii)
        found = np.stack([distance[ii - start, jj], ii, jj], axis=1)
        both = np.concatenate([kept, found])
        kept = both[np.lexsort((both[:, 2], both[:, 1], both[:, 0]))][:MAX_PAIRS_KEPT]
        edges_from = np.concatenate([ii, np.arange(n)])
        edges_to = np.concatenate([jj, representative])
        graph = coo_matrix((np.ones(len(edges_from), dtype=np.int8), (edges_from, edges_to)),
                           shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        _, first = np.unique(labels, return_index=True)
        representative = first[labels]
    groups = len(np.unique(representative))
    pairs = [(int(i), int(j), int(d)) for d, i, j in kept]
    return Duplicates(max_distance, n_pairs, pairs, nearest if n > 1 else np.zeros(0, np.int64),
                      groups)


# --- comparing two datasets ------------------------------------------------------------------

@dataclass(frozen=True)
class Statistic:
    key: str
    label: str
    get: Callable[[DatasetStats], np.ndarray | None]


def _column(k: int) -> Callable[[DatasetStats], np.ndarray]:
    return lambda s: s.pixels.mean_rgb[:, k]


STATISTICS = (
    Statistic("objects_per_image", "objects per image", lambda s: s.labels.objects_per_image),
    Statistic("box_rel_size", "box size (sqrt of image share)", lambda s: s.labels.box_rel_size),
    Statistic("box_aspect_log2", "box aspect log2(w/h)", lambda s: s.labels.box_aspect_log2),
    Statistic("centre_x", "box centre x (share of width)", lambda s: s.labels.centre_xy[:, 0]),
    Statistic("centre_y", "box centre y (share of height)", lambda s: s.labels.centre_xy[:, 1]),
    Statistic("visibility", "visibility", lambda s: s.labels.visibility),
    Statistic("truncation", "truncation", lambda s: s.labels.truncation),
    Statistic("brightness", "brightness (grey 0..255)", lambda s: s.pixels.brightness),
    Statistic("contrast", "contrast (grey std)", lambda s: s.pixels.contrast),
    Statistic("saturation", "saturation (0..1)", lambda s: s.pixels.saturation),
    Statistic("mean_r", "mean red", _column(0)),
    Statistic("mean_g", "mean green", _column(1)),
    Statistic("mean_b", "mean blue", _column(2)),
    Statistic("camera_distance_m", "camera distance (m)", lambda s: s.labels.camera_distance_m),
    Statistic("camera_elevation_deg", "camera elevation (deg)",
              lambda s: s.labels.camera_elevation_deg),
)


def histogram_intersection(a: np.ndarray, b: np.ndarray, bins: int = 20) -> float:
    """Overlap of the two samples' normalized histograms on shared bins: 1 the same shape, 0
    no overlap at all."""
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
    ha = np.histogram(a, edges)[0] / len(a)
    hb = np.histogram(b, edges)[0] / len(b)
    return float(np.minimum(ha, hb).sum())


@dataclass(frozen=True)
class Distance:
    key: str
    label: str
    n_a: int
    n_b: int
    mean_a: float | None
    mean_b: float | None
    wasserstein: float | None       # in the statistic's unit; None where a side has no data
    intersection: float | None      # 0..1, 1 = same histogram


@dataclass(frozen=True)
class ClassRow:
    name: str
    count_a: int
    count_b: int
    share_a: float
    share_b: float


@dataclass(frozen=True)
class Comparison:
    distances: list[Distance]
    classes: list[ClassRow]             # matched by category name: A's order, then B's others
    class_total_variation: float        # 0.5 * sum |share_a - share_b|: 0 same balance, 1 disjoint


def compare(a: DatasetStats, b: DatasetStats) -> Comparison:
    """Distances between the distributions of every statistic of `a` and `b`."""
    from scipy.stats import wasserstein_distance

    distances = []
    for stat in STATISTICS:
        va, vb = stat.get(a), stat.get(b)
        na = 0 if va is None else len(va)
        nb = 0 if vb is None else len(vb)
        both = na > 0 and nb > 0
        distances.append(Distance(
            stat.key, stat.label, na, nb,
            float(np.mean(va)) if na else None, float(np.mean(vb)) if nb else None,
            float(wasserstein_distance(va, vb)) if both else None,
            histogram_intersection(np.asarray(va, float), np.asarray(vb, float)) if both else None))
    ca, cb = a.labels.class_counts, b.labels.class_counts
    ta, tb = max(1, sum(ca.values())), max(1, sum(cb.values()))
    names = list(dict.fromkeys([*ca, *cb]))
    classes = [ClassRow(n, ca.get(n, 0), cb.get(n, 0), ca.get(n, 0) / ta, cb.get(n, 0) / tb)
               for n in names]
    tv = 0.5 * sum(abs(r.share_a - r.share_b) for r in classes)
    return Comparison(distances, classes, tv)
