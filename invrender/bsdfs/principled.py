"""Mitsuba's ``principled`` BSDF (Burley's Disney BRDF extended to a BSDF): one GGX
microfacet interface for the main specular reflection and the rough specular transmission,
over a diffuse base with retro-reflection, Hanrahan-Krueger's fake subsurface (``flatness``)
and sheen, under a GTR1 clearcoat. All lobes are smooth; it is defined from both sides
(from behind only the microfacet reflection and transmission, with the plain dielectric
Fresnel term), so it ``transmits``.

Parameters, in Mitsuba's traverse order and with its defaults, each a float or a texture:
``clearcoat`` 0, ``clearcoat_gloss`` 0, ``metallic`` 0, the IOR as either ``specular``
(0.5; eta = 2 / (1 - sqrt(0.08 specular)) - 1, computed in the kernel so derivatives are
with respect to it) or ``eta`` (plain floats ``<id>.specular`` / ``<id>.eta``; giving both is
an error), ``roughness`` 0.5, ``base_color`` 0.5 (RGB), ``anisotropic`` 0, ``spec_tint`` 0,
``sheen`` 0, ``sheen_tint`` 0, ``spec_trans`` 0, ``flatness`` 0. Settings:
``main_specular_sampling_rate``, ``clearcoat_sampling_rate`` and
``diffuse_reflectance_sampling_rate`` (default 1) weight the lobe choice.

``sample`` picks diffuse, clearcoat, transmission or reflection with probabilities computed
at the shading point (u0 < p as Mitsuba), the direction from the cosine hemisphere, GTR1 or
GGX's visible normals, and weighs it eval / pdf as Mitsuba does. Mitsuba's shortcuts for
parameters left out are exact zeros here, except that it has no transmission lobe at all
when ``spec_trans`` is absent or the float 0 (then from behind the pdf is the reflection's
alone, and eta = 1 or specular = 0 are not moved to 1.001 / 1e-3). Anisotropic instances
(``anisotropic`` given and not the float 0) are ``oriented``: alpha_x follows dp/du.
"""

import taichi as ti

from invrender.bsdfs import microfacet
from invrender.bsdfs import principled_lobes as lobes
from invrender.bsdfs.base import SMOOTH, BsdfPlugin, read_float, read_int
from invrender.bsdfs.fresnel import fresnel, reflect_about, refract_about
from invrender.shading import bsdf_color, bsdf_float, bsdf_texture, no_sample
from invrender.textures import scalar
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907
TEXTURES = ("clearcoat", "clearcoat_gloss", "metallic", "specular", "eta", "roughness",
            "base_color", "anisotropic", "spec_tint", "sheen", "sheen_tint", "spec_trans",
            "flatness")
(CLEARCOAT, CLEARCOAT_GLOSS, METALLIC, SPECULAR, ETA, ROUGHNESS, BASE_COLOR, ANISOTROPIC,
 SPEC_TINT, SHEEN, SHEEN_TINT, SPEC_TRANS, FLATNESS) = range(len(TEXTURES))
HAS_SPEC_TRANS, ETA_GIVEN = 0, 1  # plugin ints
SPEC_RATE, CLEARCOAT_RATE, DIFFUSE_RATE = 0, 1, 2  # plugin floats
RATES = ("main_specular_sampling_rate", "clearcoat_sampling_rate",
         "diffuse_reflectance_sampling_rate")
DEFAULTS = {"clearcoat": 0.0, "clearcoat_gloss": 0.0, "metallic": 0.0, "roughness": 0.5,
            "base_color": 0.5, "anisotropic": 0.0, "spec_tint": 0.0, "sheen": 0.0,
            "sheen_tint": 0.0, "spec_trans": 0.0, "flatness": 0.0}


# --- host side -------------------------------------------------------------------------------

