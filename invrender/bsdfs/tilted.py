"""A nested BSDF seen in a tilted shading frame: what ``normalmap`` and ``bumpmap`` share.
Each gives its frame (``frame(g, sp) -> (s, t, n)`` in the shading point's local coordinates)
and gets the four BSDF functions, as Mitsuba 3.9 writes them for both: light must leave on
the same side of both frames, and ``use_shadowing_function`` multiplies by Chiang et al.'s
shadow terminator. Their plugin ints: FLIP (flip_invalid_normals), SHADOWING; their child
is ``<id>.nested_bsdf``."""

import taichi as ti

from invrender.bsdfs.base import CHILDREN_AT, read_int
from invrender.shading import local_delta, local_eval, local_pdf, local_sample, seen_by
from invrender.state import BSDF_INTS

vec3 = ti.math.vec3
FLIP, SHADOWING = 0, 1  # plugin ints


@ti.func
def flipped_if_invalid(g: ti.template(), sp: ti.template(), n: vec3) -> vec3:
    """A tilted normal facing away from the incident direction, mirrored about the shading
    normal (Mitsuba's ``flip_invalid_normals``, default true)."""
    result = n
    if read_int(g, sp, FLIP) and sp.wi.z * sp.wi.dot(n) <= 0.0:
        result = vec3(-n.x, -n.y, n.z)
    return result


@ti.func
def frame_around(n: vec3):
    """(s, t, n) with s the local x axis made orthogonal to the unit normal n."""
    s = (vec3(1.0, 0.0, 0.0) - n * n.x).normalized()
    return s, n.cross(s), n


@ti.func
def child(g: ti.template(), sp: ti.template(), s: vec3, t: vec3, n: vec3):
    """The shading point as the nested BSDF sees it: wi in the tilted frame."""
    return seen_by(sp, g.bsdf_ints[BSDF_INTS * sp.bsdf + CHILDREN_AT],
                   vec3(s.dot(sp.wi), t.dot(sp.wi), n.dot(sp.wi)))


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


def functions(frame):
    """(eval, pdf, sample, delta) of the nested BSDF in the frame ``frame`` gives."""

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

    return eval, pdf, sample, delta


def parse(builder, props, bsdf) -> tuple[str, ...]:
    """The child and the two switches."""
    bsdf.children = builder.nested_bsdfs(props, bsdf, ("nested_bsdf",))
    bsdf.settings["flip_invalid_normals"] = props.boolean("flip_invalid_normals", True)
    bsdf.settings["use_shadowing_function"] = props.boolean("use_shadowing_function", True)
    return ("flip_invalid_normals", "use_shadowing_function")


def write_xml(bsdf) -> list[str]:
    return [f'<boolean name="{name}" value="{str(bsdf.settings[name]).lower()}"/>'
            for name in ("flip_invalid_normals", "use_shadowing_function")]


def ints(bsdf) -> list[int]:
    return [int(bsdf.settings["flip_invalid_normals"]),
            int(bsdf.settings["use_shadowing_function"])]
