"""Distributions a scenario value may be drawn from.

In YAML a value is either a constant (`0.5`) or a one-key mapping naming the distribution:
`{uniform: [a, b]}`, `{loguniform: [a, b]}` (0 < a <= b), `{randint: [a, b]}` (both ends
included), `{choice: [v1, v2, ...]}` or `{choice: {values: [...], weights: [...]}}`,
`{normal: [mean, std]}`, `{truncnormal: {mean: m, std: s, low: a, high: b}}`. Parsing checks the
distribution against the field's kind (int or float) and bounds, so an impossible draw is an
error at load time, never mid-run. Vectors, rotations and directions are in
`simgen.scenario.spatial`.

Every distribution draws from a stream of uniforms (`draw(stream)`, see
`simgen.scenario.streams`) by an inverse CDF, so the same code serves i.i.d. and low-discrepancy
sampling; a constant takes no uniform, every other scalar exactly one, whatever its parameters.
`sample(rng)` is `draw(RngStream(rng))`. Each distribution serializes back to the same YAML form
(`to_spec`), which is what the resolved scenario and its sha256 are made from.
"""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Sequence, Union

import numpy as np
from pydantic import PlainSerializer, PlainValidator

from simgen.scenario.streams import RngStream, UniformStream

Number = Union[int, float]

# The inverse normal CDF is infinite at 0; rng.random() can return 0 (p = 2**-53), so uniforms
# are kept this far inside (0, 1), which cuts normal draws at about 8.1 standard deviations.
_U_EDGE = 2.0 ** -53


class Drawable:
    """What every distribution shares: `sample(rng)` draws from the generator's uniforms."""

    __slots__ = ()

    def draw(self, stream: UniformStream) -> Any:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> Any:
        return self.draw(RngStream(rng))


def uniform01(stream: UniformStream) -> float:
    """One uniform from `stream`, as a Python float."""
    return float(stream.take(1)[0])


def standard_normal_ppf(u: np.ndarray | float) -> np.ndarray:
    """The standard normal inverse CDF of uniforms, kept finite at u = 0 (see _U_EDGE)."""
    from scipy.special import ndtri

    return ndtri(np.clip(u, _U_EDGE, 1.0 - _U_EDGE))


def weighted_index(u: float, weights: Optional[Sequence[float]], n: int) -> int:
    """Index i of n options such that u in [0, 1) falls in option i's share of the weights.

    Equal weights (None) give floor(u * n); with weights, the first i whose cumulative weight
    exceeds u * total, so a zero-weight option is never picked.
    """
    if weights is None:
        return min(int(u * n), n - 1)
    cumulative = list(itertools.accumulate(weights))
    return min(bisect.bisect_right(cumulative, u * cumulative[-1]), n - 1)


@dataclass(frozen=True)
class Constant(Drawable):
    value: Number

    def draw(self, stream: UniformStream) -> Number:
        return self.value

    def to_spec(self) -> Any:
        return self.value

    def support(self) -> tuple[float, float]:
        return (self.value, self.value)


@dataclass(frozen=True)
class Uniform(Drawable):
    low: float
    high: float

    def draw(self, stream: UniformStream) -> float:
        return self.low + (self.high - self.low) * uniform01(stream)

    def to_spec(self) -> Any:
        return {"uniform": [self.low, self.high]}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class LogUniform(Drawable):
    """log(x) uniform on [log(low), log(high)]: equal odds per factor (0.01-0.1 as 0.1-1)."""

    low: float
    high: float

    def draw(self, stream: UniformStream) -> float:
        log_low, log_high = math.log(self.low), math.log(self.high)
        x = math.exp(log_low + (log_high - log_low) * uniform01(stream))
        return min(max(x, self.low), self.high)  # exp(log(x)) can miss x by an ulp

    def to_spec(self) -> Any:
        return {"loguniform": [self.low, self.high]}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class RandInt(Drawable):
    low: int
    high: int  # inclusive

    def draw(self, stream: UniformStream) -> int:
        return self.low + weighted_index(uniform01(stream), None, self.high - self.low + 1)

    def to_spec(self) -> Any:
        return {"randint": [self.low, self.high]}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Choice(Drawable):
    options: tuple[Number, ...]
    weights: Optional[tuple[float, ...]] = None  # None: equal weights

    def draw(self, stream: UniformStream) -> Number:
        return self.options[weighted_index(uniform01(stream), self.weights, len(self.options))]

    def to_spec(self) -> Any:
        if self.weights is None:
            return {"choice": list(self.options)}
        return {"choice": {"values": list(self.options), "weights": list(self.weights)}}

    def support(self) -> tuple[float, float]:
        # Every listed value, zero-weight ones too: listing an out-of-range value is a mistake.
        return (min(self.options), max(self.options))


