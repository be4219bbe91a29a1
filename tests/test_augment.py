"""Tests for simgen.augment: pipelines checked up front, labels exact after augmenting."""

from __future__ import annotations

import inspect
import json
import random
import subprocess
import sys
import warnings

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgen.augment import Augmenter, _albumentations, validate_pipeline
from simgen.label import annotate, mask_of

A = _albumentations()  # as simgen imports it: without albumentations' PyPI version check

SHORT = [{"HorizontalFlip": {"p": 0.5}},
         {"RandomBrightnessContrast": {"brightness_limit": 0.2}},
         {"Affine": {"rotate": [-20, 20], "p": 0.5}}]
COLOUR = [{"RandomBrightnessContrast": {"p": 1}}, {"HueSaturationValue": {"p": 1}},
          {"GaussNoise": {"p": 1}}]


def scene(height: int = 48, width: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A textured image and an instance map with three overlapping objects (ids 1, 4, 9)."""
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    instance_map = np.zeros((height, width), np.int32)
    instance_map[5:20, 4:30] = 1
    instance_map[15:40, 25:50] = 4
    instance_map[30:45, 10:20] = 9
    return rgb, instance_map


def tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
            int(ys.max() - ys.min() + 1))


def assert_labels_exact(before: np.ndarray, after: np.ndarray) -> None:
    """No invented ids, and annotate's boxes/areas/RLE are exactly those of the augmented map."""
    assert after.dtype == np.int32
    ids = set(np.unique(before).tolist()) - {0}
    assert set(np.unique(after).tolist()) <= ids | {0}
    labels = annotate(after, {i: 1 for i in ids}, 1)
    assert [label.instance_id for label in labels] == sorted(set(np.unique(after).tolist()) - {0})
    for label in labels:
        mask = after == label.instance_id
        assert label.bbox_xywh == tight_box(mask)
        assert label.area == int(mask.sum())
        assert np.array_equal(mask_of(label.segmentation), mask)


# --------------------------------------------------------------------------- validation


def test_short_form_gives_albumentations_serialized_form():
    canonical = validate_pipeline(SHORT)
    assert canonical["__version__"] == A.__version__
    steps = canonical["transform"]["transforms"]
    assert [s["__class_fullname__"] for s in steps] == ["HorizontalFlip",
                                                         "RandomBrightnessContrast", "Affine"]
    assert steps[1]["brightness_limit"] == [-0.2, 0.2]
    assert steps[2]["rotate"] == [-20.0, 20.0] and steps[2]["p"] == 0.5
    # plain JSON data, stable under a JSON round trip (it is stored and hashed)
    assert json.loads(json.dumps(canonical)) == canonical
    # the same pipeline written by albumentations itself validates to the same dict
    built = A.Compose([A.HorizontalFlip(p=0.5), A.RandomBrightnessContrast(brightness_limit=0.2),
                       A.Affine(rotate=(-20, 20), p=0.5)])
    assert validate_pipeline(A.to_dict(built)) == canonical


@pytest.mark.parametrize("spec", [
    SHORT,
    COLOUR,
    [],
    ["HorizontalFlip", {"VerticalFlip": None}],
    [{"OneOf": {"transforms": [{"Blur": {}}, {"GaussNoise": {"std_range": [0.1, 0.2]}}],
                "p": 0.3}},
     {"SomeOf": {"transforms": [{"Rotate": {"limit": 10}}, {"RandomScale": {}}], "n": 1}}],
    [{"Resize": {"height": 32, "width": 40}}, {"PadIfNeeded": {"min_height": 64, "min_width": 64}},
     {"SafeRotate": {"limit": 15}}, {"RGBShift": {}}],
    A.to_dict(A.Compose([A.OneOf([A.MotionBlur(), A.MedianBlur()]), A.RandomCrop(20, 20),
                         A.CoarseDropout(fill_mask=0)], p=0.9)),
])
def test_validate_round_trips(spec):
    once = validate_pipeline(spec)
    assert validate_pipeline(once) == once
    assert Augmenter(spec).pipeline == once
    assert Augmenter(once).pipeline == once


def test_resizing_transforms_store_exact_nearest_for_masks():
    [step] = validate_pipeline([{"Resize": {"height": 10, "width": 10}}])["transform"]["transforms"]
    assert step["mask_interpolation"] == cv2.INTER_NEAREST_EXACT
    [step] = validate_pipeline([{"Rotate": {}}])["transform"]["transforms"]
    assert step["mask_interpolation"] == cv2.INTER_NEAREST and step["fill_mask"] == 0


@pytest.mark.parametrize("spec, message", [
    ([{"HorizontalFlip": {}}, {"RandomBrightnessContrast": {"brightnes_limit": 0.2}}],
     ("[1] RandomBrightnessContrast: unknown argument 'brightnes_limit' "
      "(did you mean 'brightness_limit'?)")),
    ([{"NoSuchTransform": {}}], "[0] NoSuchTransform: not an albumentations transform"),
    ([{"HorizontalFlp": {}}],
     "[0] HorizontalFlp: not an albumentations transform (did you mean 'HorizontalFlip'?)"),
    ([{"KeypointParams": {}}], "[0] KeypointParams: not an albumentations transform"),
    ([{"OneOf": {"transforms": [{"Blur": {}}, {"Blurr": {}}]}}],
     "[0].transforms[1] Blurr: not an albumentations transform"),
    ([{"Affine": {"rotate": [-20, 20, 3]}}], "[0] Affine: rotate: tuple should have at most 2"),
    ([{"HorizontalFlip": {"p": 2}}], "[0] HorizontalFlip: p: input should be less than or equal"),
    ([{"RandomCrop": {"height": 10}}], "[0] RandomCrop: missing required argument 'width'"),
    ([{"Blur": [3, 7]}], "[0] Blur: arguments must be a mapping"),
    ([{"Blur": {}, "GaussNoise": {}}], "[0]: expected {TransformName: {argument: value}}"),
    ([{"Mosaic": {}}], "[0] Mosaic: refused: mixes in other images"),
    ([{"Morphological": {}}], "[0] Morphological: refused"),
    ([{"Normalize": {}}], "[0] Normalize: refused"),
    ([{"RandomSizedBBoxSafeCrop": {"height": 8, "width": 8}}],
     "[0] RandomSizedBBoxSafeCrop: refused"),
    ([{"CenterCrop3D": {"size": [2, 2, 2]}}], "[0] CenterCrop3D: refused: a 3D"),
    ([{"Compose": {"transforms": []}}], "[0] Compose: refused"),
    ([{"CoarseDropout": {}}], "[0] CoarseDropout: fill_mask must be 0"),
    ([{"PixelDropout": {}}], "[0] PixelDropout: mask_drop_value must be 0"),
    ([{"Rotate": {"mask_interpolation": 1}}], "[0] Rotate: mask_interpolation must be 0"),
    ([{"Resize": {"height": 9, "width": 9, "mask_interpolation": 1}}],
     "[0] Resize: mask_interpolation must be 0"),
    ([{"Affine": {"border_mode": cv2.BORDER_REFLECT_101}}], "[0] Affine: border_mode must be 0"),
    ([{"Affine": {"fill_mask": 3}}], "[0] Affine: fill_mask must be 0"),
    ([{"ToGray": {"num_output_channels": 1}}], "[0] ToGray: num_output_channels must be 3"),
    # an albumentations warning refuses the step (a valid pipeline is quiet)
    ([{"ShiftScaleRotate": {}}], "[0] ShiftScaleRotate: ShiftScaleRotate is a special case"),
    ("HorizontalFlip", "an augment pipeline is a list"),
    ({"HorizontalFlip": {"p": 1}}, "an augment pipeline is a list"),
    (3, "an augment pipeline is a list"),
    ({"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "transforms": [],
                                            "bogus": 1}},
     "serialized pipeline: Compose: unknown argument 'bogus'"),
    ({"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose",
                                            "transforms": [{"__class_fullname__": "SafeRotate",
                                                            "limit": [-10, 10],
                                                            "rotate": [-90, 90]}]}},
     "[0] SafeRotate: 'rotate' is derived from the other arguments"),
])
def test_bad_pipelines_give_one_line_naming_the_step(spec, message):
    with pytest.raises(ValueError) as err:
        validate_pipeline(spec)
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError):
        Augmenter(spec)


