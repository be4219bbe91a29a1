"""Tests for simgen.scenario.streams: uniform streams, and low-discrepancy points per scene."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
from scipy.stats import qmc

from simgen.scenario import streams
from simgen.scenario.distributions import RandInt, Uniform
from simgen.scenario.spatial import UniformRotation
from simgen.scenario.streams import (SOBOL_MAX_DIMS, QmcStream, RngStream, UniformStream,
                                     qmc_point)

SEED = 20240611
SCENES = 256


# --- RngStream --------------------------------------------------------------------------------

def test_rng_stream_is_rng_random() -> None:
    a = RngStream(np.random.default_rng(SEED))
    b = np.random.default_rng(SEED)
    assert a.take(5).tolist() == b.random(5).tolist()
    assert a.take(0).shape == (0,)
    assert a.take(3).tolist() == b.random(3).tolist()


def test_streams_satisfy_the_protocol() -> None:
    assert isinstance(RngStream(np.random.default_rng(0)), UniformStream)
    assert isinstance(QmcStream(np.array([0.5]), np.random.default_rng(0)), UniformStream)


# --- QmcStream --------------------------------------------------------------------------------

def test_qmc_stream_gives_the_point_then_the_fallback() -> None:
    point = np.array([0.1, 0.2, 0.3])
    stream = QmcStream(point, np.random.default_rng(SEED))
    fallback = np.random.default_rng(SEED)
    assert stream.take(2).tolist() == [0.1, 0.2]
    assert stream.take(3).tolist() == [0.3] + fallback.random(2).tolist()   # straddles the end
    assert stream.take(4).tolist() == fallback.random(4).tolist()
    assert stream.used == 9


def test_qmc_stream_take_zero_and_copies() -> None:
    point = np.array([0.5, 0.25])
    stream = QmcStream(point, np.random.default_rng(0))
    point[0] = 0.9                                       # later edits do not reach the stream
    assert stream.take(0).shape == (0,)
    first = stream.take(1)
    first[0] = 0.7                                       # nor do edits to what it returned
    assert stream.take(1).tolist() == [0.25]
    assert stream.used == 2


@pytest.mark.parametrize("point, message", [
    (np.array([[0.1, 0.2]]), "point must be a 1-D array (got shape (1, 2))"),
    (np.array([0.1, 1.0]), "point coordinates must lie in [0, 1) (got [0.1, 1.0])"),
    (np.array([-0.1]), "point coordinates must lie in [0, 1)"),
    (np.array([np.nan]), "point coordinates must lie in [0, 1)"),
])
def test_qmc_stream_rejects_bad_points(point, message) -> None:
    with pytest.raises(ValueError) as info:
        QmcStream(point, np.random.default_rng(0))
    assert message in str(info.value)


def test_qmc_stream_rejects_negative_take() -> None:
    with pytest.raises(ValueError, match=r"n must be >= 0 \(got -1\)"):
        QmcStream(np.array([0.5]), np.random.default_rng(0)).take(-1)


def test_draws_through_a_qmc_stream_use_the_coordinates_exactly() -> None:
    stream = QmcStream(np.array([0.25, 0.7, 0.5]), np.random.default_rng(SEED))
    assert Uniform(2.0, 6.0).draw(stream) == 3.0                # 2 + 4 * 0.25
    assert RandInt(1, 4).draw(stream) == 3                      # 1 + floor(0.7 * 4)
    assert Uniform(0.0, 10.0).draw(stream) == 5.0
    fallback = np.random.default_rng(SEED)
    assert Uniform(0.0, 1.0).draw(stream) == fallback.random()  # point used up: i.i.d. from here


# --- qmc_point --------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_qmc_point_shape_and_range(method) -> None:
    p = qmc_point(method, SEED, 0)
    assert p.shape == (64,) and p.dtype == np.float64
    assert (p >= 0).all() and (p < 1).all()
    assert qmc_point(method, SEED, 5, dims=3).shape == (3,)


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_qmc_point_is_the_scrambled_sequence(method) -> None:
    engine_class = qmc.Sobol if method == "sobol" else qmc.Halton
    try:
        engine = engine_class(4, scramble=True, rng=np.random.default_rng(SEED))
    except TypeError:  # scipy < 1.15
        engine = engine_class(4, scramble=True, seed=np.random.default_rng(SEED))
    batch = engine.random(64)
    for i in (0, 1, 2, 7, 31, 63):
        assert qmc_point(method, SEED, i, dims=4).tolist() == batch[i].tolist()


def _fresh(method: str, seed: int, index: int, dims: int) -> list[float]:
    """The point from an engine built for this call alone, as if nothing was asked before."""
    saved = dict(streams._ENGINES)
    streams._ENGINES.clear()
    try:
        return qmc_point(method, seed, index, dims=dims).tolist()
    finally:
        streams._ENGINES.clear()
        streams._ENGINES.update(saved)


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_qmc_point_does_not_depend_on_other_requests(method) -> None:
    alone = _fresh(method, 3, 100, 8)
    order = np.random.default_rng(SEED).permutation(300).tolist() + [5, 99, 101, 0, 4000]
    for i in order:
        qmc_point(method, 3, i, dims=8)
        qmc_point(method, 4, i, dims=8)                 # another engine in between
        if i == 100:
            assert qmc_point(method, 3, 100, dims=8).tolist() == alone
    assert qmc_point(method, 3, 100, dims=8).tolist() == alone
    in_order = [qmc_point(method, 3, i, dims=8).tolist() for i in range(40)]
    backwards = [qmc_point(method, 3, i, dims=8).tolist() for i in reversed(range(40))]
    assert in_order == backwards[::-1]
    assert in_order == [_fresh(method, 3, i, 8) for i in range(40)]


def test_qmc_point_keeps_few_engines() -> None:
    for seed in range(10):
        qmc_point("sobol", seed, 1, dims=2)
    assert len(streams._ENGINES) <= 4


def test_halton_jump_equals_fast_forward() -> None:
    # qmc_point skips Halton's fast_forward (which draws every skipped point); same point.
    for index in (1, 17, 1000):
        try:
            engine = qmc.Halton(5, scramble=True, rng=np.random.default_rng(SEED))
        except TypeError:  # scipy < 1.15
            engine = qmc.Halton(5, scramble=True, seed=np.random.default_rng(SEED))
        expected = engine.fast_forward(index).random(1)[0]
        assert qmc_point("halton", SEED, index, dims=5).tolist() == expected.tolist()


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_qmc_point_seeds_give_different_scramblings(method) -> None:
    assert qmc_point(method, 1, 10).tolist() != qmc_point(method, 2, 10).tolist()
    assert qmc_point(method, 1, 10).tolist() == qmc_point(method, 1, 10).tolist()
    assert qmc_point(method, 0, 0).tolist() != qmc_point(method, 1, 0).tolist()   # seed 0 is valid


@pytest.mark.parametrize("method", ["sobol", "halton"])
def test_qmc_point_indices_differ(method) -> None:
    points = {tuple(qmc_point(method, SEED, i, dims=4)) for i in range(50)}
    assert len(points) == 50


def test_qmc_point_is_silent() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in (0, 1, 2, 3, 5, 6, 100):
            qmc_point("sobol", SEED, i)
            qmc_point("halton", SEED, i)
    assert caught == []


@pytest.mark.parametrize("args, message", [
    (("latin", 0, 0), "method must be 'sobol' or 'halton' (got 'latin')"),
    (("sobol", -1, 0), "seed and index must be >= 0 (got -1, 0)"),
    (("halton", 0, -3), "seed and index must be >= 0 (got 0, -3)"),
    (("sobol", 0, 0, 0), "sobol needs 1 <= dims <= 21201 (got 0)"),
    (("sobol", 0, 0, SOBOL_MAX_DIMS + 1), "sobol needs 1 <= dims <= 21201 (got 21202)"),
    (("halton", 0, 0, 0), "halton needs dims >= 1 (got 0)"),
    (("sobol", 0, 2 ** 30), "sobol has 1073741824 points; index must be below that"),
    (("sobol", 0, 1.5), "index must be an integer (got 1.5)"),
    (("sobol", True, 0), "seed must be an integer (got True)"),
])
def test_qmc_point_rejects_bad_arguments(args, message) -> None:
    with pytest.raises(ValueError) as info:
        qmc_point(*args)
    assert message in str(info.value)


def test_qmc_point_extreme_arguments() -> None:
    assert qmc_point("sobol", 0, 2 ** 20 + 3, dims=2).shape == (2,)
    assert qmc_point("sobol", 0, 0, dims=1).shape == (1,)
    assert qmc_point("sobol", np.int64(4), np.int64(9), dims=2).tolist() == \
        qmc_point("sobol", 4, 9, dims=2).tolist()


# --- coverage: what low-discrepancy sampling is for -------------------------------------------

def _scene_points(method: str, seed: int) -> np.ndarray:
    """Two uniforms drawn per scene, as a scenario would draw two values."""
    points = []
    for scene in range(SCENES):
        stream = QmcStream(qmc_point(method, seed, scene, dims=2), np.random.default_rng(scene))
        points.append((Uniform(0.0, 1.0).draw(stream), Uniform(0.0, 1.0).draw(stream)))
    return np.array(points)


@pytest.mark.parametrize("method", ["sobol", "halton"])
@pytest.mark.parametrize("seed", [0, SEED])
def test_low_discrepancy_scenes_cover_better_than_iid(method, seed) -> None:
    low = qmc.discrepancy(_scene_points(method, seed))
    iid = qmc.discrepancy(np.random.default_rng(seed).random((SCENES, 2)))
    assert low < iid / 2                                 # typically ~20x lower


def test_dimensions_past_the_point_are_iid() -> None:
    # With dims=2 a third uniform per scene falls back to the scene's own generator.
    values = []
    for scene in range(4):
        stream = QmcStream(qmc_point("sobol", SEED, scene, dims=2), np.random.default_rng(scene))
        stream.take(2)
        values.append(float(stream.take(1)[0]))
    assert values == [float(np.random.default_rng(s).random()) for s in range(4)]


def test_so3_driven_by_sobol_stays_unit_and_spread() -> None:
    q = np.array([UniformRotation().draw(QmcStream(qmc_point("sobol", SEED, i, dims=3),
                                                   np.random.default_rng(i)))
                  for i in range(SCENES)])
    assert np.abs(np.linalg.norm(q, axis=1) - 1.0).max() < 1e-12
    assert np.abs(q.mean(axis=0)).max() < 0.05


# --- importing stays light --------------------------------------------------------------------

def test_importing_distributions_does_not_import_scipy() -> None:
    code = ("import sys; import simgen.scenario.streams, simgen.scenario.distributions, "
            "simgen.scenario.spatial; print(any(m == 'scipy' or m.startswith('scipy.') "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
