"""Reading a simgen dataset back: its manifest and its images' COCO entries, by id.

Every read of a dataset's JSON goes through `read_json`: a regular file (not a link, not a
device), its size checked before it is read. Every path a dataset names (an image's
file_name, a side file) is resolved with `inside`, which refuses what would lead out of the
dataset folder (absolute paths, `..`, links pointing elsewhere, NUL bytes, names longer than a
path can be). Foreign COCO datasets are read by simgen.dataset.coco_source, with the same two
helpers. JSON is untrusted: nesting 100000 levels deep, a 5000-digit integer or bytes that are
not UTF-8 are one SimgenError naming the file (`parse_json`), never a traceback. `rle_totals`
checks COCO RLE strings before pycocotools decodes them; `short` keeps echoed values short.
"""

from __future__ import annotations

import errno
import json
import os
import reprlib
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Sequence

from simgen.dataset.layout import MANIFEST, coco_files, image_path, split_of
from simgen.errors import SimgenError

# The largest JSON file read (COCO files of large datasets run to hundreds of MB).
MAX_JSON_BYTES = 2 * 1024**3
# The largest image (or RLE mask) decoded from a dataset simgen is handed, checked from its
# header or declared size before decoding: a 30000 x 30000 PNG took ~3 GB.
MAX_DECODE_PIXELS = 100_000_000


