"""The scenario schema: typed, frozen models that forbid unknown keys.

A scenario describes distributions, not values; `simgen.scenario.sample` draws a concrete scene
from it. Cross-field checks that need a key path inside a list (an object's category must be
declared, an asset must exist) are done in `simgen.scenario.load`, which can name the exact key.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

from simgen.scenario.distributions import Uniform, dist
from simgen.scenario.spatial import direction as direction_dist, rotation, vector

# Where a number is meant, a number: "0.5" (a quoted string) and true are refused, as whole
# numbers are (StrictInt below); an integer is a number.
StrictFloat = Annotated[float, Strict()]
FloatDist = dist("float")
Vec3 = tuple[FloatDist, FloatDist, FloatDist]
Vec3Fixed = tuple[StrictFloat, StrictFloat, StrictFloat]
Probability = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
UnitDist = dist("float", ge=0.0, le=1.0)


# Where a whole number is meant, only one is taken: `views_per_scene: yes`, "160" and 4.0 were
# read as 1, 160 and 4 before.
StrictInt = Annotated[int, Strict()]


class _Model(BaseModel):
    # allow_inf_nan=False: NaN and inf are refused in every float field (they passed `check` and
    # failed mid-run with tracebacks).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              allow_inf_nan=False)


class ImageSpec(_Model):
    width: StrictInt = Field(ge=16, le=8192)
    height: StrictInt = Field(ge=16, le=8192)


class HoldOutSpec(_Model):
    """What val and test scenes see and train scenes never do, so a val score measures
    generalization rather than memory: of every list a scene draws from, a `fraction` (at least
    one entry, never all) is held out. `assets`: the asset lists of objects and distractors;
    `textures`: the texture lists of objects, distractors and robots; `backgrounds`: the asset
    and texture lists of static bodies (floors, tables, shelves). Which entries are held out is
    a pure function of the list (simgen.scenario.holdout), the same for every seed."""

    fraction: float = Field(gt=0.0, lt=1.0, strict=True)
    of: list[Literal["assets", "textures", "backgrounds"]] = Field(min_length=1)


class SplitSpec(_Model):
    """Fractions of scenes per split, met as closely as the scene count allows (see
    simgen.seeding.split_counts); a scene's views always land in one split."""

    train: Probability = 1.0
    val: Probability = 0.0
    test: Probability = 0.0
    hold_out: Optional[HoldOutSpec] = None

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitSpec":
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1 (got {total:g})")
        if self.hold_out is not None and self.val + self.test == 0:
            raise ValueError("hold_out needs val or test scenes to show what it holds out")
        return self


# One asset reference, or a list to draw from uniformly; `*` and `?` patterns expand at load.
AssetRef = Union[str, list[str]]


def asset_refs(ref: AssetRef) -> list[str]:
    return [ref] if isinstance(ref, str) else list(ref)


class AppearanceSpec(_Model):
    """Visual randomization of a body: colour and texture (applied to every link)."""

    color_rgba: Optional[tuple[UnitDist, UnitDist, UnitDist, UnitDist]] = None
    # texture files (png/jpg) to draw from; `assets:textures/<name>.png` are made by
    # scripts/make_assets.py. A texture is applied with probability texture_probability.
    textures: list[str] = []
    texture_probability: Probability = 1.0


class PhysicsSpec(_Model):
    """Physical randomization of a body (None keeps the asset's own value)."""

    mass_scale: dist("float", gt=0.0) = 1.0
    lateral_friction: Optional[dist("float", ge=0.0)] = None
    restitution: Optional[dist("float", ge=0.0, le=1.0)] = None


class MeshSpec(_Model):
    """How a mesh file asset (OBJ, STL, PLY, GLB/glTF) becomes a body (simgen.scenario.meshes):
    its units, up axis, mass and collision. Also read from `<mesh file>.yaml` beside the mesh;
    the scenario's keys win over that file's."""

    units: Literal["m", "cm", "mm", "inch"] = "m"
    up_axis: Literal["z", "y", "x"] = "z"
    mass_kg: Optional[Annotated[float, Strict(), Field(gt=0.0)]] = None
    density_kg_m3: Annotated[float, Strict(), Field(gt=0.0)] = 1000.0
    collision: Literal["convex", "decomposed", "mesh"] = "convex"


