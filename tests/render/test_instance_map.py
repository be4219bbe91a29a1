"""Tests for Renderer._instance_map: PyBullet body ids -> 1-based instance ids, 0 elsewhere."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simgen.render.renderer import Renderer

instance_map = Renderer._instance_map


def test_objects_background_and_other_bodies():
    # body 0 = ground plane, 1 = a bin wall (not objects); objects are bodies 3, 2 and 5
    seg = np.array([
        [-1, 0, 1, 2],
        [3, 4, 5, -1],
        [6, 7, 100, 5],
    ], dtype=np.int32)
    out = instance_map(seg, (3, 2, 5))
    np.testing.assert_array_equal(out, [
        [0, 0, 0, 2],
        [1, 0, 3, 0],
        [0, 0, 0, 3],
    ])
    assert out.dtype == np.int32
    assert out.shape == seg.shape


def test_ids_just_above_the_largest_object_are_zero():
    seg = np.array([[4, 5, 6, 7, 1 << 24, 2**31 - 2]], dtype=np.int32)
    out = instance_map(seg, (4,))
    np.testing.assert_array_equal(out, [[1, 0, 0, 0, 0, 0]])


def test_no_objects_gives_all_zero():
    seg = np.array([[-1, 0], [1, 9]], dtype=np.int32)
    np.testing.assert_array_equal(instance_map(seg, ()), [[0, 0], [0, 0]])


def test_object_with_body_id_zero():
    seg = np.array([[-1, 0, 1]], dtype=np.int32)
    np.testing.assert_array_equal(instance_map(seg, (0,)), [[0, 1, 0]])
    np.testing.assert_array_equal(instance_map(seg, (1, 0)), [[0, 2, 1]])


def test_does_not_modify_its_input():
    seg = np.array([[-1, 2, 9]], dtype=np.int32)
    instance_map(seg, (2,))
    np.testing.assert_array_equal(seg, [[-1, 2, 9]])


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_matches_a_dictionary_lookup(data):
    objects = tuple(data.draw(st.lists(st.integers(0, 30), unique=True, max_size=8)))
    seg = data.draw(hnp.arrays(np.int32, st.tuples(st.integers(1, 6), st.integers(1, 6)),
                               elements=st.integers(-1, 40)))
    lookup = {uid: i for i, uid in enumerate(objects, start=1)}
    expected = np.vectorize(lambda b: lookup.get(int(b), 0), otypes=[np.int32])(seg)
    out = instance_map(seg, objects)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)
