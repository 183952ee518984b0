"""Mitsuba's ``roughdielectric``: a rough interface between two indices of refraction
(Walter et al. 2007), two smooth lobes about a microfacet normal m, lobe 0 reflection
F D G / (4 |cos theta_i|) x ``specular_reflectance`` and lobe 1 refraction

    |(1 - F) D G (wi.m)(wo.m) / (cos theta_i (wi.m + eta wo.m)^2)| x specular_transmittance

with m the generalised half vector normalize(wi + eta wo) turned to the upper side and eta
the relative IOR of the side wi is on (eta, or 1 / eta from inside): the BTDF's eta^2 and
the radiance factor 1 / eta^2 of Mitsuba's radiance transport cancel. Two-sided by nature:
wi.z < 0 arrives from inside and samples the distribution as seen from -wi.

``sample`` draws m as Mitsuba (visible normals of the distribution at sign(cos theta_i) wi,
or all normals with Walter's alpha scale 1.2 - 0.2 sqrt|cos theta_i| when
``sample_visible`` is false), then reflects if ``u0 <= F(wi.m)`` and refracts otherwise,
with pdf D_vis(m) F (or 1 - F) times the half-vector Jacobian; a refracted sample's
``eta`` is eta_it (Mitsuba's bs.eta) and its weight G1(wo) eta_ti^2 x the tint. Without
visible normals Mitsuba's weight leaves out D(m) / D_scaled(m) (it is eval / pdf only
unscaled); here it is eval / pdf, as the replay assumes, so those weights differ from
Mitsuba's by that ratio (0.7-1.4 at alpha 0.5) while directions, pdfs and lobes agree.

Settings: ``distribution`` (beckmann, the default, or ggx), ``sample_visible`` (default
true), roughness ``alpha`` (default 0.1) or ``alpha_u``/``alpha_v``, float-valued textures
(``microfacet.read_roughness``), ``int_ior``/``ext_ior`` (bk7 inside, air outside; their
ratio must not be 1, as Mitsuba). Parameters, in Mitsuba's traverse order: ``<id>.eta``,
``alpha`` (one texture in both alpha slots) or ``alpha_u`` and ``alpha_v``,
``specular_reflectance``, ``specular_transmittance`` (default 1). Anisotropic instances are
``oriented``.
"""

import taichi as ti

from invrender.bsdfs import microfacet
from invrender.bsdfs.base import SMOOTH, BsdfPlugin, read_int
from invrender.bsdfs.dielectric import read_eta
from invrender.bsdfs.fresnel import fresnel, reflect_about, refract_about
from invrender.shading import bsdf_color, bsdf_float, bsdf_texture, no_sample
from invrender.textures import scalar

vec3 = ti.math.vec3
ETA, ALPHA_U, ALPHA_V, REFLECTANCE, TRANSMITTANCE = 0, 1, 2, 3, 4  # texture indices
DISTRIBUTION, VISIBLE = 0, 1  # plugin ints


@ti.func
def _eta(g: ti.template(), sp: ti.template()):
    return scalar.value(g, bsdf_texture(g, sp, ETA))


@ti.func
def _alphas(g: ti.template(), sp: ti.template()):
    return bsdf_float(g, sp, ALPHA_U), bsdf_float(g, sp, ALPHA_V)


@ti.func
def _sampling_alphas(au, av, visible: ti.i32, cos_theta_i):
    """The alphas ``sample`` draws normals with: Walter's scale without visible normals
    (applied to the clamped alphas, as Mitsuba's scale_alpha after its constructor)."""
    scale = 1.0
    if not visible:
        scale = 1.2 - 0.2 * ti.sqrt(ti.abs(cos_theta_i))
    return (ti.max(au, microfacet.ALPHA_MIN) * scale,
            ti.max(av, microfacet.ALPHA_MIN) * scale)


