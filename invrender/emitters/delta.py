"""What the delta lights (``point``, ``spot``, ``directional``) share: their floats, the
light sample they return, and Mitsuba's ``to_world`` / ``position`` / ``direction`` reading.

A delta light is never hit by a ray, so ``eval`` and ``pdf`` are 0 and its samples take no
MIS. The replay recomputes the direction to a light at a fixed position from the receiver,
so derivatives with respect to the receiver's geometry flow through the 1/r^2 falloff and
the spot's cone; the light's position itself is a setting, not a parameter.
"""

import numpy as np
import taichi as ti

from invrender import structs
from invrender.emitters.base import plugin_vec, texture_of
from invrender.emitters.selection import selection_pmf
from invrender.textures.registry import lookup

vec2 = ti.math.vec2
vec3 = ti.math.vec3


@ti.func
def intensity(g: ti.template(), e: ti.i32) -> vec3:
    """The light's first texture (intensity or irradiance), a constant."""
    return lookup(g, texture_of(g, e, 0), vec2(0.0))


@ti.func
def toward(g: ti.template(), e: ti.i32, x: vec3):
    """The light's position p (its first three floats), the unit direction from x to it
    and the distance."""
    p = plugin_vec(g, e, 0)
    to_p = p - x
    dist = to_p.norm()
    return p, to_p / ti.max(dist, 1e-30), dist


@ti.func
def light_sample(g: ti.template(), e: ti.i32, d: vec3, dist, radiance: vec3, pos: vec3):
    pmf = selection_pmf(g, e)
    return structs.LightSample(d=d, dist=dist, pdf=pmf, radiance=radiance, tri=-1, pos=pos,
                               q=pmf, delta=1, emitter=e)


@ti.func
def no_eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    return vec3(0.0)


@ti.func
def no_pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    return 0.0


def position(props, emitter) -> tuple[str, ...]:
    """Mitsuba's point and spot: ``position`` (a point) or the translation of
    ``to_world``; the rotation of ``to_world`` orients a spot. Not both."""
    to_world = props.transform()
    if "position" in props.named:
        if "to_world" in props.named:
            raise props.error(props.named["position"],
                              "give either 'position' or 'to_world', not both")
        to_world = np.eye(4)
        to_world[:3, 3] = props.point("position")
    emitter.settings["to_world"] = to_world
    return ("position", "to_world")


def matrix_xml(matrix) -> str:
    values = " ".join(repr(float(v)) for v in np.asarray(matrix).reshape(-1))
    return f'<transform name="to_world"><matrix value="{values}"/></transform>'
