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
from simgen.scenario.schema import CameraSpec
from simgen.seeding import generator


@dataclass(frozen=True)
class BodySample:
    asset: str                       # the scenario's asset reference
    path: str                        # resolved file
    position_m: tuple[float, float, float]
    quaternion_xyzw: tuple[float, float, float, float]
    scale: float
    fixed: bool
    category_id: int | None = None   # 1..N for labeled objects, None for the set
    group_index: int | None = None   # index into scenario.objects


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
    objects: tuple[BodySample, ...]   # labeled; instance id = index + 1
    light: LightSample
    views: tuple[CameraSample, ...]

    def provenance(self) -> dict[str, Any]:
        """The drawn parameters as JSON data (file paths left out: they are machine-specific)."""

        def body(b: BodySample) -> dict[str, Any]:
            out = asdict(b)
            del out["path"]
            return out

        return {"static": [body(b) for b in self.static],
                "objects": [body(b) for b in self.objects],
                "light": asdict(self.light)}


def _round(values: Any, digits: int = 9) -> tuple:
    return tuple(round(float(v), digits) for v in values)


def sample(scenario: Scenario, sampling: np.random.SeedSequence) -> SceneSample:
    """Draw one scene. `sampling` is the scene's sampling seed sequence (see simgen.seeding)."""
    spec = scenario.spec
    statics_ss, objects_ss, light_ss, cameras_ss = sampling.spawn(4)

    rng = generator(statics_ss)
    static = tuple(
        BodySample(asset=s.asset, path=scenario.asset_paths[s.asset],
                   position_m=_round(d.sample(rng) for d in s.position),
                   quaternion_xyzw=_round(geometry.quaternion_from_euler_deg(
                       [d.sample(rng) for d in s.orientation_deg])),
                   scale=float(s.scale.sample(rng)), fixed=s.fixed)
        for s in spec.static)

    rng = generator(objects_ss)
    objects: list[BodySample] = []
    for group_index, group in enumerate(spec.objects):
        category_id = spec.categories.index(group.category) + 1
        low, high = np.array(group.spawn.box.min), np.array(group.spawn.box.max)
        for _ in range(int(group.count.sample(rng))):
            scale = float(group.scale.sample(rng))
            position = low + (high - low) * rng.random(3)
            rpy = [d.sample(rng) for d in group.orientation_deg]
            objects.append(BodySample(
                asset=group.asset, path=scenario.asset_paths[group.asset],
                position_m=_round(position),
                quaternion_xyzw=_round(geometry.quaternion_from_euler_deg(rpy)),
                scale=round(scale, 9), fixed=False, category_id=category_id,
                group_index=group_index))

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
    return SceneSample(static=static, objects=tuple(objects), light=light, views=views)


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