def test_every_albumentations_transform_is_refused_clearly_or_keeps_labels_exact():
    """Each image transform albumentations exports either fails validation with a message naming
    it, or runs (with default arguments) keeping image, map and keypoints consistent."""
    required = {
        "RandomCrop": {"height": 30, "width": 40}, "CenterCrop": {"height": 30, "width": 40},
        "Crop": {"x_max": 40, "y_max": 30}, "Resize": {"height": 70, "width": 90},
        "RandomSizedCrop": {"min_max_height": [20, 40], "size": [50, 50]},
        "RandomResizedCrop": {"size": [50, 50]}, "CropAndPad": {"px": [-5, 10]},
        "GridElasticDeform": {"num_grid_xy": [4, 4], "magnitude": 5},
        "CoarseDropout": {"fill_mask": 0}, "Erasing": {"fill_mask": 0},
        "ConstrainedCoarseDropout": {"fill_mask": 0, "mask_indices": [1]},
        "GridDropout": {"fill_mask": 0}, "PixelDropout": {"mask_drop_value": 0},
        "XYMasking": {"fill_mask": 0, "num_masks_x": 2, "mask_x_length": 5},
        "PadIfNeeded": {"min_height": 64, "min_width": 80}, "Pad": {"padding": 4},
        "LongestMaxSize": {"max_size": 80}, "SmallestMaxSize": {"max_size": 60},
        "CropNonEmptyMaskIfExists": {"height": 30, "width": 30},
    }
    rgb, instance_map = scene()
    keypoints = np.array([[10.0, 10.0], [40.0, 30.0], [0.0, 0.0], [63.0, 47.0]])
    accepted = []
    for name in sorted(dir(A)):
        cls = getattr(A, name)
        if not inspect.isclass(cls) or not hasattr(cls, "InitSchema"):
            continue
        try:
            spec = validate_pipeline([{name: {**required.get(name, {}), "p": 1.0}}])
        except ValueError as err:
            assert str(err).startswith(f"[0] {name}: "), str(err)
            continue
        accepted.append(name)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = Augmenter(spec).apply(rgb, instance_map, keypoints, seed=1)
        assert out.rgb.dtype == np.uint8 and out.rgb.shape[2] == 3, name
        assert out.instance_map.shape == out.rgb.shape[:2], name
        assert out.keypoints_xy.shape == keypoints.shape, name
        json.dumps(out.replay)
        assert_labels_exact(instance_map, out.instance_map)
    for name in ("HorizontalFlip", "Affine", "Perspective", "RandomResizedCrop", "GaussNoise",
                 "ElasticTransform", "CoarseDropout", "MaskDropout", "RandomGridShuffle"):
        assert name in accepted
    assert len(accepted) > 60


