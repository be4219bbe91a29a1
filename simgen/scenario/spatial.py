"""Vector, rotation and direction distributions, drawn from a stream of uniforms.

Vectors (`parse_vector`, field type `vector(size=3, ...)`), drawn as a tuple of floats:

- `[d0, d1, d2]`: one scalar distribution per axis (`[0, {uniform: [-1, 1]}, 0.5]`);
- `{uniform: {min: [...], max: [...]}}`: uniform in a box, every axis at once;
- `{choice: [[x, y, z], ...]}` or `{choice: {values: [[...], ...], weights: [...]}}`;
- `{normal: {mean: [...], std: [...]}}`: independent normals per axis.

Rotations (`parse_rotation`, field type `rotation()`), drawn as a quaternion (x, y, z, w), the
order PyBullet uses:

- `{so3: uniform}`: a uniformly random rotation (Shoemake's method, 3 uniforms);
- `{yaw_deg: <scalar distribution>}`: about the world z axis only;
- `{euler_deg: [roll, pitch, yaw]}` or just `[roll, pitch, yaw]`: scalar distributions in
  degrees, extrinsic x-y-z as PyBullet's getQuaternionFromEuler.

Directions (`parse_direction`, field type `direction()`), drawn as a unit 3-vector:

- `{hemisphere: {axis: [0, 0, 1], max_angle_deg: 90}}`: uniform on the spherical cap of that
  half-angle around the axis (both keys optional; 2 uniforms);
- any vector form above, normalized on draw; one that can draw the zero vector with positive
  probability (a zero constant, say) is rejected.

Each form's `to_spec` gives YAML that parses back to an equal value; Euler angles write the
plain list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Union

import numpy as np
from pydantic import PlainSerializer, PlainValidator

from simgen import geometry
from simgen.scenario.distributions import (Choice, Constant, Distribution, Drawable, Normal,
                                           RandInt, TruncNormal, Uniform, check_range, is_number,
                                           parse_distribution, parse_weights,
                                           standard_normal_ppf, uniform01, weighted_index)
from simgen.scenario.streams import UniformStream

Floats = tuple[float, ...]
Quaternion = tuple[float, float, float, float]


# --- vectors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PerAxis(Drawable):
    """One scalar distribution per axis, drawn in axis order."""

    axes: tuple[Distribution, ...]

    @property
    def size(self) -> int:
        return len(self.axes)

    def draw(self, stream: UniformStream) -> Floats:
        return tuple(float(d.draw(stream)) for d in self.axes)

    def to_spec(self) -> Any:
        return [d.to_spec() for d in self.axes]


@dataclass(frozen=True)
class UniformBox(Drawable):
    min: Floats
    max: Floats

    @property
    def size(self) -> int:
        return len(self.min)

    def draw(self, stream: UniformStream) -> Floats:
        u = stream.take(self.size).tolist()
        return tuple(lo + (hi - lo) * x for lo, hi, x in zip(self.min, self.max, u))

    def to_spec(self) -> Any:
        return {"uniform": {"min": list(self.min), "max": list(self.max)}}


@dataclass(frozen=True)
class VectorChoice(Drawable):
    options: tuple[Floats, ...]
    weights: Optional[Floats] = None  # None: equal weights

    @property
    def size(self) -> int:
        return len(self.options[0])

    def draw(self, stream: UniformStream) -> Floats:
        return self.options[weighted_index(uniform01(stream), self.weights, len(self.options))]

    def to_spec(self) -> Any:
        values = [list(o) for o in self.options]
        if self.weights is None:
            return {"choice": values}
        return {"choice": {"values": values, "weights": list(self.weights)}}


@dataclass(frozen=True)
class VectorNormal(Drawable):
    mean: Floats
    std: Floats

    @property
    def size(self) -> int:
        return len(self.mean)

    def draw(self, stream: UniformStream) -> Floats:
        z = standard_normal_ppf(stream.take(self.size)).tolist()
        return tuple(m + s * x for m, s, x in zip(self.mean, self.std, z))

    def to_spec(self) -> Any:
        return {"normal": {"mean": list(self.mean), "std": list(self.std)}}


VectorDistribution = Union[PerAxis, UniformBox, VectorChoice, VectorNormal]
_VECTOR_TYPES = (PerAxis, UniformBox, VectorChoice, VectorNormal)
_VECTOR_FORMS = ("a list of {size} numbers or distributions, {{uniform: {{min: [...], max: [...]}}}}, "
                 "{{choice: [[...], ...]}} or {{normal: {{mean: [...], std: [...]}}}}")


def _numbers(values: Any, size: int) -> Optional[Floats]:
    """`values` as floats if it is a list of `size` finite numbers, else None."""
    if isinstance(values, (list, tuple)) and len(values) == size and all(map(is_number, values)):
        return tuple(float(v) for v in values)
    return None


def _component_error(index: int, error: ValueError) -> ValueError:
    return ValueError(f"component {index}: {error}")


def _joint(name: str, args: Any, size: int, forms: str) -> VectorDistribution:
    if name == "uniform":
        box = args if isinstance(args, dict) and set(args) == {"min", "max"} else {}
        low, high = _numbers(box.get("min"), size), _numbers(box.get("max"), size)
        if low is None or high is None:
            raise ValueError(f"uniform takes {{min: [...], max: [...]}}, {size} numbers each "
                             f"(got {args!r})")
        if any(lo > hi for lo, hi in zip(low, high)):
            raise ValueError(f"uniform needs min <= max on every axis (got {args!r})")
        return UniformBox(low, high)
    if name == "choice":
        values, weights = args, None
        if isinstance(args, dict):
            if set(args) != {"values", "weights"}:
                raise ValueError(f"weighted choice takes {{values: [...], weights: [...]}} "
                                 f"(got {args!r})")
            values, weights = args["values"], args["weights"]
        options = [_numbers(v, size) for v in values] if isinstance(values, list) else []
        if not options or any(o is None for o in options):
            raise ValueError(f"choice takes a non-empty list of lists of {size} numbers "
                             f"(got {values!r})")
        return VectorChoice(tuple(options),
                            None if weights is None else parse_weights(weights, len(options)))
    if name == "normal":
        spec = args if isinstance(args, dict) and set(args) == {"mean", "std"} else {}
        mean, std = _numbers(spec.get("mean"), size), _numbers(spec.get("std"), size)
        if mean is None or std is None:
            raise ValueError(f"normal takes {{mean: [...], std: [...]}}, {size} numbers each "
                             f"(got {args!r})")
        if any(s < 0 for s in std):
            raise ValueError(f"normal needs std >= 0 on every axis (got {args!r})")
        return VectorNormal(mean, std)
    raise ValueError(f"unknown vector distribution {name!r}; expected {forms}")


def _check_vector_bounds(vec: VectorDistribution, bounds: dict[str, Optional[float]]) -> None:
    if isinstance(vec, PerAxis):
        return  # each axis was checked as a scalar
    if isinstance(vec, UniformBox):
        low, high, unbounded = min(vec.min), max(vec.max), False
    elif isinstance(vec, VectorChoice):
        values = [x for option in vec.options for x in option]
        low, high, unbounded = min(values), max(values), False
    else:
        unbounded = any(s > 0 for s in vec.std)
        low, high = (-math.inf, math.inf) if unbounded else (min(vec.mean), max(vec.mean))
    check_range(low, high, vec.to_spec(), what="every component drawn must be",
                unbounded=unbounded, **bounds)


def _parse_vector(value: Any, size: int, bounds: dict[str, Optional[float]],
                  forms: str) -> VectorDistribution:
    if isinstance(value, _VECTOR_TYPES):
        if value.size != size:
            raise ValueError(f"expected {size} components (got {value.to_spec()!r})")
        if isinstance(value, PerAxis):
            value = list(value.axes)  # re-checked below against this field's bounds
        else:
            _check_vector_bounds(value, bounds)
            return value
    if isinstance(value, (list, tuple)):
        if len(value) != size:
            raise ValueError(f"expected {forms} (got {value!r})")
        axes = []
        for index, item in enumerate(value):
            try:
                axes.append(parse_distribution(item, "float", **bounds))
            except ValueError as error:
                raise _component_error(index, error) from None
        return PerAxis(tuple(axes))
    if isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        vec = _joint(name, args, size, forms)
        _check_vector_bounds(vec, bounds)
        return vec
    raise ValueError(f"expected {forms} (got {value!r})")


def parse_vector(value: Any, size: int = 3, *, ge: float | None = None, gt: float | None = None,
                 le: float | None = None, lt: float | None = None) -> VectorDistribution:
    """Parse a vector distribution of `size` components; the bounds apply to every component."""
    if size < 1:
        raise ValueError(f"size must be >= 1 (got {size})")
    bounds = {"ge": ge, "gt": gt, "le": le, "lt": lt}
    return _parse_vector(value, size, bounds, _VECTOR_FORMS.format(size=size))


def vector(size: int = 3, *, ge: float | None = None, gt: float | None = None,
           le: float | None = None, lt: float | None = None) -> Any:
    """A pydantic field type holding a vector distribution of `size` components within bounds."""

    def validate(value: Any) -> VectorDistribution:
        return parse_vector(value, size, ge=ge, gt=gt, le=le, lt=lt)

    return Annotated[VectorDistribution, PlainValidator(validate),
                     PlainSerializer(lambda d: d.to_spec(), return_type=Any)]


# --- rotations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class UniformRotation(Drawable):
    """Uniform over SO(3): Shoemake, "Uniform random rotations", Graphics Gems III (1992)."""

    def draw(self, stream: UniformStream) -> Quaternion:
        u1, u2, u3 = stream.take(3).tolist()
        r1, r2 = math.sqrt(1.0 - u1), math.sqrt(u1)
        t1, t2 = 2.0 * math.pi * u2, 2.0 * math.pi * u3
        return (r1 * math.sin(t1), r1 * math.cos(t1), r2 * math.sin(t2), r2 * math.cos(t2))

    def to_spec(self) -> Any:
        return {"so3": "uniform"}


@dataclass(frozen=True)
class YawRotation(Drawable):
    """A rotation about the world z axis by a drawn angle in degrees."""

    yaw_deg: Distribution

    def draw(self, stream: UniformStream) -> Quaternion:
        half = math.radians(float(self.yaw_deg.draw(stream))) / 2.0
        return (0.0, 0.0, math.sin(half), math.cos(half))

    def to_spec(self) -> Any:
        return {"yaw_deg": self.yaw_deg.to_spec()}


@dataclass(frozen=True)
class EulerRotation(Drawable):
    """Roll, pitch, yaw in degrees, extrinsic x-y-z (PyBullet's getQuaternionFromEuler)."""

    rpy_deg: tuple[Distribution, Distribution, Distribution]

    def draw(self, stream: UniformStream) -> Quaternion:
        return geometry.quaternion_from_euler_deg(
            tuple(float(d.draw(stream)) for d in self.rpy_deg))

    def to_spec(self) -> Any:
        return [d.to_spec() for d in self.rpy_deg]  # the plain list: the shortest form


RotationDistribution = Union[UniformRotation, YawRotation, EulerRotation]
_ROTATION_FORMS = ("{so3: uniform}, {yaw_deg: <distribution>}, {euler_deg: [roll, pitch, yaw]} "
                   "or [roll, pitch, yaw] in degrees")


def _euler(angles: Any, original: Any) -> EulerRotation:
    if not (isinstance(angles, (list, tuple)) and len(angles) == 3):
        raise ValueError(f"expected {_ROTATION_FORMS} (got {original!r})")
    rpy = []
    for index, item in enumerate(angles):
        try:
            rpy.append(parse_distribution(item, "float"))
        except ValueError as error:
            raise _component_error(index, error) from None
    return EulerRotation(tuple(rpy))


def parse_rotation(value: Any) -> RotationDistribution:
    """Parse a rotation distribution (drawn as a quaternion x, y, z, w)."""
    if isinstance(value, (UniformRotation, YawRotation, EulerRotation)):
        return value
    if isinstance(value, (list, tuple)):
        return _euler(value, value)
    if isinstance(value, dict) and len(value) == 1:
        (name, args), = value.items()
        if name == "so3":
            if args != "uniform":
                raise ValueError(f"so3 takes 'uniform', the only distribution over all "
                                 f"rotations offered (got {args!r})")
            return UniformRotation()
        if name == "yaw_deg":
            return YawRotation(parse_distribution(args, "float"))
        if name == "euler_deg":
            return _euler(args, value)
        raise ValueError(f"unknown rotation {name!r}; expected {_ROTATION_FORMS}")
    raise ValueError(f"expected {_ROTATION_FORMS} (got {value!r})")


def rotation() -> Any:
    """A pydantic field type holding a rotation distribution."""
    return Annotated[RotationDistribution, PlainValidator(parse_rotation),
                     PlainSerializer(lambda d: d.to_spec(), return_type=Any)]


# --- directions -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hemisphere(Drawable):
    """Uniform on the cap of half-angle `max_angle_deg` around `axis` (90: a hemisphere)."""

    axis: Floats = (0.0, 0.0, 1.0)  # as written; normalized on draw
    max_angle_deg: float = 90.0

    def draw(self, stream: UniformStream) -> Floats:
        u1, u2 = stream.take(2).tolist()
        # Area on a sphere is uniform in cos(polar angle): Archimedes' hat-box theorem.
        cos_t = 1.0 - u1 * (1.0 - math.cos(math.radians(self.max_angle_deg)))
        sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
        phi = 2.0 * math.pi * u2
        a = np.array(self.axis) / np.linalg.norm(self.axis)
        # Any right-handed basis around the axis will do; this one keeps (0, 0, 1) exact.
        b1 = np.cross(a, (1.0, 0.0, 0.0) if abs(a[0]) < 0.9 else (0.0, 1.0, 0.0))
        b1 /= np.linalg.norm(b1)
        b2 = np.cross(a, b1)
        d = sin_t * math.cos(phi) * b1 + sin_t * math.sin(phi) * b2 + cos_t * a
        return tuple(float(x) for x in d)

    def to_spec(self) -> Any:
        return {"hemisphere": {"axis": list(self.axis), "max_angle_deg": self.max_angle_deg}}


@dataclass(frozen=True)
class Normalized(Drawable):
    """A vector distribution scaled to unit length on draw."""

    vector: VectorDistribution

    def draw(self, stream: UniformStream) -> Floats:
        v = self.vector.draw(stream)
        norm = math.sqrt(math.fsum(x * x for x in v))
        if norm == 0.0:  # probability 0: a zero atom is rejected when parsed
            return (0.0, 0.0, 1.0)
        return tuple(x / norm for x in v)

    def to_spec(self) -> Any:
        return self.vector.to_spec()


DirectionDistribution = Union[Hemisphere, Normalized]
_DIRECTION_FORMS = ("{hemisphere: {axis: [x, y, z], max_angle_deg: a}} or a vector: "
                    + _VECTOR_FORMS.format(size=3))


def _zero_atom(d: Distribution) -> bool:
    """Whether the scalar `d` draws exactly 0 with positive probability."""
    if isinstance(d, Constant):
        return d.value == 0
    if isinstance(d, Uniform):
        return d.low == d.high == 0
    if isinstance(d, RandInt):
        return d.low <= 0 <= d.high
    if isinstance(d, Choice):
        return any(o == 0 and (d.weights is None or d.weights[i] > 0)
                   for i, o in enumerate(d.options))
    if isinstance(d, Normal):
        return d.std == 0 and d.mean == 0
    if isinstance(d, TruncNormal):
        fixed = d.low if d.low == d.high else min(max(d.mean, d.low), d.high)
        return (d.std == 0 or d.low == d.high) and fixed == 0
    return False  # LogUniform: always > 0


def _can_draw_zero(vec: VectorDistribution) -> bool:
    if isinstance(vec, PerAxis):
        return all(map(_zero_atom, vec.axes))
    if isinstance(vec, UniformBox):
        return all(lo == hi == 0 for lo, hi in zip(vec.min, vec.max))
    if isinstance(vec, VectorChoice):
        return any(not any(o) and (vec.weights is None or vec.weights[i] > 0)
                   for i, o in enumerate(vec.options))
    return all(m == 0 and s == 0 for m, s in zip(vec.mean, vec.std))


def _hemisphere(args: Any) -> Hemisphere:
    if not (isinstance(args, dict) and set(args) <= {"axis", "max_angle_deg"}):
        raise ValueError(f"hemisphere takes {{axis: [x, y, z], max_angle_deg: a}} (got {args!r})")
    axis = _numbers(args.get("axis", [0.0, 0.0, 1.0]), 3)
    if axis is None or not any(axis):
        raise ValueError(f"hemisphere axis must be 3 numbers, not all 0 (got {args.get('axis')!r})")
    angle = args.get("max_angle_deg", 90.0)
    if not (is_number(angle) and 0 <= angle <= 180):
        raise ValueError(f"hemisphere needs 0 <= max_angle_deg <= 180 (got {angle!r})")
    return Hemisphere(axis, float(angle))


def parse_direction(value: Any) -> DirectionDistribution:
    """Parse a direction distribution (drawn as a unit 3-vector)."""
    if isinstance(value, (Hemisphere, Normalized)):
        return value
    if isinstance(value, dict) and len(value) == 1 and "hemisphere" in value:
        return _hemisphere(value["hemisphere"])
    vec = _parse_vector(value, 3, {}, _DIRECTION_FORMS)
    if _can_draw_zero(vec):
        raise ValueError(f"a direction must not be the zero vector (got {vec.to_spec()!r})")
    return Normalized(vec)


def direction() -> Any:
    """A pydantic field type holding a direction distribution."""
    return Annotated[DirectionDistribution, PlainValidator(parse_direction),
                     PlainSerializer(lambda d: d.to_spec(), return_type=Any)]
