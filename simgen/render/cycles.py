"""The Cycles renderer: Blender's path tracer behind the same interface as tiny and EGL.

PyBullet still samples, places and settles; the settled state (every visual shape's mesh or
primitive, scale, world pose, colour and texture, and each camera's K and pose) is sent to a
Blender process that renders it. Blender runs in a child process, never in simgen's:

- bpy 5.0.1 (the newest for Python 3.11) requires NumPy < 2, while simgen's clients (Datumaro
  1.13) require NumPy 2, so Blender lives in its own folder made by `simgen cycles install`
  (or any Python with bpy, named by SIMGEN_BLENDER_PYTHON), with its own NumPy;
- Blender's global state (one scene per process) stays out of the worker, which keeps one
  Blender for its whole life and rebuilds the scene in it for every simgen scene;
- a Blender crash is one scene's error, not a dead worker.

Labels are exact for the pixels Cycles draws: the instance map and depth come from Blender's
object-index and depth passes, rendered with one sample at each pixel's centre (the smallest
pixel filter), which is where TinyRenderer and OpenGL sample too; the colour image is rendered
separately with the scenario's samples, pixel filter and denoiser.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simgen import timing
from simgen.render.alone import render_alone
from simgen.render.frame import Frame, RendererUnavailable

BLENDER_VERSION = "5.0.1"
# Where `simgen cycles install` puts Blender's Python packages; SIMGEN_CYCLES_HOME moves it.
DEFAULT_HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simgen"
# One lock file per slot of cores, shared by every simgen process on this machine.
CORES_DIR = DEFAULT_HOME / "cycles-cores"
CHILD_SCRIPT = Path(__file__).with_name("blender_child.py")

# PyBullet's visual geometry types (getVisualShapeData) that Blender builds.
GEOM_SPHERE, GEOM_BOX, GEOM_CYLINDER, GEOM_MESH, GEOM_CAPSULE = 2, 3, 4, 5, 7
DEFAULT_MATERIAL = {"roughness": 0.5, "metallic": 0.0, "specular": 0.5}


class CyclesUnavailable(RendererUnavailable):
    """No Blender to render with; the message says how to install one."""


def cycles_home() -> Path:
    return Path(os.environ.get("SIMGEN_CYCLES_HOME") or DEFAULT_HOME / f"bpy-{BLENDER_VERSION}")


def blender_command() -> tuple[list[str], dict[str, str]]:
    """The command (and environment) that runs the Blender child: SIMGEN_BLENDER_PYTHON, else
    this Python with the folder `simgen cycles install` made first on its path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    # One thread per OpenMP/BLAS pool in the child: Cycles has its own thread count.
    env.setdefault("OMP_NUM_THREADS", "1")
    named = os.environ.get("SIMGEN_BLENDER_PYTHON")
    if named:
        return [named, "-s", str(CHILD_SCRIPT)], env
    home = cycles_home()
    if not (home / "bpy").is_dir():
        raise CyclesUnavailable(
            f"the cycles renderer needs Blender {BLENDER_VERSION} (bpy): run `simgen cycles "
            f"install` (it goes to {home}, outside this environment, because bpy needs NumPy < 2)"
            ", or name a Python that has bpy in SIMGEN_BLENDER_PYTHON")
    env["PYTHONPATH"] = str(home)
    # -s: no user site; -I would also drop PYTHONPATH. The folder comes first on sys.path, so
    # its NumPy 1.26 is the one Blender imports.
    return [sys.executable, "-s", str(CHILD_SCRIPT)], env


def install(home: Path | None = None, quiet: bool = False) -> Path:
    """Install bpy (and its NumPy < 2) into `home` with pip, outside this environment."""
    home = home or cycles_home()
    if (home / "bpy").is_dir():
        return home
    partial = home.with_name(home.name + ".partial")
    if partial.exists():
        import shutil

        shutil.rmtree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--target", str(partial), "--no-compile",
               "--only-binary=:all:", "--disable-pip-version-check",
               # pip would compare the folder's NumPy 1.26 with this environment's packages
               # and warn of a conflict that cannot happen: the folder is only on the child's path.
               "--no-warn-conflicts", f"bpy=={BLENDER_VERSION}"]
    if quiet:
        command.append("-q")
    subprocess.run(command, check=True)
    partial.rename(home)  # whole or not at all: an interrupted install leaves only .partial
    return home


