"""The reconstruction filter plugins, and the weight every film kernel calls."""

import taichi as ti

from invrender.filters import box, gaussian, tent
from invrender.filters.base import FilterPlugin
from invrender.registry import Registry
from invrender.state import SENSOR_INTS

FILTERS: Registry[FilterPlugin] = Registry("rfilter")
FILTERS.register(box.PLUGIN)
FILTERS.register(tent.PLUGIN)
FILTERS.register(gaussian.PLUGIN)
DEFAULT = "gaussian"  # what a film without an <rfilter> gets, as in Mitsuba


@ti.func
def weight(g: ti.template(), s: ti.i32, dx, dy):
    """Weight of a sample at offset (dx, dy) in pixels from a pixel centre, sensor s."""
    result = 0.0
    code = g.sensor_ints[SENSOR_INTS * s]
    for j in ti.static(range(len(g.filters))):
        if code == j:
            result = g.filters[j].weight(g, s, dx) * g.filters[j].weight(g, s, dy)
    return result


@ti.func
def weight_1d(g: ti.template(), s: ti.i32, x):
    """The 1D weight at offset x in pixels, sensor s (``weight`` is its product in x and y)."""
    result = 0.0
    code = g.sensor_ints[SENSOR_INTS * s]
    for j in ti.static(range(len(g.filters))):
        if code == j:
            result = g.filters[j].weight(g, s, x)
    return result


@ti.func
def footprint(g: ti.template(), s: ti.i32) -> ti.i32:
    """Pixels either side that a sample of sensor s reaches (0 for box)."""
    return g.sensor_ints[SENSOR_INTS * s + 1]