@ti.func
def _half_vector(wi: vec3, wo: vec3, reflected: ti.i32, eta_rel) -> vec3:
    """Mitsuba's generalised half vector, on the side of the normal."""
    m = (wi + wo * ti.select(reflected, 1.0, eta_rel)).normalized()
    if m.z < 0.0:
        m = -m
    return m


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    wi = sp.wi
    cos_i = wi.z
    value = vec3(0.0)
    if cos_i != 0.0:
        eta = _eta(g, sp)
        reflected = cos_i * wo.z > 0.0
        eta_rel = ti.select(cos_i > 0.0, eta, 1.0 / eta)
        m = _half_vector(wi, wo, reflected, eta_rel)
        kind = read_int(g, sp, DISTRIBUTION)
        au, av = _alphas(g, sp)
        d = microfacet.eval(kind, au, av, m)
        if d != 0.0:
            dot_i = wi.dot(m)
            dot_o = wo.dot(m)
            f, _, _, _ = fresnel(dot_i, eta)
            dg = d * microfacet.G(kind, au, av, wi, wo, m)
            if reflected:
                value = (f * dg / (4.0 * ti.abs(cos_i))) * bsdf_color(g, sp, REFLECTANCE)
            else:
                denom = dot_i + eta_rel * dot_o
                value = ti.abs((1.0 - f) * dg * dot_i * dot_o / (cos_i * denom * denom)) \
                    * bsdf_color(g, sp, TRANSMITTANCE)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    wi = sp.wi
    cos_i = wi.z
    result = 0.0
    if cos_i != 0.0:
        eta = _eta(g, sp)
        reflected = cos_i * wo.z > 0.0
        eta_rel = ti.select(cos_i > 0.0, eta, 1.0 / eta)
        m = _half_vector(wi, wo, reflected, eta_rel)
        dot_i = wi.dot(m)
        dot_o = wo.dot(m)
        # the sides smith_g1 makes eval agree on
        if dot_i * cos_i > 0.0 and dot_o * wo.z > 0.0:
            jacobian = 0.0
            if reflected:
                jacobian = 1.0 / (4.0 * dot_o)
            else:
                denom = dot_i + eta_rel * dot_o
                jacobian = eta_rel * eta_rel * dot_o / (denom * denom)
            kind = read_int(g, sp, DISTRIBUTION)
            visible = read_int(g, sp, VISIBLE)
            au, av = _alphas(g, sp)
            su, sv = _sampling_alphas(au, av, visible, cos_i)
            wi_up = wi * ti.select(cos_i < 0.0, -1.0, 1.0)
            f, _, _, _ = fresnel(dot_i, eta)
            result = (microfacet.pdf(kind, su, sv, visible, wi_up, m)
                      * ti.select(reflected, f, 1.0 - f) * ti.abs(jacobian))
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    wi = sp.wi
    cos_i = wi.z
    bs = no_sample()
    if cos_i != 0.0:
        kind = read_int(g, sp, DISTRIBUTION)
        visible = read_int(g, sp, VISIBLE)
        au, av = _alphas(g, sp)
        su, sv = _sampling_alphas(au, av, visible, cos_i)
        m, density = microfacet.sample(kind, su, sv, visible,
                                       wi * ti.select(cos_i < 0.0, -1.0, 1.0), u1, u2)
        if density != 0.0:
            dot_i = wi.dot(m)
            f, cos_t, eta_it, eta_ti = fresnel(dot_i, _eta(g, sp))
            weight = vec3(0.0)
            jacobian = 0.0
            if u0 <= f:
                bs.wo = reflect_about(wi, m)
                bs.pdf = density * f
                weight = bsdf_color(g, sp, REFLECTANCE)
                jacobian = 1.0 / (4.0 * bs.wo.dot(m))
            else:
                bs.wo = refract_about(wi, m, cos_t, eta_ti)
                bs.pdf = density * (1.0 - f)
                bs.lobe = 1
                bs.eta = eta_it
                weight = (eta_ti * eta_ti) * bsdf_color(g, sp, TRANSMITTANCE)
                dot_o = bs.wo.dot(m)
                denom = dot_i + eta_it * dot_o
                jacobian = eta_it * eta_it * dot_o / (denom * denom)
            bs.pdf *= ti.abs(jacobian)
            if visible:
                bs.weight = weight * microfacet.smith_g1(kind, au, av, bs.wo, m)
            else:  # G (wi.m) / (cos theta_i cos theta_m) x D(m) / D_scaled(m)
                bs.weight = weight * (microfacet.G(kind, au, av, wi, bs.wo, m) * dot_i
                                      * microfacet.eval(kind, au, av, m) / (cos_i * density))
    return bs


# --- host side ---------------------------------------------------------------------------

def _parse(builder, props, bsdf) -> tuple[str, ...]:
    read = read_eta(props, bsdf, "bk7")
    if float(bsdf.textures["eta"].value[0]) == 1.0:
        named = props.named
        raise props.error(named.get("int_ior", named.get("ext_ior", props.owner)),
                          "the interior and exterior indices of refraction must differ",
                          hint="int_ior = ext_ior makes the interface invisible")
    bsdf.settings["distribution"] = microfacet.read_distribution(props)
    bsdf.settings["sample_visible"] = props.boolean("sample_visible", True)
    return ("distribution", "sample_visible", *read,
            *microfacet.read_roughness(builder, props, bsdf))


def _ints(bsdf) -> list[int]:
    return [microfacet.DISTRIBUTIONS[bsdf.settings["distribution"]],
            int(bsdf.settings["sample_visible"])]


def _write_xml(bsdf) -> list[str]:
    eta = float(bsdf.textures["eta"].value[0])
    visible = "true" if bsdf.settings["sample_visible"] else "false"
    return [f'<string name="distribution" value="{bsdf.settings["distribution"]}"/>',
            f'<boolean name="sample_visible" value="{visible}"/>',
            f'<float name="int_ior" value="{eta!r}"/>', '<float name="ext_ior" value="1.0"/>']


PLUGIN = BsdfPlugin(name="roughdielectric",
                    textures=("eta", "alpha_u", "alpha_v", "specular_reflectance",
                              "specular_transmittance"),
                    defaults={"alpha_u": 0.1, "alpha_v": 0.1, "specular_reflectance": 1.0,
                              "specular_transmittance": 1.0},
                    eval=eval, pdf=pdf, sample=sample, lobes=SMOOTH, transmits=True,
                    scalars=("alpha_u", "alpha_v"), parse=_parse, ints=_ints,
                    write_xml=_write_xml, own_textures=("eta",),
                    names=microfacet.roughness_names,
                    oriented=lambda b: not microfacet.roughness_is_isotropic(b))
