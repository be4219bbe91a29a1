"""Per-stage wall-clock accounting for the benchmark: off (and nearly free) unless enabled."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Callable, Iterator

_totals: dict[str, float] = defaultdict(float)
_enabled = False


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on
    _totals.clear()


def totals() -> dict[str, float]:
    return dict(_totals)


@contextlib.contextmanager
def stage(name: str, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
    """Time the block under `name`. A stage that runs on a thread beside the others takes
    `clock=time.thread_time`: its own CPU time, not the time it waited for the GIL."""
    if not _enabled:
        yield
        return
    start = clock()
    try:
        yield
    finally:
        _totals[name] += clock() - start


def add(name: str, seconds: float) -> None:
    """Count `seconds` spent elsewhere (another process: Blender's own render) under `name`."""
    if _enabled:
        _totals[name] += seconds
