"""The shading point: one function sets up the frame every kernel shades in.

Trace, replay and the boundary kernels all call ``shading_point`` at a surface point and
then the BSDF through ``bsdf_eval``/``bsdf_pdf``/``bsdf_sample``/``bsdf_delta``, which
dispatch on the BSDF's registered type among the configuration's plugins (``g.bsdfs``).
Directions in the point's local frame have z along the shading normal; ``twosided`` BSDFs
flip the frame to the side the incoming direction is on, so one-sided plugins see wi.z > 0
from both sides, and a twosided with two BSDFs shades the back with the second.
"""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import BSDF_FLAGS, CHILDREN_AT, SMOOTH, TEXTURES_AT
from invrender.geometry.intersect import triangle
from invrender.state import BSDF_INTS
from invrender.textures.registry import lookup_1_among, lookup_among
from invrender.warp import coordinate_system

vec2 = ti.math.vec2
vec3 = ti.math.vec3
TO_VIEWER_EPS = 6e-6  # Mitsuba's 100 float32 epsilons


@ti.func
def surface_uv(g: ti.template(), tri: ti.i32, b1, b2) -> vec2:
    """Texture coordinates at barycentrics (b1, b2): interpolated vertex uvs, or (b1, b2)
    for a mesh without them, as Mitsuba."""
    uv = vec2(b1, b2)
    if g.tri_has_uv[tri]:
        uv0, uv1, uv2 = triangle_uvs(g, tri)
        uv = (1.0 - b1 - b2) * uv0 + b1 * uv1 + b2 * uv2
    return uv


@ti.func
def triangle_uvs(g: ti.template(), tri: ti.i32):
    """The texture coordinates of the three corners of a triangle with uvs."""
    i0 = g.tri[3 * tri]
    i1 = g.tri[3 * tri + 1]
    i2 = g.tri[3 * tri + 2]
    return (vec2(g.uv[2 * i0], g.uv[2 * i0 + 1]), vec2(g.uv[2 * i1], g.uv[2 * i1 + 1]),
            vec2(g.uv[2 * i2], g.uv[2 * i2 + 1]))


@ti.func
def shading_normal(g: ti.template(), tri: ti.i32, b1, b2, ng: vec3) -> vec3:
    """The interpolated vertex normal at barycentrics (b1, b2), as Mitsuba's meshes with
    normals shade; ng (the unit geometric normal) for meshes without."""
    n = ng
    if ti.static(g.smooth_normals):
        if g.tri_has_normal[tri]:
            i0 = g.tri[3 * tri]
            i1 = g.tri[3 * tri + 1]
            i2 = g.tri[3 * tri + 2]
            b0 = 1.0 - b1 - b2
            interpolated = vec3(0.0)
            for c in ti.static(range(3)):
                interpolated[c] = (b0 * ti.cast(g.vnormal[3 * i0 + c], float)
                                   + b1 * ti.cast(g.vnormal[3 * i1 + c], float)
                                   + b2 * ti.cast(g.vnormal[3 * i2 + c], float))
            length = interpolated.norm()
            if length > 0.0:
                n = interpolated / length
    return n


@ti.func
def shading_point(g: ti.template(), tri: ti.i32, b1, b2, x: vec3, ng: vec3,
                  wi: vec3):
    """The shading point at x on triangle ``tri`` (unit geometric normal ng), lit towards
    the world direction wi (unit, pointing away from the surface for a front hit). BSDFs
    see the shading frame only, as in Mitsuba."""
    return silhouette_shading_point(g, tri, b1, b2, x, ng, wi, 0)


