"""Distributions a scenario value may be drawn from.

In YAML a value is either a constant (`0.5`) or a one-key mapping naming the distribution:
`{uniform: [a, b]}`, `{randint: [a, b]}` (both ends included), `{choice: [v1, v2, ...]}`,
`{normal: [mean, std]}`. Parsing checks the distribution against the field's kind (int or float)
and bounds, so an impossible draw is an error at load time, never mid-run.

Each distribution draws with an explicit `np.random.Generator` and serializes back to the same
YAML form (`to_spec`), which is what the resolved scenario and its sha256 are made from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import PlainSerializer, PlainValidator

Number = Union[int, float]


@dataclass(frozen=True)
class Constant:
    value: Number

    def sample(self, rng: np.random.Generator) -> Number:
        return self.value

    def to_spec(self) -> Any:
        return self.value

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def to_spec(self) -> Any:
        return {"uniform": [self.low, self.high]}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class RandInt:
    low: int
    high: int  # inclusive

    def sample(self, rng: np.random.Generator) -> int:
        return int(rng.integers(self.low, self.high, endpoint=True))

    def to_spec(self) -> Any:
        return {"randint": [self.low, self.high]}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Choice:
    options: tuple[Number, ...]

    def sample(self, rng: np.random.Generator) -> Number:
        return self.options[int(rng.integers(len(self.options)))]

    def to_spec(self) -> Any:
        return {"choice": list(self.options)}

    def support(self) -> tuple[float, float]:
        return (min(self.options), max(self.options))


@dataclass(frozen=True)
class Normal:
    mean: float
    std: float

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.normal(self.mean, self.std))

    def to_spec(self) -> Any:
        return {"normal": [self.mean, self.std]}

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf) if self.std > 0 else (self.mean, self.mean)


Distribution = Union[Constant, Uniform, RandInt, Choice, Normal]
_FORMS = "a number, {uniform: [low, high]}, {randint: [low, high]}, {choice: [...]} or {normal: [mean, std]}"


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: no scenario value needs one
        return False


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pair(name: str, args: Any) -> tuple[Number, Number]:
    keys = ("mean", "std") if name == "normal" else ("low", "high")
    if isinstance(args, dict) and set(args) == set(keys):
        args = [args[keys[0]], args[keys[1]]]
    if not (isinstance(args, list) and len(args) == 2 and all(_is_number(a) for a in args)):
        raise ValueError(f"{name} takes a list of two numbers (got {args!r})")
    return args[0], args[1]


def parse_distribution(value: Any, kind: Literal["int", "float"] = "float",
                       ge: float | None = None, gt: float | None = None,
                       le: float | None = None, lt: float | None = None) -> Distribution:
    """Parse the YAML form of a distribution and check it against the field's kind and bounds."""
    if isinstance(value, (Constant, Uniform, RandInt, Choice, Normal)):
        dist: Distribution = value
    elif _is_number(value):
        if kind == "int" and not _is_int(value):
            raise ValueError(f"must be an integer (got {value!r})")
        dist = Constant(value)
    elif isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        if name == "uniform":
            low, high = _pair(name, args)
            if kind == "int":
                raise ValueError(f"must be an integer; use randint for integers (got {value!r})")
            if not low <= high:
                raise ValueError(f"uniform needs low <= high (got {args!r})")
            dist = Uniform(float(low), float(high))
        elif name == "randint":
            low, high = _pair(name, args)
            if not (_is_int(low) and _is_int(high)):
                raise ValueError(f"randint takes two integers (got {args!r})")
            if not low <= high:
                raise ValueError(f"randint needs low <= high (got {args!r})")
            dist = RandInt(low, high)
        elif name == "choice":
            if not (isinstance(args, list) and args and all(_is_number(a) for a in args)):
                raise ValueError(f"choice takes a non-empty list of numbers (got {args!r})")
            if kind == "int" and not all(_is_int(a) for a in args):
                raise ValueError(f"choice must list integers here (got {args!r})")
            dist = Choice(tuple(args))
        elif name == "normal":
            mean, std = _pair(name, args)
            if kind == "int":
                raise ValueError(f"must be an integer; use randint or choice (got {value!r})")
            if std < 0:
                raise ValueError(f"normal needs std >= 0 (got {args!r})")
            dist = Normal(float(mean), float(std))
        else:
            raise ValueError(f"unknown distribution {name!r}; expected {_FORMS}")
    else:
        raise ValueError(f"expected {_FORMS} (got {value!r})")
    _check_bounds(dist, ge, gt, le, lt)
    return dist


def _check_bounds(dist: Distribution, ge: float | None, gt: float | None,
                  le: float | None, lt: float | None) -> None:
    low, high = dist.support()
    what = "must be" if isinstance(dist, Constant) else "every value drawn must be"
    unbounded = " (normal is unbounded here; use uniform)" if isinstance(dist, Normal) else ""
    got = dist.to_spec()
    if ge is not None and low < ge:
        raise ValueError(f"{what} >= {ge}{unbounded} (got {got!r})")
    if gt is not None and low <= gt:
        raise ValueError(f"{what} > {gt}{unbounded} (got {got!r})")
    if le is not None and high > le:
        raise ValueError(f"{what} <= {le}{unbounded} (got {got!r})")
    if lt is not None and high >= lt:
        raise ValueError(f"{what} < {lt}{unbounded} (got {got!r})")


def dist(kind: Literal["int", "float"] = "float", *, ge: float | None = None,
         gt: float | None = None, le: float | None = None, lt: float | None = None) -> Any:
    """A pydantic field type holding a distribution of `kind` within the given bounds."""

    def validate(value: Any) -> Distribution:
        return parse_distribution(value, kind, ge=ge, gt=gt, le=le, lt=lt)

    return Annotated[Distribution, PlainValidator(validate),
                     PlainSerializer(lambda d: d.to_spec(), return_type=Any)]
