"""Making a new dataset folder from another (an export, a mix): built in a hidden sibling and
renamed into place, its image files hard-linked where the file system allows, copied otherwise,
never re-encoded."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

from simgen.errors import SimgenError

LINK_AUTO, LINK_COPY, LINK_HARD = "auto", "copy", "link"
LINK_MODES = (LINK_AUTO, LINK_COPY, LINK_HARD)


def placer(link: str) -> Callable[[Path, Path], None]:
    """A function place(src, dst): "auto" hard-links while it can, then copies (another file
    system refuses every later link too); "copy" always copies; "link" requires hard links
    (SimgenError naming the file and suggesting --copy)."""
    if link not in LINK_MODES:
        raise ValueError(f"link must be auto, copy or link (got {link!r})")
    can_link = link != LINK_COPY

    def place(src: Path, dst: Path) -> None:
        nonlocal can_link
        dst.parent.mkdir(parents=True, exist_ok=True)
        if can_link:
            try:
                os.link(src, dst)
                return
            except OSError as err:
                if link == LINK_HARD:
                    raise SimgenError(f"{dst}: cannot hard-link {src} ({err.strerror}); "
                                      "use --copy") from None
                can_link = False  # e.g. another file system: copy this and every later image
        shutil.copyfile(src, dst)

    return place


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """Yield a hidden sibling of `out` (which must be absent or empty) to build into; when the
    block ends it becomes `out`. On any error, Ctrl-C included, it is removed: a failure leaves
    no `out` and no half-written file."""
    out_abs = Path(os.path.abspath(out))
    staging = out_abs.parent / f".{out_abs.name}.tmp-{os.getpid()}"
    out_abs.parent.mkdir(parents=True, exist_ok=True)
    if staging.exists():
        shutil.rmtree(staging)
    try:
        staging.mkdir()
        yield staging
        if out_abs.is_dir():
            out_abs.rmdir()  # empty (checked by the caller): the finished folder takes its place
        os.rename(staging, out_abs)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
