"""The physics world: build a sampled scene in PyBullet, drop the objects, let them rest.

One `World` per worker holds one DIRECT client for its whole life (every call passes
`physicsClientId`, so worlds never share state). Each scene starts from `resetSimulation`, so
body ids, solver caches and contacts never carry over from the scenes a worker ran before: a
scene's result depends on its sample alone. Reloading is cheap because PyBullet caches the
parsed mesh files (measured: ~12 ms for a table and three objects, against ~100 ms per view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simgen.scenario.sample import BodySample, SceneSample
from simgen.scenario.schema import SettleSpec
from simgen.sim.quiet import c_output_silenced, import_pybullet

# How often (in steps) body speeds are checked while settling; checking every step would cost
# more Python calls than the physics itself.
CHECK_EVERY_STEPS = 10
GRAVITY_MPS2 = -9.81


@dataclass(frozen=True)
class BodyState:
    position_m: tuple[float, float, float]
    quaternion_xyzw: tuple[float, float, float, float]
    speed_mps: float      # residual linear speed
    spin_radps: float     # residual angular speed


@dataclass(frozen=True)
class SettledScene:
    """The scene after settling: object states (same order as sample.objects) and body ids."""

    sample: SceneSample
    objects: tuple[BodyState, ...]
    object_body_ids: tuple[int, ...]
    steps: int
    settled: bool         # every object below the velocity threshold

    def provenance(self) -> dict:
        return {"steps": self.steps, "settled": self.settled}


class World:
    """A PyBullet DIRECT client that builds and settles one scene at a time."""

    def __init__(self) -> None:
        self.p = import_pybullet()
        self.client = self.p.connect(self.p.DIRECT)
        if self.client < 0:  # pragma: no cover - DIRECT always connects
            raise RuntimeError("could not start a PyBullet DIRECT client")
        # Exact cylinders (the default pads them with a 1 mm margin, so parts hover), and the
        # inertia the asset declares rather than one recomputed from collision shapes.
        self._load_flags = self.p.URDF_USE_IMPLICIT_CYLINDER | self.p.URDF_USE_INERTIA_FROM_FILE

    def close(self) -> None:
        if self.client >= 0:
            with c_output_silenced():  # the EGL plugin says goodbye on stdout
                self.p.disconnect(physicsClientId=self.client)
            self.client = -1

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def build(self, sample: SceneSample, settle: SettleSpec) -> list[int]:
        """Reset the world and load the scene's bodies; return the object body ids."""
        p, cid = self.p, self.client
        p.resetSimulation(physicsClientId=cid)
        p.setGravity(0, 0, GRAVITY_MPS2, physicsClientId=cid)
        p.setTimeStep(settle.timestep_s, physicsClientId=cid)
        for body in sample.static:
            self._load(body)
        placed: list[tuple[np.ndarray, np.ndarray]] = []  # object boxes; the set is not lifted off
        ids = []
        for body in sample.objects:
            uid = self._load(body)
            self._lift_clear_of_objects(uid, placed)
            placed.append(self._aabb(uid))
            ids.append(uid)
        return ids

    def settle(self, sample: SceneSample, settle: SettleSpec) -> SettledScene:
        """Build the scene and step until every object rests or max_steps is reached."""
        ids = self.build(sample, settle)
        p, cid = self.p, self.client
        steps, settled = 0, not ids
        while steps < settle.max_steps:
            for _ in range(min(CHECK_EVERY_STEPS, settle.max_steps - steps)):
                p.stepSimulation(physicsClientId=cid)
            steps += min(CHECK_EVERY_STEPS, settle.max_steps - steps)
            if all(max(self._speeds(uid)) < settle.velocity_threshold for uid in ids):
                settled = True
                break
        states = []
        for uid in ids:
            position, orientation = p.getBasePositionAndOrientation(uid, physicsClientId=cid)
            speed, spin = self._speeds(uid)
            states.append(BodyState(tuple(position), tuple(orientation), speed, spin))
        if ids and not settled:
            settled = all(max(s.speed_mps, s.spin_radps) < settle.velocity_threshold for s in states)
        return SettledScene(sample, tuple(states), tuple(ids), steps, settled)

    # --- helpers ---------------------------------------------------------------------------

    def _load(self, body: BodySample) -> int:
        return self.p.loadURDF(body.path, basePosition=body.position_m,
                               baseOrientation=body.quaternion_xyzw, useFixedBase=body.fixed,
                               globalScaling=body.scale, flags=self._load_flags,
                               physicsClientId=self.client)

    def _speeds(self, uid: int) -> tuple[float, float]:
        linear, angular = self.p.getBaseVelocity(uid, physicsClientId=self.client)
        return float(np.linalg.norm(linear)), float(np.linalg.norm(angular))

    def _aabb(self, uid: int) -> tuple[np.ndarray, np.ndarray]:
        p, cid = self.p, self.client
        lo, hi = (np.array(v) for v in p.getAABB(uid, -1, physicsClientId=cid))
        for link in range(p.getNumJoints(uid, physicsClientId=cid)):
            a, b = p.getAABB(uid, link, physicsClientId=cid)
            lo, hi = np.minimum(lo, a), np.maximum(hi, b)
        return lo, hi

    def _lift_clear_of_objects(self, uid: int, others: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Raise a spawned object above any earlier object its box overlaps, so the drop never
        starts inside another body (PyBullet would shoot them apart)."""
        lo, hi = self._aabb(uid)
        lift = 0.0
        changed = True
        while changed:  # lifting may create a new overlap higher up; at most len(others) rounds
            changed = False
            for olo, ohi in others:
                if np.all(lo[:2] < ohi[:2]) and np.all(hi[:2] > olo[:2]) and lo[2] + lift < ohi[2] and hi[2] + lift > olo[2]:
                    lift = max(lift, ohi[2] - lo[2] + 1e-3)
                    changed = True
        if lift > 0.0:
            position, orientation = self.p.getBasePositionAndOrientation(uid, physicsClientId=self.client)
            self.p.resetBasePositionAndOrientation(uid, [position[0], position[1], position[2] + lift],
                                                   orientation, physicsClientId=self.client)
