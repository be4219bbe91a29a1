"""Rendering part of a canvas gives exactly the pixels of the whole: an object rendered alone in
its window (exact occlusion labels), and EGL images larger than its 1024 x 768 framebuffer,
rendered in tiles."""

from __future__ import annotations

import numpy as np
import pytest

import simgen.render.alone as alone_module
from simgen.render import start_renderer
from simgen.scenario import load
from simgen.scenario.sample import sample
from simgen.seeding import scene_streams
from simgen.sim import World
from tests.conftest import REPO

TABLETOP = REPO / "scenes/tabletop.yaml"


def _scene(world: World, overrides: list[str], scene_index: int = 1):
    scenario = load(TABLETOP, overrides)
    drawn = sample(scenario, scene_streams(0, scene_index).sampling, seed=0,
                   scene_index=scene_index)
    return drawn, world.settle(drawn, scenario.spec.settle)


@pytest.fixture(scope="module", params=["tiny", "egl"])
def rendered(request):
    world = World()
    render = start_renderer(world, request.param, load(TABLETOP))
    drawn, settled = _scene(world, ["image.width=320", "image.height=240"])
    yield render, drawn, settled
    world.close()


def test_an_object_alone_in_its_window_has_the_pixels_of_the_whole_canvas(rendered):
    render, drawn, settled = rendered
    checked = 0
    for camera in drawn.views:
        mx, my = camera.width // 2, camera.height // 2
        w, h = camera.width + 2 * mx, camera.height + 2 * my
        for uid in settled.labeled_body_ids:
            if uid < 0:
                continue
            window = alone_module.alone_window(render.world, uid, camera, mx, my, w, h)
            whole = render._render_mask(uid, camera, mx, my, w, h)
            alone = render.render_alone(uid, camera, mx, my)
            assert alone.shape == (h, w)
            np.testing.assert_array_equal(alone, whole)
            if whole.any():
                assert window is not None and (window[2] - window[0]) * (window[3] - window[1]) < w * h / 4
                checked += 1
    assert checked >= 8


def test_windows_follow_the_box_turned_with_the_body(rendered, monkeypatch):
    """An object's window is its own box, turned with it, projected: it holds the object (the
    test above) in less area than the world axis-aligned box of the turned body."""
    render, drawn, settled = rendered
    world = render.world
    uids = [u for u in settled.labeled_body_ids if u >= 0]
    turned = axis_aligned = 0
    for camera in drawn.views:
        mx, my = camera.width // 2, camera.height // 2
        w, h = camera.width + 2 * mx, camera.height + 2 * my
        for uid in uids:
            window = alone_module.alone_window(world, uid, camera, mx, my, w, h)
            with monkeypatch.context() as m:
                m.setattr(world, "body_box", lambda _: None)
                wide = alone_module.alone_window(world, uid, camera, mx, my, w, h)
            if window is None or wide is None:
                continue
            turned += alone_module._area(window)
            axis_aligned += alone_module._area(wide)
    assert 0 < turned < 0.9 * axis_aligned   # measured 0.79 on tabletop


def test_a_mesh_beyond_its_collision_box_falls_back_to_the_whole_canvas(rendered, monkeypatch):
    """Were the window too small (here: a collision box shrunk to a point), the mask would touch
    its edge; the whole canvas is rendered instead, so nothing is cut off."""
    render, drawn, settled = rendered
    camera = drawn.views[0]
    mx, my = camera.width // 2, camera.height // 2
    w, h = camera.width + 2 * mx, camera.height + 2 * my
    uid = next(u for u in settled.labeled_body_ids if u >= 0
               and render._render_mask(u, camera, mx, my, w, h).sum() > 50)
    centre, R, _ = render.world.body_box(uid)
    monkeypatch.setattr(render.world, "body_box", lambda _: (centre, R, np.zeros(3)))
    monkeypatch.setattr(alone_module, "ALONE_PAD_M", 0.0)
    np.testing.assert_array_equal(render.render_alone(uid, camera, mx, my),
                                  render._render_mask(uid, camera, mx, my, w, h))


