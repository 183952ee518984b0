"""The sensor plugins, and the ray generation every kernel calls."""

import taichi as ti

from invrender.registry import Registry
from invrender.sensors import orthographic, perspective, thinlens
from invrender.sensors.base import SensorPlugin

vec3 = ti.math.vec3

SENSORS: Registry[SensorPlugin] = Registry("sensor")
SENSORS.register(perspective.PLUGIN)
SENSORS.register(thinlens.PLUGIN)
SENSORS.register(orthographic.PLUGIN)


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, key: ti.u32, fx, fy):
    """Ray of sensor s through film point (fx, fy) in pixels for the camera sample ``key``
    (a lens takes its aperture point from it): origin, unit direction, tmin, tmax."""
    o = vec3(0.0)
    d = vec3(0.0, 0.0, 1.0)
    tmin = 0.0
    tmax = 0.0
    code = g.sensor_type[s]
    for j in ti.static(range(len(g.sensors))):
        if code == j:
            o, d, tmin, tmax = g.sensors[j].generate_ray(g, s, key, fx, fy)
    return o, d, tmin, tmax


@ti.func
def sample_ray(g: ti.template(), s: ti.i32, fx, fy, u1, u2):
    """The same with the aperture sample (u1, u2) given (``rays.camera_rays``)."""
    o = vec3(0.0)
    d = vec3(0.0, 0.0, 1.0)
    tmin = 0.0
    tmax = 0.0
    code = g.sensor_type[s]
    for j in ti.static(range(len(g.sensors))):
        if code == j:
            o, d, tmin, tmax = g.sensors[j].sample_ray(g, s, fx, fy, u1, u2)
    return o, d, tmin, tmax
