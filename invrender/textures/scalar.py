"""A single float as a parameter slot: what Mitsuba keeps as a plain ``Float`` of a plugin
(an environment map's ``scale``, a spot's ``cutoff_angle``) but differentiates all the
same. Not an XML texture: plugins make it from a ``<float>`` property."""

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_INTS
from invrender.textures.base import TexturePlugin

vec3 = ti.math.vec3


@ti.func
def value(g: ti.template(), t: ti.i32):
    return ti.cast(g.params[g.tex_ints[TEXTURE_INTS * t]], float)


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv):
    v = value(g, t)
    return vec3(v, v, v)


@ti.func
def lookup_1(g: ti.template(), t: ti.i32, uv):
    """The value itself (not the luminance of (v, v, v), which rounds in float32)."""
    return value(g, t)


def make(v: float):
    from invrender.scene.description import Texture

    return Texture("scalar", value=np.array([float(v)]))


def _set(texture, v) -> None:
    texture.value = np.asarray(v, np.float64).reshape(1)


def _write_xml(texture, name, directory, stem):
    return [f'<float name="{name}" value="{float(texture.value[0])!r}"/>']


PLUGIN = TexturePlugin(name="scalar", parameter="", kind="float", lookup=lookup,
                       lookup_1=lookup_1,
                       get=lambda t: np.array(t.value[0], np.float64), set=_set,
                       ints=lambda t: [], write_xml=_write_xml)
