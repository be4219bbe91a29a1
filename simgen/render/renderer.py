"""Render a settled scene's views with PyBullet's renderers."""

from __future__ import annotations

import pkgutil
from typing import Any

import numpy as np

from simgen import geometry
from simgen.render.alone import render_alone, render_alone_many
from simgen.render.capabilities import (cycles_refusal, egl_refusal, egl_models,
                                        egl_texture_files)
from simgen.render.egl_meshes import MeshVariants
from simgen.render.egl_rows import aligned_texture
from simgen.render.egl_textures import make_twins
from simgen.render.frame import Frame, RendererUnavailable
from simgen.scenario.sample import CameraSample, LightSample
from simgen.sim.quiet import c_output_silenced
from simgen.sim.world import SettledScene, World

# "auto" picks EGL or tiny; Cycles only when named (it is slower by two orders of magnitude).
RENDERERS = ("auto", "tiny", "egl", "cycles")

# TinyRenderer samples each pixel half a pixel away from OpenGL's pixel centre (measured against
# the EGL renderer: shifting the principal point by (-0.5, +0.5) brings the two instance maps
# from ~250 differing pixels to a few at 320x240). Rendering with this shift makes the image
# agree with the stored K, which is the OpenCV-convention truth for both renderers.
TINY_PRINCIPAL_POINT_SHIFT_PX = (-0.5, 0.5)
# The fixed cost of a render call in pixels of window (measured on the 2-core machine, Mesa:
# EGL's mask-only call 1.7 ms and 1.7e-5 ms a pixel; TinyRenderer, the other bodies transparent
# (World.transparent), 0.15 ms and 1.35e-5 ms): how much larger a window may grow to save a call
# when objects are rendered alone together (simgen.render.alone).
CALL_COST_PX = {"egl": 100_000, "tiny": 11_000}
# PyBullet's EGL plugin draws into a 1024 x 768 framebuffer: a larger image comes back resampled
# (measured: a 1025 x 768 or 1280 x 960 render differs from the same pixels rendered within the
# limit in about 1 pixel in 300), so larger images are rendered in tiles of at most this size,
# each with the principal point moved by whole pixels: the same pixel grid, exactly.
EGL_MAX_SIZE_PX = (1024, 768)