def test_valid_pipelines_are_quiet():
    specs = [SHORT, COLOUR, [{"MaskDropout": {"p": 1}}, {"Resize": {"height": 20, "width": 20}}]]
    code = (
        "import numpy as np\n"
        "from simgen.augment import Augmenter, validate_pipeline\n"
        "rgb = np.zeros((32, 32, 3), np.uint8)\n"
        "m = np.zeros((32, 32), np.int32)\n"
        "m[4:9, 4:9] = 1\n"
        f"for spec in {specs!r}:\n"
        "    aug = Augmenter(validate_pipeline(spec))\n"
        "    aug.apply(rgb, m, np.array([[5.0, 5.0]]), seed=0)\n")
    proc = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True,
                          text=True, check=True)
    assert proc.stderr == ""


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_whatever_ran_before():
    spec = SHORT + COLOUR + [{"RandomResizedCrop": {"size": [40, 40], "p": 0.5}},
                             {"OneOf": {"transforms": ["Blur", "MotionBlur"]}}]
    rgb, instance_map = scene()
    keypoints = np.array([[10.0, 10.0], [40.0, 30.0]])
    fresh = Augmenter(spec).apply(rgb, instance_map, keypoints, seed=11)
    used = Augmenter(spec)
    for seed in (0, 5, 12345):
        used.apply(rgb, instance_map, keypoints, seed=seed)
    np.random.seed(99)            # global generators must not matter
    random.seed(99)
    cv2.setRNGSeed(99)
    again = used.apply(rgb, instance_map, keypoints, seed=11)
    for a, b in ((fresh, again), (fresh, used.apply(rgb, instance_map, keypoints, seed=11))):
        assert a.rgb.tobytes() == b.rgb.tobytes()
        assert a.instance_map.tobytes() == b.instance_map.tobytes()
        assert a.keypoints_xy.tobytes() == b.keypoints_xy.tobytes()
        assert json.dumps(a.replay) == json.dumps(b.replay)


def test_different_seeds_differ():
    aug = Augmenter(COLOUR)
    rgb, instance_map = scene()
    first = aug.apply(rgb, instance_map, np.zeros((0, 2)), seed=1)
    second = aug.apply(rgb, instance_map, np.zeros((0, 2)), seed=2)
    assert first.rgb.tobytes() != second.rgb.tobytes()


