"""Draw a concrete scene from a scenario: pure NumPy, fully determined by the generator(s).

The draw is split into independent streams (statics, objects, light, cameras), so a change to
how one part is drawn leaves the others' values as they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from simgen import geometry
from simgen.scenario.load import Scenario
from simgen.scenario.schema import AppearanceSpec, CameraSpec, GroupSpec
from simgen.seeding import generator


@dataclass(frozen=True)
class AppearanceSample:
    color_rgba: tuple[float, float, float, float] | None = None
    texture: str | None = None        # texture reference (path in texture_path)
    texture_path: str | None = None


@dataclass(frozen=True)
class PhysicsSample:
    mass_scale: float = 1.0
    lateral_friction: float | None = None
    restitution: float | None = None


@dataclass(frozen=True)
class BodySample:
    """One body to load. For placed bodies `candidates` lists the poses to try, in order, until
    one is free of collisions (the first is `position_m`, `quaternion_xyzw`)."""

    asset: str                       # the scenario's asset reference
    path: str                        # resolved file
    position_m: tuple[float, float, float]
    quaternion_xyzw: tuple[float, float, float, float]
    scale: float
    fixed: bool
    collision: bool = True
    name: str = ""                   # how physics facts name the body
    category_id: int | None = None   # 1..N when labeled
    group_index: int | None = None   # index into the scenario's list this body came from
    appearance: AppearanceSample = AppearanceSample()
    physics: PhysicsSample = PhysicsSample()
    spawn: str = "fixed"             # fixed | box | surface
    surface_z_m: tuple[float, float] | None = None   # ray cast range for `surface`
    clearance_m: float = 0.0
    on_fail: str = "error"
    candidates: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = ()
    joint_candidates: tuple[tuple[tuple[str, float], ...], ...] = ()   # robots


@dataclass(frozen=True)
class CameraSample:
    width: int
    height: int
    K: tuple[tuple[float, ...], ...]             # 3x3
    cam_to_world: tuple[tuple[float, ...], ...]  # 4x4, OpenCV axes
    near_m: float
    far_m: float
    params: dict[str, Any]                       # the drawn values (fov, distance, angles...)

    @property
    def K_array(self) -> np.ndarray:
        return np.array(self.K)

    @property
    def pose_array(self) -> np.ndarray:
        return np.array(self.cam_to_world)


@dataclass(frozen=True)
class LightSample:
    direction: tuple[float, float, float]
    color: tuple[float, float, float]
    distance_m: float
    ambient: float
    diffuse: float
    specular: float
    shadows: bool


@dataclass(frozen=True)
class SceneSample:
    static: tuple[BodySample, ...]
    robots: tuple[BodySample, ...]
    objects: tuple[BodySample, ...]      # labeled objects; instance id = index + 1
    distractors: tuple[BodySample, ...]
    light: LightSample
    views: tuple[CameraSample, ...]

    @property
    def labeled(self) -> tuple[BodySample, ...]:
        """Labeled bodies in instance order: objects, then labeled robots."""
        return self.objects + tuple(r for r in self.robots if r.category_id is not None)

    def provenance(self) -> dict[str, Any]:
        """The drawn parameters as JSON data (file paths and retry candidates left out)."""

        def body(b: BodySample) -> dict[str, Any]:
            out = asdict(b)
            for key in ("path", "candidates", "joint_candidates", "surface_z_m", "clearance_m",
                        "on_fail"):
                del out[key]
            del out["appearance"]["texture_path"]
            if b.joint_candidates:
                out["joints"] = dict(b.joint_candidates[0])
            return out

        return {"static": [body(b) for b in self.static],
                "robots": [body(b) for b in self.robots],
                "objects": [body(b) for b in self.objects],
                "distractors": [body(b) for b in self.distractors],
                "light": asdict(self.light)}


def _round(values: Any, digits: int = 9) -> tuple:
    return tuple(round(float(v), digits) for v in values)


def sample(scenario: Scenario, sampling: np.random.SeedSequence) -> SceneSample:
    """Draw one scene. `sampling` is the scene's sampling seed sequence (see simgen.seeding)."""
    spec = scenario.spec
    (statics_ss, objects_ss, light_ss, cameras_ss, robots_ss,
     distractors_ss) = sampling.spawn(6)

    rng = generator(statics_ss)
    static = []
    for index, s in enumerate(spec.static):
        ref = _pick(scenario, "static", index, rng)
        static.append(BodySample(
            asset=ref, path=scenario.asset_paths[ref],
            position_m=_round(d.sample(rng) for d in s.position),
            quaternion_xyzw=_round(geometry.quaternion_from_euler_deg(
                [d.sample(rng) for d in s.orientation_deg])),
            scale=float(s.scale.sample(rng)), fixed=s.fixed, collision=s.collision,
            name=s.name or _stem(ref),
            group_index=index, appearance=_appearance(scenario, s.appearance, rng)))

    rng = generator(robots_ss)
    robots = [_robot(scenario, index, rng) for index in range(len(spec.robots))]

    rng = generator(objects_ss)
    objects = []
    for index, group in enumerate(spec.objects):
        category_id = spec.categories.index(group.category) + 1
        objects += _group(scenario, "objects", index, group, category_id, rng)

    rng = generator(distractors_ss)
    distractors = []
    for index, group in enumerate(spec.distractors):
        distractors += _group(scenario, "distractors", index, group, None, rng)

    rng = generator(light_ss)
    ls = spec.light
    direction = np.array([d.sample(rng) for d in ls.direction])
    light = LightSample(direction=_round(direction), color=_round(d.sample(rng) for d in ls.color),
                        distance_m=float(ls.distance_m.sample(rng)),
                        ambient=float(ls.ambient.sample(rng)),
                        diffuse=float(ls.diffuse.sample(rng)),
                        specular=float(ls.specular.sample(rng)), shadows=ls.shadows)

    views = tuple(_camera(spec.camera, spec.image.width, spec.image.height, generator(ss))
                  for ss in cameras_ss.spawn(spec.views_per_scene))
    return SceneSample(static=tuple(static), robots=tuple(robots), objects=tuple(objects),
                       distractors=tuple(distractors), light=light, views=views)


