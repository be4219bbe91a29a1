"""`simgen export yolo`: Ultralytics layout, boxes and polygons true to the COCO labels."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from simgen.dataset import links
from simgen.errors import SimgenError
from simgen.export import yolo
from simgen.export.yolo import export_yolo
from simgen.label import mask_of
from tests.conftest import REPO
from tests.export.conftest import H, W, _blank
from tests.export.conftest import write_handmade as write_coco_folder



# --- datasets --------------------------------------------------------------------------------

def with_manifest(root: Path, fmt: str = "simgen-dataset/1") -> Path:
    """A manifest.json listing every file of `root` by sha256 and size, as simgen writes one:
    export yolo exports only a dataset simgen wrote, and only as its manifest lists it."""
    import hashlib

    files = {p.relative_to(root).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                                              "bytes": p.stat().st_size}
             for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}
    (root / "manifest.json").write_text(json.dumps({"format": fmt, "files": files}))
    return root


def write_handmade(root: Path) -> Path:
    """tests.export.conftest's hand-made COCO folder, with a manifest."""
    return with_manifest(write_coco_folder(root))


@pytest.fixture(scope="module")
def tabletop(make_dataset) -> Path:
    return make_dataset(REPO / "scenes/tabletop.yaml", images=8)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory) -> Path:
    return write_handmade(tmp_path_factory.mktemp("handmade"))


@pytest.fixture(params=["tabletop", "handmade"])
def dataset(request) -> Path:
    return request.getfixturevalue(request.param)


# --- helpers ---------------------------------------------------------------------------------

def coco_files(dataset: Path) -> dict[str, dict]:
    return {p.stem.split("_", 1)[1]: json.loads(p.read_text())
            for p in sorted((dataset / "annotations").glob("instances_*.json"))}


def exported(dataset: Path, yolo_dir: Path, **kwargs):
    """(split, image, its annotations, the parsed label lines) for every image."""
    for split, coco in coco_files(dataset).items():
        for im in coco["images"]:
            anns = [a for a in coco["annotations"] if a["image_id"] == im["id"]]
            text = (yolo_dir / "labels" / split / Path(im["file_name"]).with_suffix(".txt")
                    ).read_text()
            rows = [line.split() for line in text.splitlines()]
            yield split, im, anns, [(int(r[0]), [float(v) for v in r[1:]]) for r in rows]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# --- (1) boxes round-trip, (2) ranges, classes and counts ---------------------------------------

def test_boxes_round_trip_to_the_coco_bbox(dataset, tmp_path):
    result = export_yolo(dataset, tmp_path / "yolo")
    checked = 0
    for _, im, anns, rows in exported(dataset, tmp_path / "yolo"):
        assert len(rows) == len(anns)
        for ann, (_, (cx, cy, w, h)) in zip(anns, rows):
            back = [(cx - w / 2) * im["width"], (cy - h / 2) * im["height"],
                    w * im["width"], h * im["height"]]
            assert np.allclose(back, ann["bbox"], atol=0.5, rtol=0), (back, ann["bbox"])
            checked += 1
    assert checked == result.labels > 0


def test_coordinates_classes_and_file_counts(dataset, tmp_path):
    result = export_yolo(dataset, tmp_path / "yolo")
    cocos = coco_files(dataset)
    n_classes = len(next(iter(cocos.values()))["categories"])
    id_order = sorted(c["id"] for c in next(iter(cocos.values()))["categories"])
    images = 0
    for split, im, anns, rows in exported(dataset, tmp_path / "yolo"):
        images += 1
        assert [cls for cls, _ in rows] == [id_order.index(a["category_id"]) for a in anns]
        for cls, values in rows:
            assert 0 <= cls < n_classes and len(values) == 4
            assert all(0.0 <= v <= 1.0 for v in values)
        if not anns:
            label = tmp_path / "yolo/labels" / split / Path(im["file_name"]).with_suffix(".txt")
            assert label.read_bytes() == b""
        assert (tmp_path / "yolo/images" / split / im["file_name"]).read_bytes() == \
            (dataset / "images" / split / im["file_name"]).read_bytes()
    labels = list((tmp_path / "yolo/labels").rglob("*.txt"))
    files = [p for p in (tmp_path / "yolo/images").rglob("*") if p.is_file()]
    assert len(labels) == len(files) == images == result.images
    assert result.labels == sum(len(c["annotations"]) for c in cocos.values())


