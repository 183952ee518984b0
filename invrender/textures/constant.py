"""A constant RGB value (Mitsuba's ``rgb``/``float`` properties, ``srgb`` and ``uniform``)."""

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_INTS
from invrender.textures.base import TexturePlugin

vec3 = ti.math.vec3


@ti.func
def rgb(g: ti.template(), i: ti.i32) -> vec3:
    """The RGB value stored at params[i:i + 3], in the render precision (the field is
    float64): what every texture plugin's values are made of."""
    return vec3(ti.cast(g.params[i], float), ti.cast(g.params[i + 1], float),
                ti.cast(g.params[i + 2], float))


@ti.func
def luminance(c: vec3):
    """Mitsuba's luminance of a linear RGB value: how its textures read as one float."""
    return 0.212671 * c[0] + 0.715160 * c[1] + 0.072169 * c[2]


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv):
    return rgb(g, g.tex_ints[TEXTURE_INTS * t])


def _set(texture, value) -> None:
    texture.value = np.asarray(value, np.float64).reshape(3)


def _write_xml(texture, name, directory, stem):
    value = ", ".join(repr(float(v)) for v in texture.value)
    return [f'<rgb name="{name}" value="{value}"/>']


PLUGIN = TexturePlugin(name="constant", parameter="value", kind="rgb", lookup=lookup,
                       get=lambda t: np.array(t.value, np.float64), set=_set,
                       ints=lambda t: [], write_xml=_write_xml)
