"""The emitter plugins, and the dispatch every kernel calls.

One emitter is chosen uniformly among all (as Mitsuba), then its plugin samples it.
"""

import taichi as ti

from invrender import structs
from invrender.emitters import area, constant
from invrender.emitters.base import EmitterPlugin
from invrender.registry import Registry

vec3 = ti.math.vec3

EMITTERS: Registry[EmitterPlugin] = Registry("emitter")
EMITTERS.register(area.PLUGIN)
EMITTERS.register(constant.PLUGIN)


@ti.func
def sample(g: ti.template(), x: vec3, u_select, u_tri, u1, u2):
    """Choose an emitter and a point on it as seen from x; pdf 0 means no contribution
    (the back of a one-sided emitter, no emitters at all)."""
    ls = structs.LightSample(d=vec3(0.0, 0.0, 1.0), dist=1e30, pdf=0.0, radiance=vec3(0.0), tri=-1,
                     pos=vec3(0.0), q=0.0, delta=0, emitter=-1)
    n = g.counts[1]
    if n > 0:
        e = ti.min(ti.cast(u_select * n, ti.i32), n - 1)
        code = g.em_type[e]
        for j in ti.static(range(len(g.emitters))):
            if code == j:
                ls = g.emitters[j].sample(g, e, x, u_tri, u1, u2)
    return ls


@ti.func
def eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    result = vec3(0.0)
    code = g.em_type[e]
    for j in ti.static(range(len(g.emitters))):
        if code == j:
            result = g.emitters[j].eval(g, e, uv, d, cos_front)
    return result


@ti.func
def pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    result = 0.0
    code = g.em_type[e]
    for j in ti.static(range(len(g.emitters))):
        if code == j:
            result = g.emitters[j].pdf(g, e, d, dist, cos_front)
    return result


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    d = vec3(0.0, 0.0, 1.0)
    factor = 0.0
    value = vec3(0.0)
    code = g.em_type[e]
    for j in ti.static(range(len(g.emitters))):
        if code == j:
            d, factor, value = g.emitters[j].replay(g, e, tri, pos, q, x)
    return d, factor, value


@ti.func
def environment(g: ti.template()) -> ti.i32:
    """The environment emitter's index, or -1."""
    return g.counts[2]
