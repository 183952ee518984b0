"""The texture plugins, and the one lookup every kernel calls."""

import taichi as ti

from invrender.registry import Registry
from invrender.textures import bitmap, checkerboard, constant, scalar, uniform
from invrender.textures.base import TexturePlugin
from invrender.textures.constant import luminance

TEXTURES: Registry[TexturePlugin] = Registry("texture")
TEXTURES.register(constant.PLUGIN)
TEXTURES.register(bitmap.PLUGIN)
TEXTURES.register(checkerboard.PLUGIN)
TEXTURES.register(scalar.PLUGIN)
TEXTURES.register(uniform.PLUGIN)


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv):
    """Texture t at uv, dispatched on its type among the configuration's texture plugins."""
    result = ti.math.vec3(0.0)
    if ti.static(len(g.textures) == 1):  # one type: no branch (simpler reverse-mode code)
        result = g.textures[0].lookup(g, t, uv)
    else:
        code = g.tex_type[t]
        for j in ti.static(range(len(g.textures))):
            if code == j:
                result = g.textures[j].lookup(g, t, uv)
    return result


@ti.func
def lookup_1(g: ti.template(), t: ti.i32, uv):
    """Texture t at uv as one float, as Mitsuba's ``eval_1``: the luminance of the RGB value
    unless the plugin says otherwise."""
    result = 0.0
    code = g.tex_type[t]
    for j in ti.static(range(len(g.textures))):
        if ti.static(len(g.textures) == 1):
            result = _one(g, j, t, uv)
        elif code == j:
            result = _one(g, j, t, uv)
    return result


@ti.func
def _one(g: ti.template(), j: ti.template(), t: ti.i32, uv):
    result = 0.0
    if ti.static(g.texture_has_lookup_1[j]):
        result = g.textures[j].lookup_1(g, t, uv)
    else:
        result = luminance(g.textures[j].lookup(g, t, uv))
    return result
