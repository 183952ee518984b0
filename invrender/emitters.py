"""Area emitters on triangle meshes and the constant environment: sampling and pdfs.

As in Mitsuba: one emitter is chosen uniformly among all emitters, a point on an area
emitter is chosen proportional to area (triangle by CDF, then uniformly in the triangle),
and area emitters are one-sided (they emit only on the side the winding normal faces).
"""

import taichi as ti

from invrender.geometry.intersect import triangle
from invrender.scene.fields import vec3_at
from invrender.warp import PI, square_to_uniform_sphere, square_to_uniform_triangle

vec3 = ti.math.vec3


@ti.func
def emitter_count(g: ti.template()) -> ti.i32:
    return g.counts[0] + g.counts[1]


@ti.func
def radiance(g: ti.template(), e: ti.i32) -> vec3:
    return vec3_at(g.emitter_radiance, 3 * e)


@ti.func
def environment(g: ti.template()) -> vec3:
    return vec3_at(g.env_radiance, 0)


@ti.func
def _pick_triangle(g: ti.template(), e: ti.i32, u) -> ti.i32:
    """Binary search in emitter ``e``'s area CDF."""
    first = g.emitter_info[2 * e]
    lo = first
    hi = first + g.emitter_info[2 * e + 1] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if g.emitter_cdf[mid] <= u:
            lo = mid + 1
        else:
            hi = mid
    return g.emitter_tris[lo]


@ti.func
def area_pdf(g: ti.template(), e: ti.i32) -> ti.f32:
    """Probability density per unit area of choosing a point on area emitter ``e``."""
    return 1.0 / (emitter_count(g) * g.emitter_area[e])


@ti.func
def env_pdf(g: ti.template()) -> ti.f32:
    """Solid-angle density of sampling a direction on the environment."""
    return 1.0 / (emitter_count(g) * 4.0 * PI)


@ti.func
def sample_emitter(g: ti.template(), x: vec3, u_select, u_tri, u1, u2):
    """Choose an emitter and a point on it as seen from ``x``.

    Returns (emitter triangle or -1 for the environment, barycentrics b1 and b2, unit
    direction, distance, solid-angle pdf, radiance). pdf 0 means no contribution (back side
    of a one-sided emitter, no emitters at all).
    """
    n_em = emitter_count(g)
    tri = -1
    b1 = 0.0
    b2 = 0.0
    d = vec3(0.0, 0.0, 1.0)
    dist = 1e30
    pdf = 0.0
    le = vec3(0.0)
    if n_em > 0:
        k = ti.min(ti.cast(u_select * n_em, ti.i32), n_em - 1)
        if k < g.counts[0]:
            tri = _pick_triangle(g, k, u_tri)
            b1, b2 = square_to_uniform_triangle(u1, u2)
            v0, v1, v2 = triangle(g, tri)
            y = (1.0 - b1 - b2) * v0 + b1 * v1 + b2 * v2
            n = (v1 - v0).cross(v2 - v0).normalized()
            to_y = y - x
            dist = to_y.norm()
            if dist > 0.0:
                d = to_y / dist
                cos_y = -n.dot(d)
                if cos_y > 0.0:
                    pdf = area_pdf(g, k) * dist * dist / cos_y
                    le = radiance(g, k)
        else:
            d = square_to_uniform_sphere(u1, u2)
            pdf = env_pdf(g)
            le = environment(g)
    return tri, b1, b2, d, dist, pdf, le