class _Textures(dict):
    """A principled instance's textures. Of the ``specular`` and ``eta`` slots only the given
    one is a parameter (Mitsuba's traverse lists one); the other reads as the ``metallic``
    texture, listed before it, so the parameter map skips it as already seen, and it is no
    entry of its own, so the writer does not write it. The kernel reads the slot
    ``ETA_GIVEN`` names."""

    def __init__(self, textures: dict, hidden: str):
        super().__init__(textures)
        self.hidden = hidden

    def __contains__(self, name) -> bool:
        return name == self.hidden or super().__contains__(name)

    def __missing__(self, name):
        if name == self.hidden:
            return self["metallic"]
        raise KeyError(name)


def _is_zero_float(texture) -> bool:
    """Absent or a ``<float>`` 0: what Mitsuba's get_flag reads as the lobe being off."""
    return texture.type == "uniform" and float(texture.value[0]) == 0.0


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    named = props.named
    if "eta" in named and "specular" in named:
        raise props.error(named["specular"], "principled takes either 'eta' or 'specular', "
                          "not both", hint="specular s means eta = 2 / (1 - sqrt(0.08 s)) - 1")
    for name in RATES:
        rate = props.float(name, 1.0)
        if rate < 0.0:
            raise props.error(named[name], f"'{name}' must not be negative, got {rate!r}")
        bsdf.settings[name] = rate
    # textures the IOR's adjustment and the hidden slot read (the loader adds the others)
    for name in ("spec_trans", "metallic"):
        bsdf.textures[name] = builder.scalar_texture(props, name, DEFAULTS[name])
    transmits = not _is_zero_float(bsdf.textures["spec_trans"])
    if "eta" in named:
        eta = props.float("eta")
        if not eta > 0.0:
            raise props.error(named["eta"], f"principled 'eta' must be positive, got {eta!r}",
                              hint="eta is the interior over the exterior IOR, e.g. 1.5")
        if transmits and eta == 1.0:  # Mitsuba: no plausible transmission at eta = 1
            eta = 1.001
        bsdf.textures["eta"] = scalar.make(eta)
        hidden = "specular"
    else:
        specular = props.float("specular", 0.5)
        if not 0.0 <= specular < 12.5:
            raise props.error(named["specular"], f"principled 'specular' must be in "
                              f"[0, 12.5), got {specular!r}",
                              hint="0.5 (eta 1.5) is common; it gives eta from 1 upwards")
        if transmits and specular == 0.0:
            specular = 1e-3
        bsdf.textures["specular"] = scalar.make(specular)
        hidden = "eta"
    bsdf.settings["eta_given"] = hidden == "specular"
    bsdf.textures = _Textures(bsdf.textures, hidden)
    return ("eta", "specular", *RATES)


def _ints(bsdf) -> list[int]:
    return [int(not _is_zero_float(bsdf.textures["spec_trans"])),
            int(bsdf.settings["eta_given"])]


def _floats(bsdf) -> list[float]:
    return [bsdf.settings[name] for name in RATES]


def _write_xml(bsdf) -> list[str]:
    return [f'<float name="{name}" value="{bsdf.settings[name]!r}"/>' for name in RATES
            if bsdf.settings[name] != 1.0]


def _oriented(bsdf) -> bool:
    return not _is_zero_float(bsdf.textures["anisotropic"])


# --- kernels ---------------------------------------------------------------------------------

@ti.func
def _has_spec_trans(g: ti.template(), sp: ti.template(), spec_trans):
    """Whether the transmission lobe exists: as loaded, or since spec_trans was set (as
    Mitsuba's parameters_changed turns it on)."""
    return (read_int(g, sp, HAS_SPEC_TRANS) != 0) | (spec_trans != 0.0)


@ti.func
def _eta(g: ti.template(), sp: ti.template(), has_spec_trans):
    """The relative IOR (inside over outside), from ``eta`` or from ``specular``."""
    eta = 1.0
    if read_int(g, sp, ETA_GIVEN):
        eta = scalar.value(g, bsdf_texture(g, sp, ETA))
        if has_spec_trans and eta == 1.0:
            eta = 1.001
    else:
        specular = scalar.value(g, bsdf_texture(g, sp, SPECULAR))
        if has_spec_trans and specular == 0.0:
            specular = 1e-3
        eta = 2.0 / (1.0 - ti.sqrt(0.08 * specular)) - 1.0
    return eta


