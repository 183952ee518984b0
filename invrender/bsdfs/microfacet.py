"""Mitsuba 3's ``MicrofacetDistribution`` (``render/microfacet.h``), the one every rough BSDF
shares: Beckmann or GGX normals, anisotropic roughness (alpha_u along the local x axis,
alpha_v along y, each clamped to at least 1e-4 as Mitsuba's constructor does), Smith's
separable masking with Mitsuba's rational approximation for Beckmann, and sampling of either
all normals (D(m) cos theta_m) or only the visible ones (Heitz and d'Eon 2014), with the same
mapping from random numbers to normals as Mitsuba, so that a sample matches Mitsuba's.

The Taichi functions take the distribution as (kind, alpha_u, alpha_v[, visible]): kind is
BECKMANN or GGX and visible whether sampling is restricted to visible normals, both plain
ints (a BSDF reads them with ``read_int``), so one compiled kernel serves every instance.
Straight-line code with if/else only, differentiable in the alphas and the directions; the
host-side helpers read the XML settings that rough BSDFs share.
"""

import taichi as ti

from invrender import runtime
from invrender.warp import square_to_uniform_disk_concentric

vec3 = ti.math.vec3
PI = 3.141592653589793
INV_SQRT_PI = 0.5641895835477563
BECKMANN, GGX = 0, 1
DISTRIBUTIONS = {"beckmann": BECKMANN, "ggx": GGX}
ALPHA_MIN = 1e-4  # Mitsuba's clamp (MicrofacetDistribution::configure)


# --- Dr.Jit's erf and erfinv: Mitsuba's Beckmann sampling inverts with them -----------------

def _hex(*values: str) -> tuple[float, ...]:
    return tuple(float.fromhex(v) for v in values)


# coefficients of drjit/math.h's erf, lowest order first (float and double fits)
_ERF_C0_F32 = _hex("0x1.20dd74p+0", "-0x1.812672p-2", "0x1.ce0934p-4", "-0x1.b5a334p-6",
                   "0x1.4246b4p-8", "-0x1.273facp-11")
_ERF_C1_F32 = _hex("-0x1.a0d71ap+0", "-0x1.d51e3ap-1", "-0x1.3a904cp-3", "0x1.1c395cp-5",
                   "-0x1.6856bep-8", "0x1.180f1ep-11", "-0x1.8ca9f6p-16")
_ERF_C0_F64 = _hex("0x1.20dd750429b6dp+0", "-0x1.812746b0379bcp-2", "0x1.ce2f21a040d12p-4",
                   "-0x1.b82ce311fa924p-6", "0x1.565bccf92b298p-8", "-0x1.c02db03dd71b8p-11",
                   "0x1.f9a2baa8fee07p-14", "-0x1.f4ca4d6f3e31bp-17", "0x1.b97fd3d992af4p-20",
                   "-0x1.5c0726f04e805p-23", "0x1.d71b0f1b15b0ap-27", "-0x1.abae491c540bp-31")
_ERF_C1_F64_NUM = _hex("-0x1.a0be83b09c3d7p+0", "-0x1.8bb29648c7afep+1", "-0x1.639eb89a5975p+1",
                       "-0x1.7b48b8cd14d9fp+0", "-0x1.fb25a03ddc781p-2", "-0x1.9cdb7dcacdfb3p-4",
                       "-0x1.64f7fbe544f07p-7", "-0x1.9a3c3874b3919p-12")
_ERF_C1_F64_DEN = _hex("0x1p+0", "0x1.55b5d06f1c2dep+0", "0x1.b998ffae5528ep-1",
                       "0x1.46884d56cb49bp-2", "0x1.18e8848a2cc38p-4", "0x1.ee7f90e8d480cp-8",
                       "0x1.1c6a194029df4p-12", "-0x1.03d1306b29028p-31")
# Giles' erfinv, as drjit/math.h
_ERFINV_P1 = (1.50140941, 0.246640727, -0.00417768164, -0.00125372503, 0.00021858087,
              -4.39150654e-06, -3.5233877e-06, 3.43273939e-07, 2.81022636e-08)
_ERFINV_P2 = (2.83297682, 1.00167406, 0.00943887047, -0.0076224613, 0.00573950773,
              -0.00367342844, 0.00134934322, 0.000100950558, -0.000200214257)
LN2 = 0.6931471805599453


def _f64() -> bool:
    return runtime.current() is not None and runtime.current().precision == "f64"


@ti.func
def _poly(x, coeffs: ti.template()):
    """Horner's scheme, coefficients lowest order first."""
    n = ti.static(len(coeffs))
    acc = ti.cast(coeffs[n - 1], float)
    for i in ti.static(range(1, n)):
        acc = acc * x + coeffs[n - 1 - i]
    return acc


