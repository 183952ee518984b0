"""Mitsuba's ``gaussian`` filter (its default): exp(-x^2 / (2 stddev^2)) cut off at
radius 4 stddev and shifted down to reach 0 there; stddev 0.5 by default."""

import math

import taichi as ti

from invrender.filters.base import FilterPlugin
from invrender.state import FILTER_FLOATS, SENSOR_FLOATS


@ti.func
def weight(g: ti.template(), s: ti.i32, x):
    b = SENSOR_FLOATS * s + FILTER_FLOATS
    alpha = g.sensor_floats[b]  # -1 / (2 stddev^2)
    bias = g.sensor_floats[b + 1]  # the value at the radius
    return ti.max(0.0, ti.exp(alpha * x * x) - bias)


def _pack(settings):
    stddev = settings["stddev"]
    alpha = -1.0 / (2.0 * stddev * stddev)
    return [alpha, math.exp(alpha * (4.0 * stddev) ** 2)]


PLUGIN = FilterPlugin(name="gaussian", settings={"stddev": 0.5},
                      radius=lambda settings: 4.0 * settings["stddev"], pack=_pack,
                      weight=weight)
