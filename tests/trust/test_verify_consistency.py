"""`simgen verify` on edits made with the manifest re-hashed (issue 12, item 8): what the dataset
itself proves (simgen.trust.consistency) and the manifest anchor (--manifest-sha256).

Each edit is made the way someone hiding it would: the COCO file rewritten as finalize writes
it and its sha256 and size recorded again in manifest.json, so the hash check cannot see it.
Most datasets here are copied without the run state (`.simgen/`, as a dataset shipped on its
own): the scene records there are a second copy of the labels, checked on their own below."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from simgen.cli import main
from simgen.trust.verify import verify
from tests.conftest import REPO
from tests.trust.conftest import TRAIN, copy_dataset, edit_coco, rehash, repaint_pixel

TABLETOP = REPO / "scenes/tabletop.yaml"
HELD_OUT = "annotations/instances_test.json"   # seed 0 draws 8 test images of 48, no val


@pytest.fixture(scope="module")
def fresh(make_dataset) -> Path:
    # 12 scenes of 4 views: train and test both hold scenes with seed 0.
    return make_dataset(TABLETOP, images=48)


@pytest.fixture
def ds(fresh, tmp_path) -> Path:
    return copy_dataset(fresh, tmp_path / "ds", run_state=False)


def checks(report) -> list[tuple[str, object]]:
    return sorted({(p.check, p.image_id) for p in report.problems}, key=repr)


def coco(out: Path, rel: str = TRAIN) -> dict:
    return json.loads((out / rel).read_bytes())


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_bytes())


def _write_manifest(out: Path, manifest: dict) -> None:
    (out / "manifest.json").write_bytes(json.dumps(manifest, indent=1).encode() + b"\n")


def _recount(out: Path) -> None:
    """Set the manifest's counts to what the COCO files hold, as someone hiding an edit
    would."""
    manifest = _manifest(out)
    for rel in (TRAIN, HELD_OUT, "annotations/instances_val.json"):
        data, split = coco(out, rel), rel.rsplit("_", 1)[1][:-5]
        manifest["counts"]["images"][split] = len(data["images"])
        manifest["counts"]["annotations"][split] = len(data["annotations"])
    _write_manifest(out, manifest)


def _scene_and_other_view(data: dict, image_id: int) -> tuple[int, int]:
    """The scene of an image and the first other view of that scene."""
    scenes = {i["id"]: i["provenance"]["scene_index"] for i in data["images"]}
    return scenes[image_id], min(i for i, s in scenes.items()
                                 if s == scenes[image_id] and i != image_id)


def _first_annotated(data: dict) -> tuple[int, dict]:
    """(index, annotation) of the first annotation whose keypoints are all in the image."""
    for index, ann in enumerate(data["annotations"]):
        if all(f > 0 for f in ann["keypoints"][2::3]):
            return index, ann
    raise AssertionError("no annotation with every keypoint in the image")


def test_the_fresh_dataset_is_consistent(fresh, ds):
    assert verify(fresh).ok and verify(ds).ok
    assert {json.loads((fresh / rel).read_bytes())["images"] != []
            for rel in (TRAIN, HELD_OUT)} == {True}


def test_an_image_deleted_with_its_entries_is_missing_from_the_run(ds):
    # The attack: image 7's file, entry and annotations gone, COCO and manifest re-hashed,
    # counts fixed. Every hash holds; the run's -n 48 says image 7 should be there.
    split = "train" if any(i["id"] == 7 for i in coco(ds)["images"]) else "test"
    rel = f"annotations/instances_{split}.json"

    def drop(data):
        gone = sum(a["image_id"] == 7 for a in data["annotations"])
        data["images"] = [i for i in data["images"] if i["id"] != 7]
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] != 7]
        drop.gone = gone

    edit_coco(ds, drop, rel)
    (ds / f"images/{split}/000000007.png").unlink()
    manifest = _manifest(ds)
    del manifest["files"][f"images/{split}/000000007.png"]
    manifest["counts"]["images"][split] -= 1
    manifest["counts"]["annotations"][split] -= drop.gone
    _write_manifest(ds, manifest)
    report = verify(ds, reproduce=24)
    assert [(p.check, p.message) for p in report.problems] == [
        ("complete", "image 7 of the run (-n 48) is missing: no COCO entry")]


def test_an_image_moved_to_another_split_disagrees_with_its_seed(ds):
    # Moving a scene's view from test to train (a leak of held-out data), every hash redone.
    image = coco(ds, HELD_OUT)["images"][0]
    moved = {}

    def take(data):
        moved["image"] = next(i for i in data["images"] if i["id"] == image["id"])
        moved["annotations"] = [a for a in data["annotations"] if a["image_id"] == image["id"]]
        data["images"].remove(moved["image"])
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] != image["id"]]

    def put(data):
        moved["image"]["provenance"]["split"] = "train"
        data["images"].append(moved["image"])
        first = max(a["id"] for a in data["annotations"]) + 1
        data["annotations"] += [{**a, "id": first + k} for k, a in enumerate(moved["annotations"])]

    edit_coco(ds, take, HELD_OUT)
    edit_coco(ds, put, TRAIN)
    name = image["file_name"]
    shutil.move(ds / "images/test" / name, ds / "images/train" / name)
    manifest = _manifest(ds)
    manifest["files"][f"images/train/{name}"] = manifest["files"].pop(f"images/test/{name}")
    _write_manifest(ds, manifest)
    report = verify(ds)
    split = [p for p in report.problems if p.check == "split"]
    assert [(p.image_id, p.file) for p in split] == [(image["id"], TRAIN)]
    scene = image["provenance"]["scene_index"]
    assert split[0].message == (f"scene {scene} draws split 'test' from seed 0, but the image "
                                "is in 'train'")
    # (and the counts of the manifest, left as they were, disagree too)
    assert {p.check for p in report.problems} <= {"split", "manifest"}


def test_a_relabelled_object_disagrees_with_its_drawn_category(ds):
    data = coco(ds)
    index, ann = 0, data["annotations"][0]
    other = 2 if ann["category_id"] == 1 else 1
    edit_coco(ds, lambda d: d["annotations"][index].__setitem__("category_id", other))
    report = verify(ds)
    labels = [p for p in report.problems if p.check == "labels"]
    assert [(p.image_id, p.annotation_id) for p in labels] == [(ann["image_id"], ann["id"])]
    assert labels[0].message.startswith(f"category_id {other}, but objects[{ann['object_index']}]"
                                        f" was drawn as category {ann['category_id']}")
    # the other views of its scene still say what it was
    scene, other = _scene_and_other_view(data, ann["image_id"])
    assert [(p.check, p.image_id, p.annotation_id, p.message) for p in report.problems
            if p.check != "labels"] == [
        ("scene", ann["image_id"], ann["id"], f"object_index {ann['object_index']}: category_id, "
         f"pose_world or box3d differ from image {other} and the other views of scene {scene}")]


def test_an_object_relabelled_in_every_view_still_disagrees_with_provenance(ds):
    data = coco(ds)
    ann = data["annotations"][0]
    scene = next(i for i in data["images"] if i["id"] == ann["image_id"])["provenance"]["scene_index"]
    views = {i["id"] for i in data["images"] if i["provenance"]["scene_index"] == scene}
    other = 2 if ann["category_id"] == 1 else 1

    def relabel(d):
        for a in d["annotations"]:
            if a["image_id"] in views and a.get("object_index") == ann["object_index"]:
                a["category_id"] = other

    edit_coco(ds, relabel)
    report = verify(ds)
    assert {p.check for p in report.problems} == {"labels"}
    assert {p.image_id for p in report.problems} <= views and len(report.problems) >= 1


@pytest.mark.parametrize("edit", ["pose_cam", "keypoint", "flag outside", "pose_world"])
def test_an_edited_pose_or_keypoint_disagrees_with_the_camera(ds, edit):
    data = coco(ds)
    index, ann = _first_annotated(data)

    def change(d):
        a = d["annotations"][index]
        if edit == "pose_cam":
            a["pose_cam"]["position_m"][2] += 0.01          # 1 cm further away
        elif edit == "keypoint":
            a["keypoints"][0] += 0.5                        # half a pixel
        elif edit == "flag outside":
            a["keypoints"][0:3] = [0.0, 0.0, 0]             # "outside the image"
        else:
            a["pose_world"]["position_m"][0] += 0.01

    edit_coco(ds, change)
    report = verify(ds)
    labels = [p for p in report.problems if p.check == "labels"]
    assert {(p.image_id, p.annotation_id) for p in labels} == {(ann["image_id"], ann["id"])}
    expected = {"pose_cam": "pose_cam is not pose_world seen from the image's cam_to_world",
                "keypoint": "keypoint 0 (",
                "flag outside": "keypoint 0 (0.0, 0.0, flag 0) is not box3d's corner projected",
                "pose_world": "pose_cam is not pose_world seen from the image's cam_to_world"}
    assert labels[0].message.startswith(expected[edit]), labels[0].message
    if edit == "pose_world":   # and the other views of the scene hold the old pose
        assert any(p.check == "scene" for p in report.problems)


def test_one_view_with_other_scene_provenance_disagrees_with_the_others(ds):
    def edit(d):
        d["images"][1]["provenance"]["scene"]["light"]["direction"][0] += 0.1

    image_id = coco(ds)["images"][1]["id"]
    edit_coco(ds, edit)
    report = verify(ds)
    scene, other = _scene_and_other_view(coco(ds), image_id)
    assert [(p.check, p.image_id, p.message) for p in report.problems] == [
        ("scene", image_id, f"provenance.scene differs from image {other} and the other views "
                            f"of scene {scene}")]


# --- the run's scene records: a second copy of labels and hashes -------------------------------

def test_with_the_run_state_an_edit_hidden_from_the_manifest_is_found(fresh, tmp_path):
    ds = copy_dataset(fresh, tmp_path / "ds")
    # An annotation dropped (nothing else can tell: its object is still in the pixels) and an
    # image repainted, both re-hashed in the manifest.
    data = coco(ds)
    dropped = data["annotations"][3]
    edit_coco(ds, lambda d: d["annotations"].pop(3))
    _recount(ds)
    repaint_pixel(ds / "images/train" / data["images"][2]["file_name"])
    rehash(ds, f"images/train/{data['images'][2]['file_name']}")
    report = verify(ds)
    assert checks(report) == [("records", dropped["image_id"]), ("records", None)]
    messages = sorted(p.message for p in report.problems)
    assert messages[0].startswith("sha256 in manifest.json differs from the one recorded when "
                                  "the scene was committed (.simgen/scenes/")
    assert messages[1].startswith("the COCO entry or its annotations differ from the run's "
                                  "record of the scene")
    # Without the run state the repaint is invisible, the dropped annotation too: what
    # --reproduce and --manifest-sha256 are for.
    shutil.rmtree(ds / ".simgen")
    assert verify(ds).ok
    assert not verify(ds, reproduce=48).ok


def test_a_damaged_scene_record_proves_nothing_and_is_no_problem(fresh, tmp_path):
    ds = copy_dataset(fresh, tmp_path / "ds")
    record = ds / ".simgen/scenes/000000.json"
    record.write_bytes(record.read_bytes()[:-40])
    assert verify(ds).ok


# --- the anchor: the manifest's sha256 kept elsewhere -------------------------------------------

def test_the_manifest_sha256_anchors_every_file(ds, capsys):
    anchor = hashlib.sha256((ds / "manifest.json").read_bytes()).hexdigest()
    assert main(["verify", str(ds), "--manifest-sha256", anchor]) == 0
    assert f"manifest.json sha256 {anchor} (keep it" in capsys.readouterr().out
    # an edit no consistency check can see (an annotation dropped), re-hashed
    edit_coco(ds, lambda d: d["annotations"].pop(0))
    _recount(ds)
    assert verify(ds).ok
    assert main(["verify", str(ds), "--manifest-sha256", anchor]) == 1
    out = capsys.readouterr().out
    assert "  manifest.json: sha256 " in out and f"is not the expected {anchor}" in out


def test_generate_prints_the_manifest_sha256(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["generate", str(TABLETOP), "-o", str(out), "-n", "1", "--renderer", "tiny",
                 "-q", "--set", "image.width=64", "--set", "image.height=48"]) == 0
    printed = capsys.readouterr().out.splitlines()[-1]
    anchor = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    assert printed == f"simgen: manifest.json sha256 {anchor}"


@pytest.mark.parametrize("value", ["abc", "A" * 64, "g" * 64])
def test_a_malformed_manifest_sha256_is_a_usage_error(ds, value, capsys):
    assert main(["verify", str(ds), "--manifest-sha256", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simgen: error: manifest sha256 must be 64 lowercase hex digits")
