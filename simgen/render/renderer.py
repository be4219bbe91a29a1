"""Render a settled scene's views with PyBullet's renderers."""

from __future__ import annotations

import pkgutil
from dataclasses import dataclass

import numpy as np

from simgen import geometry
from simgen.scenario.sample import CameraSample, LightSample
from simgen.sim.quiet import c_output_silenced
from simgen.sim.world import SettledScene, World

RENDERERS = ("auto", "tiny", "egl")

# TinyRenderer samples each pixel half a pixel away from OpenGL's pixel centre (measured against
# the EGL renderer: shifting the principal point by (-0.5, +0.5) brings the two instance maps
# from ~250 differing pixels to a few at 320x240). Rendering with this shift makes the image
# agree with the stored K, which is the OpenCV-convention truth for both renderers.
TINY_PRINCIPAL_POINT_SHIFT_PX = (-0.5, 0.5)


class RendererUnavailable(RuntimeError):
    """The requested renderer cannot start on this machine."""


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray           # uint8, H x W x 3
    depth_m: np.ndarray       # float32, H x W, distance along the optical axis
    instance_map: np.ndarray  # int32, H x W; 0 = nothing labeled, i = object i - 1
    camera: CameraSample


class Renderer:
    """Renders views of the scene in `world`; `name` is 'tiny' or 'egl'.

    Once the EGL plugin is loaded into a client, PyBullet renders every view of that client with
    it, whatever renderer flag is passed: a world runs one renderer for its whole life.
    """

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.name = name
        self._p = world.p
        self._mode = self._p.ER_TINY_RENDERER if name == "tiny" else self._p.ER_BULLET_HARDWARE_OPENGL

    def _render_K(self, camera: CameraSample, shift_x: float = 0.0, shift_y: float = 0.0) -> np.ndarray:
        K = camera.K_array
        K[0, 2] += shift_x + (TINY_PRINCIPAL_POINT_SHIFT_PX[0] if self.name == "tiny" else 0.0)
        K[1, 2] += shift_y + (TINY_PRINCIPAL_POINT_SHIFT_PX[1] if self.name == "tiny" else 0.0)
        return K

    def render_alone(self, uid: int, camera: CameraSample, margin_x: int,
                     margin_y: int) -> np.ndarray:
        """Mask of body `uid` seen alone by `camera`, on a canvas enlarged by the margins on every
        side (so the part of it outside the frame shows too). Bool, (H + 2my) x (W + 2mx)."""
        p, cid = self._p, self.world.client
        w, h = camera.width + 2 * margin_x, camera.height + 2 * margin_y
        K = self._render_K(camera, margin_x, margin_y)
        with self.world.isolated(uid), c_output_silenced():
            _, _, _, _, seg = p.getCameraImage(
                w, h, viewMatrix=geometry.gl_view_matrix(camera.pose_array),
                projectionMatrix=geometry.gl_projection_matrix(K, w, h, camera.near_m, camera.far_m),
                shadow=0, renderer=self._mode, physicsClientId=cid)
        return np.asarray(seg, dtype=np.int32).reshape(h, w) == uid

    def render(self, scene: SettledScene, camera: CameraSample, light: LightSample) -> Frame:
        p, cid = self._p, self.world.client
        w, h = camera.width, camera.height
        K = self._render_K(camera)
        with c_output_silenced():  # the EGL plugin prints on some frames
            _, _, rgba, zbuffer, seg = p.getCameraImage(
                w, h,
                viewMatrix=geometry.gl_view_matrix(camera.pose_array),
                projectionMatrix=geometry.gl_projection_matrix(K, w, h, camera.near_m, camera.far_m),
                lightDirection=light.direction, lightColor=light.color,
                lightDistance=light.distance_m, shadow=int(light.shadows),
                lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse,
                lightSpecularCoeff=light.specular, renderer=self._mode, physicsClientId=cid)
        rgb = np.ascontiguousarray(np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4)[:, :, :3])
        depth = geometry.depth_from_zbuffer(np.asarray(zbuffer, dtype=np.float32).reshape(h, w),
                                            camera.near_m, camera.far_m)
        seg = np.asarray(seg, dtype=np.int32).reshape(h, w)
        return Frame(rgb, depth, self._instance_map(seg, scene.labeled_body_ids), camera)

    @staticmethod
    def _instance_map(seg: np.ndarray, object_body_ids: tuple[int, ...]) -> np.ndarray:
        # seg holds PyBullet body ids (-1 for background); a lookup table maps them to instances.
        # A body id of -1 in object_body_ids is an object that was skipped: it has no pixels.
        lut = np.zeros(max(object_body_ids, default=0) + 2, dtype=np.int32)
        for instance, uid in enumerate(object_body_ids, start=1):
            if uid >= 0:
                lut[uid + 1] = instance
        clipped = np.minimum(seg + 1, len(lut) - 1)
        out = lut[clipped]
        out[seg + 1 >= len(lut)] = 0  # bodies above the largest object id are the set
        return out


def _start_egl(world: World) -> None:
    p = world.p
    loader = pkgutil.get_loader("eglRenderer")
    if loader is None:
        raise RendererUnavailable("pybullet's eglRenderer plugin is not installed")
    # One silenced block for loading and a first render: the plugin prints from its own thread
    # while it starts, and the first render waits for it to finish starting.
    with c_output_silenced():
        plugin = p.loadPlugin(loader.get_filename(), "_eglRendererPlugin",
                              physicsClientId=world.client)
        if plugin >= 0:
            _, _, rgba, _, _ = p.getCameraImage(8, 8, renderer=p.ER_BULLET_HARDWARE_OPENGL,
                                                physicsClientId=world.client)
    if plugin < 0:
        raise RendererUnavailable("the EGL plugin did not load (no EGL driver?)")
    if np.asarray(rgba).size != 8 * 8 * 4:
        raise RendererUnavailable("the EGL plugin loaded but did not render")


def start_renderer(world: World, name: str = "auto") -> Renderer:
    """Start renderer `name` on `world`: 'tiny', 'egl', or 'auto' (EGL if it starts, else tiny)."""
    if name not in RENDERERS:
        raise ValueError(f"renderer must be one of {', '.join(RENDERERS)} (got {name!r})")
    if name == "tiny":
        return Renderer(world, "tiny")
    try:
        _start_egl(world)
    except RendererUnavailable:
        if name == "egl":
            raise
        return Renderer(world, "tiny")
    return Renderer(world, "egl")
