"""Tests for simgen.label: exact boxes, areas and COCO RLE masks from instance maps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pycocotools import mask as mask_utils

from simgen.label import InstanceLabel, annotate, mask_of, rle_of_columns, visible_areas


def coco_rle(mask: np.ndarray) -> dict:
    """pycocotools' own compressed RLE of a full H x W bool mask."""
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def as_coco(segmentation: dict) -> dict:
    return {"size": segmentation["size"], "counts": segmentation["counts"].encode("ascii")}


# --------------------------------------------------------------------------- hand-made maps


def test_box_follows_pycocotools_convention_columns_3_to_5():
    m = np.zeros((6, 8), dtype=np.int32)
    m[1:3, 3:6] = 1  # rows 1..2, columns 3..5
    [label] = annotate(m, {1: 7}, min_pixels=1)
    assert label == InstanceLabel(1, 7, (3, 1, 3, 2), 6, label.segmentation)
    assert label.bbox_xywh == (3, 1, 3, 2)
    assert label.area == 6
    assert label.segmentation["size"] == [6, 8]
    assert mask_utils.toBbox(as_coco(label.segmentation)).tolist() == [3.0, 1.0, 3.0, 2.0]


def test_area_is_pixel_count_not_box_area():
    m = np.zeros((5, 5), dtype=np.int32)
    m[0, 0:4] = 2      # 4 pixels along the top
    m[1:5, 0] = 2      # 4 pixels down the left: an L of 8 pixels in a 4 x 5 box
    [label] = annotate(m, {2: 1}, min_pixels=1)
    assert label.instance_id == 2
    assert label.bbox_xywh == (0, 0, 4, 5)
    assert label.area == 8


def test_split_instance_gets_one_box_around_both_parts():
    m = np.zeros((4, 10), dtype=np.int32)
    m[0, 1] = 3
    m[3, 8] = 3
    [label] = annotate(m, {3: 2}, min_pixels=1)
    assert label.bbox_xywh == (1, 0, 8, 4)
    assert label.area == 2
    np.testing.assert_array_equal(mask_of(label.segmentation), m == 3)


def test_several_instances_in_instance_id_order_with_exact_values():
    m = np.array([
        [0, 0, 4, 4, 0, 0],
        [1, 0, 4, 4, 0, 2],
        [1, 1, 0, 0, 2, 2],
        [0, 0, 0, 0, 2, 2],
    ], dtype=np.int32)
    labels = annotate(m, {1: 10, 2: 20, 4: 40}, min_pixels=1)
    got = [(l.instance_id, l.category_id, l.bbox_xywh, l.area) for l in labels]
    assert got == [
        (1, 10, (0, 1, 2, 2), 3),
        (2, 20, (4, 1, 2, 3), 5),
        (4, 40, (2, 0, 2, 2), 4),
    ]


def test_full_image_instance():
    m = np.full((3, 4), 1, dtype=np.int32)
    [label] = annotate(m, {1: 1}, min_pixels=1)
    assert label.bbox_xywh == (0, 0, 4, 3)
    assert label.area == 12
    assert mask_of(label.segmentation).all()


def test_single_pixel_in_bottom_right_corner():
    m = np.zeros((5, 7), dtype=np.int32)
    m[4, 6] = 1
    [label] = annotate(m, {1: 3}, min_pixels=1)
    assert label.bbox_xywh == (6, 4, 1, 1)
    assert label.area == 1


def test_min_pixels_filters_small_instances():
    m = np.zeros((4, 4), dtype=np.int32)
    m[0, 0:3] = 1          # 3 pixels
    m[2:4, 2:4] = 2        # 4 pixels
    cats = {1: 1, 2: 2}
    assert [l.instance_id for l in annotate(m, cats, min_pixels=3)] == [1, 2]
    labels = annotate(m, cats, min_pixels=4)
    assert [(l.instance_id, l.area) for l in labels] == [(2, 4)]
    assert annotate(m, cats, min_pixels=5) == []


def test_no_label_ever_has_zero_area():
    m = np.zeros((3, 3), dtype=np.int32)
    m[1, 1] = 2  # instance 1 is not visible at all
    labels = annotate(m, {1: 1, 2: 2}, min_pixels=1)
    assert [(l.instance_id, l.area) for l in labels] == [(2, 1)]
    assert all(l.area > 0 for l in labels)


def test_instances_missing_from_categories_are_ignored():
    m = np.zeros((4, 4), dtype=np.int32)
    m[0, 0] = 1
    m[1, 1] = 2
    m[2, 2] = 3
    labels = annotate(m, {2: 5}, min_pixels=1)
    assert [(l.instance_id, l.category_id, l.bbox_xywh) for l in labels] == [(2, 5, (1, 1, 1, 1))]
    assert annotate(m, {}, min_pixels=1) == []


def test_empty_map_gives_no_labels():
    assert annotate(np.zeros((5, 6), dtype=np.int32), {1: 1, 2: 2}, min_pixels=1) == []


def test_segmentation_counts_is_str_and_decodes():
    m = np.zeros((4, 5), dtype=np.int32)
    m[1:3, 1:4] = 1
    [label] = annotate(m, {1: 1}, min_pixels=1)
    assert isinstance(label.segmentation["counts"], str)
    assert set(label.segmentation) == {"size", "counts"}
    assert label.segmentation["counts"] == coco_rle(m == 1)["counts"].decode("ascii")


# --------------------------------------------------------------------------- properties


