"""Mitsuba's ``null``: light passes straight through (wo = -wi) unchanged, so a shape with
it is invisible (but still a path vertex, as in Mitsuba's path tracer). One delta lobe of
value 1 chosen with probability 1; no parameters."""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import DELTA, BsdfPlugin, no_eval, no_pdf

vec3 = ti.math.vec3


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    return -sp.wi, vec3(1.0)


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    return structs.BsdfSample(wo=-sp.wi, weight=vec3(1.0), pdf=1.0, delta=1, lobe=0, eta=1.0)


PLUGIN = BsdfPlugin(name="null", textures=(), eval=no_eval, pdf=no_pdf,
                    sample=sample, delta=delta, lobes=DELTA, transmits=True)
