"""Augmentation keeps every label exact: labels are recomputed from the augmented masks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SCENES, SMALL, check_dataset

TABLETOP = next(s for s in SCENES if s.stem == "tabletop")
COLOUR_ONLY = ("augment={pipeline: [{RandomBrightnessContrast: {p: 1}}, "
               "{HueSaturationValue: {p: 1}}, {GaussNoise: {p: 1}}]}")
GEOMETRIC = ("augment={pipeline: [{HorizontalFlip: {p: 0.5}}, {Rotate: {limit: [-30, 30], p: 1}}, "
             "{Affine: {scale: [0.8, 1.2], translate_percent: [-0.1, 0.1], p: 0.7}}, "
             "{RandomCrop: {height: 100, width: 140, p: 1}}], augmentations_per_view: 2}")
FLIP = "augment={pipeline: [{HorizontalFlip: {p: 1}}]}"


def annotations(out: Path) -> dict[int, list[dict]]:
    by_image: dict[int, list[dict]] = {}
    for path in sorted((out / "annotations").glob("*.json")):
        for ann in json.loads(path.read_text())["annotations"]:
            by_image.setdefault(ann["image_id"], []).append({k: v for k, v in ann.items() if k != "id"})
    return by_image


def images(out: Path) -> dict[int, dict]:
    return {im["id"]: im for path in sorted((out / "annotations").glob("*.json"))
            for im in json.loads(path.read_text())["images"]}


def test_colour_only_augmentation_leaves_every_label_byte_identical(make_dataset):
    plain = make_dataset(TABLETOP, images=4)
    coloured = make_dataset(TABLETOP, images=4, overrides=tuple(SMALL) + (COLOUR_ONLY,))
    assert annotations(coloured) == annotations(plain) and annotations(plain)
    for image_id, image in images(coloured).items():
        assert image["provenance"]["augment"]["render_id"] == image_id
        assert image["provenance"]["augment"]["replay"]
        name = f"images/{image['provenance']['split']}/{image['file_name']}"
        assert (coloured / name).read_bytes() != (plain / name).read_bytes()


def test_geometric_augmentation_keeps_box_equal_mask_box_and_area_pixels(make_dataset):
    out = make_dataset(TABLETOP, images=8, overrides=tuple(SMALL) + (GEOMETRIC,))
    check_dataset(out)   # bbox == box of RLE, area == RLE pixels, COCOeval AP 1.0, sizes
    ims = images(out)
    assert {(im["width"], im["height"]) for im in ims.values()} == {(140, 100)}
    # two variants of each render: images 1, 2 come from render 1, images 3, 4 from render 2
    assert [ims[i]["provenance"]["augment"]["render_id"] for i in (1, 2, 3, 4)] == [1, 1, 2, 2]
    assert ims[1]["provenance"]["augment"]["seed"] != ims[2]["provenance"]["augment"]["seed"]
    for anns in annotations(out).values():
        for ann in anns:
            assert 0.0 <= ann["visibility"] <= 1.0 and 0.0 <= ann["truncation"] <= 1.0
            for x, y, flag in zip(ann["keypoints"][0::3], ann["keypoints"][1::3], ann["keypoints"][2::3]):
                assert flag == 0 or (-0.5 <= x < 139.5 and -0.5 <= y < 99.5)


def test_horizontal_flip_mirrors_keypoints_and_masks(make_dataset):
    plain = annotations(make_dataset(TABLETOP, images=4))
    flipped = annotations(make_dataset(TABLETOP, images=4, overrides=tuple(SMALL) + (FLIP,)))
    width = 160
    assert plain.keys() == flipped.keys()
    for image_id in plain:
        before = {a["instance_index"]: a for a in plain[image_id]}
        after = {a["instance_index"]: a for a in flipped[image_id]}
        assert before.keys() == after.keys()
        for instance, a in before.items():
            b = after[instance]
            x, y, w, h = a["bbox"]
            assert b["bbox"] == [width - x - w, y, w, h] and b["area"] == a["area"]
            assert b["visibility"] == a["visibility"]
            for i in range(9):
                xa, ya, fa = a["keypoints"][3 * i:3 * i + 3]
                xb, yb, fb = b["keypoints"][3 * i:3 * i + 3]
                assert fb == fa
                if fa:
                    # Both are stored rounded to 3 decimals: up to 0.0005 each way.
                    assert abs(xb - (width - 1 - xa)) <= 1e-3 + 1e-9 and abs(yb - ya) <= 1e-3 + 1e-9


def test_one_augmented_image_alone_equals_the_same_image_of_a_full_run(make_dataset):
    overrides = tuple(SMALL) + (GEOMETRIC,)
    full = make_dataset(TABLETOP, images=8, overrides=overrides)
    alone = make_dataset(TABLETOP, images=8, overrides=overrides, image_ids=(6, 6))
    (path,) = [p for p in alone.glob("images/*/*.png")]
    assert path.name == "000000006.png"
    assert path.read_bytes() == (full / path.relative_to(alone)).read_bytes()
    assert annotations(alone)[6] == annotations(full)[6]


def test_a_pipeline_that_cannot_apply_at_the_image_size_fails_at_load():
    import pytest

    import simgen

    with pytest.raises(simgen.ScenarioError) as err:
        simgen.load_scenario(TABLETOP, SMALL + ["augment={pipeline: [{RandomCrop: {height: 500, width: 100}}]}"])
    assert "augment.pipeline" in str(err.value) and "cannot be applied to 160x120 images" in str(err.value)