def test_transforms_draw_independently():
    # Compose.set_random_seed would seed both flips alike, so they would always fire together.
    aug = Augmenter([{"HorizontalFlip": {"p": 0.5}}, {"VerticalFlip": {"p": 0.5}}])
    rgb, instance_map = scene()
    fired = set()
    for seed in range(32):
        replay = aug.apply(rgb, instance_map, np.zeros((0, 2)), seed=seed).replay
        fired.add(tuple(step["applied"] for step in replay["transforms"]))
    assert fired == {(False, False), (False, True), (True, False), (True, True)}


# --------------------------------------------------------------------------- exact labels


def test_colour_only_pipeline_leaves_labels_untouched():
    rgb, instance_map = scene()
    keypoints = np.array([[3.25, 4.5], [63.0, 47.0], [-2.0, 50.0]])
    out = Augmenter(COLOUR).apply(rgb, instance_map, keypoints, seed=3)
    assert out.instance_map.tobytes() == instance_map.tobytes()
    assert out.keypoints_xy.tobytes() == keypoints.tobytes()
    assert out.rgb.shape == rgb.shape and out.rgb.tobytes() != rgb.tobytes()
    assert [step["applied"] for step in out.replay["transforms"]] == [True, True, True]


def test_colour_only_pipeline_gives_the_same_image_without_the_label_layers():
    """simgen.scene passes a photometric pipeline the image alone (no keypoints, no alone masks
    or depth): the image and the replay record are those of the call with every layer."""
    rgb, instance_map = scene()
    augmenter = Augmenter(COLOUR)
    assert not augmenter.moves_pixels and Augmenter(GEOMETRIC["hflip"]).moves_pixels
    keypoints = np.array([[3.25, 4.5], [63.0, 47.0]])
    layers = [(instance_map == 1).astype(np.int32), instance_map * 7]
    full = augmenter.apply(rgb, instance_map, keypoints, seed=11, masks=layers)
    bare = augmenter.apply(rgb, instance_map, np.zeros((0, 2)), seed=11)
    assert bare.rgb.tobytes() == full.rgb.tobytes() != rgb.tobytes()
    assert bare.replay == full.replay
    assert [layer.tobytes() for layer in full.masks] == [layer.tobytes() for layer in layers]


@st.composite
def instance_maps(draw) -> np.ndarray:
    height = draw(st.integers(12, 40))
    width = draw(st.integers(12, 40))
    instance_map = np.zeros((height, width), np.int32)
    for _ in range(draw(st.integers(1, 5))):
        instance = draw(st.integers(1, 300))
        x0, y0 = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
        x1, y1 = draw(st.integers(x0 + 1, width)), draw(st.integers(y0 + 1, height))
        instance_map[y0:y1, x0:x1] = instance
    return instance_map


GEOMETRIC = {
    "hflip": [{"HorizontalFlip": {"p": 1}}],
    "rotate": [{"Rotate": {"limit": [25, 25], "p": 1}}],
    "affine": [{"Affine": {"rotate": 25, "scale": 1.2, "shear": 5, "p": 1}}],
    "crop": [{"RandomCrop": {"height": 10, "width": 10, "p": 1}}],
    "resized_crop": [{"RandomResizedCrop": {"size": [23, 31], "p": 1}}],
    "resize": [{"Resize": {"height": 29, "width": 17}}],
    "perspective": [{"Perspective": {"scale": [0.05, 0.15], "p": 1}}],
    "elastic": [{"ElasticTransform": {"p": 1}}],
    "dropout": [{"CoarseDropout": {"fill_mask": 0, "p": 1}}],
    "mixed": SHORT + [{"RandomScale": {"scale_limit": 0.3, "p": 1}}],
}
AUGMENTERS = {name: Augmenter(spec) for name, spec in GEOMETRIC.items()}


@pytest.mark.parametrize("name", sorted(GEOMETRIC))
@settings(max_examples=25, deadline=None)
@given(instance_map=instance_maps(), seed=st.integers(0, 2**32))
def test_geometric_transforms_keep_labels_exact(name, instance_map, seed):
    height, width = instance_map.shape
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = AUGMENTERS[name].apply(rgb, instance_map, np.zeros((0, 2)), seed=seed)
    assert out.instance_map.shape == out.rgb.shape[:2]
    assert_labels_exact(instance_map, out.instance_map)


