"""Mitsuba 3's ``perspective`` sensor (a pinhole camera).

Mitsuba maps film position (sx, sy) in [0, 1]^2 (pixel (0, 0) at the top left) to the
camera-space direction ((1 - 2 sx) tan_x, (1 - 2 sy) tan_y, 1): camera +x is the ``left``
column of the lookat matrix, so the image is not mirrored. Rays start at the near clip
plane.
"""

import math
from xml.sax.saxutils import quoteattr

import numpy as np
import taichi as ti

from invrender.sensors.base import SensorPlugin
from invrender.state import SENSOR_FLOATS

vec3 = ti.math.vec3
# floats: origin 3, x/y/z axes 9, tan_x, tan_y, near, width, height


def tangents(sensor) -> tuple[float, float]:
    """Half-extent of the image plane at distance 1 along x and y."""
    w, h = sensor.width, sensor.height
    aspect = w / h
    t = math.tan(math.radians(sensor.fov) / 2)
    axis = sensor.fov_axis
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


def pack(sensor) -> np.ndarray:
    m = np.asarray(sensor.to_world, dtype=np.float64)
    # rotation part only: a scaled to_world would otherwise stretch directions
    axes = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0, keepdims=True)
    tan_x, tan_y = tangents(sensor)
    out = np.zeros(17)
    out[0:3] = m[:3, 3]
    out[3:12] = axes.T.reshape(-1)  # x axis, y axis, z axis
    out[12:15] = tan_x, tan_y, sensor.near_clip
    out[15:17] = sensor.width, sensor.height
    return out


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, fx, fy):
    """Ray through the film point (fx, fy) in pixels: origin, unit direction, tmin."""
    b = SENSOR_FLOATS * s
    c = ti.static(g.sensor_floats)
    sx = fx / c[b + 15]
    sy = fy / c[b + 16]
    local = vec3((1.0 - 2.0 * sx) * c[b + 12], (1.0 - 2.0 * sy) * c[b + 13], 1.0)
    dz = 1.0 / local.norm()
    x_axis = vec3(c[b + 3], c[b + 4], c[b + 5])
    y_axis = vec3(c[b + 6], c[b + 7], c[b + 8])
    z_axis = vec3(c[b + 9], c[b + 10], c[b + 11])
    d = (local.x * x_axis + local.y * y_axis + local.z * z_axis) * dz
    return vec3(c[b], c[b + 1], c[b + 2]), d, c[b + 14] / dz


class Projection:
    """The world -> film map that inverts ``generate_ray``, and its Jacobian."""

    def __init__(self, sensor):
        packed = pack(sensor)
        self.origin = packed[0:3]
        self.axes = packed[3:12].reshape(3, 3)  # rows: camera x, y, z in world space
        self.tan_x, self.tan_y, self.near = packed[12:15]
        self.width, self.height = packed[15], packed[16]

    def to_camera(self, p: np.ndarray) -> np.ndarray:
        return (p - self.origin) @ self.axes.T

    def film(self, pc: np.ndarray) -> np.ndarray:
        """Film position (x, y) in pixels of camera-space points."""
        x = 0.5 * self.width * (1 - pc[..., 0] / (pc[..., 2] * self.tan_x))
        y = 0.5 * self.height * (1 - pc[..., 1] / (pc[..., 2] * self.tan_y))
        return np.stack([x, y], -1)

    def jacobian(self, pc: np.ndarray) -> np.ndarray:
        """d film / d world position, (..., 2, 3)."""
        z = pc[..., 2]
        jc = np.zeros(pc.shape[:-1] + (2, 3))
        jc[..., 0, 0] = -0.5 * self.width / (self.tan_x * z)
        jc[..., 0, 2] = 0.5 * self.width * pc[..., 0] / (self.tan_x * z * z)
        jc[..., 1, 1] = -0.5 * self.height / (self.tan_y * z)
        jc[..., 1, 2] = 0.5 * self.height * pc[..., 1] / (self.tan_y * z * z)
        return jc @ self.axes


def write_xml(sensor) -> list[str]:
    matrix = " ".join(repr(float(v)) for v in np.asarray(sensor.to_world).reshape(-1))
    return [f'<sensor type="perspective" id={quoteattr(sensor.id)}>',
            f'    <float name="fov" value="{sensor.fov!r}"/>',
            f'    <string name="fov_axis" value="{sensor.fov_axis}"/>',
            f'    <float name="near_clip" value="{sensor.near_clip!r}"/>',
            f'    <float name="far_clip" value="{sensor.far_clip!r}"/>',
            f'    <transform name="to_world"><matrix value="{matrix}"/></transform>']


FOV_AXES = ("x", "y", "diagonal", "smaller", "larger")


def parse(builder, props, sensor) -> tuple[str, ...]:
    """fov (required, in (0, 180)), fov_axis, near_clip, far_clip."""
    sensor.fov = props.float("fov")
    if not 0.0 < sensor.fov < 180.0:
        raise builder.error(props.named["fov"], f"fov must be between 0 and 180 degrees, "
                            f"got {sensor.fov}")
    sensor.fov_axis = props.string("fov_axis", "x", FOV_AXES)
    sensor.near_clip = props.float("near_clip", 1e-2)
    sensor.far_clip = props.float("far_clip", 1e4)
    return ("fov", "fov_axis", "near_clip", "far_clip")


PLUGIN = SensorPlugin(name="perspective", generate_ray=generate_ray, pack=pack,
                      projection=Projection, write_xml=write_xml, parse=parse)
