"""Image encoding with a provenance tag: PNG gets a tEXt chunk, JPEG a COM segment.

OpenCV encodes (deterministically, for fixed parameters); the tag is spliced in here because
OpenCV cannot write text metadata.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from simgen.dataset.reader import MAX_DECODE_PIXELS
from simgen.timing import beside

FORMATS = ("png", "jpg")
# zlib level 1 and one PNG row filter (Sub) for every row: libpng's default tries all five
# filters on each row. Measured on 640x480 tabletop renders: level 1 with every filter 12 ms an
# image (level 3: 25 ms earlier), level 1 with Sub 7 ms, and its files 0.5% smaller. Fixed
# settings give the same bytes every time.
PNG_COMPRESSION = 1
PNG_PARAMS = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION,
              cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB]
JPEG_QUALITY = 95
TAG_KEY = "Software"


def encode_image(rgb: np.ndarray, image_format: str, tag: str) -> bytes:
    """Encode an RGB uint8 image as PNG or JPEG bytes carrying `tag`."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if image_format == "png":
        ok, buf = cv2.imencode(".png", bgr, PNG_PARAMS)
        return _png_with_text(buf.tobytes(), TAG_KEY, tag) if ok else _fail(image_format)
    if image_format == "jpg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        return _jpeg_with_comment(buf.tobytes(), tag) if ok else _fail(image_format)
    raise ValueError(f"image format must be one of {', '.join(FORMATS)} (got {image_format!r})")


def encode_png16(values: np.ndarray, tag: str) -> bytes:
    """Encode a single-channel uint16 array (depth in mm, instance ids) as a 16-bit PNG."""
    if values.dtype != np.uint16 or values.ndim != 2:
        raise ValueError(f"expected a 2-D uint16 array (got {values.dtype}, {values.ndim}-D)")
    ok, buf = cv2.imencode(".png", values, PNG_PARAMS)
    return _png_with_text(buf.tobytes(), TAG_KEY, tag) if ok else _fail("png")


# One encoding thread per process, keyed by its pid: a process forked from one that encoded
# (a DataLoader worker) holds an executor whose thread did not come with it.
_ENCODER: tuple[int, Any] | None = None


def encode_later(encode: Callable[..., bytes], *args: Any) -> Future:
    """`encode(*args)` on this process's encoding thread; its bytes are the future's result.

    OpenCV releases the GIL while it compresses, and PyBullet holds it while it renders, so a
    scene's next view renders while the last one's files are encoded: on a core left free (one
    worker on several cores, or any worker whose renders wait on a GPU) encoding costs no time.
    The bytes are those of a direct call."""
    global _ENCODER
    if _ENCODER is None or _ENCODER[0] != os.getpid():
        _ENCODER = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="simgen-encode"))
    return _ENCODER[1].submit(_timed, encode, *args)


def _timed(encode: Callable[..., bytes], *args: Any) -> bytes:
    with beside("encode"):
        return encode(*args)


def _fail(image_format: str) -> bytes:
    raise RuntimeError(f"OpenCV could not encode a {image_format} image")


def _png_with_text(png: bytes, key: str, text: str) -> bytes:
    """Insert a tEXt chunk right after IHDR (signature 8 bytes + IHDR chunk 25 bytes)."""
    data = key.encode("latin-1") + b"\0" + text.encode("latin-1")
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + data) & 0xFFFFFFFF)
    return png[:33] + chunk + png[33:]


def _jpeg_with_comment(jpeg: bytes, text: str) -> bytes:
    """Insert a COM segment right after the SOI marker."""
    data = text.encode("latin-1")
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(data) + 2) + data + jpeg[2:]


def read_text_tag(data: bytes) -> str | None:
    """The tag written by `encode_image`, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        pos = 8
        while pos + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            if kind == b"tEXt":
                key, _, value = data[pos + 8:pos + 8 + length].partition(b"\0")
                if key.decode("latin-1") == TAG_KEY:
                    return value.decode("latin-1")
            pos += 12 + length
        return None
    if data.startswith(b"\xff\xd8") and data[2:4] == b"\xff\xfe":
        length = struct.unpack(">H", data[4:6])[0]
        return data[6:4 + length].decode("latin-1")
    return None


def depth_mm(depth_m: np.ndarray, far_m: float) -> np.ndarray:
    """Depth as uint16 millimetres; 0 where nothing was seen (the far plane) or beyond 65.5 m."""
    mm = np.rint(depth_m.astype(np.float64) * 1000.0)
    mm[(depth_m >= far_m * 0.999) | (mm > 65535)] = 0
    return mm.astype(np.uint16)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, without decoding; None if neither."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker, length = data[at + 1], int.from_bytes(data[at + 2:at + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                      0xCF):
            return (int.from_bytes(data[at + 7:at + 9], "big"),
                    int.from_bytes(data[at + 5:at + 7], "big"))
        at += 2 + length
    return None


MAX_IMAGE_FILE_BYTES = 1024**3


def read_bounded(path: Path, max_bytes: int = MAX_IMAGE_FILE_BYTES) -> bytes | None:
    """The bytes of `path`, or None unless it is a regular file of at most `max_bytes`: a link
    to /dev/zero or a FIFO is refused, not read or waited on."""
    import os
    import stat

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        return Path(path).read_bytes()
    except OSError:
        return None


def decode_bounded(data: bytes, flag: int) -> np.ndarray | None:
    """cv2.imdecode of `data`, or None when its PNG/JPEG header is missing or says more than
    MAX_DECODE_PIXELS (a 30000 x 30000 PNG is refused from its header, never decoded)."""
    dims = image_size(data)
    if dims is None or dims[0] * dims[1] > MAX_DECODE_PIXELS:
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), flag)


def read_image(path: Path, flag: int) -> np.ndarray | None:
    """The image at `path` decoded with `flag`, or None (see read_bounded, decode_bounded)."""
    data = read_bounded(path)
    return None if data is None else decode_bounded(data, flag)
