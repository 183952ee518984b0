"""Mitsuba's ``roughplastic``: a diffuse base under a rough dielectric coating, one-sided
(black when wi.z <= 0 or wo.z <= 0), two smooth lobes: 0, the coating's microfacet reflection
F(wi.h) D(h) G(wi, wo, h) / (4 cos theta_i) x ``specular_reflectance``; 1, the base seen
through the coating,

    rho / (1 - R_int) x t(cos theta_i) t(cos theta_o) / eta^2 x cos theta_o / pi

(rho x R_int in place of R_int when ``nonlinear``). t is the coating's rough transmittance
and R_int its internal diffuse reflectance, which Mitsuba's ``parameters_changed``
integrates once per (distribution, alpha, eta) with a Gauss-Legendre rule over visible
normals: ``internal_scattering`` repeats that quadrature here (cached), and the kernels read
t from the 64-entry table by Mitsuba's linear interpolation. Both are constants of the
instance (no derivative flows through them, as in Mitsuba); D, G, F and 1 / eta^2 are
differentiable in alpha and eta. ``sample`` picks lobe 0 with probability
(1 - t_i) w / ((1 - t_i) w + t_i (1 - w)), ``u0 <`` it as Mitsuba, w the specular sampling
weight s / (d + s) of the textures' means (``plastic.specular_sampling_weight``); lobe 1 is
cosine sampled, and the weight is eval / pdf of the mixture, as Mitsuba's.

Settings: ``distribution`` (beckmann, the default, or ggx), ``sample_visible`` (default
true), ``alpha`` (a plain float, default 0.1, as Mitsuba: no texture, no anisotropy),
``int_ior``/``ext_ior`` (polypropylene inside, air outside; their ratio must not be 1),
``nonlinear`` (default false). Parameters, named as Mitsuba's traverse:
``diffuse_reflectance`` (default 0.5), ``<id>.alpha`` (clamped to 1e-4 at load, as
Mitsuba stores it), ``<id>.eta``, ``specular_reflectance`` (default 1). The table lives in
the instance's plugin floats, so it follows alpha and eta as loaded: a new alpha or eta set
through the parameter map changes D, G, F and 1 / eta^2 but not t until the scene reloads
(Mitsuba recomputes it in ``parameters_changed``)."""

import functools

import numpy as np
import taichi as ti

from invrender.bsdfs import microfacet
from invrender.bsdfs.base import SMOOTH, BsdfPlugin, read_float, read_int
from invrender.bsdfs.dielectric import read_eta
from invrender.bsdfs.fresnel import fresnel, reflect_about
from invrender.bsdfs.plastic import specular_sampling_weight
from invrender.shading import bsdf_color, bsdf_texture, no_sample
from invrender.state import BSDF_FLOATS
from invrender.textures import scalar
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907
DIFFUSE, ALPHA, ETA, SPECULAR = 0, 1, 2, 3  # texture indices (Mitsuba's traverse order)
DISTRIBUTION, VISIBLE, NONLINEAR = 0, 1, 2  # plugin ints
SPECULAR_WEIGHT, INTERNAL, TABLE = 0, 1, 2  # plugin floats: table at TABLE..TABLE + RES - 1
RES = 64  # MI_ROUGH_TRANSMITTANCE_RES
FLOATS = TABLE + RES


# --- kernels -------------------------------------------------------------------------------

@ti.func
def transmittance(g: ti.template(), sp: ti.template(), cos_theta):
    """t(cos_theta) from the table, as Mitsuba's lerp_gather (cos_theta in (0, 1])."""
    x = cos_theta * (RES - 1)
    i = ti.min(ti.cast(x, ti.i32), RES - 2)
    at = BSDF_FLOATS * sp.bsdf + TABLE + i
    v0 = g.bsdf_floats[at]
    v1 = g.bsdf_floats[at + 1]
    return v0 + (v1 - v0) * (x - ti.cast(i, float))


@ti.func
def _alpha(g: ti.template(), sp: ti.template()):
    return scalar.value(g, bsdf_texture(g, sp, ALPHA))


@ti.func
def _eta(g: ti.template(), sp: ti.template()):
    return scalar.value(g, bsdf_texture(g, sp, ETA))


