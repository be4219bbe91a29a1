"""Draw a concrete scene from a scenario: pure NumPy, fully determined by the generator(s).

The draw is split into independent streams (statics, objects, light, cameras), so a change to
how one part is drawn leaves the others' values as they were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Sequence

import numpy as np

from simgen import geometry
from simgen.scenario.holdout import ASSET_KIND, TEXTURE_KIND, usable
from simgen.scenario.load import Scenario
from simgen.scenario.assets import asset_stem
from simgen.scenario.schema import FILE_CATEGORY, AppearanceSpec, CameraSpec, GroupSpec
from simgen.scenario.streams import QmcStream, RngStream, UniformStream, qmc_point
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


# BodySample fields that are how a body was placed, not what was drawn.
_NOT_PROVENANCE = frozenset({"path", "candidates", "joint_candidates", "surface_z_m",
                             "clearance_m", "on_fail"})


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
            # Field by field: asdict would deep-copy every retry candidate only to drop it
            # (measured: 10 ms an image).
            out = {f.name: getattr(b, f.name) for f in fields(b) if f.name not in _NOT_PROVENANCE}
            out["appearance"] = asdict(b.appearance)
            out["physics"] = asdict(b.physics)
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


QMC_DIMS = 64  # uniforms per scene drawn from the low-discrepancy point; the rest are i.i.d.


def sample(scenario: Scenario, sampling: np.random.SeedSequence, *, seed: int | None = None,
           scene_index: int | None = None, split: str | None = None) -> SceneSample:
    """Draw one scene. `sampling` is the scene's sampling seed sequence (see simgen.seeding);
    `seed` and `scene_index` are needed when the scenario samples with sobol or halton; `split`
    (the scene's) decides which entries it may draw where the scenario holds some out
    (simgen.scenario.holdout; None: every entry)."""
    spec = scenario.spec
    scenario = _Drawing(scenario, split)
    (statics_ss, objects_ss, light_ss, cameras_ss, robots_ss,
     distractors_ss) = sampling.spawn(6)
    if spec.sampling == "random":
        light_st, statics_st, robots_st, objects_st, distractors_st = (
            RngStream(generator(ss)) for ss in (light_ss, statics_ss, robots_ss, objects_ss,
                                                distractors_ss))
        camera_sts = [RngStream(generator(ss)) for ss in cameras_ss.spawn(spec.views_per_scene)]
    else:
        if seed is None or scene_index is None:
            raise ValueError(f"sampling {spec.sampling!r} needs seed and scene_index")
        # One stream in a fixed order, most telling parameters first: light, cameras, bodies.
        shared = QmcStream(qmc_point(spec.sampling, seed, scene_index, QMC_DIMS),
                           fallback=generator(statics_ss))
        light_st = statics_st = robots_st = objects_st = distractors_st = shared
        camera_sts = [shared] * spec.views_per_scene

    ls = spec.light
    light = LightSample(direction=_round(ls.direction.draw(light_st)),
                        color=_round(d.draw(light_st) for d in ls.color),
                        distance_m=float(ls.distance_m.draw(light_st)),
                        ambient=float(ls.ambient.draw(light_st)),
                        diffuse=float(ls.diffuse.draw(light_st)),
                        specular=float(ls.specular.draw(light_st)),
                        shadows=ls.shadows if isinstance(ls.shadows, bool)
                        else _u(light_st) < ls.shadows)
    views = tuple(_camera(spec.camera, spec.image.width, spec.image.height, st)
                  for st in camera_sts)

    st = statics_st
    static = []
    for index, s in enumerate(spec.static):
        ref = _pick(scenario, "static", index, st)
        static.append(BodySample(
            asset=ref, path=scenario.asset_paths[ref],
            position_m=_round(d.draw(st) for d in s.position),
            quaternion_xyzw=_round(geometry.quaternion_from_euler_deg(
                [d.draw(st) for d in s.orientation_deg])),
            scale=float(s.scale.draw(st)), fixed=s.fixed, collision=s.collision,
            name=s.name or asset_stem(ref),
            group_index=index, appearance=_appearance(scenario, s.appearance, st, "static")))

    robots = [_robot(scenario, index, robots_st) for index in range(len(spec.robots))]

    objects = []
    for index, group in enumerate(spec.objects):
        category_id = (spec.categories.index(group.category) + 1
                       if group.category != FILE_CATEGORY else None)   # None: by file name
        objects += _group(scenario, "objects", index, group, category_id, objects_st)

    distractors = []
    for index, group in enumerate(spec.distractors):
        distractors += _group(scenario, "distractors", index, group, None, distractors_st)

    return SceneSample(static=tuple(static), robots=tuple(robots), objects=tuple(objects),
                       distractors=tuple(distractors), light=light, views=views)


def _u(st: UniformStream) -> float:
    return float(st.take(1)[0])


def _index(st: UniformStream, n: int) -> int:
    return min(int(_u(st) * n), n - 1)




class _Drawing:
    """The scenario as one scene draws from it: its split, for held-out entries; every other
    attribute is the scenario's."""

    def __init__(self, scenario: Scenario, split: str | None) -> None:
        self._scenario, self.split = scenario, split
        self.hold_out = scenario.spec.splits.hold_out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scenario, name)