class StaticSpec(_Model):
    """A body that is part of the set (floor, table, tray, shelf); never labeled."""

    asset: AssetRef
    name: Optional[str] = None    # how physics facts name it ("rests on"); default: file stem
    position: Vec3 = (0.0, 0.0, 0.0)
    orientation_deg: Vec3 = (0.0, 0.0, 0.0)
    scale: dist("float", gt=0.0) = 1.0
    fixed: bool = True
    collision: bool = True    # false: seen but never touched (pair with collision-only bodies)
    appearance: AppearanceSpec = AppearanceSpec()
    mesh: Optional[MeshSpec] = None   # for a mesh file asset: units, mass, collision


class SpawnBox(_Model):
    min: Vec3Fixed
    max: Vec3Fixed

    @model_validator(mode="after")
    def _ordered(self) -> "SpawnBox":
        if any(lo > hi for lo, hi in zip(self.min, self.max)):
            raise ValueError(f"min must be <= max on every axis (got min={list(self.min)}, "
                             f"max={list(self.max)})")
        return self


class SpawnSpec(_Model):
    """Where a group's objects start: dropped from a `box`, or placed on whatever `surface`
    a ray cast straight down inside `surface` meets first (a table top, a tray floor, a shelf
    level: set the region's z range to the level)."""

    box: Optional[SpawnBox] = None
    surface: Optional[SpawnBox] = None
    clearance_m: StrictFloat = Field(default=0.002, ge=0.0)  # gap left above a surface

    @model_validator(mode="after")
    def _one(self) -> "SpawnSpec":
        if (self.box is None) == (self.surface is None):
            raise ValueError("give exactly one of box or surface")
        return self


class GroupSpec(_Model):
    """Objects of one kind: how many, how big, where they start, how they look and behave."""

    asset: AssetRef
    count: dist("int", ge=0, le=200) = 1
    scale: dist("float", gt=0.0) = 1.0
    spawn: SpawnSpec
    # roll, pitch, yaw (extrinsic x, y, z, as PyBullet's getQuaternionFromEuler), or any
    # rotation form: {so3: uniform}, {yaw_deg: ...}, {euler_deg: [...]}.
    orientation_deg: rotation() = (0.0, 0.0, Uniform(0.0, 360.0))
    appearance: AppearanceSpec = AppearanceSpec()
    physics: PhysicsSpec = PhysicsSpec()
    # What to do when no collision-free place is found: stop the run with an error naming the
    # group, or leave the object out and record the skip in the image's provenance.
    on_fail: Literal["error", "skip"] = "error"
    mesh: Optional[MeshSpec] = None   # for mesh file assets: units, mass, collision


class ContinuousSymmetry(_Model):
    """A rotation axis the object looks the same about, in the asset's own frame (its URDF's
    base link, or the mesh file's axes; mm), as BOP's models_info `symmetries_continuous`
    (simgen export bop turns it into the model frame, centre of mass on principal axes)."""

    axis: Vec3Fixed
    offset_mm: Vec3Fixed = (0.0, 0.0, 0.0)

    @model_validator(mode="after")
    def _unit(self) -> "ContinuousSymmetry":
        norm = sum(v * v for v in self.axis) ** 0.5
        if abs(norm - 1.0) > 1e-6:
            raise ValueError(f"axis must be a unit vector (got length {norm:.6g})")
        return self


class SymmetrySpec(_Model):
    """Poses an object cannot be told apart in (pose estimators' losses and BOP's metrics
    need them): `continuous` axes, and `discrete` rigid transforms in the asset's own frame,
    each a 4x4 matrix row-major (16 numbers, translation in mm), as BOP's models_info."""

    continuous: list[ContinuousSymmetry] = Field(default_factory=list)
    discrete: list[Annotated[list[StrictFloat | StrictInt], Field(min_length=16, max_length=16)]] = \
        Field(default_factory=list)

    @model_validator(mode="after")
    def _rigid(self) -> "SymmetrySpec":
        for i, values in enumerate(self.discrete):
            R = [[float(values[4 * r + c]) for c in range(3)] for r in range(3)]
            bottom = [float(v) for v in values[12:]]
            RtR = [[sum(R[k][a] * R[k][b] for k in range(3)) for b in range(3)] for a in range(3)]
            if (any(abs(RtR[a][b] - (a == b)) > 1e-4 for a in range(3) for b in range(3))
                    or bottom != [0.0, 0.0, 0.0, 1.0]):
                raise ValueError(f"discrete[{i}] is not a rigid transform (a rotation, a "
                                 "translation, and a last row 0 0 0 1)")
        return self