@dataclass(frozen=True)
class Normal(Drawable):
    mean: float
    std: float

    def draw(self, stream: UniformStream) -> float:
        return self.mean + self.std * float(standard_normal_ppf(uniform01(stream)))

    def to_spec(self) -> Any:
        return {"normal": [self.mean, self.std]}

    def support(self) -> tuple[float, float]:
        return (-math.inf, math.inf) if self.std > 0 else (self.mean, self.mean)


@dataclass(frozen=True)
class TruncNormal(Drawable):
    """A normal(mean, std) restricted to [low, high]; std 0 gives mean clipped into the bounds."""

    mean: float
    std: float
    low: float
    high: float

    def draw(self, stream: UniformStream) -> float:
        from scipy.special import log_ndtr, ndtri_exp

        u = uniform01(stream)
        if self.std == 0 or self.low == self.high:
            return min(max(self.mean, self.low), self.high)
        alpha, beta = (self.low - self.mean) / self.std, (self.high - self.mean) / self.std
        # Work in the lower tail, where log_ndtr keeps its precision: an interval lying mostly
        # above the mean is mirrored (u -> 1 - u keeps the draw increasing in u).
        mirrored = alpha + beta > 0
        if mirrored:
            alpha, beta, u = -beta, -alpha, 1.0 - u
        log_a, log_b = float(log_ndtr(alpha)), float(log_ndtr(beta))
        # log of ndtr(alpha) + u * (ndtr(beta) - ndtr(alpha)), never leaving log space, so an
        # interval far in the tail (ndtr underflowing to 0) still draws correctly.
        if u <= 0.0:
            log_p = log_a
        elif u >= 1.0:
            log_p = log_b
        else:
            log_p = float(np.logaddexp(log_a + math.log1p(-u), log_b + math.log(u)))
        z = float(ndtri_exp(log_p))
        x = self.mean + self.std * (-z if mirrored else z)
        return min(max(x, self.low), self.high)

    def to_spec(self) -> Any:
        return {"truncnormal": {"mean": self.mean, "std": self.std,
                                "low": self.low, "high": self.high}}

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)


Distribution = Union[Constant, Uniform, LogUniform, RandInt, Choice, Normal, TruncNormal]
_TYPES = (Constant, Uniform, LogUniform, RandInt, Choice, Normal, TruncNormal)
_FORMS = ("a number, {uniform: [low, high]}, {loguniform: [low, high]}, {randint: [low, high]}, "
          "{choice: [...]}, {normal: [mean, std]} or {truncnormal: {mean, std, low, high}}")


def is_number(value: Any) -> bool:
    """A finite int or float (bool excluded)."""
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
    if not (isinstance(args, list) and len(args) == 2 and all(is_number(a) for a in args)):
        raise ValueError(f"{name} takes a list of two numbers (got {args!r})")
    return args[0], args[1]


def parse_weights(weights: Any, count: int) -> tuple[float, ...]:
    """Check choice weights: one number >= 0 per value, with a positive (finite) sum."""
    if not (isinstance(weights, list) and len(weights) == count
            and all(is_number(w) and w >= 0 for w in weights)):
        raise ValueError(f"choice weights must be {count} numbers >= 0, one per value "
                         f"(got {weights!r})")
    total = sum(float(w) for w in weights)  # overflows to inf rather than raising, as fsum would
    if not 0 < total < math.inf:
        raise ValueError(f"choice weights must have a positive, finite sum (got {weights!r})")
    return tuple(float(w) for w in weights)


def _choice(args: Any, kind: Literal["int", "float"]) -> Choice:
    weights = None
    if isinstance(args, dict):
        if set(args) != {"values", "weights"}:
            raise ValueError(f"weighted choice takes {{values: [...], weights: [...]}} "
                             f"(got {args!r})")
        args, weights = args["values"], args["weights"]
    if not (isinstance(args, list) and args and all(is_number(a) for a in args)):
        raise ValueError(f"choice takes a non-empty list of numbers (got {args!r})")
    if kind == "int" and not all(_is_int(a) for a in args):
        raise ValueError(f"choice must list integers here (got {args!r})")
    return Choice(tuple(args), None if weights is None else parse_weights(weights, len(args)))


