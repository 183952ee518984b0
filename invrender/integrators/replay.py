"""The differentiable replay: trace's records recomputed from the parameter fields, one
kernel launch per path vertex, so ``ti.ad`` differentiates it without unrolled bounce loops
(compile time independent of the depth) and without an AD stack.

It is the same estimator as ``path.trace_path`` (the replay's primal equals trace's image
to rounding; a test holds it to that), written in the path-space form that moves with the
geometry: vertex 0 is the camera ray hitting the recorded triangle's plane; vertices
k >= 1 and emitter samples sit at recorded barycentrics, and each segment into them is
weighted by f * |d direction / d barycentrics| / q, with q the density trace used. At the
recorded parameters that weight is exactly the BSDF weight trace used; under a parameter
change it is the interior derivative. A vertex after a delta lobe (mirror, glass) is a
specular chain's next link: the lobe's direction is recomputed from the parameters (the
shading normal, the IOR) and the vertex slides along it in the recorded triangle's plane,
as vertex 0 slides along the camera ray; its weight is the lobe's value / q. MIS weights
and Russian roulette are constants. Visibility is not re-tested: that is what makes this
the interior term only.

Vertex kernel k runs over the slots s = k n + i of vertex k (n samples in the pass). It
writes what vertex k adds to the sample's radiance (``rec.emitted[s]``), and for vertex
k + 1 (slot s + n) the throughput into it, its position and normal, and vertex k's
position (``rec.throughput``, ``position``, ``normal``, ``previous``), which kernel k + 1
reads at its own slot. Every per-slot value a kernel reads is indexed by its loop index:
Taichi then accumulates their gradients with plain adds, where any other index costs an
atomic add (7x slower on the CPU). The shared vertices and parameters are still read
through atomics, once per path vertex each (a triangle is fetched by the kernel that
first needs it), and on the CPU those contended atomics set the speed of the gradient.

Reverse mode runs the kernels forward, then their ``.grad`` from the last vertex to the
first; forward mode runs them in order under ``ti.ad`` forward mode.
"""

import taichi as ti

from invrender.emitters import registry as emitters
from invrender.geometry.intersect import triangle
from invrender.integrators import records as R
from invrender.shading import bsdf_delta, bsdf_eval, shading_point, surface_uv

vec2 = ti.math.vec2
vec3 = ti.math.vec3


@ti.func
def barycentrics(p: vec3, e1: vec3, e2: vec3, cross: vec3):
    """(b1, b2) of the point v0 + p in the plane of the triangle (v0, v0 + e1, v0 + e2)."""
    inv = 1.0 / cross.dot(cross)
    return p.cross(e2).dot(cross) * inv, e1.cross(p).dot(cross) * inv


@ti.func
def on_plane(o: vec3, d: vec3, v0: vec3, cross: vec3) -> vec3:
    """Where the ray o + t d meets the plane through v0 with normal cross."""
    return o + ((v0 - o).dot(cross) / d.dot(cross)) * d


@ti.func
def vertex_position(g: ti.template(), k: ti.i32, n: ti.i32, i: ti.i32):
    """Recorded vertex k of sample i as a function of the vertex positions: (x, unit
    geometric normal, unnormalised normal, b1, b2). Vertex 0 slides along its camera ray
    with the triangle's plane; deeper vertices sit at their barycentrics."""
    rec = g.rec
    tri = rec.tri[k * n + i]
    v0, v1, v2 = triangle(g, tri)
    e1 = v1 - v0
    e2 = v2 - v0
    cross = e1.cross(e2)
    x = vec3(0.0)
    b1 = 0.0
    b2 = 0.0
    if k == 0:
        o = rec.ray_o[i]
        d = rec.ray_d[i]
        x = on_plane(o, d, v0, cross)
        b1, b2 = barycentrics(x - v0, e1, e2, cross)
    else:
        bary = rec.bary[k * n + i]
        b1 = bary[0]
        b2 = bary[1]
        x = v0 + b1 * e1 + b2 * e2
    return x, cross.normalized(), cross, b1, b2


