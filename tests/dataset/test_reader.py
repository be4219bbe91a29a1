"""The one reader of a simgen dataset: JSON read only from regular files of bounded size, and
every path a dataset names kept inside the dataset folder, links included."""

from __future__ import annotations

import json
import os

import pytest

from simgen.dataset.reader import inside, read_json, read_manifest, read_stored
from simgen.errors import SimgenError


def test_read_json_takes_a_regular_file_of_bounded_size(tmp_path):
    good = tmp_path / "a.json"
    good.write_text('{"x": 1}')
    assert read_json(good, "test file") == {"x": 1}
    with pytest.raises(SimgenError, match=r"a\.json: cannot read test file: 8 bytes, more than "
                                          r"the 4 allowed"):
        read_json(good, "test file", max_bytes=4)
    with pytest.raises(SimgenError, match="not a regular file"):
        read_json(tmp_path, "test file")
    link = tmp_path / "link.json"
    link.symlink_to(good)
    with pytest.raises(SimgenError, match="not a regular file"):
        read_json(link, "test file")
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(SimgenError, match="not a regular file"):   # and does not block
        read_json(fifo, "test file")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SimgenError, match=r"bad\.json: cannot read test file"):
        read_json(tmp_path / "bad.json", "test file")


def test_inside_keeps_paths_in_the_dataset(tmp_path):
    root = tmp_path / "ds"
    (root / "images/train").mkdir(parents=True)
    (root / "images/train/1.png").write_bytes(b"x")
    assert inside(root, "images/train/1.png", "image") == root / "images/train/1.png"
    for bad in ("/etc/passwd", "../x.png", "images/../../x.png", "", "images\\..\\x"):
        with pytest.raises(SimgenError, match="not a relative path inside the dataset"):
            inside(root, bad, "image")
    (root / "images/train/out.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(SimgenError, match="leads out of the dataset"):
        inside(root, "images/train/out.png", "image")


def test_manifest_and_coco_files_are_read_through_it(tmp_path):
    root = tmp_path / "ds"
    (root / "annotations").mkdir(parents=True)
    with pytest.raises(SimgenError, match="not a simgen dataset"):
        read_manifest(root)
    (root / "manifest.json").symlink_to("/etc/hostname")
    with pytest.raises(SimgenError, match="not a regular file"):
        read_manifest(root)
    (root / "annotations/instances_val.json").write_text(json.dumps({
        "images": [{"id": 3, "file_name": "000000003.png"}],
        "annotations": [{"id": 1, "image_id": 3}]}))
    stored = read_stored(root)
    assert list(stored) == [3] and stored[3].split == "val"
    assert stored[3].file == "images/val/000000003.png" and len(stored[3].annotations) == 1
