"""Tests for simgen.dataset.writer: output-folder safety, atomic commits, finalize and manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from simgen.errors import SimgenError
from simgen.dataset import layout, writer as ds


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root (relative) -> its bytes, or None for folders."""
    if root.is_file():
        return {".": root.read_bytes()}
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


# --------------------------------------------------------------------------- check_output


def test_image_file_name():
    assert layout.image_file_name(1, "png") == "000000001.png"
    assert layout.image_file_name(123456789, "jpg") == "123456789.jpg"


@pytest.mark.parametrize("overwrite", [False, True])
def test_check_output_refuses_a_file(tmp_path, overwrite):
    target = tmp_path / "out"
    target.write_bytes(b"precious")
    with pytest.raises(SimgenError, match="not a folder"):
        ds.check_output(target, overwrite)
    with pytest.raises(SimgenError):
        ds.prepare_output(target, overwrite)
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize("overwrite", [False, True])
def test_check_output_refuses_a_foreign_folder(tmp_path, overwrite):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "notes.txt").write_bytes(b"my notes")
    (out / "sub" / "data.bin").write_bytes(b"\x00\x01\x02")
    before = snapshot(out)
    with pytest.raises(SimgenError, match="not empty" if not overwrite else "not a simgen dataset"):
        ds.check_output(out, overwrite)
    with pytest.raises(SimgenError):
        ds.prepare_output(out, overwrite)
    assert snapshot(out) == before


@pytest.mark.parametrize("marker", ["manifest.json", ".simgen"])
def test_check_output_refuses_a_simgen_folder_without_overwrite(tmp_path, marker):
    out = tmp_path / "out"
    out.mkdir()
    if marker == "manifest.json":
        (out / "manifest.json").write_bytes(b'{"format": "simgen-dataset/1"}\n')
    else:   # an unfinished run: its run state
        (out / ".simgen" / "scenes").mkdir(parents=True)
        (out / ".simgen" / "scenes" / "000000.json").write_bytes(b"{}")
        (out / ".simgen" / "run.json").write_bytes(
            b'{"scenario_sha256": "x", "seed": 0, "images": 4, "image_format": "png"}')
    (out / "images").mkdir()
    (out / "images" / "x.png").write_bytes(b"png")
    before = snapshot(out)
    with pytest.raises(SimgenError, match="not empty"):
        ds.check_output(out, False)
    with pytest.raises(SimgenError):
        ds.prepare_output(out, False)
    assert snapshot(out) == before
    ds.check_output(out, True)  # allowed with overwrite, and still touches nothing
    assert snapshot(out) == before


@pytest.mark.parametrize("overwrite", [False, True])
def test_check_output_accepts_missing_and_empty_folders(tmp_path, overwrite):
    ds.check_output(tmp_path / "new", overwrite)
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    ds.check_output(tmp_path / "empty", overwrite)
    assert list((tmp_path / "empty").iterdir()) == []


def test_prepare_output_with_overwrite_empties_a_dataset(tmp_path):
    out = tmp_path / "out"
    (out / "images" / "train").mkdir(parents=True)
    (out / "images" / "train" / "000000001.png").write_bytes(b"x")
    (out / ".simgen" / "scenes").mkdir(parents=True)
    (out / ".simgen" / "scenes" / "000000.json").write_bytes(b"{}")
    (out / "manifest.json").write_bytes(b'{"format": "simgen-dataset/1", "files": {}}')
    ds.prepare_output(out, overwrite=True)
    assert out.is_dir()
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("manifest", [b'{"name": "app"}', b"{}", b"not json", None])
def test_overwrite_never_empties_a_folder_that_is_not_provably_a_dataset(tmp_path, manifest):
    """A user's folder with a file merely named manifest.json, or an empty .simgen/, keeps
    every file (it lost its photos before)."""
    out = tmp_path / "u"
    (out / "photos").mkdir(parents=True)
    (out / "photos" / "t.txt").write_bytes(b"precious\n")
    if manifest is None:
        (out / ".simgen").mkdir()
    else:
        (out / "manifest.json").write_bytes(manifest)
    before = snapshot(out)
    with pytest.raises(SimgenError, match="not a simgen dataset, so --overwrite will not empty"):
        ds.prepare_output(out, overwrite=True)
    assert snapshot(out) == before


def test_overwrite_refuses_a_dataset_folder_holding_foreign_files(tmp_path):
    out = tmp_path / "out"
    (out / "images").mkdir(parents=True)
    (out / "manifest.json").write_bytes(b'{"format": "simgen-dataset/1"}')
    (out / "stray.txt").write_bytes(b"mine")
    before = snapshot(out)
    with pytest.raises(SimgenError, match="holds 'stray.txt', which simgen did not write"):
        ds.prepare_output(out, overwrite=True)
    assert snapshot(out) == before