@ti.data_oriented
class Replay:
    """The vertex kernel over one ``Program``; its records are ``g.rec``."""

    def __init__(self, g):
        self.g = g

    @ti.kernel
    def clear_derivatives(self, n: ti.i32, vertices: ti.i32, dual: ti.template(),
                          geometry: ti.template()):
        """Zero the duals (``dual``) or the gradients of the per-slot state of n samples
        of ``vertices`` vertices (the geometric ones with ``geometry``). Forward mode
        accumulates into duals even where the primal is assigned, and the gradients
        accumulate, so both must start at 0 every pass."""
        rec = self.g.rec
        for s in range(n * vertices):
            if ti.static(dual):
                rec.emitted.dual[s] = vec3(0.0)
                rec.throughput.dual[s] = vec3(0.0)
                rec.position.dual[s] = vec3(0.0)
                rec.normal.dual[s] = vec3(0.0)
                rec.previous.dual[s] = vec3(0.0)
            else:
                rec.throughput.grad[s] = vec3(0.0)
                if ti.static(geometry):
                    rec.position.grad[s] = vec3(0.0)
                    rec.normal.grad[s] = vec3(0.0)
                    rec.previous.grad[s] = vec3(0.0)

    @ti.kernel
    def vertex(self, k: ti.i32, n: ti.i32, max_depth: ti.i32, geometry: ti.template()):
        """Path vertex k of the first n records: see the module docstring. Without
        ``geometry`` (a compile-time switch) reverse mode leaves the vertex positions'
        gradients out: a third of its atomic adds when only colours are differentiated."""
        g = self.g
        rec = g.rec
        if ti.static(not geometry):  # nothing but the geometry depends on these
            ti.stop_grad(g.vtx)
            ti.stop_grad(g.vnormal)
            ti.stop_grad(rec.position)
            ti.stop_grad(rec.normal)
            ti.stop_grad(rec.previous)
        for s in range(k * n, k * n + n):
            i = s - k * n
            if k < rec.length[i]:
                tri = rec.tri[s]
                beta = vec3(1.0)
                if k > 0:
                    beta = rec.throughput[s]
                contribution = vec3(0.0)
                if tri == R.ESCAPED:
                    if k == 0:  # the camera ray escaped: the environment seen directly
                        contribution = rec.mis[s] * emitters.environment_radiance(g,
                                                                                  rec.ray_d[i])
                else:
                    x = vec3(0.0)
                    cross = vec3(0.0)
                    wi = vec3(0.0)
                    b1 = 0.0
                    b2 = 0.0
                    if k == 0:
                        x, ng0, cross, b1, b2 = vertex_position(g, 0, n, i)
                        wi = -rec.ray_d[i]
                    else:
                        x = rec.position[s]
                        cross = rec.normal[s]
                        wi = (rec.previous[s] - x).normalized()
                        bary = rec.bary[s]
                        b1 = bary[0]
                        b2 = bary[1]
                        if ti.static(g.delta_lobes):
                            if rec.lobe[s - n] != R.NOT_DELTA:  # slid along a delta lobe
                                v0, v1, v2 = triangle(g, tri)
                                b1, b2 = barycentrics(x - v0, v1 - v0, v2 - v0, cross)
                    ng = cross.normalized()
                    cos_i = ng.dot(wi)
                    e = g.tri_emitter[tri]
                    if e >= 0 and cos_i > 0.0:  # emission found at vertex k
                        le = emitters.surface_radiance(g, e, surface_uv(g, tri, b1, b2), -wi,
                                                       cos_i)
                        contribution += rec.mis[s] * le
                    if k + 1 < max_depth:
                        sp = shading_point(g, tri, b1, b2, x, ng, wi)
                        contribution += self.light_sample(sp, s, x)
                        contribution += self.next_vertex(sp, k, n, s, x, beta)
                rec.emitted[s] = beta * contribution

    @ti.func
    def light_sample(self, sp: ti.template(), s: ti.i32, x: vec3) -> vec3:
        """The recorded emitter sample at this vertex, without the path throughput."""
        g = self.g
        rec = g.rec
        result = vec3(0.0)
        e = rec.light_em[s]
        if e >= 0:
            d, factor, le = emitters.replay(g, e, rec.light_tri[s], rec.light_pos[s],
                                            rec.light_q[s], x)
            result = bsdf_eval(g, sp, d) * le * (factor * rec.light_mis[s])
        return result

    @ti.func
    def next_vertex(self, sp: ti.template(), k: ti.i32, n: ti.i32, s: ti.i32, x: vec3,
                    beta: vec3) -> vec3:
        """Write vertex k + 1's throughput and geometry; return what an escape there adds."""
        g = self.g
        rec = g.rec
        result = vec3(0.0)
        if k + 1 < rec.length[s - k * n]:
            nxt = s + n
            rr = rec.rr[s]
            escaped = rec.tri[nxt] == R.ESCAPED
            lobe = R.NOT_DELTA
            d = rec.dir[nxt]
            value = vec3(0.0)
            if ti.static(g.delta_lobes):  # only scenes with mirrors or glass compile it
                lobe = rec.lobe[s]
                if lobe != R.NOT_DELTA:
                    d, value = bsdf_delta(g, sp, lobe)
            jacobian = 1.0  # |d direction / d barycentrics| of the next vertex
            if not escaped:
                v0, v1, v2 = triangle(g, rec.tri[nxt])
                cross = (v1 - v0).cross(v2 - v0)
                y = vec3(0.0)
                if ti.static(g.delta_lobes) and lobe != R.NOT_DELTA:
                    y = on_plane(x, d, v0, cross)
                else:
                    bary = rec.bary[nxt]
                    y = v0 + bary[0] * (v1 - v0) + bary[1] * (v2 - v0)
                    seg = y - x
                    r2 = seg.dot(seg)
                    d = seg / ti.sqrt(r2)
                    jacobian = ti.abs(cross.dot(d)) / r2
                rec.position[nxt] = y
                rec.normal[nxt] = cross
                rec.previous[nxt] = x
            if lobe == R.NOT_DELTA:
                value = bsdf_eval(g, sp, d)
            f = value * (rr / rec.q[nxt])
            if escaped:
                result = f * emitters.environment_radiance(g, d) * rec.mis[nxt]
            else:
                rec.throughput[nxt] = beta * f * jacobian
        return result