@ti.func
def _specular_probability(g: ti.template(), sp: ti.template(), t_i):
    w = read_float(g, sp, SPECULAR_WEIGHT)
    p_s = (1.0 - t_i) * w
    p_d = t_i * (1.0 - w)
    result = 0.0
    if p_s + p_d > 0.0:
        result = p_s / (p_s + p_d)
    return result


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    wi = sp.wi
    value = vec3(0.0)
    if wi.z > 0.0 and wo.z > 0.0:
        kind = read_int(g, sp, DISTRIBUTION)
        alpha = _alpha(g, sp)
        eta = _eta(g, sp)
        h = (wo + wi).normalized()
        f, _, _, _ = fresnel(wi.dot(h), eta)
        specular = (f * microfacet.eval(kind, alpha, alpha, h)
                    * microfacet.G(kind, alpha, alpha, wi, wo, h) / (4.0 * wi.z))
        rho = bsdf_color(g, sp, DIFFUSE)
        inner = vec3(read_float(g, sp, INTERNAL))
        if read_int(g, sp, NONLINEAR):
            inner = rho * inner
        t_io = transmittance(g, sp, wi.z) * transmittance(g, sp, wo.z)
        value = (specular * bsdf_color(g, sp, SPECULAR)
                 + rho / (1.0 - inner) * (INV_PI / (eta * eta) * wo.z * t_io))
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    wi = sp.wi
    result = 0.0
    if wi.z > 0.0 and wo.z > 0.0:
        kind = read_int(g, sp, DISTRIBUTION)
        alpha = _alpha(g, sp)
        p_specular = _specular_probability(g, sp, transmittance(g, sp, wi.z))
        h = (wo + wi).normalized()
        specular = microfacet.reflection_pdf(kind, alpha, alpha, read_int(g, sp, VISIBLE),
                                             wi, h, wo)
        result = p_specular * specular + (1.0 - p_specular) * wo.z * INV_PI
    return result


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    wi = sp.wi
    bs = no_sample()
    if wi.z > 0.0:
        p_specular = _specular_probability(g, sp, transmittance(g, sp, wi.z))
        if u0 < p_specular:
            alpha = _alpha(g, sp)
            m, _ = microfacet.sample(read_int(g, sp, DISTRIBUTION), alpha, alpha,
                                     read_int(g, sp, VISIBLE), wi, u1, u2)
            bs.wo = reflect_about(wi, m)
        else:
            bs.wo = square_to_cosine_hemisphere(u1, u2)
            bs.lobe = 1
        bs.pdf = pdf(g, sp, bs.wo)
        if bs.pdf > 0.0:
            bs.weight = eval(g, sp, bs.wo) / bs.pdf
    return bs


# --- host side: settings -------------------------------------------------------------------

def _parse(builder, props, bsdf) -> tuple[str, ...]:
    named = props.named
    bsdf.settings["distribution"] = microfacet.read_distribution(props)
    bsdf.settings["sample_visible"] = props.boolean("sample_visible", True)
    bsdf.settings["nonlinear"] = props.boolean("nonlinear", False)
    alpha = _read_alpha(props)
    read = read_eta(props, bsdf, "polypropylene")
    eta = float(bsdf.textures["eta"].value[0])
    if eta == 1.0:
        where = named.get("int_ior", named.get("ext_ior", props.owner))
        raise props.error(where, "the interior and exterior indices of refraction must "
                          "differ", hint="int_ior = ext_ior makes the coating invisible")
    bsdf.textures["alpha"] = scalar.make(max(alpha, microfacet.ALPHA_MIN))
    if BSDF_FLOATS < FLOATS:
        raise props.error(props.owner, f"roughplastic needs {FLOATS} plugin floats per BSDF "
                          f"(its transmittance table), the renderer has {BSDF_FLOATS}",
                          hint="raise invrender.state.BSDF_FLOATS")
    return ("distribution", "sample_visible", "nonlinear", "alpha", "alpha_u", "alpha_v",
            *read)


def _read_alpha(props) -> float:
    """Mitsuba's isotropic roughness: ``alpha``, or equal ``alpha_u`` and ``alpha_v``."""
    named = props.named
    if "alpha_u" in named or "alpha_v" in named:
        given = named.get("alpha_u", named.get("alpha_v"))
        if "alpha_u" not in named or "alpha_v" not in named:
            raise props.error(given, "both 'alpha_u' and 'alpha_v' must be given",
                              hint="roughplastic takes one 'alpha'")
        if "alpha" in named:
            raise props.error(named["alpha"], "give either 'alpha' or 'alpha_u'/'alpha_v'",
                              hint="not both")
        alpha_u, alpha_v = props.float("alpha_u"), props.float("alpha_v")
        if alpha_u != alpha_v:
            raise props.error(given, "roughplastic does not support anisotropic roughness "
                              f"(alpha_u {alpha_u!r}, alpha_v {alpha_v!r})",
                              hint="give one 'alpha', or use roughconductor")
        alpha, element = alpha_u, given
    else:
        alpha, element = props.float("alpha", 0.1), named.get("alpha")
    if alpha < 0.0:
        raise props.error(element, f"roughness 'alpha' must not be negative, got {alpha!r}",
                          hint="0.001-0.01: slightly rough, 0.1: rough, 0.3-0.7: very rough")
    return alpha


