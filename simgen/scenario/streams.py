"""Streams of uniforms in [0, 1) that every distribution draws from.

A distribution turns uniforms into values by an inverse CDF (`Distribution.draw(stream)`), so
what drives the draw is a choice of stream, not of distribution:

- `RngStream(rng)`: i.i.d. uniforms from a NumPy generator (the ordinary case).
- `QmcStream(point, fallback)`: the coordinates of one low-discrepancy point first, then i.i.d.
  uniforms from `fallback`. With `qmc_point(method, seed, scene_index)` as the point, the first
  uniforms of every scene come from one scrambled Sobol' or Halton sequence, so the scenes of a
  dataset cover those dimensions more evenly than independent draws would.

scipy is imported inside `qmc_point`, so importing simgen stays light.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

SOBOL_MAX_DIMS = 21201  # scipy's Sobol' direction numbers (Joe and Kuo) stop there
SOBOL_MAX_POINTS = 2 ** 30  # scipy's default bits=30


@runtime_checkable
class UniformStream(Protocol):
    """A source of uniforms: `take(n)` returns the next `n` floats in [0, 1) as a 1-D array."""

    def take(self, n: int) -> np.ndarray: ...


class RngStream:
    """I.i.d. uniforms from `rng` (`rng.random(n)`): a draw consumes the generator as it goes."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def take(self, n: int) -> np.ndarray:
        return self.rng.random(n)

    def __repr__(self) -> str:
        return f"RngStream({self.rng!r})"


class QmcStream:
    """The coordinates of `point` in order, then i.i.d. uniforms from `fallback` once used up.

    A `take` that straddles the end gets the last coordinates followed by fallback uniforms.
    """

    def __init__(self, point: np.ndarray, fallback: np.random.Generator) -> None:
        values = np.array(point, dtype=float)  # a copy: the stream must not see later edits
        if values.ndim != 1:
            raise ValueError(f"point must be a 1-D array (got shape {values.shape})")
        if not np.all((values >= 0.0) & (values < 1.0)):
            raise ValueError(f"point coordinates must lie in [0, 1) (got {values.tolist()!r})")
        self._point = values
        self._next = 0
        self.fallback = fallback

    @property
    def used(self) -> int:
        """How many uniforms have been taken so far (point coordinates and fallback alike)."""
        return self._next

    def take(self, n: int) -> np.ndarray:
        if n < 0:
            raise ValueError(f"n must be >= 0 (got {n})")
        start = min(self._next, len(self._point))
        head = self._point[start:start + n]
        self._next += n
        if len(head) == n:
            return head.copy()
        return np.concatenate([head, self.fallback.random(n - len(head))])

    def __repr__(self) -> str:
        return f"QmcStream(dims={len(self._point)}, used={self._next})"


def qmc_point(method: Literal["sobol", "halton"], seed: int, index: int,
              dims: int = 64) -> np.ndarray:
    """Point number `index` (from 0) of the scrambled `method` sequence in `dims` dimensions.

    The scrambling is drawn from `np.random.default_rng(seed)`, so each seed gives its own
    randomized sequence, and the point depends only on (method, seed, index, dims), never on
    which points were asked for before (the engine skips to `index` with fast_forward).
    A scene's stream is `QmcStream(qmc_point(method, seed, scene_index), rng)`: its first `dims`
    uniforms are low-discrepancy across scenes, the rest i.i.d.

    The exact values are scipy's; a scipy release that changed its scrambling would change them.
    """
    if method not in ("sobol", "halton"):
        raise ValueError(f"method must be 'sobol' or 'halton' (got {method!r})")
    for name, value in (("seed", seed), ("index", index), ("dims", dims)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer (got {value!r})")
    if seed < 0 or index < 0:
        raise ValueError(f"seed and index must be >= 0 (got {seed}, {index})")
    if dims < 1 or (method == "sobol" and dims > SOBOL_MAX_DIMS):
        limit = f"1 <= dims <= {SOBOL_MAX_DIMS}" if method == "sobol" else "dims >= 1"
        raise ValueError(f"{method} needs {limit} (got {dims})")
    if method == "sobol" and index >= SOBOL_MAX_POINTS:
        raise ValueError(f"sobol has {SOBOL_MAX_POINTS} points; index must be below that "
                         f"(got {index})")

    with _ENGINES_LOCK:
        engine = _engine(method, int(seed), int(dims))
        return _point_at(engine, method, int(index))


# Building a scrambled engine costs milliseconds and Sobol's fast_forward steps through every
# skipped point, so each process keeps its last few engines and moves them forward (a worker
# mostly asks for increasing scene indices). The point is the same whichever path reaches it:
# Sobol's state is an XOR of direction numbers, Halton's a function of the index alone.
_ENGINES: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
_ENGINES_KEPT = 4
_ENGINES_LOCK = threading.Lock()


def _engine(method: str, seed: int, dims: int) -> Any:  # -> scipy.stats.qmc.QMCEngine
    key = (method, seed, dims)
    engine = _ENGINES.pop(key, None)
    if engine is None:
        from scipy.stats import qmc

        engine_class = qmc.Sobol if method == "sobol" else qmc.Halton
        rng = np.random.default_rng(seed)
        try:
            engine = engine_class(dims, scramble=True, rng=rng)
        except TypeError:  # scipy < 1.15 names the argument `seed`
            engine = engine_class(dims, scramble=True, seed=rng)
    _ENGINES[key] = engine
    while len(_ENGINES) > _ENGINES_KEPT:
        _ENGINES.popitem(last=False)
    return engine


def _point_at(engine: Any, method: str, index: int) -> np.ndarray:
    if method == "halton":
        # Halton draws from `num_generated` onwards, so setting it lands on the point at once
        # (its fast_forward would draw and discard every skipped point instead).
        # tests/scenario/test_streams.py checks this equals fast_forward(index) + random(1).
        engine.num_generated = index
        return engine.random(1)[0]
    if engine.num_generated > index:
        engine.reset()
    if index > engine.num_generated:  # scipy's Sobol.fast_forward(0) fails
        engine.fast_forward(index - engine.num_generated)
    with warnings.catch_warnings():
        # One point at a time is never a power-of-2 batch; the sequence itself is intact.
        warnings.filterwarnings("ignore", message=".*balance properties of Sobol",
                                category=UserWarning)
        return engine.random(1)[0]
