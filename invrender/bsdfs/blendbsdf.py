"""Mitsuba's ``blendbsdf``: (1 - weight) x the first nested BSDF + weight x the second, with
``weight`` a float or texture (clipped to [0, 1], required; ``<id>.weight.value``). Its
children are ``<id>.bsdf_0`` and ``<id>.bsdf_1`` when declared inline, as Mitsuba names
them. Sampling picks a child with its weight; a smooth sample's pdf and weight are the
mixture's (as Mitsuba's), a delta one's are the chosen lobe's, scaled by the child's share.
Delta lobe l of child c is lobe 8 c + l."""

import taichi as ti

from invrender.bsdfs.base import BsdfPlugin
from invrender.shading import (
    bsdf_float,
    child_point,
    local_delta,
    local_eval,
    local_pdf,
    local_sample,
)

vec3 = ti.math.vec3
LOBES_PER_CHILD = 8


@ti.func
def weight(g: ti.template(), sp: ti.template()):
    return ti.min(ti.max(bsdf_float(g, sp, 0), 0.0), 1.0)


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    w = weight(g, sp)
    return ((1.0 - w) * local_eval(g, child_point(g, sp, 0), wo, True)
            + w * local_eval(g, child_point(g, sp, 1), wo, True))


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    w = weight(g, sp)
    return ((1.0 - w) * local_pdf(g, child_point(g, sp, 0), wo, True)
            + w * local_pdf(g, child_point(g, sp, 1), wo, True))


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    w = weight(g, sp)
    c = 1 if u0 <= w else 0
    share = ti.select(c == 1, w, 1.0 - w)
    u_child = ti.select(c == 1, u0 / ti.max(w, 1e-30), (u0 - w) / ti.max(1.0 - w, 1e-30))
    chosen = child_point(g, sp, 0)  # one call on the chosen child: its code inlined once
    chosen.bsdf = ti.select(c == 1, child_point(g, sp, 1).bsdf, chosen.bsdf)
    bs = local_sample(g, chosen, u_child, u1, u2, True)
    if bs.delta:
        bs.pdf *= share
        bs.lobe += LOBES_PER_CHILD * c
    elif bs.weight.max() > 0.0:
        bs.pdf = pdf(g, sp, bs.wo)
        bs.weight = vec3(0.0)
        if bs.pdf > 0.0:
            bs.weight = eval(g, sp, bs.wo) / bs.pdf
    return bs


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    w = weight(g, sp)
    c = ti.select(lobe >= LOBES_PER_CHILD, 1, 0)
    chosen = child_point(g, sp, 0)
    chosen.bsdf = ti.select(c == 1, child_point(g, sp, 1).bsdf, chosen.bsdf)
    wo, value = local_delta(g, chosen, lobe - LOBES_PER_CHILD * c, True)
    return wo, value * ti.select(c == 1, w, 1.0 - w)


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    bsdf.children = builder.nested_bsdfs(props, bsdf, ("bsdf_0", "bsdf_1"))
    return ()


PLUGIN = BsdfPlugin(name="blendbsdf", textures=("weight",),
                    scalars=("weight",), eval=eval, pdf=pdf, sample=sample, delta=delta,
                    lobes=0, parse=_parse, wrapper=True)
