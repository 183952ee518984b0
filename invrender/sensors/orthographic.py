"""Mitsuba 3's ``orthographic`` sensor: parallel rays along the camera's z axis.

As Mitsuba (``orthographic_projection``): film position (sx, sy) in [0, 1]^2 is the camera
plane point (1 - 2 sx, (1 - 2 sy) / aspect, near_clip), so the film spans [-1, 1] along
camera x and [-1/aspect, 1/aspect] along y; ``to_world`` (scale allowed: it sets the extent)
maps it to the world. The ray starts there, runs along normalize(to_world * (0, 0, 1)) and
ends after far_clip - near_clip. ``focus_distance`` is accepted and changes nothing.
"""

from xml.sax.saxutils import quoteattr

import numpy as np
import taichi as ti

from invrender.sensors.base import SensorPlugin, camera_frame, clip_xml, parse_clip, to_world_xml
from invrender.state import SENSOR_FLOATS

vec3 = ti.math.vec3
# floats: translation 3, to_world's columns x, y, z 9 (with their scale), near, far,
# width, height
FAR_EYE = 1e9  # how far behind the camera plane the boundary term judges facing from


def pack(sensor) -> np.ndarray:
    m = np.asarray(sensor.to_world, dtype=np.float64)
    out = np.zeros(16)
    out[0:3] = m[:3, 3]
    out[3:12] = m[:3, :3].T.reshape(-1)
    out[12:14] = sensor.near_clip, sensor.far_clip
    out[14:16] = sensor.width, sensor.height
    return out


@ti.func
def sample_ray(g: ti.template(), s: ti.i32, fx, fy, u1, u2):
    """Ray through the film point (fx, fy) in pixels: origin, unit direction, tmin, tmax."""
    b = SENSOR_FLOATS * s
    c = ti.static(g.sensor_floats)
    width = c[b + 14]
    height = c[b + 15]
    x = 1.0 - 2.0 * fx / width
    y = (1.0 - 2.0 * fy / height) * height / width
    origin, x_axis, y_axis, z_axis = camera_frame(g, s)
    o = origin + x * x_axis + y * y_axis + c[b + 12] * z_axis
    return o, z_axis.normalized(), 0.0, c[b + 13] - c[b + 12]


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, key: ti.u32, fx, fy):
    return sample_ray(g, s, fx, fy, 0.5, 0.5)


class Projection:
    """The world -> film map that inverts the rays, and its Jacobian (a constant)."""

    def __init__(self, sensor):
        m = np.asarray(sensor.to_world, dtype=np.float64)
        self.translation = m[:3, 3]
        self.inverse = np.linalg.inv(m[:3, :3])  # world vectors -> camera coordinates
        self.near = sensor.near_clip
        self.width, self.height = float(sensor.width), float(sensor.height)
        self.aspect = self.width / self.height
        # facing is judged from a point far behind the camera plane along the view: the
        # limit of a pinhole moved back, whose silhouettes are the orthographic ones
        view = m[:3, 2] / np.linalg.norm(m[:3, 2])
        self.origin = self.translation - FAR_EYE * view
        self._film_jacobian = np.array([[-0.5 * self.width, 0.0, 0.0],
                                        [0.0, -0.5 * self.height * self.aspect, 0.0]])

    def to_camera(self, p: np.ndarray) -> np.ndarray:
        return (p - self.translation) @ self.inverse.T

    def film(self, pc: np.ndarray) -> np.ndarray:
        """Film position (x, y) in pixels of camera-space points."""
        x = 0.5 * self.width * (1 - pc[..., 0])
        y = 0.5 * self.height * (1 - self.aspect * pc[..., 1])
        return np.stack([x, y], -1)

    def jacobian(self, pc: np.ndarray) -> np.ndarray:
        """d film / d world position, (..., 2, 3)."""
        return np.broadcast_to(self._film_jacobian @ self.inverse, pc.shape[:-1] + (2, 3))


def write_xml(sensor) -> list[str]:
    return [f'<sensor type="orthographic" id={quoteattr(sensor.id)}>', *clip_xml(sensor),
            to_world_xml(sensor)]


def parse(builder, props, sensor) -> tuple[str, ...]:
    """near_clip, far_clip, focus_distance (ignored); an invertible to_world."""
    names = parse_clip(builder, props, sensor)
    if not abs(np.linalg.det(np.asarray(sensor.to_world)[:3, :3])) > 1e-12:
        raise builder.error(props.named.get("to_world", props.owner),
                            f"the to_world of orthographic sensor '{sensor.id}' is singular")
    return names


PLUGIN = SensorPlugin(name="orthographic", sample_ray=sample_ray, generate_ray=generate_ray,
                      pack=pack, projection=Projection, write_xml=write_xml, parse=parse)
