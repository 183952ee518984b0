"""A texture's ``to_uv``: Mitsuba's 2D affine map of the surface's uv before the lookup
(the 4x4 ``<transform>`` reduced as ``Transform4f::extract`` does: the upper 2 x 2 block
and the translation column)."""

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_FLOATS

vec2 = ti.math.vec2


def pack(texture) -> list[float]:
    """The six floats of the map, identity when the texture has no ``to_uv``."""
    m = np.asarray(texture.settings.get("to_uv", np.eye(4)), np.float64)
    return [m[0, 0], m[0, 1], m[0, 3], m[1, 0], m[1, 1], m[1, 3]]


def read(builder, props, texture) -> None:
    """``to_uv`` of a texture element, if given."""
    if "to_uv" in props.named:
        texture.settings["to_uv"] = props.transform("to_uv")


def write_xml(texture) -> list[str]:
    """The ``to_uv`` element of a texture that has one."""
    if "to_uv" not in texture.settings:
        return []
    values = " ".join(repr(float(v)) for v in np.asarray(texture.settings["to_uv"]).reshape(-1))
    return [f'    <transform name="to_uv"><matrix value="{values}"/></transform>']


@ti.func
def apply(g: ti.template(), t: ti.i32, uv) -> vec2:
    b = TEXTURE_FLOATS * t
    f = ti.static(g.tex_floats)
    return vec2(f[b] * uv[0] + f[b + 1] * uv[1] + f[b + 2],
                f[b + 3] * uv[0] + f[b + 4] * uv[1] + f[b + 5])


@ti.func
def matrix(g: ti.template(), t: ti.i32) -> ti.math.mat2:
    """The linear part of the map (its derivative)."""
    b = TEXTURE_FLOATS * t
    f = ti.static(g.tex_floats)
    return ti.math.mat2([[f[b], f[b + 1]], [f[b + 3], f[b + 4]]])
