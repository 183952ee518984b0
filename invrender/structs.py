"""The Taichi structs kernels pass around, typed in the render precision.

A struct's member types are fixed when the struct type is made, so the types are made anew
whenever Taichi starts (``runtime.on_init``); Taichi functions read them as
``structs.ShadingPoint``, ``structs.LightSample`` and ``structs.BsdfSample`` when they compile.
"""

import taichi as ti

from invrender import runtime


def _make(real):
    vec2 = ti.types.vector(2, real)
    vec3 = ti.types.vector(3, real)
    shading_point = ti.types.struct(
        p=vec3,  # position
        n=vec3,  # shading normal (the geometric one, flipped by twosided)
        s=vec3,  # tangent frame: (s, t, n) right-handed
        t=vec3,
        wi=vec3,  # direction towards where the light goes (the previous vertex), local
        uv=vec2,
        tri=ti.i32,
        bsdf=ti.i32,
        # with tangent frames only (else 0): dp/du, dp/dv and the unit geometric normal, world
        # space, what a bump map perturbs
        dp_du=vec3,
        dp_dv=vec3,
        ng=vec3)
    light_sample = ti.types.struct(
        d=vec3,  # unit direction from the receiver
        dist=real,  # distance to the point (1e30 at infinity)
        pdf=real,  # solid-angle density, 0 when nothing was sampled
        radiance=vec3,
        tri=ti.i32,  # the emitter triangle, -1 off surfaces
        pos=vec3,  # what the replay keeps fixed: barycentrics (b1, b2, 0) or the direction
        q=real,  # density of ``pos`` (per barycentric area, or per solid angle)
        delta=ti.i32,  # a delta distribution (no MIS with BSDF sampling)
        emitter=ti.i32)  # which emitter, -1 for none
    bsdf_sample = ti.types.struct(
        wo=vec3,  # sampled direction, local frame (a unit vector even when nothing was)
        weight=vec3,  # value * |cos theta_o| / pdf; 0 where nothing was sampled
        pdf=real,  # solid-angle density, or the lobe's probability for a delta lobe
        delta=ti.i32,  # the sampled lobe is a delta distribution (mirror, glass)
        lobe=ti.i32,  # which delta lobe (the plugin's numbering), for the replay
        eta=real)  # relative index of refraction crossed (1 unless transmitted)
    return shading_point, light_sample, bsdf_sample


ShadingPoint, LightSample, BsdfSample = _make(ti.f32)


def _set_precision(real) -> None:
    global ShadingPoint, LightSample, BsdfSample
    ShadingPoint, LightSample, BsdfSample = _make(real)


runtime.on_init(_set_precision)
