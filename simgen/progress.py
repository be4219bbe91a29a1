"""Progress of long work: a tqdm bar in a terminal, plain periodic lines in a log.

A CI log or a file gets a line like `simgen: generate 120/400 images (30%), 14.2 images/s,
about 20 s left` every `LINE_EVERY_S` seconds (and one at the end), instead of a bar's carriage
returns, or of nothing at all for minutes.

`simgen generate` also prints, once, what the whole run will take, as soon as a few scenes past
each worker's first (start-up) have been measured: `simgen: estimated 12 min 30 s for 2000
images (2.7 images/s measured over 24 images)`.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

LINE_EVERY_S = 10.0


def progress(total: int, unit: str, what: str, enabled: bool = True,
             stream: TextIO | None = None) -> Any:
    """Something with `update(n)` and `close()`: a tqdm bar when `stream` (default stderr) is a
    terminal, periodic lines otherwise, nothing when not `enabled`."""
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return _Silent()
    if stream.isatty():
        from tqdm import tqdm

        return tqdm(total=total, unit=unit, desc=what, file=stream, dynamic_ncols=True)
    return _Lines(total, unit, what, stream)


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Lines:
    def __init__(self, total: int, unit: str, what: str, stream: TextIO,
                 clock: Any = time.monotonic) -> None:
        self.total, self.unit, self.what, self.stream, self.clock = total, unit, what, stream, clock
        self.done = self.printed = 0
        self.start = self.last = clock()
        self.first: tuple[float, int] | None = None   # (time, done) at the first update

    def update(self, n: int = 1) -> None:
        now = self.clock()
        self.done += n
        if self.first is None:
            # The rate is measured from here: work a resume found done does not count.
            self.first = (now, self.done)
            return
        if now - self.last >= LINE_EVERY_S:
            self.last = now
            self._line(now)

    def close(self) -> None:
        # Work short enough to print no line ends without one; else the last count, once.
        if self.printed and self.done != self.printed:
            self._line(self.clock())

    def _line(self, now: float) -> None:
        share = f" ({100 * self.done // self.total}%)" if self.total else ""
        text = f"simgen: {self.what} {self.done}/{self.total} {self.unit}{share}"
        start_time, start_done = self.first or (self.start, 0)
        rate = (self.done - start_done) / (now - start_time) if now > start_time else 0.0
        if rate > 0:
            text += f", {rate:.3g} {self.unit}/s"
            left = (self.total - self.done) / rate
            if self.done < self.total:
                text += f", about {left:.0f} s left"
        print(text, file=self.stream, flush=True)
        self.printed = self.done


def duration(seconds: float) -> str:
    """'45 s', '12 min 30 s', '3 h 05 min': what a person reads at a glance."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Estimate:
    """Wraps a bar: after `warm` scene updates (each worker's first scene carries its start-up)
    and `measure` more, prints once the time the rest will take at the rate of those `measure`
    scenes. Nothing when the run ends first, or when the bar is silent."""

    def __init__(self, bar: Any, total: int, done: int, warm: int, measure: int = 3,
                 stream: TextIO | None = None, clock: Any = time.monotonic) -> None:
        self.bar, self.total, self.done = bar, total, done
        self.warm, self.measure = warm, measure
        self.stream, self.clock = (sys.stderr if stream is None else stream), clock
        self.scenes = 0
        self.mark: tuple[float, int] | None = None
        self.printed = isinstance(bar, _Silent)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)
        self.done += n
        self.scenes += 1
        if self.printed:
            return
        if self.scenes == self.warm:
            self.mark = (self.clock(), self.done)
        elif self.mark is not None and self.scenes >= self.warm + self.measure:
            seconds, images = self.clock() - self.mark[0], self.done - self.mark[1]
            if seconds <= 0 or self.done >= self.total:
                return
            rate = images / seconds
            line = (f"simgen: estimated {duration((self.total - self.done) / rate)} more for "
                    f"{self.total} images ({rate:.3g} images/s measured over {images} images)")
            writer = getattr(self.bar, "write", None)   # tqdm: above its bar
            if writer is not None:
                writer(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)
            self.printed = True

    def close(self) -> None:
        self.bar.close()
