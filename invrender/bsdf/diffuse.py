"""Mitsuba's ``diffuse`` BSDF (one-sided, optionally ``twosided``) and its reflectance lookup.

One-sided means black from behind: with wi below the surface both eval and sample are 0.
``twosided`` flips the frame to the side wi is on.
"""

import taichi as ti

from invrender.scene.fields import vec3_at
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907


@ti.func
def eval_pdf(rho: vec3, cos_i, cos_o):
    """BSDF value times cos(theta_o), and the solid-angle pdf of sampling wo."""
    value = vec3(0.0)
    pdf = 0.0
    if cos_i > 0.0 and cos_o > 0.0:
        value = rho * (INV_PI * cos_o)
        pdf = cos_o * INV_PI
    return value, pdf


@ti.func
def sample(rho: vec3, cos_i, u1, u2):
    """Cosine-weighted sample: (local wo, weight = value / pdf, pdf); weight 0 from behind."""
    wo = square_to_cosine_hemisphere(u1, u2)
    weight = vec3(0.0)
    pdf = 0.0
    if cos_i > 0.0 and wo.z > 0.0:
        weight = rho
        pdf = wo.z * INV_PI
    return wo, weight, pdf


@ti.func
def _texel(g: ti.template(), base: ti.i32, w: ti.i32, h: ti.i32, wrap: ti.i32, x: ti.i32,
           y: ti.i32) -> vec3:
    if wrap == 0:  # repeat
        x = x % w
        y = y % h
        x += w if x < 0 else 0
        y += h if y < 0 else 0
    elif wrap == 1:  # clamp
        x = ti.min(ti.max(x, 0), w - 1)
        y = ti.min(ti.max(y, 0), h - 1)
    else:  # mirror
        x = x % (2 * w)
        y = y % (2 * h)
        x += 2 * w if x < 0 else 0
        y += 2 * h if y < 0 else 0
        x = 2 * w - 1 - x if x >= w else x
        y = 2 * h - 1 - y if y >= h else y
    i = base + 3 * (y * w + x)
    return vec3_at(g.tex_data, i)


@ti.func
def floor_int(x) -> ti.i32:
    """floor(x) as an integer; ``ti.floor`` has no forward-mode AD rule in Taichi 1.7."""
    i = ti.cast(x, ti.i32)
    if x < i:
        i -= 1
    return i


@ti.func
def texture_eval(g: ti.template(), tex: ti.i32, u, v) -> vec3:
    """Bitmap lookup at uv (v = 0 is the top row of the file), as Mitsuba's ``bitmap``."""
    base = g.tex_info[5 * tex]
    w = g.tex_info[5 * tex + 1]
    h = g.tex_info[5 * tex + 2]
    wrap = g.tex_info[5 * tex + 3]
    nearest = g.tex_info[5 * tex + 4]
    result = vec3(0.0)
    if nearest:
        result = _texel(g, base, w, h, wrap, floor_int(u * w), floor_int(v * h))
    else:
        x = u * w - 0.5
        y = v * h - 0.5
        x0 = floor_int(x)
        y0 = floor_int(y)
        fx = x - x0
        fy = y - y0
        result = ((1.0 - fx) * (1.0 - fy) * _texel(g, base, w, h, wrap, x0, y0)
                  + fx * (1.0 - fy) * _texel(g, base, w, h, wrap, x0 + 1, y0)
                  + (1.0 - fx) * fy * _texel(g, base, w, h, wrap, x0, y0 + 1)
                  + fx * fy * _texel(g, base, w, h, wrap, x0 + 1, y0 + 1))
    return result


@ti.func
def reflectance(g: ti.template(), bsdf: ti.i32, tri: ti.i32, b1, b2) -> vec3:
    """Reflectance of ``bsdf`` at barycentrics (b1, b2) of triangle ``tri``."""
    rho = vec3_at(g.bsdf_reflectance, 3 * bsdf)
    tex = g.bsdf_texture[bsdf]
    if tex >= 0:
        u = b1
        v = b2
        if g.tri_has_uv[tri]:
            i0 = g.tri[3 * tri]
            i1 = g.tri[3 * tri + 1]
            i2 = g.tri[3 * tri + 2]
            b0 = 1.0 - b1 - b2
            u = b0 * g.uv[2 * i0] + b1 * g.uv[2 * i1] + b2 * g.uv[2 * i2]
            v = b0 * g.uv[2 * i0 + 1] + b1 * g.uv[2 * i1 + 1] + b2 * g.uv[2 * i2 + 1]
        rho = texture_eval(g, tex, u, v)
    return rho
