"""Mitsuba's ``tent`` filter: max(0, 1 - |x| / radius), radius 1 by default."""

import taichi as ti

from invrender.filters.base import FilterPlugin
from invrender.state import FILTER_FLOATS, SENSOR_FLOATS


@ti.func
def weight(g: ti.template(), s: ti.i32, x):
    inv_radius = g.sensor_floats[SENSOR_FLOATS * s + FILTER_FLOATS]
    return ti.max(0.0, 1.0 - ti.abs(x * inv_radius))


PLUGIN = FilterPlugin(name="tent", settings={"radius": 1.0},
                      radius=lambda settings: settings["radius"],
                      pack=lambda settings: [1.0 / settings["radius"]], weight=weight)