def test_an_image_without_annotations_gets_an_empty_label_file(handmade, tmp_path):
    export_yolo(handmade, tmp_path / "yolo")
    assert (tmp_path / "yolo/labels/train/000000002.txt").read_bytes() == b""
    assert len((tmp_path / "yolo/labels/train/000000001.txt").read_text().splitlines()) == 4


# --- (3) segments ----------------------------------------------------------------------------

def _pixels(values: list[float], im: dict) -> np.ndarray:
    return np.array(values).reshape(-1, 2) * [im["width"], im["height"]]


def test_segment_polygons_lie_in_and_span_the_coco_bbox(dataset, tmp_path):
    export_yolo(dataset, tmp_path / "yolo", segments=True)
    checked = 0
    for _, im, anns, rows in exported(dataset, tmp_path / "yolo"):
        assert len(rows) == len(anns)
        for ann, (cls, values) in zip(anns, rows):
            assert len(values) >= 6 and len(values) % 2 == 0
            assert all(0.0 <= v <= 1.0 for v in values)
            points = _pixels(values, im)
            x, y, w, h = ann["bbox"]
            assert (points[:, 0] >= x - 1).all() and (points[:, 0] <= x + w + 1).all()
            assert (points[:, 1] >= y - 1).all() and (points[:, 1] <= y + h + 1).all()
            (px1, py1), (px2, py2) = points.min(axis=0), points.max(axis=0)
            # Pixel-centre outline: each edge 0.5 px inside the box edge (+ 6-decimal rounding).
            assert np.allclose([px1, py1, px2, py2], [x, y, x + w, y + h], atol=0.5 + 1e-3)
            assert abs((px2 - px1) - w) <= 1 + 1e-3 and abs((py2 - py1) - h) <= 1 + 1e-3
            checked += 1
    assert checked > 0


def _filled(values: list[float], im: dict) -> np.ndarray:
    """Rasterize a polygon the way Ultralytics does (fillPoly), pixel centres at integers."""
    canvas = np.zeros((im["height"], im["width"]), np.uint8)
    points = np.round(_pixels(values, im) - 0.5).astype(np.int32)
    cv2.fillPoly(canvas, [points], 1)
    return canvas.astype(bool)


def test_segment_polygons_cover_the_mask(dataset, tmp_path):
    export_yolo(dataset, tmp_path / "yolo", segments=True)
    for _, im, anns, rows in exported(dataset, tmp_path / "yolo"):
        for ann, (_, values) in zip(anns, rows):
            mask, filled = mask_of(ann["segmentation"]), _filled(values, im)
            iou = (mask & filled).sum() / (mask | filled).sum()
            assert iou >= (0.7 if ann["area"] >= 50 else 0.4), (ann["id"], iou)


def test_segments_of_known_shapes(handmade, tmp_path):
    export_yolo(handmade, tmp_path / "yolo", segments=True)
    train = (tmp_path / "yolo/labels/train/000000001.txt").read_text().splitlines()
    rect, disk, parts, corner = ([float(v) for v in line.split()[1:]] for line in train)
    im = {"width": W, "height": H}
    # A rectangle of pixels 5..14 x 3..9: its four corner pixels' centres.
    assert np.allclose(_pixels(rect, im), [[5.5, 3.5], [5.5, 9.5], [14.5, 9.5], [14.5, 3.5]],
                       atol=1e-3)  # 6 decimals
    # Two parts, one polygon that covers both (joined by a zero-width bridge).
    expected = _blank()
    expected[20:27, 2:8] = True
    expected[22:29, 12:17] = True
    filled = _filled(parts, im)
    assert (filled & expected).sum() == expected.sum()
    assert (filled & ~expected).sum() <= 10  # only the bridge's pixels
    # Touching the image corner: clipped into [0, 1], spanning to the last pixel centre.
    assert max(corner) <= 1.0 and _pixels(corner, im)[:, 0].max() == pytest.approx(39.5, abs=1e-3)
    # A 1-pixel line has no area as a contour: its COCO box outline is the mask exactly.
    val = (tmp_path / "yolo/labels/val/000000003.txt").read_text().split()
    assert val[0] == "0"
    assert np.allclose(_pixels([float(v) for v in val[1:]], im),
                       [[10, 15], [30, 15], [30, 16], [10, 16]], atol=1e-3)


