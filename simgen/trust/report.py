"""`simgen report`: one self-contained HTML page to review a dataset before anyone trains on it.

The page shows class balance, objects per image, box sizes and aspects, where box centres
fall, visibility and truncation, brightness and colour, camera coverage, near-duplicate
images (64-bit dHash) and a seeded contact sheet of images with their labels drawn, headed by
a short diversity summary. With `against`, every histogram overlays the second dataset and a
comparison section gives, per statistic, the Wasserstein distance and the histogram
intersection of the two distributions, and the class balance matched by category name.

Any COCO dataset works (see `simgen.dataset.coco_source`); a section whose data a dataset lacks (no
camera info or visibility in real data) says "not available in this dataset". Plots are PNGs
embedded as base64 `data:` URIs with inline CSS: no script, no link, no external file.

Where the page goes: the CLI's default is `./<dataset name>_report.html` in the current
folder. It is never written inside a simgen dataset, whose manifest lists every file of the
dataset (a report there would be an unlisted file and the dataset would no longer verify);
the dataset itself is only read. The page is written atomically (temporary file + rename).
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from simgen.dataset.coco_source import CocoSource, load_coco_source, source_name
from simgen.errors import SimgenError
from simgen.files import write_atomic
from simgen.trust.report_stats import (HASH_BITS, Comparison, DatasetStats, compare,
                                 dataset_stats)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Diversity summary"),
    ("comparison", "Comparison"),           # only with `against`
    ("classes", "Class balance"),
    ("objects", "Objects per image"),
    ("boxes", "Box size and aspect"),
    ("centres", "Object-centre heatmap"),
    ("visibility", "Visibility"),
    ("truncation", "Truncation"),
    ("colour", "Brightness and colour"),
    ("camera", "Camera coverage"),
    ("duplicates", "Near-duplicate images"),
    ("samples", "Random images with labels"),
)
NOT_AVAILABLE = "not available in this dataset"
MAX_PAIRS_LISTED = 50
MAX_PAIRS_SHOWN = 6


@dataclass(frozen=True, eq=False)
class ReportResult:
    out: Path                           # the HTML file written
    stats: DatasetStats
    against: DatasetStats | None
    comparison: Comparison | None
    sections: tuple[str, ...]           # section ids, in page order


def default_report_path(dataset: Path | str) -> Path:
    """`./<dataset name>_report.html` in the current folder (see the module docstring)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source_name(dataset)).strip("._") or "dataset"
    return Path.cwd() / f"{name}_report.html"


def write_report(dataset: Path | str, out_html: Path | str, against: Path | str | None = None,
                 *, images_dir: Path | str | None = None,
                 against_images_dir: Path | str | None = None, max_images: int = 2000,
                 sheet_images: int = 16, max_hash_distance: int = 4,
                 seed: int = 0, progress: bool = False) -> ReportResult:
    """Write the HTML report of the COCO dataset at `dataset` (a folder or a COCO JSON file;
    `images_dir` for its images if they are not found next to it) to `out_html`.

    against: a second dataset to compare with (its images in `against_images_dir`).
    max_images: at most this many images (drawn with `seed`) are decoded for pixel statistics
        and near-duplicate hashes; label statistics always use every annotation.
    sheet_images: images on each contact sheet (drawn with `seed`).
    max_hash_distance: image pairs whose dHashes differ in at most this many of 64 bits are
        listed as near-duplicates.
    progress: show the decoding of the images on stderr (a tqdm bar in a terminal, a line
        every 10 s otherwise; see simgen.progress).
    """
    for name, value, low in (("max_images", max_images, 1), ("sheet_images", sheet_images, 0),
                             ("max_hash_distance", max_hash_distance, 0), ("seed", seed, 0)):
        if not isinstance(value, int) or value < low:
            raise SimgenError(f"{name} must be an integer >= {low} (got {value!r})")
    out = Path(out_html)
    source = load_coco_source(dataset, images_dir)
    other = load_coco_source(against, against_images_dir) if against is not None else None
    _check_target(out, [s for s in (source, other) if s is not None])

    stats = [dataset_stats(source, max_images, seed, max_hash_distance, progress)]
    if other is not None:
        stats.append(dataset_stats(other, max_images, seed, max_hash_distance, progress))
    labels = [s.name for s in stats]
    if len(labels) == 2 and labels[0] == labels[1]:
        labels = [f"{labels[0]} (A)", f"{labels[1]} (B)"]
    page = _Page(stats, labels, compare(stats[0], stats[1]) if other is not None else None,
                 sheet_images, seed)
    text, sections = page.render()
    _write_atomic(out, text.encode("utf-8"))
    return ReportResult(out, stats[0], stats[1] if other is not None else None, page.comparison,
                        sections)


