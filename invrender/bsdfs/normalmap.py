"""Mitsuba's ``normalmap``: the nested BSDF seen in a shading frame tilted by a normal map
(``normalmap``, an RGB texture read as n = 2 rgb - 1 in the shading frame's tangent space,
whose s axis follows dp/du; load it with ``raw`` true, as Mitsuba's docs say). As Mitsuba
3.9: ``flip_invalid_normals`` (default true) mirrors a normal that faces away from the
incident direction, light must leave on the same side of both frames, and
``use_shadowing_function`` (default true) multiplies by Chiang et al.'s shadow terminator.
Parameters: ``<id>.normalmap.data`` and the child's, ``<id>.nested_bsdf.*``."""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import CHILDREN_AT, BsdfPlugin, read_int
from invrender.shading import (
    bsdf_color,
    local_delta,
    local_eval,
    local_pdf,
    local_sample,
)
from invrender.state import BSDF_INTS

vec3 = ti.math.vec3
FLIP, SHADOWING = 0, 1  # plugin ints


@ti.func
def frame(g: ti.template(), sp: ti.template()):
    """The perturbed frame (s, t, n) in the shading point's local coordinates."""
    n = 2.0 * bsdf_color(g, sp, 0) - 1.0
    if read_int(g, sp, FLIP) and sp.wi.z * sp.wi.dot(n) <= 0.0:
        n = vec3(-n.x, -n.y, n.z)
    n = n.normalized()
    s = (vec3(1.0, 0.0, 0.0) - n * n.x).normalized()
    return s, n.cross(s), n


@ti.func
def child(g: ti.template(), sp: ti.template(), s: vec3, t: vec3, n: vec3):
    """The shading point as the nested BSDF sees it: wi in the perturbed frame."""
    return structs.ShadingPoint(p=sp.p, n=sp.n, s=sp.s, t=sp.t,
                                wi=vec3(s.dot(sp.wi), t.dot(sp.wi), n.dot(sp.wi)), uv=sp.uv,
                                tri=sp.tri, bsdf=g.bsdf_ints[BSDF_INTS * sp.bsdf + CHILDREN_AT])


@ti.func
def terminator(g: ti.template(), sp: ti.template(), n: vec3, wo: vec3):
    """Chiang et al.'s shadow terminator factor (Mitsuba's eval_shadow_terminator)."""
    result = 1.0
    if read_int(g, sp, SHADOWING):
        tan2_n = (n.x * n.x + n.y * n.y) / (n.z * n.z)
        tan2_o = (wo.x * wo.x + wo.y * wo.y) / ti.max(wo.z * wo.z, 1e-30)
        alpha2 = ti.min(0.125 * tan2_n, 1.0)
        result = 2.0 / (1.0 + ti.sqrt(1.0 + alpha2 * tan2_o))
    return result


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    s, t, n = frame(g, sp)
    pwo = vec3(s.dot(wo), t.dot(wo), n.dot(wo))
    value = vec3(0.0)
    if wo.z * pwo.z > 0.0:
        value = local_eval(g, child(g, sp, s, t, n), pwo, True) * terminator(g, sp, n, wo)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    s, t, n = frame(g, sp)
    pwo = vec3(s.dot(wo), t.dot(wo), n.dot(wo))
    result = 0.0
    if wo.z * pwo.z > 0.0:
        result = local_pdf(g, child(g, sp, s, t, n), pwo, True)
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    s, t, n = frame(g, sp)
    bs = local_sample(g, child(g, sp, s, t, n), u0, u1, u2, True)
    pwo = bs.wo
    bs.wo = s * pwo.x + t * pwo.y + n * pwo.z
    if bs.wo.z * pwo.z > 0.0:
        bs.weight *= terminator(g, sp, n, bs.wo)
    else:
        bs.weight = vec3(0.0)
        bs.pdf = 0.0
    return bs


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    s, t, n = frame(g, sp)
    pwo, value = local_delta(g, child(g, sp, s, t, n), lobe, True)
    wo = s * pwo.x + t * pwo.y + n * pwo.z
    if wo.z * pwo.z > 0.0:
        value *= terminator(g, sp, n, wo)
    else:
        value = vec3(0.0)
    return wo, value


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    bsdf.children = builder.nested_bsdfs(props, bsdf, ("nested_bsdf",))
    bsdf.settings["flip_invalid_normals"] = props.boolean("flip_invalid_normals", True)
    bsdf.settings["use_shadowing_function"] = props.boolean("use_shadowing_function", True)
    return ("flip_invalid_normals", "use_shadowing_function")


def _write_xml(bsdf) -> list[str]:
    return [f'<boolean name="{name}" value="{str(bsdf.settings[name]).lower()}"/>'
            for name in ("flip_invalid_normals", "use_shadowing_function")]


PLUGIN = BsdfPlugin(name="normalmap", textures=("normalmap",), eval=eval, pdf=pdf,
                    sample=sample, delta=delta, lobes=0, parse=_parse, write_xml=_write_xml,
                    ints=lambda b: [int(b.settings["flip_invalid_normals"]),
                                    int(b.settings["use_shadowing_function"])],
                    oriented=lambda b: True, wrapper=True)