# --- (4) data.yaml -----------------------------------------------------------------------------

def test_data_yaml_names_follow_coco_category_ids(dataset, tmp_path):
    export_yolo(dataset, tmp_path / "yolo")
    data = yaml.safe_load((tmp_path / "yolo/data.yaml").read_text())
    categories = sorted(next(iter(coco_files(dataset).values()))["categories"],
                        key=lambda c: c["id"])
    assert data["names"] == {i: c["name"] for i, c in enumerate(categories)}
    assert list(data) == ["train", "val", *(["test"] if "test" in data else []), "names"]
    for key in ("train", "val", "test"):
        if key in data:
            assert any((tmp_path / "yolo" / data[key]).iterdir())


def ultralytics_split_dirs(yaml_file: Path, datasets_dir: Path) -> dict[str, Path]:
    """train/val/test as Ultralytics resolves them: ultralytics.data.utils.check_det_dataset
    (8.3), `path = Path(data.get("path") or Path(data["yaml_file"]).parent)`, then a relative
    path that does not exist (from the working folder) is taken relative to DATASETS_DIR; each
    split is `(path / data[k]).resolve()`."""
    data = yaml.safe_load(yaml_file.read_text())
    data["yaml_file"] = str(yaml_file)
    path = Path(data.get("path") or Path(data["yaml_file"]).parent)
    if not path.exists() and not path.is_absolute():
        path = (datasets_dir / path).resolve()
    return {k: (path / data[k]).resolve() for k in ("train", "val", "test") if data.get(k)}


def test_the_export_can_be_moved(handmade, tmp_path, monkeypatch):
    export_yolo(handmade, tmp_path / "yolo")
    moved = tmp_path / "elsewhere/renamed"
    moved.parent.mkdir()
    os.rename(tmp_path / "yolo", moved)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")   # neither the export's folder nor its parent
    dirs = ultralytics_split_dirs(moved / "data.yaml", tmp_path / "datasets")
    assert dirs == {"train": moved / "images/train", "val": moved / "images/val"}
    assert all(d.is_dir() and any(d.iterdir()) for d in dirs.values())
    # A relative `path: .` would have been the working folder, not the export's.
    data = yaml.safe_load((moved / "data.yaml").read_text())
    (moved / "dot.yaml").write_text(yaml.safe_dump({**data, "path": "."}))
    assert ultralytics_split_dirs(moved / "dot.yaml", tmp_path / "datasets")["train"] == \
        tmp_path / "cwd/images/train"


def test_data_yaml_splits(handmade, tabletop, tmp_path):
    export_yolo(handmade, tmp_path / "hand")
    hand = yaml.safe_load((tmp_path / "hand/data.yaml").read_text())
    assert (hand["train"], hand["val"], "test" in hand) == ("images/train", "images/val", False)
    assert hand["names"] == {0: "a", 1: "b"}
    splits = {s for s, c in coco_files(tabletop).items() if c["images"]}
    export_yolo(tabletop, tmp_path / "table")
    table = yaml.safe_load((tmp_path / "table/data.yaml").read_text())
    assert table["val"] == ("images/val" if "val" in splits else "images/train")
    assert sorted(p.name for p in (tmp_path / "table/images").iterdir()) == sorted(splits)


