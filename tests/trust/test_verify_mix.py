"""`simgen verify` on a dataset `simgen mix` made: a fresh mix passes (hand-drawn real labels
included), each kind of damage is found and named, and --reproduce re-makes synthetic images
from the simgen dataset they came from."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simgen.cli import main
from simgen.export.mix import mix_datasets
from simgen.trust.verify import verify
from tests.conftest import REPO, write_real
from tests.trust.conftest import TRAIN, copy_dataset, edit_coco, flip_byte, rehash, repaint_pixel

# Labels a person drew: COCO allows them, simgen's own would be wrong.
NOT_TIGHT = [2.25, 2.5, 10.5, 9.0]          # floats, around the polygon's box [2.5, 3, 10, 8]
AT_THE_BORDER = {"id": 46, "image_id": 300, "category_id": 2, "iscrowd": 0, "area": 90.5,
                 "bbox": [30.5, 20.25, 9.8, 9.9],      # ends 0.3 px past the 40 px wide image
                 "segmentation": [[30.5, 20.25, 40, 20.25, 40, 30, 30.5, 30]]}
CROWD = {"id": 60, "image_id": 4, "category_id": 9, "iscrowd": 1, "area": 100,
         "bbox": [0, 0, 5, 20], "segmentation": {"size": [20, 20], "counts": [0, 100, 300]}}


@pytest.fixture(scope="module")
def synthetic(make_dataset) -> Path:
    return make_dataset(REPO / "scenes/tabletop.yaml", images=8)


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """test_mix's handmade real dataset (polygons, a float box, no iscrowd somewhere) with a
    box not tight to its polygon, one reaching past the border by less than 0.5 px, and a crowd
    region as an uncompressed RLE."""
    root = write_real(tmp_path_factory.mktemp("real"))
    coco = json.loads((root / "annotations.json").read_bytes())
    coco["annotations"][0]["bbox"] = NOT_TIGHT
    coco["annotations"] += [AT_THE_BORDER, CROWD]
    (root / "annotations.json").write_text(json.dumps(coco))
    return root


@pytest.fixture(scope="module")
def mixed(real, synthetic, tmp_path_factory) -> Path:
    """4 real and 4 synthetic images, copied (a hard link would share edits with the sources)."""
    out = tmp_path_factory.mktemp("mixes") / "mixed"
    mix_datasets(real, synthetic, out, synthetic_fraction=0.5, seed=0, link="copy")
    return out


@pytest.fixture
def mx(mixed, tmp_path) -> Path:
    return copy_dataset(mixed, tmp_path / "mx")


def images(out: Path) -> list[dict]:
    return json.loads((out / TRAIN).read_bytes())["images"]


def first(out: Path, synthetic: bool) -> dict:
    return next(im for im in images(out) if im["synthetic"] is synthetic)


def found(report) -> set[tuple]:
    return {(p.check, p.file, p.image_id) for p in report.problems}


# --- a fresh mix -------------------------------------------------------------------------------

def test_a_fresh_mix_passes(mixed, capsys):
    anns = json.loads((mixed / TRAIN).read_bytes())["annotations"]
    assert NOT_TIGHT in [a["bbox"] for a in anns]               # what the real side holds
    assert any(isinstance(a["segmentation"], list) for a in anns)
    assert main(["verify", str(mixed)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{mixed}: ok"
    assert "9 files against manifest.json, 1 COCO files, 8 images" in out
    report = verify(mixed)
    assert report.checked["annotations"] == len(anns) and report.ok


def test_reproduce_on_a_fresh_mix_is_identical(mixed, capsys):
    assert main(["verify", str(mixed), "--reproduce", "2", "--json", "-"]) == 0
    captured = capsys.readouterr()
    reproduced = json.loads(captured.out)["reproduced"]
    assert len(reproduced) == 2 and all(r["identical"] for r in reproduced)
    synthetic_ids = {im["id"] for im in images(mixed) if im["synthetic"]}
    assert {r["image_id"] for r in reproduced} <= synthetic_ids       # mixed ids, mixed files
    assert all(r["file"] == f"images/train/{r['image_id']:09d}.png" for r in reproduced)
    assert all(r["annotations"] > 0 for r in reproduced)
    assert "re-made 2 images (seed 0): 2 identical, 0 different" in captured.err


# --- damage -----------------------------------------------------------------------------------

def test_one_changed_byte_of_a_real_image_is_found_and_named(mx, capsys):
    name = first(mx, False)["file_name"]
    flip_byte(mx / "images/train" / name)
    assert main(["verify", str(mx)]) == 1
    out = capsys.readouterr().out
    assert f"  images/train/{name}: sha256 differs from manifest.json" in out


def test_a_synthetic_box_moved_by_one_pixel(mx, capsys):
    image_id = first(mx, True)["id"]
    anns = json.loads((mx / TRAIN).read_bytes())["annotations"]
    index, ann = next((i, a) for i, a in enumerate(anns) if a["image_id"] == image_id)

    def move(data):
        data["annotations"][index]["bbox"][0] += 1

    edit_coco(mx, move)   # and the manifest's sha256 with it: only the geometry check can see
    report = verify(mx)
    assert [(p.check, p.file, p.image_id, p.annotation_id) for p in report.problems] == [
        ("geometry", TRAIN, image_id, ann["id"])]
    assert "is not the box of its mask" in report.problems[0].message
    assert main(["verify", str(mx)]) == 1
    assert f"  {TRAIN}: image {image_id}: annotation {ann['id']}: bbox " in capsys.readouterr().out


def test_a_real_box_may_move_but_not_leave_the_image(mx):
    def nudge(data):
        data["annotations"][0]["bbox"][0] += 1       # still inside, still around its object
    edit_coco(mx, nudge)
    assert verify(mx).ok

    def out_of_bounds(data):
        data["annotations"][0]["bbox"] = [35.0, 2.5, 5.6, 9.0]    # 0.6 px past the border
    edit_coco(mx, out_of_bounds)
    (problem,) = verify(mx).problems
    assert (problem.check, problem.file, problem.annotation_id) == ("coco", TRAIN, 1)
    assert "is not inside the 40x30 image" in problem.message


def test_real_labels_are_held_to_what_coco_requires(mx):
    def damage(data):
        anns = data["annotations"]
        anns[0]["segmentation"] = [[2.5, 3, 12.5, 3]]                    # a 2-point "polygon"
        anns[1]["area"] = 0
        anns[2]["bbox"] = [1, 1, 0, 5]
        crowd = next(a for a in anns if a["iscrowd"] == 1)
        crowd["segmentation"]["counts"] = [0, 100, 200]                 # not 20x20 pixels
    edit_coco(mx, damage)
    text = "\n".join(p.line() for p in verify(mx).problems)
    for expected in ("annotation 1: segmentation polygons must be lists of >= 6 numbers",
                     "annotation 2: area must be a number > 0 (got 0)",
                     "annotation 3: bbox [1, 1, 0, 5] is not inside the 32x24 image with w, h > 0",
                     "segmentation counts has runs covering 300 pixels, not 20x20"):
        assert expected in text, text


def test_an_image_that_lost_its_synthetic_flag(mx, capsys):
    image_id = first(mx, True)["id"]

    def drop(data):
        del next(im for im in data["images"] if im["id"] == image_id)["synthetic"]

    edit_coco(mx, drop)
    report = verify(mx)
    assert ("provenance", TRAIN, image_id) in found(report)
    assert any(p.image_id == image_id and "synthetic must be true or false" in p.message
               for p in report.problems)
    # Counted as neither real nor synthetic, it no longer adds up to the recorded fraction.
    assert any("synthetic_fraction.achieved 0.5" in p.message for p in report.problems)
    assert main(["verify", str(mx)]) == 1
    assert f"  {TRAIN}: image {image_id}: synthetic must be true or false" in (
        capsys.readouterr().out)


def test_provenance_must_be_the_synthetic_sources(mx):
    syn = [im["id"] for im in images(mx) if im["synthetic"]]
    real = first(mx, False)["id"]

    def damage(data):
        entries = {im["id"]: im for im in data["images"]}
        entries[syn[0]]["provenance"]["seed"] = 3
        del entries[syn[1]]["provenance"]["physics"]
        entries[syn[2]]["origin"] = {"dataset": "elsewhere"}
        entries[real]["origin"]["dataset"] = "syn"

    edit_coco(mx, damage)
    problems = {p.image_id: p.message for p in verify(mx).problems if p.check == "provenance"}
    assert "provenance.seed 3 differs from manifest.json (0)" in problems[syn[0]]
    assert problems[syn[1]] == "provenance lacks physics"
    assert problems[syn[2]].startswith("origin must give dataset, split, image_id, file_name")
    assert "origin.dataset 'syn' is not the real source's name" in problems[real]


def test_manifest_counts_and_fraction_must_agree_with_the_files(mx):
    manifest = json.loads((mx / "manifest.json").read_bytes())
    manifest["synthetic_fraction"]["achieved"] = 0.4
    manifest["sources"]["synthetic"]["images"] = 5
    manifest["counts"]["annotations"]["train"] += 1
    (mx / "manifest.json").write_text(json.dumps(manifest, indent=1))
    (mx / ".simgen").mkdir()
    (mx / ".simgen/run.json").write_text("{}")      # a mix has no run state: unlisted
    n = manifest["counts"]["annotations"]["train"]
    assert sorted(p.line() for p in verify(mx).problems) == [
        ".simgen/run.json: on disk but not listed in manifest.json",
        f"{TRAIN}: {n - 1} annotations, manifest.json counts.annotations.train says {n}",
        "manifest.json: sources.synthetic.images is 5, the COCO files have 4",
        ("manifest.json: synthetic_fraction.achieved 0.4 is not the share of synthetic images "
         "in train (4 of 8)")]


def test_the_fractions_per_split_must_agree_with_the_files(mx):
    manifest = json.loads((mx / "manifest.json").read_bytes())
    manifest["synthetic_fraction"]["by_split"] = {"train": 0.25, "val": 0.0}
    manifest["synthetic_fraction"]["overall"] = 0.75
    (mx / "manifest.json").write_text(json.dumps(manifest, indent=1))
    assert sorted(p.line() for p in verify(mx).problems) == [
        "manifest.json: synthetic_fraction.by_split.train 0.25 is not the share of synthetic "
        "images in train (4 of 8)",
        "manifest.json: synthetic_fraction.by_split.val, but there is no "
        "annotations/instances_val.json",
        "manifest.json: synthetic_fraction.overall 0.75 is not the share of synthetic images "
        "(4 of 8)"]


# --- --reproduce -------------------------------------------------------------------------------

def test_reproduce_catches_a_synthetic_image_altered_behind_the_manifest(mx):
    name = first(mx, True)["file_name"]
    repaint_pixel(mx / "images/train" / name)
    rehash(mx, f"images/train/{name}")
    assert verify(mx).ok       # a valid PNG of the right size, listed with its new sha256
    report = verify(mx, reproduce=100)   # every synthetic image: 4
    assert len(report.reproduced) == 4
    assert [(p.check, p.file) for p in report.problems] == [("reproduce", f"images/train/{name}")]
    assert f"re-made image differs: images/train/{name}: bytes differ" in (
        report.problems[0].message)


def test_reproduce_without_the_synthetic_source_fails_naming_it(real, synthetic, tmp_path,
                                                                  capsys):
    source = copy_dataset(synthetic, tmp_path / "synthetic")
    mix_datasets(real, source, tmp_path / "mixed", synthetic_fraction=0.5, link="copy")
    shutil.rmtree(source)
    assert main(["verify", str(tmp_path / "mixed")]) == 0        # the mix itself is whole
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "mixed"), "--reproduce", "2"]) == 1
    out = capsys.readouterr().out
    assert (f"  manifest.json: cannot re-make images: the synthetic source "
            f"'{source.as_posix()}' (sources.synthetic.path) is not there any more") in out


def test_depth_and_instance_files_of_synthetic_images_come_along(make_dataset, real, tmp_path):
    """A simgen dataset with depth and instance-id PNGs: the mix copies them beside each
    synthetic image, renamed like it, and the mix verifies."""
    from tests.conftest import SMALL

    synthetic = make_dataset(REPO / "scenes/tabletop.yaml", images=8,
                             overrides=tuple(SMALL) + ("outputs.depth=true",
                                                       "outputs.instance_ids=true"))
    out = tmp_path / "mixed"
    mix_datasets(real, synthetic, out, synthetic_fraction=0.5, seed=0)
    entries = [im for im in images(out) if im["synthetic"]]
    assert len(entries) == 4
    for entry in entries:
        source = json.loads((synthetic / f"annotations/instances_{entry['origin']['split']}.json")
                            .read_bytes())
        old = next(im for im in source["images"] if im["id"] == entry["origin"]["image_id"])
        for key, folder in (("depth_file", "depth"), ("instance_map_file", "instance_maps")):
            assert entry[key] == f"{folder}/train/{entry['id']:09d}.png"
            assert (out / entry[key]).read_bytes() == (synthetic / old[key]).read_bytes()
    assert verify(out).ok