def _not_int(name: str, value: Any, kind: Literal["int", "float"]) -> None:
    if kind == "int":
        use = "randint for integers" if name == "uniform" else "randint or choice"
        raise ValueError(f"must be an integer; use {use} (got {value!r})")


def _parse_form(name: str, args: Any, value: Any, kind: Literal["int", "float"]) -> Distribution:
    # Each form checks its own arguments first, then the field's kind, then its own ranges.
    if name == "uniform":
        low, high = _pair(name, args)
        _not_int(name, value, kind)
        if not low <= high:
            raise ValueError(f"uniform needs low <= high (got {args!r})")
        return Uniform(float(low), float(high))
    if name == "loguniform":
        low, high = _pair(name, args)
        _not_int(name, value, kind)
        if not 0 < low <= high:
            raise ValueError(f"loguniform needs 0 < low <= high (got {args!r})")
        return LogUniform(float(low), float(high))
    if name == "randint":
        low, high = _pair(name, args)
        if not (_is_int(low) and _is_int(high)):
            raise ValueError(f"randint takes two integers (got {args!r})")
        if not low <= high:
            raise ValueError(f"randint needs low <= high (got {args!r})")
        return RandInt(low, high)
    if name == "choice":
        return _choice(args, kind)
    if name == "normal":
        mean, std = _pair(name, args)
        _not_int(name, value, kind)
        if std < 0:
            raise ValueError(f"normal needs std >= 0 (got {args!r})")
        return Normal(float(mean), float(std))
    if name == "truncnormal":
        keys = ("mean", "std", "low", "high")
        if not (isinstance(args, dict) and set(args) == set(keys)
                and all(map(is_number, args.values()))):
            raise ValueError(f"truncnormal takes {{mean, std, low, high}}, four numbers "
                             f"(got {args!r})")
        _not_int(name, value, kind)
        if args["std"] < 0:
            raise ValueError(f"truncnormal needs std >= 0 (got {args!r})")
        if not args["low"] <= args["high"]:
            raise ValueError(f"truncnormal needs low <= high (got {args!r})")
        return TruncNormal(*(float(args[k]) for k in keys))
    raise ValueError(f"unknown distribution {name!r}; expected {_FORMS}")


def parse_distribution(value: Any, kind: Literal["int", "float"] = "float",
                       ge: float | None = None, gt: float | None = None,
                       le: float | None = None, lt: float | None = None) -> Distribution:
    """Parse the YAML form of a distribution and check it against the field's kind and bounds."""
    if isinstance(value, _TYPES):
        dist: Distribution = value
    elif is_number(value):
        if kind == "int" and not _is_int(value):
            raise ValueError(f"must be an integer (got {value!r})")
        dist = Constant(value)
    elif isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        dist = _parse_form(name, args, value, kind)
    else:
        raise ValueError(f"expected {_FORMS} (got {value!r})")
    _check_bounds(dist, ge, gt, le, lt)
    return dist


def _check_bounds(dist: Distribution, ge: float | None, gt: float | None,
                  le: float | None, lt: float | None) -> None:
    low, high = dist.support()
    check_range(low, high, dist.to_spec(), ge=ge, gt=gt, le=le, lt=lt,
                what="must be" if isinstance(dist, Constant) else "every value drawn must be",
                unbounded=isinstance(dist, Normal))


def check_range(low: float, high: float, got: Any, *, ge: float | None = None,
                gt: float | None = None, le: float | None = None, lt: float | None = None,
                what: str = "every value drawn must be", unbounded: bool = False) -> None:
    """Raise if [low, high], the values a distribution can draw, crosses one of the bounds."""
    hint = " (normal is unbounded here; use uniform)" if unbounded else ""
    if ge is not None and low < ge:
        raise ValueError(f"{what} >= {ge}{hint} (got {got!r})")
    if gt is not None and low <= gt:
        raise ValueError(f"{what} > {gt}{hint} (got {got!r})")
    if le is not None and high > le:
        raise ValueError(f"{what} <= {le}{hint} (got {got!r})")
    if lt is not None and high >= lt:
        raise ValueError(f"{what} < {lt}{hint} (got {got!r})")


def dist(kind: Literal["int", "float"] = "float", *, ge: float | None = None,
         gt: float | None = None, le: float | None = None, lt: float | None = None) -> Any:
    """A pydantic field type holding a distribution of `kind` within the given bounds."""

    def validate(value: Any) -> Distribution:
        return parse_distribution(value, kind, ge=ge, gt=gt, le=le, lt=lt)

    return Annotated[Distribution, PlainValidator(validate),
                     PlainSerializer(lambda d: d.to_spec(), return_type=Any)]