def test_no_val_split_is_said_in_one_warning_line(tmp_path):
    dataset = write_coco_folder(tmp_path / "ds")
    (dataset / "annotations/instances_val.json").unlink()
    (dataset / "images/val/000000003.png").unlink()
    with_manifest(dataset)
    result = _simgen("export", "yolo", dataset, "-o", tmp_path / "yolo")
    assert result.returncode == 0, result.stderr
    assert result.stderr == (f"simgen: warning: {dataset} has no val images; data.yaml's val "
                             "is images/train, so validation scores will be scores on training "
                             "images\n")
    data = yaml.safe_load((tmp_path / "yolo/data.yaml").read_text())
    assert (data["train"], data["val"]) == ("images/train", "images/train")
    assert export_yolo(dataset, tmp_path / "api").warnings == (result.stderr.split(": ", 2)[2]
                                                               .rstrip("\n"),)
    # With a val split: nothing on stderr.
    result = _simgen("export", "yolo", write_handmade(tmp_path / "hand"), "-o", tmp_path / "y2")
    assert result.returncode == 0 and result.stderr == ""


# --- (5) the command line ----------------------------------------------------------------------

def _simgen(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simgen: error: "), result.stderr
    return lines[0]


def test_cli_exports_and_prints_one_line(handmade, tmp_path):
    result = _simgen("export", "yolo", handmade, "-o", tmp_path / "yolo", "--segments")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"simgen: exported 3 images (5 labels) to {tmp_path / 'yolo'}\n"
    assert (tmp_path / "yolo/data.yaml").is_file()


def test_cli_refuses_a_folder_that_is_not_a_dataset(tmp_path):
    (tmp_path / "not_a_dataset/images").mkdir(parents=True)
    for source in (tmp_path / "not_a_dataset", tmp_path / "missing"):
        line = _one_error_line(_simgen("export", "yolo", source, "-o", tmp_path / "yolo"))
        assert "not a simgen dataset" in line
        assert not (tmp_path / "yolo").exists()


def test_cli_refuses_a_non_empty_export_folder(handmade, tmp_path):
    (tmp_path / "yolo").mkdir()
    (tmp_path / "yolo/keep.txt").write_text("mine")
    line = _one_error_line(_simgen("export", "yolo", handmade, "-o", tmp_path / "yolo"))
    assert "not empty" in line
    assert snapshot(tmp_path / "yolo") == {"keep.txt": b"mine"}


def test_cli_copy_and_link_exclude_each_other(handmade, tmp_path):
    result = _simgen("export", "yolo", handmade, "-o", tmp_path / "yolo", "--copy", "--link")
    assert result.returncode == 2 and "not allowed with" in result.stderr
    assert not (tmp_path / "yolo").exists()


# --- (6) determinism, linking, nothing half-written ----------------------------------------------

@pytest.mark.parametrize("segments", [False, True])
def test_same_input_gives_the_same_bytes(tabletop, tmp_path, segments):
    export_yolo(tabletop, tmp_path / "one", segments=segments)
    export_yolo(tabletop, tmp_path / "two", segments=segments, link="copy")
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert one == two   # data.yaml too: it names no folder of this machine


def test_images_are_files_of_their_own_unless_link(handmade, tmp_path):
    export_yolo(handmade, tmp_path / "default")
    export_yolo(handmade, tmp_path / "strict", link="link")
    export_yolo(handmade, tmp_path / "copied", link="copy")
    source = handmade / "images/train/000000001.png"
    before = source.read_bytes()
    for name in ("default", "copied"):
        placed = tmp_path / name / "images/train/000000001.png"
        assert not os.path.samefile(source, placed) and placed.read_bytes() == before
        with open(placed, "r+b") as f:    # edited in place, as an annotation tool may
            f.write(b"edited")
        assert source.read_bytes() == before
    assert os.path.samefile(source, tmp_path / "strict/images/train/000000001.png")


def test_default_is_a_reflink_where_the_file_system_clones(handmade, tmp_path, monkeypatch):
    import fcntl
    import shutil

    calls = []

    def clone(fd, request, src_fd):     # a file system that clones: the bytes, shared
        calls.append(request)
        with open(src_fd, "rb", closefd=False) as src, open(fd, "wb", closefd=False) as dst:
            shutil.copyfileobj(src, dst)
        return 0

    monkeypatch.setattr(fcntl, "ioctl", clone)
    monkeypatch.setattr(links.shutil, "copyfile", lambda *a: pytest.fail("copied"))
    export_yolo(handmade, tmp_path / "cloned")
    assert calls == [links.FICLONE] * 3 and links.FICLONE == 0x40049409
    assert (tmp_path / "cloned/images/val/000000003.png").read_bytes() == \
        (handmade / "images/val/000000003.png").read_bytes()
    monkeypatch.undo()

    def refuse(fd, request, src_fd):    # ext4, tmpfs: EOPNOTSUPP; asked once, then copies
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    calls.clear()
    monkeypatch.setattr(fcntl, "ioctl", refuse)
    export_yolo(handmade, tmp_path / "copied")
    assert calls == [links.FICLONE]
    assert snapshot(tmp_path / "copied") == snapshot(tmp_path / "cloned")
    export_yolo(handmade, tmp_path / "plain", link="copy")
    assert calls == [links.FICLONE]   # --copy never tries


def test_link_fails_with_one_line_where_links_fail(handmade, tmp_path, monkeypatch):
    def no_link(src, dst):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(links.os, "link", no_link)
    export_yolo(handmade, tmp_path / "yolo")
    copied = tmp_path / "yolo/images/val/000000003.png"
    assert copied.read_bytes() == (handmade / "images/val/000000003.png").read_bytes()
    with pytest.raises(SimgenError, match="cannot hard-link"):
        export_yolo(handmade, tmp_path / "strict", link="link")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yolo"]


# --- (7) --overwrite: a previous simgen YOLO export, never another folder ---------------------

def test_overwrite_replaces_a_previous_export(handmade, tmp_path):
    export_yolo(handmade, tmp_path / "yolo")
    (tmp_path / "yolo/labels/train.cache").write_bytes(b"ultralytics cache")
    with pytest.raises(SimgenError, match="not empty .use --overwrite"):
        export_yolo(handmade, tmp_path / "yolo", segments=True)
    result = _simgen("export", "yolo", handmade, "-o", tmp_path / "yolo", "--segments",
                     "--overwrite")
    assert result.returncode == 0, result.stderr
    export_yolo(handmade, tmp_path / "fresh", segments=True)
    assert snapshot(tmp_path / "yolo") == snapshot(tmp_path / "fresh")   # the cache is gone
    marker = json.loads((tmp_path / "yolo/simgen_export.json").read_bytes())
    assert marker["format"] == "simgen-yolo/1" and marker["segments"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "yolo"]   # no staging left


@pytest.mark.parametrize("case", ["foreign folder", "fake marker", "foreign entry",
                                  "a simgen dataset"])
def test_overwrite_never_replaces_another_folder(case, handmade, tmp_path):
    out = tmp_path / "out"
    if case == "a simgen dataset":
        out = write_handmade(out)
    else:
        out.mkdir()
        (out / "keep.txt").write_text("mine")
    if case == "fake marker":
        (out / "keep.txt").unlink()
        (out / "simgen_export.json").write_text('{"format": "something/1"}')
    if case == "foreign entry":
        export_yolo(handmade, tmp_path / "yolo")
        out = tmp_path / "yolo"
        (out / "keep.txt").write_text("mine")
    before = snapshot(out)
    line = _one_error_line(_simgen("export", "yolo", handmade, "-o", out, "--overwrite"))
    assert ("which simgen export did not write" if case == "foreign entry"
            else "not a simgen YOLO export") in line
    assert snapshot(out) == before


def test_a_failed_overwrite_leaves_the_previous_export(handmade, tmp_path, monkeypatch):
    export_yolo(handmade, tmp_path / "yolo")
    before = snapshot(tmp_path / "yolo")

    def failing_write(path, data, durable=False):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(yolo, "write_atomic", failing_write)
    with pytest.raises(OSError, match="No space"):
        export_yolo(handmade, tmp_path / "yolo", segments=True, overwrite=True)
    assert snapshot(tmp_path / "yolo") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yolo"]


def test_a_failure_midway_leaves_nothing(handmade, tmp_path, monkeypatch):
    calls = []

    def failing_write(path, data, durable=False):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_write(path, data, durable)

    real_write = yolo.write_atomic
    monkeypatch.setattr(yolo, "write_atomic", failing_write)
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "new", tmp_path / "empty"):
        calls.clear()
        with pytest.raises(OSError, match="No space"):
            export_yolo(handmade, target)
        assert len(calls) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    assert not any((tmp_path / "empty").iterdir())