# An object group's category "{file}": each object's category is its asset file's stem.
FILE_CATEGORY = "{file}"


class ObjectGroup(GroupSpec):
    """A group of labeled objects of one category (or, with category "{file}", of the
    category its asset file is named after: `asset: "my_parts/*.glb"`, or that `category_map`
    gives for that name)."""

    category: str
    # With category "{file}": file name (without its suffix) -> category; unlisted names are
    # their own category.
    category_map: dict[str, str] = Field(default_factory=dict)

    def category_of(self, stem: str) -> str:
        """The category of an object of this group whose asset file is named `stem`."""
        return self.category if self.category != FILE_CATEGORY else self.category_map.get(
            stem, stem)
    symmetry: Optional[SymmetrySpec] = None


class DistractorGroup(GroupSpec):
    """Unlabeled objects: clutter the detector must learn to ignore."""


class RobotSpec(_Model):
    """An articulated arm (or mobile base) with joint values drawn within its URDF limits.

    `joints` sets named joints (radians or metres, checked against the limits); every other
    movable joint is drawn uniformly within its limits, or held at 0 with `other_joints: zero`.
    `gripper` (0 closed .. 1 open) drives the joints named in `gripper_joints`.
    """

    asset: str
    name: Optional[str] = None
    position: Vec3 = (0.0, 0.0, 0.0)
    orientation_deg: Vec3 = (0.0, 0.0, 0.0)
    joints: dict[str, FloatDist] = {}
    other_joints: Literal["random", "zero"] = "random"
    gripper: Optional[UnitDist] = None
    gripper_joints: list[str] = []
    category: Optional[str] = None   # label the whole robot as one instance of this category
    appearance: AppearanceSpec = AppearanceSpec()


class CameraPose(_Model):
    """A fixed camera placement (a mounted camera): where it is and what it looks at."""

    position: vector(3)
    look_at: vector(3)


class CameraSpec(_Model):
    """An orbit camera looking at `look_at` (distances and angles drawn per view: jitter is a
    narrow distribution), or one of `poses` (fixed placements, drawn uniformly per view, each
    value itself may be a distribution). Intrinsics from `fov_deg` or `fx, fy[, cx, cy]`.

    `fov_deg` is the vertical field of view. Pixel centres are at integer coordinates (OpenCV),
    so the default principal point is ((width - 1) / 2, (height - 1) / 2).
    """

    fov_deg: Optional[dist("float", gt=1.0, lt=179.0)] = None
    fx: Optional[dist("float", gt=0.0)] = None
    fy: Optional[dist("float", gt=0.0)] = None
    cx: Optional[FloatDist] = None
    cy: Optional[FloatDist] = None
    poses: list[CameraPose] = []
    look_at: vector(3) = (0.0, 0.0, 0.0)
    distance_m: Optional[dist("float", gt=0.0)] = None   # required unless poses are given
    azimuth_deg: FloatDist = Uniform(0.0, 360.0)
    elevation_deg: dist("float", ge=-89.0, le=89.0) = 45.0
    # Bounds where a depth buffer still resolves a scene: near 1e-300 or far 1e308 gave blank
    # images and no labels, exit 0.
    near_m: StrictFloat = Field(default=0.01, ge=1e-4, le=100.0)
    far_m: StrictFloat = Field(default=20.0, gt=0.0, le=100_000.0)

    @model_validator(mode="after")
    def _intrinsics(self) -> "CameraSpec":
        focal = (self.fx is not None, self.fy is not None)
        if self.fov_deg is not None and any(focal):
            raise ValueError("give either fov_deg or fx/fy, not both")
        if focal[0] != focal[1]:
            raise ValueError("fx and fy go together")
        if self.fov_deg is None and not any(focal):
            raise ValueError("needs fov_deg or fx and fy")
        if not self.far_m > self.near_m:
            raise ValueError(f"far_m must be > near_m (got near_m={self.near_m}, far_m={self.far_m})")
        if self.far_m / self.near_m > MAX_DEPTH_RATIO:
            raise ValueError(f"far_m / near_m must be at most {MAX_DEPTH_RATIO:g}, or the depth "
                             f"buffer cannot tell surfaces apart (got near_m={self.near_m}, "
                             f"far_m={self.far_m})")
        if self.distance_m is not None:
            low, high = self.distance_m.support()
            if not (self.near_m < low and high < self.far_m):
                raise ValueError(f"distance_m must lie between near_m and far_m, or look_at is "
                                 f"clipped away in every image (got {self.distance_m.to_spec()!r}, "
                                 f"near_m={self.near_m}, far_m={self.far_m})")
        return self