def _choose(entries: Sequence[str], u: float, kind: str, scenario: Any) -> str:
    """The entry a uniform `u` picks, among those the scene's split may use. The same `u` picks
    the same entry as `_index` when nothing is held out."""
    allowed = usable(entries, kind, scenario.hold_out, scenario.split)
    return allowed[min(int(u * len(allowed)), len(allowed) - 1)]


def _pick(scenario: Any, section: str, index: int, st: UniformStream) -> str:
    refs = scenario.asset_choices[(section, index)]
    return refs[0] if len(refs) == 1 else _choose(refs, _u(st), ASSET_KIND[section], scenario)


def _appearance(scenario: Any, spec: AppearanceSpec, st: UniformStream,
                section: str) -> AppearanceSample:
    color = _round(d.draw(st) for d in spec.color_rgba) if spec.color_rgba else None
    texture = None
    if spec.textures and _u(st) < spec.texture_probability:
        texture = _choose(spec.textures, _u(st), TEXTURE_KIND[section], scenario)
    return AppearanceSample(color, texture, scenario.asset_paths[texture] if texture else None)


def _group(scenario: Scenario, section: str, index: int, group: GroupSpec,
           category_id: int | None, rng: UniformStream) -> list[BodySample]:
    tries = scenario.spec.placement.max_tries
    region = group.spawn.box or group.spawn.surface
    low, high = np.array(region.min), np.array(region.max)
    bodies = []
    for _ in range(int(group.count.draw(rng))):
        ref = _pick(scenario, section, index, rng)
        scale = float(group.scale.draw(rng))
        candidates = []
        for _ in range(tries):
            position = low + (high - low) * rng.take(3)
            if group.spawn.surface is not None:
                position[2] = high[2]  # the ray cast decides the height
            candidates.append((_round(position), _round(group.orientation_deg.draw(rng))))
        physics = PhysicsSample(
            mass_scale=float(group.physics.mass_scale.draw(rng)),
            lateral_friction=_maybe(group.physics.lateral_friction, rng),
            restitution=_maybe(group.physics.restitution, rng))
        bodies.append(BodySample(
            asset=ref, path=scenario.asset_paths[ref], position_m=candidates[0][0],
            quaternion_xyzw=candidates[0][1], scale=round(scale, 9), fixed=False,
            name=f"{section[:-1]}", group_index=index,
            category_id=(category_id if category_id is not None or section != "objects"
                         else scenario.spec.categories.index(
                             group.category_of(asset_stem(ref))) + 1),
            appearance=_appearance(scenario, group.appearance, rng, section), physics=physics,
            spawn="surface" if group.spawn.surface is not None else "box",
            surface_z_m=(float(low[2]), float(high[2])) if group.spawn.surface is not None else None,
            clearance_m=group.spawn.clearance_m, on_fail=group.on_fail,
            candidates=tuple(candidates)))
    return bodies