def _stem(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return name.rsplit(".", 1)[0]


def _pick(scenario: Scenario, section: str, index: int, rng: np.random.Generator) -> str:
    refs = scenario.asset_choices[(section, index)]
    return refs[0] if len(refs) == 1 else refs[int(rng.integers(len(refs)))]


def _appearance(scenario: Scenario, spec: AppearanceSpec, rng: np.random.Generator) -> AppearanceSample:
    color = _round(d.sample(rng) for d in spec.color_rgba) if spec.color_rgba else None
    texture = None
    if spec.textures and rng.random() < spec.texture_probability:
        texture = spec.textures[int(rng.integers(len(spec.textures)))]
    return AppearanceSample(color, texture, scenario.asset_paths[texture] if texture else None)


def _group(scenario: Scenario, section: str, index: int, group: GroupSpec,
           category_id: int | None, rng: np.random.Generator) -> list[BodySample]:
    tries = scenario.spec.placement.max_tries
    region = group.spawn.box or group.spawn.surface
    low, high = np.array(region.min), np.array(region.max)
    bodies = []
    for _ in range(int(group.count.sample(rng))):
        ref = _pick(scenario, section, index, rng)
        scale = float(group.scale.sample(rng))
        candidates = []
        for _ in range(tries):
            position = low + (high - low) * rng.random(3)
            if group.spawn.surface is not None:
                position[2] = high[2]  # the ray cast decides the height
            rpy = [d.sample(rng) for d in group.orientation_deg]
            candidates.append((_round(position), _round(geometry.quaternion_from_euler_deg(rpy))))
        physics = PhysicsSample(
            mass_scale=float(group.physics.mass_scale.sample(rng)),
            lateral_friction=_maybe(group.physics.lateral_friction, rng),
            restitution=_maybe(group.physics.restitution, rng))
        bodies.append(BodySample(
            asset=ref, path=scenario.asset_paths[ref], position_m=candidates[0][0],
            quaternion_xyzw=candidates[0][1], scale=round(scale, 9), fixed=False,
            name=f"{section[:-1]}", category_id=category_id, group_index=index,
            appearance=_appearance(scenario, group.appearance, rng), physics=physics,
            spawn="surface" if group.spawn.surface is not None else "box",
            surface_z_m=(float(low[2]), float(high[2])) if group.spawn.surface is not None else None,
            clearance_m=group.spawn.clearance_m, on_fail=group.on_fail,
            candidates=tuple(candidates)))
    return bodies


def _maybe(distribution: Any, rng: np.random.Generator) -> float | None:
    return None if distribution is None else float(distribution.sample(rng))


def _robot(scenario: Scenario, index: int, rng: np.random.Generator) -> BodySample:
    spec = scenario.spec.robots[index]
    joints = scenario.robot_joints[index]
    gripper_names = set(spec.gripper_joints) or {j[0] for j in joints if "finger" in j[0]}
    position = _round(d.sample(rng) for d in spec.position)
    quaternion = _round(geometry.quaternion_from_euler_deg([d.sample(rng) for d in spec.orientation_deg]))
    candidates = []
    for _ in range(scenario.spec.placement.max_tries):
        gripper = float(spec.gripper.sample(rng)) if spec.gripper is not None else None
        values = []
        for name, _kind, lower, upper in joints:
            if name in spec.joints:
                value = float(spec.joints[name].sample(rng))
            elif name in gripper_names and gripper is not None:
                value = lower + gripper * (upper - lower)
            elif spec.other_joints == "random":
                value = float(rng.uniform(lower, upper))
            else:
                value = min(max(0.0, lower), upper)
            values.append((name, round(value, 9)))
        candidates.append(tuple(values))
    category_id = (scenario.spec.categories.index(spec.category) + 1
                   if spec.category is not None else None)
    return BodySample(asset=spec.asset, path=scenario.asset_paths[spec.asset], position_m=position,
                      quaternion_xyzw=quaternion, scale=1.0, fixed=True,
                      name=spec.name or _stem(spec.asset), category_id=category_id,
                      group_index=index, appearance=_appearance(scenario, spec.appearance, rng),
                      spawn="fixed", joint_candidates=tuple(candidates))


def _camera(cam: CameraSpec, width: int, height: int, rng: np.random.Generator) -> CameraSample:
    params: dict[str, Any] = {}
    if cam.fov_deg is not None:
        params["fov_deg"] = float(cam.fov_deg.sample(rng))
        K = geometry.intrinsics_from_fov(params["fov_deg"], width, height)
    else:
        params["fx"], params["fy"] = float(cam.fx.sample(rng)), float(cam.fy.sample(rng))
        K = geometry.intrinsics(params["fx"], params["fy"], (width - 1) / 2.0, (height - 1) / 2.0)
    if cam.cx is not None:
        K[0, 2] = params["cx"] = float(cam.cx.sample(rng))
    if cam.cy is not None:
        K[1, 2] = params["cy"] = float(cam.cy.sample(rng))
    look_at = np.array([d.sample(rng) for d in cam.look_at])
    params["look_at"] = list(_round(look_at))
    for key in ("distance_m", "azimuth_deg", "elevation_deg"):
        params[key] = round(float(getattr(cam, key).sample(rng)), 9)
    eye = geometry.orbit_eye(look_at, params["distance_m"], params["azimuth_deg"],
                             params["elevation_deg"])
    pose = geometry.look_at_pose(eye, look_at)
    return CameraSample(width=width, height=height,
                        K=tuple(_round(row) for row in K),
                        cam_to_world=tuple(_round(row) for row in pose),
                        near_m=cam.near_m, far_m=cam.far_m, params=params)