@ti.func
def erf(x):
    """Dr.Jit's erf (a polynomial on |x| < 1, 1 - 2^(rational) beyond), 1 from |x| = 6."""
    xa = ti.min(ti.abs(x), 6.0)
    result = 0.0
    if xa < 1.0:
        if ti.static(_f64()):
            result = x * _poly(x * x, _ERF_C0_F64)
        else:
            result = x * _poly(x * x, _ERF_C0_F32)
    else:
        c1 = 0.0
        if ti.static(_f64()):
            c1 = _poly(xa, _ERF_C1_F64_NUM) / _poly(xa, _ERF_C1_F64_DEN)
        else:
            c1 = _poly(xa, _ERF_C1_F32)
        xb = 1.0 - ti.exp(LN2 * c1 * xa)
        result = ti.select(x < 0.0, -xb, xb)
    return result


@ti.func
def erfinv(x):
    """Dr.Jit's inverse error function (Giles' single-precision approximation)."""
    w = -ti.log((1.0 - x) * (1.0 + x))
    p = 0.0
    if w < 5.0:
        p = _poly(w - 2.5, _ERFINV_P1)
    else:
        p = _poly(ti.sqrt(w) - 3.0, _ERFINV_P2)
    return p * x


# --- the distribution ------------------------------------------------------------------------

@ti.func
def _clamped(alpha_u, alpha_v):
    return ti.max(alpha_u, ALPHA_MIN), ti.max(alpha_v, ALPHA_MIN)


@ti.func
def eval(kind: ti.i32, alpha_u, alpha_v, m: vec3):
    """D(m): the density of microfacet normals per projected area; 0 below the horizon and
    where Mitsuba flushes it (D cos theta_m <= 1e-20)."""
    au, av = _clamped(alpha_u, alpha_v)
    result = 0.0
    cos_theta = m.z
    if cos_theta > 0.0:
        cos_theta_2 = cos_theta * cos_theta
        x = m.x / au
        y = m.y / av
        if kind == BECKMANN:
            exponent = (x * x + y * y) / cos_theta_2
            if exponent < 745.0:  # beyond, exp underflows to 0 even in f64 (no 0/0 either)
                result = ti.exp(-exponent) / (PI * au * av * cos_theta_2 * cos_theta_2)
        else:
            t = x * x + y * y + cos_theta_2
            result = 1.0 / (PI * au * av * t * t)
        if not result * cos_theta > 1e-20:
            result = 0.0
    return result


@ti.func
def smith_g1(kind: ti.i32, alpha_u, alpha_v, v: vec3, m: vec3):
    """Smith's masking of direction v for microfacets of normal m: 0 where v sees the back
    of the facet, 1 along the normal."""
    au, av = _clamped(alpha_u, alpha_v)
    result = 0.0
    if v.dot(m) * v.z > 0.0:
        result = 1.0
        xy_alpha_2 = (au * v.x) * (au * v.x) + (av * v.y) * (av * v.y)
        if xy_alpha_2 > 0.0:
            if kind == BECKMANN:
                a = ti.abs(v.z) / ti.sqrt(xy_alpha_2)  # rsqrt(tan^2 theta alpha^2)
                if a < 1.6:  # Mitsuba's rational fit (< 0.35 % error)
                    result = (3.535 * a + 2.181 * a * a) / (1.0 + 2.276 * a + 2.577 * a * a)
            elif v.z * v.z > 0.0:  # else Mitsuba's 2 / (1 + inf) = 0
                result = 2.0 / (1.0 + ti.sqrt(1.0 + xy_alpha_2 / (v.z * v.z)))
            else:
                result = 0.0
    return result


@ti.func
def G(kind: ti.i32, alpha_u, alpha_v, wi: vec3, wo: vec3, m: vec3):
    """Smith's separable shadowing-masking G1(wi) G1(wo)."""
    return smith_g1(kind, alpha_u, alpha_v, wi, m) * smith_g1(kind, alpha_u, alpha_v, wo, m)


@ti.func
def pdf(kind: ti.i32, alpha_u, alpha_v, visible: ti.i32, wi: vec3, m: vec3):
    """Density of ``sample``'s normal m (per solid angle of m)."""
    result = eval(kind, alpha_u, alpha_v, m)
    if visible:
        result *= smith_g1(kind, alpha_u, alpha_v, wi, m) * ti.abs(wi.dot(m)) / wi.z
    else:
        result *= m.z
    return result


