"""The Blender side of the Cycles renderer: a script run by a Python that has `bpy`.

It imports nothing of simgen (Blender's Python may live in its own environment, with its own
NumPy: bpy 5.0.1 requires NumPy < 2, simgen's clients NumPy 2), only bpy, NumPy and the standard
library. simgen.render.cycles starts it, sends it settled scenes and cameras, and gets pixels.

Protocol, on the pipes the parent made: each message is a 4-byte little-endian length and a JSON
object; a reply may be followed by raw arrays whose dtype and shape its JSON lists ("arrays"). Blender
prints to the process's stdout, so the protocol runs on a copy of stdout taken before anything
else, and fd 1 is pointed at stderr (which the parent keeps in a log).

Requests:
  {"op": "hello"}                       -> {"blender": "5.0.1"}
  {"op": "scene", "scene": {...}}       -> {}   build the scene (see `build_scene`)
  {"op": "labels", "camera": {...}, "only": [body, ...] | null, "window": [x0, y0, x1, y1] | null}
                                        -> index int32 HxW, depth_m float32 HxW
  {"op": "rgb", "camera": {...}}        -> rgb uint8 HxWx3
  {"op": "quit"}
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import tempfile

# This file's folder holds simgen's cycles.py, which would shadow Blender's own `cycles` add-on.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

# The cores simgen gave this Blender (simgen.render.cycles.claim_cores): set before Blender
# starts its thread pools, which size themselves by the cores the process may run on.
if os.environ.get("SIMGEN_BLENDER_CPUS") and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {int(c) for c in os.environ["SIMGEN_BLENDER_CPUS"].split(",")})

import bpy  # noqa: E402
import numpy as np  # noqa: E402

# Cycles' smallest pixel filter: every sample of a pixel lands within 0.005 px of its centre, so
# a one-sample label render samples each pixel where TinyRenderer and OpenGL do.
LABEL_FILTER_WIDTH_PX = 0.01
BORDER_INSET_PX = 0.25


class Protocol:
    def __init__(self) -> None:
        self.inp = os.fdopen(os.dup(0), "rb", buffering=0)
        self.out = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(2, 1)  # whatever Blender prints goes to the log, never into the protocol
        sys.stdout = sys.stderr

    def read(self) -> dict | None:
        head = self._exactly(4)
        if head is None:
            return None
        (n,) = struct.unpack("<I", head)
        return json.loads(self._exactly(n))

    def _exactly(self, n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            chunk = self.inp.read(n - got)
            if not chunk:
                return None
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def reply(self, message: dict, arrays: tuple = ()) -> None:
        arrays = [np.ascontiguousarray(a) for a in arrays]
        message = dict(message, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
        data = json.dumps(message).encode()
        self.out.write(struct.pack("<I", len(data)) + data)
        for a in arrays:
            self.out.write(memoryview(a).cast("B"))


# --- the scene ---------------------------------------------------------------------------------


class Blender:
    """One Blender scene, reused for every simgen scene of a worker: meshes and images are
    loaded once per file and kept; objects, materials and lights are made anew per scene."""

    def __init__(self) -> None:
        # The startup file's cube, light and camera go (a factory reset would also switch off
        # the Cycles add-on).
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        self.tmp = tempfile.TemporaryDirectory(prefix="simgen-cycles-")
        self.scene = bpy.context.scene
        self.meshes: dict[str, list] = {}      # file -> mesh datablocks, in file order
        self.images: dict[str, object] = {}    # file -> image datablock
        self.bodies: dict[int, list] = {}      # body uid -> its objects
        self.settings: dict = {}
        self.render_s = 0.0
        self._setup()

    def _setup(self) -> None:
        scene = self.scene
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.render.resolution_percentage = 100
        scene.render.use_persistent_data = True
        scene.render.dither_intensity = 0.0
        scene.render.use_compositing = True
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGB"
        scene.render.image_settings.color_depth = "8"
        scene.render.image_settings.compression = 0
        scene.render.use_file_extension = True
        scene.cycles.use_animated_seed = False
        scene.cycles.caustics_reflective = False
        scene.cycles.caustics_refractive = False
        scene.world = bpy.data.worlds.new("world")
        scene.world.use_nodes = True
        layer = scene.view_layers[0]
        layer.use_pass_object_index = True
        layer.use_pass_z = True
        camera = bpy.data.cameras.new("camera")
        self.camera = bpy.data.objects.new("camera", camera)
        scene.collection.objects.link(self.camera)
        scene.camera = self.camera
        # The label passes leave through a File Output node as 32-bit float EXR files.
        tree = bpy.data.node_groups.new("labels", "CompositorNodeTree")
        scene.compositing_node_group = tree
        layers = tree.nodes.new("CompositorNodeRLayers")
        self.file_out = tree.nodes.new("CompositorNodeOutputFile")
        self.file_out.directory = self.tmp.name
        self.file_out.file_name = "pass_"
        fmt = self.file_out.format
        fmt.media_type = "IMAGE"
        fmt.file_format = "OPEN_EXR"
        fmt.color_depth = "32"
        fmt.exr_codec = "NONE"
        fmt.color_mode = "RGB"
        for name, socket in (("index", "Object Index"), ("depth", "Depth")):
            self.file_out.file_output_items.new("FLOAT", name)
            tree.links.new(layers.outputs[socket], self.file_out.inputs[name])
        self.threads(1)

    def threads(self, n: int) -> None:
        self.scene.render.threads_mode = "FIXED"
        self.scene.render.threads = max(1, int(n))

    # Meshes and images: loaded once per file.

    def mesh_parts(self, path: str) -> list:
        if path not in self.meshes:
            before = set(bpy.data.objects)
            if path.lower().endswith(".stl"):
                bpy.ops.wm.stl_import(filepath=path, forward_axis="Y", up_axis="Z")
            else:
                bpy.ops.wm.obj_import(filepath=path, forward_axis="Y", up_axis="Z",
                                      use_split_objects=False, use_split_groups=False)
            made = [o for o in bpy.data.objects if o not in before]
            parts = []
            for obj in sorted(made, key=lambda o: o.name):
                if obj.type == "MESH":
                    # Vertices in the file's own frame: the importer may leave a transform.
                    obj.data.transform(obj.matrix_world)
                    obj.data.materials.clear()
                    obj.data.materials.append(None)
                    obj.data.use_fake_user = True
                    parts.append(obj.data)
            for obj in made:
                bpy.data.objects.remove(obj)
            self.meshes[path] = parts
        return self.meshes[path]

    def primitive(self, kind: int, dims: list) -> list:
        key = f"primitive:{kind}:{dims}"
        if key not in self.meshes:
            import bmesh

            bm = bmesh.new()
            if kind == 3:  # box: full extents
                bmesh.ops.create_cube(bm, size=1.0)
                bmesh.ops.scale(bm, vec=dims[:3], verts=bm.verts)
            elif kind == 2:  # sphere: radius
                bmesh.ops.create_uvsphere(bm, u_segments=48, v_segments=24, radius=dims[0])
            else:  # cylinder (4) or capsule (7): length, radius, along z
                bmesh.ops.create_cone(bm, cap_ends=True, segments=48, radius1=dims[1],
                                      radius2=dims[1], depth=dims[0])
            mesh = bpy.data.meshes.new(key)
            bm.to_mesh(mesh)
            bm.free()
            mesh.materials.append(None)
            mesh.use_fake_user = True
            self.meshes[key] = [mesh]
        return self.meshes[key]

    def image(self, path: str):
        if path not in self.images:
            image = bpy.data.images.load(path)
            image.use_fake_user = True
            self.images[path] = image
        return self.images[path]

    # The scene.

    def clear(self) -> None:
        for obj in list(self.scene.collection.objects):
            if obj is not self.camera:
                bpy.data.objects.remove(obj)
        for block in (bpy.data.materials, bpy.data.lights):
            for item in list(block):
                block.remove(item)
        self.bodies = {}

    def build_scene(self, scene: dict) -> None:
        """scene: {"visuals": [{body, pass_index, kind, mesh, dims, matrix (4x4 world, row-major,
        scale included), color (rgba), texture, material {roughness, metallic, specular}}],
        "world": {...}, "lights": [...], "render": {...}}."""
        self.clear()
        self.settings = scene["render"]
        self.threads(self.settings.get("threads", 1))
        materials: dict[str, object] = {}
        for index, visual in enumerate(scene["visuals"]):
            if visual["kind"] == 5:
                parts = self.mesh_parts(visual["mesh"])
            else:
                parts = self.primitive(visual["kind"], visual["dims"])
            key = json.dumps([visual["color"], visual["texture"], visual["material"]],
                             sort_keys=True)
            if key not in materials:
                materials[key] = self.material(f"m{len(materials)}", visual)
            for part_index, mesh in enumerate(parts):
                obj = bpy.data.objects.new(f"v{index}.{part_index}", mesh)
                obj.matrix_world = _matrix(visual["matrix"])
                obj.pass_index = int(visual["pass_index"])
                self.scene.collection.objects.link(obj)
                # One slot on the shared mesh, filled per object: meshes outlive scenes.
                obj.material_slots[0].link = "OBJECT"
                obj.material_slots[0].material = materials[key]
                self.bodies.setdefault(int(visual["body"]), []).append(obj)
        self.world(scene["world"])
        for index, light in enumerate(scene["lights"]):
            self.light(index, light)

    def material(self, name: str, visual: dict):
        mat = bpy.data.materials.new(name)
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        bsdf = nodes["Principled BSDF"]
        r, g, b, a = visual["color"]
        look = visual["material"]
        bsdf.inputs["Roughness"].default_value = look["roughness"]
        bsdf.inputs["Metallic"].default_value = look["metallic"]
        bsdf.inputs["Specular IOR Level"].default_value = look["specular"]
        bsdf.inputs["Alpha"].default_value = a
        if visual["texture"]:
            tex = nodes.new("ShaderNodeTexImage")
            tex.image = self.image(visual["texture"])
            tex.interpolation = "Linear"
            mix = nodes.new("ShaderNodeMix")
            mix.data_type = "RGBA"
            mix.blend_type = "MULTIPLY"
            mix.inputs["Factor"].default_value = 1.0
            links.new(tex.outputs["Color"], mix.inputs["A"])
            mix.inputs["B"].default_value = (r, g, b, 1.0)
            links.new(mix.outputs["Result"], bsdf.inputs["Base Color"])
        else:
            bsdf.inputs["Base Color"].default_value = (r, g, b, 1.0)
        return mat

    def world(self, world: dict) -> None:
        tree = self.scene.world.node_tree
        for node in list(tree.nodes):
            tree.nodes.remove(node)
        out = tree.nodes.new("ShaderNodeOutputWorld")
        background = tree.nodes.new("ShaderNodeBackground")
        tree.links.new(background.outputs["Background"], out.inputs["Surface"])
        background.inputs["Strength"].default_value = world["strength"]
        sky = world.get("sky")
        if sky is None:
            background.inputs["Color"].default_value = (*world["color"], 1.0)
            return
        texture = tree.nodes.new("ShaderNodeTexSky")
        texture.sky_type = sky.get("type", "MULTIPLE_SCATTERING")
        texture.sun_elevation = math.radians(sky["sun_elevation_deg"])
        texture.sun_rotation = math.radians(sky["sun_rotation_deg"])
        texture.sun_disc = False
        if "air" in sky:
            texture.air_density = sky["air"]
        if "dust" in sky:
            texture.aerosol_density = sky["dust"]
        tree.links.new(texture.outputs["Color"], background.inputs["Color"])

    def light(self, index: int, light: dict) -> None:
        data = bpy.data.lights.new(f"light{index}", light["type"])
        data.color = light["color"]
        data.use_shadow = light.get("shadows", True)
        if light["type"] == "SUN":
            data.energy = light["strength"]
            data.angle = math.radians(light.get("angle_deg", 0.5))
        else:
            data.energy = light["power_w"]
            if light["type"] == "AREA":
                data.shape = "DISK"
                data.size = light["size_m"]
            else:
                data.shadow_soft_size = light.get("size_m", 0.0)
        obj = bpy.data.objects.new(f"light{index}", data)
        obj.matrix_world = _matrix(light["matrix"])
        self.scene.collection.objects.link(obj)

    # Rendering.

    def set_camera(self, camera: dict, canvas: tuple[int, int] | None = None,
                   offset: tuple[int, int] = (0, 0)) -> None:
        """OpenCV K and camera-to-world pose (x right, y down, z forward) to Blender's camera.
        `canvas` (w, h) enlarges the image by `offset` pixels on the left and top."""
        scene, data = self.scene, self.camera.data
        fx, fy, cx, cy = camera["fx"], camera["fy"], camera["cx"], camera["cy"]
        w, h = canvas if canvas else (camera["width"], camera["height"])
        cx, cy = cx + offset[0], cy + offset[1]
        scene.render.resolution_x, scene.render.resolution_y = w, h
        # Non-square pixels carry fy != fx: Blender scales the vertical by the pixel aspect.
        if fx >= fy:
            scene.render.pixel_aspect_x, scene.render.pixel_aspect_y = 1.0, fx / fy
        else:
            scene.render.pixel_aspect_x, scene.render.pixel_aspect_y = fy / fx, 1.0
        aspect = scene.render.pixel_aspect_y / scene.render.pixel_aspect_x
        data.type = "PERSP"
        data.sensor_fit = "HORIZONTAL" if w >= h * aspect else "VERTICAL"
        data.sensor_width = data.sensor_height = 36.0
        view_px = w if data.sensor_fit == "HORIZONTAL" else h * aspect
        data.lens = fx * 36.0 / view_px
        # The principal point, in the OpenCV convention (pixel centres at whole numbers).
        data.shift_x = -(cx - (w - 1) / 2.0) / view_px
        data.shift_y = (cy - (h - 1) / 2.0) * aspect / view_px
        data.clip_start, data.clip_end = camera["near_m"], camera["far_m"]
        pose = np.array(camera["pose"], dtype=float).reshape(4, 4)
        pose[:3, 1:3] *= -1.0  # Blender's camera looks down -z with y up
        self.camera.matrix_world = _matrix(pose.tolist())

    def labels(self, camera: dict, only: list | None, window: list | None,
               canvas: tuple[int, int] | None, offset: tuple[int, int]) -> tuple:
        scene = self.scene
        self.set_camera(camera, canvas, offset)
        hidden = []
        if only is not None:
            keep = {int(b) for b in only}
            for body, objects in self.bodies.items():
                if body not in keep:
                    for obj in objects:
                        if not obj.hide_render:
                            obj.hide_render = True
                            hidden.append(obj)
        w, h = scene.render.resolution_x, scene.render.resolution_y
        if window is not None:
            x0, y0, x1, y1 = window
            scene.render.use_border, scene.render.use_crop_to_border = True, True
            # Blender turns the border's fractions into whole pixels itself; a quarter pixel
            # inside each edge lands on the intended pixel whether it truncates or rounds
            # (exact fractions came back a row too large now and then).
            inset = BORDER_INSET_PX
            scene.render.border_min_x = (x0 + inset) / w
            scene.render.border_max_x = (x1 + inset) / w
            scene.render.border_min_y = (h - y1 + inset) / h
            scene.render.border_max_y = (h - y0 + inset) / h
        else:
            scene.render.use_border = False
        c = scene.cycles
        c.samples, c.use_adaptive_sampling, c.use_denoising = 1, False, False
        c.seed = 0
        c.max_bounces = 0
        c.filter_width = LABEL_FILTER_WIDTH_PX
        self.file_out.mute = False
        for name in os.listdir(self.tmp.name):
            os.remove(os.path.join(self.tmp.name, name))
        try:
            self.render_s = _timed_render(write_still=False)
        finally:
            for obj in hidden:
                obj.hide_render = False
            scene.render.use_border = False
        index = self._read_exr("pass_index.exr")
        depth = self._read_exr("pass_depth.exr")
        expected = (window[3] - window[1], window[2] - window[0]) if window else (h, w)
        if index.shape != expected:
            raise RuntimeError(f"Blender rendered {index.shape[::-1]} pixels for a window of "
                               f"{expected[::-1]}")
        return np.rint(index).astype(np.int32), depth.astype(np.float32)

    def _read_exr(self, name: str) -> np.ndarray:
        path = os.path.join(self.tmp.name, name)
        image = bpy.data.images.load(path)
        image.colorspace_settings.name = "Non-Color"
        w, h = image.size
        pixels = np.empty(w * h * image.channels, np.float32)
        image.pixels.foreach_get(pixels)
        bpy.data.images.remove(image)
        return pixels.reshape(h, w, -1)[::-1, :, 0].copy()

    def rgb(self, camera: dict) -> np.ndarray:
        scene, settings = self.scene, self.settings
        self.set_camera(camera)
        scene.render.use_border = False
        c = scene.cycles
        c.samples = settings["samples"]
        c.use_adaptive_sampling = False
        c.use_denoising = settings["denoise"]
        if settings["denoise"]:
            c.denoiser = "OPENIMAGEDENOISE"
            c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
            c.denoising_prefilter = "ACCURATE"
        c.seed = camera.get("seed", 0)
        c.max_bounces = settings["max_bounces"]
        c.diffuse_bounces, c.glossy_bounces = settings["max_bounces"], settings["max_bounces"]
        c.filter_width = 1.5
        view = scene.view_settings
        view.view_transform = settings["view_transform"]
        view.look = "None"
        view.exposure = settings["exposure"]
        view.gamma = 1.0
        self.file_out.mute = True
        path = os.path.join(self.tmp.name, "rgb.png")
        scene.render.filepath = path
        self.render_s = _timed_render(write_still=True)
        image = bpy.data.images.load(path)
        w, h = image.size
        pixels = np.empty(w * h * image.channels, np.float32)
        image.pixels.foreach_get(pixels)
        bpy.data.images.remove(image)
        rgb = pixels.reshape(h, w, -1)[::-1, :, :3]
        return np.rint(rgb * 255.0).astype(np.uint8)


def _timed_render(write_still: bool) -> float:
    """Render, and return the seconds Blender took (the benchmark's "blender render")."""
    import time

    start = time.perf_counter()
    bpy.ops.render.render(write_still=write_still)
    return time.perf_counter() - start


def _matrix(rows: list):
    from mathutils import Matrix

    return Matrix([list(map(float, row)) for row in rows])


def main() -> None:
    protocol = Protocol()
    blender = Blender()
    while True:
        request = protocol.read()
        if request is None or request["op"] == "quit":
            return
        try:
            op = request["op"]
            if op == "hello":
                protocol.reply({"blender": bpy.app.version_string})
            elif op == "scene":
                blender.build_scene(request["scene"])
                protocol.reply({})
            elif op == "labels":
                canvas = tuple(request["canvas"]) if request.get("canvas") else None
                offset = tuple(request.get("offset") or (0, 0))
                index, depth = blender.labels(request["camera"], request.get("only"),
                                              request.get("window"), canvas, offset)
                protocol.reply({"render_s": blender.render_s}, (index, depth))
            elif op == "rgb":
                rgb = blender.rgb(request["camera"])
                protocol.reply({"render_s": blender.render_s}, (rgb,))
            else:
                protocol.reply({"error": f"unknown request {op!r}"})
        except Exception as err:  # noqa: BLE001 - sent to the parent, which raises it
            protocol.reply({"error": f"{type(err).__name__}: {err}"})


if __name__ == "__main__":
    main()
