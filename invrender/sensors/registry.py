"""The sensor plugins, and the ray generation every kernel calls."""

import taichi as ti

from invrender.registry import Registry
from invrender.sensors import perspective
from invrender.sensors.base import SensorPlugin

vec3 = ti.math.vec3

SENSORS: Registry[SensorPlugin] = Registry("sensor")
SENSORS.register(perspective.PLUGIN)


@ti.func
def generate_ray(g: ti.template(), s: ti.i32, fx, fy):
    """Ray of sensor s through film point (fx, fy) in pixels: origin, direction, tmin."""
    o = vec3(0.0)
    d = vec3(0.0, 0.0, 1.0)
    tmin = 0.0
    code = g.sensor_type[s]
    for j in ti.static(range(len(g.sensors))):
        if code == j:
            o, d, tmin = g.sensors[j].generate_ray(g, s, fx, fy)
    return o, d, tmin