def _ints(bsdf) -> list[int]:
    return [microfacet.DISTRIBUTIONS[bsdf.settings["distribution"]],
            int(bsdf.settings["sample_visible"]), int(bsdf.settings["nonlinear"])]


def _floats(bsdf) -> list[float]:
    table, internal = internal_scattering(
        microfacet.DISTRIBUTIONS[bsdf.settings["distribution"]],
        float(bsdf.textures["alpha"].value[0]), float(bsdf.textures["eta"].value[0]))
    return [specular_sampling_weight(bsdf), internal, *table]


def _write_xml(bsdf) -> list[str]:
    eta = float(bsdf.textures["eta"].value[0])
    flag = {True: "true", False: "false"}
    return [f'<string name="distribution" value="{bsdf.settings["distribution"]}"/>',
            f'<boolean name="sample_visible" value="{flag[bsdf.settings["sample_visible"]]}"/>',
            f'<boolean name="nonlinear" value="{flag[bsdf.settings["nonlinear"]]}"/>',
            f'<float name="int_ior" value="{eta!r}"/>', '<float name="ext_ior" value="1.0"/>']


# --- host side: Mitsuba's precomputed internal scattering (parameters_changed) ---------------
# numpy copies of the kernels' microfacet sampling, masking and Fresnel, vectorised over the
# quadrature nodes

def _poly(x, coeffs):
    """Horner's scheme, coefficients lowest order first."""
    acc = np.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        acc = acc * x + c
    return acc


def _erf(x):
    """Dr.Jit's single-precision erf (``microfacet.erf``'s float32 branch)."""
    xa = np.minimum(np.abs(x), 6.0)
    small = x * _poly(np.minimum(x * x, 1.0), microfacet._ERF_C0_F32)
    big = 1.0 - np.exp(microfacet.LN2 * _poly(xa, microfacet._ERF_C1_F32) * xa)
    return np.where(xa < 1.0, small, np.where(x < 0.0, -big, big))


def _erfinv(x):
    """Dr.Jit's erfinv (Giles), as ``microfacet.erfinv``."""
    w = -np.log((1.0 - x) * (1.0 + x))
    p = np.where(w < 5.0, _poly(w - 2.5, microfacet._ERFINV_P1),
                 _poly(np.sqrt(np.maximum(w, 0.0)) - 3.0, microfacet._ERFINV_P2))
    return p * x


def _disk(u1, u2):
    """Shirley and Chiu's concentric map, as ``warp.square_to_uniform_disk_concentric``."""
    x, y = 2.0 * u1 - 1.0, 2.0 * u2 - 1.0
    wide = x * x > y * y
    safe_x = np.where(x == 0.0, 1.0, x)
    safe_y = np.where(y == 0.0, 1.0, y)
    r = np.where(wide, x, y)
    phi = np.where(wide, np.pi / 4 * (y / safe_x), np.pi / 2 - np.pi / 4 * (x / safe_y))
    return r * np.cos(phi), r * np.sin(phi)


def _sample_visible(kind, alpha, wi, u1, u2):
    """Mitsuba's visible-normal samples m (3, N) for wi = (sin, 0, cos) (its azimuth is 0:
    no rotation), isotropic alpha; the float32 erf of Mitsuba's Float for Beckmann."""
    wx, wz = alpha * wi[0], wi[2]
    cos_theta = wz / np.sqrt(wx * wx + wz * wz)
    if kind == microfacet.BECKMANN:
        tan_theta = np.sqrt(max(1.0 - cos_theta * cos_theta, 0.0)) / cos_theta
        cot_theta = 1.0 / tan_theta if tan_theta > 0.0 else np.inf
        maxval = float(_erf(np.array(cot_theta)))
        v1 = np.clip(u1, 1e-6, 1.0 - 1e-6)
        v2 = np.clip(u2, 1e-6, 1.0 - 1e-6)
        x = maxval - (maxval + 1.0) * _erf(np.sqrt(-np.log(v1)))
        v1 = v1 * (1.0 + maxval + microfacet.INV_SQRT_PI * tan_theta
                   * np.exp(-cot_theta * cot_theta))
        for _ in range(3):  # Mitsuba's three Newton steps
            slope = _erfinv(x)
            value = 1.0 + x + microfacet.INV_SQRT_PI * tan_theta * np.exp(-slope * slope) - v1
            x = x - value / (1.0 - slope * tan_theta)
        sx, sy = _erfinv(x), _erfinv(2.0 * v2 - 1.0)
    else:
        px, py = _disk(u1, u2)
        s = 0.5 * (1.0 + cos_theta)
        py = np.sqrt(np.maximum(1.0 - px * px, 0.0)) * (1.0 - s) + py * s
        z = np.sqrt(np.maximum(1.0 - px * px - py * py, 0.0))
        sin_theta = np.sqrt(max(1.0 - cos_theta * cos_theta, 0.0))
        inv = 1.0 / (sin_theta * py + cos_theta * z)
        sx, sy = (cos_theta * py - sin_theta * z) * inv, px * inv
    m = np.stack([-sx * alpha, -sy * alpha, np.ones_like(sx)])
    return m / np.linalg.norm(m, axis=0)