@ti.func
def _lobe_probabilities(g: ti.template(), sp: ti.template(), front, has_spec_trans, f, brdf,
                        bsdf, clearcoat):
    """Mitsuba's choice of (reflection, transmission, clearcoat, diffuse), normalised: from
    the front the main specular lobes share the main rate (split by the Fresnel term F of
    the microfacet), the clearcoat has a quarter of its weight; from behind reflection and
    transmission by F alone."""
    spec_rate = read_float(g, sp, SPEC_RATE)
    prob_reflect = f
    prob_trans = 0.0
    prob_clearcoat = 0.0
    prob_diffuse = 0.0
    if front:
        prob_reflect = spec_rate * (1.0 - bsdf * (1.0 - f))
        prob_clearcoat = 0.25 * clearcoat * read_float(g, sp, CLEARCOAT_RATE)
        prob_diffuse = brdf * read_float(g, sp, DIFFUSE_RATE)
        if has_spec_trans:
            prob_trans = spec_rate * bsdf * (1.0 - f)
    elif has_spec_trans:
        prob_trans = 1.0 - f
    total = prob_reflect + prob_trans + prob_clearcoat + prob_diffuse
    if total != 0.0:  # (Mitsuba divides by 0 here: NaN, nothing sampled)
        inv = 1.0 / total
        prob_reflect *= inv
        prob_trans *= inv
        prob_clearcoat *= inv
        prob_diffuse *= inv
    return prob_reflect, prob_trans, prob_clearcoat, prob_diffuse


@ti.func
def _inputs(g: ti.template(), sp: ti.template()):
    """The textures both eval and pdf read (metallic, spec_trans, clearcoat, roughness,
    anisotropic, clearcoat_gloss): looked up once per call site, since every lookup inlines
    the dispatch over the scene's texture types (compile time)."""
    return (bsdf_float(g, sp, METALLIC), bsdf_float(g, sp, SPEC_TRANS),
            bsdf_float(g, sp, CLEARCOAT), bsdf_float(g, sp, ROUGHNESS),
            bsdf_float(g, sp, ANISOTROPIC), bsdf_float(g, sp, CLEARCOAT_GLOSS))


