"""The differentiable ``shade`` pass: replays trace's records and recomputes the radiance
from the parameter fields, with the bounce loop unrolled so ``ti.ad`` can differentiate it.

It is the same estimator as ``path.sample_path`` (the primal of the replay equals trace's
image to rounding; a test holds it to that), written in the path-space form that moves
with the geometry: vertex 0 is the camera ray hitting the recorded triangle's plane;
vertices k >= 1 and emitter samples sit at recorded barycentrics, and each segment into
them is weighted by f * |d direction / d barycentrics| / q, with q the density trace used.
At the recorded parameters that weight is exactly the BSDF weight trace used; under a
parameter change it is the interior derivative. MIS weights and Russian roulette are
constants. Visibility is not re-tested: that is what makes this the interior term only.
"""

import taichi as ti

from invrender import emitters
from invrender.bsdf import diffuse
from invrender.geometry.intersect import triangle
from invrender.integrators import records as R
from invrender.integrators.path import DEFAULT_REFLECTANCE

vec3 = ti.math.vec3


@ti.func
def barycentrics(p: vec3, e1: vec3, e2: vec3, cross: vec3):
    """(b1, b2) of the point v0 + p in the plane of the triangle (v0, v0 + e1, v0 + e2)."""
    inv = 1.0 / cross.dot(cross)
    return p.cross(e2).dot(cross) * inv, e1.cross(p).dot(cross) * inv


@ti.func
def replay_sample(g: ti.template(), rec: ti.template(), i: ti.i32) -> vec3:
    """Radiance of recorded sample ``i`` as a differentiable function of the parameters."""
    origin = vec3(g.camera[0], g.camera[1], g.camera[2])
    radiance = vec3(0.0)
    beta = vec3(1.0)
    alive = 1
    x_prev = vec3(0.0)
    n_prev = vec3(0.0)
    rho_prev = vec3(0.0)
    cos_prev = 0.0
    has_env = g.counts[1] > 0
    for k in ti.static(range(rec.depth)):
        tri = rec.tri[i, k]
        if alive and tri >= 0:
            v0, v1, v2 = triangle(g, tri)
            e1 = v1 - v0
            e2 = v2 - v0
            cross = e1.cross(e2)
            n = cross.normalized()
            x = vec3(0.0)
            d = vec3(0.0)
            b1 = 0.0
            b2 = 0.0
            if ti.static(k == 0):
                d = rec.cam_dir[i]
                x = origin + ((v0 - origin).dot(cross) / d.dot(cross)) * d
                b1, b2 = barycentrics(x - v0, e1, e2, cross)
            else:
                bary = rec.bary[i, k]
                b1 = bary[0]
                b2 = bary[1]
                x = v0 + b1 * e1 + b2 * e2
                seg = x - x_prev
                r2 = seg.dot(seg)
                d = seg / ti.sqrt(r2)
                f, _ = diffuse.eval_pdf(rho_prev, cos_prev, n_prev.dot(d))
                beta = beta * f * (ti.abs(cross.dot(d)) / (r2 * rec.q[i, k]))
            cos_i = -n.dot(d)
            e = g.tri_emitter[tri]
            if e >= 0 and cos_i > 0.0:
                radiance += beta * rec.mis[i, k] * emitters.radiance(g, e)
            if ti.static(k + 1 < rec.depth):
                ns = n
                rho = vec3(DEFAULT_REFLECTANCE)
                bsdf = g.tri_bsdf[tri]
                if bsdf >= 0:
                    rho = diffuse.reflectance(g, bsdf, tri, b1, b2)
                    if g.bsdf_twosided[bsdf] and cos_i < 0.0:
                        ns = -n
                        cos_i = -cos_i
                radiance += beta * light_sample(g, rec, i, k, x, ns, rho, cos_i)
                beta = beta * rec.rr[i, k]
                x_prev = x
                n_prev = ns
                rho_prev = rho
                cos_prev = cos_i
        elif alive and tri == R.ESCAPED:
            if has_env:
                w = rec.mis[i, k]
                if ti.static(k > 0):
                    d = rec.dir[i, k]
                    f, _ = diffuse.eval_pdf(rho_prev, cos_prev, n_prev.dot(d))
                    w = w / rec.q[i, k]
                    radiance += beta * f * w * emitters.environment(g)
                else:
                    radiance += w * emitters.environment(g)
            alive = 0
        else:
            alive = 0
    return radiance


@ti.func
def light_sample(g: ti.template(), rec: ti.template(), i: ti.i32, k: ti.template(), x: vec3,
                 ns: vec3, rho: vec3, cos_i) -> vec3:
    """The recorded emitter sample at vertex k, without the path throughput."""
    result = vec3(0.0)
    lt = rec.light_tri[i, k]
    if lt >= 0:
        l0, l1, l2 = triangle(g, lt)
        lp = rec.light_pos[i, k]
        lcross = (l1 - l0).cross(l2 - l0)
        seg = l0 + lp[0] * (l1 - l0) + lp[1] * (l2 - l0) - x
        r2 = seg.dot(seg)
        dl = seg / ti.sqrt(r2)
        cos_y = -lcross.dot(dl)
        if cos_y > 0.0:
            f, _ = diffuse.eval_pdf(rho, cos_i, ns.dot(dl))
            le = emitters.radiance(g, g.tri_emitter[lt])
            result = f * le * (cos_y * rec.light_mis[i, k] / (r2 * rec.light_q[i, k]))
    elif lt == R.ENV_LIGHT:
        dl = rec.light_pos[i, k]
        f, _ = diffuse.eval_pdf(rho, cos_i, ns.dot(dl))
        result = f * emitters.environment(g) * (rec.light_mis[i, k] / rec.light_q[i, k])
    return result


@ti.data_oriented
class Replay:
    """Owns the differentiated image and the ``shade`` kernel over one pass of records."""

    def __init__(self, fields, records):
        from invrender import runtime

        self.g, self.rec = fields, records
        self.height, self.width = fields.height, fields.width
        self.image = ti.field(runtime.current().real, shape=(self.height, self.width, 3),
                              needs_grad=True, needs_dual=True)

    @ti.kernel
    def shade(self, n_samples: ti.i32, weight: ti.f32):
        """image[pixel] += weight * radiance for the first n_samples records."""
        for i in range(n_samples):
            radiance = replay_sample(self.g, self.rec, i)
            p = self.rec.pixel[i]
            py = p // self.width
            px = p % self.width
            for c in ti.static(range(3)):
                self.image[py, px, c] += weight * radiance[c]