def test_a_missing_image_is_refused_before_anything_is_written(handmade, tmp_path):
    broken = write_handmade(tmp_path / "broken")
    (broken / "images/val/000000003.png").unlink()
    with pytest.raises(SimgenError, match="image file missing"):
        export_yolo(broken, tmp_path / "yolo")
    assert not (tmp_path / "yolo").exists()


def test_the_export_folder_must_lie_outside_the_dataset(tmp_path):
    dataset = write_handmade(tmp_path / "ds")
    with pytest.raises(SimgenError, match="outside the dataset"):
        export_yolo(dataset, dataset / "yolo")
    assert not (dataset / "yolo").exists()


def test_an_image_linked_out_of_the_dataset_is_not_exported(tmp_path):
    dataset = write_handmade(tmp_path / "ds")
    image = next((dataset / "images").rglob("*.png"))
    secret = tmp_path / "secret.png"
    secret.write_bytes(image.read_bytes())
    image.unlink()
    image.symlink_to(secret)
    with pytest.raises(SimgenError, match="leads out of the dataset"):
        export_yolo(dataset, tmp_path / "yolo", link="copy")
    assert not (tmp_path / "yolo").exists()


# --- (7) only a dataset simgen wrote, only as its manifest lists it ------------------------------

def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))


def _unlist(dataset: Path, rel: str) -> None:
    manifest = json.loads((dataset / "manifest.json").read_text())
    del manifest["files"][rel]
    (dataset / "manifest.json").write_text(json.dumps(manifest))


