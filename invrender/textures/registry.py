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
    return lookup_among(g, t, uv, g.every_texture)


@ti.func
def lookup_among(g: ti.template(), t: ti.i32, uv, types: ti.template()):
    """``lookup`` where texture t is known to be of one of the plugin indices ``types``
    (what a BSDF's texture slot holds in this scene): the code of the others is left out,
    which is most of the compile time of a scene with a bitmap somewhere."""
    result = ti.math.vec3(0.0)
    if ti.static(len(types) == 1):  # one type: no branch (simpler reverse-mode code)
        result = g.textures[types[0]].lookup(g, t, uv)
    else:
        code = g.tex_type[t]
        for k in ti.static(types):
            if code == k:
                result = g.textures[k].lookup(g, t, uv)
    return result


@ti.func
def lookup_1(g: ti.template(), t: ti.i32, uv):
    """Texture t at uv as one float, as Mitsuba's ``eval_1``: the luminance of the RGB value
    unless the plugin says otherwise."""
    return lookup_1_among(g, t, uv, g.every_texture)


@ti.func
def lookup_1_among(g: ti.template(), t: ti.i32, uv, types: ti.template()):
    """``lookup_1`` among the texture plugins ``types`` (see ``lookup_among``)."""
    result = 0.0
    if ti.static(len(types) == 1):
        result = _one(g, types[0], t, uv)
    else:
        code = g.tex_type[t]
        for k in ti.static(types):
            if code == k:
                result = _one(g, k, t, uv)
    return result


@ti.func
def _one(g: ti.template(), j: ti.template(), t: ti.i32, uv):
    result = 0.0
    if ti.static(g.texture_has_lookup_1[j]):
        result = g.textures[j].lookup_1(g, t, uv)
    else:
        result = luminance(g.textures[j].lookup(g, t, uv))
    return result


@ti.func
def gradient_1_among(g: ti.template(), t: ti.i32, uv, types: ti.template()):
    """d/d(u, v) of texture t read as one float (Mitsuba's ``eval_1_grad``), among the
    texture plugins ``types``; 0 for those without a gradient (constants)."""
    result = ti.math.vec2(0.0)
    code = g.tex_type[t]
    for k in ti.static(types):
        if ti.static(g.texture_has_gradient_1[k]):
            if code == k:
                result = g.textures[k].gradient_1(g, t, uv)
    return result
