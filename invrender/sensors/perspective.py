"""Mitsuba 3's ``perspective`` sensor (a pinhole camera), and the field of view that it and
the thin lens read (Mitsuba's ``parse_fov``).

Mitsuba maps film position (sx, sy) in [0, 1]^2 (pixel (0, 0) at the top left), shifted by
the principal point offset (in units of the film: (sx + ox, sy + oy)), to the camera-space
direction ((1 - 2 sx) tan_x, (1 - 2 sy) tan_y, 1): camera +x is the ``left`` column of the
lookat matrix, so the image is not mirrored. Rays start at the near clip plane and end at
the far one. ``focus_distance`` is accepted and changes nothing (a pinhole).
"""

import math
import re
from xml.sax.saxutils import quoteattr

import numpy as np
import taichi as ti

from invrender.sensors.base import (
    SensorPlugin,
    camera_frame,
    check_rigid,
    clip_xml,
    parse_clip,
    to_world_xml,
)
from invrender.state import SENSOR_FLOATS

vec3 = ti.math.vec3
# floats: origin 3, x/y/z axes 9, tan_x, tan_y, near, width, height, offset x, offset y, far
FOV_AXES = ("x", "y", "diagonal", "smaller", "larger")
FILM_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 35 mm film, which focal_length refers to
DEFAULT_FOCAL_LENGTH = "50mm"  # Mitsuba's field of view when neither fov nor focal_length
DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def x_fov(sensor) -> float:
    """Mitsuba's horizontal field of view in degrees (``x_fov`` of its parameters), from
    ``fov`` along ``fov_axis`` and the film's aspect, as its parse_fov."""
    aspect = sensor.width / sensor.height
    axis = sensor.fov_axis
    if axis == "smaller":
        axis = "y" if aspect > 1 else "x"
    elif axis == "larger":
        axis = "x" if aspect > 1 else "y"
    t = math.tan(math.radians(sensor.fov) / 2)
    if axis == "x":
        return sensor.fov
    if axis == "y":
        return math.degrees(2.0 * math.atan(t * aspect))
    return math.degrees(2.0 * math.atan(t / math.sqrt(1.0 + 1.0 / (aspect * aspect))))


def tangents(sensor) -> tuple[float, float]:
    """Half-extent of the image plane at distance 1 along x and y."""
    tan_x = math.tan(math.radians(x_fov(sensor)) / 2)
    return tan_x, tan_x * sensor.height / sensor.width


def focal_length_fov(text: str) -> float:
    """The diagonal field of view of a 35 mm equivalent focal length "<x>mm" (or "<x>")."""
    number = text[:-2] if text.endswith("mm") else text
    if not DECIMAL.fullmatch(number):
        raise ValueError(text)
    value = float(number)
    ratio = FILM_DIAGONAL_MM / (2.0 * value) if value != 0.0 else math.inf
    return math.degrees(2.0 * math.atan(ratio))


def parse_fov(builder, props, sensor) -> tuple[str, ...]:
    """Mitsuba's parse_fov: ``fov`` along ``fov_axis`` (x by default, any case), or
    ``focal_length`` (a string, 50mm by default) as a diagonal field of view; the
    horizontal field of view that results must lie in (0, 180) degrees."""
    if "fov" in props.named and "focal_length" in props.named:
        raise builder.error(props.named["focal_length"], "give either fov or focal_length, "
                            "not both", hint="remove one of them")
    if "fov" in props.named:
        sensor.fov = props.float("fov")
        found = props.named.get("fov_axis")
        sensor.fov_axis = props.string("fov_axis", "x").lower()
        if sensor.fov_axis not in FOV_AXES:
            raise builder.error(found, f"fov_axis cannot be '{sensor.fov_axis}'",
                                hint="choose " + ", ".join(FOV_AXES))
        where = props.named["fov"]
    else:
        text = props.string("focal_length", DEFAULT_FOCAL_LENGTH)
        where = props.named.get("focal_length", props.owner)
        if "fov_axis" in props.named:
            raise builder.error(props.named["fov_axis"], "fov_axis applies to fov only "
                                "(focal_length gives a diagonal field of view)",
                                hint="remove fov_axis, or give fov instead")
        try:
            sensor.fov = focal_length_fov(text.strip())
        except ValueError:
            raise builder.error(where, f"cannot parse the focal length '{text}'",
                                hint="write it as <x>mm, e.g. 50mm") from None
        sensor.fov_axis = "diagonal"
    fov_x = x_fov(sensor)
    if not 0.0 < fov_x < 180.0:
        raise builder.error(where, f"the horizontal field of view must be between 0 and 180 "
                            f"degrees, got {fov_x:g} (from {sensor.fov:g} along "
                            f"{sensor.fov_axis})")
    return ("fov", "fov_axis", "focal_length")


def pack_pinhole(sensor, extra=(0.0, 0.0)) -> np.ndarray:
    """The 17 floats of a rigid camera looking along its z axis, two of the plugin's own
    (the principal point offset; the thin lens's aperture radius and focus distance) and
    the far clip: 20 floats."""
    m = np.asarray(sensor.to_world, dtype=np.float64)
    # rotation part only: a to_world within Mitsuba's tolerance of rigid stays rigid
    axes = m[:3, :3] / np.linalg.norm(m[:3, :3], axis=0, keepdims=True)
    tan_x, tan_y = tangents(sensor)
    out = np.zeros(20)
    out[0:3] = m[:3, 3]
    out[3:12] = axes.T.reshape(-1)  # x axis, y axis, z axis
    out[12:15] = tan_x, tan_y, sensor.near_clip
    out[15:17] = sensor.width, sensor.height
    out[17:19] = extra
    out[19] = sensor.far_clip
    return out