@pytest.mark.parametrize("scene, scene_index", [("tabletop", 1), ("bin_picking", 0)])
def test_objects_rendered_alone_together_have_the_masks_of_one_at_a_time(rendered, scene,
                                                                          scene_index):
    """Objects whose windows do not overlap are rendered alone in one call; each mask equals
    the object rendered alone over the whole canvas (and in its own window), in fewer calls."""
    render, _, _ = rendered
    scenario = load(REPO / f"scenes/{scene}.yaml", ["image.width=320", "image.height=240"])
    drawn = sample(scenario, scene_streams(0, scene_index).sampling, seed=0,
                   scene_index=scene_index)
    settled = render.world.settle(drawn, scenario.spec.settle)
    objects = calls = 0
    for camera in drawn.views:
        frame = render.render(settled, camera, drawn.light)
        uids = [settled.labeled_body_ids[i - 1] for i in np.unique(frame.instance_map) if i > 0]
        mx, my = camera.width // 2, camera.height // 2
        w, h = camera.width + 2 * mx, camera.height + 2 * my
        windows = {u: alone_module.alone_window(render.world, u, camera, mx, my, w, h)
                   for u in uids}
        groups = alone_module.plan_groups(windows, 150_000)
        assert sorted(u for g in groups for u in g) == sorted(uids)
        for group in groups:   # no two windows of a group overlap
            for i, a in enumerate(group):
                assert not any(alone_module._overlap(windows[a], windows[b]) for b in group[i + 1:])
        together = render.render_alone_many(uids, camera, mx, my)
        for uid in uids:
            whole = render._render_mask(uid, camera, mx, my, w, h)
            np.testing.assert_array_equal(together[uid], whole)
            np.testing.assert_array_equal(together[uid], render.render_alone(uid, camera, mx, my))
        objects += len(uids)
        calls += len(groups)
    assert objects >= 12 and calls <= 0.75 * objects


def test_a_group_whose_object_leaves_its_window_is_rendered_one_at_a_time(rendered,
                                                                          monkeypatch):
    """An object with pixels outside its window (a collision box shrunk to a point) could cover
    a neighbour's window: its group falls back to one call per object, and on to the whole
    canvas, so every mask is still the object alone. (Two scenes: the case needs the shrunk
    object's point to fall outside every other window of a group. The fixture's scene is
    settled again last, as it was: a scene does not depend on the scenes before it.)"""
    render = rendered[0]
    world = render.world
    monkeypatch.setattr(alone_module, "ALONE_PAD_M", 0.0)
    checked = 0
    real_box = world.body_box
    for scene_index in (2, 1):
        drawn, settled = _scene(world, ["image.width=320", "image.height=240"], scene_index)
        uids = [u for u in settled.labeled_body_ids if u >= 0]
        for camera in drawn.views:
            mx, my = camera.width // 2, camera.height // 2
            w, h = camera.width + 2 * mx, camera.height + 2 * my
            for shrunk in uids:
                if render._render_mask(shrunk, camera, mx, my, w, h).sum() < 50:
                    continue
                centre, R, _ = real_box(shrunk)
                monkeypatch.setattr(world, "body_box", lambda u, shrunk=shrunk, c=centre, R=R:
                                    (c, R, np.zeros(3)) if u == shrunk else real_box(u))
                windows = {u: alone_module.alone_window(world, u, camera, mx, my, w, h)
                           for u in uids}
                if not any(len(g) > 1 and shrunk in g
                           for g in alone_module.plan_groups(windows, 10**9)):
                    continue   # its point of a window overlaps a window of every group
                many = _huge_groups(type(render).render_alone_many)
                together = many(render, uids, camera, mx, my)
                for uid in uids:
                    np.testing.assert_array_equal(
                        together[uid], render._render_mask(uid, camera, mx, my, w, h))
                checked += 1
            monkeypatch.setattr(world, "body_box", real_box)
    assert checked >= 2


def _huge_groups(method):
    """render_alone_many with any growth of a group's box accepted: the shrunk object is sure
    to share a call."""
    def wrapped(self, *args):
        import simgen.render.renderer as renderer_module

        saved = dict(renderer_module.CALL_COST_PX)
        renderer_module.CALL_COST_PX.update({k: 10**9 for k in saved})
        try:
            return method(self, *args)
        finally:
            renderer_module.CALL_COST_PX.update(saved)
    return wrapped


def test_egl_images_larger_than_its_framebuffer_are_rendered_in_exact_tiles():
    """Beyond 1024 x 768 the EGL plugin resamples; in tiles the instance map of a 1200 x 900
    image equals, pixel for pixel, its top-left 1024 x 768 rendered in one piece."""
    world = World()
    try:
        render = start_renderer(world, "egl", load(TABLETOP))
        drawn, settled = _scene(world, ["image.width=1200", "image.height=900"])
        camera = drawn.views[0]
        big = render.render(settled, camera, drawn.light)
        K = render._render_K(camera)
        _, _, seg = render._camera_image(camera, K, 1024, 768, shadow=0)
        part = render._instance_map(seg, settled.labeled_body_ids)
        np.testing.assert_array_equal(big.instance_map[:768, :1024], part)
        assert len(np.unique(big.instance_map)) > 3
        # Without tiles the same image comes back resampled: pixels move.
        whole = render._camera_tile(camera, K, 1200, 900, {"shadow": 0})[2]
        assert np.count_nonzero(render._instance_map(whole, settled.labeled_body_ids)[:768, :1024]
                                != part) > 0
    finally:
        world.close()


