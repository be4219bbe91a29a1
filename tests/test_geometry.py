"""Tests for simgen.geometry: intrinsics, poses, PyBullet matrices and projection, checked
against PyBullet itself (its matrix helpers and a real render)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pybullet
import pybullet_data
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simgen.geometry import (
    depth_from_zbuffer,
    gl_projection_matrix,
    gl_view_matrix,
    intrinsics,
    intrinsics_from_fov,
    look_at_pose,
    orbit_eye,
    project_points,
    quaternion_from_euler_deg,
    rotation_from_quaternion,
)

# --------------------------------------------------------------------------- intrinsics


def test_intrinsics_from_fov_90_degrees():
    K = intrinsics_from_fov(90.0, 640, 480)
    assert K.shape == (3, 3)
    assert K[0, 0] == pytest.approx(240.0, rel=1e-12)
    assert K[1, 1] == pytest.approx(240.0, rel=1e-12)
    assert K[0, 2] == 319.5
    assert K[1, 2] == 239.5
    assert K[0, 1] == 0.0 and K[1, 0] == 0.0
    assert K[2].tolist() == [0.0, 0.0, 1.0]


def test_intrinsics_from_fov_60_degrees_non_square_image():
    K = intrinsics_from_fov(60.0, 100, 50)
    fy = 25.0 * math.sqrt(3.0)  # (50 / 2) / tan(30 deg)
    assert K[0, 0] == pytest.approx(fy, rel=1e-12)
    assert K[1, 1] == pytest.approx(fy, rel=1e-12)
    assert K[0, 2] == 49.5
    assert K[1, 2] == 24.5


def test_intrinsics_layout():
    K = intrinsics(100.0, 200.0, 30.5, 40.25)
    assert K.tolist() == [[100.0, 0.0, 30.5], [0.0, 200.0, 40.25], [0.0, 0.0, 1.0]]


# --------------------------------------------------------------------------- look_at_pose


def _check_pose(pose, eye, target):
    R = pose[:3, :3]
    np.testing.assert_allclose(R.T @ R, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-12)  # right-handed
    np.testing.assert_allclose(np.cross(R[:, 0], R[:, 1]), R[:, 2], atol=1e-12)
    forward = np.asarray(target, float) - np.asarray(eye, float)
    np.testing.assert_allclose(R[:, 2], forward / np.linalg.norm(forward), atol=1e-12)
    np.testing.assert_array_equal(pose[:3, 3], np.asarray(eye, float))
    assert pose[3].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_look_at_pose_known_camera():
    pose = look_at_pose((1.0, 0.0, 1.0), (0.0, 0.0, 0.0))
    s = 1.0 / math.sqrt(2.0)
    np.testing.assert_allclose(pose[:3, 0], [0.0, 1.0, 0.0], atol=1e-15)   # right = +y
    np.testing.assert_allclose(pose[:3, 1], [s, 0.0, -s], atol=1e-15)     # image down
    np.testing.assert_allclose(pose[:3, 2], [-s, 0.0, -s], atol=1e-15)    # forward
    _check_pose(pose, (1.0, 0.0, 1.0), (0.0, 0.0, 0.0))


def test_look_at_pose_straight_down_is_still_a_rotation():
    pose = look_at_pose((0.2, -0.1, 1.5), (0.2, -0.1, 0.0))
    _check_pose(pose, (0.2, -0.1, 1.5), (0.2, -0.1, 0.0))
    np.testing.assert_allclose(pose[:3, 2], [0.0, 0.0, -1.0], atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(tx=st.floats(-1, 1), ty=st.floats(-1, 1), tz=st.floats(-0.5, 0.5),
       distance=st.floats(0.1, 5.0), azimuth=st.floats(-180, 180), elevation=st.floats(2, 88))
def test_look_at_pose_above_target(tx, ty, tz, distance, azimuth, elevation):
    target = np.array([tx, ty, tz])
    eye = orbit_eye(target, distance, azimuth, elevation)
    assert np.linalg.norm(eye - target) == pytest.approx(distance, rel=1e-12)
    pose = look_at_pose(eye, target)
    _check_pose(pose, eye, target)
    assert pose[2, 1] < 0.0               # image down = world down
    assert pose[2, 0] == pytest.approx(0.0, abs=1e-12)  # no roll: image x is level
    K = intrinsics(300.0, 280.0, 140.25, 95.5)
    uv = project_points(K, pose, target[None, :])
    np.testing.assert_allclose(uv, [[140.25, 95.5]], atol=1e-9)


def test_orbit_eye_exact():
    eye = orbit_eye(np.array([1.0, 2.0, 3.0]), 2.0, 90.0, 0.0)
    np.testing.assert_allclose(eye, [1.0, 4.0, 3.0], atol=1e-12)
    eye = orbit_eye(np.array([0.0, 0.0, 0.0]), 2.0, 0.0, 30.0)
    np.testing.assert_allclose(eye, [math.sqrt(3.0), 0.0, 1.0], atol=1e-12)


# --------------------------------------------------------------------------- project_points


def test_project_points_identity_camera():
    K = intrinsics(100.0, 200.0, 30.0, 40.0)
    uv = project_points(K, np.eye(4), np.array([[0.1, -0.2, 2.0], [0.0, 0.0, 5.0]]))
    np.testing.assert_allclose(uv, [[35.0, 20.0], [30.0, 40.0]], atol=1e-12)


def test_project_points_translated_and_rotated_camera():
    # Camera at (1, 2, 3) rotated 90 degrees about its z: camera x = world y, camera y = -world x.
    pose = np.eye(4)
    pose[:3, :3] = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    pose[:3, 3] = [1.0, 2.0, 3.0]
    K = intrinsics(10.0, 20.0, 5.0, 6.0)
    # world point (1 - 0.2, 2 + 0.4, 3 + 2): camera (x, y, z) = (0.4, 0.2, 2)
    uv = project_points(K, pose, np.array([[0.8, 2.4, 5.0]]))
    np.testing.assert_allclose(uv, [[5.0 + 10.0 * 0.2, 6.0 + 20.0 * 0.1]], atol=1e-12)


# --------------------------------------------------------------------------- PyBullet matrices


@settings(max_examples=150, deadline=None)
@given(ex=st.floats(-3, 3), ey=st.floats(-3, 3), ez=st.floats(0.05, 3),
       tx=st.floats(-1, 1), ty=st.floats(-1, 1), tz=st.floats(-0.5, 0.0))
def test_gl_view_matrix_equals_pybullet(ex, ey, ez, tx, ty, tz):
    eye, target = np.array([ex, ey, ez]), np.array([tx, ty, tz])
    horizontal = np.hypot(ex - tx, ey - ty)
    if horizontal < 1e-2:  # PyBullet's own look-at is degenerate looking straight down
        eye[0] += 0.05
    pose = look_at_pose(eye, target)
    ours = np.array(gl_view_matrix(pose))
    theirs = np.array(pybullet.computeViewMatrix(eye.tolist(), target.tolist(), [0, 0, 1]))
    assert ours.shape == (16,)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-5)


@settings(max_examples=150, deadline=None)
@given(fov=st.floats(10, 120), width=st.integers(1, 2000), height=st.integers(1, 2000),
       near=st.floats(0.01, 0.5), far=st.floats(1.0, 50.0))
def test_gl_projection_matrix_equals_pybullet_for_fov_cameras(fov, width, height, near, far):
    K = intrinsics_from_fov(fov, width, height)
    ours = np.array(gl_projection_matrix(K, width, height, near, far))
    theirs = np.array(pybullet.computeProjectionMatrixFOV(fov, width / height, near, far))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def _gl_pixel(view, proj, point, width, height):
    """Where OpenGL puts a world point, as (column, row) with pixel centres at integers and
    rows counted from the top (OpenGL's window y runs upwards, pixel centres at +0.5)."""
    V = np.array(view).reshape(4, 4).T
    P = np.array(proj).reshape(4, 4).T
    clip = P @ V @ np.append(point, 1.0)
    ndc = clip[:3] / clip[3]
    x_win = (ndc[0] + 1.0) * width / 2.0
    y_win = (ndc[1] + 1.0) * height / 2.0
    return np.array([x_win - 0.5, height - y_win - 0.5]), ndc[2]


@pytest.mark.parametrize("K,width,height", [
    (intrinsics(140.0, 190.0, 55.3, 71.8), 160, 120),
    (intrinsics(500.0, 450.0, 20.0, 300.0), 64, 480),
])
def test_gl_matrices_put_points_where_K_says(K, width, height):
    pose = look_at_pose((0.4, -0.3, 0.5), (0.01, 0.02, 0.0))
    view = gl_view_matrix(pose)
    near, far = 0.1, 4.0
    proj = gl_projection_matrix(K, width, height, near, far)
    rng = np.random.default_rng(3)
    points = rng.uniform(-0.05, 0.05, size=(20, 3))
    for point, uv in zip(points, project_points(K, pose, points)):
        px, ndc_z = _gl_pixel(view, proj, point, width, height)
        np.testing.assert_allclose(px, uv, atol=1e-9)
        # and the depth buffer value of that point decodes to its camera-z
        depth = float(depth_from_zbuffer(np.array([(ndc_z + 1.0) / 2.0]), near, far)[0])
        cam_z = float((point - pose[:3, 3]) @ pose[:3, 2])
        assert depth == pytest.approx(cam_z, rel=1e-6)


# --------------------------------------------------------------------------- rotations


angles = st.floats(-180.0, 180.0)


@settings(max_examples=300, deadline=None)
@given(roll=angles, pitch=angles, yaw=angles)
def test_quaternion_from_euler_deg_equals_pybullet(roll, pitch, yaw):
    ours = np.array(quaternion_from_euler_deg((roll, pitch, yaw)))
    theirs = np.array(pybullet.getQuaternionFromEuler(
        [math.radians(roll), math.radians(pitch), math.radians(yaw)]))
    assert np.linalg.norm(ours) == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(ours, theirs, atol=1e-9) or np.allclose(ours, -theirs, atol=1e-9)


def _rx(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@settings(max_examples=200, deadline=None)
@given(roll=angles, pitch=angles, yaw=angles)
def test_euler_quaternion_is_extrinsic_xyz(roll, pitch, yaw):
    R = rotation_from_quaternion(quaternion_from_euler_deg((roll, pitch, yaw)))
    r, p, y = (math.radians(a) for a in (roll, pitch, yaw))
    np.testing.assert_allclose(R, _rz(y) @ _ry(p) @ _rx(r), atol=1e-12)


@settings(max_examples=300, deadline=None)
@given(q=st.tuples(*[st.floats(-1.0, 1.0)] * 4).filter(lambda q: np.linalg.norm(q) > 0.1))
def test_rotation_from_quaternion_equals_pybullet(q):
    q = tuple(np.array(q) / np.linalg.norm(q))
    ours = rotation_from_quaternion(q)
    theirs = np.array(pybullet.getMatrixFromQuaternion(q)).reshape(3, 3)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)
    np.testing.assert_allclose(ours.T @ ours, np.eye(3), atol=1e-12)


def test_rotation_from_quaternion_known_values():
    np.testing.assert_allclose(rotation_from_quaternion((0.0, 0.0, 0.0, 1.0)), np.eye(3))
    s = math.sqrt(0.5)
    np.testing.assert_allclose(rotation_from_quaternion((0.0, 0.0, s, s)),
                               [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-15)


# --------------------------------------------------------------------------- depth


def test_depth_from_zbuffer_ends_and_middle():
    near, far = 0.1, 10.0
    z = np.array([[0.0, 1.0], [0.5, 0.75]], dtype=np.float32)
    depth = depth_from_zbuffer(z, near, far)
    assert depth.dtype == np.float32
    assert depth.shape == (2, 2)
    assert depth[0, 0] == pytest.approx(0.1, rel=1e-6)
    assert depth[0, 1] == pytest.approx(10.0, rel=1e-6)
    assert depth[1, 0] == pytest.approx(1.0 / 5.05, rel=1e-6)          # 1 / (10 - 9.9 * 0.5)
    assert depth[1, 1] == pytest.approx(1.0 / (10.0 - 9.9 * 0.75), rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(near=st.floats(0.01, 0.5), far=st.floats(1.0, 20.0), frac=st.floats(0.0, 1.0))
def test_depth_from_zbuffer_inverts_the_opengl_depth(near, far, frac):
    d = near + frac * (far - near)
    z = (far - far * near / d) / (far - near)  # window depth OpenGL stores for camera-z d
    assert float(depth_from_zbuffer(np.array([z]), near, far)[0]) == pytest.approx(d, rel=1e-5)


# --------------------------------------------------------------------------- a real render

CUBE_HALF = 0.025  # cube_small.urdf: 5 cm cube


@pytest.fixture
def client() -> Iterator[int]:
    cid = pybullet.connect(pybullet.DIRECT)
    try:
        pybullet.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=cid)
        pybullet.setGravity(0, 0, 0, physicsClientId=cid)
        yield cid
    finally:
        pybullet.disconnect(physicsClientId=cid)


def _cube(cid, position, rpy_deg):
    body = pybullet.loadURDF("cube_small.urdf", position, quaternion_from_euler_deg(rpy_deg),
                             physicsClientId=cid)
    pos, quat = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    R = rotation_from_quaternion(quat)
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    corners = signs * CUBE_HALF @ R.T + np.array(pos)
    return body, corners


def _render(cid, K, pose, width, height, near, far):
    _, _, _, zbuffer, seg = pybullet.getCameraImage(
        width, height, viewMatrix=gl_view_matrix(pose),
        projectionMatrix=gl_projection_matrix(K, width, height, near, far),
        renderer=pybullet.ER_TINY_RENDERER, shadow=0, physicsClientId=cid)
    return (np.asarray(zbuffer, dtype=np.float32).reshape(height, width),
            np.asarray(seg, dtype=np.int32).reshape(height, width))


def _tight_box(mask):
    ys, xs = np.nonzero(mask)
    assert xs.size > 0
    return xs.min(), ys.min(), xs.max(), ys.max()


@pytest.mark.parametrize("K,width,height,eye,target,position,rpy", [
    # off-centre principal point, fx != fy
    (intrinsics(140.0, 190.0, 55.3, 71.8), 160, 120,
     (0.25, 0.15, 0.3), (0.0, 0.0, 0.02), (0.02, -0.01, 0.025), (0.0, 0.0, 30.0)),
    (intrinsics(260.0, 210.0, 120.6, 40.2), 200, 150,
     (-0.2, 0.3, 0.35), (0.03, 0.0, 0.0), (0.05, 0.04, 0.03), (20.0, -35.0, 70.0)),
    (intrinsics(180.0, 230.0, 30.0, 100.0), 96, 160,
     (0.1, -0.35, 0.25), (0.0, 0.0, 0.0), (-0.01, 0.02, 0.025), (0.0, 0.0, -15.0)),
])
def test_rendered_mask_box_matches_projected_corners(client, K, width, height, eye, target,
                                                     position, rpy):
    body, corners = _cube(client, position, rpy)
    pose = look_at_pose(eye, target)
    _, seg = _render(client, K, pose, width, height, 0.05, 3.0)
    x0, y0, x1, y1 = _tight_box(seg == body)
    uv = project_points(K, pose, corners)
    umin, vmin = uv.min(axis=0)
    umax, vmax = uv.max(axis=0)
    # the box must lie inside the image for the comparison to mean anything
    assert 1 < umin and umax < width - 2 and 1 < vmin and vmax < height - 2
    # pixels whose centres fall inside the projection, to within one pixel
    assert abs(x0 - math.ceil(umin)) <= 1, (x0, umin)
    assert abs(y0 - math.ceil(vmin)) <= 1, (y0, vmin)
    assert abs(x1 - math.floor(umax)) <= 1, (x1, umax)
    assert abs(y1 - math.floor(vmax)) <= 1, (y1, vmax)


def test_rendered_depth_of_cube_top_face_looking_straight_down(client):
    position = (0.02, -0.01, 0.025)
    body, _ = _cube(client, position, (0.0, 0.0, 25.0))
    eye = (position[0], position[1], 0.4)
    pose = look_at_pose(eye, (position[0], position[1], 0.0))
    K = intrinsics(150.0, 175.0, 55.3, 71.8)
    width, height, near, far = 160, 120, 0.05, 3.0
    zbuffer, seg = _render(client, K, pose, width, height, near, far)
    u, v = project_points(K, pose, np.array([position]))[0]
    np.testing.assert_allclose((u, v), (55.3, 71.8), atol=1e-9)
    row, col = round(v), round(u)
    assert seg[row, col] == body
    depth = depth_from_zbuffer(zbuffer, near, far)
    top_depth = 0.4 - (position[2] + CUBE_HALF)  # camera-z of the top face: 0.35 m
    assert abs(float(depth[row, col]) - top_depth) <= 0.002
    # the background is at the far plane
    assert float(depth[0, width - 1]) == pytest.approx(far, rel=1e-4)
