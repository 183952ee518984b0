"""The path tracer: Mitsuba 3's ``path`` integrator as a Taichi kernel.

Emitter sampling and BSDF sampling combined with the power heuristic, Mitsuba's
``max_depth`` (1 = emitters seen directly, 2 = direct light, 3 = one indirect bounce,
-1 = unbounded) and Russian roulette from ``rr_depth``. Each thread renders all samples of
one pixel in a fixed order, so the same seed gives the same image bit for bit.
"""


import taichi as ti

from invrender import emitters, runtime, sampler
from invrender.bsdf import diffuse
from invrender.camera import generate_ray
from invrender.geometry.intersect import intersect, occluded, triangle
from invrender.integrators import records as R
from invrender.sampler import uniform
from invrender.warp import coordinate_system, power_heuristic

vec3 = ti.math.vec3
UNBOUNDED = 1 << 30
DEFAULT_REFLECTANCE = 0.5  # Mitsuba gives a shape without a BSDF a grey diffuse one


def depth_argument(max_depth: int) -> int:
    """Mitsuba's max_depth as the kernel takes it (-1 means unbounded)."""
    return UNBOUNDED if max_depth < 0 else max_depth


@ti.func
def ray_epsilon(x: vec3):
    """Self-intersection margin, relative to the magnitude of the position."""
    return 1e-5 * (1.0 + ti.abs(x).max())


@ti.func
def film_point(key: ti.u32, px: ti.i32, py: ti.i32):
    """A uniform point inside pixel (px, py): the box filter."""
    return (px + uniform(key, sampler.DIM_FILM), py + uniform(key, sampler.DIM_FILM + 1))


@ti.func
def sample_path(g: ti.template(), key: ti.u32, fx, fy, max_depth: ti.i32,
                rr_depth: ti.i32, rec: ti.template(), i: ti.i32) -> vec3:
    """Radiance carried by one camera path through the film point (fx, fy) in pixels.

    With ``rec.enabled`` (a compile-time switch) it also writes sample ``i``'s records
    for the replay; the path and its radiance are the same either way.
    """
    o, d, tmin = generate_ray(g.camera, fx, fy)
    if ti.static(rec.enabled):
        rec.cam_dir[i] = d
        for k in ti.static(range(rec.depth)):
            rec.tri[i, k] = R.END
            rec.light_tri[i, k] = R.NO_LIGHT
            rec.rr[i, k] = 1.0
    return trace_ray(g, key, o, d, tmin, -1, 0, max_depth, rr_depth, rec, i, True)


@ti.func
def trace_ray(g: ti.template(), key: ti.u32, o0: vec3, d0: vec3, tmin0, skip0: ti.i32,
              depth0: ti.i32, max_depth: ti.i32, rr_depth: ti.i32, rec: ti.template(),
              i: ti.i32, first_emission: ti.template()) -> vec3:
    """Radiance arriving at o0 along -d0 from a path whose next vertex is number ``depth0``
    (0 for a camera ray). Without ``first_emission`` the emission found by this first
    segment is left out: the reflected radiance of the surface it hits, which the
    indirect visibility term needs."""
    o, d, tmin, skip, depth = o0, d0, tmin0, skip0, depth0
    radiance = vec3(0.0)
    beta = vec3(1.0)
    prev_pdf = 1.0
    prev_delta = 1
    while True:
        tri, t, b1, b2 = intersect(g, o, d, tmin, 1e30, skip)
        emits = 1
        if ti.static(not first_emission):
            emits = ti.select(depth > depth0, 1, 0)
        if tri < 0:
            w = 1.0
            if g.counts[1] > 0 and emits:  # escaped to the environment
                if not prev_delta:
                    w = power_heuristic(prev_pdf, emitters.env_pdf(g))
                radiance += beta * w * emitters.environment(g)
            if ti.static(rec.enabled):
                rec.tri[i, depth] = R.ESCAPED
                rec.dir[i, depth] = d
                rec.q[i, depth] = prev_pdf
                rec.mis[i, depth] = w
            break
        v0, v1, v2 = triangle(g, tri)
        cross = (v1 - v0).cross(v2 - v0)
        ng = cross.normalized()
        x = o + t * d
        cos_i = -ng.dot(d)

        e = g.tri_emitter[tri]
        w_emit = 1.0
        if e >= 0 and cos_i > 0.0 and emits:  # emitter hit (one-sided)
            if not prev_delta:
                w_emit = power_heuristic(prev_pdf, emitters.area_pdf(g, e) * t * t / cos_i)
            radiance += beta * w_emit * emitters.radiance(g, e)
        if ti.static(rec.enabled):
            rec.tri[i, depth] = tri
            rec.bary[i, depth] = ti.Vector([b1, b2])
            rec.dir[i, depth] = d
            rec.beta[i, depth] = beta  # for the shadow term at this vertex
            # density of these barycentrics: solid-angle pdf x |d(direction)/d(barycentrics)|
            rec.q[i, depth] = prev_pdf * ti.abs(cross.dot(d)) / (t * t)
            rec.mis[i, depth] = w_emit

        if depth + 1 >= max_depth:
            break

        n = ng
        bsdf = g.tri_bsdf[tri]
        rho = vec3(DEFAULT_REFLECTANCE)
        if bsdf >= 0:
            rho = diffuse.reflectance(g, bsdf, tri, b1, b2)
            if g.bsdf_twosided[bsdf] and cos_i < 0.0:
                n = -ng
                cos_i = -cos_i
        base = sampler.DIM_BOUNCE_BASE + depth * sampler.DIM_STRIDE
        eps = ray_epsilon(x)

        # emitter sampling
        etri, eb1, eb2, ed, edist, epdf, le = emitters.sample_emitter(
            g, x, uniform(key, base + sampler.OFF_EMITTER_SELECT),
            uniform(key, base + sampler.OFF_TRIANGLE),
            uniform(key, base + sampler.OFF_EMITTER_2D),
            uniform(key, base + sampler.OFF_EMITTER_2D + 1))
        if epdf > 0.0:
            f, bpdf = diffuse.eval_pdf(rho, cos_i, n.dot(ed))
            if f.max() > 0.0:
                tmax = edist * (1.0 - 1e-4) if etri >= 0 else 1e30
                if not occluded(g, x, ed, eps, tmax, tri, etri):
                    w_light = power_heuristic(epdf, bpdf)
                    radiance += beta * f * le * (w_light / epdf)
                    if ti.static(rec.enabled):
                        rec.light_tri[i, depth] = etri  # ENV_LIGHT (-1) for the environment
                        rec.light_mis[i, depth] = w_light
                        if etri >= 0:
                            l0, l1, l2 = triangle(g, etri)
                            jac = ti.abs((l1 - l0).cross(l2 - l0).dot(ed)) / (edist * edist)
                            rec.light_pos[i, depth] = vec3(eb1, eb2, 0.0)
                            rec.light_q[i, depth] = epdf * jac
                        else:
                            rec.light_pos[i, depth] = ed
                            rec.light_q[i, depth] = epdf

        # BSDF sampling
        wo, weight, bpdf = diffuse.sample(rho, cos_i,
                                          uniform(key, base + sampler.OFF_BSDF_2D),
                                          uniform(key, base + sampler.OFF_BSDF_2D + 1))
        s, tt = coordinate_system(n)
        d = (s * wo.x + tt * wo.y + n * wo.z).normalized()
        beta *= weight
        prev_pdf = bpdf
        prev_delta = 0
        o = x
        tmin = eps
        skip = tri
        depth += 1

        beta_max = beta.max()
        if beta_max <= 0.0:
            break
        if depth >= rr_depth:  # Russian roulette, as Mitsuba (eta = 1 for diffuse)
            q = ti.min(beta_max, 0.95)
            beta /= q
            if ti.static(rec.enabled):
                rec.rr[i, depth - 1] = 1.0 / q
            if uniform(key, base + sampler.OFF_RR) >= q:
                break
        if ti.static(rec.enabled):
            if depth >= rec.depth:  # the records hold no more vertices
                break
    return radiance


