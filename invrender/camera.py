"""Perspective camera with Mitsuba 3's conventions.

Mitsuba maps film position (sx, sy) in [0, 1]^2 (pixel (0, 0) at the top left) to the camera
space direction ((1 - 2 sx) tan_x, (1 - 2 sy) tan_y, 1): camera +x is the ``left`` column of
the lookat matrix, so the image is not mirrored. Rays start at the near clip plane.
"""


import math

import numpy as np
import taichi as ti

from invrender.scene.description import Camera

CAMERA_FLOATS = 18  # origin 3, x/y/z axes 9, tan_x, tan_y, near, width, height, pad


def tangents(camera: Camera) -> tuple[float, float]:
    """Half-extent of the image plane at distance 1 along x and y."""
    w, h = camera.width, camera.height
    aspect = w / h
    t = math.tan(math.radians(camera.fov) / 2)
    axis = camera.fov_axis
    if axis == "smaller":
        axis = "x" if w <= h else "y"
    elif axis == "larger":
        axis = "x" if w >= h else "y"
    if axis == "x":
        tan_x = t
    elif axis == "y":
        tan_x = t * aspect
    else:  # diagonal
        tan_x = t * w / math.hypot(w, h)
    return tan_x, tan_x / aspect


def pack(camera: Camera) -> np.ndarray:
    """The camera as a flat float array for the ``camera`` field of the scene."""
    m = np.asarray(camera.to_world, dtype=np.float64)
    axes = m[:3, :3]
    # Rotation part only: a scaled to_world would otherwise stretch directions.
    axes = axes / np.linalg.norm(axes, axis=0, keepdims=True)
    tan_x, tan_y = tangents(camera)
    out = np.zeros(CAMERA_FLOATS)
    out[0:3] = m[:3, 3]
    out[3:12] = axes.T.reshape(-1)  # x axis, y axis, z axis
    out[12:15] = tan_x, tan_y, camera.near_clip
    out[15:17] = camera.width, camera.height
    return out


@ti.func
def generate_ray(cam: ti.template(), fx, fy):
    """Ray through the film point (fx, fy) in pixels; returns origin, unit direction, tmin."""
    sx = fx / cam[15]
    sy = fy / cam[16]
    local = ti.math.vec3((1.0 - 2.0 * sx) * cam[12], (1.0 - 2.0 * sy) * cam[13], 1.0)
    dz = 1.0 / local.norm()
    x_axis = ti.math.vec3(cam[3], cam[4], cam[5])
    y_axis = ti.math.vec3(cam[6], cam[7], cam[8])
    z_axis = ti.math.vec3(cam[9], cam[10], cam[11])
    d = (local.x * x_axis + local.y * y_axis + local.z * z_axis) * dz
    origin = ti.math.vec3(cam[0], cam[1], cam[2])
    return origin, d, cam[14] / dz