def test_crop_changes_size_of_image_and_map_together():
    rgb, instance_map = scene()
    out = Augmenter([{"RandomResizedCrop": {"size": [30, 20], "p": 1}}]).apply(
        rgb, instance_map, np.zeros((0, 2)), seed=4)
    assert out.rgb.shape == (30, 20, 3) and out.instance_map.shape == (30, 20)


@settings(max_examples=50, deadline=None)
@given(height=st.integers(4, 30), width=st.integers(4, 30), data=st.data())
def test_hflip_moves_pixel_centres_to_w_minus_1_minus_x(height, width, data):
    x = data.draw(st.integers(0, width - 1))
    y = data.draw(st.integers(0, height - 1))
    instance_map = np.zeros((height, width), np.int32)
    instance_map[y, x] = 5
    rgb = np.zeros((height, width, 3), np.uint8)
    keypoints = np.array([[x, y], [x + 0.25, y - 0.5]], dtype=float)
    out = AUGMENTERS["hflip"].apply(rgb, instance_map, keypoints, seed=0)
    assert out.keypoints_xy[0].tolist() == [width - 1 - x, y]
    assert out.keypoints_xy[1] == pytest.approx([width - 1 - x - 0.25, y - 0.5], abs=1e-4)
    assert out.instance_map[y, width - 1 - x] == 5
    assert np.count_nonzero(out.instance_map) == 1


@pytest.mark.parametrize("step, factor", [
    ({"Resize": {"height": 40, "width": 60}}, 2),
    ({"Resize": {"height": 60, "width": 90}}, 3),
    ({"RandomScale": {"scale_limit": [1.0, 1.0], "p": 1}}, 2),
    ({"LongestMaxSize": {"max_size": 60}}, 2),
    ({"RandomSizedCrop": {"min_max_height": [20, 20], "w2h_ratio": 1.0, "size": [40, 40]}}, 2),
])
def test_resizing_keeps_keypoints_on_their_pixel(step, factor):
    # A pixel scaled by an integer factor becomes a factor x factor block; under the pixel-centre
    # convention its keypoint must land on the block's centre (albumentations alone is off by
    # (factor - 1) / 2 there).
    height, width = 20, 30
    rng = np.random.default_rng(1)
    points = np.stack([rng.permutation(width)[:15], rng.permutation(height)[:15]], axis=1)
    instance_map = np.zeros((height, width), np.int32)
    instance_map[points[:, 1], points[:, 0]] = np.arange(1, 16)
    rgb = np.zeros((height, width, 3), np.uint8)
    out = Augmenter([step]).apply(rgb, instance_map, points.astype(float), seed=2)
    seen = 0
    for index in range(15):
        ys, xs = np.nonzero(out.instance_map == index + 1)
        if xs.size == 0:  # cropped away
            continue
        assert xs.size == factor * factor
        assert out.keypoints_xy[index].tolist() == [xs.mean(), ys.mean()]
        seen += 1
    assert seen >= 3


def test_resized_map_stays_aligned_with_resized_image():
    # cv2.resize with INTER_NEAREST samples corners and would shift the map about half an output
    # pixel right and down against the image; simgen resizes maps with INTER_NEAREST_EXACT.
    rng = np.random.default_rng(0)
    offsets = []
    aug = Augmenter([{"Resize": {"height": 82, "width": 110}}])  # 1.37x
    for _ in range(40):
        instance_map = np.zeros((60, 80), np.int32)
        x, y = rng.integers(5, 65), rng.integers(5, 45)
        instance_map[y:y + rng.integers(3, 9), x:x + rng.integers(3, 9)] = 1
        rgb = np.repeat((instance_map * 255).astype(np.uint8)[..., None], 3, axis=2)
        out = aug.apply(rgb, instance_map, np.zeros((0, 2)), seed=0)
        ys, xs = np.nonzero(out.instance_map == 1)
        weight = out.rgb[..., 0].astype(float)
        yy, xx = np.mgrid[:82, :110]
        offsets.append((xs.mean() - (xx * weight).sum() / weight.sum(),
                        ys.mean() - (yy * weight).sum() / weight.sum()))
    mean = np.abs(np.mean(offsets, axis=0))
    assert (mean < 0.15).all(), mean