def _maybe(distribution: Any, rng: UniformStream) -> float | None:
    return None if distribution is None else float(distribution.draw(rng))


def _robot(scenario: Scenario, index: int, rng: UniformStream) -> BodySample:
    spec = scenario.spec.robots[index]
    joints = scenario.robot_joints[index]
    gripper_names = set(spec.gripper_joints) or {j[0] for j in joints if "finger" in j[0]}
    position = _round(d.draw(rng) for d in spec.position)
    quaternion = _round(geometry.quaternion_from_euler_deg([d.draw(rng) for d in spec.orientation_deg]))
    candidates = []
    for _ in range(scenario.spec.placement.max_tries):
        gripper = float(spec.gripper.draw(rng)) if spec.gripper is not None else None
        values = []
        for name, _kind, lower, upper in joints:
            if name in spec.joints:
                value = float(spec.joints[name].draw(rng))
            elif name in gripper_names and gripper is not None:
                value = lower + gripper * (upper - lower)
            elif spec.other_joints == "random":
                value = lower + (upper - lower) * _u(rng)
            else:
                value = min(max(0.0, lower), upper)
            values.append((name, round(value, 9)))
        candidates.append(tuple(values))
    category_id = (scenario.spec.categories.index(spec.category) + 1
                   if spec.category is not None else None)
    return BodySample(asset=spec.asset, path=scenario.asset_paths[spec.asset], position_m=position,
                      quaternion_xyzw=quaternion, scale=1.0, fixed=True,
                      name=spec.name or asset_stem(spec.asset), category_id=category_id,
                      group_index=index, appearance=_appearance(scenario, spec.appearance, rng, "robots"),
                      spawn="fixed", joint_candidates=tuple(candidates))


def _camera(cam: CameraSpec, width: int, height: int, rng: UniformStream) -> CameraSample:
    params: dict[str, Any] = {}
    if cam.fov_deg is not None:
        params["fov_deg"] = float(cam.fov_deg.draw(rng))
        K = geometry.intrinsics_from_fov(params["fov_deg"], width, height)
    else:
        params["fx"], params["fy"] = float(cam.fx.draw(rng)), float(cam.fy.draw(rng))
        K = geometry.intrinsics(params["fx"], params["fy"], (width - 1) / 2.0, (height - 1) / 2.0)
    if cam.cx is not None:
        K[0, 2] = params["cx"] = float(cam.cx.draw(rng))
    if cam.cy is not None:
        K[1, 2] = params["cy"] = float(cam.cy.draw(rng))
    if cam.poses:
        params["pose_index"] = _index(rng, len(cam.poses))
        chosen = cam.poses[params["pose_index"]]
        eye = np.array(chosen.position.draw(rng))
        look_at = np.array(chosen.look_at.draw(rng))
        params["position_m"] = list(_round(eye))
        params["look_at"] = list(_round(look_at))
    else:
        look_at = np.array(cam.look_at.draw(rng))
        params["look_at"] = list(_round(look_at))
        for key in ("distance_m", "azimuth_deg", "elevation_deg"):
            params[key] = round(float(getattr(cam, key).draw(rng)), 9)
        eye = geometry.orbit_eye(look_at, params["distance_m"], params["azimuth_deg"],
                                 params["elevation_deg"])
    pose = geometry.look_at_pose(eye, look_at)
    return CameraSample(width=width, height=height,
                        K=tuple(_round(row) for row in K),
                        cam_to_world=tuple(_round(row) for row in pose),
                        near_m=cam.near_m, far_m=cam.far_m, params=params)
