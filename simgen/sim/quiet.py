"""PyBullet and its EGL plugin print to the C-level stdout and stderr; keep that out of ours."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def c_output_silenced(fds: tuple[int, ...] = (1, 2)) -> Iterator[None]:
    """Send the given file descriptors to /dev/null for the block (Python's streams are
    flushed first, so nothing of ours is lost)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {}
    for fd in fds:
        try:
            saved[fd] = os.dup(fd)
        except OSError:  # that stream is closed: nothing to protect
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in saved:
            os.dup2(devnull, fd)
        yield
    finally:
        _flush_c_stdio()  # C's stdout buffers when not a terminal; flush it into /dev/null
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


def import_pybullet():
    """`import pybullet` without its 'pybullet build time' banner (printed on stderr)."""
    if "pybullet" in sys.modules:
        return sys.modules["pybullet"]
    with c_output_silenced():
        import pybullet
    return pybullet


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    # Name libc explicitly: once OpenCV's bundled libraries are loaded, CDLL(None).fflush can
    # resolve to another library's symbol and leave libc's buffer unflushed.
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        name = ctypes.util.find_library("c")
        return ctypes.CDLL(name) if name else None


def _flush_c_stdio() -> None:
    libc = _libc()
    if libc is not None:
        libc.fflush(None)