@ti.data_oriented
class PathIntegrator:
    """Renders a ``SceneFields`` into a per-pass sum image (H, W, 3)."""

    def __init__(self, fields):
        self.g = fields
        self.height, self.width = fields.height, fields.width
        self.sum = ti.field(runtime.current().real, shape=(self.height, self.width, 3))
        self.compiled = False
        self.no_records = R.NoRecords()

    @ti.kernel
    def render_pass(self, seed: ti.u32, first_sample: ti.i32, n_samples: ti.i32,
                    max_depth: ti.i32, rr_depth: ti.i32):
        """Add the radiance of samples [first_sample, first_sample + n_samples) to ``sum``."""
        for py, px in ti.ndrange(self.height, self.width):
            pixel = ti.u32(py * self.width + px)
            acc = vec3(0.0)
            for s in range(n_samples):
                key = sampler.sample_key(seed, pixel, ti.u32(first_sample + s))
                fx, fy = film_point(key, px, py)
                acc += sample_path(self.g, key, fx, fy, max_depth, rr_depth,
                                   self.no_records, 0)
            for c in ti.static(range(3)):
                self.sum[py, px, c] += acc[c]

    @ti.kernel
    def radiance_at(self, points: ti.types.ndarray(), out: ti.types.ndarray(), seed: ti.u32,
                    max_depth: ti.i32, rr_depth: ti.i32):
        """One path sample through each film point points[j] = (x, y) in pixels, keyed by
        pairs: points 2k and 2k + 1 share their random numbers (the two sides of an edge)."""
        for j in range(points.shape[0]):
            key = sampler.sample_key(seed, ti.u32(j // 2), ti.u32(0x5EED))
            radiance = sample_path(self.g, key, points[j, 0], points[j, 1], max_depth,
                                   rr_depth, self.no_records, 0)
            for c in ti.static(range(3)):
                out[j, c] = radiance[c]

    @ti.kernel
    def trace_pass(self, seed: ti.u32, first_sample: ti.i32, n_samples: ti.i32,
                   max_depth: ti.i32, rr_depth: ti.i32, rec: ti.template()):
        """Like ``render_pass``, and write the records of sample j of pixel p at p * n + j."""
        for py, px in ti.ndrange(self.height, self.width):
            pixel = py * self.width + px
            acc = vec3(0.0)
            for s in range(n_samples):
                key = sampler.sample_key(seed, ti.u32(pixel), ti.u32(first_sample + s))
                rec.pixel[pixel * n_samples + s] = pixel
                fx, fy = film_point(key, px, py)
                acc += sample_path(self.g, key, fx, fy, max_depth, rr_depth, rec,
                                   pixel * n_samples + s)
            for c in ti.static(range(3)):
                self.sum[py, px, c] += acc[c]