MANIFEST_DAMAGE = {
    "no manifest": (lambda ds: (ds / "manifest.json").unlink(),
                    "not a simgen dataset (no manifest.json"),
    "another format": (lambda ds: with_manifest(ds, fmt="coco/1"),
                       "format 'coco/1' is not a dataset simgen generate or simgen mix wrote"),
    "not a manifest": (lambda ds: (ds / "manifest.json").write_text('{"format": 1}'),
                       "not a simgen manifest (no 'files' mapping)"),
    "image changed": (lambda ds: _flip_middle_byte(ds / "images/val/000000003.png"),
                      "000000003.png: does not match the sha256 and size in"),
    "image unlisted": (lambda ds: _unlist(ds, "images/train/000000002.png"),
                       "000000002.png: not listed in"),
    "COCO file changed": (lambda ds: (ds / "annotations/instances_val.json").write_text(
        json.dumps(json.loads((ds / "annotations/instances_val.json").read_text()), indent=2)),
        "instances_val.json: does not match the sha256 and size in"),
    "COCO file unlisted": (lambda ds: _unlist(ds, "annotations/instances_train.json"),
                           "instances_train.json: not listed in"),
}


@pytest.mark.parametrize("case", list(MANIFEST_DAMAGE))
def test_a_dataset_not_as_its_manifest_lists_it_is_refused(case, tmp_path):
    dataset = write_handmade(tmp_path / "ds")
    damage, message = MANIFEST_DAMAGE[case]
    damage(dataset)
    with pytest.raises(SimgenError) as err:
        export_yolo(dataset, tmp_path / "yolo", link="copy")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_mix_is_exported(tmp_path):
    # simgen mix writes the same layout with a manifest of its own format.
    dataset = with_manifest(write_coco_folder(tmp_path / "ds"), fmt="simgen-mix/1")
    assert export_yolo(dataset, tmp_path / "yolo").images == 3


def test_each_image_is_read_once_and_linked(handmade, tmp_path, monkeypatch):
    reads = []
    real_read = yolo.read_bounded
    monkeypatch.setattr(yolo, "read_bounded", lambda path: reads.append(path) or real_read(path))
    export_yolo(handmade, tmp_path / "yolo", link="link")
    assert sorted(p.name for p in reads) == ["000000001.png", "000000002.png", "000000003.png"]