@ti.func
def silhouette_shading_point(g: ti.template(), tri: ti.i32, b1, b2, x: vec3, ng: vec3,
                             wi: vec3, to_viewer):
    """``shading_point``; with ``to_viewer`` its normal, where it faces away from wi (as an
    interpolated normal can near a silhouette, where a diffuse surface would then be black),
    is turned to wi's side: Mitsuba's correction of the inner side of silhouette samples
    (direct_projective's sample_radiance_difference)."""
    bsdf = g.tri_bsdf[tri]
    n = shading_normal(g, tri, b1, b2, ng)
    if to_viewer:
        alpha = -n.dot(wi)
        if alpha > -TO_VIEWER_EPS:
            n = (n - (alpha + TO_VIEWER_EPS) * -wi).normalized()
    if g.bsdf_ints[BSDF_INTS * bsdf] and n.dot(wi) < 0.0:  # twosided
        n = -n
        back = g.bsdf_ints[BSDF_INTS * bsdf + 1]
        if back >= 0:
            bsdf = back
    s, t = coordinate_system(n)
    dp_du = vec3(0.0)
    dp_dv = vec3(0.0)
    if ti.static(g.tangent_frames):  # s along dp/du, as Mitsuba's shading frame
        dp_du, dp_dv = surface_derivatives(g, tri)
        along = dp_du - n * n.dot(dp_du)
        if along.norm() > 0.0:
            s = along.normalized()
            t = n.cross(s)
    return structs.ShadingPoint(p=x, n=n, s=s, t=t, wi=vec3(s.dot(wi), t.dot(wi), n.dot(wi)),
                                uv=surface_uv(g, tri, b1, b2), tri=tri, bsdf=bsdf, dp_du=dp_du,
                                dp_dv=dp_dv, ng=ng)


@ti.func
def surface_derivatives(g: ti.template(), tri: ti.i32):
    """(dp/du, dp/dv): the position's derivatives along the texture's u and v, as Mitsuba's
    meshes compute them (v1 - v0 and v2 - v0 for a mesh without uvs or with degenerate
    ones): what orients anisotropic BSDFs and normal maps, and what a bump map tilts."""
    v0, v1, v2 = triangle(g, tri)
    dp0 = v1 - v0
    dp1 = v2 - v0
    dp_du = dp0
    dp_dv = dp1
    if g.tri_has_uv[tri]:
        uv0, uv1, uv2 = triangle_uvs(g, tri)
        duv0 = uv1 - uv0
        duv1 = uv2 - uv0
        det = duv0.x * duv1.y - duv0.y * duv1.x
        if det != 0.0:
            dp_du = (duv1.y * dp0 - duv0.y * dp1) / det
            dp_dv = (duv0.x * dp1 - duv1.x * dp0) / det
    return dp_du, dp_dv


@ti.func
def to_local(sp: ti.template(), v: vec3) -> vec3:
    return vec3(sp.s.dot(v), sp.t.dot(v), sp.n.dot(v))


@ti.func
def to_world(sp: ti.template(), v: vec3) -> vec3:
    return sp.s * v.x + sp.t * v.y + sp.n * v.z


@ti.func
def bsdf_texture(g: ti.template(), sp: ti.template(), j: ti.template()) -> ti.i32:
    """The texture of the BSDF's j-th texture parameter (its plugin's ``textures`` order)."""
    return g.bsdf_ints[BSDF_INTS * sp.bsdf + TEXTURES_AT + j]


@ti.func
def bsdf_color(g: ti.template(), sp: ti.template(), j: ti.template()):
    """The BSDF's j-th texture parameter at the shading point, RGB. ``g`` is the plugin's
    view (``program.PluginView``): the lookup dispatches only among the texture types this
    slot holds in the scene."""
    return lookup_among(g, bsdf_texture(g, sp, j), sp.uv, g.slot_types[j])


@ti.func
def bsdf_float(g: ti.template(), sp: ti.template(), j: ti.template()):
    """The BSDF's j-th texture parameter as one float, as Mitsuba's ``eval_1`` reads it
    (the luminance of an RGB texture; the value itself for a ``<float>``)."""
    return lookup_1_among(g, bsdf_texture(g, sp, j), sp.uv, g.slot_types[j])


@ti.func
def bsdf_smooth(g: ti.template(), sp: ti.template()) -> ti.i32:
    """Whether the BSDF has non-delta lobes (if not, sampling an emitter is useless)."""
    return (g.bsdf_ints[BSDF_INTS * sp.bsdf + BSDF_FLAGS] & SMOOTH) != 0


@ti.func
def child_point(g: ti.template(), sp: ti.template(), c: ti.template()):
    """The shading point as a wrapper's (blendbsdf, mask) child BSDF c sees it."""
    return seen_by(sp, g.bsdf_ints[BSDF_INTS * sp.bsdf + CHILDREN_AT + c], sp.wi)