class Renderer:
    """Renders views of the scene in `world`; `name` is 'tiny' or 'egl'.

    Once the EGL plugin is loaded into a client, PyBullet renders every view of that client with
    it, whatever renderer flag is passed: a world runs one renderer for its whole life.
    """

    def __init__(self, world: World, name: str, note: str = "") -> None:
        self.world = world
        self.name = name
        self.note = note  # why 'auto' chose this renderer, when not the first choice
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
        side: see simgen.render.alone."""
        def window(win: tuple[int, int, int, int]) -> np.ndarray:
            x0, y0, x1, y1 = win
            return self._render_mask(uid, camera, margin_x - x0, margin_y - y0, x1 - x0, y1 - y0)

        return render_alone(self.world, uid, camera, margin_x, margin_y, window)

    def render_alone_many(self, uids: list[int], camera: CameraSample, margin_x: int,
                          margin_y: int) -> dict[int, np.ndarray]:
        """render_alone of every body in `uids`, in as few calls as their windows allow."""
        def group(members: list[int], win: tuple[int, int, int, int]) -> dict[int, np.ndarray]:
            x0, y0, x1, y1 = win
            seg = self._render_alone_seg(members, camera, margin_x - x0, margin_y - y0,
                                         x1 - x0, y1 - y0)
            return {uid: seg == uid for uid in members}

        return render_alone_many(self.world, uids, camera, margin_x, margin_y, group,
                                 CALL_COST_PX[self.name])

    def _render_mask(self, uid: int, camera: CameraSample, shift_x: float, shift_y: float,
                     w: int, h: int) -> np.ndarray:
        return self._render_alone_seg([uid], camera, shift_x, shift_y, w, h) == uid

    def _render_alone_seg(self, uids: list[int], camera: CameraSample, shift_x: float,
                          shift_y: float, w: int, h: int) -> np.ndarray:
        """The segmentation (body ids) of `uids` alone, w x h, principal point shifted."""
        K = self._render_K(camera, shift_x, shift_y)
        hide = self.world.transparent if self.name == "tiny" else self.world.isolated
        with hide(*uids):
            return self._camera_image(camera, K, w, h, shadow=0, mask_only=True)[2]

    def _camera_image(self, camera: CameraSample, K: np.ndarray, w: int, h: int,
                      **options: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """rgba (h, w, 4) uint8, zbuffer (h, w) float32 and seg (h, w) int32 of a render with
        intrinsics K, in tiles where the renderer needs them (see EGL_MAX_SIZE_PX)."""
        max_w, max_h = EGL_MAX_SIZE_PX if self.name == "egl" else (w, h)
        if w <= max_w and h <= max_h:
            return self._camera_tile(camera, K, w, h, options)
        rgba = np.empty((h, w, 4), np.uint8)
        zbuffer = np.empty((h, w), np.float32)
        seg = np.empty((h, w), np.int32)
        for y0 in range(0, h, max_h):
            for x0 in range(0, w, max_w):
                tw, th = min(max_w, w - x0), min(max_h, h - y0)
                tile_K = K.copy()
                tile_K[0, 2] -= x0
                tile_K[1, 2] -= y0
                tile = self._camera_tile(camera, tile_K, tw, th, options)
                rgba[y0:y0 + th, x0:x0 + tw] = tile[0]
                zbuffer[y0:y0 + th, x0:x0 + tw] = tile[1]
                seg[y0:y0 + th, x0:x0 + tw] = tile[2]
        return rgba, zbuffer, seg

    def _camera_tile(self, camera: CameraSample, K: np.ndarray, w: int, h: int,
                     options: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p, cid = self._p, self.world.client
        options = dict(options)
        view = geometry.gl_view_matrix(camera.pose_array)
        projection = geometry.gl_projection_matrix(K, w, h, camera.near_m, camera.far_m)
        if options.pop("mask_only", False) and self.name == "egl":
            # Only the segmentation mask is read. The EGL plugin renders a 4096 x 4096 shadow
            # map every call, whatever `shadow` says, except with a projective texture (which
            # changes colours only): an object alone in a window took 9.5 ms, now 3 ms, with
            # the same mask; later renders are unchanged (tested).
            options.update(flags=p.ER_USE_PROJECTIVE_TEXTURE, projectiveTextureView=view,
                           projectiveTextureProj=projection)
        with c_output_silenced():  # the EGL plugin prints on some frames
            _, _, rgba, zbuffer, seg = p.getCameraImage(
                w, h, viewMatrix=view, projectionMatrix=projection,
                renderer=self._mode, physicsClientId=cid, **options)
        return (np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4),
                np.asarray(zbuffer, dtype=np.float32).reshape(h, w),
                np.asarray(seg, dtype=np.int32).reshape(h, w))

    def render(self, scene: SettledScene, camera: CameraSample, light: LightSample,
               look: Any = None) -> Frame:
        """The Frame of `camera`. `look` (what only Cycles draws) changes nothing here."""
        w, h = camera.width, camera.height
        rgba, zbuffer, seg = self._camera_image(
            camera, self._render_K(camera), w, h,
            **self._light_options(light))
        rgb = _rgb_of(rgba)
        depth = geometry.depth_from_zbuffer(zbuffer, camera.near_m, camera.far_m)
        return Frame(rgb, depth, self._instance_map(seg, scene.labeled_body_ids), camera)

    def _light_options(self, light: LightSample) -> dict[str, Any]:
        # Only what the renderer applies is passed (see simgen.render.capabilities).
        if self.name == "egl":  # shadow=1: what it draws anyway (the plugin ignores shadow=)
            return {"lightDirection": light.direction, "shadow": 1}
        return {"lightDirection": light.direction, "lightColor": light.color,
                "lightDistance": light.distance_m, "shadow": int(light.shadows),
                "lightAmbientCoeff": light.ambient, "lightDiffuseCoeff": light.diffuse,
                "lightSpecularCoeff": light.specular}

    @staticmethod
    def _instance_map(seg: np.ndarray, object_body_ids: tuple[int, ...]) -> np.ndarray:
        # seg holds PyBullet body ids (-1 for background); a lookup table maps them to instances.
        # A body id of -1 in object_body_ids is an object that was skipped: it has no pixels.
        # The table ends with a 0 that every id above the largest object's is clipped to (the
        # set, distractors): one gather over the image.
        lut = np.zeros(max(object_body_ids, default=0) + 3, dtype=np.int32)
        for instance, uid in enumerate(object_body_ids, start=1):
            if uid >= 0:
                lut[uid + 1] = instance
        return np.take(lut, seg + 1, mode="clip")


def _rgb_of(rgba: np.ndarray) -> np.ndarray:
    """The RGB channels of an h x w x 4 image, contiguous (OpenCV's copy: 0.02 ms at 640 x 480
    against 0.95 for NumPy's strided one)."""
    import cv2

    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)


