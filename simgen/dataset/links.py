"""Making a new dataset folder from another (an export, a mix): built in a hidden sibling and
renamed into place, its image files placed there without re-encoding.

How an image file is placed (`placer`):

- "auto" (the default): a copy-on-write clone (a reflink: Linux's FICLONE ioctl, which Btrfs,
  XFS, bcachefs and OpenZFS 2.2+ support) where the file system can make one, else a plain
  copy. Either way the new file is a file of its own: editing it leaves the source unchanged.
  A clone shares the source's blocks until one of the two is written, so it costs no space.
- "copy": always a plain copy (for a copy whose blocks share nothing with the source).
- "link": hard links, on request only: a hard link *is* the source file, so editing an
  exported image in place (an annotation tool, a script that writes pixels back) edits the
  source dataset too, and that dataset then fails `simgen verify`. An error where the file
  system cannot link (another file system).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

from simgen.errors import SimgenError

LINK_AUTO, LINK_COPY, LINK_HARD = "auto", "copy", "link"
LINK_MODES = (LINK_AUTO, LINK_COPY, LINK_HARD)

# linux/fs.h: #define FICLONE _IOW(0x94, 9, int)
FICLONE = 0x40049409
# What a file system (or a kernel, or a pair of files on two file systems) answers when it
# cannot clone: give up cloning for the rest of the run and copy.
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EINVAL, errno.ENOTTY,
             errno.ENOSYS, errno.EPERM, errno.EBADF}


def reflink(src: Path, dst: Path) -> bool:
    """Make `dst` (which must not exist) a copy-on-write clone of `src`. False, with no `dst`
    left, where this system or file system cannot clone; OSError for other failures."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return False
    with open(src, "rb") as fin:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            try:
                fcntl.ioctl(fd, FICLONE, fin.fileno())
            except OSError as err:
                if err.errno in _NO_CLONE:
                    os.close(fd)
                    fd = -1
                    os.unlink(dst)
                    return False
                raise
        except BaseException:
            if fd >= 0:
                os.close(fd)
                fd = -1
                with contextlib.suppress(OSError):
                    os.unlink(dst)
            raise
        finally:
            if fd >= 0:
                os.close(fd)
    return True


def placer(link: str) -> Callable[[Path, Path], None]:
    """A function place(src, dst) that places each file as `link` says (see the module
    docstring). Once cloning or linking fails for want of support, every later file is copied
    without trying again (the same file systems refuse the next one too)."""
    if link not in LINK_MODES:
        raise ValueError(f"link must be auto, copy or link (got {link!r})")
    can_clone = link == LINK_AUTO

    def place(src: Path, dst: Path) -> None:
        nonlocal can_clone
        dst.parent.mkdir(parents=True, exist_ok=True)
        if link == LINK_HARD:
            try:
                os.link(src, dst)
            except OSError as err:
                raise SimgenError(f"{dst}: cannot hard-link {src} ({err.strerror}); "
                                  "leave out --link (copy-on-write or copy)") from None
            return
        if can_clone:
            if reflink(src, dst):
                return
            can_clone = False
        shutil.copyfile(src, dst)

    return place


@contextlib.contextmanager
def staged_folder(out: Path, replace: bool = False) -> Iterator[Path]:
    """Yield a hidden sibling of `out` to build into; when the block ends it becomes `out`.
    `out` must be absent or empty, or, with `replace`, a folder the caller proved may be
    replaced: it is swapped out only once the new one is complete, then removed. On any error,
    Ctrl-C included, the sibling is removed: a failure leaves `out` as it was and no
    half-written file."""
    out_abs = Path(os.path.abspath(out))
    staging = out_abs.parent / f".{out_abs.name}.tmp-{os.getpid()}"
    old = out_abs.parent / f".{out_abs.name}.old-{os.getpid()}"
    out_abs.parent.mkdir(parents=True, exist_ok=True)
    for stale in (staging, old):
        if stale.exists():
            shutil.rmtree(stale)
    try:
        staging.mkdir()
        yield staging
        if out_abs.is_dir() and replace and any(out_abs.iterdir()):
            os.rename(out_abs, old)
        elif out_abs.is_dir():
            out_abs.rmdir()  # empty (checked by the caller): the finished folder takes its place
        os.rename(staging, out_abs)
    except BaseException:
        if old.exists() and not out_abs.exists():
            os.rename(old, out_abs)   # the new folder did not take its place: the old one back
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
