"""Augmentation: albumentations pipelines, checked before a run and applied with exact labels.

This is the only module that imports albumentations (and it does so inside functions, so that
`import simgen` stays light). A scenario names its pipeline in one of two forms:

* the short list form, one `{TransformName: {argument: value}}` mapping per step (the name is an
  albumentations class name, the mapping its constructor arguments; `{HorizontalFlip: null}` or a
  bare `HorizontalFlip` takes the defaults). `OneOf`, `SomeOf`, `Sequential` and `RandomOrder`
  nest: `{OneOf: {transforms: [{Blur: {}}, {GaussNoise: {}}], p: 0.3}}`;
* albumentations' own serialized form, the dict `A.to_dict(compose)` returns.

`validate_pipeline` turns either into the canonical serialized dict (`A.to_dict` of the built
`Compose`, as plain JSON data), which is what the resolved scenario stores and hashes, and refuses
every step that cannot keep the labels exact. `Augmenter` applies a pipeline to an image, its
int32 instance map and its keypoints; the labels are recomputed from the augmented map
afterwards (`simgen.label.annotate`), never moved from box corners.

Label exactness, and what is refused because of it:

* The instance map is warped with nearest-neighbour sampling only, so it never holds an id that
  was not there before. Resizing transforms (`_RESIZING`) use cv2.INTER_NEAREST_EXACT for it:
  plain INTER_NEAREST in cv2.resize samples from pixel corners, which shifts the map by about half
  an output pixel against the image (measured: +0.5 px mean offset at 1.37x and 2.6x, under 0.1 px
  with EXACT); warps (Affine, Rotate, Perspective, ...) take INTER_NEAREST, which is centre-aligned.
  Every border or hole a transform fills must be background in the map too (`fill_mask` /
  `mask_drop_value` 0), and borders are constant (reflecting or replicating them would copy
  objects, one id then covering two places).
* Transforms that need data simgen does not pass (other images: Mosaic, FDA, ...; boxes: the
  BBoxSafe crops), change the image type (Normalize, ToFloat), or treat image and map by different
  rules (Morphological) are refused, as are 3D transforms. albumentations' own warnings (such as
  "ShiftScaleRotate is a special case of Affine") refuse a step too, so a valid pipeline is quiet.

Keypoints use simgen's pixel-centre convention: pixel (i, j) covers [i - 0.5, i + 0.5] and its
centre is (i, j), so a horizontal flip maps x to W - 1 - x. albumentations 2.0.8 uses that same
convention for flips, rotations, affine and perspective warps, crops and pads (its hflip is
x -> W - 1 - x, so no conversion is needed there), but its resizing transforms scale keypoints as
if pixel corners were integers (x -> s * x, where the image resize maps centres:
x -> s * (x + 0.5) - 0.5). For those transforms the keypoints are shifted by +0.5 before and -0.5
after the transform's own keypoint function. (Perspective's `keep_size` looks alike but is not: it
folds the resize into the warp matrix, which cv2 applies to centres.) A keypoint a transform
cannot map (ThinPlateSpline drops points it cannot follow) comes back NaN, as does a NaN keypoint
given in.

Determinism: each `apply` hands every transform one shared pair of generators made from its
`seed` (`np.random.default_rng(seed)`, `random.Random(seed)`), so the same seed gives the same
bytes whatever ran before. (`Compose.set_random_seed` is not used: it seeds every transform with
the same seed, so two p=0.5 flips in one pipeline would always fire together.) albumentations seeds
OpenCV's noise generator from those generators itself. An Augmenter holds state while it runs:
use one per thread.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import os
import random
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

# Nested compositions a pipeline may use; Compose itself only at the top.
_NESTING = ("OneOf", "SomeOf", "Sequential", "RandomOrder")
# Base classes and helpers that albumentations exports but that are not transforms to use.
_NOT_TRANSFORMS = {"BasicTransform", "DualTransform", "ImageOnlyTransform", "Transform3D",
                   "BaseCompose", "NoOp3D"}
_REFUSED = {
    "Compose": "nests only as OneOf, SomeOf, Sequential or RandomOrder",
    "ReplayCompose": "nests only as OneOf, SomeOf, Sequential or RandomOrder",
    "OneOrOther": "is not supported; use OneOf",
    "SelectiveChannelTransform": "applies its transforms to some channels only",
    "Mosaic": "mixes in other images, whose labels simgen does not pass",
    "OverlayElements": "pastes in elements whose labels simgen does not pass",
    "FDA": "needs reference images passed with each image",
    "HistogramMatching": "needs reference images passed with each image",
    "PixelDistributionAdaptation": "needs reference images passed with each image",
    "TextImage": "needs text metadata passed with each image",
    "Lambda": "runs arbitrary code and cannot be serialized",
    "RandomCropNearBBox": "needs a crop box passed with each image",
    "BBoxSafeRandomCrop": "needs boxes as input; simgen computes boxes after augmenting",
    "RandomSizedBBoxSafeCrop": "needs boxes as input; simgen computes boxes after augmenting",
    "AtLeastOneBBoxRandomCrop": "needs boxes as input; simgen computes boxes after augmenting",
    "Morphological": "erodes or dilates the image and the instance map by different rules",
    "Normalize": "turns the image into floats; simgen writes uint8 images",
    "ToFloat": "turns the image into floats; simgen writes uint8 images",
    "FromFloat": "expects a float image; simgen's images are uint8",
    "ToRGB": "expects a one-channel image; simgen's images are RGB",
    "ToTensorV2": "turns the image into a tensor; simgen writes uint8 images",
}
# Transforms that resize with cv2.resize. Their masks are resized with INTER_NEAREST_EXACT:
# plain INTER_NEAREST samples pixel corners, so it shifts the map by about half an output pixel
# against the (centre-aligned) resized image. Their keypoint functions scale corner-based
# coordinates (see the module docstring).
_RESIZING = ("Resize", "RandomScale", "LongestMaxSize", "SmallestMaxSize", "RandomSizedCrop",
             "RandomResizedCrop", "CropAndPad")
# Replay arrays up to this many elements are kept (affine matrices); bigger ones (noise maps,
# distortion fields) are summarized, or every image record would carry a full-size array.
_MAX_REPLAY_ARRAY = 64


@dataclass(frozen=True)
class AugmentResult:
    rgb: np.ndarray              # uint8 H' x W' x 3
    instance_map: np.ndarray     # int32 H' x W', ids from the input map (or 0)
    keypoints_xy: np.ndarray     # float64 N x 2, pixel-centre convention; NaN where lost
    replay: dict                 # JSON-safe record of the transforms applied and their parameters
    masks: tuple[np.ndarray, ...] = ()   # the extra int32 layers, transformed like instance_map


def validate_pipeline(spec: list | dict) -> dict:
    """The canonical serialized form (`A.to_dict` of the built Compose, as JSON data) of a
    pipeline given in the short list form or albumentations' serialized form.

    Raises ValueError with one line naming the step, e.g.
    `[1] RandomBrightnessContrast: unknown argument 'brightnes_limit'`."""
    A = _albumentations()
    transforms, p = _build_pipeline(A, spec)
    return _canonical(A, transforms, p)


class Augmenter:
    """One validated pipeline, ready to apply. `serialized` is either form `validate_pipeline`
    takes (normally its output)."""

    def __init__(self, serialized: dict | list):
        A = _albumentations()
        transforms, p = _build_pipeline(A, serialized)
        self.pipeline = _canonical(A, transforms, p)
        with warnings.catch_warnings():
            # Neither applies here: an image-only pipeline leaves keypoints alone, and the replay
            # record is never replayed onto other data.
            warnings.filterwarnings("ignore", "Got processor for keypoints, but no transform")
            warnings.filterwarnings("ignore", ".* could work incorrectly in ReplayMode")
            self._compose = A.ReplayCompose(
                transforms, p=p,
                keypoint_params=A.KeypointParams(format="xy", label_fields=["keypoint_ids"],
                                                 remove_invisible=False))
        _fix_keypoint_convention(self._compose)
        # Whether any step moves pixels. When none does, every per-pixel layer and keypoint comes
        # back as it went in: albumentations carries keypoints as float32, so an image-only
        # pipeline hands them back untouched (not rounded), and callers need not pass layers.
        self.moves_pixels = _has_dual_transform(self._compose)

    def apply(self, rgb: np.ndarray, instance_map: np.ndarray, keypoints_xy: np.ndarray,
              seed: int, masks: Sequence[np.ndarray] = ()) -> AugmentResult:
        """Augment an image, its instance map, any further per-pixel int32 layers (`masks`: an
        object's alone mask, depth) and its keypoints together, in one call: every layer takes
        the same transform (labels nearest-neighbour), the image is augmented once. The same
        `seed` gives byte-identical results."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"rgb must be uint8 H x W x 3 (got {rgb.dtype} {rgb.shape})")
        if instance_map.dtype != np.int32 or instance_map.shape != rgb.shape[:2]:
            raise ValueError(f"instance_map must be int32 {rgb.shape[:2]} "
                             f"(got {instance_map.dtype} {instance_map.shape})")
        for index, layer in enumerate(masks):
            if layer.dtype != np.int32 or layer.shape != rgb.shape[:2]:
                raise ValueError(f"masks[{index}] must be int32 {rgb.shape[:2]} "
                                 f"(got {layer.dtype} {layer.shape})")
        seed = int(seed)
        if seed < 0:
            raise ValueError(f"seed must be >= 0 (got {seed})")
        points = np.asarray(keypoints_xy, dtype=np.float64).reshape(-1, 2)
        finite = np.flatnonzero(np.isfinite(points).all(axis=1))
        self._compose.set_random_state(np.random.default_rng(seed), random.Random(seed))
        layers = {"masks": list(masks)} if len(masks) else {}
        out = self._compose(image=rgb, mask=instance_map, keypoints=points[finite],
                            keypoint_ids=finite, **layers)
        image, mask = out["image"], out["mask"]
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise RuntimeError(f"the pipeline made a {image.dtype} {image.shape} image")
        if mask.shape != image.shape[:2]:  # pragma: no cover - albumentations keeps them equal
            raise RuntimeError(f"image {image.shape} and instance map {mask.shape} disagree")
        if not self.moves_pixels:
            moved = points.copy()
        else:
            moved = np.full(points.shape, np.nan)
            kept = np.asarray(out["keypoint_ids"], dtype=np.int64)
            if kept.size:
                moved[kept] = np.asarray(out["keypoints"], dtype=np.float64)[:, :2]
        extra = tuple(np.ascontiguousarray(layer, dtype=np.int32)
                      for layer in (out["masks"] if len(masks) else ()))
        if any(layer.shape != mask.shape for layer in extra):  # pragma: no cover
            raise RuntimeError("albumentations returned masks of another size than the mask")
        return AugmentResult(np.ascontiguousarray(image),
                             np.ascontiguousarray(mask, dtype=np.int32),
                             moved, _replay_record(out["replay"]), extra)


def _has_dual_transform(transform: Any) -> bool:
    """Whether a (nested) pipeline holds any transform that moves pixels (and so keypoints)."""
    import albumentations as A

    children = getattr(transform, "transforms", None)
    if children is not None:
        return any(_has_dual_transform(child) for child in children)
    return isinstance(transform, A.DualTransform)


# --- building and checking ---------------------------------------------------------------------

def _albumentations() -> Any:
    # Without this, importing albumentations asks PyPI for a newer version (a network call, and a
    # warning when offline or outdated).
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    import albumentations

    return albumentations


def _build_pipeline(A: Any, spec: Any) -> tuple[list, float]:
    """(transforms, p) from either form; every problem is a one-line ValueError."""
    if isinstance(spec, list):
        return _build_list(A, spec, ""), 1.0
    if isinstance(spec, dict) and "transform" in spec:
        for key in spec:
            if key not in ("__version__", "transform"):
                raise ValueError(f"serialized pipeline: unknown key {key!r}; "
                                 "expected __version__ and transform")
        top = spec["transform"]
        if not isinstance(top, dict) or top.get("__class_fullname__") not in ("Compose",
                                                                               "ReplayCompose"):
            raise ValueError("serialized pipeline: 'transform' must be a serialized Compose")
        # bbox_params, keypoint_params, additional_targets and is_check_shapes are albumentations'
        # bookkeeping; simgen sets the targets itself.
        allowed = {"__class_fullname__", "p", "transforms", "bbox_params", "keypoint_params",
                   "additional_targets", "is_check_shapes"}
        for key in top:
            if key not in allowed:
                raise ValueError(f"serialized pipeline: Compose: unknown argument {key!r}")
        p = top.get("p", 1.0)
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"serialized pipeline: Compose: p must be a number in [0, 1] "
                             f"(got {p!r})")
        steps = top.get("transforms")
        if not isinstance(steps, list):
            raise ValueError("serialized pipeline: Compose: transforms must be a list")
        return _build_list(A, steps, ""), float(p)
    raise ValueError("an augment pipeline is a list of {TransformName: {argument: value}} "
                     f"or the dict albumentations' to_dict makes (got {_short(spec)})")


