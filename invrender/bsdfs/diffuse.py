"""Mitsuba's ``diffuse`` BSDF: Lambertian, one-sided (black from behind), cosine sampled."""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import BsdfPlugin
from invrender.shading import bsdf_color
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    value = vec3(0.0)
    if sp.wi.z > 0.0 and wo.z > 0.0:
        value = bsdf_color(g, sp, 0) * (INV_PI * wo.z)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    result = 0.0
    if sp.wi.z > 0.0 and wo.z > 0.0:
        result = wo.z * INV_PI
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    bs = structs.BsdfSample(wo=square_to_cosine_hemisphere(u1, u2), weight=vec3(0.0), pdf=0.0,
                            delta=0, lobe=0, eta=1.0)
    if sp.wi.z > 0.0 and bs.wo.z > 0.0:
        bs.weight = bsdf_color(g, sp, 0)
        bs.pdf = bs.wo.z * INV_PI
    return bs


PLUGIN = BsdfPlugin(name="diffuse", textures=("reflectance",), defaults={"reflectance": 0.5},
                    eval=eval, pdf=pdf, sample=sample)
