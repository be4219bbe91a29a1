"""Camera and pose geometry: pure NumPy, no PyBullet.

Conventions (stored with every image):
- `K` is the 3x3 OpenCV intrinsic matrix; pixel centres lie at integer coordinates, so pixel
  (u, v) covers [u - 0.5, u + 0.5] x [v - 0.5, v + 0.5].
- `cam_to_world` is the 4x4 pose of the camera in the world, OpenCV axes: x right, y down,
  z forward (the viewing direction). A world point X projects to K @ (R.T @ (X - t)).
- Quaternions are (x, y, z, w), as PyBullet uses them.
"""

from __future__ import annotations

import math

import numpy as np

# OpenCV camera axes -> OpenGL camera axes (y up, looking down -z).
_CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def intrinsics_from_fov(fov_deg: float, width: int, height: int) -> np.ndarray:
    """K for a vertical field of view, square pixels and a centred principal point."""
    fy = (height / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return intrinsics(fy, fy, (width - 1) / 2.0, (height - 1) / 2.0)


def intrinsics(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def orbit_eye(look_at: np.ndarray, distance_m: float, azimuth_deg: float,
              elevation_deg: float) -> np.ndarray:
    """Camera position on a sphere around `look_at` (azimuth from +x towards +y)."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    return np.asarray(look_at, dtype=float) + distance_m * offset


def look_at_pose(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """cam_to_world (OpenCV axes) for a camera at `eye` looking at `target`, world z up."""
    eye, target, up = (np.asarray(v, dtype=float) for v in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-9:  # looking straight along `up`: any right vector will do
        x = np.cross(z, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = x, y, z, eye
    return pose


def gl_view_matrix(cam_to_world: np.ndarray) -> list[float]:
    """PyBullet's viewMatrix (world -> OpenGL camera, column-major) for an OpenCV pose."""
    view = np.linalg.inv(cam_to_world @ _CV_TO_GL)
    return view.T.reshape(-1).tolist()


def gl_projection_matrix(K: np.ndarray, width: int, height: int, near_m: float,
                         far_m: float) -> list[float]:
    """PyBullet's projectionMatrix (column-major) that renders exactly what K describes.

    OpenGL puts pixel centres at +0.5 and window y upwards; PyBullet returns rows top first.
    """
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    proj = np.zeros((4, 4))
    proj[0, 0] = 2.0 * fx / width
    proj[1, 1] = 2.0 * fy / height
    proj[0, 2] = (width - 2.0 * cx - 1.0) / width
    proj[1, 2] = (2.0 * cy + 1.0 - height) / height
    proj[2, 2] = -(far_m + near_m) / (far_m - near_m)
    proj[2, 3] = -2.0 * far_m * near_m / (far_m - near_m)
    proj[3, 2] = -1.0
    return proj.T.reshape(-1).tolist()


def project_points(K: np.ndarray, cam_to_world: np.ndarray, points_world: np.ndarray) -> np.ndarray:
    """Pixel coordinates (N x 2) of world points (N x 3); points must be in front of the camera."""
    R, t = cam_to_world[:3, :3], cam_to_world[:3, 3]
    cam = (np.asarray(points_world, dtype=float) - t) @ R  # == (R.T @ (X - t).T).T
    uvw = cam @ K.T
    return uvw[:, :2] / uvw[:, 2:3]


def depth_from_zbuffer(zbuffer: np.ndarray, near_m: float, far_m: float) -> np.ndarray:
    """Metric depth along the optical axis from an OpenGL [0, 1] depth buffer (float32)."""
    # In place, in this order: the same float64 arithmetic as far * near / (far - (far - near)
    # * z), without its three temporaries.
    z = zbuffer.astype(np.float64)
    z *= -(far_m - near_m)
    z += far_m
    np.divide(far_m * near_m, z, out=z)
    return z.astype(np.float32)


def quaternion_from_euler_deg(rpy_deg: tuple[float, float, float]) -> tuple[float, float, float, float]:
    """(x, y, z, w) for roll, pitch, yaw in degrees, extrinsic x-y-z as PyBullet's getQuaternionFromEuler."""
    r, p, y = (math.radians(a) / 2.0 for a in rpy_deg)
    cr, sr, cp, sp, cy, sy = math.cos(r), math.sin(r), math.cos(p), math.sin(p), math.cos(y), math.sin(y)
    return (sr * cp * cy - cr * sp * sy,
            cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy,
            cr * cp * cy + sr * sp * sy)


def rotation_from_quaternion(q_xyzw: tuple[float, float, float, float]) -> np.ndarray:
    x, y, z, w = q_xyzw
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def quaternion_from_rotation(R: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a 3x3 rotation matrix, w >= 0 (Shepperd's method: stable everywhere)."""
    R = np.asarray(R, dtype=float)
    trace = R[0, 0] + R[1, 1] + R[2, 2]
    if trace > 0:
        s = 2.0 * math.sqrt(1.0 + trace)
        q = ((R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, s / 4)
    elif R[0, 0] > R[1, 1] and R[0, 0] > R[2, 2]:
        s = 2.0 * math.sqrt(1.0 + R[0, 0] - R[1, 1] - R[2, 2])
        q = (s / 4, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s)
    elif R[1, 1] > R[2, 2]:
        s = 2.0 * math.sqrt(1.0 + R[1, 1] - R[0, 0] - R[2, 2])
        q = ((R[0, 1] + R[1, 0]) / s, s / 4, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + R[2, 2] - R[0, 0] - R[1, 1])
        q = ((R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, s / 4, (R[1, 0] - R[0, 1]) / s)
    q = np.array(q)
    q /= np.linalg.norm(q)
    return tuple(float(v) for v in (-q if q[3] < 0 else q))


def pose_in_camera(cam_to_world: np.ndarray, position_m, quaternion_xyzw):
    """(position_m, quaternion_xyzw) of a world pose in the camera frame (OpenCV axes)."""
    R_wc, t_wc = cam_to_world[:3, :3], cam_to_world[:3, 3]
    R_wo = rotation_from_quaternion(quaternion_xyzw)
    position = R_wc.T @ (np.asarray(position_m, dtype=float) - t_wc)
    return tuple(float(v) for v in position), quaternion_from_rotation(R_wc.T @ R_wo)


# Cuboid keypoints: the 8 corners of an object's 3D box (signs of x, y, z), then its centre.
CUBOID_SIGNS = [(sx, sy, sz) for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]
CUBOID_KEYPOINT_NAMES = [f"corner_{'xX'[sx > 0]}{'yY'[sy > 0]}{'zZ'[sz > 0]}"
                         for sx, sy, sz in CUBOID_SIGNS] + ["centre"]
# The 12 box edges, as COCO skeletons give them: 1-based keypoint index pairs.
CUBOID_SKELETON = [[i + 1, j + 1] for i in range(8) for j in range(i + 1, 8)
                   if sum(a != b for a, b in zip(CUBOID_SIGNS[i], CUBOID_SIGNS[j])) == 1]


# Per-keypoint OKS sigmas for COCO keypoint evaluation (pycocotools' COCOeval takes them as
# `params.kpt_oks_sigmas`; its default is the 17 of a person). The keypoints are exact (projected,
# not clicked), so one value for all nine: 0.05, about COCO's median person sigma, makes a
# keypoint 5% of the object's scale off count half (OKS = exp(-d^2 / (2 s^2 (2 sigma)^2))).
CUBOID_OKS_SIGMAS = [0.05] * 9


def cuboid_points(center_local_m, size_m) -> np.ndarray:
    """The 8 corners then the centre of a box, in the body frame (9 x 3)."""
    half = np.asarray(size_m, dtype=float) / 2.0
    center = np.asarray(center_local_m, dtype=float)
    corners = center + np.array(CUBOID_SIGNS, dtype=float) * half
    return np.vstack([corners, center])