# 24-bit depth buffers resolve about 1e-7 of the near/far range's reciprocal: beyond this ratio
# neighbouring surfaces far away share a depth value.
MAX_DEPTH_RATIO = 1e6


class LightSpec(_Model):
    """A directional light, as PyBullet's renderers take it."""

    direction: direction_dist() = (1.0, 1.0, 2.0)   # towards the light; or {hemisphere: {...}}
    color: tuple[UnitDist, UnitDist, UnitDist] = (1.0, 1.0, 1.0)
    distance_m: dist("float", gt=0.0) = 4.0
    ambient: UnitDist = 0.6
    diffuse: UnitDist = 0.35
    specular: UnitDist = 0.05
    shadows: Union[bool, Probability] = True   # or the probability of shadows in a scene


class CyclesSunSpec(_Model):
    """The scenario's `light` as Cycles draws it: a sun in `light.direction`, of `light.color`."""

    strength: Optional[dist("float", ge=0.0, le=1000.0)] = None  # W/m^2; default pi * light.diffuse
    angle_deg: dist("float", ge=0.0, le=90.0) = 1.0      # its disc as seen from the scene: soft shadows


class CyclesSkySpec(_Model):
    """Blender's procedural sky (no HDRI files needed) as the world light, in place of the flat
    `light.ambient`: daylight from a sun at the given elevation and rotation."""

    # Blender's sky is daylight-bright: 0.02 sits beside a sun of strength ~1.5.
    strength: dist("float", ge=0.0, le=100.0) = 0.02
    sun_elevation_deg: dist("float", ge=-10.0, le=90.0) = 45.0
    sun_rotation_deg: FloatDist = 0.0
    air: dist("float", ge=0.0, le=10.0) = 1.0     # air density: bluer and dimmer sky
    dust: dist("float", ge=0.0, le=10.0) = 1.0    # aerosols: hazier sky


class CyclesLampSpec(_Model):
    """Area or point lights placed in the scene; an area light faces `look_at`."""

    type: Literal["area", "point"]
    count: dist("int", ge=0, le=16) = 1
    position: tuple[FloatDist, FloatDist, FloatDist]
    look_at: Vec3Fixed = (0.0, 0.0, 0.0)
    power_w: dist("float", ge=0.0, le=100_000.0) = 100.0
    size_m: dist("float", ge=0.0, le=10.0) = 0.25     # an area light's diameter, a point's radius
    color: tuple[UnitDist, UnitDist, UnitDist] = (1.0, 1.0, 1.0)


class CyclesMaterialSpec(_Model):
    """Physically based surface values for the bodies a rule selects (all, or one section, or
    one category); the first rule that selects a body dresses it. Base colour and texture stay
    those of `appearance` (or the asset's own)."""

    section: Optional[Literal["static", "robots", "objects", "distractors"]] = None
    category: Optional[str] = None
    roughness: UnitDist = 0.5
    metallic: UnitDist = 0.0
    specular: UnitDist = 0.5     # Principled BSDF's specular IOR level (0.5 = IOR 1.5)


class CyclesSpec(_Model):
    """What only the cycles renderer does: samples, denoiser and tone, sun, sky, lamps and
    materials. tiny and egl ignore this section (it changes nothing they draw)."""

    samples: StrictInt = Field(default=32, ge=1, le=4096)
    denoise: bool = True            # OpenImageDenoise on colour, albedo and normal
    max_bounces: StrictInt = Field(default=4, ge=0, le=64)
    view_transform: Literal["Standard", "AgX", "Filmic"] = "Standard"
    exposure: dist("float", ge=-10.0, le=10.0) = 0.0   # stops
    sun: CyclesSunSpec = CyclesSunSpec()
    sky: Optional[CyclesSkySpec] = None
    lights: list[CyclesLampSpec] = Field(default=[], max_length=16)
    materials: list[CyclesMaterialSpec] = Field(default=[], max_length=64)


