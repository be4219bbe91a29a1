"""Progress in a log: plain lines every LINE_EVERY_S seconds with the count, share, rate and
time left; nothing for work shorter than that; a tqdm bar only in a terminal."""

from __future__ import annotations

import io

from simgen import progress as progress_module
from simgen.progress import LINE_EVERY_S, _Lines, progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_log_gets_a_line_every_period_and_one_at_the_end():
    out, clock = io.StringIO(), Clock()
    lines = _Lines(400, "images", "generate", out, clock)
    lines.update(40)                    # a resume found 40 done: not part of the rate
    for _ in range(36):
        clock.now += 1.0
        lines.update(10)                # 10 images a second
    lines.close()
    printed = out.getvalue().splitlines()
    assert printed == [
        "simgen: generate 140/400 images (35%), 10 images/s, about 26 s left",
        "simgen: generate 240/400 images (60%), 10 images/s, about 16 s left",
        "simgen: generate 340/400 images (85%), 10 images/s, about 6 s left",
        "simgen: generate 400/400 images (100%), 10 images/s"]
    assert LINE_EVERY_S == 10.0


def test_short_work_prints_nothing():
    out, clock = io.StringIO(), Clock()
    lines = _Lines(8, "images", "generate", out, clock)
    for _ in range(8):
        clock.now += 0.5
        lines.update(1)
    lines.close()
    assert out.getvalue() == ""


def test_a_terminal_gets_a_bar_and_quiet_gets_nothing(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    bar = progress(10, "images", "generate", stream=Tty())
    assert type(bar).__name__ == "tqdm"
    bar.close()
    assert isinstance(progress(10, "images", "generate", stream=io.StringIO()), _Lines)
    assert isinstance(progress(10, "images", "x", enabled=False), progress_module._Silent)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_generate_estimates_the_whole_run_once_after_the_first_scenes():
    from simgen.progress import Estimate, duration

    stream, clock = io.StringIO(), _Clock()
    bar = _Lines(400, "images", "generate", io.StringIO(), clock)
    estimate = Estimate(bar, 400, 0, warm=2, measure=3, stream=stream, clock=clock)
    for scene in range(10):
        clock.now += 30.0 if scene < 2 else 2.0   # each worker's first scene starts it up
        estimate.update(4)
        if scene < 4:
            assert stream.getvalue() == ""
    # Measured over scenes 3 to 5: 12 images in 6 s, 2 images/s; 380 images left.
    assert stream.getvalue() == ("simgen: estimated 3 min 10 s more for 400 images "
                                 "(2 images/s measured over 12 images)\n")
    assert bar.done == 40
    assert duration(59.4) == "59 s" and duration(3725) == "1 h 02 min"


def test_no_estimate_when_quiet_or_when_the_run_is_done_first():
    from simgen.progress import Estimate, _Silent

    stream, clock = io.StringIO(), _Clock()
    quiet = Estimate(_Silent(), 400, 0, warm=1, stream=stream, clock=clock)
    short = Estimate(_Lines(8, "images", "generate", io.StringIO(), clock), 8, 0, warm=1,
                     stream=stream, clock=clock)
    for _ in range(6):
        clock.now += 1.0
        quiet.update(4)
        short.update(2)
    assert stream.getvalue() == ""