def _write_atomic(out: Path, data: bytes) -> None:
    """simgen.files.write_atomic, its OSError as the one-line usage error."""
    try:
        write_atomic(out, data)
    except OSError as err:
        raise SimgenError(f"{out}: cannot write the report ({err.strerror or err})") from None


def _check_target(out: Path, sources: Sequence[CocoSource]) -> None:
    if out.is_dir():
        raise SimgenError(f"{out}: is a folder; give the report's file name (e.g. "
                          f"{out / 'report.html'})")
    target = out.resolve()
    for source in sources:
        root = source.root.resolve()
        if source.is_simgen and root in target.parents:
            raise SimgenError(f"{out}: inside the simgen dataset {source.root}, whose manifest "
                              "lists every file; write the report outside it")


# --- the page ------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: .6em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; display: block; margin: .5em 0; }
p.na { color: #a33; font-style: italic; }
p.note, .meta { color: #555; font-size: .9em; }
nav a { margin-right: .8em; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if k >= numeric_from else ""}>{_e(v)}</td>'
                         for k, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _share(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "–"


class _Page:
    def __init__(self, stats: list[DatasetStats], labels: list[str],
                 comparison: Comparison | None, sheet_images: int, seed: int) -> None:
        self.stats, self.labels, self.comparison = stats, labels, comparison
        self.sheet_images, self.seed = sheet_images, seed

    # Every section: (id, heading, builder); comparison only with a second dataset.
    def render(self) -> tuple[str, tuple[str, ...]]:
        from simgen import __version__

        builders: dict[str, Callable[[], str]] = {
            "summary": self.summary, "comparison": self.compare_section,
            "classes": self.classes, "objects": self.objects, "boxes": self.boxes,
            "centres": self.centres, "visibility": lambda: self.occlusion("visibility"),
            "truncation": lambda: self.occlusion("truncation"), "colour": self.colour,
            "camera": self.camera, "duplicates": self.duplicates, "samples": self.samples}
        shown = [(sid, heading) for sid, heading in SECTIONS
                 if sid != "comparison" or self.comparison is not None]
        title = " against ".join(self.labels)
        parts = [
            "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            f"<title>simgen report: {_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>Dataset report: {_e(title)}</h1>",
            '<p class="meta">' + "<br>".join(
                f"{_e(label)}: {_e(s.source.root)} ({s.labels.n_images} images)"
                for label, s in zip(self.labels, self.stats))
            + f"<br>made by simgen {_e(__version__)}; seed {self.seed}</p>",
            "<nav>" + "".join(f'<a href="#{sid}">{_e(h)}</a>' for sid, h in shown) + "</nav>"]
        for sid, heading in shown:
            parts.append(f'<section id="{sid}"><h2>{_e(heading)}</h2>{builders[sid]()}</section>')
        parts.append("</body></html>\n")
        return "\n".join(parts), tuple(sid for sid, _ in shown)

    # --- helpers ---

    def _missing_note(self, values: Sequence[Any]) -> str:
        """Empty where every dataset has the data; the not-available line(s) otherwise."""
        missing = [label for label, v in zip(self.labels, values) if v is None]
        if not missing:
            return ""
        if len(self.labels) == 1:
            return f'<p class="na">{NOT_AVAILABLE}</p>'
        return "".join(f'<p class="na">{NOT_AVAILABLE}: {_e(label)}</p>' for label in missing)

    def _per_dataset(self, render: Callable[[DatasetStats], str]) -> str:
        if len(self.stats) == 1:
            return render(self.stats[0])
        return "".join(f"<h3>{_e(label)}</h3>{render(s)}" for label, s in zip(self.labels, self.stats))

    # --- sections ---

    def summary(self) -> str:
        columns = [_summary_rows(s) for s in self.stats]
        rows = [[label, *(col[k][1] for col in columns)] for k, (label, _) in enumerate(columns[0])]
        return _table(["", *self.labels], rows, numeric_from=99)

    def compare_section(self) -> str:
        from simgen.trust.report_plots import intersection_bars

        cmp = self.comparison
        assert cmp is not None
        a, b = self.labels
        names = ["class balance", *(d.label for d in cmp.distances)]
        values = [1.0 - cmp.class_total_variation, *(d.intersection for d in cmp.distances)]
        rows = [["class balance (by category name)", "", "", "", "",
                 f"TV {cmp.class_total_variation:.3f}", f"{1.0 - cmp.class_total_variation:.3f}"]]
        rows += [[d.label, d.n_a, d.n_b, _fmt(d.mean_a), _fmt(d.mean_b), _fmt(d.wasserstein),
                  "–" if d.intersection is None else f"{d.intersection:.3f}"]
                 for d in cmp.distances]
        class_rows = [[r.name, r.count_a, f"{100 * r.share_a:.1f}%", r.count_b,
                       f"{100 * r.share_b:.1f}%",
                       f"only in {a}" if not r.count_b and r.count_a else
                       f"only in {b}" if not r.count_a and r.count_b else ""]
                      for r in cmp.classes]
        return (
            f"<p>{_e(a)} (A) against {_e(b)} (B). Wasserstein distance is in the statistic's "
            "own unit (0: the same distribution); histogram intersection is the overlap of "
            "the two normalized histograms on shared bins (1: the same, 0: disjoint). For "
            "class balance: total variation distance (TV) between the class shares, matched "
            "by category name, and 1 - TV.</p>"
            + _img(intersection_bars(names, values), "histogram intersection per statistic")
            + _table(["statistic", f"n {a}", f"n {b}", f"mean {a}", f"mean {b}", "Wasserstein",
                      "intersection"], rows)
            + "<h3>Classes matched by name</h3>"
            + _table(["category", f"{a} annotations", f"{a} share", f"{b} annotations",
                      f"{b} share", ""], class_rows))

    def classes(self) -> str:
        from simgen.trust.report_plots import class_bars

        names = list(dict.fromkeys(n for s in self.stats for n in s.labels.categories))
        counts = [[s.labels.class_counts.get(n, 0) for n in names] for s in self.stats]
        if not names:
            return '<p class="na">no categories</p>'
        headers = ["category"]
        for label in self.labels:
            headers += [f"{label} annotations", "share", "images with it"]
        rows = []
        for k, name in enumerate(names):
            row: list[Any] = [name]
            for s, col in zip(self.stats, counts):
                row += [col[k], _share(col[k], s.labels.n_annotations),
                        s.labels.images_per_class.get(name, 0)]
            rows.append(row)
        return _img(class_bars(names, counts, self.labels), "annotations per category") + \
            _table(headers, rows)

    def objects(self) -> str:
        from simgen.trust.report_plots import Panel, histograms

        values = [s.labels.objects_per_image for s in self.stats]
        panel = Panel("objects per image", "annotations in the image", values, integer=True)
        return _img(histograms([panel], self.labels, "images"), "objects per image")

    def boxes(self) -> str:
        from simgen.trust.report_plots import Panel, histograms

        panels = [
            Panel("box size", "sqrt(box area / image area)",
                  [s.labels.box_rel_size for s in self.stats], value_range=(0.0, 1.0)),
            Panel("box aspect", "log2(width / height)",
                  [s.labels.box_aspect_log2 for s in self.stats])]
        rows = [[label, s.labels.coco_sizes["small"], s.labels.coco_sizes["medium"],
                 s.labels.coco_sizes["large"]] for label, s in zip(self.labels, self.stats)]
        return (_img(histograms(panels, self.labels, "boxes"), "box size and aspect")
                + _table(["dataset", "small (< 32² px)", "medium", "large (>= 96² px)"], rows)
                + '<p class="note">COCO size classes by the annotation\'s area.</p>')

    def centres(self) -> str:
        from simgen.trust.report_plots import centre_heatmaps

        return _img(centre_heatmaps([s.labels.centre_xy for s in self.stats], self.labels),
                    "object-centre heatmap")

    def occlusion(self, key: str) -> str:
        from simgen.trust.report_plots import Panel, histograms

        values = [getattr(s.labels, key) for s in self.stats]
        note = self._missing_note(values)
        if all(v is None for v in values):
            return note
        explain = {"visibility": "share of the object's in-frame silhouette that is seen",
                   "truncation": "share of the object's silhouette outside the image"}[key]
        panel = Panel(key, explain, values, value_range=(0.0, 1.0))
        return note + _img(histograms([panel], self.labels, "annotations"), key)

    def colour(self) -> str:
        from simgen.trust.report_plots import Panel, colour_swatches, histograms

        px = [s.pixels for s in self.stats]
        panels = [Panel("brightness", "mean grey level", [p.brightness for p in px], (0.0, 255.0)),
                  Panel("contrast", "std of grey levels", [p.contrast for p in px]),
                  Panel("saturation", "mean HSV saturation", [p.saturation for p in px], (0.0, 1.0))]
        rows = [[label, len(p.keys), *(f"{v:.1f}" for v in (p.mean_rgb.mean(axis=0) if len(p.keys)
                                                            else [np.nan] * 3)),
                 *(f"{v:.1f}" for v in (p.mean_rgb.std(axis=0) if len(p.keys) else [np.nan] * 3))]
                for label, p in zip(self.labels, px)]
        return (_img(histograms(panels, self.labels, "images"), "brightness, contrast, saturation")
                + _img(colour_swatches([p.mean_rgb for p in px], self.labels), "mean colours")
                + _table(["dataset", "images sampled", "mean R", "mean G", "mean B", "std R",
                          "std G", "std B"], rows)
                + '<p class="note">Per image, from the sampled images (see --max-images); std: '
                  "spread of the images' mean colours.</p>")

    def camera(self) -> str:
        from simgen.trust.report_plots import Panel, camera_poses, histograms

        labels = [s.labels for s in self.stats]
        distance = [lab.camera_distance_m for lab in labels]
        elevation = [lab.camera_elevation_deg for lab in labels]
        azimuth = [lab.camera_azimuth_deg for lab in labels]
        present = [d if d is not None else e if e is not None else a
                   for d, e, a in zip(distance, elevation, azimuth)]
        note = self._missing_note(present)
        if all(v is None for v in present):
            return note
        panels = [Panel("camera distance", "metres to the look-at point", distance),
                  Panel("camera elevation", "degrees above the horizontal", elevation),
                  Panel("camera azimuth", "degrees", [None if a is None else np.mod(a, 360.0)
                                                      for a in azimuth], (0.0, 360.0))]
        return (note + _img(histograms(panels, self.labels, "images"), "camera distance, "
                            "elevation and azimuth")
                + _img(camera_poses(azimuth, elevation, self.labels), "camera views"))

    def duplicates(self) -> str:
        from simgen.trust.report_images import pair_sheet
        from simgen.trust.report_plots import Panel, histograms, rgb_png

        threshold = self.stats[0].duplicates.max_distance
        panel = Panel("nearest other image", "Hamming distance of 64-bit dHashes (bits)",
                      [s.duplicates.nearest for s in self.stats], (0.0, float(HASH_BITS)),
                      integer=True, marker=threshold + 0.5)
        intro = (f"<p>Images are compared by a 64-bit difference hash (dHash) of their grey "
                 f"image shrunk to 9x8 pixels; pairs differing in at most {threshold} bits "
                 "(left of the dashed line) are listed. Only the images sampled for pixel "
                 "statistics are compared.</p>")

        def one(s: DatasetStats) -> str:
            d, keys = s.duplicates, s.pixels.keys
            text = (f"<p>{d.n_pairs} near-duplicate pairs among {len(keys)} images; "
                    f"{d.groups} unique-ish images.</p>")
            if not d.pairs:
                return text
            rows = [[keys[i], keys[j], dist] for i, j, dist in d.pairs[:MAX_PAIRS_LISTED]]
            more = d.n_pairs - len(rows)
            shown = pair_sheet([(s.pixels.paths[i], s.pixels.paths[j])
                                for i, j, _ in d.pairs[:MAX_PAIRS_SHOWN]])
            return (text + _table(["image", "image", "distance (bits)"], rows, numeric_from=2)
                    + (f'<p class="note">and {more} more pairs</p>' if more else "")
                    + (_img(rgb_png(shown), "near-duplicate pairs, one per row")
                       if shown is not None else ""))

        return (intro + _img(histograms([panel], self.labels, "images"),
                             "nearest-neighbour hash distance") + self._per_dataset(one))

    def samples(self) -> str:
        from simgen.trust.report_images import sample_sheet
        from simgen.trust.report_plots import rgb_png

        def one(s: DatasetStats) -> str:
            sheet = sample_sheet(s.source, self.sheet_images, self.seed)
            if sheet is None:
                return '<p class="na">no images</p>'
            return _img(rgb_png(sheet), f"random images of {s.name} with their labels")

        return (f'<p class="note">Up to {self.sheet_images} images drawn with seed {self.seed}, '
                "shown in dataset order: boxes, mask outlines and category names.</p>"
                + self._per_dataset(one))


def _summary_rows(s: DatasetStats) -> list[tuple[str, str]]:
    """(label, value) lines of the diversity summary; the same labels for every dataset."""
    lab, px, dup = s.labels, s.pixels, s.duplicates
    splits = ", ".join(f"{k} {v}" for k, v in lab.images_per_split.items() if v)
    rows = [("images", f"{lab.n_images}" + (f" ({splits})" if splits else "")),
            ("images sampled for pixel statistics", f"{len(px.keys)} of {lab.n_images}"),
            ("annotations", f"{lab.n_annotations}"
             + (f" (and {lab.n_crowd} crowd regions, not counted)" if lab.n_crowd else ""))]
    counts = np.array([lab.class_counts[c] for c in lab.categories], dtype=float)
    rows.append(("categories", f"{len(counts)} ({int((counts > 0).sum())} with annotations)"))
    balance = "–"
    if len(counts) > 1 and counts.sum() > 0:
        p = counts[counts > 0] / counts.sum()
        entropy = float(-(p * np.log(p)).sum() / np.log(len(counts)))
        present = counts[counts > 0]
        balance = (f"normalized entropy {entropy:.2f} (1: even); most common class "
                   f"{present.max() / present.min():.1f}x the least common present one")
    rows.append(("class balance", balance))
    opi = lab.objects_per_image
    rows.append(("objects per image",
                 f"mean {opi.mean():.2f}, median {np.median(opi):g}, max {opi.max()}; "
                 f"{int((opi == 0).sum())} images without objects" if len(opi) else "–"))
    rows.append(("box sizes (COCO)", ", ".join(f"{k} {v}" for k, v in lab.coco_sizes.items())))
    rows.append(("unique-ish images (by hash)",
                 f"{dup.groups} of {len(px.keys)} sampled ({dup.n_pairs} near-duplicate "
                 f"pairs within {dup.max_distance} bits)"))
    camera = []
    for key, unit in (("camera_distance_m", " m"), ("camera_elevation_deg", "°")):
        values = getattr(lab, key)
        if values is not None:
            camera.append(f"{key.split('_')[1]} {values.min():.2f}–{values.max():.2f}{unit} "
                          f"(std {values.std():.2f})")
    if lab.camera_azimuth_deg is not None:
        sectors = len(set((np.mod(lab.camera_azimuth_deg, 360.0) // 30).astype(int).tolist()))
        camera.append(f"azimuth in {sectors} of 12 30° sectors")
    rows.append(("camera poses", "; ".join(camera) if camera else NOT_AVAILABLE))
    if len(px.keys):
        std = px.mean_rgb.std(axis=0)
        colour = (f"brightness mean {px.brightness.mean():.0f} (std {px.brightness.std():.1f}); "
                  f"spread of per-image mean R/G/B {std[0]:.1f}/{std[1]:.1f}/{std[2]:.1f}; "
                  f"saturation mean {px.saturation.mean():.2f}")
    else:
        colour = "–"
    rows.append(("colour spread", colour))
    return rows


__all__ = ["SECTIONS", "NOT_AVAILABLE", "ReportResult", "default_report_path", "write_report"]
