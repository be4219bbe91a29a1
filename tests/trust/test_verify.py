"""`simgen verify`: a fresh dataset passes; each kind of damage is found and named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from simgen.cli import main
from simgen.errors import SimgenError
from simgen.trust.checks import PRINT_LIMIT, rle_totals
from simgen.trust.verify import verify
from tests.conftest import REPO, SMALL
from tests.trust.conftest import ALL_TRAIN, TRAIN, copy_dataset, edit_coco, flip_byte, rehash, repaint_pixel

TABLETOP = REPO / "scenes/tabletop.yaml"


@pytest.fixture(scope="module")
def fresh(make_dataset) -> Path:
    # Every image in train, as the edits below assume (one file to edit).
    return make_dataset(TABLETOP, images=8, overrides=(*SMALL, ALL_TRAIN))


@pytest.fixture
def ds(fresh, tmp_path) -> Path:
    return copy_dataset(fresh, tmp_path / "ds", run_state=False)


def coco(out: Path, rel: str = TRAIN) -> dict:
    return json.loads((out / rel).read_bytes())


def lines(report) -> list[str]:
    return [p.line() for p in report.problems]


def only(report, check: str) -> list:
    return [p for p in report.problems if p.check == check]


# --- a fresh dataset ---------------------------------------------------------------------------

def test_fresh_dataset_is_clean(fresh):
    report = verify(fresh)
    assert report.ok, lines(report)
    manifest = json.loads((fresh / "manifest.json").read_bytes())
    assert report.checked == {
        "files": len(manifest["files"]), "annotation_files": 1,   # only train holds images
        "images": sum(manifest["counts"]["images"].values()),
        "annotations": sum(manifest["counts"]["annotations"].values())}
    assert report.checked["images"] == 8 and report.checked["annotations"] > 0


def test_cli_clean_dataset_exits_0(fresh, capsys):
    assert main(["verify", str(fresh)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == f"{fresh}: ok"
    assert "8 images" in captured.out and captured.err == ""


def test_run_state_is_ignored_but_unlisted_files_are_not(ds):
    (ds / ".simgen").mkdir()
    (ds / ".simgen/scratch.txt").write_text("run state, never listed")
    assert verify(ds).ok
    (ds / "README.txt").write_text("mine")
    (ds / "images/train/extra.png").write_bytes(b"x")
    report = verify(ds)
    assert sorted(p.file for p in only(report, "manifest")) == ["README.txt",
                                                                  "images/train/extra.png"]
    assert all("not listed in manifest.json" in p.message for p in only(report, "manifest"))


# --- changed bytes: found by the sha256 check ---------------------------------------------------

def test_one_changed_byte_of_an_image_is_found_and_named(ds, capsys):
    flip_byte(ds / "images/train/000000003.png")
    report = verify(ds)
    assert not report.ok
    sha = [p for p in report.problems if "sha256 differs" in p.message]
    assert [p.file for p in sha] == ["images/train/000000003.png"]
    assert main(["verify", str(ds)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{ds}: {len(report.problems)} problem" + (
        "s" if len(report.problems) > 1 else "")
    assert "  images/train/000000003.png: sha256 differs from manifest.json" in out


def test_one_changed_byte_of_the_coco_json_is_found_and_named(ds):
    raw = (ds / TRAIN).read_bytes()
    at = raw.index(b"simgen synthetic dataset")
    flip_byte(ds / TRAIN, at)  # 's' -> 'r': still valid JSON, only the bytes differ
    report = verify(ds)
    assert lines(report) == [f"{TRAIN}: sha256 differs from manifest.json (the file was changed)"]


def test_an_image_file_missing(ds):
    (ds / "images/train/000000005.png").unlink()
    report = verify(ds)
    assert {(p.check, p.file, p.image_id) for p in report.problems} == {
        ("manifest", "images/train/000000005.png", None),
        ("coco", "images/train/000000005.png", 5)}
    assert "image file missing" in only(report, "coco")[0].message


# --- label geometry, with the manifest updated so that only these checks can find it ------------

def test_a_box_moved_by_one_pixel(ds, capsys):
    data = coco(ds)
    ann = data["annotations"][4]

    def move(data):
        data["annotations"][4]["bbox"][0] += 1

    edit_coco(ds, move)
    report = verify(ds)
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert (problem.check, problem.file, problem.image_id, problem.annotation_id) == (
        "geometry", TRAIN, ann["image_id"], ann["id"])
    assert "is not the box of its mask" in problem.message
    assert main(["verify", str(ds)]) == 1
    assert (f"  {TRAIN}: image {ann['image_id']}: annotation {ann['id']}: bbox "
            in capsys.readouterr().out)


def test_a_box_moved_without_updating_the_manifest_also_fails_its_sha256(ds):
    edit_coco(ds, lambda data: data["annotations"][0]["bbox"].__setitem__(1, 0), hide=False)
    report = verify(ds)
    assert {(p.check, p.file) for p in report.problems} == {("manifest", TRAIN),
                                                            ("geometry", TRAIN)}


def test_area_not_the_pixel_count(ds):
    def shrink(data):
        data["annotations"][2]["area"] -= 1

    edit_coco(ds, shrink)
    (problem,) = verify(ds).problems
    assert problem.check == "geometry" and "pixel count" in problem.message


def test_rle_that_does_not_cover_the_image(ds):
    def cut(data):
        seg = data["annotations"][1]["segmentation"]
        seg["counts"] = seg["counts"][:-2]

    edit_coco(ds, cut)
    report = verify(ds)
    assert [(p.check, p.annotation_id) for p in report.problems] == [("coco", 2)]
    assert "segmentation counts" in report.problems[0].message


# --- ids and references --------------------------------------------------------------------------

def test_a_duplicated_annotation_id(ds):
    edit_coco(ds, lambda data: data["annotations"][3].__setitem__("id", 1))
    report = verify(ds)
    assert [(p.file, p.annotation_id, p.message) for p in report.problems] == [
        (TRAIN, 1, "annotation id is used twice")]


def test_a_duplicated_image_id(ds):
    edit_coco(ds, lambda data: data["images"][1].__setitem__("id", 1))
    report = verify(ds)
    duplicates = [p for p in report.problems if "image id is used twice" in p.message]
    assert [(p.file, p.image_id) for p in duplicates] == [(TRAIN, 1)]


def test_references_ids_and_fields(ds):
    def damage(data):
        anns = data["annotations"]
        anns[0]["image_id"] = 999
        anns[1]["category_id"] = 7
        del anns[2]["iscrowd"]
        anns[3]["id"] = 0
        anns[4]["bbox"] = [1.5, 2, 3, 4]
        data["images"][2]["width"] = 161

    edit_coco(ds, damage)
    text = "\n".join(lines(verify(ds)))
    for expected in ("annotation 1: image_id 999 refers to no (usable) image",
                     "annotation 2: category_id 7 refers to no category",
                     "annotation 3: no iscrowd", "id must be an integer >= 1 (got 0)",
                     "annotation 5: bbox must be 4 integers",
                     ("images/train/000000003.png: image 3: decodes at 160x120, its entry in "
                      f"{TRAIN} says 161x120")):
        assert expected in text, text


def test_categories_must_be_1_to_n_in_the_scenarios_order(ds):
    edit_coco(ds, lambda data: data["categories"].reverse())
    text = "\n".join(lines(verify(ds)))
    assert "category ids must be 1..N in order" in text
    assert "are not the scenario's" in text


def test_a_file_that_is_not_json(ds):
    (ds / TRAIN).write_bytes(b'{"images": [')
    rehash(ds, TRAIN)
    report = verify(ds)
    assert lines(report)[0].startswith(f"{TRAIN}: not valid JSON")


# --- provenance ----------------------------------------------------------------------------------

def test_incomplete_or_inconsistent_provenance(ds):
    def damage(data):
        del data["images"][0]["provenance"]["physics"]
        data["images"][1]["provenance"]["seed"] = 3
        data["images"][2]["provenance"]["view_index"] = 1   # image 3 is view 2 of scene 0

    edit_coco(ds, damage)
    report = verify(ds)
    provenance = only(report, "provenance")
    assert [p.image_id for p in provenance] == [1, 2, 3]
    assert provenance[0].message == "provenance lacks physics"
    assert "provenance.seed 3 differs from manifest.json (0)" in provenance[1].message
    assert "do not give image id 3" in provenance[2].message
    # The views of scene 0 no longer agree on its physics and seed (images 1-4 are scene 0).
    assert [(p.image_id, p.message) for p in only(report, "scene")] == [
        (1, "provenance.physics differs from image 2 and the other views of scene 0"),
        (2, "provenance.seed differs from image 1 and the other views of scene 0")]
    assert {p.check for p in report.problems} == {"provenance", "scene"}


def test_a_manifest_whose_scenario_was_edited(ds):
    manifest = json.loads((ds / "manifest.json").read_bytes())
    manifest["scenario"]["resolved"]["views_per_scene"] = 2
    (ds / "manifest.json").write_text(json.dumps(manifest, indent=1))
    text = "\n".join(lines(verify(ds)))
    assert "manifest.json: scenario.resolved does not hash to scenario.sha256" in text
    assert "do not give image id" in text  # and the images no longer fit its views


# --- reporting -----------------------------------------------------------------------------------

def test_the_printed_list_is_capped_and_the_json_has_everything(ds, tmp_path, capsys):
    def damage(data):
        for ann in data["annotations"]:
            ann["area"] += 1

    edit_coco(ds, damage)
    n = len(coco(ds)["annotations"])
    assert n > PRINT_LIMIT
    assert main(["verify", str(ds), "--json", str(tmp_path / "report.json")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{ds}: {n} problems"
    assert len([line for line in out if line.startswith(f"  {TRAIN}: image")]) == PRINT_LIMIT
    assert f"  ... and {n - PRINT_LIMIT} more" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is False and len(report["problems"]) == n
    assert {p["check"] for p in report["problems"]} == {"geometry"}
    assert sorted(p["annotation_id"] for p in report["problems"]) == list(range(1, n + 1))


def test_json_to_stdout(fresh, capsys):
    assert main(["verify", str(fresh), "--json", "-"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is True and report["problems"] == []
    assert report["checked"]["images"] == 8
    assert captured.err.startswith(f"{fresh}: ok")


def test_not_a_dataset_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(SimgenError, match="not a"):
            verify(folder)
        assert main(["verify", str(folder)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        (line,) = captured.err.splitlines()
        assert line.startswith("simgen: error: ") and "not a" in line
    (tmp_path / "empty/manifest.json").write_text("[1, 2")
    assert main(["verify", str(tmp_path / "empty")]) == 2
    assert "cannot read the manifest" in capsys.readouterr().err


def test_bad_arguments_are_usage_errors(fresh, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["verify", str(fresh), "--reproduce", "-2"])
    assert exit_.value.code == 2
    assert "argument --reproduce: must be >= 0" in capsys.readouterr().err
    with pytest.raises(SimgenError, match="reproduce must be an integer >= 0"):
        verify(fresh, reproduce=-1)


# --- --reproduce ---------------------------------------------------------------------------------

def test_reproduce_on_fresh_output_is_identical(fresh, capsys):
    report = verify(fresh, reproduce=3, seed=5)
    assert report.ok, lines(report)
    chosen = [r.image_id for r in report.reproduced]
    assert len(chosen) == 3 and len(set(chosen)) == 3
    assert all(r.identical and r.image_bytes for r in report.reproduced)
    assert main(["verify", str(fresh), "--reproduce", "3", "--seed", "5", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert [r["image_id"] for r in json.loads(captured.out)["reproduced"]] == chosen
    assert "re-made 3 images (seed 5): 3 identical, 0 different" in captured.err


def test_reproduce_catches_an_image_altered_behind_the_manifest(ds):
    repaint_pixel(ds / "images/train/000000006.png")
    rehash(ds, "images/train/000000006.png")
    assert verify(ds).ok   # a valid PNG of the right size, listed with its new sha256
    report = verify(ds, reproduce=100)  # more than there are: all 8
    assert len(report.reproduced) == 8
    assert [(p.check, p.file, p.image_id) for p in report.problems] == [
        ("reproduce", "images/train/000000006.png", 6)]
    assert "re-made image differs: images/train/000000006.png: bytes differ" in (
        report.problems[0].message)


# --- the RLE string reader -----------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.floats(0, 1), st.integers(0, 2 ** 32 - 1))
def test_rle_totals_match_pycocotools(height, width, density, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((height, width)) < density
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert rle_totals([rle["counts"].decode()]).tolist() == [height * width]


def test_rle_totals_of_large_and_malformed_strings():
    big = np.zeros((480, 640), np.uint8)
    big[100:300, 200:500] = 1
    good = mask_utils.encode(np.asfortranarray(big))["counts"].decode()
    short = mask_utils.frPyObjects({"size": [4, 5], "counts": [3, 2]}, 4, 5)["counts"].decode()
    assert rle_totals([good, "", short, "o", "52\x0020003", "héllo", good]).tolist() == [
        480 * 640, 0, 5, -1, -1, -1, 480 * 640]


def test_links_devices_and_fifos_are_reported_not_read(fresh, tmp_path):
    """An image replaced by a link to /dev/zero, a FIFO, a linked folder: verify reports each
    in seconds, reading none of them (it grew to 2.9 GB, or hung)."""
    import os
    import time

    ds = copy_dataset(fresh, tmp_path / "ds")
    zero = ds / "images/train/000000001.png"
    zero.unlink()
    zero.symlink_to("/dev/zero")
    fifo = ds / "images/train/000000002.png"
    fifo.unlink()
    os.mkfifo(fifo)
    (ds / "images/linked").symlink_to(tmp_path)
    start = time.monotonic()
    report = verify(ds)
    assert time.monotonic() - start < 60
    text = "\n".join(str(p) for p in report.problems)
    assert not report.ok
    assert "images/train/000000001.png" in text and "images/train/000000002.png" in text
    assert any(p.file == "images/linked" and "is a link" in p.message for p in report.problems)
