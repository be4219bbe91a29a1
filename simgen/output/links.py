"""Putting a dataset's image files into another folder (an export, a mix) without re-encoding
them: hard links where the file system allows, copies otherwise."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

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