def test_rendering_objects_alone_leaves_the_next_render_unchanged(rendered):
    """EGL's mask-only calls use a projective texture to skip the plugin's shadow map; the
    next full render (colours, shadows and all) is the same as without them."""
    render, drawn, settled = rendered
    camera, light = drawn.views[0], drawn.light
    before = render.render(settled, camera, light)
    uids = [u for u in settled.labeled_body_ids if u >= 0]
    render.render_alone_many(uids, camera, camera.width // 2, camera.height // 2)
    after = render.render(settled, camera, light)
    np.testing.assert_array_equal(before.rgb, after.rgb)
    np.testing.assert_array_equal(before.instance_map, after.instance_map)
    np.testing.assert_array_equal(before.depth_m, after.depth_m)


def test_tiny_hides_other_bodies_by_alpha_with_the_masks_of_parking_them():
    """TinyRenderer renders an object alone with the other bodies made transparent (it skips a
    zero-alpha shape outright) rather than parked below the scene: the same segmentation.
    (EGL parks them: it draws a zero-alpha shape into the segmentation.)"""
    world = World()
    try:
        render = start_renderer(world, "tiny", load(TABLETOP))
        drawn, settled = _scene(world, ["image.width=320", "image.height=240"])
        _same_masks_hidden_or_parked(render, drawn, settled)
    finally:
        world.close()


def _same_masks_hidden_or_parked(render, drawn, settled):
    world, camera = render.world, drawn.views[1]
    K = render._render_K(camera)
    uids = [u for u in settled.labeled_body_ids if u >= 0]
    assert len(uids) >= 4
    for uid in uids[:4]:
        with world.transparent(uid):
            by_alpha = render._camera_image(camera, K, camera.width, camera.height, shadow=0,
                                            mask_only=True)[2]
        with world.isolated(uid):
            parked = render._camera_image(camera, K, camera.width, camera.height, shadow=0,
                                          mask_only=True)[2]
        np.testing.assert_array_equal(by_alpha, parked)
        assert set(np.unique(by_alpha)) <= {-1, uid}


_TWO_COLOURS_OBJ = """mtllib two.mtl
v 0 0 0
v 0.1 0 0
v 0.1 0.1 0
v 0 0.1 0
v 0.15 0 0
v 0.25 0 0
v 0.25 0.1 0
v 0.15 0.1 0
vn 0 0 1
usemtl red
f 1//1 2//1 3//1
f 1//1 3//1 4//1
usemtl green
f 5//1 6//1 7//1
f 5//1 7//1 8//1
"""
_TWO_VISUALS_URDF = """<robot name="two"><link name="base">
<inertial><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial>
<visual><geometry><mesh filename="two.obj"/></geometry></visual>
<visual><origin xyz="0 0.12 0"/><geometry><mesh filename="two.obj"/></geometry>
<material name="blue"><color rgba="0 0 1 1"/></material></visual>
<visual><origin xyz="0 -0.12 0"/><geometry><box size="0.05 0.05 0.05"/></geometry>
<material name="half"><color rgba="0.5 0.7 0.2 1"/></material></visual>
</link></robot>
"""


@pytest.mark.parametrize("name", ["tiny", "egl"])
def test_hiding_restores_every_shape_of_a_link_with_its_own_colour(tmp_path, name):
    """A link with several visual shapes in different colours (and a two-material mesh): after
    objects are rendered alone, each shape is drawn in its own colour again. PyBullet reports
    one colour for all shapes of a link once one of them changed, so the colours are those
    read before any change."""
    (tmp_path / "two.obj").write_text(_TWO_COLOURS_OBJ)
    (tmp_path / "two.mtl").write_text("newmtl red\nKd 1 0 0\nnewmtl green\nKd 0 1 0\n")
    (tmp_path / "two.urdf").write_text(_TWO_VISUALS_URDF)
    world = World()
    try:
        render = start_renderer(world, name, load(TABLETOP))
        drawn, settled = _scene(world, ["image.width=160", "image.height=120"])
        p = world.p
        two = p.loadURDF(str(tmp_path / "two.urdf"), basePosition=[-0.1, 0.0, 0.75],
                         physicsClientId=world.client)
        camera, light = drawn.views[0], drawn.light
        seen = render._camera_image(camera, render._render_K(camera), camera.width,
                                    camera.height, shadow=0)[2]
        assert np.count_nonzero(seen == two) > 100
        before = render.render(settled, camera, light)
        uids = [u for u in settled.labeled_body_ids if u >= 0]
        for _ in range(2):   # twice: the second reads no colour PyBullet reports after a change
            render.render_alone_many(uids, camera, camera.width // 2, camera.height // 2)
        after = render.render(settled, camera, light)
        np.testing.assert_array_equal(before.rgb, after.rgb)
    finally:
        world.close()
