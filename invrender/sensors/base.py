"""What a sensor plugin provides: rays from film points (Taichi functions), its settings
packed into the sensor's floats, the host-side projection the silhouette term needs, and
its XML. Also what Mitsuba's projective cameras share: the clip planes, the rigid
camera-to-world check, and a plugin's own settings on the ``Sensor``.

Rays are Mitsuba's (``sample_ray`` of its sensor plugins): origin, unit direction and the
interval [tmin, tmax] along it, where Mitsuba starts the ray at the near plane
(origin + tmin d) and ends it at the far plane (maxt = tmax - tmin).
"""


from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import taichi as ti

from invrender.state import SENSOR_FLOATS

vec3 = ti.math.vec3

EPSILON = 2.0 ** -24  # dr::Epsilon<float>: the aperture Mitsuba's thinlens uses for 0
RIGID_TOLERANCE = 1e-3  # Transform::has_scale: |M M^T - I| beyond this is a scale


@ti.func
def camera_frame(g: ti.template(), s: ti.i32):
    """Sensor s's origin and its x, y and z (view) axes in world space: the first 12 floats
    every plugin packs (``perspective.pack_pinhole``, ``orthographic.pack``)."""
    b = SENSOR_FLOATS * s
    c = ti.static(g.sensor_floats)
    return (vec3(c[b], c[b + 1], c[b + 2]), vec3(c[b + 3], c[b + 4], c[b + 5]),
            vec3(c[b + 6], c[b + 7], c[b + 8]), vec3(c[b + 9], c[b + 10], c[b + 11]))


@dataclass(frozen=True, eq=False)
class SensorPlugin:
    name: str
    # ti.func (g, s, fx, fy, u1, u2) -> (origin, unit direction, tmin, tmax) of the ray
    # through film point (fx, fy) in pixels, (u1, u2) in [0, 1)^2 the aperture sample
    sample_ray: Callable
    # ti.func (g, s, key, fx, fy) -> the same, aperture numbers from the sample key
    generate_ray: Callable
    pack: Callable  # (Sensor) -> np.ndarray of at most state.FILTER_FLOATS floats
    # (Sensor) -> an object with origin, near, to_camera, film, jacobian (boundary.py), or
    # None where the primary silhouettes cannot be sampled (``no_projection`` says why)
    projection: Callable
    write_xml: Callable  # (Sensor) -> list[str]: the <sensor> opening and its properties
    parse: Callable  # (SceneBuilder, Props, Sensor) -> the property names it read
    no_projection: str = ""


def parse_clip(builder, props, sensor) -> tuple[str, ...]:
    """Mitsuba's ProjectiveCamera: near_clip (> 0), far_clip (> near_clip), and
    focus_distance (default far_clip), which only the thin lens uses."""
    sensor.near_clip = props.float("near_clip", 1e-2)
    sensor.far_clip = props.float("far_clip", 1e4)
    if not sensor.near_clip > 0.0:
        raise builder.error(props.named.get("near_clip", props.owner),
                            f"near_clip must be greater than zero, got {sensor.near_clip}")
    if not sensor.near_clip < sensor.far_clip:
        raise builder.error(props.named.get("far_clip", props.owner),
                            f"near_clip ({sensor.near_clip}) must be smaller than far_clip "
                            f"({sensor.far_clip})")
    if "focus_distance" in props.named:
        sensor.settings["focus_distance"] = props.float("focus_distance")
    return ("near_clip", "far_clip", "focus_distance")


def check_rigid(builder, props, sensor) -> None:
    """Mitsuba's pinhole and thin lens refuse a camera-to-world transform with a scale."""
    m = np.asarray(sensor.to_world, np.float64)[:3, :3]
    if not np.abs(m @ m.T - np.eye(3)).max() <= RIGID_TOLERANCE:
        raise builder.error(props.named.get("to_world", props.owner),
                            f"the to_world of {sensor.type} sensor '{sensor.id}' has a scale "
                            "(Mitsuba 3 does not allow one)",
                            hint="use lookat, rotate and translate only")


def clip_xml(sensor) -> list[str]:
    lines = [f'    <float name="near_clip" value="{sensor.near_clip!r}"/>',
             f'    <float name="far_clip" value="{sensor.far_clip!r}"/>']
    focus = sensor.settings.get("focus_distance")
    if focus is not None:
        lines.append(f'    <float name="focus_distance" value="{float(focus)!r}"/>')
    return lines


def to_world_xml(sensor) -> str:
    matrix = " ".join(repr(float(v)) for v in np.asarray(sensor.to_world).reshape(-1))
    return f'    <transform name="to_world"><matrix value="{matrix}"/></transform>'
