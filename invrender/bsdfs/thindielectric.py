"""Mitsuba's ``thindielectric``: a thin slab (a window pane) of relative IOR eta, seen the
same from both sides. Its reflectance sums the slab's inner bounces, R' = R + T^2 R /
(1 - R^2) = 2 R / (1 + R) with R the Fresnel reflectance at |cos theta_i|; what is not
reflected passes straight through (wo = -wi: the two refractions cancel). Two delta lobes,
0: reflection, 1: transmission, chosen with ``u0 <= R'``; R' + T' = 1 conserves energy.

Parameters: ``int_ior``/``ext_ior`` (numbers or names; bk7, air) into ``<id>.eta``
(differentiable, as in Mitsuba), ``specular_reflectance`` and ``specular_transmittance``
(default 1, textures)."""

import taichi as ti

from invrender import structs
from invrender.bsdfs import dielectric
from invrender.bsdfs.base import DELTA, BsdfPlugin, no_eval, no_pdf
from invrender.bsdfs.dielectric import ETA, REFLECTANCE, TRANSMITTANCE, eta_of, read_eta
from invrender.bsdfs.fresnel import fresnel, reflect
from invrender.shading import bsdf_color

vec3 = ti.math.vec3
assert (REFLECTANCE, TRANSMITTANCE, ETA) == (0, 1, 2)  # the same textures as dielectric


@ti.func
def slab_reflectance(g: ti.template(), sp: ti.template()):
    """R' = 2 R / (1 + R): the slab's reflection and its inner bounces together."""
    r, _, _, _ = fresnel(ti.abs(sp.wi.z), eta_of(g, sp))
    return r * 2.0 / (1.0 + r)


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    r = slab_reflectance(g, sp)
    wo = reflect(sp.wi)
    value = vec3(0.0)
    if lobe == 0:
        value = r * bsdf_color(g, sp, REFLECTANCE)
    else:
        wo = -sp.wi
        value = (1.0 - r) * bsdf_color(g, sp, TRANSMITTANCE)
    return wo, value


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    r = slab_reflectance(g, sp)
    bs = structs.BsdfSample(wo=reflect(sp.wi), weight=vec3(0.0), pdf=r, delta=1, lobe=0,
                            eta=1.0)
    if u0 <= r and r > 0.0:  # Mitsuba's weight: R' / R' x the tint
        bs.weight = bsdf_color(g, sp, REFLECTANCE)
    else:
        bs.wo = -sp.wi
        bs.pdf = 1.0 - r
        bs.lobe = 1
        bs.weight = bsdf_color(g, sp, TRANSMITTANCE)
    return bs


def parse(builder, props, bsdf) -> tuple[str, ...]:
    return read_eta(props, bsdf, "bk7")


PLUGIN = BsdfPlugin(name="thindielectric",
                    textures=("specular_reflectance", "specular_transmittance", "eta"),
                    defaults={"specular_reflectance": 1.0, "specular_transmittance": 1.0},
                    eval=no_eval, pdf=no_pdf, sample=sample, delta=delta,
                    lobes=DELTA, transmits=True, parse=parse, write_xml=dielectric.write_xml,
                    own_textures=("eta",))
