"""Mitsuba 3's ``thinlens`` sensor: a perspective camera with a circular aperture of radius
``aperture_radius`` (required) focused at ``focus_distance`` (default far_clip).

As Mitsuba's ``sample_ray``: the film point gives the point on the focal plane
(near-plane point scaled to z = focus_distance in camera space); the aperture sample
(u1, u2), warped by the concentric map and scaled by the radius, gives the origin on the
lens (z = 0); the ray runs from one to the other, starting at the near plane. The field of
view is read as the perspective camera's (``fov``/``focal_length``); Mitsuba's thin lens
has no principal point offset. An aperture radius of 0 becomes 2^-24, as in Mitsuba.

The aperture numbers are dimensions ``sampler.DIM_APERTURE`` and the next of the camera
sample's key. The primary silhouettes' boundary term assumes a pinhole, so with an
aperture the plugin has no projection (``boundary.py`` refuses geometry derivatives).
"""

from xml.sax.saxutils import quoteattr

import numpy as np
import taichi as ti

from invrender import sampler
from invrender.sensors import perspective
from invrender.sensors.base import (
    EPSILON,
    SensorPlugin,
    camera_frame,
    check_rigid,
    clip_xml,
    parse_clip,
    to_world_xml,
)
from invrender.state import SENSOR_FLOATS
from invrender.warp import square_to_uniform_disk_concentric

vec3 = ti.math.vec3
# floats: the pinhole's 17 (perspective.pack_pinhole), aperture radius, focus distance, far


def aperture_radius(sensor) -> float:
    return float(sensor.settings.get("aperture_radius", 0.0))


def focus_distance(sensor) -> float:
    return float(sensor.settings.get("focus_distance", sensor.far_clip))


def pack(sensor) -> np.ndarray:
    radius = aperture_radius(sensor)
    return perspective.pack_pinhole(sensor, (radius if radius != 0.0 else EPSILON,
                                             focus_distance(sensor)))


@ti.func
def sample_ray(g: ti.template(), s: ti.i32, fx, fy, u1, u2):
    """Ray through film point (fx, fy) in pixels and aperture sample (u1, u2): origin,
    unit direction, tmin, tmax."""
    b = SENSOR_FLOATS * s
    c = ti.static(g.sensor_floats)
    sx = fx / c[b + 15]
    sy = fy / c[b + 16]
    focus = c[b + 18]
    ax, ay = square_to_uniform_disk_concentric(u1, u2)
    ax *= c[b + 17]
    ay *= c[b + 17]
    local = vec3((1.0 - 2.0 * sx) * c[b + 12] * focus - ax,
                 (1.0 - 2.0 * sy) * c[b + 13] * focus - ay, focus).normalized()
    origin, x_axis, y_axis, z_axis = camera_frame(g, s)
    d = local.x * x_axis + local.y * y_axis + local.z * z_axis
    o = origin + ax * x_axis + ay * y_axis
    return o, d, c[b + 14] / local.z, c[b + 19] / local.z


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, key: ti.u32, fx, fy):
    return sample_ray(g, s, fx, fy, sampler.uniform(key, sampler.DIM_APERTURE),
                      sampler.uniform(key, sampler.DIM_APERTURE + 1))


def projection(sensor):
    """A pinhole's projection when the aperture is 0, else None (not supported)."""
    if aperture_radius(sensor) != 0.0:
        return None
    return perspective.Projection(sensor, perspective.pack_pinhole(sensor))


def write_xml(sensor) -> list[str]:
    return [f'<sensor type="thinlens" id={quoteattr(sensor.id)}>',
            *perspective.fov_xml(sensor),
            f'    <float name="aperture_radius" value="{aperture_radius(sensor)!r}"/>',
            *clip_xml(sensor), to_world_xml(sensor)]


def parse(builder, props, sensor) -> tuple[str, ...]:
    """aperture_radius (required), focus_distance (default far_clip), fov or focal_length,
    near_clip, far_clip; a rigid to_world."""
    names = perspective.parse_fov(builder, props, sensor) + parse_clip(builder, props, sensor)
    check_rigid(builder, props, sensor)
    own = sensor.settings
    own["aperture_radius"] = props.float("aperture_radius")
    own.setdefault("focus_distance", sensor.far_clip)
    if not own["focus_distance"] > 0.0:  # Mitsuba's rays would be NaN or point backwards
        raise builder.error(props.named["focus_distance"], "focus_distance must be greater "
                            f"than zero, got {own['focus_distance']}")
    return (*names, "aperture_radius")


PLUGIN = SensorPlugin(
    name="thinlens", sample_ray=sample_ray, generate_ray=generate_ray, pack=pack,
    projection=projection, write_xml=write_xml, parse=parse,
    no_projection="geometry derivatives through a thin lens's defocus are not supported: "
                  "the silhouette boundary term assumes a pinhole camera")
