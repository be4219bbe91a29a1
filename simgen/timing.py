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


# What the name of a stage run beside the others (on a thread of its own) ends with.
BESIDE = " (beside)"


def beside(name: str) -> contextlib.AbstractContextManager[None]:
    """Time a block that runs on a thread beside the others, under `name` + BESIDE: by that
    thread's CPU time, not the time it waited for the GIL (not a share of the others' time)."""
    return stage(name + BESIDE, clock=time.thread_time)


@contextlib.contextmanager
def stage(name: str, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
    """Time the block under `name` (wall-clock time, unless `clock` says otherwise)."""
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
