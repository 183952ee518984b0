"""A constant RGB value (Mitsuba's ``rgb``/``float`` properties, ``srgb`` and ``uniform``)."""

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_INTS
from invrender.textures.base import TexturePlugin

vec3 = ti.math.vec3


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv):
    base = g.tex_ints[TEXTURE_INTS * t]
    return vec3(ti.cast(g.params[base], float), ti.cast(g.params[base + 1], float),
                ti.cast(g.params[base + 2], float))


def _set(texture, value) -> None:
    texture.value = np.asarray(value, np.float64).reshape(3)


def _write_xml(texture, name, directory, stem):
    value = ", ".join(repr(float(v)) for v in texture.value)
    return [f'<rgb name="{name}" value="{value}"/>']


PLUGIN = TexturePlugin(name="constant", parameter="value", kind="rgb", lookup=lookup,
                       get=lambda t: np.array(t.value, np.float64), set=_set,
                       ints=lambda t: [], write_xml=_write_xml)
