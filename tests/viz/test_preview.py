"""`simgen preview`: labels drawn where the annotations say, a grid of tiles, the CLI's PNG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

import simgen
from simgen.label import rle_of_columns
from simgen.viz.preview import PAD_PX, category_color, contact_sheet, draw_labels, preview_size
from tests.conftest import REPO



def _simgen(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_draw_labels_paints_the_box_in_the_category_colour_and_nothing_far_away():
    rgb = np.full((60, 80, 3), 7, dtype=np.uint8)
    mask = np.zeros((60, 80), dtype=bool)
    mask[30:45, 20:40] = True   # rows 30..44, columns 20..39: bbox [20, 30, 20, 15]
    ann = {"id": 1, "image_id": 1, "category_id": 2, "bbox": [20, 30, 20, 15], "area": 300,
           "segmentation": rle_of_columns(mask[:, 20:40], 20, 80), "iscrowd": 0}
    before = rgb.copy()
    out = draw_labels(rgb, [ann], ["mug", "duck"])
    color = category_color(2)
    assert color != category_color(1)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(rgb, before), "draw_labels must not change its input"
    for y, x in [(44, 20), (44, 30), (44, 39), (37, 20), (37, 39)]:   # bottom, left, right edges
        assert tuple(out[y, x]) == color, (y, x, out[y, x])
    assert tuple(out[37, 30]) == (7, 7, 7), "the inside of the mask is left as it was"
    assert tuple(out[5, 75]) == (7, 7, 7), "far from the box nothing is drawn"
    # The name sits on a filled tag just above the box.
    assert (out[:30, 20:40] != 7).any()


def test_draw_labels_without_annotations_returns_an_equal_copy():
    rgb = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    assert np.array_equal(draw_labels(rgb, [], []), rgb)


def test_contact_sheet_of_five_tiles_is_a_three_by_two_grid():
    tiles = [np.full((10, 20, 3), i * 40, dtype=np.uint8) for i in range(5)]
    sheet = contact_sheet(tiles)
    assert sheet.shape == (2 * 10 + 3 * PAD_PX, 3 * 20 + 4 * PAD_PX, 3)
    # Row by row: tile 3 is the first of the second row.
    top, left = PAD_PX + 10 + PAD_PX, PAD_PX
    assert (sheet[top:top + 10, left:left + 20] == 3 * 40).all()
    assert contact_sheet(tiles, columns=5).shape == (10 + 2 * PAD_PX, 5 * 20 + 6 * PAD_PX, 3)


def test_preview_size_scales_but_keeps_64_px_a_side():
    assert preview_size(640, 480, 0.5) == (320, 240)
    assert preview_size(640, 480, 0.05) == (64, 64)
    assert preview_size(48, 200, 0.25) == (48, 64)


def test_cli_preview_writes_a_contact_sheet_of_the_scaled_images(tmp_path):
    import cv2

    png = tmp_path / "X.png"
    proc = _simgen(["preview", str(REPO / "scenes/tabletop.yaml"), "-o", str(png), "-n", "4",
                    "--renderer", "tiny", "--scale", "0.25"],
                   tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"simgen: wrote preview of 4 images to {png}\n"
    image = cv2.imread(str(png), cv2.IMREAD_COLOR)
    full = simgen.load_scenario(REPO / "scenes/tabletop.yaml").spec.image
    width, height = preview_size(full.width, full.height, 0.25)
    assert image.shape == (2 * height + 3 * PAD_PX, 2 * width + 3 * PAD_PX, 3)   # 2 x 2 grid
    assert image.reshape(-1, 3).std(axis=0).max() > 5, "the preview is not one flat colour"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.png"], "nothing else is left"


def test_cli_preview_of_a_bad_scenario_is_one_error_line_and_no_png(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "scenes/tabletop.yaml").read_text() + "\nunknown_key: 1\n")
    png = tmp_path / "bad.png"
    proc = _simgen(["preview", str(bad), "-o", str(png), "-n", "4", "--renderer", "tiny"],
                   tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("simgen: error: ") and "unknown_key" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stdout == ""
    assert not png.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_load_scaled_scales_the_image_and_pixel_intrinsics_with_it():
    from simgen.viz.preview import load_scaled

    scenario = load_scaled(REPO / "scenes/tabletop.yaml",
                           ["camera.fov_deg=null", "camera.fx={uniform: [500, 600]}",
                            "camera.fy=550", "camera.cx={normal: [319.5, 4]}", "camera.cy=239.5"],
                           scale=0.5)
    spec = scenario.spec
    assert (spec.image.width, spec.image.height) == (320, 240)
    assert spec.camera.fx.to_spec() == {"uniform": [250.0, 300.0]}
    assert spec.camera.fy.to_spec() == 275.0
    # The principal point stays the image centre: pixel centres at integers.
    assert spec.camera.cx.to_spec() == {"normal": [159.5, 2.0]}
    assert spec.camera.cy.to_spec() == 119.5