def claim_cores(threads: int) -> tuple[list[int] | None, Any]:
    """A set of `threads` cores of this machine that no other Blender of simgen's holds, and the
    lock that holds them (kept open for the Blender's life); (None, None) when all are taken.

    Cycles renders on its `threads`, but OpenImageDenoise runs on every core it may: two
    workers' Blenders on two cores took 18.3 s an image each, against 14.5 s pinned to a core
    each (tabletop, 640x480; one Blender on both cores: 7.3 s). Pinning does not change a pixel.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if threads >= len(cpus):
        return None, None
    import fcntl

    folder = CORES_DIR
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None, None
    for slot in range(len(cpus) // threads):
        try:
            lock = open(folder / f"{threads}-{slot}.lock", "a")
        except OSError:
            return None, None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return cpus[slot * threads:(slot + 1) * threads], lock
    return None, None


class BlenderProcess:
    """One Blender child and the pipe to it; `threads` > 0 pins it to that many free cores."""

    def __init__(self, threads: int = 0) -> None:
        command, env = blender_command()
        self._cores_lock = None
        if threads > 0:
            cores, self._cores_lock = claim_cores(threads)
            if cores:
                env["SIMGEN_BLENDER_CPUS"] = ",".join(map(str, cores))
        self._log = tempfile.TemporaryFile(prefix="simgen-blender-")
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._log, env=env)
        except OSError as err:
            if self._cores_lock is not None:
                self._cores_lock.close()
            raise CyclesUnavailable(f"could not start Blender's Python {command[0]}: "
                                    f"{err.strerror}") from None
        try:
            self.version = self.request({"op": "hello"})[0]["blender"]
        except RuntimeError as err:
            self.close()
            raise CyclesUnavailable(str(err)) from None

    def request(self, message: dict) -> tuple[dict, list[np.ndarray]]:
        data = json.dumps(message).encode()
        try:
            self._proc.stdin.write(struct.pack("<I", len(data)) + data)
            self._proc.stdin.flush()
            head = self._read(4)
            reply = json.loads(self._read(struct.unpack("<I", head)[0]))
            arrays = []
            for dtype, shape in reply.pop("arrays"):
                dtype = np.dtype(dtype)
                count = int(np.prod(shape))
                arrays.append(np.frombuffer(self._read(count * dtype.itemsize), dtype)
                              .reshape(shape).copy())
        except (OSError, ValueError, EOFError) as err:
            raise RuntimeError(f"Blender stopped ({err}); its last words: {self.log_tail()}") from None
        if "error" in reply:
            raise RuntimeError(f"Blender: {reply['error']}")
        timing.add("blender render", reply.get("render_s", 0.0))
        return reply, arrays

    def _read(self, n: int) -> bytes:
        out = self._proc.stdout.read(n)
        if out is None or len(out) != n:
            raise EOFError("the pipe closed")
        return out

    def log_tail(self, chars: int = 400) -> str:
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - chars))
        return self._log.read().decode(errors="replace").strip().replace("\n", " | ")

    def close(self) -> None:
        if self._log.closed:
            return
        if self._proc.poll() is None:
            try:
                self.request({"op": "quit"})
            except RuntimeError:
                pass
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
        self._log.close()
        if self._cores_lock is not None:
            self._cores_lock.close()


# What an OBJ's material library may make simgen read: files inside the OBJ's own folder, of
# bounded size (an asset is untrusted: its MTL could name any file on the machine).
MTL_MAX_BYTES = 1 << 20
TEXTURE_MAX_BYTES = 64 << 20


@lru_cache(maxsize=256)
def _mtl_texture(mesh_path: str) -> str | None:
    """The diffuse texture an OBJ's material library names (PyBullet draws it), if any: only a
    regular file inside the OBJ's folder (links resolved), within the size limits."""
    obj = Path(mesh_path)
    if obj.suffix.lower() != ".obj":
        return None
    head = _bounded_text(obj, MTL_MAX_BYTES)   # the mtllib line comes first in practice
    root = obj.resolve().parent
    for line in (head or "").splitlines():
        if line.startswith("mtllib "):
            mtl = _inside(obj.parent / line.split(None, 1)[1].strip(), root, MTL_MAX_BYTES)
            text = _bounded_text(mtl, MTL_MAX_BYTES) if mtl else None
            for entry in (text or "").splitlines():
                entry = entry.strip()
                if entry.startswith("map_Kd "):
                    texture = _inside(mtl.parent / entry.split()[-1], root, TEXTURE_MAX_BYTES)
                    return str(texture) if texture else None
            return None
    return None