def test_lost_and_missing_keypoints_come_back_nan():
    rgb, instance_map = scene()
    keypoints = np.array([[10.0, 10.0], [np.nan, np.nan], [40.0, 30.0]])
    out = AUGMENTERS["hflip"].apply(rgb, instance_map, keypoints, seed=0)
    assert out.keypoints_xy.shape == (3, 2)
    assert np.isnan(out.keypoints_xy[1]).all()
    assert out.keypoints_xy[[0, 2]].tolist() == [[53.0, 10.0], [23.0, 30.0]]
    # points a warp cannot follow are dropped by albumentations; the row stays, as NaN
    far = np.array([[10.0, 10.0], [-500.0, -500.0], [40.0, 30.0]])
    out = Augmenter([{"ThinPlateSpline": {"p": 1}}]).apply(rgb, instance_map, far, seed=0)
    assert out.keypoints_xy.shape == (3, 2)
    assert np.isfinite(out.keypoints_xy[[0, 2]]).all()


def test_replay_records_what_was_applied_as_json():
    rgb, instance_map = scene()
    out = Augmenter([{"HorizontalFlip": {"p": 1}}, {"Affine": {"rotate": [10, 10], "p": 1}},
                     {"GaussNoise": {"p": 1}}, {"VerticalFlip": {"p": 0}}]).apply(
        rgb, instance_map, np.zeros((0, 2)), seed=0)
    replay = json.loads(json.dumps(out.replay, allow_nan=False))
    assert replay == out.replay
    flip, affine, noise, vflip = replay["transforms"]
    assert flip["__class_fullname__"] == "HorizontalFlip" and flip["applied"]
    assert affine["params"]["rotate"] == 10.0
    assert np.asarray(affine["params"]["matrix"]).shape == (3, 3)
    assert noise["params"]["noise_map"].startswith("<float32 array 48x64")  # summarized
    assert vflip == {"__class_fullname__": "VerticalFlip", "applied": False}
    assert "id" not in json.dumps(replay).replace('"', " ").split()


def test_apply_checks_its_inputs():
    aug = AUGMENTERS["hflip"]
    rgb, instance_map = scene()
    with pytest.raises(ValueError, match="instance_map must be int32"):
        aug.apply(rgb, instance_map.astype(np.int64), np.zeros((0, 2)), seed=0)
    with pytest.raises(ValueError, match="rgb must be uint8"):
        aug.apply(rgb.astype(np.float32), instance_map, np.zeros((0, 2)), seed=0)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        aug.apply(rgb, instance_map, np.zeros((0, 2)), seed=-1)


def test_empty_pipeline_is_identity():
    rgb, instance_map = scene()
    keypoints = np.array([[1.5, 2.5]])
    out = Augmenter([]).apply(rgb, instance_map, keypoints, seed=0)
    assert out.rgb.tobytes() == rgb.tobytes()
    assert out.instance_map.tobytes() == instance_map.tobytes()
    assert out.keypoints_xy.tolist() == [[1.5, 2.5]]


@pytest.mark.parametrize("spec", [SHORT, [{"ElasticTransform": {"p": 1}}, {"GridDistortion": {"p": 1}},
                                          {"Rotate": {"limit": [-40, 40], "p": 1}},
                                          {"RandomResizedCrop": {"size": [40, 50], "p": 1}}]])
def test_extra_layers_in_one_call_take_the_transform_of_the_instance_map(spec):
    """scene.py augments every per-pixel layer (alone masks, depth) with the image in one call:
    each layer comes out as it would alone, under the same seed."""
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    instance_map = rng.integers(0, 5, (60, 80)).astype(np.int32)
    alone = (rng.random((60, 80)) > 0.5).astype(np.int32)
    depth = rng.integers(0, 65535, (60, 80)).astype(np.int32)
    augmenter = Augmenter(spec)
    together = augmenter.apply(rgb, instance_map, np.zeros((0, 2)), 11, masks=[alone, depth])
    assert len(together.masks) == 2
    for layer, out in zip((alone, depth), together.masks):
        single = augmenter.apply(rgb, layer, np.zeros((0, 2)), 11)
        np.testing.assert_array_equal(out, single.instance_map)
    np.testing.assert_array_equal(together.rgb, augmenter.apply(rgb, instance_map,
                                                                np.zeros((0, 2)), 11).rgb)
    with pytest.raises(ValueError, match=r"masks\[0\] must be int32"):
        augmenter.apply(rgb, instance_map, np.zeros((0, 2)), 11, masks=[alone.astype(np.uint8)])