class SettleSpec(_Model):
    """Stepping stops when every labeled body is slower than the threshold, or at max_steps."""

    max_steps: StrictInt = Field(default=600, ge=0, le=100_000)
    velocity_threshold: StrictFloat = Field(default=0.01, gt=0.0)  # m/s and rad/s
    timestep_s: StrictFloat = Field(default=1.0 / 240.0, gt=0.0, le=0.1)


class LabelSpec(_Model):
    min_pixels: StrictInt = Field(default=20, ge=1)
    # Objects seen less than this fraction of themselves (occlusion) are left out.
    min_visibility: Probability = 0.0
    # exact: render each visible object alone (on a canvas enlarged to catch what leaves the
    # frame) for visibility, truncation and the amodal box; none: none of the three. (Not
    # "off": YAML reads an unquoted off as false.)
    occlusion: Literal["exact", "none"] = "exact"
    # Each annotation also carries `segmentation_amodal`: the RLE of the object's whole
    # silhouette in the image (rendered alone), beside `segmentation`, the visible part. Needs
    # occlusion: exact (that render); `simgen export bop` writes it as BOP's mask/.
    amodal_masks: bool = False

    @model_validator(mode="after")
    def _amodal_needs_exact(self) -> "LabelSpec":
        if self.amodal_masks and self.occlusion != "exact":
            raise ValueError("amodal_masks needs occlusion: exact (the object rendered alone)")
        return self


class OutputSpec(_Model):
    """Optional per-image outputs beside the RGB image."""

    depth: bool = False          # depth/<split>/<id>.png: uint16 millimetres, 0 = nothing seen
    instance_ids: bool = False   # instance_maps/<split>/<id>.png: uint16, annotation instance_index


class AugmentSpec(_Model):
    """An albumentations pipeline applied to every render: albumentations' own serialized form
    (`A.to_dict`) or the short list form `[{HorizontalFlip: {p: 0.5}}, ...]`. Validated at
    load; stored (and hashed) in its canonical serialized form."""

    pipeline: Union[list, dict]
    augmentations_per_view: StrictInt = Field(default=1, ge=1, le=64)   # augmented images per render

    @field_validator("pipeline")
    @classmethod
    def _valid(cls, value: Union[list, dict]) -> dict:
        from simgen.augment import validate_pipeline  # albumentations loads only when used

        return validate_pipeline(value)


class PlacementSpec(_Model):
    """Collision-free placement: candidate poses tried per object (and per robot) before
    giving up; a bounded number, so an impossible scene fails fast instead of hanging."""

    max_tries: StrictInt = Field(default=20, ge=1, le=1000)


class ScenarioSpec(_Model):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)
    description: str = ""
    # random: i.i.d. draws. sobol | halton: each scene's first 64 uniform draws (cameras and
    # light first, then bodies) come from a scrambled low-discrepancy sequence indexed by the
    # scene, so a small dataset covers the parameter space evenly; still a pure function of
    # (seed, scene index).
    sampling: Literal["random", "sobol", "halton"] = "random"
    image: ImageSpec
    views_per_scene: StrictInt = Field(default=1, ge=1, le=256)
    splits: SplitSpec = SplitSpec()
    categories: list[str] = Field(min_length=1)
    static: list[StaticSpec] = []
    robots: list[RobotSpec] = []
    objects: list[ObjectGroup] = Field(min_length=1)
    distractors: list[DistractorGroup] = []
    camera: CameraSpec
    light: LightSpec = LightSpec()
    settle: SettleSpec = SettleSpec()
    labels: LabelSpec = LabelSpec()
    placement: PlacementSpec = PlacementSpec()
    outputs: OutputSpec = OutputSpec()
    augment: Optional[AugmentSpec] = None
    cycles: Optional[CyclesSpec] = None

    @property
    def images_per_scene(self) -> int:
        return self.views_per_scene * (self.augment.augmentations_per_view if self.augment else 1)

    @field_validator("categories")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen = set()
        for name in value:
            if not name or name in seen:
                raise ValueError(f"category names must be unique and non-empty (got {name!r} twice)"
                                 if name else "category names must be non-empty")
            seen.add(name)
        return value