def _inside(path: Path, root: Path, max_bytes: int) -> Path | None:
    """`path` resolved, when it is a regular file inside `root` of at most `max_bytes`."""
    try:
        resolved = path.resolve()
        ok = (resolved.is_relative_to(root) and resolved.is_file()
              and resolved.stat().st_size <= max_bytes)
    except (OSError, RuntimeError):   # RuntimeError: a link loop
        return None
    return resolved if ok else None


def _bounded_text(path: Path, max_bytes: int) -> str | None:
    try:
        with path.open("rb") as f:
            return f.read(max_bytes).decode("utf-8", "replace")
    except OSError:
        return None


def _pose_matrix(position, quaternion_xyzw) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    out = np.eye(4)
    out[:3, :3] = Rotation.from_quat(quaternion_xyzw).as_matrix()
    out[:3, 3] = position
    return out


def _link_frame(p: Any, cid: int, uid: int, link: int) -> np.ndarray:
    """World pose of a link's own (URDF) frame, which visual frames are given in. PyBullet
    reports a base by its centre of mass, so the base's inertial offset is taken off."""
    if link >= 0:
        state = p.getLinkState(uid, link, computeForwardKinematics=True, physicsClientId=cid)
        return _pose_matrix(state[4], state[5])
    com = _pose_matrix(*p.getBasePositionAndOrientation(uid, physicsClientId=cid))
    inertial = p.getDynamicsInfo(uid, -1, physicsClientId=cid)
    return com @ np.linalg.inv(_pose_matrix(inertial[3], inertial[4]))


def scene_visuals(world: Any, settled: Any) -> list[dict[str, Any]]:
    """Every visual shape of the settled world, as the Blender child builds it."""
    p, cid = world.p, world.client
    instances = {uid: i for i, uid in enumerate(settled.labeled_body_ids, start=1) if uid >= 0}
    sample = settled.sample
    visuals = []
    for n in range(p.getNumBodies(physicsClientId=cid)):
        uid = p.getBodyUniqueId(n, physicsClientId=cid)
        section, index = world.owners.get(uid, (None, None))
        body = getattr(sample, section)[index] if section else None
        texture = body.appearance.texture_path if body is not None else None
        links: dict[int, np.ndarray] = {}
        for shape in p.getVisualShapeData(uid, physicsClientId=cid):
            _, link, kind, dims, mesh, local_pos, local_orn, rgba = shape[:8]
            if kind not in (GEOM_SPHERE, GEOM_BOX, GEOM_CYLINDER, GEOM_MESH, GEOM_CAPSULE):
                continue
            if link not in links:
                links[link] = _link_frame(p, cid, uid, link)
            world_T = links[link] @ _pose_matrix(local_pos, local_orn)
            mesh = mesh.decode() if isinstance(mesh, bytes) else mesh
            if kind == GEOM_MESH:
                world_T = world_T @ np.diag([*dims, 1.0])
            visuals.append({
                "body": uid, "pass_index": instances.get(uid, 0), "kind": kind,
                "mesh": mesh if kind == GEOM_MESH else None, "dims": list(dims),
                "matrix": world_T.tolist(), "color": list(rgba),
                "texture": texture or (_mtl_texture(mesh) if kind == GEOM_MESH else None),
                "owner": [section, index],
            })
    return visuals


