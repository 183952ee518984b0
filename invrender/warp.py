"""Warps from the unit square to sampling domains (Mitsuba's ``warp`` module)."""

import taichi as ti

vec3 = ti.math.vec3
PI = 3.141592653589793


@ti.func
def square_to_uniform_disk_concentric(u1, u2):
    """Shirley-Chiu concentric map: keeps strata, as Mitsuba does."""
    x = 2.0 * u1 - 1.0
    y = 2.0 * u2 - 1.0
    r = 0.0
    phi = 0.0
    if x == 0.0 and y == 0.0:
        r = 0.0
    elif x * x > y * y:
        r = x
        phi = (PI / 4.0) * (y / x)
    else:
        r = y
        phi = (PI / 2.0) - (PI / 4.0) * (x / y)
    return r * ti.cos(phi), r * ti.sin(phi)


@ti.func
def square_to_cosine_hemisphere(u1, u2) -> vec3:
    dx, dy = square_to_uniform_disk_concentric(u1, u2)
    z = ti.sqrt(ti.max(1.0 - dx * dx - dy * dy, 0.0))
    return vec3(dx, dy, z)


@ti.func
def square_to_uniform_sphere(u1, u2) -> vec3:
    z = 1.0 - 2.0 * u2
    r = ti.sqrt(ti.max(1.0 - z * z, 0.0))
    phi = 2.0 * PI * u1
    return vec3(r * ti.cos(phi), r * ti.sin(phi), z)


@ti.func
def square_to_uniform_triangle(u1, u2):
    """Barycentrics (b1, b2) uniform over a triangle (Mitsuba's mapping)."""
    t = ti.sqrt(ti.max(1.0 - u1, 0.0))
    return 1.0 - t, t * u2


@ti.func
def coordinate_system(n: vec3):
    """Orthonormal s, t with (s, t, n) right-handed (Duff et al. 2017)."""
    sign = 1.0 if n.z >= 0.0 else -1.0
    a = -1.0 / (sign + n.z)
    b = n.x * n.y * a
    s = vec3(1.0 + sign * n.x * n.x * a, sign * b, -sign * n.x)
    t = vec3(b, sign + n.y * n.y * a, -n.y)
    return s, t


@ti.func
def power_heuristic(a, b):
    """MIS weight a^2 / (a^2 + b^2), 0 when both pdfs are 0."""
    a2 = a * a
    w = 0.0
    if a2 > 0.0:
        w = a2 / (a2 + b * b)
    return w


@ti.func
def search_cdf(cdf: ti.template(), first: ti.i32, n: ti.i32, u) -> ti.i32:
    """The index i in [0, n) of the first inclusive CDF entry cdf[first + i] above u
    (binary search: what a discrete distribution samples with u)."""
    lo = first
    hi = first + n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] <= u:
            lo = mid + 1
        else:
            hi = mid
    return lo - first