def test_prepare_output_creates_nested_folder(tmp_path):
    out = tmp_path / "a" / "b"
    ds.prepare_output(out, overwrite=False)
    assert out.is_dir() and list(out.iterdir()) == []


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("durable", [False, True])
def test_write_atomic_writes_and_leaves_no_temp_files(tmp_path, durable):
    path = tmp_path / "deep" / "er" / "file.bin"
    ds.write_atomic(path, b"first", durable=durable)
    ds.write_atomic(path, b"second, longer", durable=durable)
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["file.bin"]
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] \
        == ["deep/er/file.bin"]


def test_dumps_is_compact_utf8_in_given_key_order():
    assert ds.dumps({"b": 1, "a": [1, 2], "é": "ü"}) == '{"b":1,"a":[1,2],"é":"ü"}'.encode()
    with pytest.raises(ValueError):
        ds.dumps({"x": float("nan")})


def test_commit_scene_and_read_records_in_scene_order(tmp_path):
    out = tmp_path
    for index in (3, 0, 12, 1):
        ds.commit_scene(out, index, [(f"images/train/{index:09d}.png", bytes([index]) * 5)],
                        {"scene_index": index, "images": []})
    assert [r["scene_index"] for r in ds.read_scene_records(out)] == [0, 1, 3, 12]
    for index in (3, 0, 12, 1):
        assert (out / f"images/train/{index:09d}.png").read_bytes() == bytes([index]) * 5
    names = sorted(p.name for p in (out / ".simgen" / "scenes").iterdir())
    assert names == ["000000.json", "000001.json", "000003.json", "000012.json"]
    hidden = [p for p in out.rglob(".*") if p.name != ".simgen"]
    assert hidden == []  # no temp files anywhere


def test_read_scene_records_orders_past_a_million_scenes(tmp_path):
    # Scene indices are not bounded by the CLI (-n has no maximum); record names grow to 7 digits.
    for index in (1_000_000, 999_999, 2):
        ds.commit_scene(tmp_path, index, [], {"scene_index": index})
    assert [r["scene_index"] for r in ds.read_scene_records(tmp_path)] == [2, 999_999, 1_000_000]


def test_read_scene_records_of_empty_folder(tmp_path):
    assert list(ds.read_scene_records(tmp_path)) == []


# --------------------------------------------------------------------------- finalize


def _image(image_id: int, split: str, scene: int, view: int) -> dict:
    return {"id": image_id, "file_name": layout.image_file_name(image_id, "png"), "width": 4,
            "height": 3, "provenance": {"split": split, "scene_index": scene, "view_index": view}}


def _ann(image_id: int, category_id: int, tag: str) -> dict:
    return {"image_id": image_id, "category_id": category_id, "bbox": [0, 0, 1, 1], "area": 1,
            "segmentation": {"size": [3, 4], "counts": "0"}, "iscrowd": 0, "tag": tag}


def _records() -> list[tuple[int, dict]]:
    scene0 = {"scene_index": 0, "split": "train", "images": [
        # views listed out of image-id order on purpose
        {"image": _image(2, "train", 0, 1), "annotations": [_ann(2, 1, "b1"), _ann(2, 3, "b2")]},
        {"image": _image(1, "train", 0, 0), "annotations": [_ann(1, 2, "a1")]},
    ]}
    scene1 = {"scene_index": 1, "split": "val", "images": [
        {"image": _image(3, "val", 1, 0), "annotations": [_ann(3, 1, "c1")]},
        {"image": _image(4, "val", 1, 1), "annotations": []},
    ]}
    scene2 = {"scene_index": 2, "split": "train", "images": [
        {"image": _image(5, "train", 2, 0), "annotations": [_ann(5, 2, "d1"), _ann(5, 2, "d2")]},
    ]}
    return [(2, scene2), (0, scene0), (1, scene1)]  # committed out of order


@pytest.fixture
def finalized(tmp_path):
    out = tmp_path / "ds"
    ds.prepare_output(out, overwrite=False)
    image_bytes = {1: b"\x89PNG fake one", 2: b"fake two, longer", 5: b"5" * 1000,
                   3: b"val three", 4: b"val four"}
    for index, record in _records():
        files = [(f"images/{im['image']['provenance']['split']}/{im['image']['file_name']}",
                  image_bytes[im["image"]["id"]]) for im in record["images"]]
        ds.commit_scene(out, index, files, record)
    info = {"description": "test", "seed": 7}
    counts = ds.finalize(out, ["bolt", "nut", "gear"], ["train", "val", "test"], info,
                         {"format": "simgen-dataset/1", "seed": 7})
    return out, counts, info


def test_finalize_counts(finalized):
    _, counts, _ = finalized
    assert counts == {"images": {"train": 3, "val": 2, "test": 0},
                      "annotations": {"train": 5, "val": 1, "test": 0}}


