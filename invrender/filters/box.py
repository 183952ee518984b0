"""Mitsuba's ``box`` filter: each sample counts for its own pixel, with weight 1."""

import taichi as ti

from invrender.filters.base import FilterPlugin


@ti.func
def weight(g: ti.template(), s: ti.i32, x):
    return 1.0


PLUGIN = FilterPlugin(name="box", radius=lambda settings: 0.5, pack=lambda settings: [],
                      weight=weight, own_pixel=True)
