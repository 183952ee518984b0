"""Mitsuba's ``bitmap`` texture: bilinear or nearest lookup with repeat, clamp or mirror."""

from pathlib import Path

import numpy as np
import taichi as ti

from invrender.state import TEXTURE_INTS
from invrender.textures import uv_map
from invrender.textures.base import TexturePlugin
from invrender.textures.constant import luminance, rgb

vec2 = ti.math.vec2
vec3 = ti.math.vec3
WRAP_MODES = {"repeat": 0, "clamp": 1, "mirror": 2}
FILTERS = {"bilinear": 0, "nearest": 1}


@ti.func
def floor_int(x) -> ti.i32:
    """floor(x) as an integer; ``ti.floor`` has no forward-mode AD rule in Taichi 1.7."""
    i = ti.cast(x, ti.i32)
    if x < i:
        i -= 1
    return i


@ti.func
def wrap(i: ti.i32, n: ti.i32, mode: ti.i32) -> ti.i32:
    """Texel index i in [0, n) under the wrap mode (0 repeat, 1 clamp, 2 mirror)."""
    if mode == 0:
        i = i % n
        i += n if i < 0 else 0
    elif mode == 1:
        i = ti.min(ti.max(i, 0), n - 1)
    else:
        i = i % (2 * n)
        i += 2 * n if i < 0 else 0
        i = 2 * n - 1 - i if i >= n else i
    return i


@ti.func
def texel(g: ti.template(), base: ti.i32, w: ti.i32, x: ti.i32, y: ti.i32) -> vec3:
    return rgb(g, base + 3 * (y * w + x))


@ti.func
def corners(g: ti.template(), t: ti.i32, uv):
    """The four texels around uv (already mapped by ``to_uv``; v = 0 is the file's top row)
    under the wrap mode, and the bilinear weights (fx, fy) of the second column and row:
    (f00, f10, f01, f11, fx, fy), with fx = fy = 0 for the nearest filter."""
    base = g.tex_ints[TEXTURE_INTS * t]
    w = g.tex_ints[TEXTURE_INTS * t + 1]
    h = g.tex_ints[TEXTURE_INTS * t + 2]
    mode = g.tex_ints[TEXTURE_INTS * t + 3]
    nearest = g.tex_ints[TEXTURE_INTS * t + 4]
    x = uv[0] * w - 0.5
    y = uv[1] * h - 0.5
    if nearest:
        x = uv[0] * w
        y = uv[1] * h
    x0 = floor_int(x)
    y0 = floor_int(y)
    fx = x - x0
    fy = y - y0
    if nearest:
        fx = 0.0
        fy = 0.0
    xa = wrap(x0, w, mode)
    xb = wrap(x0 + 1, w, mode)
    ya = wrap(y0, h, mode)
    yb = wrap(y0 + 1, h, mode)
    return (texel(g, base, w, xa, ya), texel(g, base, w, xb, ya), texel(g, base, w, xa, yb),
            texel(g, base, w, xb, yb), fx, fy)


@ti.func
def lookup(g: ti.template(), t: ti.i32, uv0):
    """The value at uv (v = 0 is the top row of the file, after ``to_uv``), as Mitsuba's
    ``bitmap``."""
    f00, f10, f01, f11, fx, fy = corners(g, t, uv_map.apply(g, t, uv0))
    return ((1.0 - fx) * (1.0 - fy) * f00 + fx * (1.0 - fy) * f10
            + (1.0 - fx) * fy * f01 + fx * fy * f11)


@ti.func
def gradient_1(g: ti.template(), t: ti.i32, uv0) -> vec2:
    """d/d(u, v) of the texture read as one float (luminance), as Mitsuba's ``eval_1_grad``:
    the bilinear interpolant's slope in texels, times the resolution, through ``to_uv``'s
    transpose; 0 for the nearest filter. What a bump map tilts the normal by."""
    f00, f10, f01, f11, fx, fy = corners(g, t, uv_map.apply(g, t, uv0))
    l00, l10, l01, l11 = luminance(f00), luminance(f10), luminance(f01), luminance(f11)
    dx = (1.0 - fy) * (l10 - l00) + fy * (l11 - l01)
    dy = (1.0 - fx) * (l01 - l00) + fx * (l11 - l10)
    result = vec2(0.0)
    if not g.tex_ints[TEXTURE_INTS * t + 4]:  # bilinear
        m = uv_map.matrix(g, t)
        result = vec2((m[0, 0] * dx + m[1, 0] * dy) * g.tex_ints[TEXTURE_INTS * t + 1],
                      (m[0, 1] * dx + m[1, 1] * dy) * g.tex_ints[TEXTURE_INTS * t + 2])
    return result


def _set(texture, value) -> None:
    texture.data = np.asarray(value, np.float64).reshape(texture.data.shape)


def _ints(texture) -> list[int]:
    h, w = texture.data.shape[:2]
    return [w, h, WRAP_MODES[texture.wrap_mode], FILTERS[texture.filter_type]]


def _write_xml(texture, name, directory, stem):
    from invrender.image_io import write_exr

    rel = Path("textures") / f"{stem}.exr"
    write_exr(Path(directory) / rel, texture.data)
    return [f'<texture type="bitmap" name="{name}">',
            f'    <string name="filename" value="{rel.as_posix()}"/>',
            f'    <string name="filter_type" value="{texture.filter_type}"/>',
            f'    <string name="wrap_mode" value="{texture.wrap_mode}"/>',
            *uv_map.write_xml(texture), "</texture>"]


def _parse(builder, element):
    """``<texture type="bitmap">``: filename, filter_type, wrap_mode, raw."""
    from invrender.scene.description import Texture

    props = builder.props(element)
    raw = props.boolean("raw", False)
    filter_type = props.string("filter_type", "bilinear", tuple(FILTERS))
    wrap_mode = props.string("wrap_mode", "repeat", tuple(WRAP_MODES))
    to_uv = props.transform("to_uv") if "to_uv" in props.named else None
    filename, data = builder.image(props, element, raw, "texture file")
    props.finish(("filename", "filter_type", "wrap_mode", "raw", "to_uv"))
    texture = Texture("bitmap", data=data, filename=filename, filter_type=filter_type,
                      wrap_mode=wrap_mode, raw=raw)
    if to_uv is not None:
        texture.settings["to_uv"] = to_uv
    return texture


PLUGIN = TexturePlugin(name="bitmap", parameter="data", kind="texture", lookup=lookup,
                       get=lambda t: np.array(t.data, np.float64), set=_set, ints=_ints,
                       write_xml=_write_xml, parse=_parse, gradient_1=gradient_1)
