"""`simgen mix`: real data passes through unchanged, the synthetic fraction is the one asked
for, the result is COCO that pycocotools loads, its manifest matches its files, and the same
inputs give the same bytes. Bad input: exit 2, one line, nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from simgen.export import mix as mix_module
from simgen.cli import main
from simgen.errors import SimgenError
from simgen.dataset.layout import MIX_FORMAT
from simgen.export.mix import mix_datasets
from simgen.trust.verify import verify
from tests.conftest import REPO, write_real
from tests.export.conftest import write_handmade

IDS = ("id", "image_id", "category_id")          # the only annotation fields a mix changes
ADDED = {"id", "iscrowd", "keypoints", "num_keypoints"}   # the fields a mix may add
TABLETOP = ["mug", "duck", "lego_brick", "jenga_block", "teddy_bear", "ball"]


# --- datasets --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic(make_dataset) -> Path:
    return make_dataset(REPO / "scenes/tabletop.yaml", images=8)


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    return write_real(tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def mixed(real, synthetic, tmp_path_factory) -> Path:
    """F = 0.5 with 4 real images: 4 synthetic ones."""
    out = tmp_path_factory.mktemp("mixes") / "mixed"
    mix_datasets(real, synthetic, out, synthetic_fraction=0.5, seed=0)
    return out


# --- helpers ---------------------------------------------------------------------------------

def coco_files(folder: Path) -> dict[str, dict]:
    return {p.stem.removeprefix("instances_"): json.loads(p.read_bytes())
            for p in sorted((folder / "annotations").glob("instances_*.json"))}


def entries(folder: Path):
    """(split, image, its annotations, category id -> name) for every image of a dataset."""
    for split, coco in coco_files(folder).items():
        names = {c["id"]: c["name"] for c in coco["categories"]}
        for im in coco["images"]:
            yield split, im, [a for a in coco["annotations"] if a["image_id"] == im["id"]], names


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def source_entries(folder: Path, json_file: str | None = None) -> dict[int, tuple]:
    """Original image id -> (image, its annotations, category id -> name)."""
    files = [folder / json_file] if json_file else \
        sorted((folder / "annotations").glob("instances_*.json"))
    found = {}
    for path in files:
        coco = json.loads(path.read_bytes())
        names = {c["id"]: c["name"] for c in coco["categories"]}
        for im in coco["images"]:
            found[im["id"]] = (im, [a for a in coco["annotations"] if a["image_id"] == im["id"]],
                               names)
    return found


def assert_same_annotations(new: list[dict], old: list[dict], new_names: dict,
                            old_names: dict) -> None:
    assert len(new) == len(old)
    for a, b in zip(new, old):
        for key, value in b.items():
            if key not in IDS:
                assert a[key] == value, (key, a[key], value)
        assert set(b) <= set(a) <= set(b) | ADDED
        assert a["iscrowd"] == b.get("iscrowd", 0)
        assert new_names[a["category_id"]] == old_names[b["category_id"]]


# --- (1) real data unchanged -----------------------------------------------------------------

def test_every_real_image_and_annotation_is_kept_unchanged(mixed, real):
    source = source_entries(real, "annotations.json")
    seen = set()
    cats = {c["id"]: c for c in coco_files(mixed)["train"]["categories"]}
    for split, im, anns, names in entries(mixed):
        if im["synthetic"]:
            continue
        old_im, old_anns, old_names = source[im["origin"]["image_id"]]
        seen.add(old_im["id"])
        assert im["origin"]["file_name"] == old_im["file_name"]
        assert {k: v for k, v in im.items() if k not in ("id", "file_name", "synthetic",
                                                           "origin")} == \
            {k: v for k, v in old_im.items() if k not in ("id", "file_name")}
        assert (mixed / "images" / split / im["file_name"]).read_bytes() == \
            (real / "imgs" / old_im["file_name"]).read_bytes()
        assert_same_annotations(anns, old_anns, names, old_names)
        for ann in anns:   # COCO's keypoint fields, no keypoint labeled: as its schema says
            schema = cats[ann["category_id"]].get("keypoints")
            assert ann["num_keypoints"] == 0
            assert ann.get("keypoints") == (None if schema is None else [0] * 3 * len(schema))
    assert seen == set(source)


def test_synthetic_images_and_annotations_are_the_simgen_ones(mixed, synthetic):
    source = source_entries(synthetic)
    chosen = []
    for split, im, anns, names in entries(mixed):
        if not im["synthetic"]:
            continue
        old_im, old_anns, old_names = source[im["origin"]["image_id"]]
        chosen.append(old_im["id"])
        assert split == "train"
        assert im["camera"] == old_im["camera"] and im["provenance"] == old_im["provenance"]
        old_split = old_im["provenance"]["split"]
        assert im["origin"] == {"dataset": synthetic.name, "split": old_split,
                                "image_id": old_im["id"], "file_name": old_im["file_name"]}
        assert (mixed / "images" / split / im["file_name"]).read_bytes() == \
            (synthetic / "images" / old_split / old_im["file_name"]).read_bytes()
        assert_same_annotations(anns, old_anns, names, old_names)
    assert chosen == sorted(chosen) and len(set(chosen)) == 4


# --- (2) the fraction ------------------------------------------------------------------------

@pytest.mark.parametrize("fraction, expected", [(0.5, 4), (0.2, 1), (0.0, 0), (1 / 3, 2),
                                                (None, 8)])
def test_the_synthetic_fraction_is_the_one_requested(real, synthetic, tmp_path, fraction,
                                                     expected):
    result = mix_datasets(real, synthetic, tmp_path / "mixed", synthetic_fraction=fraction)
    flags = [im["synthetic"] for _, im, _, _ in entries(tmp_path / "mixed")]
    assert flags.count(True) == result.synthetic_images == expected
    assert flags.count(False) == result.real_images == 4
    assert result.synthetic_fraction == expected / (4 + expected)
    manifest = json.loads((tmp_path / "mixed/manifest.json").read_bytes())
    share = expected / (4 + expected)
    assert manifest["synthetic_fraction"] == {"requested": fraction, "achieved": share,
                                              "by_split": {"train": share}, "overall": share}
    if fraction is not None:
        assert result.synthetic_fraction == pytest.approx(fraction, abs=0.5 / (4 + expected))


def test_the_seed_chooses_the_synthetic_images(real, synthetic, tmp_path):
    runs = iter(range(10))

    def chosen(seed: int) -> list[int]:
        out = tmp_path / f"run{next(runs)}"
        mix_datasets(real, synthetic, out, synthetic_fraction=0.5, seed=seed)
        return [im["origin"]["image_id"] for _, im, _, _ in entries(out) if im["synthetic"]]

    assert chosen(0) == chosen(0)
    assert chosen(0) != chosen(1)


# --- (3) categories, ids, flags --------------------------------------------------------------

def test_categories_are_matched_by_name_real_first(mixed):
    result_names = ["ball", "mug", "plant", "duck", "lego_brick", "jenga_block", "teddy_bear"]
    for coco in coco_files(mixed).values():
        cats = coco["categories"]
        assert [c["id"] for c in cats] == list(range(1, len(result_names) + 1))
        assert [c["name"] for c in cats] == result_names
        # A real category keeps its fields; simgen's cuboid keypoints are added for its boxes.
        assert cats[1]["supercategory"] == "kitchen" and len(cats[1]["keypoints"]) == 9
        assert "keypoints" not in cats[2]
    manifest = json.loads((mixed / "manifest.json").read_bytes())
    assert manifest["categories"] == {"names": result_names, "real_only": ["plant"],
                                      "synthetic_only": TABLETOP[1:5]}


def test_every_image_is_flagged_with_its_origin(mixed, real, synthetic):
    ids = []
    for split, im, _, _ in entries(mixed):
        ids.append(im["id"])
        assert isinstance(im["synthetic"], bool)
        assert set(im["origin"]) == {"dataset", "split", "image_id", "file_name"}
        assert im["origin"]["dataset"] == (synthetic.name if im["synthetic"] else real.name)
        ext = Path(im["origin"]["file_name"]).suffix
        assert im["file_name"] == f"{im['id']:09d}{ext}"
    assert sorted(ids) == list(range(1, 9))


def test_pycocotools_loads_every_file(mixed):
    for path in sorted((mixed / "annotations").glob("instances_*.json")):
        data = json.loads(path.read_bytes())
        coco = COCO(str(path))
        assert sorted(coco.getAnnIds()) == [a["id"] for a in data["annotations"]] == \
            list(range(1, len(data["annotations"]) + 1))
        assert sorted(coco.getImgIds()) == [im["id"] for im in data["images"]]
        assert sorted(coco.getCatIds()) == [c["id"] for c in data["categories"]]
        assert len(coco.getAnnIds(iscrowd=False)) == len(data["annotations"])
        split = path.stem.removeprefix("instances_")
        for im in data["images"]:
            pixels = cv2.imread(str(mixed / "images" / split / im["file_name"]))
            assert pixels.shape[:2] == (im["height"], im["width"])


def test_the_manifest_matches_every_file(mixed, real, synthetic):
    manifest = json.loads((mixed / "manifest.json").read_bytes())
    assert manifest["format"] == MIX_FORMAT == "simgen-mix/1" and manifest["seed"] == 0
    files = {p.relative_to(mixed).as_posix() for p in mixed.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    for rel, entry in manifest["files"].items():
        data = (mixed / rel).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    sources = manifest["sources"]
    raw = (real / "annotations.json").read_bytes()
    assert sources["real"]["files"] == {"annotations.json": {
        "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}}
    assert sources["real"]["images"] == 4 and sources["real"]["annotations"] == 5
    syn = sources["synthetic"]
    assert syn["manifest_sha256"] == \
        hashlib.sha256((synthetic / "manifest.json").read_bytes()).hexdigest()
    assert syn["scenario"]["name"] == "tabletop" and syn["images_available"] == 8
    assert syn["images"] == 4
    assert manifest["counts"]["images"] == {"train": 8}


def test_same_inputs_give_the_same_bytes_linked_or_copied(real, synthetic, mixed, tmp_path):
    mix_datasets(real, synthetic, tmp_path / "copied", synthetic_fraction=0.5, link="copy")
    assert snapshot(tmp_path / "copied") == snapshot(mixed)
    image = next((tmp_path / "copied/images/train").iterdir())
    assert not os.path.samefile(image, mixed / "images/train" / image.name)


def test_images_are_files_of_their_own_unless_link(mixed, real, synthetic, tmp_path):
    # An edit to a mixed image (default: a copy-on-write clone or a copy) leaves the source as
    # it was; --link hard-links, on request only.
    origin = source_entries(real, "annotations.json")
    mix_datasets(real, synthetic, tmp_path / "linked", synthetic_fraction=0.5, link="link")
    for split, im, _, _ in entries(mixed):
        if not im["synthetic"]:
            old = real / "imgs" / origin[im["origin"]["image_id"]][0]["file_name"]
            new = mixed / "images" / split / im["file_name"]
            assert not os.path.samefile(new, old) and new.read_bytes() == old.read_bytes()
            assert os.path.samefile(tmp_path / "linked/images" / split / im["file_name"], old)
    new = tmp_path / "edited"
    shutil.copytree(mixed, new)   # the module's mix stays as it was for the other tests
    im = next(im for _, im, _, _ in entries(new) if not im["synthetic"])
    old = real / "imgs" / origin[im["origin"]["image_id"]][0]["file_name"]
    before = old.read_bytes()
    mix_datasets(real, synthetic, tmp_path / "fresh", synthetic_fraction=0.5)
    with open(tmp_path / "fresh/images/train" / im["file_name"], "r+b") as f:   # in place
        f.write(b"edited")
    assert old.read_bytes() == before


# --- (4) splits --------------------------------------------------------------------------------

def test_real_splits_are_kept_and_synthetic_images_go_to_one(synthetic, tmp_path):
    real = write_handmade(tmp_path / "handmade")  # instances_train.json + instances_val.json
    result = mix_datasets(real, synthetic, tmp_path / "mixed", synthetic_fraction=0.5)
    files = coco_files(tmp_path / "mixed")
    # 2 real images in train (and 1 in val): 2 synthetic ones, in train after the real ones.
    assert list(files) == ["train", "val"] and result.splits == {"train": 4, "val": 1}
    assert [im["synthetic"] for im in files["train"]["images"]] == [False, False, True, True]
    assert [im["origin"]["split"] for im in files["val"]["images"]] == ["val"]
    assert [im["id"] for im in files["train"]["images"] + files["val"]["images"]] == \
        list(range(1, 6))
    assert result.categories[:2] == ("a", "b") and result.real_only == ("a", "b")
    assert verify(tmp_path / "mixed").ok

    result = mix_datasets(real, synthetic, tmp_path / "to_test", synthetic_split="test")
    files = coco_files(tmp_path / "to_test")
    assert list(result.splits.items()) == [("train", 2), ("val", 1), ("test", 8)]
    assert all(im["synthetic"] for im in files["test"]["images"])
    assert result.fractions == {"train": 0.0, "val": 0.0, "test": 1.0}


@pytest.mark.parametrize("fraction, split, real_there, syn_there",
                         [(0.5, "train", 2, 2), (0.25, "train", 2, 1), (0.5, "val", 1, 1),
                          (0.8, "val", 1, 4), (0.0, "val", 1, 0)])
def test_the_fraction_holds_in_the_split_the_synthetic_images_go_to(
        synthetic, tmp_path, fraction, split, real_there, syn_there):
    real = write_handmade(tmp_path / "handmade")   # train 2, val 1
    out = tmp_path / "mixed"
    result = mix_datasets(real, synthetic, out, synthetic_fraction=fraction,
                          synthetic_split=split)
    files = coco_files(out)
    flags = {s: [im["synthetic"] for im in c["images"]] for s, c in files.items()}
    assert flags[split].count(False) == real_there and flags[split].count(True) == syn_there
    other = "val" if split == "train" else "train"
    assert not any(flags[other])   # no synthetic image in the other split
    share = syn_there / (real_there + syn_there)
    assert share == pytest.approx(fraction, abs=0.5 / (real_there + syn_there))
    if syn_there * (1 - fraction) == fraction * real_there:   # exactly reachable: exact
        assert share == fraction
    manifest = json.loads((out / "manifest.json").read_bytes())
    by_split = {split: share, other: 0.0}
    assert manifest["synthetic_fraction"] == {
        "requested": fraction, "achieved": share, "by_split": by_split,
        "overall": syn_there / (3 + syn_there)}
    assert result.synthetic_fraction == share and result.fractions == by_split
    for name, coco in files.items():
        assert coco["info"]["synthetic_fraction"] == by_split[name]
    assert verify(out).ok


def test_a_fraction_of_a_split_without_real_images_is_refused(synthetic, tmp_path):
    real = write_handmade(tmp_path / "handmade")
    with pytest.raises(SimgenError, match="no images in split 'test'"):
        mix_datasets(real, synthetic, tmp_path / "mixed", synthetic_fraction=0.5,
                     synthetic_split="test")
    assert not (tmp_path / "mixed").exists()


def test_a_lone_json_goes_to_real_split(real, synthetic, tmp_path):
    result = mix_datasets(real, synthetic, tmp_path / "mixed", synthetic_fraction=0.5,
                          real_split="val", synthetic_split="val")
    assert result.splits == {"val": 8}
    assert [im["synthetic"] for im in coco_files(tmp_path / "mixed")["val"]["images"]] == \
        [False] * 4 + [True] * 4


# --- (4b) COCO tools on the result: keypoint, box and mask evaluation -----------------------

def _evaluate(coco: COCO, detections: list[dict], iou_type: str) -> float:
    evaluator = COCOeval(coco, coco.loadRes(detections), iou_type)
    if iou_type == "keypoints":
        # simgen's 9 cuboid points (8 box corners and the centre): 9 sigmas, not the person's 17
        evaluator.params.kpt_oks_sigmas = np.full(9, 0.05)
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    return float(evaluator.stats[0])


def test_pycocotools_keypoint_box_and_mask_evaluation_run_on_a_mix(mixed, capsys):
    coco = COCO(str(mixed / "annotations/instances_train.json"))
    anns = coco.loadAnns(coco.getAnnIds())
    # Every annotation has num_keypoints (COCOeval reads it for every category); those of a
    # category with a keypoint schema have its 9 points.
    assert all("num_keypoints" in a for a in anns)
    with_schema = {c["id"] for c in coco.loadCats(coco.getCatIds()) if "keypoints" in c}
    assert all(len(a["keypoints"]) == 27 for a in anns if a["category_id"] in with_schema)
    labeled = [a for a in anns if a["num_keypoints"] > 0]
    assert labeled and all(coco.imgs[a["image_id"]]["synthetic"] for a in labeled)
    # The labels as detections: keypoints from every annotation that has them (a keypoint
    # detector's output), boxes and masks from all.
    keypoint_ap = _evaluate(coco, [{**a, "score": 1.0} for a in anns if "keypoints" in a],
                            "keypoints")
    box_ap = _evaluate(coco, [{**a, "score": 1.0} for a in anns], "bbox")
    mask_ap = _evaluate(coco, [{**a, "score": 1.0} for a in anns], "segm")
    print(f"mix AP: keypoints {keypoint_ap}, bbox {box_ap}, segm {mask_ap}")
    assert box_ap == 1.0 and mask_ap == 1.0 and keypoint_ap == 1.0


# --- (5) the command line and bad input --------------------------------------------------------

def test_the_command_line_mixes(real, synthetic, mixed, tmp_path, capsys):
    code = main(["mix", "--real", str(real / "annotations.json"), "--real-images",
                 str(real / "imgs"), "--synthetic", str(synthetic), "--synthetic-fraction", "0.5",
                 "-o", str(tmp_path / "mixed")])
    out = capsys.readouterr().out
    assert code == 0
    assert "mixed 4 real and 4 of 8 synthetic images (synthetic fraction 0.5 in train" in out
    assert "only in the real data: plant" in out
    assert "only in the synthetic data: duck, lego_brick, jenga_block, teddy_bear" in out
    # The same images and annotations as the folder-given mix (only the name of the real
    # dataset, which load_coco_source takes from the path, differs).
    got, want = snapshot(tmp_path / "mixed"), snapshot(mixed)
    assert {k: v for k, v in got.items() if k.startswith("images/")} == \
        {k: v for k, v in want.items() if k.startswith("images/")}
    assert coco_files(tmp_path / "mixed")["train"]["annotations"] == \
        coco_files(mixed)["train"]["annotations"]


def _not_coco(tmp_path: Path) -> Path:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes/readme.txt").write_text("hello")
    return tmp_path / "notes"


def _full(tmp_path: Path) -> Path:
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed/keep.txt").write_text("mine")
    return tmp_path / "mixed"


BAD = {
    "fraction 1": (["--synthetic-fraction", "1"], "synthetic fraction must be >= 0 and < 1"),
    "fraction 1.5": (["--synthetic-fraction", "1.5"], "must be >= 0 and < 1"),
    "fraction < 0": (["--synthetic-fraction", "-0.1"], "must be >= 0 and < 1"),
    "fraction nan": (["--synthetic-fraction", "nan"], "must be >= 0 and < 1"),
    "too few": (["--synthetic-fraction", "0.9"],
                "needs 36 synthetic images, but the synthetic dataset has 8"),
    "bad split": (["--synthetic-split", "../x"], "synthetic split must be a folder name"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(case, real, synthetic, tmp_path,
                                                              capsys):
    extra, message = BAD[case]
    code = main(["mix", "--real", str(real), "--synthetic", str(synthetic), *extra,
                 "-o", str(tmp_path / "mixed")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("simgen: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["real not coco", "real missing", "synthetic not simgen",
                                  "real is simgen", "real is a mix", "synthetic is a mix",
                                  "output not empty", "output is a file",
                                  "output inside synthetic"])
def test_bad_datasets_exit_2_with_one_line_and_write_nothing(case, real, synthetic, mixed,
                                                             tmp_path, capsys):
    real_arg, syn_arg, out = real, synthetic, tmp_path / "mixed"
    if case == "real not coco":
        real_arg = _not_coco(tmp_path)
    elif case == "real missing":
        real_arg = tmp_path / "nowhere"
    elif case == "synthetic not simgen":
        syn_arg = write_handmade(tmp_path / "handmade")
    elif case == "real is simgen":
        real_arg = synthetic
    elif case == "real is a mix":
        real_arg = mixed
    elif case == "synthetic is a mix":
        syn_arg = mixed
    elif case == "output not empty":
        out = _full(tmp_path)
    elif case == "output is a file":
        out.write_text("mine")
    else:
        out = synthetic / "mixed"
    before = snapshot(tmp_path)
    code = main(["mix", "--real", str(real_arg), "--synthetic", str(syn_arg), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("simgen: error: "), err
    assert snapshot(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert not (synthetic / "mixed").exists()


def test_a_changed_synthetic_image_is_refused_and_nothing_is_left(real, synthetic, tmp_path):
    copy = tmp_path / "synthetic"
    shutil.copytree(synthetic, copy)
    image = max((copy / "images/train").iterdir())
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 1
    image.write_bytes(bytes(data))
    with pytest.raises(SimgenError, match="does not match the sha256"):
        mix_datasets(real, copy, tmp_path / "mixed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic"]


def test_an_interrupted_mix_leaves_nothing(real, synthetic, tmp_path, monkeypatch, capsys):
    calls = []
    real_sha = mix_module.sha256_file

    def interrupted(path):
        calls.append(path)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_sha(path)

    monkeypatch.setattr(mix_module, "sha256_file", interrupted)
    code = main(["mix", "--real", str(real), "--synthetic", str(synthetic), "-o",
                 str(tmp_path / "mixed")])
    assert code == 130 and "interrupted; nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("file_name", ["/etc/hostname", "../../../../etc/hostname", "link.png"])
def test_a_real_file_name_leading_out_of_its_folder_is_refused(real, synthetic, tmp_path,
                                                              file_name):
    hostile = tmp_path / "hostile"
    shutil.copytree(real, hostile)
    (hostile / "imgs/link.png").symlink_to("/etc/hostname")
    coco_path = next(hostile.glob("*.json"))
    coco = json.loads(coco_path.read_text())
    coco["images"][0]["file_name"] = file_name
    coco_path.write_text(json.dumps(coco))
    out = tmp_path / "out"
    with pytest.raises(SimgenError, match="not a relative path inside|leads out of"):
        mix_datasets(hostile, synthetic, out, synthetic_fraction=0.5, seed=0)
    assert not out.exists()