def _build_list(A: Any, steps: list, prefix: str) -> list:
    return [_build_step(A, step, f"{prefix}[{index}]") for index, step in enumerate(steps)]


def _build_step(A: Any, step: Any, where: str) -> Any:
    name, kwargs = _name_and_arguments(step, where)
    cls = _transform_class(A, name, where)
    label = f"{where} {name}"
    if name in _NESTING:
        return _build_nesting(A, cls, kwargs, label, where)
    accepted = set(cls.InitSchema.model_fields) | set(inspect.signature(cls.__init__).parameters)
    accepted -= {"self", "strict"}
    given = {k: v for k, v in kwargs.items() if k in accepted}
    if name in _RESIZING and given.get("mask_interpolation", 0) in (0, 6):
        given["mask_interpolation"] = 6  # either nearest asked for: cv2.INTER_NEAREST_EXACT
    transform = None
    derived = {k: v for k, v in kwargs.items() if k not in accepted}
    if derived:
        # albumentations' to_dict also writes some values the constructor derives from its
        # arguments (PadIfNeeded's padding, SafeRotate's affine fields); those may stay in a
        # serialized pipeline if they agree with the arguments.
        transform = _construct(cls, given, label)
        written = transform.get_transform_init_args_names()
        serialized = json.loads(json.dumps(transform.to_dict_private(), default=repr))
        for key, value in derived.items():
            if key not in written:
                guess = difflib.get_close_matches(key, sorted(accepted), n=1)
                raise ValueError(f"{label}: unknown argument {key!r}"
                                 + (f" (did you mean {guess[0]!r}?)" if guess else ""))
            if _plain(value) != serialized.get(key):
                raise ValueError(f"{label}: {key!r} is derived from the other arguments; leave "
                                 f"it out (got {_short(value)}, they give "
                                 f"{_short(serialized.get(key))})")
    if transform is None:
        transform = _construct(cls, given, label)
    _check_label_safe(transform, label)
    return transform


