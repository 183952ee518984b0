"""The emitter plugins, and the dispatch every kernel calls.

One emitter is chosen in proportion to its ``sampling_weight`` (uniformly by default, as
Mitsuba), then its plugin samples it.
"""

import taichi as ti

from invrender import structs
from invrender.emitters import area, constant, directional, envmap, point, spot
from invrender.emitters.base import EmitterPlugin
from invrender.emitters.selection import select
from invrender.registry import Registry

vec2 = ti.math.vec2
vec3 = ti.math.vec3

EMITTERS: Registry[EmitterPlugin] = Registry("emitter")
EMITTERS.register(area.PLUGIN)
EMITTERS.register(constant.PLUGIN)
EMITTERS.register(point.PLUGIN)
EMITTERS.register(spot.PLUGIN)
EMITTERS.register(directional.PLUGIN)
EMITTERS.register(envmap.PLUGIN)


@ti.func
def sample(g: ti.template(), x: vec3, u_select, u_tri, u1, u2):
    """Choose an emitter and a point on it as seen from x; pdf 0 means no contribution
    (the back of a one-sided emitter, no emitters at all)."""
    ls = structs.LightSample(d=vec3(0.0, 0.0, 1.0), dist=1e30, pdf=0.0, radiance=vec3(0.0), tri=-1,
                     pos=vec3(0.0), q=0.0, delta=0, emitter=-1)
    n = g.counts[1]
    if n > 0:
        e = select(g, u_select)
        code = g.em_type[e]
        for j in ti.static(range(len(g.emitters))):
            if code == j:
                ls = g.emitters[j].sample(g, e, x, u_tri, u1, u2)
    return ls


@ti.func
def _eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front, environment: ti.template()):
    """Radiance of emitter e (of a plugin of the given kind) arriving along d."""
    result = vec3(0.0)
    code = g.em_type[e]
    kinds = ti.static([j for j in range(len(g.emitters))
                       if g.emitters[j].environment == environment
                       and not g.emitters[j].delta])
    if ti.static(len(kinds) == 1):  # one plugin of the kind: no branch
        result = g.emitters[kinds[0]].eval(g, e, uv, d, cos_front)
    else:
        for j in ti.static(kinds):
            if code == j:
                result = g.emitters[j].eval(g, e, uv, d, cos_front)
    return result


@ti.func
def _pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front, environment: ti.template()):
    result = 0.0
    code = g.em_type[e]
    kinds = ti.static([j for j in range(len(g.emitters))
                       if g.emitters[j].environment == environment
                       and not g.emitters[j].delta])
    if ti.static(len(kinds) == 1):
        result = g.emitters[kinds[0]].pdf(g, e, d, dist, cos_front)
    else:
        for j in ti.static(kinds):
            if code == j:
                result = g.emitters[j].pdf(g, e, d, dist, cos_front)
    return result


@ti.func
def surface_radiance(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    """What surface emitter e emits at texture coordinates uv towards -d (cos_front: the
    cosine with its front side)."""
    return _eval(g, e, uv, d, cos_front, False)


@ti.func
def surface_pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    """Solid-angle density with which ``sample`` picks that point from dist away."""
    return _pdf(g, e, d, dist, cos_front, False)


@ti.func
def environment_radiance(g: ti.template(), d: vec3) -> vec3:
    """What an escaping ray along d receives from the environment (0 without one)."""
    result = vec3(0.0)
    if ti.static(g.environment_plugins):
        env = g.counts[2]
        if env >= 0:
            result = _eval(g, env, vec2(0.0), d, 1.0, True)
    return result


@ti.func
def environment_pdf(g: ti.template(), d: vec3):
    result = 0.0
    if ti.static(g.environment_plugins):
        env = g.counts[2]
        if env >= 0:
            result = _pdf(g, env, d, 1e30, 1.0, True)
    return result


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    d = vec3(0.0, 0.0, 1.0)
    factor = 0.0
    value = vec3(0.0)
    if ti.static(len(g.emitters) == 1):
        d, factor, value = g.emitters[0].replay(g, e, tri, pos, q, x)
    else:
        code = g.em_type[e]
        for j in ti.static(range(len(g.emitters))):
            if code == j:
                d, factor, value = g.emitters[j].replay(g, e, tri, pos, q, x)
    return d, factor, value


@ti.func
def environment(g: ti.template()) -> ti.i32:
    """The environment emitter's index, or -1 (at compile time when the configuration has
    no environment plugin)."""
    env = -1
    if ti.static(g.environment_plugins):
        env = g.counts[2]
    return env
