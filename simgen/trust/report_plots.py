"""The figures of `simgen report`, each returned as PNG bytes.

matplotlib is imported here only, and used without pyplot: every figure is a
`matplotlib.figure.Figure` on its own Agg canvas, so no global state, no display and no
backend selection are involved. With two datasets every histogram overlays both, on shared
bins, as shares (each sums to 1), so datasets of different sizes compare directly.

Every label stays inside its figure: the figures use constrained layout, which makes room
for tick labels, titles and colour bars, and text that comes from the data (category and
dataset names) is shortened to MAX_LABEL_CHARS in the middle ("long…name"; the page's tables
give it in full), since no layout can fit a 200-character name beside a plot. As a last
resort the PNG is saved with bbox_inches="tight": whatever still reaches past the canvas
widens the image instead of being cut.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

COLORS = ("#1f77b4", "#ff7f0e")     # dataset A, dataset B
DPI = 80
MAX_LABEL_CHARS = 32


def short_label(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """`text` of at most `limit` characters: a longer one keeps its start and end around "…"."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2 + (limit - 1) % 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


@dataclass(frozen=True)
class Panel:
    """One histogram: a title, an x label, one array (or None: no data) per dataset."""

    title: str
    xlabel: str
    values: Sequence[np.ndarray | None]
    value_range: tuple[float, float] | None = None   # fixed x range, e.g. (0, 1)
    integer: bool = False                            # one bin per whole number
    marker: float | None = None                      # a dashed vertical line here (a threshold)


def _figure(width_in: float, height_in: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # No "Software" text chunk: the same statistics give the same bytes.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None}, bbox_inches="tight",
                pad_inches=0.05)
    return buf.getvalue()


def _edges(arrays: list[np.ndarray], panel: Panel, bins: int = 30) -> np.ndarray:
    data = np.concatenate(arrays)
    if panel.integer:
        low, high = (int(v) for v in (panel.value_range or (data.min(), data.max())))
        if high - low <= 60:
            return np.arange(low - 0.5, high + 1.5)
    return np.histogram_bin_edges(data, bins=bins, range=panel.value_range)


def histograms(panels: Sequence[Panel], labels: Sequence[str], ylabel: str = "count") -> bytes:
    """One row of histograms. One dataset: counts; two: shares, overlaid."""
    fig = _figure(3.6 * len(panels), 2.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    two = len(labels) > 1
    for ax, panel in zip(axes, panels):
        present = [(k, v) for k, v in enumerate(panel.values) if v is not None and len(v)]
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel, fontsize=9)
        ax.tick_params(labelsize=8)
        if not present:
            ax.text(0.5, 0.5, "not available", ha="center", va="center", transform=ax.transAxes)
            continue
        edges = _edges([v for _, v in present], panel)
        for k, values in present:
            weights = np.full(len(values), 1.0 / len(values)) if two else None
            ax.hist(values, bins=edges, weights=weights, color=COLORS[k], alpha=0.5 if two else 0.85,
                    label=short_label(labels[k], 24), edgecolor="white", linewidth=0.4)
        if panel.marker is not None:
            ax.axvline(panel.marker, color="#d62728", linestyle="--", linewidth=1)
        ax.set_ylabel(f"share of {ylabel}" if two else ylabel, fontsize=9)
        if two:
            ax.legend(fontsize=8)
    return _png(fig)