def principal_point(sensor) -> tuple[float, float]:
    own = sensor.settings
    return (float(own.get("principal_point_offset_x", 0.0)),
            float(own.get("principal_point_offset_y", 0.0)))


def pack(sensor) -> np.ndarray:
    return pack_pinhole(sensor, principal_point(sensor))


@ti.func
def sample_ray(g: ti.template(), s: ti.i32, fx, fy, u1, u2):
    """Ray through the film point (fx, fy) in pixels: origin, unit direction, tmin, tmax
    (a pinhole: the aperture sample is unused)."""
    b = SENSOR_FLOATS * s
    c = ti.static(g.sensor_floats)
    sx = fx / c[b + 15] + c[b + 17]
    sy = fy / c[b + 16] + c[b + 18]
    local = vec3((1.0 - 2.0 * sx) * c[b + 12], (1.0 - 2.0 * sy) * c[b + 13], 1.0)
    dz = 1.0 / local.norm()
    origin, x_axis, y_axis, z_axis = camera_frame(g, s)
    d = (local.x * x_axis + local.y * y_axis + local.z * z_axis) * dz
    return origin, d, c[b + 14] / dz, c[b + 19] / dz


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, key: ti.u32, fx, fy):
    return sample_ray(g, s, fx, fy, 0.5, 0.5)


class Projection:
    """The world -> film map that inverts the pinhole's rays, and its Jacobian."""

    def __init__(self, sensor, packed: np.ndarray):
        self.origin = packed[0:3]
        self.axes = packed[3:12].reshape(3, 3)  # rows: camera x, y, z in world space
        self.tan_x, self.tan_y, self.near = packed[12:15]
        self.width, self.height = packed[15], packed[16]
        self.offset = packed[17:19]

    def to_camera(self, p: np.ndarray) -> np.ndarray:
        return (p - self.origin) @ self.axes.T

    def film(self, pc: np.ndarray) -> np.ndarray:
        """Film position (x, y) in pixels of camera-space points."""
        x = self.width * (0.5 * (1 - pc[..., 0] / (pc[..., 2] * self.tan_x)) - self.offset[0])
        y = self.height * (0.5 * (1 - pc[..., 1] / (pc[..., 2] * self.tan_y))
                           - self.offset[1])
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


def projection(sensor) -> Projection:
    return Projection(sensor, pack(sensor))


def fov_xml(sensor) -> list[str]:
    return [f'    <float name="fov" value="{sensor.fov!r}"/>',
            f'    <string name="fov_axis" value="{sensor.fov_axis}"/>']


def write_xml(sensor) -> list[str]:
    ox, oy = principal_point(sensor)
    lines = [f'<sensor type="perspective" id={quoteattr(sensor.id)}>', *fov_xml(sensor)]
    if (ox, oy) != (0.0, 0.0):
        lines += [f'    <float name="principal_point_offset_x" value="{ox!r}"/>',
                  f'    <float name="principal_point_offset_y" value="{oy!r}"/>']
    return lines + clip_xml(sensor) + [to_world_xml(sensor)]


def parse(builder, props, sensor) -> tuple[str, ...]:
    """fov or focal_length (``parse_fov``), principal_point_offset_x/y, near_clip,
    far_clip, focus_distance (ignored); a rigid to_world."""
    names = parse_fov(builder, props, sensor) + parse_clip(builder, props, sensor)
    check_rigid(builder, props, sensor)
    own = sensor.settings
    for name in ("principal_point_offset_x", "principal_point_offset_y"):
        if name in props.named:
            own[name] = props.float(name)
    return (*names, "principal_point_offset_x", "principal_point_offset_y")


def place_default(sensor, meshes) -> None:
    """The camera that Mitsuba 3 made for a scene without a sensor, until it stopped doing
    so before its 3.0 release (scene.cpp, removed in commit 1279b88e8): a perspective
    camera with a 45 degree field of view along x, looking along +z at the bounding box of
    the shapes from in front of its nearest face, far enough to see all of it."""
    sensor.type, sensor.fov, sensor.fov_axis = "perspective", 45.0, "x"
    points = [np.asarray(m.vertices, np.float64).reshape(-1, 3) for m in meshes]
    points = np.concatenate(points) if points else np.zeros((0, 3))
    if len(points) == 0:  # no bounding box: Mitsuba kept the plugin's defaults
        sensor.to_world, sensor.near_clip, sensor.far_clip = np.eye(4), 1e-2, 1e4
        return
    lo, hi = points.min(0), points.max(0)
    center, extents = 0.5 * (lo + hi), hi - lo
    distance = extents.max() / (2.0 * math.tan(math.radians(45.0 * 0.5)))
    sensor.far_clip = float(extents.max() * 5 + distance)
    sensor.near_clip = float(distance / 100)
    sensor.settings["focus_distance"] = float(distance + extents[2] / 2)
    sensor.to_world = np.eye(4)
    sensor.to_world[:3, 3] = center[0], center[1], lo[2] - distance


PLUGIN = SensorPlugin(name="perspective", sample_ray=sample_ray, generate_ray=generate_ray,
                      pack=pack, projection=projection, write_xml=write_xml, parse=parse)
