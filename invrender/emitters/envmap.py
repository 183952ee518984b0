"""Mitsuba's ``envmap``: a latitude-longitude image of the radiance arriving from every
direction, times ``scale``, rotated by ``to_world``; sampled in proportion to luminance.

Lookup as Mitsuba 3.9: the local direction v = to_world^-1 d has u = atan2(v.x, -v.z) / 2 pi
(wrapping) and v = acos(v.y) / pi; texel column i sits at u = (i + 1/2) / W and row j at
v = j / (H - 1) (rows at the poles, clamped), interpolated bilinearly. The texels are the
parameter ``<id>.data`` and the scale ``<id>.scale`` (both differentiable).

Sampling (ours; Mitsuba's differs, the image does not): the uv square is cut into W x H
cells, each chosen with probability proportional to the largest luminance the lookup
takes at its corners and centre times sin(theta) at its centre, then a uniform point in
it. Its solid-angle density is p_cell W H / (2 pi^2 sin theta). The distribution is
rebuilt on the host whenever the texels change, as Mitsuba's ``parameters_changed``.
"""

import math

import numpy as np
import taichi as ti

from invrender import structs
from invrender.emitters.base import EmitterPlugin, plugin_rows, texture_of
from invrender.emitters.selection import selection_pmf
from invrender.state import (
    EMITTER_INTS,
    TEXTURE_INTS,
)
from invrender.textures import scalar
from invrender.textures.bitmap import WRAP_MODES, floor_int, texel, wrap
from invrender.warp import search_cdf

vec2 = ti.math.vec2
vec3 = ti.math.vec3
PI = math.pi
# floats: world -> local rows 9, local -> world rows 9
TO_WORLD = 9
REPEAT = WRAP_MODES["repeat"]


@ti.func
def direction_to_uv(v: vec3) -> vec2:
    u = ti.atan2(v.x, -v.z) * (0.5 / PI)
    u -= floor_int(u)
    return vec2(u, ti.acos(ti.min(ti.max(v.y, -1.0), 1.0)) * (1.0 / PI))


@ti.func
def _size(g: ti.template(), e: ti.i32):
    """The map's texture slot and its width and height."""
    t = texture_of(g, e, 0)
    return (g.tex_ints[TEXTURE_INTS * t], g.tex_ints[TEXTURE_INTS * t + 1],
            g.tex_ints[TEXTURE_INTS * t + 2])


@ti.func
def radiance_at(g: ti.template(), e: ti.i32, uv: vec2) -> vec3:
    base, w, h = _size(g, e)
    x = uv[0] * w - 0.5
    y = uv[1] * (h - 1)
    x0 = floor_int(x)
    y0 = ti.min(floor_int(y), h - 2)  # maps have 2 rows or more (``parse``)
    fx = x - x0
    fy = ti.min(ti.max(y - y0, 0.0), 1.0)
    xa = wrap(x0, w, REPEAT)
    xb = wrap(x0 + 1, w, REPEAT)
    ya = ti.max(y0, 0)
    yb = ya + 1
    value = ((1.0 - fx) * (1.0 - fy) * texel(g, base, w, xa, ya)
             + fx * (1.0 - fy) * texel(g, base, w, xb, ya)
             + (1.0 - fx) * fy * texel(g, base, w, xa, yb)
             + fx * fy * texel(g, base, w, xb, yb))
    return value * scalar.value(g, texture_of(g, e, 1))


@ti.func
def _cell_pmf(g: ti.template(), e: ti.i32, i: ti.i32, j: ti.i32):
    start = g.em_ints[EMITTER_INTS * e + 1]
    base, w, h = _size(g, e)
    row = start + h + j * w
    p_row = g.env_cdf[start + j] - (g.env_cdf[start + j - 1] if j > 0 else 0.0)
    p_col = g.env_cdf[row + i] - (g.env_cdf[row + i - 1] if i > 0 else 0.0)
    return p_row * p_col


@ti.func
def _density(g: ti.template(), e: ti.i32, uv: vec2, sin_theta):
    base, w, h = _size(g, e)
    i = ti.min(ti.cast(uv[0] * w, ti.i32), w - 1)
    j = ti.min(ti.cast(uv[1] * h, ti.i32), h - 1)
    result = 0.0
    if sin_theta > 0.0:
        result = (selection_pmf(g, e) * _cell_pmf(g, e, i, j) * w * h
                  / (2.0 * PI * PI * sin_theta))
    return result


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    start = g.em_ints[EMITTER_INTS * e + 1]
    base, w, h = _size(g, e)
    j = search_cdf(g.env_cdf, start, h, u1)
    p_before = g.env_cdf[start + j - 1] if j > 0 else 0.0
    fy = (u1 - p_before) / ti.max(g.env_cdf[start + j] - p_before, 1e-30)
    row = start + h + j * w
    i = search_cdf(g.env_cdf, row, w, u2)
    q_before = g.env_cdf[row + i - 1] if i > 0 else 0.0
    fx = (u2 - q_before) / ti.max(g.env_cdf[row + i] - q_before, 1e-30)
    uv = vec2((i + ti.min(fx, 1.0)) / w, (j + ti.min(fy, 1.0)) / h)
    phi = 2.0 * PI * uv[0]
    theta = PI * uv[1]
    sin_theta = ti.sin(theta)
    local = vec3(ti.sin(phi) * sin_theta, ti.cos(theta), -ti.cos(phi) * sin_theta)
    d = plugin_rows(g, e, TO_WORLD, local).normalized()
    density = _density(g, e, uv, sin_theta)
    radiance = vec3(0.0)
    if density > 0.0:
        radiance = radiance_at(g, e, uv)
    return structs.LightSample(d=d, dist=1e30, pdf=density, radiance=radiance, tri=-1, pos=d,
                               q=density, delta=0, emitter=e)