@ti.func
def reflection_pdf(kind: ti.i32, alpha_u, alpha_v, visible: ti.i32, wi: vec3, h: vec3,
                   wo: vec3):
    """Solid-angle density of wo, the reflection of wi about the microfacet normal h, when h
    is sampled from the visible normals (D G1(wi) / (4 cos theta_i)) or from all of them
    (D cos theta_h / (4 wo . h)), as Mitsuba's rough BSDFs compute it."""
    result = 0.0
    if visible:
        result = eval(kind, alpha_u, alpha_v, h) * smith_g1(kind, alpha_u, alpha_v, wi, h) / (
            4.0 * wi.z)
    else:
        result = pdf(kind, alpha_u, alpha_v, 0, wi, h) / (4.0 * wo.dot(h))
    return result


@ti.func
def sample_visible_11(kind: ti.i32, cos_theta_i, u1, u2):
    """A slope of the visible normals of the alpha = 1 distribution seen at cos_theta_i
    (Mitsuba's: Beckmann by three Newton steps in the erf domain, GGX by projection)."""
    sx = 0.0
    sy = 0.0
    if kind == BECKMANN:
        # tan theta floored so that normal incidence needs no infinities (cot = 1e7 gives
        # erf = 1 and exp(-cot^2) = 0, Mitsuba's values at tan = 0)
        tan_theta_i = ti.max(ti.sqrt(ti.max(1.0 - cos_theta_i * cos_theta_i, 0.0))
                             / cos_theta_i, 1e-7)
        cot_theta_i = 1.0 / tan_theta_i
        maxval = erf(cot_theta_i)
        v1 = ti.max(ti.min(u1, 1.0 - 1e-6), 1e-6)
        v2 = ti.max(ti.min(u2, 1.0 - 1e-6), 1e-6)
        x = maxval - (maxval + 1.0) * erf(ti.sqrt(-ti.log(v1)))
        v1 *= 1.0 + maxval + INV_SQRT_PI * tan_theta_i * ti.exp(-cot_theta_i * cot_theta_i)
        for _ in ti.static(range(3)):
            slope = erfinv(x)
            value = 1.0 + x + INV_SQRT_PI * tan_theta_i * ti.exp(-slope * slope) - v1
            derivative = 1.0 - slope * tan_theta_i
            x -= value / derivative
        sx = erfinv(x)
        sy = erfinv(2.0 * v2 - 1.0)
    else:
        px, py = square_to_uniform_disk_concentric(u1, u2)
        s = 0.5 * (1.0 + cos_theta_i)
        py = ti.sqrt(ti.max(1.0 - px * px, 0.0)) * (1.0 - s) + py * s
        z = ti.sqrt(ti.max(1.0 - px * px - py * py, 0.0))
        sin_theta_i = ti.sqrt(ti.max(1.0 - cos_theta_i * cos_theta_i, 0.0))
        norm = 1.0 / (sin_theta_i * py + cos_theta_i * z)
        sx = (cos_theta_i * py - sin_theta_i * z) * norm
        sy = px * norm
    return sx, sy


@ti.func
def _sincos_phi(v: vec3):
    """(sin phi, cos phi) of v as Mitsuba's Frame3f::sincos_phi ((0, 1) along the pole)."""
    sin_theta_2 = v.x * v.x + v.y * v.y
    s = 0.0
    c = 1.0
    eps = ti.static(2.0 ** -53 if _f64() else 2.0 ** -24)
    if sin_theta_2 > 4.0 * eps:
        inv = 1.0 / ti.sqrt(sin_theta_2)
        c = ti.min(ti.max(v.x * inv, -1.0), 1.0)
        s = ti.min(ti.max(v.y * inv, -1.0), 1.0)
    return s, c


