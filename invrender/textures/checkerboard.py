"""Mitsuba's ``checkerboard`` texture: ``color0`` where the fractional parts of u and v
(after ``to_uv``) are both above or both below 1/2, ``color1`` elsewhere (defaults 0.4 and
0.2). Its values are the two colours, the parameters ``<..>.color0.value`` and
``<..>.color1.value``. Read as one float (a roughness, an opacity) it has the colours the
other way round, as Mitsuba 3's ``eval_1`` has them (its checkerboard.cpp tests
``mask.x() != mask.y()`` for color0 there, ``==`` in ``eval``)."""

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_INTS
from invrender.textures import uv_map
from invrender.textures.base import TexturePlugin
from invrender.textures.bitmap import floor_int
from invrender.textures.constant import luminance, rgb

vec3 = ti.math.vec3


@ti.func
def second_color(g: ti.template(), t: ti.i32, uv) -> ti.i32:
    st = uv_map.apply(g, t, uv)
    above_u = st[0] - floor_int(st[0]) > 0.5
    above_v = st[1] - floor_int(st[1]) > 0.5
    return ti.select(above_u != above_v, 1, 0)


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv):
    return rgb(g, g.tex_ints[TEXTURE_INTS * t] + 3 * second_color(g, t, uv))


@ti.func
def lookup_1(g: ti.template(), t: ti.i32, uv):
    c = rgb(g, g.tex_ints[TEXTURE_INTS * t] + 3 * (1 - second_color(g, t, uv)))
    return luminance(c)


def _set(texture, value) -> None:
    texture.data = np.asarray(value, np.float64).reshape(2, 3)


def _write_xml(texture, name, directory, stem):
    c0, c1 = (", ".join(repr(float(v)) for v in row) for row in texture.data)
    lines = [f'<texture type="checkerboard" name="{name}">',
             f'    <rgb name="color0" value="{c0}"/>', f'    <rgb name="color1" value="{c1}"/>']
    return lines + uv_map.write_xml(texture) + ["</texture>"]


def _parse(builder, element):
    from invrender.scene.description import Texture

    props = builder.props(element)
    for name in ("color0", "color1"):
        given = props.named.get(name)
        if given is not None and given.tag in ("texture", "ref"):
            raise builder.error(given, f"a checkerboard's {name} must be a colour",
                                hint="nested textures in a checkerboard are not supported")
    colors = np.stack([props.color("color0", 0.4), props.color("color1", 0.2)])
    texture = Texture("checkerboard", data=colors)
    uv_map.read(builder, props, texture)
    props.finish(("color0", "color1", "to_uv"))
    return texture


PLUGIN = TexturePlugin(name="checkerboard", parameter="", kind="rgb", lookup=lookup,
                       lookup_1=lookup_1,
                       get=lambda t: np.array(t.data, np.float64), set=_set,
                       ints=lambda t: [], write_xml=_write_xml, parse=_parse,
                       parts=(("color0.value", 0, 3), ("color1.value", 3, 3)))
