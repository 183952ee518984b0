"""Mitsuba's ``mask``: the nested BSDF with probability ``opacity`` (a float or texture,
clipped to [0, 1], default 0.5; ``<id>.opacity.value``), else the light passes straight
through (a null interaction: wo = -wi, a delta lobe). The child is ``<id>.nested_bsdf``
when declared inline, as Mitsuba names it. As in Mitsuba's path tracer, shadow rays stop
at masked surfaces, and a crossing counts as a path vertex; BSDF sampling through the
transparent part finds the light (with MIS weight 1, after a delta lobe)."""

import taichi as ti

from invrender.bsdfs.base import DELTA, BsdfPlugin
from invrender.shading import (
    bsdf_float,
    child_point,
    local_delta,
    local_eval,
    local_pdf,
    local_sample,
)

vec3 = ti.math.vec3
NULL_LOBE = 15  # the pass-through lobe; the child's own delta lobes keep their numbers


@ti.func
def opacity(g: ti.template(), sp: ti.template()):
    return ti.min(ti.max(bsdf_float(g, sp, 0), 0.0), 1.0)


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    return opacity(g, sp) * local_eval(g, child_point(g, sp, 0), wo, True)


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    return opacity(g, sp) * local_pdf(g, child_point(g, sp, 0), wo, True)


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    a = opacity(g, sp)
    bs = local_sample(g, child_point(g, sp, 0), u0 / ti.max(a, 1e-30), u1, u2, True)
    bs.pdf *= a
    if u0 >= a:  # through (Mitsuba: the nested BSDF where sample1 < opacity)
        bs.wo = -sp.wi
        bs.weight = vec3(1.0)
        bs.pdf = 1.0 - a
        bs.delta = 1
        bs.lobe = NULL_LOBE
        bs.eta = 1.0
    return bs


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    a = opacity(g, sp)
    wo = -sp.wi
    value = vec3(1.0 - a)
    if lobe != NULL_LOBE:
        wo, value = local_delta(g, child_point(g, sp, 0), lobe, True)
        value *= a
    return wo, value


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    bsdf.children = builder.nested_bsdfs(props, bsdf, ("nested_bsdf",))
    return ()


PLUGIN = BsdfPlugin(name="mask", textures=("opacity",), defaults={"opacity": 0.5},
                    scalars=("opacity",), eval=eval, pdf=pdf, sample=sample, delta=delta,
                    lobes=DELTA, transmits=True, parse=_parse, wrapper=True)
