"""Mitsuba's ``area`` emitter on a triangle mesh: one-sided (it emits along the winding
normal), a point chosen in proportion to area (triangle by CDF, then uniformly in it)."""

import taichi as ti

from invrender import structs
from invrender.emitters.base import EmitterPlugin, texture_of
from invrender.emitters.selection import selection_pmf
from invrender.geometry.intersect import triangle
from invrender.shading import surface_uv
from invrender.state import EMITTER_FLOATS, EMITTER_INTS
from invrender.textures.registry import lookup
from invrender.warp import search_cdf, square_to_uniform_triangle

vec3 = ti.math.vec3


@ti.func
def _pick_triangle(g: ti.template(), e: ti.i32, u) -> ti.i32:
    """A triangle of emitter e, in proportion to its area (the emitter's area CDF)."""
    first = g.em_ints[EMITTER_INTS * e + 1]
    return g.em_tris[first + search_cdf(g.em_cdf, first, g.em_ints[EMITTER_INTS * e + 2], u)]


@ti.func
def area_pdf(g: ti.template(), e: ti.i32):
    """Density per unit area of choosing a point on emitter e (selection included)."""
    return selection_pmf(g, e) / g.em_floats[EMITTER_FLOATS * e]


@ti.func
def radiance(g: ti.template(), e: ti.i32, uv) -> vec3:
    return lookup(g, texture_of(g, e, 0), uv)


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    ls = structs.LightSample(d=vec3(0.0, 0.0, 1.0), dist=1e30, pdf=0.0, radiance=vec3(0.0), tri=-1,
                     pos=vec3(0.0), q=0.0, delta=0, emitter=-1)
    tri = _pick_triangle(g, e, u_tri)
    b1, b2 = square_to_uniform_triangle(u1, u2)
    v0, v1, v2 = triangle(g, tri)
    y = (1.0 - b1 - b2) * v0 + b1 * v1 + b2 * v2
    cross = (v1 - v0).cross(v2 - v0)
    n = cross.normalized()
    to_y = y - x
    dist = to_y.norm()
    ls.tri = tri
    ls.emitter = e
    ls.pos = vec3(b1, b2, 0.0)
    ls.dist = dist
    if dist > 0.0:
        d = to_y / dist
        ls.d = d
        cos_y = -n.dot(d)
        if cos_y > 0.0:
            ls.pdf = area_pdf(g, e) * dist * dist / cos_y
            ls.radiance = radiance(g, e, surface_uv(g, tri, b1, b2))
            # per barycentric area: solid-angle pdf x |d(direction) / d(barycentrics)|
            ls.q = ls.pdf * ti.abs(cross.dot(d)) / (dist * dist)
    return ls


@ti.func
def eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    result = vec3(0.0)
    if cos_front > 0.0:
        result = radiance(g, e, uv)
    return result


@ti.func
def pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    return area_pdf(g, e) * dist * dist / cos_front


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    """The recorded point at barycentrics ``pos`` of ``tri``, seen from x."""
    l0, l1, l2 = triangle(g, tri)
    cross = (l1 - l0).cross(l2 - l0)
    seg = l0 + pos[0] * (l1 - l0) + pos[1] * (l2 - l0) - x
    r2 = seg.dot(seg)
    d = seg / ti.sqrt(r2)
    cos_y = -cross.dot(d)
    factor = 0.0
    value = vec3(0.0)
    if cos_y > 0.0:
        factor = cos_y / (r2 * q)
        value = radiance(g, e, surface_uv(g, tri, pos[0], pos[1]))
    return d, factor, value


PLUGIN = EmitterPlugin(name="area", environment=False, textures=("radiance",), defaults={},
                       sample=sample, eval=eval, pdf=pdf, replay=replay, attached=True)