@ti.func
def seen_by(sp: ti.template(), bsdf: ti.i32, wi: vec3):
    """The shading point with another BSDF row and local incident direction (a wrapper's
    child, possibly in a perturbed frame)."""
    return structs.ShadingPoint(p=sp.p, n=sp.n, s=sp.s, t=sp.t, wi=wi, uv=sp.uv, tri=sp.tri,
                                bsdf=bsdf, dp_du=sp.dp_du, dp_dv=sp.dp_dv, ng=sp.ng)


@ti.func
def local_eval(g: ti.template(), sp: ti.template(), wo: vec3, leaves: ti.template()) -> vec3:
    """eval at a local direction, dispatched among all plugins or (``leaves``) those that
    hold no other BSDF: what a wrapper calls for its children."""
    result = vec3(0.0)
    choices = ti.static(g.leaf_bsdfs if leaves else g.every_bsdf)
    code = g.bsdf_type[sp.bsdf]
    for j in ti.static(choices):
        if ti.static(len(choices) == 1):  # one type: no branch (simpler reverse mode)
            result = g.bsdfs[j].eval(g.bsdf_views[j], sp, wo)
        elif code == j:
            result = g.bsdfs[j].eval(g.bsdf_views[j], sp, wo)
    return result


@ti.func
def local_pdf(g: ti.template(), sp: ti.template(), wo: vec3, leaves: ti.template()):
    result = 0.0
    choices = ti.static(g.leaf_bsdfs if leaves else g.every_bsdf)
    code = g.bsdf_type[sp.bsdf]
    for j in ti.static(choices):
        if ti.static(len(choices) == 1):
            result = g.bsdfs[j].pdf(g.bsdf_views[j], sp, wo)
        elif code == j:
            result = g.bsdfs[j].pdf(g.bsdf_views[j], sp, wo)
    return result


@ti.func
def local_sample(g: ti.template(), sp: ti.template(), u0, u1, u2, leaves: ti.template()):
    bs = no_sample()
    choices = ti.static(g.leaf_bsdfs if leaves else g.every_bsdf)
    code = g.bsdf_type[sp.bsdf]
    for j in ti.static(choices):
        if ti.static(len(choices) == 1):
            bs = g.bsdfs[j].sample(g.bsdf_views[j], sp, u0, u1, u2)
        elif code == j:
            bs = g.bsdfs[j].sample(g.bsdf_views[j], sp, u0, u1, u2)
    return bs


@ti.func
def local_delta(g: ti.template(), sp: ti.template(), lobe: ti.i32, leaves: ti.template()):
    wo = vec3(0.0, 0.0, 1.0)
    value = vec3(0.0)
    code = g.bsdf_type[sp.bsdf]
    for j in ti.static(g.leaf_bsdfs if leaves else g.every_bsdf):
        if ti.static(g.bsdf_has_delta[j]):
            if code == j:
                wo, value = g.bsdfs[j].delta(g.bsdf_views[j], sp, lobe)
    return wo, value


@ti.func
def bsdf_eval(g: ti.template(), sp: ti.template(), wo_world: vec3) -> vec3:
    """BSDF value times |cos theta_o| for the world direction wo_world."""
    return local_eval(g, sp, to_local(sp, wo_world), False)


@ti.func
def bsdf_pdf(g: ti.template(), sp: ti.template(), wo_world: vec3):
    """Solid-angle density with which ``bsdf_sample`` picks wo_world."""
    return local_pdf(g, sp, to_local(sp, wo_world), False)


@ti.func
def no_sample():
    """The BsdfSample of nothing sampled: weight 0, a unit direction."""
    return structs.BsdfSample(wo=vec3(0.0, 0.0, 1.0), weight=vec3(0.0), pdf=0.0, delta=0,
                              lobe=0, eta=1.0)


@ti.func
def bsdf_sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    """A ``structs.BsdfSample`` with ``wo`` in world space; weight 0 where nothing is
    sampled (the direction is then still a unit vector)."""
    bs = local_sample(g, sp, u0, u1, u2, False)
    bs.wo = to_world(sp, bs.wo).normalized()
    return bs


@ti.func
def bsdf_delta(g: ti.template(), sp: ti.template(), lobe: ti.i32):
    """(world direction, value) of the BSDF's delta lobe ``lobe``, as ``sample`` chose it."""
    wo, value = local_delta(g, sp, lobe, False)
    return to_world(sp, wo).normalized(), value
