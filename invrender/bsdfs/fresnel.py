"""Fresnel equations and the specular directions, as Mitsuba 3's ``render/fresnel.h``, in
a BSDF's local frame (z is the normal). Every function is differentiable."""

import taichi as ti

vec3 = ti.math.vec3


@ti.func
def safe_sqrt(x):
    """sqrt(max(x, 0)) with a zero derivative where x <= 0: clamping first would multiply
    the clamp's zero tangent by sqrt's infinite slope at 0 (NaN in forward mode, at total
    internal reflection)."""
    positive = x > 0.0
    return ti.select(positive, ti.sqrt(ti.select(positive, x, 1.0)), 0.0)


@ti.func
def fresnel(cos_theta_i, eta):
    """Unpolarised reflectance of a dielectric interface of relative IOR eta (inside over
    outside) at cos_theta_i (negative: arriving from inside). Returns (R, cos_theta_t, eta_it,
    eta_ti), cos_theta_t signed opposite to cos_theta_i; R = 1 under total internal
    reflection."""
    outside = cos_theta_i >= 0.0
    eta_it = ti.select(outside, eta, 1.0 / eta)
    eta_ti = ti.select(outside, 1.0 / eta, eta)
    cos_t2 = 1.0 - (1.0 - cos_theta_i * cos_theta_i) * eta_ti * eta_ti
    cos_i = ti.abs(cos_theta_i)
    cos_t = safe_sqrt(cos_t2)
    r = 1.0
    if eta == 1.0:
        r = 0.0
    elif cos_i > 0.0:
        a_s = (cos_i - eta_it * cos_t) / (cos_i + eta_it * cos_t)
        a_p = (cos_t - eta_it * cos_i) / (cos_t + eta_it * cos_i)
        r = 0.5 * (a_s * a_s + a_p * a_p)
    return r, ti.select(cos_theta_i >= 0.0, -cos_t, cos_t), eta_it, eta_ti


@ti.func
def fresnel_conductor(cos_theta_i, eta: vec3, k: vec3) -> vec3:
    """Unpolarised reflectance of a conductor of complex IOR eta + i k, per channel."""
    c2 = cos_theta_i * cos_theta_i
    s2 = 1.0 - c2
    s4 = s2 * s2
    result = vec3(0.0)
    for ch in ti.static(range(3)):
        temp = eta[ch] * eta[ch] - k[ch] * k[ch] - s2
        a2pb2 = safe_sqrt(temp * temp + 4.0 * k[ch] * k[ch] * eta[ch] * eta[ch])
        a = safe_sqrt(0.5 * (a2pb2 + temp))
        term1 = a2pb2 + c2
        term2 = 2.0 * cos_theta_i * a
        r_s = (term1 - term2) / (term1 + term2)
        term3 = a2pb2 * c2 + s4
        term4 = term2 * s2
        r_p = r_s * (term3 - term4) / (term3 + term4)
        result[ch] = 0.5 * (r_s + r_p)
    return result


@ti.func
def reflect(wi: vec3) -> vec3:
    """The mirror direction about the normal (0, 0, 1)."""
    return vec3(-wi.x, -wi.y, wi.z)


@ti.func
def reflect_about(wi: vec3, m: vec3) -> vec3:
    """The mirror direction about the unit vector m (a microfacet normal)."""
    return 2.0 * wi.dot(m) * m - wi


@ti.func
def refract(wi: vec3, cos_theta_t, eta_ti) -> vec3:
    """The refracted direction through the normal (0, 0, 1), with ``fresnel``'s outputs."""
    return vec3(-eta_ti * wi.x, -eta_ti * wi.y, cos_theta_t)


@ti.func
def refract_about(wi: vec3, m: vec3, cos_theta_t, eta_ti) -> vec3:
    """The refracted direction through the microfacet normal m."""
    return m * (wi.dot(m) * eta_ti + cos_theta_t) - wi * eta_ti


def fresnel_diffuse_reflectance(eta: float) -> float:
    """Mitsuba's fit of the hemispherical average of the Fresnel reflectance (host side:
    plastic's internal scattering)."""
    inv = 1.0 / eta
    if eta < 1.0:
        return 0.0636 * inv + eta * (eta * -1.4399 + 0.7099) + 0.6681
    return ((((( -1.36881 * inv + 4.98554) * inv - 7.80989) * inv + 6.75335) * inv - 3.4793)
            * inv + 0.919317)