@ti.func
def sample(kind: ti.i32, alpha_u, alpha_v, visible: ti.i32, wi: vec3, u1, u2):
    """(normal m, its density ``pdf``) for random numbers (u1, u2), as Mitsuba maps them."""
    au, av = _clamped(alpha_u, alpha_v)
    m = vec3(0.0, 0.0, 1.0)
    density = 0.0
    if not visible:
        # azimuth: Mitsuba's ratio * tan(2 pi u2) with the quadrant's sign, written as a
        # normalisation (no tan)
        phi = 2.0 * PI * u2
        cos_phi = ti.cos(phi)
        sin_phi = ti.sin(phi)
        alpha_2 = au * au
        if au != av:
            n = ti.sqrt(cos_phi * cos_phi + (av / au) * (av / au) * sin_phi * sin_phi)
            sin_phi = (av / au) * sin_phi / n
            cos_phi = cos_phi / n
            alpha_2 = 1.0 / ((cos_phi / au) * (cos_phi / au) + (sin_phi / av) * (sin_phi / av))
        cos_theta = 0.0
        if kind == BECKMANN:
            cos_theta = 1.0 / ti.sqrt(1.0 - alpha_2 * ti.log(1.0 - u1))
            cos_theta_3 = ti.max(cos_theta * cos_theta * cos_theta, 1e-20)
            density = (1.0 - u1) / (PI * au * av * cos_theta_3)
        else:
            tan_theta_m_2 = alpha_2 * u1 / (1.0 - u1)
            cos_theta = 1.0 / ti.sqrt(1.0 + tan_theta_m_2)
            temp = 1.0 + tan_theta_m_2 / alpha_2
            cos_theta_3 = ti.max(cos_theta * cos_theta * cos_theta, 1e-20)
            density = 1.0 / (PI * au * av * cos_theta_3 * temp * temp)
        sin_theta = ti.sqrt(ti.max(1.0 - cos_theta * cos_theta, 0.0))
        m = vec3(cos_phi * sin_theta, sin_phi * sin_theta, cos_theta)
    else:
        wi_p = vec3(au * wi.x, av * wi.y, wi.z).normalized()  # stretch
        sin_phi, cos_phi = _sincos_phi(wi_p)
        sx, sy = sample_visible_11(kind, wi_p.z, u1, u2)
        # rotate and unstretch
        tx = (cos_phi * sx - sin_phi * sy) * au
        ty = (sin_phi * sx + cos_phi * sy) * av
        m = vec3(-tx, -ty, 1.0).normalized()
        density = (eval(kind, au, av, m) * smith_g1(kind, au, av, wi, m) * ti.abs(wi.dot(m))
                   / wi.z)
    return m, density


# --- host side: the XML settings rough BSDFs share --------------------------------------------

def read_distribution(props, default: str = "beckmann") -> str:
    """``distribution``: beckmann or ggx (any case, as Mitsuba lower-cases it)."""
    element = props.named.get("distribution")
    text = props.string("distribution", default)
    key = text.lower()
    if key not in DISTRIBUTIONS:
        raise props.error(element, f"invalid microfacet distribution '{text}'",
                          hint="use beckmann or ggx")
    return key


def read_roughness(builder, props, bsdf, default: float = 0.1,
                   anisotropic: bool = True) -> tuple[str, ...]:
    """``alpha`` (one texture in both of ``bsdf.textures["alpha_u"]`` and ``["alpha_v"]``)
    or ``alpha_u`` and ``alpha_v``, with Mitsuba's errors; a negative constant roughness is
    an error here (Mitsuba clamps it to 1e-4 silently). Returns the names it read."""
    named = props.named
    if "alpha_u" in named or "alpha_v" in named:
        if not anisotropic:
            raise props.error(named.get("alpha_u", named.get("alpha_v")),
                              f"'{bsdf.type}' does not support anisotropic roughness",
                              hint="give one 'alpha'")
        if "alpha_u" not in named or "alpha_v" not in named:
            given = "alpha_u" if "alpha_u" in named else "alpha_v"
            raise props.error(named[given], "both 'alpha_u' and 'alpha_v' must be given",
                              hint="or one 'alpha' for isotropic roughness")
        if "alpha" in named:
            raise props.error(named["alpha"], "give either 'alpha' or 'alpha_u'/'alpha_v'",
                              hint="not both")
        for name in ("alpha_u", "alpha_v"):
            bsdf.textures[name] = _roughness(builder, props, name, default)
    else:
        bsdf.textures["alpha_u"] = bsdf.textures["alpha_v"] = _roughness(
            builder, props, "alpha", default)
    return ("alpha", "alpha_u", "alpha_v")


def _roughness(builder, props, name: str, default: float):
    element = props.named.get(name)
    texture = builder.scalar_texture(props, name, default)
    if element is not None and texture.type in ("uniform", "constant") \
            and float(texture.value.min()) < 0.0:
        raise props.error(element, f"roughness '{name}' must not be negative, got "
                          f"{float(texture.value.min())!r}",
                          hint="0.001-0.01: slightly rough, 0.1: rough, 0.3-0.7: very rough")
    return texture


def roughness_is_isotropic(bsdf) -> bool:
    """One texture gives both alphas (Mitsuba: not ``Anisotropic``)."""
    return bsdf.textures["alpha_u"] is bsdf.textures["alpha_v"]



def roughness_names(bsdf) -> dict[str, str]:
    """Mitsuba's names of the alphas (for ``BsdfPlugin.names``): one texture for both is
    ``alpha``."""
    return {"alpha_u": "alpha", "alpha_v": "alpha"} if roughness_is_isotropic(bsdf) else {}
