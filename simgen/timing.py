"""Per-stage wall-clock accounting for the benchmark: off (and nearly free) unless enabled."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Iterator

_totals: dict[str, float] = defaultdict(float)
_enabled = False


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on
    _totals.clear()


def totals() -> dict[str, float]:
    return dict(_totals)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    if not _enabled:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        _totals[name] += time.perf_counter() - start


def add(name: str, seconds: float) -> None:
    """Count `seconds` spent elsewhere (another process: Blender's own render) under `name`."""
    if _enabled:
        _totals[name] += seconds
