"""Tests for simgen.scenario.distributions: parsing, kind and bound checks, round trips, draws."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from simgen.scenario.distributions import (Choice, Constant, Normal, RandInt, Uniform, dist,
                                           parse_distribution)

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
    ("abc", "expected a number, {uniform: [low, high]}, {randint: [low, high]}, {choice: [...]} "
            "or {normal: [mean, std]} (got 'abc')"),
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