def _smith_g1(kind, alpha, v, m):
    """``microfacet.smith_g1`` of directions v (3, N) for normals m (3, N), isotropic."""
    xy_alpha_2 = alpha * alpha * (v[0] ** 2 + v[1] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tan_alpha_2 = xy_alpha_2 / v[2] ** 2
        if kind == microfacet.BECKMANN:
            a = 1.0 / np.sqrt(tan_alpha_2)
            result = np.where(a >= 1.6, 1.0,
                              (3.535 * a + 2.181 * a * a) / (1.0 + 2.276 * a + 2.577 * a * a))
        else:
            result = 2.0 / (1.0 + np.sqrt(1.0 + tan_alpha_2))
    result = np.where(xy_alpha_2 == 0.0, 1.0, result)
    return np.where(np.sum(v * m, axis=0) * v[2] <= 0.0, 0.0, result)


def _fresnel(cos_i, eta):
    """``fresnel.fresnel``: (R, cos theta_t, eta_ti)."""
    eta_it = np.where(cos_i >= 0.0, eta, 1.0 / eta)
    eta_ti = 1.0 / eta_it
    cos_t2 = 1.0 - (1.0 - cos_i * cos_i) * eta_ti * eta_ti
    ci = np.abs(cos_i)
    ct = np.sqrt(np.maximum(cos_t2, 0.0))
    a_s = (ci - eta_it * ct) / (ci + eta_it * ct)
    a_p = (ct - eta_it * ci) / (ct + eta_it * ci)
    r = np.where(cos_t2 <= 0.0, 1.0, 0.5 * (a_s * a_s + a_p * a_p))
    return r, np.where(cos_i >= 0.0, -ct, ct), eta_ti


def _quadrature(kind, alpha, eta, reflect):
    """Mitsuba's eval_transmittance (or eval_reflectance) at the table's 64 cosines."""
    n = 32 if eta > 1.0 else 128
    nodes, weights = np.polynomial.legendre.leggauss(n)
    nodes = nodes.astype(np.float32).astype(np.float64)
    weights = weights.astype(np.float32).astype(np.float64)
    u1, u2 = (np.meshgrid(nodes, nodes)[k].ravel() * 0.5 + 0.5 for k in range(2))
    w = np.outer(weights, weights).ravel() * 0.25
    mu = np.maximum(1e-6, np.linspace(0.0, 1.0, RES))
    mu = mu.astype(np.float32).astype(np.float64)
    result = np.zeros(RES)
    for k, c in enumerate(mu):
        wi = np.array([np.sqrt(1.0 - c * c), 0.0, c])
        m = _sample_visible(kind, alpha, wi, u1, u2)
        wi = wi[:, None]
        dot = np.sum(wi * m, axis=0)
        f, cos_t, eta_ti = _fresnel(dot, eta)
        if reflect:
            wo = 2.0 * dot * m - wi
            value = _smith_g1(kind, alpha, wo, m) * f
            value = np.where(wo[2] <= 0.0, 0.0, value)
        else:
            wo = m * (dot * eta_ti + cos_t) - wi * eta_ti
            value = _smith_g1(kind, alpha, wo, m) * (1.0 - f)
            value = np.where(wo[2] * wi[2] >= 0.0, 0.0, value)
        result[k] = np.sum(value * w)
    return mu, result


@functools.lru_cache(maxsize=64)
def internal_scattering(kind: int, alpha: float, eta: float) -> tuple[np.ndarray, float]:
    """(the external transmittance at cos theta = linspace(0, 1, 64), read-only; the
    internal reflectance: twice the mean of R(mu) mu over those cosines, at 1 / eta), as
    Mitsuba's parameters_changed."""
    alpha = max(alpha, microfacet.ALPHA_MIN)
    _, transmittance = _quadrature(kind, alpha, eta, False)
    mu, reflectance = _quadrature(kind, alpha, 1.0 / eta, True)
    transmittance.setflags(write=False)
    return transmittance, float(np.mean(reflectance * mu) * 2.0)


PLUGIN = BsdfPlugin(name="roughplastic",
                    textures=("diffuse_reflectance", "alpha", "eta", "specular_reflectance"),
                    defaults={"diffuse_reflectance": 0.5, "specular_reflectance": 1.0},
                    eval=eval, pdf=pdf, sample=sample, lobes=SMOOTH, parse=_parse,
                    ints=_ints, floats=_floats, write_xml=_write_xml, own_textures=("eta",))
