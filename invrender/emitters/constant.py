"""Mitsuba's ``constant`` environment emitter: the same radiance from every direction,
sampled uniformly on the sphere."""

import taichi as ti

from invrender import structs
from invrender.emitters.base import EmitterPlugin, texture_of
from invrender.emitters.selection import selection_pmf
from invrender.textures.registry import lookup
from invrender.warp import PI, square_to_uniform_sphere

vec2 = ti.math.vec2
vec3 = ti.math.vec3


@ti.func
def radiance(g: ti.template(), e: ti.i32) -> vec3:
    return lookup(g, texture_of(g, e, 0), vec2(0.0))


@ti.func
def sphere_pdf(g: ti.template(), e: ti.i32):
    return selection_pmf(g, e) / (4.0 * PI)


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    d = square_to_uniform_sphere(u1, u2)
    density = sphere_pdf(g, e)
    return structs.LightSample(d=d, dist=1e30, pdf=density, radiance=radiance(g, e), tri=-1, pos=d,
                       q=density, delta=0, emitter=e)


@ti.func
def eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    return radiance(g, e)


@ti.func
def pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    return sphere_pdf(g, e)


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    return pos, 1.0 / q, radiance(g, e)


PLUGIN = EmitterPlugin(name="constant", environment=True, textures=("radiance",),
                       defaults={"radiance": 1.0}, sample=sample, eval=eval, pdf=pdf, replay=replay)
