"""The physics world: build a sampled scene in PyBullet, place the bodies, let them rest.

One `World` per worker holds one DIRECT client (every call passes `physicsClientId`, so worlds
never share state); a renderer that leaks per scene has it replaced every so many scenes
(`restart_every`). Each scene starts from `resetSimulation`, so
body ids, solver caches and contacts never carry over from the scenes a worker ran before: a
scene's result depends on its sample alone. Reloading is cheap because PyBullet caches the
parsed mesh files (measured: ~12 ms for a table and three objects, against ~100 ms per view).

Placement: robots take the first of their joint candidates that touches nothing; objects and
distractors take the first candidate pose that overlaps nothing (a `surface` candidate is first
lowered onto whatever a ray straight down meets). The candidates come from the sample, so the
choice is deterministic; when none fits, the group's `on_fail` decides: error or recorded skip.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from simgen.scenario.sample import BodySample, SceneSample
from simgen.scenario.schema import SettleSpec
from simgen.sim.quiet import c_output_silenced, import_pybullet

# How often (in steps) body speeds are checked while settling; checking every step would cost
# more Python calls than the physics itself.
CHECK_EVERY_STEPS = 10
GRAVITY_MPS2 = -9.81
# Contacts deeper than this count as overlap when placing (resting contact is ~0).
OVERLAP_M = 1e-3
def load_flags(p: Any) -> int:
    """The loadURDF flags every body is loaded with. They decide the frame pose labels give: a
    base is reported at its centre of mass, turned to the principal axes of the inertia the
    file declares (simgen.export.models loads models the same way)."""
    return p.URDF_USE_IMPLICIT_CYLINDER | p.URDF_USE_INERTIA_FROM_FILE


PARKED_Z_M = -100.0  # where a body waits while its place is searched
# A 1 x 1 grey PNG: the cheapest file that fills a texture slot (see World.texture_slots).
_SLOT_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010800000000"
                          "3a7e9b550000000a49444154081d6368000000820081f0aae3220000000049454e44ae426082")


def _rss_mib() -> float | None:
    """This process's resident memory now (Linux), or None where it cannot be read."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _return_freed_memory() -> None:
    """Hand what the closed client freed back to the system (glibc keeps freed blocks in its
    heaps; measured: without this, a worker's memory after a new client was sometimes as high
    as before it)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class PlacementError(RuntimeError):
    """No collision-free place for a body; the message names its group."""


@dataclass(frozen=True)
class BodyFacts:
    """Physics facts of one labeled body after settling."""

    position_m: tuple[float, float, float]
    quaternion_xyzw: tuple[float, float, float, float]
    speed_mps: float          # residual linear speed
    spin_radps: float         # residual angular speed
    settled: bool
    penetration_m: float      # deepest overlap with any other body (0 if none)
    rests_on: str | None      # name of the supporting body: a static's name, object:<i>, ...
    box_center_local_m: tuple[float, float, float] = (0.0, 0.0, 0.0)  # 3D box in body frame
    box_size_m: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_json(self) -> dict:
        return {"settled": self.settled, "speed_mps": round(self.speed_mps, 6),
                "spin_radps": round(self.spin_radps, 6),
                "penetration_m": round(self.penetration_m, 6), "rests_on": self.rests_on}


@dataclass(frozen=True)
class SettledScene:
    """The scene after settling. `labeled_body_ids` and `labeled` follow sample.labeled order
    (objects, then labeled robots); a skipped object has body id -1 and facts None."""

    sample: SceneSample
    labeled_body_ids: tuple[int, ...]
    labeled: tuple[BodyFacts | None, ...]
    steps: int
    settled: bool             # every dynamic body below the velocity threshold
    skipped: tuple[dict, ...] = field(default_factory=tuple)
    placement_tries: tuple[int, ...] = field(default_factory=tuple)  # per labeled body, 1-based

    def provenance(self) -> dict:
        return {"steps": self.steps, "settled": self.settled, "skipped": list(self.skipped),
                "placement_tries": list(self.placement_tries)}


class World:
    """A PyBullet DIRECT client that builds and settles one scene at a time."""

    def __init__(self) -> None:
        self.p = import_pybullet()
        self.client = self.p.connect(self.p.DIRECT)
        if self.client < 0:  # pragma: no cover - DIRECT always connects
            raise RuntimeError("could not start a PyBullet DIRECT client")
        # Exact cylinders (the default pads them with a 1 mm margin, so parts hover), and the
        # inertia the asset declares rather than one recomputed from collision shapes.
        self._load_flags = load_flags(self.p)
        self._names: dict[int, str] = {}
        # Which entry of the scene each body is: (section, index into the sample's list); the
        # Cycles renderer dresses bodies by it.
        self.owners: dict[int, tuple[str, int]] = {}
        self._textures: dict[str, int] = {}
        # Each labeled body's box in its own frame, with its pose, from its facts (body_box).
        self._boxes: dict[int, tuple] = {}
        # Every visual shape's colour as loaded, for `transparent` (read once per scene).
        self._visual_colors: list[tuple[int, int, int, tuple]] | None = None
        # Set by the EGL renderer when it starts: the texture files it loaded first, so that its
        # GL renderer holds file i as texture i for the life of the world. The plugin maps a
        # texture id to a GL texture by position in its own list, which resetSimulation empties,
        # while the GL renderer's list only grows: after a reset, the id of the k-th texture
        # loaded in the scene draws GL texture k, whichever file that was (measured: a table
        # drawn with the texture some earlier scene loaded). So in a scene the k-th texture
        # loaded is made to be slot k: slot ids are filled in order with a 1 x 1 file, and file i
        # is given the id of slot i. None for TinyRenderer, which takes files as they come.
        self.texture_slots: tuple[str, ...] | None = None
        self._slot_ids: list[int] = []
        # Also set by the EGL renderer: URDFs loaded from a twin whose meshes name no texture,
        # each texture then given from its slot (simgen.render.egl_textures), where it can be.
        self.twins: dict[str, Any] = {}
        # Also set by the EGL renderer: the URDF copy each body loads from, so that no two bodies
        # of one mesh at different scales share a GL shape (simgen.render.egl_meshes).
        self.mesh_variants: Any = None
        self._scratch: tempfile.TemporaryDirectory | None = None
        # A renderer whose memory grows with every scene asks for a new client every so many
        # scenes (see restart_every); it is started again on the new client by `_on_connect`.
        self._on_connect: Callable[[], None] | None = None
        self._scenes_per_client: int | None = None
        self._growth_mib: float | None = None
        self._scenes_on_client = 0
        self._rss_at_connect_mib: float | None = None
        self._closers: list[Callable[[], None]] = []
        self._twinned_ahead: list[tuple[str, float]] = []

    def restart_every(self, scenes: int, on_connect: Callable[[], None],
                      growth_mib: float | None = None) -> None:
        """Give the world a new DIRECT client before a scene once `scenes` scenes ran on this
        one, or once this process grew by more than `growth_mib` since it connected; call
        `on_connect` on the new client (the renderer starting again). A scene does not depend on
        the scenes before it (each starts from resetSimulation, and the renderer from a known
        state), so when this happens changes memory and time, not bytes."""
        self._scenes_per_client = scenes
        self._growth_mib = growth_mib
        self._on_connect = on_connect
        self._scenes_on_client = 0
        self._rss_at_connect_mib = _rss_mib()

    def _needs_new_client(self) -> bool:
        if not self._scenes_per_client:
            return False
        if self._scenes_on_client >= self._scenes_per_client:
            return True
        rss = _rss_mib()
        return (self._growth_mib is not None and rss is not None
                and self._rss_at_connect_mib is not None
                and rss - self._rss_at_connect_mib > self._growth_mib)

    def _reconnect(self) -> None:
        with c_output_silenced():
            self.p.disconnect(physicsClientId=self.client)
        _return_freed_memory()
        self.client = self.p.connect(self.p.DIRECT)
        if self.client < 0:  # pragma: no cover - DIRECT always connects
            raise RuntimeError("could not start a PyBullet DIRECT client")
        self._scenes_on_client = 0
        if self._on_connect is not None:
            self._on_connect()
        self._rss_at_connect_mib = _rss_mib()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Call `callback` when the world closes (a renderer's own process goes with it)."""
        self._closers.append(callback)

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()
        if self.client >= 0:
            with c_output_silenced():  # the EGL plugin says goodbye on stdout
                self.p.disconnect(physicsClientId=self.client)
            self.client = -1
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- building --------------------------------------------------------------------------

    def settle(self, sample: SceneSample, settle: SettleSpec) -> SettledScene:
        """Build the scene, place every body, and step until the dynamic bodies rest."""
        if self._needs_new_client():
            self._reconnect()
        self._scenes_on_client += 1
        p, cid = self.p, self.client
        p.resetSimulation(physicsClientId=cid)
        if self.mesh_variants is not None:
            self.mesh_variants.new_scene()
        # The bodies that have a twin, in load order: (twin URDF, scale), this body's first.
        self._twinned_ahead = [(self.twins[body.path].urdf_path, body.scale)
                               for body in (*sample.static, *sample.robots, *sample.objects,
                                            *sample.distractors) if body.path in self.twins]
        p.setGravity(0, 0, GRAVITY_MPS2, physicsClientId=cid)
        p.setTimeStep(settle.timestep_s, physicsClientId=cid)
        self._names = {}
        self.owners = {}
        self._textures = {}
        self._slot_ids = []
        self._visual_colors = None
        self._boxes = {}
        for index, body in enumerate(sample.static):
            for uid in self._load(body):
                self._names[uid] = body.name
                self.owners[uid] = ("static", index)
        robot_ids, robot_tries = [], []
        for index, robot in enumerate(sample.robots):
            uid, tries = self._place_robot(robot, index)
            self._names[uid] = f"robot:{robot.name}"
            self.owners[uid] = ("robots", index)
            robot_ids.append(uid)
            robot_tries.append(tries)
        skipped: list[dict] = []
        object_ids, object_tries = self._place_group(sample.objects, "objects", skipped)
        distractor_ids, _ = self._place_group(sample.distractors, "distractors", skipped)
        dynamic = [u for u in object_ids + distractor_ids if u >= 0]

        steps, settled = 0, not dynamic
        while steps < settle.max_steps:
            chunk = min(CHECK_EVERY_STEPS, settle.max_steps - steps)
            for _ in range(chunk):
                p.stepSimulation(physicsClientId=cid)
            steps += chunk
            if all(max(self._speeds(uid)) < settle.velocity_threshold for uid in dynamic):
                settled = True
                break
        if dynamic and not settled:
            settled = all(max(self._speeds(uid)) < settle.velocity_threshold for uid in dynamic)
        p.performCollisionDetection(physicsClientId=cid)

        labeled_ids = list(object_ids)
        tries = list(object_tries)
        for robot, uid, n in zip(sample.robots, robot_ids, robot_tries):
            if robot.category_id is not None:
                labeled_ids.append(uid)
                tries.append(n)
        facts = tuple(self._facts(uid, settle.velocity_threshold) if uid >= 0 else None
                      for uid in labeled_ids)
        return SettledScene(sample, tuple(labeled_ids), facts, steps, settled, tuple(skipped),
                            tuple(tries))

    def _load(self, body: BodySample, position=None, orientation=None) -> list[int]:
        p, cid = self.p, self.client
        position = body.position_m if position is None else position
        orientation = body.quaternion_xyzw if orientation is None else orientation
        with c_output_silenced():  # some models warn about missing inertia on stderr
            if body.path.endswith(".sdf"):
                if self.mesh_variants is not None:
                    self.mesh_variants.lose_order()
                ids = list(p.loadSDF(body.path, globalScaling=body.scale, physicsClientId=cid))
                for uid in ids:  # SDF poses are relative to the file's world: move as a whole
                    pos, orn = p.getBasePositionAndOrientation(uid, physicsClientId=cid)
                    new_pos, new_orn = p.multiplyTransforms(position, orientation, pos, orn)
                    p.resetBasePositionAndOrientation(uid, new_pos, new_orn, physicsClientId=cid)
            else:
                twin, give = self._usable_twin(body)
                path = twin.urdf_path if twin else body.path
                if self.mesh_variants is not None:
                    path = self.mesh_variants.path_for(path, body.scale, own_shapes=give)
                ids = [p.loadURDF(path, basePosition=position, baseOrientation=orientation,
                                  useFixedBase=body.fixed, globalScaling=body.scale,
                                  flags=self._load_flags, physicsClientId=cid)]
                if give:
                    self._give_twin_textures(ids[0], twin)
        if self.mesh_variants is not None:
            for uid in ids:
                self.mesh_variants.drew(p.getVisualShapeData(uid, physicsClientId=cid),
                                        body.asset)
        for uid in ids:
            self._apply_appearance(uid, body)
            if not body.collision:  # group 0 collides with nothing, and rays pass through it
                for link in range(-1, p.getNumJoints(uid, physicsClientId=cid)):
                    p.setCollisionFilterGroupMask(uid, link, 0, 0, physicsClientId=cid)
        return ids

    def _usable_twin(self, body: BodySample) -> tuple[Any, bool]:
        """(the twin to load `body` from or None, whether its textures are to be given after
        loading). The plugin hands a given texture to the shape whose index is the instance's,
        the body's own only while shapes and instances are in step (simgen.render.egl_meshes):
        a body given textures takes shapes of its own, and only while they are in step. A body
        whose textured shape an earlier one drew at its scale reuses it, texture and all (one
        draw call for both, measured: 20 ducks drew in 32 ms a view as one shape, 40 as 20),
        unless a later body would then lose its chance to be given its textures."""
        twin = self.twins.get(body.path)
        variants = self.mesh_variants
        if twin is None or variants is None:
            return twin, twin is not None
        ahead = self._twinned_ahead = self._twinned_ahead[1:]
        can_give = variants.in_order and variants.keeps_order(twin.urdf_path)
        if variants.shares(twin.urdf_path, body.scale) and (
                not can_give or not variants.order_needed(ahead)):
            return twin, False
        return (twin, True) if can_give else (None, False)

    def scratch_dir(self) -> Path:
        """A folder of this world's own, removed when it closes (slot files, URDF twins)."""
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="simgen-world-")
        return Path(self._scratch.name)

    def _give_twin_textures(self, uid: int, twin: Any) -> None:
        """The textures a twinned URDF's meshes named, each to the links that drew it."""
        p, cid = self.p, self.client
        links = {p.getBodyInfo(uid, physicsClientId=cid)[0].decode(): -1}
        for j in range(p.getNumJoints(uid, physicsClientId=cid)):
            links[p.getJointInfo(uid, j, physicsClientId=cid)[12].decode()] = j
        for name, texture in twin.link_textures:
            p.changeVisualShape(uid, links[name], textureUniqueId=self._texture_id(texture),
                                physicsClientId=cid)

    def _apply_appearance(self, uid: int, body: BodySample) -> None:
        p, cid = self.p, self.client
        look = body.appearance
        if look.color_rgba is None and look.texture_path is None:
            return
        kwargs = {}
        if look.color_rgba is not None:
            kwargs["rgbaColor"] = look.color_rgba
        if look.texture_path is not None:
            kwargs["textureUniqueId"] = self._texture_id(look.texture_path)
        for link in range(-1, p.getNumJoints(uid, physicsClientId=cid)):
            p.changeVisualShape(uid, link, physicsClientId=cid, **kwargs)

    def _texture_id(self, path: str) -> int:
        """The id to give changeVisualShape for texture file `path` in this scene."""
        p, cid = self.p, self.client
        if self.texture_slots is None:
            if path not in self._textures:
                self._textures[path] = p.loadTexture(path, physicsClientId=cid)
            return self._textures[path]
        if path not in self.texture_slots:
            raise RuntimeError(f"texture {path} was not loaded when the EGL renderer started "
                               "(start it with the scenario)")
        slot = self.texture_slots.index(path)
        slot_file = self.scratch_dir() / "slot.png"
        if not slot_file.exists():
            slot_file.write_bytes(_SLOT_PNG)
        slot_file = str(slot_file)
        while len(self._slot_ids) <= slot:
            self._slot_ids.append(p.loadTexture(slot_file, physicsClientId=cid))
        return self._slot_ids[slot]

    def _apply_physics(self, uid: int, body: BodySample) -> None:
        p, cid = self.p, self.client
        props = body.physics
        common = {}
        if props.lateral_friction is not None:
            common["lateralFriction"] = props.lateral_friction
        if props.restitution is not None:
            common["restitution"] = props.restitution
        if props.mass_scale == 1.0 and not common:
            return
        for link in range(-1, p.getNumJoints(uid, physicsClientId=cid)):
            kwargs = dict(common)
            if props.mass_scale != 1.0:
                info = p.getDynamicsInfo(uid, link, physicsClientId=cid)
                kwargs["mass"] = info[0] * props.mass_scale
                # Given mass alone, PyBullet recomputes inertia from the collision shapes and
                # drops the one the asset declares: scale the declared inertia with the mass.
                kwargs["localInertiaDiagonal"] = [i * props.mass_scale for i in info[2]]
            p.changeDynamics(uid, link, physicsClientId=cid, **kwargs)

    def _place_robot(self, robot: BodySample, index: int) -> tuple[int, int]:
        p, cid = self.p, self.client
        uid = self._load(robot)[0]
        infos = [p.getJointInfo(uid, j, physicsClientId=cid)
                 for j in range(p.getNumJoints(uid, physicsClientId=cid))]
        by_name = {info[1].decode(): info[0] for info in infos}
        # The base: the root link and every link welded to it by fixed joints (xArm's
        # link_base hangs off a dummy root). Its standing on the table is not a collision.
        base = {-1}
        for info in infos:  # PyBullet lists a link after its parent
            if info[2] == p.JOINT_FIXED and info[16] in base:
                base.add(info[0])
        for attempt, joints in enumerate(robot.joint_candidates, start=1):
            for name, value in joints:
                p.resetJointState(uid, by_name[name], value, physicsClientId=cid)
            if not self._overlaps(uid, allow_links=base):
                # Motors hold the drawn pose while the objects settle (unheld, joints sag).
                p.setJointMotorControlArray(uid, [by_name[n] for n, _ in joints],
                                            p.POSITION_CONTROL,
                                            targetPositions=[v for _, v in joints],
                                            physicsClientId=cid)
                return uid, attempt
        raise PlacementError(f"robots[{index}] ({robot.name}): every one of its "
                             f"{len(robot.joint_candidates)} joint draws collides with the scene")

    def _place_group(self, bodies: tuple[BodySample, ...], section: str,
                     skipped: list[dict]) -> tuple[list[int], list[int]]:
        p, cid = self.p, self.client
        ids, tries = [], []
        for index, body in enumerate(bodies):
            uid = self._load(body, position=(0.0, 0.0, PARKED_Z_M))[0]
            self._names[uid] = f"{section[:-1]}:{index}"
            placed = 0
            for attempt, (position, orientation) in enumerate(body.candidates, start=1):
                position = self._surface_position(uid, body, position, orientation)
                if position is None:
                    continue
                p.resetBasePositionAndOrientation(uid, position, orientation, physicsClientId=cid)
                if not self._overlaps(uid):
                    placed = attempt
                    break
            if not placed:
                where = f"{section}[{body.group_index}] ({body.asset})"
                if body.on_fail == "error":
                    raise PlacementError(f"{where}: no collision-free place after "
                                         f"{len(body.candidates)} tries (placement.max_tries); "
                                         "fewer or smaller objects, a larger region, or "
                                         "on_fail: skip")
                p.removeBody(uid, physicsClientId=cid)
                if self.mesh_variants is not None:   # the plugin reuses the freed handles
                    self.mesh_variants.lose_order()
                skipped.append({"section": section, "index": index, "group": body.group_index,
                                "reason": "no collision-free place"})
                ids.append(-1)
                tries.append(0)
                continue
            self._apply_physics(uid, body)
            self.owners[uid] = (section, index)
            ids.append(uid)
            tries.append(placed)
        return ids, tries

    def _surface_position(self, uid: int, body: BodySample, position, orientation):
        """The candidate position, lowered onto the first surface below it for `surface`
        spawns (None when the ray meets nothing)."""
        if body.spawn != "surface":
            return position
        p, cid = self.p, self.client
        p.resetBasePositionAndOrientation(uid, (0.0, 0.0, PARKED_Z_M), orientation,
                                          physicsClientId=cid)
        lo, _ = self.body_aabb(uid)
        bottom_offset = lo[2] - PARKED_Z_M
        z_low, z_high = body.surface_z_m
        # 1 mm past the region's floor: rayTest misses a surface lying exactly at the ray's end.
        hit = p.rayTest((position[0], position[1], z_high),
                        (position[0], position[1], z_low - 1e-3), physicsClientId=cid)[0]
        if hit[0] < 0:
            return None
        return (position[0], position[1], hit[3][2] - bottom_offset + body.clearance_m)

    def _overlaps(self, uid: int, allow_links: frozenset[int] | set[int] = frozenset()) -> bool:
        """Whether body `uid` overlaps another body (contacts of `allow_links` excepted)."""
        p, cid = self.p, self.client
        p.performCollisionDetection(physicsClientId=cid)
        for contact in p.getContactPoints(bodyA=uid, physicsClientId=cid):
            if contact[2] == uid or contact[3] in allow_links:
                continue
            if contact[8] < -OVERLAP_M:
                return True
        return False

    @contextlib.contextmanager
    def isolated(self, *uids: int) -> Iterator[None]:
        """Every body but `uids` moved far below the scene for the block, then put back exactly
        (no step runs in between, so the scene is as it was)."""
        p, cid = self.p, self.client
        others = [p.getBodyUniqueId(i, physicsClientId=cid)
                  for i in range(p.getNumBodies(physicsClientId=cid))]
        others = [b for b in others if b not in uids]
        saved = [p.getBasePositionAndOrientation(b, physicsClientId=cid) for b in others]
        for b in others:
            p.resetBasePositionAndOrientation(b, (0.0, 0.0, 10 * PARKED_Z_M), (0, 0, 0, 1),
                                              physicsClientId=cid)
        try:
            yield
        finally:
            for b, (position, orientation) in zip(others, saved):
                p.resetBasePositionAndOrientation(b, position, orientation, physicsClientId=cid)

    @contextlib.contextmanager
    def transparent(self, *uids: int) -> Iterator[None]:
        """Every body but `uids` drawn with alpha 0 for the block, then given its colours back.

        TinyRenderer skips a zero-alpha shape before transforming a vertex of it, so a render
        of a few bodies costs only their pixels (measured on tabletop: 1.8 ms a call with the
        others parked below the scene, 0.13 ms with them transparent); EGL draws them anyway,
        so it parks them (`isolated`). The colours are read once per scene, before any change:
        PyBullet's getVisualShapeData reports one colour for all the shapes of a link after a
        change of one of them, while each shape keeps its own."""
        p, cid = self.p, self.client
        if self._visual_colors is None:
            self._visual_colors = []
            for i in range(p.getNumBodies(physicsClientId=cid)):
                body = p.getBodyUniqueId(i, physicsClientId=cid)
                per_link: dict[int, int] = {}
                for shape in p.getVisualShapeData(body, physicsClientId=cid):
                    link = shape[1]
                    per_link[link] = per_link.get(link, -1) + 1
                    self._visual_colors.append((body, link, per_link[link], tuple(shape[7])))
        hidden = [entry for entry in self._visual_colors if entry[0] not in uids]
        for body, link, index, rgba in hidden:
            p.changeVisualShape(body, link, shapeIndex=index, rgbaColor=(*rgba[:3], 0.0),
                                physicsClientId=cid)
        try:
            yield
        finally:
            for body, link, index, rgba in hidden:
                p.changeVisualShape(body, link, shapeIndex=index, rgbaColor=rgba,
                                    physicsClientId=cid)

    # --- facts -----------------------------------------------------------------------------

    def _facts(self, uid: int, threshold: float) -> BodyFacts:
        p, cid = self.p, self.client
        position, orientation = p.getBasePositionAndOrientation(uid, physicsClientId=cid)
        speed, spin = self._speeds(uid)
        penetration, support = 0.0, {}
        for contact in p.getContactPoints(bodyA=uid, physicsClientId=cid):
            other = contact[2]
            if other == uid:
                continue
            penetration = max(penetration, -contact[8])
            if contact[7][2] > 0.5:  # the normal from the other body points up: it carries us
                support[other] = support.get(other, 0.0) + contact[9]
        rests_on = None
        if support:
            best = max(sorted(support), key=lambda b: support[b])
            rests_on = self._names.get(best, f"body:{best}")
        center, size = self._local_box(uid, position, orientation)
        self._boxes[uid] = (np.asarray(position), np.asarray(orientation), np.asarray(center),
                            np.asarray(size))
        return BodyFacts(tuple(position), tuple(orientation), speed, spin,
                         max(speed, spin) < threshold, penetration, rests_on, center, size)

    def _local_box(self, uid: int, position, orientation):
        """Centre (in the body frame) and size of the body's axis-aligned box at identity
        orientation, from its collision shapes (PyBullet pads these by a millimetre or so).
        The body is put back exactly where it was; no step runs in between."""
        p, cid = self.p, self.client
        p.resetBasePositionAndOrientation(uid, (0.0, 0.0, PARKED_Z_M), (0, 0, 0, 1),
                                          physicsClientId=cid)
        lo, hi = self.body_aabb(uid)
        p.resetBasePositionAndOrientation(uid, position, orientation, physicsClientId=cid)
        center = (lo + hi) / 2.0 - np.array([0.0, 0.0, PARKED_Z_M])
        return (tuple(round(float(v), 6) for v in center),
                tuple(round(float(v), 6) for v in hi - lo))

    def _speeds(self, uid: int) -> tuple[float, float]:
        linear, angular = self.p.getBaseVelocity(uid, physicsClientId=self.client)
        return float(np.linalg.norm(linear)), float(np.linalg.norm(angular))

    def body_box(self, uid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(centre, rotation 3 x 3, half size) in the world of the box around a labeled body's
        collision shapes, turned with the body (its facts' box): tighter than the world
        axis-aligned box of a turned body. None for a body with no facts this scene."""
        if uid not in self._boxes:
            return None
        position, orientation, center, size = self._boxes[uid]
        R = np.array(self.p.getMatrixFromQuaternion(orientation)).reshape(3, 3)
        return position + R @ center, R, size / 2.0

    def body_aabb(self, uid: int) -> tuple[np.ndarray, np.ndarray]:
        """World axis-aligned box (lo, hi) of the body's collision shapes, all links."""
        p, cid = self.p, self.client
        lo, hi = (np.array(v) for v in p.getAABB(uid, -1, physicsClientId=cid))
        for link in range(p.getNumJoints(uid, physicsClientId=cid)):
            a, b = p.getAABB(uid, link, physicsClientId=cid)
            lo, hi = np.minimum(lo, a), np.maximum(hi, b)
        return lo, hi
