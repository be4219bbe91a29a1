"""Tests for simgen.scenario.distributions: parsing, kind and bound checks, round trips, draws."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, ValidationError

from simgen import geometry
from simgen.scenario.distributions import (Choice, Constant, LogUniform, Normal, RandInt,
                                           TruncNormal, Uniform, dist, parse_distribution)
from simgen.scenario.spatial import (EulerRotation, Hemisphere, Normalized, PerAxis,
                                     UniformBox, UniformRotation, VectorChoice, VectorNormal,
                                     YawRotation, direction, parse_direction, parse_rotation,
                                     parse_vector, rotation, vector)
from simgen.scenario.streams import QmcStream, RngStream

N = 20_000
SEED = 20240611


def _raises(value, kind="float", **bounds) -> str:
    with pytest.raises(ValueError) as info:
        parse_distribution(value, kind, **bounds)
    return str(info.value)


# --- forms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, kind, expected", [
    (0.5, "float", Constant(0.5)),
    (3, "float", Constant(3)),
    (-2, "int", Constant(-2)),
    (0, "int", Constant(0)),
    ({"uniform": [0, 1]}, "float", Uniform(0.0, 1.0)),
    ({"uniform": [-1.5, 2.5]}, "float", Uniform(-1.5, 2.5)),
    ({"uniform": [2, 2]}, "float", Uniform(2.0, 2.0)),
    ({"uniform": {"low": 1, "high": 4}}, "float", Uniform(1.0, 4.0)),
    ({"uniform": {"high": 4, "low": 1}}, "float", Uniform(1.0, 4.0)),
    ({"randint": [1, 3]}, "int", RandInt(1, 3)),
    ({"randint": [1, 3]}, "float", RandInt(1, 3)),
    ({"randint": [5, 5]}, "int", RandInt(5, 5)),
    ({"randint": {"low": 0, "high": 7}}, "int", RandInt(0, 7)),
    ({"choice": [1, 2, 2, 7]}, "int", Choice((1, 2, 2, 7))),
    ({"choice": [0.5, 1]}, "float", Choice((0.5, 1))),
    ({"normal": [10, 2]}, "float", Normal(10.0, 2.0)),
    ({"normal": [0, 0]}, "float", Normal(0.0, 0.0)),
    ({"normal": {"mean": 1.5, "std": 0.25}}, "float", Normal(1.5, 0.25)),
])
def test_forms_parse(value, kind, expected) -> None:
    parsed = parse_distribution(value, kind)
    assert parsed == expected
    assert type(parsed) is type(expected)


def test_uniform_and_normal_store_floats() -> None:
    u = parse_distribution({"uniform": [1, 2]})
    n = parse_distribution({"normal": [1, 2]})
    assert (type(u.low), type(u.high), type(n.mean), type(n.std)) == (float,) * 4


def test_already_parsed_distribution_passes_through() -> None:
    d = Uniform(0.0, 1.0)
    assert parse_distribution(d) is d


@pytest.mark.parametrize("value, message", [
    # The list of forms grew with loguniform and truncnormal (this assertion was adjusted).
    ("abc", "expected a number, {uniform: [low, high]}, {loguniform: [low, high]}, "
            "{randint: [low, high]}, {choice: [...]}, {normal: [mean, std]} or "
            "{truncnormal: {mean, std, low, high}} (got 'abc')"),
    (True, "(got True)"),
    (None, "(got None)"),
    ([0, 1], "(got [0, 1])"),
    (float("nan"), "(got nan)"),
    (float("inf"), "(got inf)"),
    ({"uniform": [0, 1], "normal": [0, 1]}, "(got {'uniform': [0, 1], 'normal': [0, 1]})"),
    ({"gauss": [0, 1]}, "unknown distribution 'gauss'; expected a number, {uniform: [low, high]}"),
    ({"uniform": [1]}, "uniform takes a list of two numbers (got [1])"),
    ({"uniform": [0, 1, 2]}, "uniform takes a list of two numbers (got [0, 1, 2])"),
    ({"uniform": 1}, "uniform takes a list of two numbers (got 1)"),
    ({"uniform": [0, "1"]}, "uniform takes a list of two numbers (got [0, '1'])"),
    ({"uniform": [0, True]}, "uniform takes a list of two numbers (got [0, True])"),
    ({"uniform": {"low": 0, "hi": 1}}, "uniform takes a list of two numbers (got {'low': 0, 'hi': 1})"),
    ({"uniform": [2, 1]}, "uniform needs low <= high (got [2, 1])"),
    ({"randint": [3, 1]}, "randint needs low <= high (got [3, 1])"),
    ({"randint": [1, 2.5]}, "randint takes two integers (got [1, 2.5])"),
    ({"randint": [1.0, 2.0]}, "randint takes two integers (got [1.0, 2.0])"),
    ({"choice": []}, "choice takes a non-empty list of numbers (got [])"),
    ({"choice": [1, "a"]}, "choice takes a non-empty list of numbers (got [1, 'a'])"),
    ({"choice": 3}, "choice takes a non-empty list of numbers (got 3)"),
    ({"normal": [0, -1]}, "normal needs std >= 0 (got [0, -1])"),
])
def test_malformed_forms_rejected(value, message) -> None:
    assert message in _raises(value)


def test_uniform_rejects_mean_std_mapping() -> None:
    # BUG: _pair accepts either key set for every distribution, so {uniform: {mean, std}} is
    # silently read as low=mean, high=std (here Uniform(0.0, 1.0)) instead of being rejected.
    message = _raises({"uniform": {"mean": 0, "std": 1}})
    assert "uniform" in message


def test_normal_rejects_low_high_mapping() -> None:
    # BUG (same cause): {normal: {low: 0, high: 1}} is read as mean=0, std=1.
    message = _raises({"normal": {"low": 0, "high": 1}})
    assert "normal" in message


@pytest.mark.parametrize("value, kind, bounds", [
    (10 ** 400, "int", {"ge": 0, "le": 200}),
    ({"uniform": [0, 10 ** 400]}, "float", {}),
    ({"randint": [0, 10 ** 400]}, "int", {"ge": 0, "le": 200}),
], ids=["constant", "uniform", "randint"])
def test_huge_integer_is_a_value_error(value, kind, bounds) -> None:
    # BUG: _is_number calls math.isfinite on any int; an int beyond float range raises
    # OverflowError, which is not a ValueError, so pydantic does not turn it into a validation
    # error and the CLI prints a traceback.
    message = _raises(value, kind, **bounds)
    assert "(got " in message


# --- int fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    (2.5, "must be an integer (got 2.5)"),
    (2.0, "must be an integer (got 2.0)"),
    ({"uniform": [0, 3]}, "must be an integer; use randint for integers (got {'uniform': [0, 3]})"),
    ({"normal": [3, 1]}, "must be an integer; use randint or choice (got {'normal': [3, 1]})"),
    ({"choice": [1, 2.5]}, "choice must list integers here (got [1, 2.5])"),
    ({"randint": [0, 2.5]}, "randint takes two integers (got [0, 2.5])"),
])
def test_int_fields_reject_non_integers(value, message) -> None:
    assert _raises(value, "int") == message


# --- bounds -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, bounds, message", [
    (-1, {"ge": 0}, "must be >= 0 (got -1)"),
    (0, {"gt": 0}, "must be > 0 (got 0)"),
    (0.0, {"gt": 0.0}, "must be > 0.0 (got 0.0)"),
    (2, {"le": 1}, "must be <= 1 (got 2)"),
    (1, {"lt": 1}, "must be < 1 (got 1)"),
    ({"uniform": [-0.5, 1]}, {"ge": 0.0},
     "every value drawn must be >= 0.0 (got {'uniform': [-0.5, 1.0]})"),
    ({"uniform": [0, 50]}, {"gt": 1.0, "lt": 179.0},
     "every value drawn must be > 1.0 (got {'uniform': [0.0, 50.0]})"),
    ({"uniform": [0, 1.5]}, {"ge": 0.0, "le": 1.0},
     "every value drawn must be <= 1.0 (got {'uniform': [0.0, 1.5]})"),
    ({"uniform": [10, 179]}, {"gt": 1.0, "lt": 179.0},
     "every value drawn must be < 179.0 (got {'uniform': [10.0, 179.0]})"),
    ({"randint": [-1, 3]}, {"ge": 0}, "every value drawn must be >= 0 (got {'randint': [-1, 3]})"),
    ({"randint": [0, 201]}, {"ge": 0, "le": 200},
     "every value drawn must be <= 200 (got {'randint': [0, 201]})"),
    ({"choice": [1, 2, 300]}, {"ge": 0, "le": 200},
     "every value drawn must be <= 200 (got {'choice': [1, 2, 300]})"),
    ({"choice": [-3, 2]}, {"ge": 0}, "every value drawn must be >= 0 (got {'choice': [-3, 2]})"),
    ({"normal": [50, 5]}, {"gt": 1.0, "lt": 179.0},
     "every value drawn must be > 1.0 (normal is unbounded here; use uniform) "
     "(got {'normal': [50.0, 5.0]})"),
    ({"normal": [0.5, 0.1]}, {"le": 1.0},
     "every value drawn must be <= 1.0 (normal is unbounded here; use uniform) "
     "(got {'normal': [0.5, 0.1]})"),
    ({"normal": [1, 0.1]}, {"gt": 0.0},
     "every value drawn must be > 0.0 (normal is unbounded here; use uniform) "
     "(got {'normal': [1.0, 0.1]})"),
])
def test_bounds_reject_support_crossing_them(value, bounds, message) -> None:
    text = _raises(value, **bounds)
    assert text == message
    assert "(got" in text


@pytest.mark.parametrize("value, bounds", [
    (0, {"ge": 0}),
    (1, {"le": 1}),
    ({"uniform": [0, 1]}, {"ge": 0.0, "le": 1.0}),
    ({"uniform": [1.5, 178.5]}, {"gt": 1.0, "lt": 179.0}),
    ({"randint": [0, 200]}, {"ge": 0, "le": 200}),
    ({"choice": [0, 0, 1]}, {"ge": 0, "le": 200}),
    ({"normal": [0.5, 0]}, {"ge": 0.0, "le": 1.0}),   # std 0: a constant in disguise
    ({"normal": [-100, 50]}, {}),                     # unbounded field: any normal
])
def test_bounds_accept_support_inside_them(value, bounds) -> None:
    parse_distribution(value, **bounds)


def test_supports() -> None:
    assert Constant(2).support() == (2, 2)
    assert Uniform(1.0, 3.0).support() == (1.0, 3.0)
    assert RandInt(0, 4).support() == (0, 4)
    assert Choice((5, -1, 3)).support() == (-1, 5)
    assert Normal(1.0, 2.0).support() == (-math.inf, math.inf)
    assert Normal(1.0, 0.0).support() == (1.0, 1.0)


# --- round trips ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, kind", [
    (0.25, "float"), (7, "int"), ({"uniform": [-1, 1]}, "float"), ({"randint": [0, 9]}, "int"),
    ({"choice": [3, 1, 3]}, "int"), ({"choice": [0.1, 0.2]}, "float"), ({"normal": [2, 0.5]}, "float"),
    ({"uniform": {"low": 2, "high": 3}}, "float"), ({"normal": {"mean": -1, "std": 3}}, "float"),
])
def test_to_spec_round_trips(value, kind) -> None:
    d = parse_distribution(value, kind)
    spec = d.to_spec()
    assert parse_distribution(spec, kind) == d
    assert parse_distribution(spec, kind).to_spec() == spec


def test_to_spec_forms() -> None:
    assert Constant(0.5).to_spec() == 0.5
    assert Uniform(0.0, 1.0).to_spec() == {"uniform": [0.0, 1.0]}
    assert RandInt(1, 3).to_spec() == {"randint": [1, 3]}
    assert Choice((1, 2)).to_spec() == {"choice": [1, 2]}
    assert Normal(0.0, 1.0).to_spec() == {"normal": [0.0, 1.0]}


# --- pydantic field type ----------------------------------------------------------------------

class _Model(BaseModel):
    count: dist("int", ge=0, le=10) = 1
    scale: dist("float", gt=0.0) = 1.0


def test_dist_field_validates_and_serializes() -> None:
    m = _Model.model_validate({"count": {"randint": [1, 4]}, "scale": {"uniform": [0.5, 2]}})
    assert m.count == RandInt(1, 4)
    assert m.scale == Uniform(0.5, 2.0)
    assert m.model_dump(mode="json") == {"count": {"randint": [1, 4]},
                                         "scale": {"uniform": [0.5, 2.0]}}
    assert _Model.model_validate(m.model_dump(mode="json")) == m


def test_dist_field_reports_bound_errors() -> None:
    with pytest.raises(ValidationError) as info:
        _Model.model_validate({"count": {"randint": [0, 11]}})
    (error,) = info.value.errors()
    assert error["loc"] == ("count",)
    assert "every value drawn must be <= 10 (got {'randint': [0, 11]})" in error["msg"]


# --- draws ------------------------------------------------------------------------------------

def _draws(d, seed: int = SEED, n: int = N) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([d.sample(rng) for _ in range(n)])


def test_constant_draws() -> None:
    rng = np.random.default_rng(SEED)
    assert {Constant(3).sample(rng) for _ in range(10)} == {3}


def test_uniform_statistics() -> None:
    x = _draws(parse_distribution({"uniform": [2, 5]}))
    assert x.min() >= 2.0 and x.max() < 5.0
    assert x.min() < 2.01 and x.max() > 4.99          # fills the interval
    assert abs(x.mean() - 3.5) < 0.05                  # sd of the mean ~0.006
    assert abs(x.std() - 3 / math.sqrt(12)) < 0.03
    assert type(Uniform(0.0, 1.0).sample(np.random.default_rng(0))) is float


def test_uniform_degenerate_interval() -> None:
    assert set(_draws(Uniform(1.5, 1.5), n=100).tolist()) == {1.5}


def test_randint_hits_both_ends_and_nothing_outside() -> None:
    x = _draws(parse_distribution({"randint": [1, 4]}, "int"))
    counts = Counter(x.tolist())
    assert set(counts) == {1, 2, 3, 4}
    for value in (1, 2, 3, 4):
        assert abs(counts[value] / N - 0.25) < 0.02    # sd ~0.003
    assert type(RandInt(0, 1).sample(np.random.default_rng(0))) is int


def test_randint_single_value() -> None:
    assert set(_draws(RandInt(7, 7), n=200).tolist()) == {7}


def test_choice_frequencies() -> None:
    x = _draws(parse_distribution({"choice": [1, 2, 2, 7]}, "int"))
    counts = Counter(x.tolist())
    assert set(counts) == {1, 2, 7}
    assert abs(counts[1] / N - 0.25) < 0.02
    assert abs(counts[2] / N - 0.50) < 0.02
    assert abs(counts[7] / N - 0.25) < 0.02


def test_choice_returns_the_listed_values() -> None:
    rng = np.random.default_rng(SEED)
    values = {Choice((0.5, 1)).sample(rng) for _ in range(200)}
    assert values == {0.5, 1}


def test_normal_statistics() -> None:
    x = _draws(parse_distribution({"normal": [10, 2]}))
    assert abs(x.mean() - 10.0) < 0.1                  # sd of the mean ~0.014
    assert abs(x.std() - 2.0) < 0.1                    # sd of the sd ~0.01
    assert x.min() < 10.0 - 3 * 2.0 and x.max() > 10.0 + 3 * 2.0  # really unbounded


def test_normal_with_zero_std_is_constant() -> None:
    assert set(_draws(Normal(4.0, 0.0), n=100).tolist()) == {4.0}


@pytest.mark.parametrize("d", [Uniform(0.0, 1.0), RandInt(0, 100), Choice((1, 2, 3)),
                               Normal(0.0, 1.0)])
def test_same_seed_same_draws(d) -> None:
    a = _draws(d, seed=7, n=200)
    b = _draws(d, seed=7, n=200)
    c = _draws(d, seed=8, n=200)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


def test_draws_use_only_the_given_generator() -> None:
    np.random.seed(1)
    a = _draws(Uniform(0.0, 1.0), seed=3, n=50)
    np.random.seed(2)
    b = _draws(Uniform(0.0, 1.0), seed=3, n=50)
    assert a.tolist() == b.tolist()


# --- new scalar forms: loguniform, truncnormal, weighted choice --------------------------------

@pytest.mark.parametrize("value, kind, expected", [
    ({"loguniform": [0.1, 10]}, "float", LogUniform(0.1, 10.0)),
    ({"loguniform": {"low": 1, "high": 1}}, "float", LogUniform(1.0, 1.0)),
    ({"truncnormal": {"mean": 0, "std": 1, "low": -2, "high": 3}}, "float",
     TruncNormal(0.0, 1.0, -2.0, 3.0)),
    ({"truncnormal": {"high": 1, "low": 1, "std": 0, "mean": 5}}, "float",
     TruncNormal(5.0, 0.0, 1.0, 1.0)),
    ({"choice": {"values": [1, 2, 7], "weights": [1, 0, 3]}}, "int",
     Choice((1, 2, 7), (1.0, 0.0, 3.0))),
    ({"choice": {"weights": [0.5, 0.5], "values": [0.25, 4]}}, "float",
     Choice((0.25, 4), (0.5, 0.5))),
])
def test_new_forms_parse(value, kind, expected) -> None:
    parsed = parse_distribution(value, kind)
    assert parsed == expected
    assert type(parsed) is type(expected)


def test_weighted_and_plain_choice_differ() -> None:
    assert parse_distribution({"choice": [1, 2]}) == Choice((1, 2))
    assert parse_distribution({"choice": {"values": [1, 2], "weights": [1, 1]}}) != Choice((1, 2))


@pytest.mark.parametrize("value, message", [
    ({"loguniform": [0, 1]}, "loguniform needs 0 < low <= high (got [0, 1])"),
    ({"loguniform": [-1, 1]}, "loguniform needs 0 < low <= high (got [-1, 1])"),
    ({"loguniform": [2, 1]}, "loguniform needs 0 < low <= high (got [2, 1])"),
    ({"loguniform": [1]}, "loguniform takes a list of two numbers (got [1])"),
    ({"truncnormal": [0, 1, -1, 1]},
     "truncnormal takes {mean, std, low, high}, four numbers (got [0, 1, -1, 1])"),
    ({"truncnormal": {"mean": 0, "std": 1, "low": -1}},
     "truncnormal takes {mean, std, low, high}, four numbers (got {'mean': 0, 'std': 1, 'low': -1})"),
    ({"truncnormal": {"mean": 0, "std": "a", "low": -1, "high": 1}},
     "truncnormal takes {mean, std, low, high}, four numbers"),
    ({"truncnormal": {"mean": 0, "std": -1, "low": -1, "high": 1}},
     "truncnormal needs std >= 0 (got {'mean': 0, 'std': -1, 'low': -1, 'high': 1})"),
    ({"truncnormal": {"mean": 0, "std": 1, "low": 1, "high": -1}},
     "truncnormal needs low <= high (got {'mean': 0, 'std': 1, 'low': 1, 'high': -1})"),
    ({"choice": {"values": [1, 2]}},
     "weighted choice takes {values: [...], weights: [...]} (got {'values': [1, 2]})"),
    ({"choice": {"values": [], "weights": []}}, "choice takes a non-empty list of numbers (got [])"),
    ({"choice": {"values": [1, 2], "weights": [1]}},
     "choice weights must be 2 numbers >= 0, one per value (got [1])"),
    ({"choice": {"values": [1, 2], "weights": [1, -1]}},
     "choice weights must be 2 numbers >= 0, one per value (got [1, -1])"),
    ({"choice": {"values": [1, 2], "weights": [1, "a"]}},
     "choice weights must be 2 numbers >= 0, one per value (got [1, 'a'])"),
    ({"choice": {"values": [1, 2], "weights": [0, 0]}},
     "choice weights must have a positive, finite sum (got [0, 0])"),
    ({"choice": {"values": [1, 2], "weights": [1e308, 1e308]}},
     "choice weights must have a positive, finite sum (got [1e+308, 1e+308])"),
])
def test_malformed_new_forms_rejected(value, message) -> None:
    assert message in _raises(value)


@pytest.mark.parametrize("value, message", [
    ({"loguniform": [1, 2]}, "must be an integer; use randint or choice (got {'loguniform': [1, 2]})"),
    ({"truncnormal": {"mean": 0, "std": 1, "low": 0, "high": 2}}, "must be an integer; use randint or choice"),
    ({"choice": {"values": [1, 2.5], "weights": [1, 1]}}, "choice must list integers here (got [1, 2.5])"),
])
def test_int_fields_reject_new_float_forms(value, message) -> None:
    assert message in _raises(value, "int")


def test_new_forms_obey_field_bounds() -> None:
    assert _raises({"truncnormal": {"mean": 0.5, "std": 1, "low": -0.1, "high": 1}},
                   ge=0.0, le=1.0) == ("every value drawn must be >= 0.0 (got {'truncnormal': "
                                      "{'mean': 0.5, 'std': 1.0, 'low': -0.1, 'high': 1.0}})")
    parse_distribution({"truncnormal": {"mean": 0.5, "std": 10, "low": 0, "high": 1}},
                       ge=0.0, le=1.0)                     # the bounds, not the normal, count
    parse_distribution({"loguniform": [1e-3, 1]}, gt=0.0)
    assert "every value drawn must be <= 1.0" in _raises({"loguniform": [0.1, 2]}, le=1.0)
    assert "every value drawn must be <= 200" in _raises(
        {"choice": {"values": [1, 300], "weights": [1, 0]}}, "int", ge=0, le=200)


@pytest.mark.parametrize("value, kind", [
    ({"loguniform": [0.01, 3]}, "float"), ({"loguniform": {"low": 2, "high": 3}}, "float"),
    ({"truncnormal": {"mean": 1, "std": 0.5, "low": 0, "high": 2}}, "float"),
    ({"choice": {"values": [3, 1], "weights": [2, 1]}}, "int"),
    ({"choice": {"values": [0.5, 1.5], "weights": [0.1, 0.9]}}, "float"),
])
def test_new_forms_round_trip(value, kind) -> None:
    d = parse_distribution(value, kind)
    spec = d.to_spec()
    assert parse_distribution(spec, kind) == d
    assert parse_distribution(spec, kind).to_spec() == spec


def test_new_to_spec_forms() -> None:
    assert LogUniform(0.1, 1.0).to_spec() == {"loguniform": [0.1, 1.0]}
    assert TruncNormal(0.0, 1.0, -1.0, 2.0).to_spec() == {
        "truncnormal": {"mean": 0.0, "std": 1.0, "low": -1.0, "high": 2.0}}
    assert Choice((1, 2), (1.0, 3.0)).to_spec() == {"choice": {"values": [1, 2],
                                                               "weights": [1.0, 3.0]}}


def test_truncnormal_symmetric_statistics() -> None:
    from scipy.stats import truncnorm

    x = _draws(TruncNormal(0.0, 1.0, -1.0, 1.0))
    assert x.min() >= -1.0 and x.max() <= 1.0
    assert x.min() < -0.99 and x.max() > 0.99
    assert abs(x.mean()) < 0.02                          # sd of the mean ~0.004
    assert abs(x.std() - truncnorm.std(-1, 1)) < 0.02    # ~0.538


def test_truncnormal_asymmetric_mean() -> None:
    from scipy.stats import truncnorm

    x = _draws(TruncNormal(1.0, 2.0, 0.0, 8.0))
    assert x.min() >= 0.0 and x.max() <= 8.0
    assert abs(x.mean() - truncnorm.mean(-0.5, 3.5, loc=1.0, scale=2.0)) < 0.05  # sd ~0.011


@pytest.mark.parametrize("d", [TruncNormal(1.0, 2.0, 0.0, 8.0), TruncNormal(0.0, 1.0, -3.0, -1.0),
                               TruncNormal(0.0, 1.0, 1.0, 3.0), TruncNormal(5.0, 0.1, -1.0, 2.0)])
def test_truncnormal_is_the_inverse_cdf(d) -> None:
    from scipy.stats import truncnorm

    a, b = (d.low - d.mean) / d.std, (d.high - d.mean) / d.std
    for u in (0.0, 1e-6, 0.1, 0.5, 0.9, 0.999999):
        expected = truncnorm.ppf(u, a, b, loc=d.mean, scale=d.std)
        assert d.draw(QmcStream(np.array([u]), np.random.default_rng(0))) == pytest.approx(
            expected, rel=1e-7, abs=1e-9)


def test_truncnormal_far_in_the_tail_stays_in_bounds() -> None:
    for d in (TruncNormal(0.0, 1.0, 40.0, 41.0), TruncNormal(0.0, 1.0, -41.0, -40.0)):
        x = _draws(d, n=2000)
        assert np.isfinite(x).all() and x.min() >= d.low and x.max() <= d.high
        near = d.low if d.low > 0 else d.high           # mass piles up at the bound nearest 0
        assert abs(np.median(x) - near) < 0.05


def test_truncnormal_degenerate_cases() -> None:
    assert set(_draws(TruncNormal(5.0, 0.0, 1.0, 2.0), n=50).tolist()) == {2.0}
    assert set(_draws(TruncNormal(0.0, 1.0, 1.5, 1.5), n=50).tolist()) == {1.5}


def test_loguniform_log_is_uniform() -> None:
    x = _draws(LogUniform(0.01, 100.0))
    assert x.min() >= 0.01 and x.max() <= 100.0
    logs = np.log10(x)                                   # uniform on [-2, 2]
    assert abs(logs.mean()) < 0.05                       # sd ~0.008
    assert abs(logs.std() - 4 / math.sqrt(12)) < 0.03
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(np.quantile(logs, q) - (-2 + 4 * q)) < 0.05
    assert type(LogUniform(1.0, 2.0).sample(np.random.default_rng(0))) is float


def test_loguniform_single_value() -> None:
    assert set(_draws(LogUniform(0.3, 0.3), n=100).tolist()) == {0.3}


def test_weighted_choice_frequencies() -> None:
    x = _draws(parse_distribution({"choice": {"values": [1, 2, 7], "weights": [1, 0, 3]}}, "int"))
    counts = Counter(x.tolist())
    assert set(counts) == {1, 7}                         # a zero weight is never drawn
    assert abs(counts[1] / N - 0.25) < 0.02
    assert abs(counts[7] / N - 0.75) < 0.02


# --- draws from a stream of uniforms ----------------------------------------------------------

def _fixed(*u: float) -> QmcStream:
    # A fallback that would be noticed: any uniform past the point would come from it.
    return QmcStream(np.array(u), np.random.default_rng(123))


@pytest.mark.parametrize("d, u, expected", [
    (Uniform(2.0, 6.0), 0.25, 3.0),
    (Uniform(2.0, 6.0), 0.0, 2.0),
    (Uniform(-1.0, 1.0), 0.75, 0.5),
    (RandInt(1, 4), 0.0, 1),
    (RandInt(1, 4), 0.2499, 1),
    (RandInt(1, 4), 0.25, 2),
    (RandInt(1, 4), 0.7, 3),
    (RandInt(1, 4), 0.9999999, 4),
    (RandInt(-3, -3), 0.5, -3),
    (Choice((10, 20, 30)), 0.5, 20),
    (Choice((10, 20, 30)), 0.0, 10),
    (Choice((10, 20, 30), (1.0, 0.0, 3.0)), 0.24, 10),
    (Choice((10, 20, 30), (1.0, 0.0, 3.0)), 0.25, 30),
    (Normal(3.0, 2.0), 0.5, 3.0),
    (LogUniform(1.0, 100.0), 0.5, 10.0),
])
def test_draw_is_the_documented_inverse_cdf(d, u, expected) -> None:
    value = d.draw(_fixed(u))
    assert value == pytest.approx(expected, rel=1e-12)
    if isinstance(d, (Uniform, RandInt, Choice)):
        assert value == expected                        # exactly, not just approximately
    assert type(value) is type(expected)


def test_uniform_and_randint_draws_are_exact_formulas() -> None:
    rng = np.random.default_rng(SEED)
    for u in rng.random(200).tolist():
        assert Uniform(-2.5, 7.0).draw(_fixed(u)) == -2.5 + (7.0 - -2.5) * u
        assert RandInt(-3, 9).draw(_fixed(u)) == -3 + math.floor(u * 13)


def test_normal_at_u_zero_is_finite() -> None:
    assert math.isfinite(Normal(0.0, 1.0).draw(_fixed(0.0)))
    assert Normal(0.0, 1.0).draw(_fixed(0.0)) < -8.0


@pytest.mark.parametrize("d, used", [
    (Constant(1.5), 0), (Uniform(0.0, 1.0), 1), (Uniform(1.0, 1.0), 1), (RandInt(0, 0), 1),
    (Choice((1,)), 1), (Normal(0.0, 0.0), 1), (LogUniform(1.0, 2.0), 1),
    (TruncNormal(0.0, 0.0, -1.0, 1.0), 1),
])
def test_each_scalar_takes_a_fixed_number_of_uniforms(d, used) -> None:
    stream = _fixed(0.3, 0.6)
    d.draw(stream)
    assert stream.used == used


@pytest.mark.parametrize("d", [Constant(2), Uniform(0.0, 3.0), LogUniform(0.5, 4.0), RandInt(0, 9),
                               Choice((1, 2, 3), (0.2, 0.3, 0.5)), Normal(1.0, 2.0),
                               TruncNormal(0.0, 1.0, -0.5, 2.0)])
def test_sample_is_draw_on_the_generator(d) -> None:
    a = [d.sample(np.random.default_rng(5)) for _ in range(3)]
    b = [d.draw(RngStream(np.random.default_rng(5))) for _ in range(3)]
    assert a == b
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    assert [d.sample(rng_a) for _ in range(50)] == [d.draw(RngStream(rng_b)) for _ in range(50)]


def test_uniform_draws_keep_their_old_values() -> None:
    # rng.uniform(a, b) is a + (b - a) * rng.random(): scenarios drawing only uniforms are unmoved.
    rng_a, rng_b = np.random.default_rng(SEED), np.random.default_rng(SEED)
    assert [Uniform(2.0, 5.0).sample(rng_a) for _ in range(100)] == \
        [float(rng_b.uniform(2.0, 5.0)) for _ in range(100)]


@pytest.mark.parametrize("d", [LogUniform(0.1, 10.0), TruncNormal(0.0, 1.0, -1.0, 2.0),
                               Choice((1, 2, 3), (1.0, 1.0, 2.0))])
def test_new_forms_same_seed_same_draws(d) -> None:
    assert _draws(d, seed=7, n=200).tolist() == _draws(d, seed=7, n=200).tolist()
    assert _draws(d, seed=7, n=200).tolist() != _draws(d, seed=8, n=200).tolist()


# --- vectors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ([1, 2, 3], PerAxis((Constant(1), Constant(2), Constant(3)))),
    ((0.0, 0.0, Uniform(0.0, 360.0)), PerAxis((Constant(0.0), Constant(0.0), Uniform(0.0, 360.0)))),
    ([0, {"uniform": [-1, 1]}, {"normal": [0, 2]}],
     PerAxis((Constant(0), Uniform(-1.0, 1.0), Normal(0.0, 2.0)))),
    ({"uniform": {"min": [0, 0, 0], "max": [1, 2, 3]}}, UniformBox((0.0, 0.0, 0.0), (1.0, 2.0, 3.0))),
    ({"choice": [[1, 2, 3], [4, 5, 6]]}, VectorChoice(((1.0, 2.0, 3.0), (4.0, 5.0, 6.0)))),
    ({"choice": {"values": [[1, 2, 3], [4, 5, 6]], "weights": [1, 3]}},
     VectorChoice(((1.0, 2.0, 3.0), (4.0, 5.0, 6.0)), (1.0, 3.0))),
    ({"normal": {"mean": [0, 1, 2], "std": [1, 0, 0.5]}},
     VectorNormal((0.0, 1.0, 2.0), (1.0, 0.0, 0.5))),
])
def test_vector_forms_parse_and_round_trip(value, expected) -> None:
    parsed = parse_vector(value)
    assert parsed == expected
    spec = parsed.to_spec()
    assert parse_vector(spec) == parsed
    assert parse_vector(spec).to_spec() == spec


def test_vector_size() -> None:
    assert parse_vector([1, 2], size=2).draw(_fixed()) == (1.0, 2.0)
    assert parse_vector({"uniform": {"min": [0, 0], "max": [1, 1]}}, size=2).size == 2
    assert "expected a list of 2 numbers" in str(pytest.raises(
        ValueError, parse_vector, [1, 2, 3], size=2).value)
    with pytest.raises(ValueError, match=r"expected 3 components \(got "):
        parse_vector(UniformBox((0.0, 0.0), (1.0, 1.0)))


@pytest.mark.parametrize("value, message", [
    ("abc", "expected a list of 3 numbers or distributions, {uniform: {min: [...], max: [...]}}, "
            "{choice: [[...], ...]} or {normal: {mean: [...], std: [...]}} (got 'abc')"),
    ([1, 2], "(got [1, 2])"),
    ([0, "a", 1], "component 1: expected a number, {uniform: [low, high]}"),
    ([0, {"uniform": [2, 1]}, 1], "component 1: uniform needs low <= high (got [2, 1])"),
    ({"uniform": [0, 1]}, "uniform takes {min: [...], max: [...]}, 3 numbers each (got [0, 1])"),
    ({"uniform": {"min": [0, 0], "max": [1, 1, 1]}}, "uniform takes {min: [...], max: [...]}"),
    ({"uniform": {"min": [0, 2, 0], "max": [1, 1, 1]}},
     "uniform needs min <= max on every axis (got {'min': [0, 2, 0], 'max': [1, 1, 1]})"),
    ({"choice": []}, "choice takes a non-empty list of lists of 3 numbers (got [])"),
    ({"choice": [[1, 2]]}, "choice takes a non-empty list of lists of 3 numbers (got [[1, 2]])"),
    ({"choice": {"values": [[1, 2, 3]], "weights": [-1]}},
     "choice weights must be 1 numbers >= 0, one per value (got [-1])"),
    ({"normal": {"mean": [0, 0, 0]}}, "normal takes {mean: [...], std: [...]}, 3 numbers each"),
    ({"normal": {"mean": [0, 0, 0], "std": [1, -1, 1]}},
     "normal needs std >= 0 on every axis (got {'mean': [0, 0, 0], 'std': [1, -1, 1]})"),
    ({"gauss": [0, 1]}, "unknown vector distribution 'gauss'; expected a list of 3 numbers"),
])
def test_malformed_vectors_rejected(value, message) -> None:
    with pytest.raises(ValueError) as info:
        parse_vector(value)
    assert message in str(info.value)


@pytest.mark.parametrize("value, message", [
    ([0, -1, 0], "component 1: must be >= 0.0 (got -1)"),
    ([0, {"uniform": [-1, 1]}, 0], "component 1: every value drawn must be >= 0.0 (got "),
    ({"uniform": {"min": [0, -1, 0], "max": [1, 1, 1]}},
     "every component drawn must be >= 0.0 (got {'uniform': {'min': [0.0, -1.0, 0.0], "
     "'max': [1.0, 1.0, 1.0]}})"),
    ({"choice": [[0, 0, 0], [1, -2, 0]]}, "every component drawn must be >= 0.0 (got "),
    ({"normal": {"mean": [1, 1, 1], "std": [0, 0.1, 0]}},
     "every component drawn must be >= 0.0 (normal is unbounded here; use uniform) (got "),
    ({"normal": {"mean": [1, -1, 1], "std": [0, 0, 0]}}, "every component drawn must be >= 0.0 (got "),
])
def test_vector_bounds(value, message) -> None:
    with pytest.raises(ValueError) as info:
        parse_vector(value, ge=0.0)
    assert message in str(info.value)


def test_vector_bounds_accept() -> None:
    parse_vector({"uniform": {"min": [0, 0, 0], "max": [1, 1, 1]}}, ge=0.0, le=1.0)
    parse_vector({"normal": {"mean": [0.5, 0.5, 0.5], "std": [0, 0, 0]}}, ge=0.0, le=1.0)
    parse_vector([0, {"uniform": [0, 1]}, 1], ge=0.0, le=1.0)


def test_uniform_box_draws_inside_the_box() -> None:
    d = parse_vector({"uniform": {"min": [-1, 0, 2], "max": [1, 0.5, 2]}})
    rng = np.random.default_rng(SEED)
    x = np.array([d.sample(rng) for _ in range(N)])
    assert (x >= [-1, 0, 2]).all() and (x <= [1, 0.5, 2]).all()
    assert (x[:, 2] == 2.0).all()
    assert np.abs(x.mean(axis=0) - [0.0, 0.25, 2.0]).max() < 0.02
    assert abs(np.corrcoef(x[:, 0], x[:, 1])[0, 1]) < 0.05     # axes independent


def test_uniform_box_is_per_axis_inverse_cdf() -> None:
    d = UniformBox((0.0, -2.0, 10.0), (4.0, 2.0, 10.0))
    assert d.draw(_fixed(0.25, 0.5, 0.9)) == (1.0, 0.0, 10.0)


def test_vector_choice_frequencies() -> None:
    d = parse_vector({"choice": {"values": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "weights": [1, 1, 2]}})
    rng = np.random.default_rng(SEED)
    counts = Counter(d.sample(rng) for _ in range(N))
    assert abs(counts[(1.0, 0.0, 0.0)] / N - 0.25) < 0.02
    assert abs(counts[(0.0, 1.0, 0.0)] / N - 0.25) < 0.02
    assert abs(counts[(0.0, 0.0, 1.0)] / N - 0.50) < 0.02
    stream = _fixed(0.6)
    assert d.draw(stream) == (0.0, 0.0, 1.0) and stream.used == 1


def test_vector_normal_statistics() -> None:
    d = parse_vector({"normal": {"mean": [1, -2, 0], "std": [0.5, 2, 0]}})
    rng = np.random.default_rng(SEED)
    x = np.array([d.sample(rng) for _ in range(N)])
    assert np.abs(x.mean(axis=0) - [1, -2, 0]).max() < 0.05
    assert np.abs(x.std(axis=0) - [0.5, 2, 0]).max() < 0.05
    assert d.draw(_fixed(0.5, 0.5, 0.5)) == (1.0, -2.0, 0.0)


def test_per_axis_draws_axes_in_order() -> None:
    d = parse_vector([{"uniform": [0, 10]}, 7, {"randint": [0, 3]}])
    stream = _fixed(0.5, 0.5)
    assert d.draw(stream) == (5.0, 7.0, 2.0)
    assert stream.used == 2
    assert all(type(v) is float for v in d.draw(_fixed(0.1, 0.2)))


@pytest.mark.parametrize("value", [
    [0, {"uniform": [0, 1]}, {"normal": [0, 1]}], {"uniform": {"min": [0, 0, 0], "max": [1, 1, 1]}},
    {"choice": [[1, 2, 3], [4, 5, 6]]}, {"normal": {"mean": [0, 0, 0], "std": [1, 1, 1]}},
])
def test_vector_same_seed_same_draws(value) -> None:
    d = parse_vector(value)

    def run(seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [d.sample(rng) for _ in range(100)]

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- rotations --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ({"so3": "uniform"}, UniformRotation()),
    ({"yaw_deg": {"uniform": [0, 360]}}, YawRotation(Uniform(0.0, 360.0))),
    ({"yaw_deg": 90}, YawRotation(Constant(90))),
    ({"euler_deg": [0, 0, {"uniform": [0, 360]}]},
     EulerRotation((Constant(0), Constant(0), Uniform(0.0, 360.0)))),
    ([10, 20, 30], EulerRotation((Constant(10), Constant(20), Constant(30)))),
    ((0.0, 0.0, Uniform(0.0, 360.0)), EulerRotation((Constant(0.0), Constant(0.0),
                                                     Uniform(0.0, 360.0)))),
])
def test_rotation_forms_parse_and_round_trip(value, expected) -> None:
    parsed = parse_rotation(value)
    assert parsed == expected
    spec = parsed.to_spec()
    assert parse_rotation(spec) == parsed
    assert parse_rotation(spec).to_spec() == spec


def test_euler_to_spec_is_the_plain_list() -> None:
    assert parse_rotation({"euler_deg": [0, 0, 90]}).to_spec() == [0, 0, 90]
    assert UniformRotation().to_spec() == {"so3": "uniform"}
    assert YawRotation(Uniform(0.0, 90.0)).to_spec() == {"yaw_deg": {"uniform": [0.0, 90.0]}}


@pytest.mark.parametrize("value, message", [
    ("abc", "expected {so3: uniform}, {yaw_deg: <distribution>}, {euler_deg: [roll, pitch, yaw]} "
            "or [roll, pitch, yaw] in degrees (got 'abc')"),
    ([1, 2], "(got [1, 2])"),
    ({"euler_deg": [1, 2]}, "(got {'euler_deg': [1, 2]})"),
    ({"euler_deg": [1, "a", 2]}, "component 1: expected a number"),
    ({"so3": "gaussian"}, "so3 takes 'uniform'"),
    ({"yaw_deg": [0, 1]}, "(got [0, 1])"),
    ({"quaternion": [0, 0, 0, 1]}, "unknown rotation 'quaternion'; expected {so3: uniform}"),
])
def test_malformed_rotations_rejected(value, message) -> None:
    with pytest.raises(ValueError) as info:
        parse_rotation(value)
    assert message in str(info.value)


def _matrices(quaternions: np.ndarray) -> np.ndarray:
    return np.array([geometry.rotation_from_quaternion(q) for q in quaternions])


def test_so3_uniform_rotations() -> None:
    rng = np.random.default_rng(SEED)
    q = np.array([UniformRotation().sample(rng) for _ in range(N)])
    assert np.abs(np.linalg.norm(q, axis=1) - 1.0).max() < 1e-12
    R = _matrices(q)
    assert np.abs(R.mean(axis=0)).max() < 0.02           # Haar measure: E[R] = 0; sd ~0.004
    # Each column is a uniform unit vector: E[x^2] = 1/3 per component.
    assert np.abs((R ** 2).mean(axis=0) - 1 / 3).max() < 0.02
    # The rotation angle has density (1 - cos t) / pi on [0, pi]: mean pi/2 + 2/pi.
    angles = 2 * np.arccos(np.clip(np.abs(q[:, 3]), 0, 1))
    assert abs(angles.mean() - (math.pi / 2 + 2 / math.pi)) < 0.02


def test_so3_is_shoemake() -> None:
    u1, u2, u3 = 0.3, 0.1, 0.7
    x, y, z, w = UniformRotation().draw(_fixed(u1, u2, u3))
    assert (x, y, z, w) == pytest.approx((math.sqrt(1 - u1) * math.sin(2 * math.pi * u2),
                                          math.sqrt(1 - u1) * math.cos(2 * math.pi * u2),
                                          math.sqrt(u1) * math.sin(2 * math.pi * u3),
                                          math.sqrt(u1) * math.cos(2 * math.pi * u3)))


def test_yaw_only_rotations() -> None:
    d = parse_rotation({"yaw_deg": {"uniform": [0, 360]}})
    rng = np.random.default_rng(SEED)
    q = np.array([d.sample(rng) for _ in range(2000)])
    assert (q[:, 0] == 0).all() and (q[:, 1] == 0).all()
    assert np.abs(np.linalg.norm(q, axis=1) - 1.0).max() < 1e-12
    R = _matrices(q)
    assert np.allclose(R[:, :, 2], [0, 0, 1]) and np.allclose(R[:, 2, :], [0, 0, 1])
    assert d.draw(_fixed(0.25)) == pytest.approx(geometry.quaternion_from_euler_deg((0, 0, 90)))


def test_euler_matches_pybullet_convention() -> None:
    for rpy in [(10, 20, 30), (0, 0, 90), (-45, 80, 170)]:
        expected = geometry.quaternion_from_euler_deg(rpy)
        assert parse_rotation(list(rpy)).draw(_fixed()) == expected
        assert parse_rotation({"euler_deg": list(rpy)}).draw(_fixed()) == expected
    d = parse_rotation([0, {"uniform": [0, 90]}, {"uniform": [0, 360]}])
    stream = _fixed(0.5, 0.25)
    assert d.draw(stream) == geometry.quaternion_from_euler_deg((0, 45, 90))
    assert stream.used == 2


@pytest.mark.parametrize("value", [{"so3": "uniform"}, {"yaw_deg": {"uniform": [0, 360]}},
                                   [0, {"normal": [0, 10]}, {"uniform": [0, 360]}]])
def test_rotation_same_seed_same_draws(value) -> None:
    d = parse_rotation(value)

    def run(seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [d.sample(rng) for _ in range(100)]

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- directions -------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ({"hemisphere": {"axis": [0, 0, 1], "max_angle_deg": 90}}, Hemisphere((0.0, 0.0, 1.0), 90.0)),
    ({"hemisphere": {}}, Hemisphere()),
    ({"hemisphere": {"axis": [1, 1, 0]}}, Hemisphere((1.0, 1.0, 0.0), 90.0)),
    ({"hemisphere": {"max_angle_deg": 30}}, Hemisphere((0.0, 0.0, 1.0), 30.0)),
    ([1, 1, 2], Normalized(PerAxis((Constant(1), Constant(1), Constant(2))))),
    ({"normal": {"mean": [0, 0, 1], "std": [0.1, 0.1, 0]}},
     Normalized(VectorNormal((0.0, 0.0, 1.0), (0.1, 0.1, 0.0)))),
])
def test_direction_forms_parse_and_round_trip(value, expected) -> None:
    parsed = parse_direction(value)
    assert parsed == expected
    spec = parsed.to_spec()
    assert parse_direction(spec) == parsed
    assert parse_direction(spec).to_spec() == spec


@pytest.mark.parametrize("value, message", [
    ([0, 0, 0], "a direction must not be the zero vector (got [0, 0, 0])"),
    ([0.0, 0, {"randint": [-1, 1]}], "a direction must not be the zero vector"),
    ({"choice": [[0, 0, 0], [1, 0, 0]]}, "a direction must not be the zero vector"),
    ({"uniform": {"min": [0, 0, 0], "max": [0, 0, 0]}}, "a direction must not be the zero vector"),
    ({"normal": {"mean": [0, 0, 0], "std": [0, 0, 0]}}, "a direction must not be the zero vector"),
    ({"hemisphere": {"axis": [0, 0, 0]}}, "hemisphere axis must be 3 numbers, not all 0 (got [0, 0, 0])"),
    ({"hemisphere": {"axis": [0, 1]}}, "hemisphere axis must be 3 numbers, not all 0 (got [0, 1])"),
    ({"hemisphere": {"max_angle_deg": 181}}, "hemisphere needs 0 <= max_angle_deg <= 180 (got 181)"),
    ({"hemisphere": {"max_angle_deg": -1}}, "hemisphere needs 0 <= max_angle_deg <= 180 (got -1)"),
    ({"hemisphere": {"angle": 30}}, "hemisphere takes {axis: [x, y, z], max_angle_deg: a} "
                                    "(got {'angle': 30})"),
    ("up", "expected {hemisphere: {axis: [x, y, z], max_angle_deg: a}} or a vector: "),
])
def test_malformed_directions_rejected(value, message) -> None:
    with pytest.raises(ValueError) as info:
        parse_direction(value)
    assert message in str(info.value)


def test_directions_that_are_merely_near_zero_are_accepted() -> None:
    parse_direction({"choice": {"values": [[0, 0, 0], [1, 0, 0]], "weights": [0, 1]}})
    parse_direction([{"uniform": [-1, 1]}, 0, 0])          # exactly 0 has probability 0
    parse_direction({"uniform": {"min": [-1, -1, -1], "max": [1, 1, 1]}})


def test_hemisphere_statistics() -> None:
    d = parse_direction({"hemisphere": {"axis": [0, 0, 1], "max_angle_deg": 90}})
    rng = np.random.default_rng(SEED)
    x = np.array([d.sample(rng) for _ in range(N)])
    assert np.abs(np.linalg.norm(x, axis=1) - 1.0).max() < 1e-12
    assert x[:, 2].min() >= 0.0
    assert abs(x[:, 2].mean() - 0.5) < 0.02              # z uniform on [0, 1]; sd ~0.002
    assert np.abs(x[:, :2].mean(axis=0)).max() < 0.02


def test_hemisphere_cap_around_any_axis() -> None:
    axis = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])
    d = parse_direction({"hemisphere": {"axis": [1, -2, 0.5], "max_angle_deg": 30}})
    rng = np.random.default_rng(SEED)
    x = np.array([d.sample(rng) for _ in range(N)])
    cos = x @ axis
    assert np.abs(np.linalg.norm(x, axis=1) - 1.0).max() < 1e-12
    assert cos.min() >= math.cos(math.radians(30)) - 1e-12
    assert cos.min() < math.cos(math.radians(29))         # fills the cap to its rim
    c = 1 - math.cos(math.radians(30))                     # cos uniform on [cos 30, 1]
    assert abs(cos.mean() - (1 - c / 2)) < 0.005          # sd ~0.0003
    mean = x.mean(axis=0)
    assert np.linalg.norm(mean / np.linalg.norm(mean) - axis) < 0.02   # centred; sd ~0.003


def test_hemisphere_zero_angle_is_the_axis() -> None:
    d = Hemisphere((0.0, 3.0, 0.0), 0.0)
    assert d.draw(_fixed(0.7, 0.2)) == pytest.approx((0.0, 1.0, 0.0), abs=1e-15)


def test_vector_directions_are_normalized() -> None:
    assert parse_direction([1, 1, 2]).draw(_fixed()) == pytest.approx(
        tuple(np.array([1, 1, 2]) / math.sqrt(6)))
    d = parse_direction({"uniform": {"min": [-1, -1, 1], "max": [1, 1, 2]}})
    rng = np.random.default_rng(SEED)
    x = np.array([d.sample(rng) for _ in range(1000)])
    assert np.abs(np.linalg.norm(x, axis=1) - 1.0).max() < 1e-12
    assert Normalized(PerAxis((Uniform(0.0, 1.0),) * 3)).draw(_fixed(0, 0, 0)) == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("value", [{"hemisphere": {}}, [{"uniform": [-1, 1]}, 0.2, 1]])
def test_direction_same_seed_same_draws(value) -> None:
    d = parse_direction(value)

    def run(seed: int) -> list:
        rng = np.random.default_rng(seed)
        return [d.sample(rng) for _ in range(100)]

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- pydantic field types for the spatial forms ------------------------------------------------

class _SpatialModel(BaseModel):
    model_config = ConfigDict(validate_default=True)   # as the scenario schema does
    position: vector(3) = (0.0, 0.0, 0.0)
    color: vector(3, ge=0.0, le=1.0) = (1.0, 1.0, 1.0)
    orientation: rotation() = (0.0, 0.0, Uniform(0.0, 360.0))
    light: direction() = {"hemisphere": {}}


def test_spatial_fields_validate_and_serialize() -> None:
    m = _SpatialModel.model_validate({
        "position": {"uniform": {"min": [0, 0, 0], "max": [1, 1, 1]}},
        "orientation": {"so3": "uniform"},
        "light": [1, 1, 2]})
    assert m.position == UniformBox((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    assert m.orientation == UniformRotation()
    dumped = m.model_dump(mode="json")
    assert dumped == {"position": {"uniform": {"min": [0.0, 0.0, 0.0], "max": [1.0, 1.0, 1.0]}},
                      "color": [1.0, 1.0, 1.0], "orientation": {"so3": "uniform"},
                      "light": [1, 1, 2]}
    assert _SpatialModel.model_validate(dumped) == m
    assert _SpatialModel().model_dump(mode="json")["orientation"] == [0.0, 0.0,
                                                                      {"uniform": [0.0, 360.0]}]


def test_spatial_fields_report_errors() -> None:
    with pytest.raises(ValidationError) as info:
        _SpatialModel.model_validate({"color": [1, 0.5, 2]})
    (error,) = info.value.errors()
    assert error["loc"] == ("color",)
    assert "component 2: must be <= 1.0 (got 2)" in error["msg"]


# --- properties: every uniform in [0, 1) draws inside the support ------------------------------

_finite = st.floats(-1e6, 1e6, allow_nan=False)
_unit = st.floats(0.0, 1.0, exclude_max=True)


@settings(max_examples=300, deadline=None)
@given(a=_finite, b=_finite, mean=_finite, std=st.floats(0.0, 1e4), u=_unit)
def test_scalar_draws_stay_in_support(a, b, mean, std, u) -> None:
    low, high = min(a, b), max(a, b)
    for d in (Uniform(low, high), TruncNormal(mean, std, low, high)):
        assert low <= d.draw(_fixed(u)) <= high
    if low > 0:
        assert low <= LogUniform(low, high).draw(_fixed(u)) <= high
    k = RandInt(int(low), int(high))
    assert k.low <= k.draw(_fixed(u)) <= k.high
    assert math.isfinite(Normal(mean, std).draw(_fixed(u)))


@settings(max_examples=200, deadline=None)
@given(u=st.lists(_unit, min_size=3, max_size=3))
def test_so3_and_hemisphere_draws_are_unit(u) -> None:
    assert sum(x * x for x in UniformRotation().draw(_fixed(*u))) == pytest.approx(1.0, abs=1e-12)
    d = Hemisphere((0.3, -1.0, 2.0), 60.0)
    v = np.array(d.draw(_fixed(*u[:2])))
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-12)
    assert v @ np.array(d.axis) / np.linalg.norm(d.axis) >= math.cos(math.radians(60)) - 1e-12