@ti.func
def _eval_pdf(g: ti.template(), sp: ti.template(), wo: vec3, inputs: ti.template(),
              want_value: ti.template(), want_pdf: ti.template()):
    """(value x |cos theta_o|, pdf) at wo, as Mitsuba's eval and pdf: the half vector of
    reflection or refraction, turned outwards, serves every lobe."""
    wi = sp.wi
    value = vec3(0.0)
    density = 0.0
    cos_i = wi.z
    cos_o = wo.z
    if cos_i != 0.0:
        metallic, spec_trans, clearcoat, roughness, anisotropic, gloss = inputs
        has_spec_trans = _has_spec_trans(g, sp, spec_trans)
        eta = _eta(g, sp, has_spec_trans)
        brdf = (1.0 - metallic) * (1.0 - spec_trans)
        bsdf = (1.0 - metallic) * spec_trans
        front = cos_i > 0.0
        reflect = cos_i * cos_o > 0.0
        refract = cos_i * cos_o < 0.0
        eta_path = ti.select(front, eta, 1.0 / eta)
        ax, ay = lobes.distribution_alphas(anisotropic, roughness)
        wh = (wi + wo * ti.select(reflect, 1.0, eta_path)).normalized()
        if wh.z < 0.0:
            wh = -wh
        dot_wi_h = wi.dot(wh)
        dot_wo_h = wo.dot(wh)
        f, _, _, _ = fresnel(dot_wi_h, eta)
        reflect_ok = reflect and lobes.mac_mic_compatible(wh, wi, wo, cos_i, True)
        refract_ok = refract and lobes.mac_mic_compatible(wh, wi, wo, cos_i, False)
        if ti.static(want_value):
            base_color = bsdf_color(g, sp, BASE_COLOR)
            lum = lobes.luminance(base_color)
            d = microfacet.eval(microfacet.GGX, ax, ay, wh)
            gg = microfacet.G(microfacet.GGX, ax, ay, wi, wo, wh)
            if reflect_ok and f > 0.0:  # main specular reflection
                f_principled = lobes.principled_fresnel(
                    f, metallic, bsdf_float(g, sp, SPEC_TINT), base_color, lum, dot_wi_h,
                    front, bsdf, eta)
                value += f_principled * (d * gg / (4.0 * ti.abs(cos_i)))
            if has_spec_trans and bsdf > 0.0 and refract_ok and f < 1.0:  # transmission
                inv_eta_path = ti.select(front, 1.0 / eta, eta)
                denom = dot_wi_h + eta_path * dot_wo_h
                scale = inv_eta_path * inv_eta_path  # radiance: solid angle compression
                value += lobes.sqrt3(base_color) * (bsdf * ti.abs(
                    scale * (1.0 - f) * d * gg * eta_path * eta_path * dot_wi_h * dot_wo_h
                    / (cos_i * denom * denom)))
            if clearcoat > 0.0 and reflect_ok and front:  # clearcoat
                fcc = lobes.calc_schlick(0.04, dot_wi_h, eta)
                dcc = lobes.gtr1_eval(lobes.clearcoat_alpha(gloss), wh)
                gcc = lobes.smith_ggx1(wi, wh, 0.25) * lobes.smith_ggx1(wo, wh, 0.25)
                value += vec3((clearcoat * 0.25) * fcc * dcc * gcc * ti.abs(cos_o))
            if reflect and front:
                fo = lobes.schlick_weight(ti.abs(cos_o))
                fi = lobes.schlick_weight(ti.abs(cos_i))
                cos_d = wh.dot(wo)
                if brdf > 0.0:  # diffuse, retro-reflection, fake subsurface
                    f_diff = (1.0 - 0.5 * fi) * (1.0 - 0.5 * fo)
                    rr = 2.0 * roughness * cos_d * cos_d
                    f_retro = rr * (fo + fi + fo * fi * (rr - 1.0))
                    fss90 = rr / 2.0
                    fss = (1.0 + (fss90 - 1.0) * fo) * (1.0 + (fss90 - 1.0) * fi)
                    f_ss = 1.25 * (fss * (1.0 / (ti.abs(cos_o) + ti.abs(cos_i)) - 0.5) + 0.5)
                    flatness = bsdf_float(g, sp, FLATNESS)
                    lobe = f_diff + f_retro
                    lobe += (f_ss - lobe) * flatness
                    value += base_color * (brdf * ti.abs(cos_o) * INV_PI * lobe)
                sheen = bsdf_float(g, sp, SHEEN)
                # vectorised Mitsuba adds the sheen even where brdf = 0 (spec_trans = 1);
                # its scalar variant only inside the diffuse block
                if sheen > 0.0 and 1.0 - metallic > 0.0:
                    c_tint = vec3(1.0)
                    if lum > 0.0:
                        c_tint = base_color / lum
                    c_sheen = 1.0 + (c_tint - 1.0) * bsdf_float(g, sp, SHEEN_TINT)
                    fd = lobes.schlick_weight(ti.abs(cos_d))
                    value += c_sheen * (sheen * (1.0 - metallic) * fd * ti.abs(cos_o))
        if ti.static(want_pdf):
            prob_reflect, prob_trans, prob_clearcoat, prob_diffuse = _lobe_probabilities(
                g, sp, front, has_spec_trans, f, brdf, bsdf, clearcoat)
            wi_side = ti.select(front, 1.0, -1.0) * wi
            if reflect_ok:
                dwh_dwo = ti.abs(1.0 / (4.0 * dot_wo_h))
                density += prob_reflect * microfacet.pdf(microfacet.GGX, ax, ay, 1, wi_side,
                                                         wh) * dwh_dwo
                density += prob_clearcoat * lobes.gtr1_pdf(lobes.clearcoat_alpha(gloss),
                                                           wh) * dwh_dwo
            if reflect:
                density += prob_diffuse * INV_PI * cos_o
            if has_spec_trans and refract_ok:
                denom = dot_wi_h + eta_path * dot_wo_h
                dwh_dwo = ti.abs(eta_path * eta_path * dot_wo_h / (denom * denom))
                density += prob_trans * microfacet.pdf(microfacet.GGX, ax, ay, 1, wi_side,
                                                       wh) * dwh_dwo
    return value, density


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    value, _ = _eval_pdf(g, sp, wo, _inputs(g, sp), True, False)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    _, density = _eval_pdf(g, sp, wo, _inputs(g, sp), False, True)
    return density


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    """Lobe 0 diffuse (cosine hemisphere), 1 clearcoat (GTR1 normal), 2 transmission and
    3 reflection (GGX visible normal), as Mitsuba's sampled_component."""
    wi = sp.wi
    cos_i = wi.z
    bs = no_sample()
    if cos_i != 0.0:
        inputs = _inputs(g, sp)
        metallic, spec_trans, clearcoat, roughness, anisotropic, gloss = inputs
        has_spec_trans = _has_spec_trans(g, sp, spec_trans)
        eta = _eta(g, sp, has_spec_trans)
        brdf = (1.0 - metallic) * (1.0 - spec_trans)
        bsdf = (1.0 - metallic) * spec_trans
        front = cos_i > 0.0
        if front or bsdf > 0.0:  # from behind only with a transmission lobe
            ax, ay = lobes.distribution_alphas(anisotropic, roughness)
            wi_side = ti.select(front, 1.0, -1.0) * wi
            m, _ = microfacet.sample(microfacet.GGX, ax, ay, 1, wi_side, u1, u2)
            f, cos_t, eta_it, eta_ti = fresnel(wi.dot(m), eta)
            _, prob_trans, prob_clearcoat, prob_diffuse = _lobe_probabilities(
                g, sp, front, has_spec_trans, f, brdf, bsdf, clearcoat)
            wo = vec3(0.0, 0.0, 1.0)
            ok = False
            lobe = 3
            eta_sample = 1.0
            if u0 < prob_diffuse:
                wo = square_to_cosine_hemisphere(u1, u2)
                ok = cos_i * wo.z > 0.0
                lobe = 0
            elif u0 < prob_diffuse + prob_clearcoat:
                m_cc = lobes.gtr1_sample(lobes.clearcoat_alpha(gloss), u1, u2)
                wo = reflect_about(wi, m_cc)
                ok = cos_i * wo.z > 0.0 and lobes.mac_mic_compatible(m_cc, wi, wo, cos_i, True)
                lobe = 1
            elif u0 < prob_diffuse + prob_clearcoat + prob_trans:
                wo = refract_about(wi, m, cos_t, eta_ti)
                ok = cos_i * wo.z < 0.0 and lobes.mac_mic_compatible(m, wi, wo, cos_i, False)
                lobe = 2
                eta_sample = eta_it
            else:
                wo = reflect_about(wi, m)
                ok = cos_i * wo.z > 0.0 and lobes.mac_mic_compatible(m, wi, wo, cos_i, True)
            bs.wo = wo
            bs.lobe = lobe
            bs.eta = eta_sample
            if ok:
                value, density = _eval_pdf(g, sp, wo, inputs, True, True)
                if density > 0.0:
                    bs.pdf = density
                    bs.weight = value / density
    return bs


PLUGIN = BsdfPlugin(name="principled", textures=TEXTURES, defaults=DEFAULTS, eval=eval,
                    pdf=pdf, sample=sample, lobes=SMOOTH,
                    transmits=lambda b: not _is_zero_float(b.textures["spec_trans"]),
                    scalars=tuple(n for n in TEXTURES
                                  if n not in ("base_color", "specular", "eta")),
                    parse=_parse, ints=_ints, floats=_floats, write_xml=_write_xml,
                    oriented=_oriented)