def _name_and_arguments(step: Any, where: str) -> tuple[str, dict]:
    if isinstance(step, str):
        name, kwargs = step, {}
    elif isinstance(step, dict) and "__class_fullname__" in step:
        name = step["__class_fullname__"]
        kwargs = {k: v for k, v in step.items() if k != "__class_fullname__"}
    elif isinstance(step, dict) and len(step) == 1:
        ((name, kwargs),) = step.items()
        if kwargs is None:
            kwargs = {}
    else:
        raise ValueError(f"{where}: expected {{TransformName: {{argument: value}}}} "
                         f"(got {_short(step)})")
    if not isinstance(name, str):
        raise ValueError(f"{where}: a transform name must be a string (got {_short(name)})")
    if name.startswith("albumentations.") and "." in name:  # full class paths of older versions
        name = name.rsplit(".", 1)[1]
    if not isinstance(kwargs, dict):
        raise ValueError(f"{where} {name}: arguments must be a mapping of argument: value "
                         f"(got {_short(kwargs)})")
    return name, kwargs


def _transform_class(A: Any, name: str, where: str) -> type:
    from albumentations.core.composition import BaseCompose
    from albumentations.core.transforms_interface import (BasicTransform, DualTransform,
                                                          ImageOnlyTransform, Transform3D)
    from albumentations.core.type_definitions import Targets

    def is_transform(obj: Any) -> bool:
        return inspect.isclass(obj) and issubclass(obj, (BasicTransform, BaseCompose))

    cls = getattr(A, name, None)
    if not is_transform(cls) or name in _NOT_TRANSFORMS:
        known = [n for n in dir(A) if is_transform(getattr(A, n)) and n not in _NOT_TRANSFORMS]
        guess = difflib.get_close_matches(name, known, n=1)
        raise ValueError(f"{where} {name}: not an albumentations transform"
                         + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    if name in _REFUSED:
        raise ValueError(f"{where} {name}: refused: {_REFUSED[name]}")
    if issubclass(cls, BaseCompose):
        if name not in _NESTING:
            raise ValueError(f"{where} {name}: refused: nest transforms with "
                             f"{', '.join(_NESTING)}")
        return cls
    targets = cls._targets if isinstance(cls._targets, tuple) else (cls._targets,)
    if issubclass(cls, Transform3D) or Targets.IMAGE not in targets:
        raise ValueError(f"{where} {name}: refused: a 3D (volume) transform, not an image one")
    if issubclass(cls, ImageOnlyTransform):
        return cls
    if not issubclass(cls, DualTransform) or not {Targets.MASK, Targets.KEYPOINTS} <= set(targets):
        raise ValueError(f"{where} {name}: refused: cannot move the instance map and keypoints "
                         "with the image, so labels would not match pixels")
    return cls


def _build_nesting(A: Any, cls: type, kwargs: dict, label: str, where: str) -> Any:
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in kwargs:
        if key not in allowed:
            raise ValueError(f"{label}: unknown argument {key!r}; expected one of: "
                             f"{', '.join(allowed)}")
    steps = kwargs.get("transforms")
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"{label}: transforms must be a non-empty list of transforms")
    children = _build_list(A, steps, f"{where}.transforms")
    return _construct(cls, {**kwargs, "transforms": children}, label)