# Renders made right after the plugin starts, before any scene: the first frame after start
# shades shadows differently from every later one (measured: ~1000 pixels along shadow edges of
# a bin_picking view; the second and every later render of the same scene are identical,
# whatever was rendered before), so a worker's first scene came out unlike the same scene
# rendered later, in another worker or by regen. Two renders bring the GL state to where it
# stays; every scene then starts from that same state.
EGL_WARMUP_RENDERS = 2
# The EGL plugin never frees a GL texture: every resetSimulation registers each URDF's own
# textures (and a 1024 x 1024 checker for a plane) again (measured: +10 MB a scene on tabletop,
# 3.5 GB after 300 scenes; the same before simgen's texture slots). Only closing the client
# frees them, so an EGL world takes a new client once the process grew by EGL_CLIENT_GROWTH_MIB
# (Mesa keeps textures in process memory), or after EGL_SCENES_PER_CLIENT scenes (a GPU keeps
# them in its own memory, which the process size does not show). A new client costs ~0.3 s on
# the 2-core machine (plugin start 0.11 s, warm-up renders 0.14 s): every 16 scenes that was 8%
# of an EGL worker's time; by growth it is ~1% (scripts/benchmark.py), and a worker's peak
# stays flat (990 MiB after 1,000 images, 1,036 after 4,000: `benchmark.py --memory`).
EGL_CLIENT_GROWTH_MIB = 512
EGL_SCENES_PER_CLIENT = 200


def _start_egl(world: World, textures: tuple[str, ...] = ()) -> None:
    p = world.p
    loader = pkgutil.get_loader("eglRenderer")
    if loader is None:
        raise RendererUnavailable("pybullet's eglRenderer plugin is not installed")
    # One silenced block for loading and the first renders: the plugin prints from its own
    # thread while it starts, and the first render waits for it to finish starting.
    with c_output_silenced():
        plugin = p.loadPlugin(loader.get_filename(), "_eglRendererPlugin",
                              physicsClientId=world.client)
        if plugin >= 0:
            # Before anything else reaches the GL renderer: these become its textures 0..n-1
            # for the life of the world (see World.texture_slots).
            for path in textures:   # a width EGL reads sheared: a resampled copy
                aligned = aligned_texture(path, world.scratch_dir() / "aligned")
                if p.loadTexture(aligned, physicsClientId=world.client) < 0:
                    raise RendererUnavailable(f"the EGL plugin could not load texture {path}")
            for _ in range(EGL_WARMUP_RENDERS):
                _, _, rgba, _, _ = p.getCameraImage(8, 8, renderer=p.ER_BULLET_HARDWARE_OPENGL,
                                                    physicsClientId=world.client)
    if plugin < 0:
        raise RendererUnavailable("the EGL plugin did not load (no EGL driver?)")
    if np.asarray(rgba).size != 8 * 8 * 4:
        raise RendererUnavailable("the EGL plugin loaded but did not render")
    world.texture_slots = textures


def start_renderer(world: World, name: str = "auto", scenario: Any = None,
                   threads: int = 1) -> Any:
    """Start renderer `name` on `world`: 'tiny', 'egl', 'cycles', or 'auto' (EGL if it starts
    and can apply every setting of `scenario`, else tiny; `Renderer.note` says why).

    With `scenario` given, 'egl' and 'cycles' raise the ScenarioError of the first setting they
    cannot apply (see simgen.render.capabilities), and EGL starts with the scenario's textures
    loaded. `threads`: Cycles' render threads (tiny and EGL render on one)."""
    if name not in RENDERERS:
        raise ValueError(f"renderer must be one of {', '.join(RENDERERS)} (got {name!r})")
    if name == "cycles":
        from simgen.render.cycles import CyclesRenderer

        refusal = cycles_refusal(scenario) if scenario is not None else None
        if refusal is not None:
            raise refusal
        return CyclesRenderer(world, scenario.spec.cycles if scenario is not None else None,
                              threads)
    if name == "tiny":
        return Renderer(world, "tiny")
    refusal = egl_refusal(scenario) if scenario is not None else None
    if refusal is not None:
        if name == "egl":
            raise refusal
        return Renderer(world, "tiny", note=f"egl cannot apply {refusal.key_path}")
    textures = egl_texture_files(scenario) if scenario is not None else ()
    twins = {}
    if scenario is not None:   # URDF textures: loaded once here, not once a scene
        twins = make_twins(egl_models(scenario), world.scratch_dir() / "twins")
        textures += tuple(dict.fromkeys(t for twin in twins.values() for t in twin.textures
                                        if t not in textures))
    try:
        _start_egl(world, textures)
    except RendererUnavailable as err:
        if name == "egl":
            raise
        return Renderer(world, "tiny", note=str(err))
    world.twins = twins
    world.mesh_variants = MeshVariants(world.scratch_dir() / "variants")
    world.restart_every(EGL_SCENES_PER_CLIENT, lambda: _start_egl(world, textures),
                        growth_mib=EGL_CLIENT_GROWTH_MIB)
    return Renderer(world, "egl")
