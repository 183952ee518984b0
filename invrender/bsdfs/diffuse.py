"""Mitsuba's ``diffuse`` BSDF: Lambertian, one-sided (black from behind), cosine sampled."""

import taichi as ti

from invrender.bsdfs.base import BsdfPlugin
from invrender.shading import bsdf_texture
from invrender.textures.registry import lookup
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    value = vec3(0.0)
    if sp.wi.z > 0.0 and wo.z > 0.0:
        value = lookup(g, bsdf_texture(g, sp, 0), sp.uv) * (INV_PI * wo.z)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    result = 0.0
    if sp.wi.z > 0.0 and wo.z > 0.0:
        result = wo.z * INV_PI
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u1, u2):
    wo = square_to_cosine_hemisphere(u1, u2)
    weight = vec3(0.0)
    density = 0.0
    if sp.wi.z > 0.0 and wo.z > 0.0:
        weight = lookup(g, bsdf_texture(g, sp, 0), sp.uv)
        density = wo.z * INV_PI
    return wo, weight, density


PLUGIN = BsdfPlugin(name="diffuse", textures=("reflectance",), defaults={"reflectance": 0.5},
                    eval=eval, pdf=pdf, sample=sample)