def _construct(cls: type, kwargs: dict, label: str) -> Any:
    """cls(**kwargs), with its validation errors and warnings turned into one-line ValueErrors."""
    from pydantic import ValidationError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            transform = cls(**kwargs)
        except (TypeError, ValueError) as err:
            # albumentations re-raises its schema's ValidationError as a ValueError
            cause = err if isinstance(err, ValidationError) else err.__cause__
            if isinstance(cause, ValidationError):
                raise ValueError(f"{label}: {_pydantic_message(cause)}") from None
            raise ValueError(f"{label}: {_one_line(str(err))}") from None
    if caught:
        raise ValueError(f"{label}: {_one_line(str(caught[0].message))}")
    return transform


def _pydantic_message(err: Any) -> str:
    first = err.errors(include_url=False)[0]
    field = next((str(part) for part in first["loc"]), "")
    message = first["msg"]
    if message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    if first["type"] == "missing":
        return f"missing required argument {field!r}"
    message = _one_line(message[0].lower() + message[1:])
    if field:
        message = f"{field}: {message}"
        if "input" in first and "(got " not in message:
            message += f" (got {_short(first['input'])})"
    return message


def _check_label_safe(transform: Any, label: str) -> None:
    """Refuse argument values that would let the instance map disagree with the image."""
    import cv2

    def zero(value: Any) -> bool:
        values = value if isinstance(value, (tuple, list)) else (value,)
        return value is not None and all(isinstance(v, (int, float)) and v == 0 for v in values)

    nearest = (cv2.INTER_NEAREST_EXACT if type(transform).__name__ in _RESIZING
               else cv2.INTER_NEAREST)
    if getattr(transform, "mask_interpolation", nearest) != nearest:
        raise ValueError(f"{label}: mask_interpolation must be 0 (nearest): other modes blend "
                         f"instance ids into ids that do not exist "
                         f"(got {transform.mask_interpolation!r})")
    for key in ("fill_mask", "mask_drop_value"):
        if hasattr(transform, key) and not zero(getattr(transform, key)):
            raise ValueError(f"{label}: {key} must be 0: pixels the transform fills in the image "
                             f"must be background in the instance map "
                             f"(got {getattr(transform, key)!r})")
    if getattr(transform, "border_mode", cv2.BORDER_CONSTANT) != cv2.BORDER_CONSTANT:
        raise ValueError(f"{label}: border_mode must be 0 (constant): other modes copy objects "
                         f"into the border, where one id would cover two places "
                         f"(got {transform.border_mode!r})")
    if getattr(transform, "num_output_channels", 3) != 3:
        raise ValueError(f"{label}: num_output_channels must be 3: simgen writes RGB images "
                         f"(got {transform.num_output_channels!r})")


