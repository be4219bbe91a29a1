"""Visibility, truncation and the amodal box, on scenes built so the answers are known."""

from __future__ import annotations

import numpy as np
import pytest

from simgen.label import occlusion
from tests.scene.conftest import HALF_WIDTH_AT_2M, scene

# Known answers on TinyRenderer and on Cycles, whose alone-masks Blender renders itself.
RENDERERS = pytest.mark.parametrize("renderer", ["tiny", "cycles"])


# Camera 2 m from the back cube, looking along +y; 200 x 150 px, vertical fov 30 degrees.
@RENDERERS
def test_a_cube_hiding_half_of_another(tmp_path, renderer):
    # Front cube 1.5 m away with its right edge at x = 0, on the back cube's centre line: it hides
    # the back cube's left half (and, being nearer, more than its height).
    labels = scene(tmp_path, [(0.0, 0.0, 0.3), (-0.05, -0.5, 0.3)], renderer=renderer)
    back, front = labels[1], labels[2]
    assert abs(back["visibility"] - 0.5) < 0.06
    assert front["visibility"] == 1.0 and back["truncation"] == front["truncation"] == 0.0
    x, y, w, h = back["bbox"]
    ax, ay, aw, ah = back["bbox_amodal"]
    assert abs(aw - 2 * w) <= 2 and ah == h          # the amodal box spans both halves
    assert ax + aw == x + w and ax < x                # ... extending left, under the front cube
    assert front["bbox_amodal"] == front["bbox"]


@RENDERERS
def test_a_cube_half_out_of_the_frame(tmp_path, renderer):
    labels = scene(tmp_path, [(-HALF_WIDTH_AT_2M, 0.0, 0.3)], renderer=renderer)
    cube = labels[1]
    assert abs(cube["truncation"] - 0.5) < 0.08
    assert cube["visibility"] == 1.0
    x, y, w, h = cube["bbox"]
    assert x == 0 and cube["bbox_amodal"][0] < 0      # unclipped: it starts left of the image
    assert cube["bbox_amodal"][0] + cube["bbox_amodal"][2] == x + w


def test_min_visibility_leaves_out_the_half_hidden_cube(tmp_path):
    labels = scene(tmp_path, [(0.0, 0.0, 0.3), (-0.05, -0.5, 0.3)],
                   extra=", min_visibility: 0.7")
    assert set(labels) == {2}


def test_occlusion_pure_numbers():
    alone = np.zeros((20, 30), bool)     # canvas with margins 10 (x) and 5 (y) around 10 x 10
    alone[5:15, 5:15] = True             # 100 px, the left half outside the frame
    facts = occlusion(visible_pixels=25, alone=alone, margin_x=10, margin_y=5, width=10, height=10)
    assert facts.truncation == 0.5 and facts.visibility == 0.5
    assert facts.bbox_amodal_xywh == (-5, 0, 10, 10)
    assert occlusion(3, np.zeros((4, 4), bool), 1, 1, 2, 2) is None


@RENDERERS
def test_amodal_masks_cover_what_occluders_and_the_frame_hide(tmp_path, renderer):
    """labels.amodal_masks: segmentation_amodal is the whole silhouette in the image: the back
    cube's covers its hidden left half, the visible part lies inside it, and visibility is the
    ratio of the two masks' areas; the box of the amodal mask is bbox_amodal (not truncated)."""
    from simgen.label import mask_of

    labels = scene(tmp_path, [(0.0, 0.0, 0.3), (-0.05, -0.5, 0.3)],
                   extra=", amodal_masks: true", renderer=renderer)
    for ann in labels.values():
        visible, whole = mask_of(ann["segmentation"]), mask_of(ann["segmentation_amodal"])
        assert not (visible & ~whole).any()
        assert ann["visibility"] == pytest.approx(visible.sum() / whole.sum(), abs=1e-6)
        ys, xs = np.nonzero(whole)
        assert [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1] == \
            ann["bbox_amodal"]
    back = labels[1]
    assert mask_of(back["segmentation_amodal"]).sum() > 1.9 * back["area"]


def test_amodal_masks_are_clipped_to_the_frame_and_absent_by_default(tmp_path):
    from simgen.label import mask_of

    cube = scene(tmp_path, [(-HALF_WIDTH_AT_2M, 0.0, 0.3)], extra=", amodal_masks: true")[1]
    whole = mask_of(cube["segmentation_amodal"])
    assert whole.shape == (150, 200) and whole.sum() == cube["area"]   # nothing hides it
    (tmp_path / "plain").mkdir()
    assert "segmentation_amodal" not in scene(tmp_path / "plain", [(0.0, 0.0, 0.3)])[1]
