"""The pieces of Mitsuba's ``principled`` BSDF that are not the shared microfacet model
(``src/bsdfs/principledhelpers.h``): Schlick's Fresnel weight and approximation, the metal
and tint blend of the main specular Fresnel term, the Disney roughness-to-alpha mapping, and
the clearcoat's GTR1 distribution with its separable Smith GGX masking (alpha 0.25).

Straight-line Taichi functions with if/else only. Where Mitsuba takes a square root that
can be 0 (a Schlick weight under total internal reflection, ``sqrt(base_color)``), the root
is taken in a branch, so that a zero argument gives derivative 0 instead of inf x 0 = NaN.
"""

import taichi as ti

vec3 = ti.math.vec3
PI = 3.141592653589793
LUMINANCE = (0.212671, 0.715160, 0.072169)  # Mitsuba's luminance() of linear sRGB


@ti.func
def luminance(c: vec3):
    return LUMINANCE[0] * c[0] + LUMINANCE[1] * c[1] + LUMINANCE[2] * c[2]


@ti.func
def sqrt_branch(x):
    """sqrt(x) for x > 0, else 0 (derivative 0 at 0)."""
    result = 0.0
    if x > 0.0:
        result = ti.sqrt(x)
    return result


@ti.func
def sqrt3(c: vec3) -> vec3:
    """The channel-wise ``sqrt_branch`` (the specular transmission's tint)."""
    return vec3(sqrt_branch(c[0]), sqrt_branch(c[1]), sqrt_branch(c[2]))


@ti.func
def schlick_weight(cos_i):
    """(1 - cos_i)^5, the argument clipped to [0, 1]."""
    m = ti.min(ti.max(1.0 - cos_i, 0.0), 1.0)
    m2 = m * m
    return m2 * m2 * m


@ti.func
def calc_schlick(r0, cos_theta_i, eta):
    """Schlick's F = R0 + (1 - R0) w, with w the weight of the incident angle, or of the
    transmitted one where the light leaves the denser side (eta_it < 1). r0 is a float or
    an RGB vector."""
    outside = cos_theta_i >= 0.0
    eta_it = ti.select(outside, eta, 1.0 / eta)
    w = 0.0
    if eta_it > 1.0:
        w = schlick_weight(ti.abs(cos_theta_i))
    else:
        eta_ti = ti.select(outside, 1.0 / eta, eta)
        cos_t = sqrt_branch(1.0 - (1.0 - cos_theta_i * cos_theta_i) * (eta_ti * eta_ti))
        w = schlick_weight(cos_t)
    return r0 + (w - w * r0)


@ti.func
def schlick_r0_eta(eta):
    """The normal-incidence reflectance ((eta - 1) / (eta + 1))^2."""
    r = (eta - 1.0) / (eta + 1.0)
    return r * r


@ti.func
def principled_fresnel(f_dielectric, metallic, spec_tint, base_color: vec3, lum,
                       cos_theta_i, front_side, bsdf, eta) -> vec3:
    """The main specular lobe's Fresnel term: from the front the dielectric Fresnel blended
    with Schlick's metal (F0 = base_color) and its tint (F0 = base_color / luminance times
    the dielectric R0); from behind the plain dielectric one, weighted by the transmission
    lobe's weight ``bsdf``. (Mitsuba skips the metal and tint terms when their parameters
    are not given; they are 0 then.)"""
    result = vec3(bsdf * f_dielectric)
    if front_side:
        eta_it = ti.select(cos_theta_i >= 0.0, eta, 1.0 / eta)
        f_schlick = metallic * calc_schlick(base_color, cos_theta_i, eta)
        c_tint = vec3(1.0)
        if lum > 0.0:
            c_tint = base_color / lum
        f_schlick += ((1.0 - metallic) * spec_tint) * calc_schlick(
            c_tint * schlick_r0_eta(eta_it), cos_theta_i, eta)
        result = ((1.0 - metallic) * (1.0 - spec_tint)) * f_dielectric + f_schlick
    return result


@ti.func
def distribution_alphas(anisotropic, roughness):
    """The GGX alphas (along x, along y) of the main lobes: roughness^2 stretched by
    sqrt(1 - 0.9 anisotropic), at least 0.001 (Disney's mapping; anisotropic = 0 gives
    Mitsuba's isotropic branch exactly)."""
    r2 = roughness * roughness
    aspect = ti.sqrt(1.0 - 0.9 * anisotropic)
    return ti.max(0.001, r2 / aspect), ti.max(0.001, r2 * aspect)


# --- clearcoat: GTR1 normals, Smith GGX masking --------------------------------------------

@ti.func
def clearcoat_alpha(gloss):
    """Clearcoat roughness: 0.1 (gloss 0) to 0.001 (gloss 1)."""
    return 0.1 + (0.001 - 0.1) * gloss


@ti.func
def gtr1_eval(alpha, m: vec3):
    """Burley's GTR1 density of normals; 0 where Mitsuba flushes it (D cos <= 1e-20)."""
    alpha2 = alpha * alpha
    cos2 = m.z * m.z
    result = (alpha2 - 1.0) / (PI * ti.log(alpha2) * (1.0 + (alpha2 - 1.0) * cos2))
    if not result * m.z > 1e-20:
        result = 0.0
    return result


@ti.func
def gtr1_pdf(alpha, m: vec3):
    result = 0.0
    if m.z >= 0.0:
        result = m.z * gtr1_eval(alpha, m)
    return result


@ti.func
def gtr1_sample(alpha, u1, u2) -> vec3:
    """A GTR1 normal (density ``gtr1_pdf``) for the random numbers (u1, u2), as Mitsuba."""
    phi = 2.0 * PI * u1
    alpha2 = alpha * alpha
    cos2 = (1.0 - ti.exp((1.0 - u2) * ti.log(alpha2))) / (1.0 - alpha2)
    sin_theta = ti.sqrt(ti.max(0.0, 1.0 - cos2))
    cos_theta = ti.sqrt(ti.max(0.0, cos2))
    return vec3(ti.cos(phi) * sin_theta, ti.sin(phi) * sin_theta, cos_theta)


@ti.func
def smith_ggx1(v: vec3, wh: vec3, alpha):
    """Smith's GGX masking of v for the isotropic roughness alpha."""
    result = 0.0
    if v.dot(wh) * v.z > 0.0:
        result = 1.0
        if v.z != 1.0:
            cos2 = v.z * v.z
            tan2 = (1.0 - cos2) / cos2
            result = 2.0 / (1.0 + ti.sqrt(1.0 + alpha * alpha * tan2))
    return result


@ti.func
def mac_mic_compatible(m: vec3, wi: vec3, wo: vec3, cos_theta_i, reflection: ti.template()):
    """wi on the side of m (m flipped to wi's side of the surface) and wo on it (reflection)
    or on the other (refraction)."""
    ms = ti.select(cos_theta_i >= 0.0, 1.0, -1.0) * m
    result = False
    if ti.static(reflection):
        result = wi.dot(ms) > 0.0 and wo.dot(ms) > 0.0
    else:
        result = wi.dot(ms) > 0.0 and wo.dot(ms) < 0.0
    return result