def _canonical(A: Any, transforms: list, p: float) -> dict:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serialized = A.to_dict(A.Compose(transforms, p=p))
    if caught:  # pragma: no cover - every step was built without warnings
        raise ValueError(f"pipeline: {_one_line(str(caught[0].message))}")
    try:  # plain JSON data: what the resolved scenario stores and hashes
        return json.loads(json.dumps(serialized, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"pipeline: arguments must be plain data (numbers, strings, lists) "
                         f"({err})") from None


# --- keypoint convention -------------------------------------------------------------------------

def _fix_keypoint_convention(compose: Any) -> None:
    """Make every transform's keypoint function follow the pixel-centre convention (see the
    module docstring). Patches the per-instance dispatch table albumentations 2.0 calls."""
    for transform in compose.transforms:
        if hasattr(transform, "transforms"):
            _fix_keypoint_convention(transform)
            continue
        name = type(transform).__name__
        table = getattr(transform, "_key2func", {})
        if "keypoints" not in table:
            continue
        if name in _RESIZING:
            table["keypoints"] = _centre_shifted(table["keypoints"])


def _centre_shifted(apply: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def apply_centred(keypoints: np.ndarray, *args: Any, **params: Any) -> np.ndarray:
        shifted = keypoints.copy()
        shifted[:, :2] += 0.5
        moved = np.array(apply(shifted, *args, **params), copy=True)
        moved[:, :2] -= 0.5
        return moved

    return apply_centred


# --- replay record --------------------------------------------------------------------------------

def _replay_record(node: dict) -> dict:
    """albumentations' replay tree without construction arguments (the pipeline has them) and
    object ids (which differ from run to run), made JSON-safe."""
    record: dict[str, Any] = {}
    if "__class_fullname__" in node and node["__class_fullname__"] != "ReplayCompose":
        record["__class_fullname__"] = node["__class_fullname__"]
    record["applied"] = bool(node.get("applied"))
    if node.get("applied") and node.get("params") is not None:
        record["params"] = _json_safe(node["params"])
    if "transforms" in node:
        record["transforms"] = [_replay_record(child) for child in node["transforms"]]
    return record


_DROP = object()


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        items = ((str(k), _json_safe(v)) for k, v in value.items())
        return {k: v for k, v in items if v is not _DROP}
    if isinstance(value, (list, tuple)):
        return [v for v in (_json_safe(v) for v in value) if v is not _DROP]
    if isinstance(value, np.ndarray):
        if value.size > _MAX_REPLAY_ARRAY:
            return f"<{value.dtype} array {'x'.join(map(str, value.shape))}>"
        return _json_safe(value.tolist())
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return _DROP


def _plain(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