def test_finalize_coco_train(finalized):
    out, _, info = finalized
    coco = json.loads((out / "annotations" / "instances_train.json").read_bytes())
    assert list(coco) == ["info", "licenses", "images", "annotations", "categories"]
    assert coco["info"] == info
    assert coco["licenses"] == []
    assert [im["id"] for im in coco["images"]] == [1, 2, 5]
    anns = coco["annotations"]
    assert [a["id"] for a in anns] == [1, 2, 3, 4, 5]
    assert [a["image_id"] for a in anns] == [1, 2, 2, 5, 5]
    assert [a["tag"] for a in anns] == ["a1", "b1", "b2", "d1", "d2"]
    assert all(list(a)[0] == "id" for a in anns)
    assert anns[1] == {"id": 2, **_ann(2, 1, "b1")}
    from simgen.geometry import CUBOID_KEYPOINT_NAMES, CUBOID_SKELETON

    cuboid = {"keypoints": CUBOID_KEYPOINT_NAMES, "skeleton": CUBOID_SKELETON,
              "keypoint_sigmas": [0.05] * 9}
    assert coco["categories"] == [
        {"id": 1, "name": "bolt", "supercategory": "object", **cuboid},
        {"id": 2, "name": "nut", "supercategory": "object", **cuboid},
        {"id": 3, "name": "gear", "supercategory": "object", **cuboid},
    ]


def test_finalize_coco_val_and_empty_test(finalized):
    out, _, _ = finalized
    val = json.loads((out / "annotations" / "instances_val.json").read_bytes())
    assert [im["id"] for im in val["images"]] == [3, 4]
    assert [(a["id"], a["image_id"], a["tag"]) for a in val["annotations"]] == [(1, 3, "c1")]
    assert list(val["annotations"][0])[0] == "id"
    assert [c["id"] for c in val["categories"]] == [1, 2, 3]
    test = json.loads((out / "annotations" / "instances_test.json").read_bytes())
    assert test["images"] == [] and test["annotations"] == []


def test_finalize_manifest_lists_every_file_with_hash_and_size(finalized):
    out, counts, _ = finalized
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert manifest["format"] == "simgen-dataset/1"
    assert manifest["seed"] == 7
    assert manifest["counts"] == counts
    expected = sorted([
        "annotations/instances_test.json", "annotations/instances_train.json",
        "annotations/instances_val.json",
        "images/train/000000001.png", "images/train/000000002.png",
        "images/train/000000005.png", "images/val/000000003.png", "images/val/000000004.png",
    ])
    assert list(manifest["files"]) == expected
    for rel, entry in manifest["files"].items():
        data = (out / rel).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    assert manifest["files"]["images/train/000000005.png"]["bytes"] == 1000
    assert (out / "manifest.json").read_bytes().endswith(b"\n")
    # no temp files left behind by any write
    assert [p for p in out.rglob("*") if p.name.startswith(".") and p.name != ".simgen"] == []


def test_finalize_leaves_stray_temp_files_out_of_the_manifest(tmp_path):
    out = tmp_path
    record = {"scene_index": 0, "images": [
        {"image": _image(1, "train", 0, 0), "annotations": [_ann(1, 1, "a")]}]}
    ds.commit_scene(out, 0, [("images/train/000000001.png", b"one")], record)
    (out / "images" / "train" / ".000000002.png.tmp-4242").write_bytes(b"half")  # a crash
    ds.finalize(out, ["bolt"], ["train"], {}, {})
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert list(manifest["files"]) == ["annotations/instances_train.json",
                                       "images/train/000000001.png"]
    assert manifest["files"]["images/train/000000001.png"] == {
        "sha256": hashlib.sha256(b"one").hexdigest(), "bytes": 3}


def test_finalize_is_deterministic(tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        for index, record in _records():
            ds.commit_scene(out, index, [], record)
        ds.finalize(out, ["bolt", "nut", "gear"], ["train", "val"], {"x": 1}, {"seed": 1})
        outs.append(out)
    for rel in ("annotations/instances_train.json", "annotations/instances_val.json",
                "manifest.json"):
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes()


def test_sha256_file(tmp_path):
    path = tmp_path / "f"
    data = bytes(range(256)) * 5000  # more than one 1 MiB read block
    path.write_bytes(data)
    assert ds.sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_remove_partial_files_takes_the_merge_leftovers_too(tmp_path):
    out = tmp_path / "out"
    for rel in ("annotations/.instances_train.json.tmp-4242",   # killed during the merge
                ".manifest.json.tmp-4242-abc", ".simgen/.images_train.tmp-4242",
                "images/train/.000000001.png.tmp-4242"):
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(b"half")
    (out / "annotations/instances_train.json").write_bytes(b"{}")
    (out / "notes.tmp-1").write_bytes(b"not hidden: not ours")
    ds.remove_partial_files(out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "annotations/instances_train.json", "notes.tmp-1"]