def class_bars(names: Sequence[str], counts: Sequence[Sequence[int]], labels: Sequence[str]) -> bytes:
    """Horizontal bars per category: counts for one dataset, shares side by side for two."""
    n = max(1, len(names))
    fig = _figure(7.0, min(40.0, 1.0 + 0.28 * n * len(labels)))
    ax = fig.subplots()
    two = len(labels) > 1
    y = np.arange(len(names))
    height = 0.8 / len(labels)
    for k, row in enumerate(counts):
        values = np.asarray(row, dtype=float)
        if two:
            values = values / max(1.0, values.sum())
        ax.barh(y + (k - (len(labels) - 1) / 2) * height, values, height=height, color=COLORS[k],
                label=short_label(labels[k]))
    ax.set_yticks(y, [short_label(n) for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of annotations" if two else "annotations", fontsize=9)
    if two:
        ax.legend(fontsize=8)
    return _png(fig)


def centre_heatmaps(centres: Sequence[np.ndarray | None], labels: Sequence[str],
                    bins: int = 24) -> bytes:
    """Where box centres fall in the image (x right, y down), one map per dataset."""
    fig = _figure(3.6 * len(labels), 3.2)
    axes = fig.subplots(1, len(labels), squeeze=False)[0]
    for ax, xy, label in zip(axes, centres, labels):
        ax.set_title(short_label(label, 28), fontsize=10)
        ax.set_xlabel("x / width", fontsize=9)
        ax.set_ylabel("y / height", fontsize=9)
        ax.tick_params(labelsize=8)
        if xy is None or not len(xy):
            ax.text(0.5, 0.5, "no boxes", ha="center", va="center", transform=ax.transAxes)
            continue
        grid, _, _ = np.histogram2d(xy[:, 1], xy[:, 0], bins=bins, range=[[0, 1], [0, 1]])
        image = ax.imshow(grid / len(xy), extent=(0, 1, 1, 0), cmap="magma",
                          interpolation="nearest", aspect="auto")
        fig.colorbar(image, ax=ax, label="share of boxes")
    return _png(fig)


def camera_poses(azimuth: Sequence[np.ndarray | None], elevation: Sequence[np.ndarray | None],
                 labels: Sequence[str]) -> bytes:
    """Azimuth against elevation of every view, both datasets in one plot."""
    fig = _figure(4.6, 3.2)
    ax = fig.subplots()
    for k, (az, el) in enumerate(zip(azimuth, elevation)):
        if az is not None and el is not None and len(az) == len(el) and len(az):
            ax.scatter(np.mod(az, 360.0), el, s=10, alpha=0.6, color=COLORS[k],
                       label=short_label(labels[k], 24))
    ax.set_xlim(0, 360)
    ax.set_xticks(range(0, 361, 60))
    ax.set_xlabel("azimuth (deg)", fontsize=9)
    ax.set_ylabel("elevation (deg)", fontsize=9)
    ax.set_title("camera views", fontsize=10)
    ax.tick_params(labelsize=8)
    if len(labels) > 1:
        ax.legend(fontsize=8)
    return _png(fig)


def colour_swatches(mean_rgb: Sequence[np.ndarray], labels: Sequence[str],
                    columns: int = 200) -> bytes:
    """Every sampled image's mean colour as a swatch, ordered by hue, one strip per dataset."""
    import cv2

    fig = _figure(7.0, 0.6 + 0.7 * len(labels))
    axes = fig.subplots(len(labels), 1, squeeze=False)[:, 0]
    for ax, rgb, label in zip(axes, mean_rgb, labels):
        ax.set_axis_off()
        ax.set_title(f"mean colour per image: {short_label(label, 60)}", fontsize=9, loc="left")
        if not len(rgb):
            continue
        pixels = np.clip(np.rint(rgb), 0, 255).astype(np.uint8).reshape(-1, 1, 3)
        hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV).reshape(-1, 3)
        order = np.lexsort((hsv[:, 2], hsv[:, 0]))
        if len(order) > columns:   # an even spread of the ordered swatches
            order = order[np.linspace(0, len(order) - 1, columns).astype(int)]
        ax.imshow(pixels[order].reshape(1, -1, 3), aspect="auto", interpolation="nearest")
    return _png(fig)


def intersection_bars(labels: Sequence[str], values: Sequence[float | None]) -> bytes:
    """Histogram intersection per statistic (1 = same distribution); missing ones left empty."""
    fig = _figure(7.0, 1.0 + 0.26 * len(labels))
    ax = fig.subplots()
    y = np.arange(len(labels))
    shown = np.array([np.nan if v is None else v for v in values], dtype=float)
    colors = ["#2ca02c" if v >= 0.8 else "#ff7f0e" if v >= 0.5 else "#d62728"
              for v in np.nan_to_num(shown)]
    ax.barh(y, np.nan_to_num(shown), color=colors)
    for k, v in enumerate(shown):
        ax.text(0.01 if np.isnan(v) else min(v, 0.9) + 0.01, k, "n/a" if np.isnan(v) else f"{v:.2f}",
                va="center", fontsize=7)
    ax.set_yticks(y, [short_label(n) for n in labels], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("histogram intersection (1 = same distribution)", fontsize=9)
    return _png(fig)


def rgb_png(rgb: np.ndarray) -> bytes:
    """An RGB uint8 image as PNG bytes."""
    import cv2

    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:  # pragma: no cover
        raise RuntimeError("OpenCV could not encode a PNG")
    return buf.tobytes()