@st.composite
def instance_maps(draw):
    """Small maps with several instances; sometimes with a full-image, single-pixel or
    border-hugging instance painted over random content, and 1 x N / N x 1 shapes."""
    h = draw(st.integers(1, 12))
    w = draw(st.integers(1, 12))
    m = draw(hnp.arrays(np.int32, (h, w), elements=st.integers(0, 5)))
    extra = draw(st.sampled_from(["none", "full", "pixel", "frame", "blank"]))
    if extra == "full":
        m[:] = draw(st.integers(1, 5))
    elif extra == "pixel":
        m[:] = 0
        m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = draw(st.integers(1, 5))
    elif extra == "frame":  # an instance touching all four borders
        k = draw(st.integers(1, 5))
        m[0, :] = k
        m[-1, :] = k
        m[:, 0] = k
        m[:, -1] = k
    elif extra == "blank":
        m[:] = 0
    return m


def _check_labels(m: np.ndarray, categories: dict, min_pixels: int) -> None:
    labels = annotate(m, categories, min_pixels)
    h, w = m.shape
    ids, counts = np.unique(m[m > 0], return_counts=True)
    expected = [int(i) for i, c in zip(ids, counts) if int(i) in categories and c >= min_pixels]
    assert [l.instance_id for l in labels] == expected
    for label in labels:
        full = m == label.instance_id
        seg = label.segmentation
        assert isinstance(seg["counts"], str)
        assert seg["size"] == [h, w]
        rle = as_coco(seg)
        np.testing.assert_array_equal(mask_utils.decode(rle).astype(bool), full)
        assert mask_utils.toBbox(rle).tolist() == [float(v) for v in label.bbox_xywh]
        assert int(mask_utils.area(rle)) == label.area == int(full.sum())
        assert label.area >= min_pixels and label.area > 0
        assert rle["counts"] == coco_rle(full)["counts"]
        np.testing.assert_array_equal(mask_of(seg), full)
        assert label.category_id == categories[label.instance_id]
        ys, xs = np.nonzero(full)
        x, y = int(xs.min()), int(ys.min())
        assert label.bbox_xywh == (x, y, int(xs.max()) - x + 1, int(ys.max()) - y + 1)


@settings(max_examples=300, deadline=None)
@given(m=instance_maps(), min_pixels=st.integers(1, 4),
       keep=st.sets(st.integers(1, 5), min_size=0, max_size=5))
@example(m=np.ones((1, 1), dtype=np.int32), min_pixels=1, keep={1})
@example(m=np.array([[1, 2, 2, 0, 3, 1, 1]], dtype=np.int32), min_pixels=1, keep={1, 2, 3})
@example(m=np.array([[1], [2], [2], [0], [3], [1], [1]], dtype=np.int32), min_pixels=1,
         keep={1, 2, 3})
@example(m=np.full((5, 4), 2, dtype=np.int32), min_pixels=1, keep={2})
def test_labels_match_pycocotools(m, min_pixels, keep):
    categories = {i: 100 + i for i in keep}
    _check_labels(m, categories, min_pixels)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_rle_of_columns_equals_pycocotools_encode(data):
    h = data.draw(st.integers(1, 10))
    width = data.draw(st.integers(1, 12))
    x0 = data.draw(st.integers(0, width - 1))
    sw = data.draw(st.integers(1, width - x0))
    strip = data.draw(hnp.arrays(np.bool_, (h, sw)))
    full = np.zeros((h, width), dtype=bool)
    full[:, x0:x0 + sw] = strip
    got = rle_of_columns(strip, x0, width)
    want = coco_rle(full)
    assert isinstance(got["counts"], str)
    assert got["size"] == [h, width] == list(want["size"])
    assert got["counts"].encode("ascii") == want["counts"]
    np.testing.assert_array_equal(mask_of(got), full)


@settings(max_examples=200, deadline=None)
@given(mask=hnp.arrays(np.bool_, st.tuples(st.integers(1, 10), st.integers(1, 10))))
def test_mask_of_round_trips_pycocotools_rle(mask):
    rle = coco_rle(mask)
    seg = {"size": list(rle["size"]), "counts": rle["counts"].decode("ascii")}
    out = mask_of(seg)
    assert out.dtype == np.bool_
    np.testing.assert_array_equal(out, mask)


@pytest.mark.parametrize("shape", [(1, 9), (9, 1)])
def test_thin_images_masks_touching_both_ends(shape):
    m = np.zeros(shape, dtype=np.int32).ravel()
    m[0] = 1
    m[-1] = 1
    m[3:5] = 2
    m = m.reshape(shape)
    labels = annotate(m, {1: 1, 2: 2}, min_pixels=1)
    boxes = {l.instance_id: l.bbox_xywh for l in labels}
    if shape == (1, 9):
        assert boxes == {1: (0, 0, 9, 1), 2: (3, 0, 2, 1)}
    else:
        assert boxes == {1: (0, 0, 1, 9), 2: (0, 3, 1, 2)}
    _check_labels(m, {1: 1, 2: 2}, 1)


def test_visible_areas_are_the_areas_annotate_counts():
    rng = np.random.default_rng(3)
    instance_map = rng.integers(0, 7, size=(40, 50)).astype(np.int32)
    instance_map[instance_map == 4] = 0          # an instance that does not show
    categories = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3}  # 6 shows but is not labeled
    expected = {label.instance_id: label.area for label in annotate(instance_map, categories, 1)}
    assert visible_areas(instance_map, categories) == expected
    assert list(expected) == [1, 2, 3, 5]