class CyclesRenderer:
    """Renders views of the scene in `world` with Cycles in a Blender child process. `spec` is
    the scenario's `cycles` section (None: its defaults); `threads` Cycles' thread count (the
    pixels do not depend on it: tests/render/test_cycles.py)."""

    name = "cycles"

    def __init__(self, world: Any, spec: Any = None, threads: int = 1) -> None:
        from simgen.scenario.schema import CyclesSpec

        spec = spec if spec is not None else CyclesSpec()
        self.world = world
        self.note = ""
        self.threads = max(1, int(threads))
        self.settings = {"samples": spec.samples, "denoise": spec.denoise,
                         "max_bounces": spec.max_bounces, "view_transform": spec.view_transform}
        self._blender = BlenderProcess(self.threads)
        self.version = self._blender.version
        self._scene: tuple[Any, Any] | None = None   # (settled, look) Blender holds
        world.on_close(self.close)   # Blender lives as long as the world it renders

    def close(self) -> None:
        self._blender.close()

    def applied(self, look: dict[str, Any]) -> dict[str, Any]:
        """What provenance records of a scene rendered with `look`: every value Blender applied."""
        return {"blender": self.version, "samples": self.settings["samples"],
                "denoiser": "OpenImageDenoise" if self.settings["denoise"] else None,
                "max_bounces": self.settings["max_bounces"],
                "view_transform": self.settings["view_transform"], **look}

    def _send_scene(self, settled: Any, look: dict[str, Any]) -> None:
        # Held, not their id()s: a later scene's objects may take a freed one's id.
        if self._scene is not None and self._scene[0] is settled and self._scene[1] is look:
            return
        visuals = scene_visuals(self.world, settled)
        for visual in visuals:
            section, index = visual.pop("owner")
            visual["material"] = look["materials"][section][index] if section else DEFAULT_MATERIAL
        lights = [_blender_light(light) for light in look["lights"]]
        render = dict(self.settings, threads=self.threads, exposure=look["exposure"])
        self._blender.request({"op": "scene", "scene": {
            "visuals": visuals, "world": look["world"], "lights": lights, "render": render}})
        self._scene = (settled, look)

    @staticmethod
    def _camera(camera: Any, seed: int = 0) -> dict[str, Any]:
        K = camera.K_array
        return {"width": camera.width, "height": camera.height, "fx": K[0, 0], "fy": K[1, 1],
                "cx": K[0, 2], "cy": K[1, 2], "near_m": camera.near_m, "far_m": camera.far_m,
                "pose": camera.pose_array.tolist(), "seed": seed}

    def render(self, scene: Any, camera: Any, light: Any, look: dict[str, Any] | None = None) -> Any:
        """The Frame of `camera`; `look` is the scene's simgen.scenario.look.draw_look (None:
        the defaults, drawn from a fixed stream)."""
        if look is None:
            from simgen.scenario.look import draw_look

            look = draw_look(None, scene.sample, [], np.random.SeedSequence(0))
        self._send_scene(scene, look)
        view = scene.sample.views.index(camera)
        request = self._camera(camera, look["seeds"][view])
        _, (index, depth) = self._blender.request({"op": "labels", "camera": request})
        _, (rgb,) = self._blender.request({"op": "rgb", "camera": request})
        # Nothing hit: Cycles reports a huge distance; simgen's frames say far_m, as OpenGL does.
        depth = np.minimum(depth, camera.far_m).astype(np.float32)
        return Frame(rgb, depth, index.astype(np.int32), camera)

    def render_alone(self, uid: int, camera: Any, margin_x: int, margin_y: int) -> np.ndarray:
        """Mask of body `uid` seen alone, on a canvas enlarged by the margins on every side
        (simgen.render.alone), from label renders of that body only."""
        w, h = camera.width + 2 * margin_x, camera.height + 2 * margin_y

        def window(win: tuple[int, int, int, int]) -> np.ndarray:
            request = {"op": "labels", "camera": self._camera(camera), "only": [uid],
                       "canvas": [w, h], "offset": [margin_x, margin_y], "window": list(win)}
            return self._blender.request(request)[1][0] > 0

        return render_alone(self.world, uid, camera, margin_x, margin_y, window)

    def render_alone_many(self, uids: list[int], camera: Any, margin_x: int,
                          margin_y: int) -> dict[int, np.ndarray]:
        """render_alone of every body in `uids`, one label render each. Not grouped as tiny and
        EGL are (simgen.render.alone): label renders of several bodies at once made a later
        colour render differ by a few levels in ~90 pixels from one process to the next
        (bin_picking, 1 thread, denoiser off as well), and a label render is a small part of a
        Cycles image's time."""
        return {uid: self.render_alone(uid, camera, margin_x, margin_y) for uid in uids}


def _blender_light(light: dict[str, Any]) -> dict[str, Any]:
    """A light of the look as the Blender child takes it: with its world matrix."""
    out = {k: v for k, v in light.items() if k not in ("direction", "position", "look_at")}
    if light["type"] == "SUN":
        out["matrix"] = _facing(np.zeros(3), -np.asarray(light["direction"], float))
    else:
        position = np.asarray(light["position"], float)
        out["matrix"] = _facing(position, np.asarray(light["look_at"], float) - position)
    return out


def _facing(position: np.ndarray, forward: np.ndarray) -> list[list[float]]:
    """A pose at `position` whose local -z (where Blender's lights shine) points along
    `forward`."""
    z = -forward / (np.linalg.norm(forward) or 1.0)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    out = np.eye(4)
    out[:3, 0], out[:3, 1], out[:3, 2], out[:3, 3] = x, y, z, position
    return out.tolist()