def read_json(path: Path, what: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """The parsed JSON of `path`; SimgenError naming `path` and `what` it should be when it is
    not a regular file, is larger than `max_bytes`, or does not parse."""
    return read_json_bytes(path, what, max_bytes)[0]


def read_json_bytes(path: Path, what: str,
                    max_bytes: int = MAX_JSON_BYTES) -> tuple[Any, bytes]:
    """(parsed JSON, the bytes it was parsed from) of `path`, read once: for a reader that
    also hashes the file. SimgenError as `read_json`."""
    raw = _read_regular(Path(path), what, max_bytes)
    return parse_json(raw, path, what), raw


def parse_json(raw: bytes, path: Path | str, what: str) -> Any:
    """json.loads of untrusted bytes; SimgenError naming `path` when they do not parse. Deep
    nesting (`[[[[...]]]]` 100000 levels) is json's RecursionError, not a ValueError."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise SimgenError(f"{path}: cannot read {what}: nested too deeply") from None
    except ValueError as err:   # JSONDecodeError, UnicodeDecodeError, > 4300-digit integers
        raise SimgenError(f"{path}: cannot read {what}: {err}") from None


def _read_regular(path: Path, what: str, max_bytes: int) -> bytes:
    """The bytes of `path` when it is a regular file (no link: O_NOFOLLOW) of at most
    `max_bytes`. Opened non-blocking and checked with fstat, so a FIFO is refused, not waited
    on, and a file swapped for a link after a check is not followed."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        if err.errno == errno.ELOOP:   # O_NOFOLLOW on a link
            raise SimgenError(f"{path}: cannot read {what}: not a regular file (a link)") from None
        raise SimgenError(f"{path}: cannot read {what}: {err.strerror or err}") from None
    except ValueError as err:          # a NUL byte in the path
        raise SimgenError(f"{path!r}: cannot read {what}: {err}") from None
    try:
        info = os.fstat(fd)   # before fdopen, which refuses a folder naming only the fd
        if not stat.S_ISREG(info.st_mode):
            raise SimgenError(f"{path}: cannot read {what}: not a regular file")
        if info.st_size > max_bytes:
            raise SimgenError(f"{path}: cannot read {what}: {info.st_size} bytes, more than the "
                              f"{max_bytes} allowed")
        with os.fdopen(fd, "rb") as f:
            fd = -1
            return f.read(max_bytes + 1)[:max_bytes]
    except OSError as err:
        raise SimgenError(f"{path}: cannot read {what}: {err.strerror or err}") from None
    finally:
        if fd >= 0:
            os.close(fd)


# The longest path a dataset may name (Linux's PATH_MAX): a longer one cannot exist, and a
# 100k-character file_name otherwise reaches the file system as ENAMETOOLONG.
MAX_PATH_CHARS = 4096


def short(value: Any, limit: int = 60) -> str:
    """repr(value), cut to about `limit` characters: error lines echo hostile values."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def inside(root: Path, rel: str, what: str) -> Path:
    """root / rel, when that stays inside `root` with every link followed; SimgenError
    otherwise."""
    text = str(rel)
    pure = PurePosixPath(text)
    if (not text or "\0" in text or len(text) > MAX_PATH_CHARS or pure.is_absolute()
            or ".." in pure.parts or "\\" in text):
        raise SimgenError(f"{root}: {what} {short(rel)} is not a relative path inside the "
                          "dataset")
    path = Path(root) / pure
    try:
        resolved, base = path.resolve(), Path(root).resolve()
    except (OSError, RuntimeError, ValueError) as err:
        raise SimgenError(f"{path}: cannot resolve {what}: {err}") from None
    if resolved != base and base not in resolved.parents:
        raise SimgenError(f"{path}: {what} leads out of the dataset (to {resolved})")
    return path


def read_manifest(out: str | Path) -> dict[str, Any]:
    """The dataset's manifest; SimgenError when `out` is not a finished simgen dataset."""
    out = Path(out)
    if not out.is_dir():
        raise SimgenError(f"{out}: not a dataset folder (no such folder)")
    path = out / MANIFEST
    if not path.exists() and not path.is_symlink():
        raise SimgenError(f"{out}: not a simgen dataset (no {MANIFEST}; an unfinished run has "
                          "none)")
    manifest = read_json(path, "the manifest")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise SimgenError(f"{path}: not a simgen manifest (no 'files' mapping)")
    return manifest


@dataclass(frozen=True)
class StoredImage:
    """One image as the dataset holds it: its split, COCO entry and annotations (file order)."""

    split: str
    image: dict[str, Any]
    annotations: list[dict[str, Any]]

    @property
    def file(self) -> str:
        """The image file, relative to OUT."""
        return image_path(self.split, str(self.image.get("file_name")))


def read_stored(out: str | Path) -> dict[int, StoredImage]:
    """Every image of the dataset's COCO files by id; SimgenError when a file cannot be read."""
    stored: dict[int, StoredImage] = {}
    for path in coco_files(Path(out)):
        data = read_json(path, "COCO file")
        try:
            images, annotations = data["images"], data["annotations"]
            by_image: dict[Any, list[dict[str, Any]]] = {}
            for ann in annotations:
                by_image.setdefault(ann["image_id"], []).append(ann)
            split = split_of(path)
            for image in images:
                stored.setdefault(image["id"], StoredImage(split, image,
                                                           by_image.get(image["id"], [])))
        except (ValueError, KeyError, TypeError) as err:
            raise SimgenError(f"{path}: cannot read COCO file: {err!r}") from None
    return stored


def rle_totals(counts: Sequence[str]) -> Any:
    """The number of pixels each COCO compressed RLE string covers (the sum of its runs), or -1
    where the string is malformed (a character outside '0'..'o', a value left unfinished, a
    value too long, a negative run). Vectorised over all strings: one pass in NumPy.

    The format (pycocotools' rleToString): each run is a signed value in 5-bit groups, low
    first, 0x20 meaning another group follows and 0x10 in the last group the sign, plus 48;
    runs from the fourth on are stored as the difference to the run two before."""
    import numpy as np

    n = len(counts)
    ascii_ok = np.fromiter((isinstance(s, str) and s.isascii() for s in counts), bool, n)
    raw = [s.encode("ascii") if ok else b"" for s, ok in zip(counts, ascii_ok)]
    lengths = np.fromiter(map(len, raw), np.int64, n)
    if not lengths.sum():
        return np.where(ascii_ok, 0, -1)
    c = np.frombuffer(b"".join(raw), np.uint8).astype(np.int64) - 48
    owner = np.repeat(np.arange(n), lengths)
    bad = ~ascii_ok
    np.logical_or.at(bad, owner, (c < 0) | (c > 63))
    c = np.clip(c, 0, 63)
    ends = (c & 0x20) == 0                              # the last group of a value
    nonempty = lengths > 0
    last = (np.cumsum(lengths) - 1)[nonempty]
    bad[nonempty] |= ~ends[last]                        # a string must end on a finished value
    ends[last] = True                                   # (so no value spans two strings)
    starts = np.flatnonzero(np.concatenate(([True], ends[:-1])))
    group_len = np.diff(np.concatenate((starts, [c.size])))
    value_owner = owner[starts]
    np.logical_or.at(bad, value_owner, group_len > 12)  # > 60 bits: not a pixel count
    k = np.arange(c.size) - np.repeat(starts, group_len)
    values = np.add.reduceat((c & 0x1F) << np.minimum(5 * k, 60), starts)
    negative = (c[starts + group_len - 1] & 0x10) != 0
    values -= np.where(negative, np.int64(1) << np.minimum(5 * group_len, 60), 0)
    # Undo the differences: within a string, runs 1, 3, 5, ... and runs 2, 4, ... are each a
    # running sum (run 0 stands alone). One segmented cumulative sum over all strings.
    first = np.searchsorted(value_owner, np.arange(n))
    m = np.arange(values.size) - first[value_owner]
    key = 3 * value_owner + np.where(m == 0, 0, 1 + m % 2)
    order = np.lexsort((m, key))
    sorted_values, sorted_keys = values[order], key[order]
    running = np.cumsum(sorted_values)
    segment_start = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
    first_in_segment = np.maximum.accumulate(np.where(segment_start, np.arange(order.size), 0))
    runs = np.empty_like(values)
    runs[order] = running - (running - sorted_values)[first_in_segment]
    np.logical_or.at(bad, value_owner, runs < 0)
    totals = np.zeros(n, np.int64)
    np.add.at(totals, value_owner, runs)
    return np.where(bad, -1, totals)