@ti.func
def _local(g: ti.template(), e: ti.i32, d: vec3) -> vec3:
    return plugin_rows(g, e, 0, d)


@ti.func
def eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    return radiance_at(g, e, direction_to_uv(_local(g, e, d)))


@ti.func
def pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    v = _local(g, e, d).normalized()
    return _density(g, e, direction_to_uv(v), ti.sqrt(ti.max(v.x * v.x + v.z * v.z, 0.0)))


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    return pos, 1.0 / q, eval(g, e, vec2(0.0), pos, 1.0)


# --- host side ---------------------------------------------------------------------------


def lookup(data: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The kernel's lookup (without scale) in numpy, for the sampling distribution."""
    h, w = data.shape[:2]
    x = u * w - 0.5
    y = v * (h - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.clip(np.floor(y).astype(np.int64), 0, h - 2)
    fx = (x - x0)[..., None]
    fy = np.clip(y - y0, 0.0, 1.0)[..., None]
    xa, xb = x0 % w, (x0 + 1) % w
    ya, yb = y0, y0 + 1
    return ((1 - fx) * (1 - fy) * data[ya, xa] + fx * (1 - fy) * data[ya, xb]
            + (1 - fx) * fy * data[yb, xa] + fx * fy * data[yb, xb])


def distribution(emitter, data: np.ndarray) -> np.ndarray:
    """Marginal CDF over rows (H), then each row's conditional CDF (W each): what
    ``sample`` searches. A black map gives all-zero CDFs (no sample is ever drawn)."""
    h, w = data.shape[:2]
    lum = np.array([0.212671, 0.715160, 0.072169])
    offsets = np.array([0.0, 0.5, 1.0])
    i = np.arange(w)[None, :, None, None]
    j = np.arange(h)[:, None, None, None]
    u = (i + offsets[None, None, :, None]) / w
    v = (j + offsets[None, None, None, :]) / h
    u, v = np.broadcast_arrays(u, v)
    values = np.maximum(lookup(np.asarray(data, np.float64), u, v) @ lum, 0.0)
    weight = values.max(axis=(2, 3)) * np.sin(np.pi * (np.arange(h) + 0.5) / h)[:, None]
    rows = weight.sum(1)
    total = rows.sum()
    if not total > 0.0:
        return np.zeros(h + h * w)
    marginal = np.cumsum(rows) / total
    marginal[-1] = 1.0
    safe = np.where(rows > 0.0, rows, 1.0)[:, None]
    conditional = np.cumsum(weight, 1) / safe
    conditional[:, -1] = 1.0
    return np.concatenate([marginal, conditional.reshape(-1)])


def parse(builder, props, emitter) -> tuple[str, ...]:
    """filename (EXR, HDR or an 8/16-bit image), scale, to_world."""
    from invrender.scene.description import Texture

    element = props.named.get("filename", props.owner)
    filename, data = builder.image(props, props.owner, False, "environment map")
    if data.shape[0] < 2 or data.shape[1] < 1:
        raise builder.error(element, f"environment map {filename.name} is "
                            f"{data.shape[1]} x {data.shape[0]} pixels; it needs at least "
                            "1 x 2")
    emitter.textures["data"] = Texture("bitmap", data=data, filename=filename,
                                       wrap_mode="repeat")
    scale = props.float("scale", 1.0)
    if not (math.isfinite(scale) and scale >= 0.0):
        raise builder.error(props.named["scale"], f"envmap scale must be >= 0, got {scale}")
    emitter.textures["scale"] = scalar.make(scale)
    emitter.settings["to_world"] = props.transform()
    if abs(np.linalg.det(emitter.settings["to_world"][:3, :3])) < 1e-12:
        raise builder.error(props.named["to_world"], "the envmap's to_world is singular")
    props.boolean("mis_compensation", False)  # changes the noise only
    return ("filename", "scale", "to_world", "mis_compensation")


def pack(emitter) -> list[float]:
    m = np.asarray(emitter.settings["to_world"], np.float64)[:3, :3]
    return [*np.linalg.inv(m).reshape(-1), *m.reshape(-1)]


def write_xml(emitter, directory) -> list[str]:
    """The texels as a linear EXR beside the scene, the scale and the rotation."""
    from pathlib import Path

    from invrender.emitters.delta import matrix_xml
    from invrender.image_io import write_exr

    rel = Path("textures") / f"{emitter.id}.data.exr"
    write_exr(Path(directory) / rel, emitter.textures["data"].data)
    scale = float(emitter.textures["scale"].value[0])
    return [f'<string name="filename" value="{rel.as_posix()}"/>',
            f'<float name="scale" value="{scale!r}"/>', matrix_xml(emitter.settings["to_world"])]


PLUGIN = EmitterPlugin(name="envmap", environment=True, textures=("data", "scale"),
                       defaults={}, sample=sample, eval=eval, pdf=pdf, replay=replay,
                       parse=parse, own_textures=("data", "scale"), pack=pack,
                       write_xml=write_xml, names={"data": "data", "scale": "scale"},
                       distribution=distribution)
