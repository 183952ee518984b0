"""Mitsuba's ``roughconductor`` BSDF: a rough metal, Walter et al.'s microfacet reflection
F(wi.m) D(m) G(wi, wo, m) / (4 cos theta_i) times ``specular_reflectance`` (default 1), one
smooth lobe, one-sided (black when wi.z <= 0 or wo.z <= 0), as Mitsuba.

Settings: ``distribution`` (beckmann, the default, or ggx), ``sample_visible`` (default
true: sample the visible normals, the sample weight is then G1(wo)), roughness ``alpha``
(default 0.1) or ``alpha_u`` (along the local x axis) and ``alpha_v``, float-valued
textures; the complex IOR as ``conductor`` reads it (``material`` or ``eta``/``k``).
Parameters: ``specular_reflectance``, ``alpha_u``, ``alpha_v``, ``eta``, ``k``; with one
``alpha`` both alphas are one texture and the map lists it once. Anisotropic instances are
``oriented``: alpha_u follows dp/du, as in Mitsuba.
"""

import taichi as ti

from invrender.bsdfs import microfacet
from invrender.bsdfs.base import SMOOTH, BsdfPlugin, read_int
from invrender.bsdfs.conductor import read_complex_ior
from invrender.bsdfs.fresnel import fresnel_conductor, reflect_about
from invrender.shading import bsdf_color, bsdf_float, no_sample

vec3 = ti.math.vec3
SPECULAR, ALPHA_U, ALPHA_V, ETA, K = 0, 1, 2, 3, 4  # texture indices
DISTRIBUTION, VISIBLE = 0, 1  # plugin ints


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    bsdf.settings["distribution"] = microfacet.read_distribution(props)
    bsdf.settings["sample_visible"] = props.boolean("sample_visible", True)
    read = microfacet.read_roughness(builder, props, bsdf)
    return ("distribution", "sample_visible", *read, *read_complex_ior(builder, props, bsdf))


def _ints(bsdf) -> list[int]:
    return [microfacet.DISTRIBUTIONS[bsdf.settings["distribution"]],
            int(bsdf.settings["sample_visible"])]


def _write_xml(bsdf) -> list[str]:
    visible = "true" if bsdf.settings["sample_visible"] else "false"
    return [f'<string name="distribution" value="{bsdf.settings["distribution"]}"/>',
            f'<boolean name="sample_visible" value="{visible}"/>']


@ti.func
def _fresnel(g: ti.template(), sp: ti.template(), cos_theta) -> vec3:
    """F(cos_theta) x specular_reflectance."""
    return bsdf_color(g, sp, SPECULAR) * fresnel_conductor(
        cos_theta, bsdf_color(g, sp, ETA), bsdf_color(g, sp, K))


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    wi = sp.wi
    result = vec3(0.0)
    if wi.z > 0.0 and wo.z > 0.0:
        h = (wi + wo).normalized()
        kind = read_int(g, sp, DISTRIBUTION)
        au = bsdf_float(g, sp, ALPHA_U)
        av = bsdf_float(g, sp, ALPHA_V)
        d = microfacet.eval(kind, au, av, h)
        if d != 0.0:
            value = d * microfacet.G(kind, au, av, wi, wo, h) / (4.0 * wi.z)
            result = _fresnel(g, sp, wi.dot(h)) * value
    return result


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    wi = sp.wi
    result = 0.0
    if wi.z > 0.0 and wo.z > 0.0:
        h = (wi + wo).normalized()
        if wi.dot(h) > 0.0 and wo.dot(h) > 0.0:
            kind = read_int(g, sp, DISTRIBUTION)
            au = bsdf_float(g, sp, ALPHA_U)
            av = bsdf_float(g, sp, ALPHA_V)
            result = microfacet.reflection_pdf(kind, au, av, read_int(g, sp, VISIBLE), wi, h,
                                               wo)
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    wi = sp.wi
    bs = no_sample()
    if wi.z > 0.0:
        kind = read_int(g, sp, DISTRIBUTION)
        visible = read_int(g, sp, VISIBLE)
        au = bsdf_float(g, sp, ALPHA_U)
        av = bsdf_float(g, sp, ALPHA_V)
        m, density = microfacet.sample(kind, au, av, visible, wi, u1, u2)
        wo = reflect_about(wi, m)
        bs.wo = wo
        if density != 0.0 and wo.z > 0.0:
            weight = 0.0
            if visible:
                weight = microfacet.smith_g1(kind, au, av, wo, m)
            else:
                weight = microfacet.G(kind, au, av, wi, wo, m) * wi.dot(m) / (wi.z * m.z)
            bs.pdf = density / (4.0 * wo.dot(m))
            bs.weight = _fresnel(g, sp, wi.dot(m)) * weight
    return bs


PLUGIN = BsdfPlugin(name="roughconductor",
                    textures=("specular_reflectance", "alpha_u", "alpha_v", "eta", "k"),
                    defaults={"specular_reflectance": 1.0, "alpha_u": 0.1, "alpha_v": 0.1,
                              "eta": 0.0, "k": 1.0},
                    eval=eval, pdf=pdf, sample=sample, lobes=SMOOTH,
                    scalars=("alpha_u", "alpha_v"), parse=_parse, ints=_ints,
                    write_xml=_write_xml,
                    oriented=lambda b: not microfacet.roughness_is_isotropic(b),
                    names=microfacet.roughness_names)
