"""Tests for simgen.dataset.images: lossless PNG, sized JPEG, a readable tag, valid chunks,
deterministic bytes."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from simgen.dataset.images import encode_image, read_text_tag

TAG = "synthetic image, made by simgen 0.0-test"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _image(height: int = 37, width: int = 53) -> np.ndarray:
    rng = np.random.default_rng(12345)
    rgb = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 0, 0)   # a pure red pixel: catches an RGB/BGR swap
    rgb[0, 1] = (0, 0, 255)   # and a pure blue one
    return rgb


def _decode_rgb(data: bytes) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every chunk (type, data), each CRC checked; the file must end right after IEND."""
    assert data[:8] == PNG_SIGNATURE
    chunks, pos = [], 8
    while pos < len(data):
        assert pos + 12 <= len(data), "truncated chunk header"
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert len(body) == length, f"truncated {kind!r} chunk"
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r} chunk"
        chunks.append((kind, body))
        pos += 12 + length
    assert pos == len(data)
    return chunks


def test_png_is_lossless_in_rgb_order():
    rgb = _image()
    data = encode_image(rgb, "png", TAG)
    out = _decode_rgb(data)
    assert out.shape == rgb.shape
    np.testing.assert_array_equal(out, rgb)
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[0, 1].tolist() == [0, 0, 255]


def test_jpg_decodes_at_the_right_size_and_colour_order():
    rgb = np.zeros((40, 64, 3), dtype=np.uint8)
    rgb[:, :32] = (255, 0, 0)  # left half red, right half blue
    rgb[:, 32:] = (0, 0, 255)
    data = encode_image(rgb, "jpg", TAG)
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    out = _decode_rgb(data)
    assert out.shape == (40, 64, 3)
    left, right = out[20, 10].astype(int), out[20, 54].astype(int)
    assert left[0] > 200 and left[2] < 50
    assert right[2] > 200 and right[0] < 50


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_read_text_tag_returns_the_tag(fmt):
    data = encode_image(_image(), fmt, TAG)
    assert read_text_tag(data) == TAG


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_read_text_tag_latin1_and_empty_tags(fmt):
    for tag in ["", "café 1.0 (x)"]:
        assert read_text_tag(encode_image(_image(8, 8), fmt, tag)) == tag


def test_read_text_tag_none_without_a_tag():
    ok, png = cv2.imencode(".png", _image(8, 8))
    assert ok
    assert read_text_tag(png.tobytes()) is None
    ok, jpg = cv2.imencode(".jpg", _image(8, 8))
    assert ok
    assert read_text_tag(jpg.tobytes()) is None
    assert read_text_tag(b"not an image") is None


def test_png_passes_a_strict_chunk_check():
    data = encode_image(_image(), "png", TAG)
    chunks = _png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[1] == b"tEXt" and kinds[-1] == b"IEND"
    assert kinds.count(b"tEXt") == 1
    assert b"IDAT" in kinds
    assert chunks[1][1] == b"Software\0" + TAG.encode("latin-1")
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (53, 37)
    assert _decode_rgb(data).shape == (37, 53, 3)


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_same_input_gives_identical_bytes(fmt):
    a = encode_image(_image(), fmt, TAG)
    b = encode_image(_image().copy(), fmt, TAG)
    assert a == b


@pytest.mark.parametrize("fmt", ["PNG", "jpeg", "bmp", "", ".png"])
def test_bad_format_raises_value_error(fmt):
    with pytest.raises(ValueError):
        encode_image(_image(8, 8), fmt, TAG)
