"""The shadow-edge boundary term of direct illumination (BOUNDARY.md §1 "Shadow edge").

At a path vertex x of every traced sample, one edge that can cast a shadow of a
light is drawn in proportion to its length (Lambda = their total length), and a point y
uniformly on the part of it through which x sees an emitter (``light_interval``); a drawn
edge that is not a silhouette seen from x adds nothing. The jump in direct light across
the shadow boundary, seen from x, is estimated with two rays through y offset to either
side of the plane (x, v0, v1), which reach the light at z (distance r_z). With n the unit
normal of that plane the contribution is

    f cos(theta) (L_- - L_+) (sin(phi) / r) Lambda / N * omega_n,
    omega_n = n . y_dot / r + n . x_dot (1 / r_z - 1 / r) - n . z_dot / r_z,

the normal speed of the shadow boundary on the sphere of directions at x, relative to the
light point that the replay holds fixed (y on the occluder edge, x the receiver point on its
camera ray, z on the emitter; for the environment, whose directions the replay holds fixed,
1 / r_z = 0). The y term is sampled from the edges of the moving meshes;
the x and z terms (a moving receiver or light) from the edges of every mesh. Every path
vertex that samples an emitter gets the term, weighted by the path throughput into it;
vertex 0 slides along its camera ray, deeper vertices move with their barycentrics. The
replay holds points on the occluder fixed on it, so only the far side has a moving
boundary: the jump is 0 - L_far.

With ``indirect`` the same sampler serves the segment from vertex k to a next surface
(max_depth >= 3): every boundary edge and crease is a candidate and L_far is the light the
far surface reflects (one path sample, traced by the path kernel from the rays this kernel
writes; its emission is the shadow term's). It matches finite
differences at single points (tests/test_boundary.py) but leaves a bias on the Cornell box
at max_depth 3, so it is called approximate. An edge hidden from x (the far ray stops
before it) adds nothing.
"""

import numpy as np
import taichi as ti

from invrender import sampler
from invrender.emitters import registry as emitters
from invrender.geometry.edges import shadow_edges
from invrender.geometry.intersect import intersect, triangle, vertex
from invrender.integrators.boundary import BoundarySamples
from invrender.integrators.path import ray_epsilon
from invrender.integrators.replay import vertex_position
from invrender.shading import bsdf_eval, shading_point, surface_uv
from invrender.state import BOX_TRIANGLES, EMITTER_BOX, EMITTER_FLOATS, EMITTER_INTS
from invrender.warp import search_cdf

vec2 = ti.math.vec2
vec3 = ti.math.vec3
SIDE_OFFSET = 1e-4  # angular offset of the two rays, radians


ENV_HIT = -2  # emitter_hit's triangle when the ray escapes to the environment


@ti.func
def emitter_hit(g: ti.template(), x: vec3, d: vec3, eps, skip: ti.i32):
    """(radiance, 1 / distance, triangle, b1, b2) of what x sees along d: a front-facing
    emitter triangle, ENV_HIT (at infinity) for the environment, else radiance 0 and -1."""
    tri, t, b1, b2 = intersect(g, x, d, eps, 1e30, skip)
    result = vec3(0.0)
    hit = -1
    inv_t = 0.0
    if tri >= 0:
        e = g.tri_emitter[tri]
        v0, v1, v2 = triangle(g, tri)
        cos_front = -(v1 - v0).cross(v2 - v0).dot(d)
        if e >= 0 and cos_front > 0.0:
            result = emitters.surface_radiance(g, e, surface_uv(g, tri, b1, b2), d, cos_front)
            hit = tri
            inv_t = 1.0 / t
    elif emitters.environment(g) >= 0:
        result = emitters.environment_radiance(g, d)
        hit = ENV_HIT
    return result, inv_t, hit, b1, b2


@ti.func
def _keep_positive(t0, t1, alpha, beta):
    """Clip [t0, t1] to where alpha + beta t >= 0."""
    if ti.abs(beta) < 1e-20:
        if alpha < 0.0:
            t0, t1 = 1.0, 0.0
    elif beta > 0.0:
        t0 = ti.max(t0, -alpha / beta)
    else:
        t1 = ti.min(t1, -alpha / beta)
    return t0, t1


@ti.func
def _cone_side(t0, t1, x: vec3, a: vec3, ab: vec3, p: vec3, q: vec3, r: vec3):
    """Keep t where a + t ab lies on r's side of the plane through x, p and q."""
    normal = (p - x).cross(q - x)
    sign = 1.0 if normal.dot(r - x) >= 0.0 else -1.0
    return _keep_positive(t0, t1, sign * normal.dot(a - x), sign * normal.dot(ab))


@ti.func
def light_interval(g: ti.template(), x: vec3, a: vec3, b: vec3):
    """The part [lo, hi] of the segment a + t (b - a), t in [0, 1], through which x can see
    an emitter triangle, with the point between x and the light: the hull over the
    emitter triangles of the wedge (x, triangle). Empty when lo >= hi. Sampling t only
    there (BOUNDARY.md §2) keeps edge samples from being spent where no shadow can be.
    An environment is seen through all of the segment."""
    lo = 1.0
    hi = 0.0
    if emitters.environment(g) >= 0:
        lo = 0.0
        hi = 1.0
    ab = b - a
    for e in range(g.counts[1]):
        count = g.em_ints[EMITTER_INTS * e + 2]  # 0: not an area emitter
        first = g.em_ints[EMITTER_INTS * e + 1]
        boxed = count > BOX_TRIANGLES  # seen through its bounding box: an interval that
        # holds the emitter's (the samples outside it find no light), at a bounded cost
        box_lo = _box_corner(g, e, 0)
        box_hi = _box_corner(g, e, 3)
        for k in range(12 if boxed else count):  # one copy of the interval code
            l0, l1, l2 = _box_triangle(box_lo, box_hi, k)
            if not boxed:
                l0, l1, l2 = triangle(g, g.em_tris[first + k])
            lo, hi = _triangle_interval(lo, hi, x, a, ab, l0, l1, l2)
    return lo, hi


@ti.func
def _triangle_interval(lo, hi, x: vec3, a: vec3, ab: vec3, l0: vec3, l1: vec3, l2: vec3):
    """[lo, hi] grown by the part of a + t ab through which x sees the triangle, with the
    point between x and the triangle."""
    t0, t1 = _cone_side(0.0, 1.0, x, a, ab, l0, l1, l2)
    t0, t1 = _cone_side(t0, t1, x, a, ab, l1, l2, l0)
    t0, t1 = _cone_side(t0, t1, x, a, ab, l2, l0, l1)
    nl = (l1 - l0).cross(l2 - l0)
    side = 1.0 if nl.dot(x - l0) >= 0.0 else -1.0
    t0, t1 = _keep_positive(t0, t1, side * nl.dot(a - l0), side * nl.dot(ab))
    if t0 < t1:
        lo = ti.min(lo, t0)
        hi = ti.max(hi, t1)
    return lo, hi


@ti.func
def _box_corner(g: ti.template(), e: ti.i32, j: ti.template()) -> vec3:
    base = EMITTER_FLOATS * e + EMITTER_BOX + j
    return vec3(g.em_floats[base], g.em_floats[base + 1], g.em_floats[base + 2])


@ti.func
def _box_triangle(box_lo: vec3, box_hi: vec3, k):
    """Triangle k < 12 of the box: face k // 2 lies on axis (k // 2) // 2 at its low or high
    side, split along a diagonal (the interval test does not depend on winding)."""
    face = k // 2
    axis = face // 2
    on = 1.0 * (face % 2)
    u0, v0, u1, v1 = 0.0, 0.0, 1.0, 1.0  # the diagonal's corners in the face's (u, v)
    u2, v2 = 1.0, 0.0
    if k % 2 == 1:
        u2, v2 = 0.0, 1.0
    e_n = vec3(axis == 0, axis == 1, axis == 2)
    e_u = vec3(axis == 2, axis == 0, axis == 1)  # the next axis
    e_v = vec3(axis == 1, axis == 2, axis == 0)  # the one after
    size = box_hi - box_lo
    base = e_n * on
    c0 = base + e_u * u0 + e_v * v0
    c1 = base + e_u * u1 + e_v * v1
    c2 = base + e_u * u2 + e_v * v2
    return box_lo + size * c0, box_lo + size * c1, box_lo + size * c2


@ti.data_oriented
class ShadowKernel:
    """The shadow and indirect edge samples at one path vertex, over one ``Program``."""

    def __init__(self, g):
        self.g = g

    @ti.kernel
    def sample(self, n: ti.i32, k: ti.i32, seed: ti.u32, edges: ti.types.ndarray(),
               cdf: ti.types.ndarray(), moving_tri: ti.types.ndarray(), edge_motion: ti.i32,
               frame_motion: ti.i32, lights_move: ti.i32, indirect: ti.i32,
               out_w: ti.types.ndarray(), out_v: ti.types.ndarray(),
               out_c: ti.types.ndarray()):
        """At path vertex k of records i < n: out_w = RGB weight without Lambda / N, out_v =
        8 vertex ids (edge 2, receiver triangle 3, light triangle 3), out_c = their velocity
        coefficients; weight 0 where nothing was found. ``edges`` rows are (v0, v1, opposite
        vertex in face 0, in face 1 or -1). ``edge_motion`` fills the edge slots,
        ``frame_motion`` the receiver and light slots of moving triangles. With
        ``indirect`` the jump is in the reflected light of the surfaces either side (the
        visibility of the segment to the next vertex): out_w then still lacks the far
        side's radiance, which the path kernel computes from ``g.rays_*`` (row i), and
        the light slots hold the far surface's triangle."""
        g = self.g
        for i in range(n):
            for c in ti.static(range(3)):
                out_w[i, c] = 0.0
            g.rays_info[i] = ti.Vector([-1, -1])  # no far-side path
            tri = -1
            if k < g.rec.length[i]:
                tri = g.rec.tri[k * n + i]
            wanted = 0
            if tri >= 0:
                wanted = edge_motion + frame_motion * (moving_tri[tri] + lights_move)
            if wanted > 0 and edges.shape[0] > 0:
                self._sample_vertex(i, k, n, tri, seed, edges, cdf, moving_tri, edge_motion,
                                    frame_motion, indirect, out_w, out_v, out_c)

    @ti.func
    def _sample_vertex(self, i, k, n, tri, seed, edges: ti.template(), cdf: ti.template(),
                       moving_tri: ti.template(), edge_motion, frame_motion, indirect,
                       out_w: ti.template(), out_v: ti.template(), out_c: ti.template()):
        g = self.g
        rec = g.rec
        key = sampler.sample_key(seed, ti.u32(i), ti.u32(0x5AD0 + k))
        # which edge: in proportion to length (the length CDF)
        lo = search_cdf(cdf, 0, edges.shape[0], sampler.uniform(key, 0))
        a = vertex(g, edges[lo, 0])
        b = vertex(g, edges[lo, 1])
        # the vertex as the replay has it (vertex 0 on its camera ray)
        x, ng, cross, b1, b2 = vertex_position(g, k, n, i)
        d_in = rec.ray_d[i]
        beta = vec3(1.0)  # the throughput into vertex k
        if k > 0:
            d_in = (x - rec.previous[k * n + i]).normalized()
            beta = rec.throughput[k * n + i]
        plane = (a - x).cross(b - x)  # normal of the plane (x, a, b)
        faces_side = plane.dot(vertex(g, edges[lo, 2]) - x)  # > 0: faces on the +n side
        silhouette = True
        if edges[lo, 3] >= 0:
            # an edge with two faces bounds what x sees only where it is a silhouette
            # from x: both faces on one side of the plane (x, a, b). Others have no jump,
            # and the side rays of one that ends on a silhouette would straddle it (an
            # O(SIDE_OFFSET) bias).
            silhouette = faces_side * plane.dot(vertex(g, edges[lo, 3]) - x) > 0.0
        sp = shading_point(g, tri, b1, b2, x, ng, -d_in)
        t_lo, t_hi = 0.0, 1.0
        if not indirect:
            t_lo, t_hi = light_interval(g, x, a, b)
        s = t_lo + sampler.uniform(key, 1) * (t_hi - t_lo)
        y = (1.0 - s) * a + s * b
        to_y = y - x
        r = to_y.norm()
        plane_len = plane.norm()
        if silhouette and t_lo < t_hi and r > 1e-6 and plane_len > 1e-12:
            w = to_y / r
            f = bsdf_eval(g, sp, w)
            edge = b - a
            sin_phi = edge.cross(w).norm() / edge.norm()
            if f.max() > 0.0 and sin_phi > 1e-6:
                nrm = plane / plane_len
                eps = ray_epsilon(x)
                # The replay holds the occluder's own points fixed on it, so only the far
                # side (away from the edge's faces) has a moving boundary: the jump is
                # 0 - L_far, with the sign of the side it is on.
                far_sign = -1.0  # far side +n: (L_- - L_+) = -L_far
                d_far = (w + SIDE_OFFSET * nrm).normalized()
                if faces_side > 0.0:
                    far_sign = 1.0
                    d_far = (w - SIDE_OFFSET * nrm).normalized()
                radiance = vec3(1.0)
                inv_rz = 0.0
                light = -1
                c1 = 0.0
                c2 = 0.0
                if indirect:
                    # z is the far surface's point; its reflected light (its own emission
                    # is the shadow term's) is one path sample, traced by the path kernel
                    # if z lies beyond the edge
                    far, t_far, c1, c2 = intersect(g, x, d_far, eps, 1e30, tri)
                    light = ENV_HIT
                    if far >= 0:
                        light = far
                        inv_rz = 1.0 / t_far
                    if inv_rz * r <= 1.0 + 1e-4:
                        g.rays_o[i] = x
                        g.rays_d[i] = d_far
                        g.rays_key[i] = sampler.sample_key(seed, ti.u32(i), ti.u32(0x1ED0 + k))
                        g.rays_info[i] = ti.Vector([k + 1, tri])
                else:
                    radiance, inv_rz, light, c1, c2 = emitter_hit(g, x, d_far, eps, tri)
                if inv_rz * r > 1.0 + 1e-4:  # something before the edge hides it from x
                    light = -1
                if light != -1:
                    # 1 / pdf per unit length is Lambda (t_hi - t_lo); Lambda is applied
                    # on the host
                    weight = far_sign * beta * f * radiance * (sin_phi * (t_hi - t_lo) / r)
                    for c in ti.static(range(3)):
                        out_w[i, c] = weight[c]
                    for j in ti.static(range(8)):
                        out_v[i, j] = 0
                        for c in ti.static(range(3)):
                            out_c[i, j, c] = 0.0
                    if edge_motion:  # the occluder: n . y_dot / r
                        out_v[i, 0] = edges[lo, 0]
                        out_v[i, 1] = edges[lo, 1]
                        for c in ti.static(range(3)):
                            out_c[i, 0, c] = (1.0 - s) * nrm[c] / r
                            out_c[i, 1, c] = s * nrm[c] / r
                    if frame_motion and moving_tri[tri]:
                        # the receiver: vertex 0 slides along its camera ray with the plane,
                        # n . x_dot = (n . d0 / N . d0) N . (sum b_j v_j_dot); deeper
                        # vertices move with their barycentrics, n . x_dot = n . sum b_j v_j_dot
                        bary = vec3(1.0 - b1 - b2, b1, b2)
                        for j in ti.static(range(3)):
                            out_v[i, 2 + j] = g.tri[3 * tri + j]
                            velocity = nrm
                            if k == 0:
                                velocity = cross * (nrm.dot(d_in) / cross.dot(d_in))
                            for c in ti.static(range(3)):
                                out_c[i, 2 + j, c] = (inv_rz - 1.0 / r) * bary[j] * velocity[c]
                    if frame_motion and light >= 0 and moving_tri[light]:
                        # the light point: -n . z_dot / r_z
                        bary = vec3(1.0 - c1 - c2, c1, c2)
                        for j in ti.static(range(3)):
                            out_v[i, 5 + j] = g.tri[3 * light + j]
                            for c in ti.static(range(3)):
                                out_c[i, 5 + j, c] = -bary[j] * nrm[c] * inv_rz


class ShadowBoundary:
    """Host side: the pool of shadow-casting edges, and the samples of one pass."""

    def __init__(self, engine, kernel: ShadowKernel, tracer, primary):
        self.engine, self.kernel, self.tracer, self.primary = engine, kernel, tracer, primary

    def edge_pool(self, meshes, any_direction: bool = False):
        """Edges of ``meshes`` that can cast a shadow of a light, or with ``any_direction``
        that can hide one surface from another (every boundary edge and crease); the same
        for every view and pass until a vertex moves."""
        key = (tuple(meshes), any_direction)
        pools = self.primary.pools  # kept with the edges, across views and passes
        cached = pools.get(key)
        if cached is None or cached[0] is not self.engine.vertices:
            cached = (self.engine.vertices, self._edge_pool(meshes, any_direction))
            pools[key] = cached
        return cached[1]

    def _edge_pool(self, meshes, any_direction: bool):
        e, lay = self.engine, self.engine.layout
        edges = self.primary.edges(meshes)
        lights = [e.vertices[lay.vertex_offsets[m]:lay.vertex_offsets[m + 1]]
                  for m in lay.emitter_meshes]
        if not len(edges) or not (lights or lay.has_environment or any_direction):
            return None
        light_points = np.concatenate(lights) if lights else np.zeros((0, 3))
        ids = shadow_edges(edges, e.vertices, lay.faces, light_points,
                           environment=lay.has_environment or any_direction)
        if not len(ids):
            return None
        pairs = edges.v[ids]
        length = np.linalg.norm(e.vertices[pairs[:, 1]] - e.vertices[pairs[:, 0]], axis=1)
        # endpoints, then the vertex opposite the edge in each face (-1: no second face)
        return np.concatenate([pairs, edges.opposite[ids]], axis=1), length

    def sample(self, meshes, n: int, seed: int, spp: int, n_vertices: int = 1,
               indirect: bool = False, max_depth: int = 0,
               rr_depth: int = 5) -> BoundarySamples | None:
        """Shadow samples at the first ``n_vertices`` path vertices of the pass's n records
        for the moving meshes ``meshes``: their edges' own motion, then the motion of
        receivers and lights among them against every mesh's edges. With ``indirect``, the
        visibility of the segment to the next surface instead (paths of at most
        ``max_depth`` vertices)."""
        lay = self.engine.layout
        if not meshes or n == 0 or n_vertices < 1:
            return None
        moving_tri = np.zeros(max(lay.n_triangles, 1), np.int32)
        for m in meshes:
            moving_tri[lay.triangle_offsets[m]:lay.triangle_offsets[m + 1]] = 1
        lights_move = int(indirect or any(m in meshes for m in lay.emitter_meshes))
        # The moving meshes' edges carry all three terms in one sample: on a rigid body the
        # occluder's n . y_dot / r and the receiver's -n . x_dot / r nearly cancel at edges
        # close to x, where each alone is O(1 / r^2) and rarely drawn (heavy-tailed). The
        # other meshes' edges add only the receiver and light terms.
        still = tuple(m for m in range(len(lay.vertex_offsets) - 1) if m not in meshes)
        calls = [(tuple(meshes), 1, 1)] + ([(still, 0, 1)] if still else [])
        parts = []
        film = None
        for k, (pool_meshes, edge_motion, frame_motion) in enumerate(calls):
            pool = self.edge_pool(pool_meshes, indirect)
            if pool is None:
                continue
            edges, length = pool
            total = length.sum()
            cdf = (np.cumsum(length) / total).astype(np.float32)
            edges = edges.astype(np.int32)
            out_w = np.zeros((n, 3), np.float32)
            out_v = np.zeros((n, 8), np.int32)
            out_c = np.zeros((n, 8, 3), np.float32)
            for depth in range(n_vertices):  # one vertex at a time keeps memory at n rows
                self.kernel.sample(n, depth, (seed + 0x9E3779B9 * k) & 0xFFFFFFFF,
                                   edges, cdf, moving_tri, edge_motion, frame_motion,
                                   lights_move, int(indirect), out_w, out_v, out_c)
                if indirect:  # the far sides' reflected light, from the rays just written
                    out_w *= self.tracer.rays(n, max_depth, rr_depth)
                hit = np.any(out_w != 0, axis=1) & np.any(out_c != 0, axis=(1, 2))
                if hit.any():
                    if film is None:
                        film = np.zeros((n, 2), out_c.dtype)
                        self.kernel.g.rec.read(np.zeros(2, np.int32), film)
                        film = film.astype(np.float64)
                    w = out_w[hit].astype(np.float64) * (total / spp)  # Lambda; spp/pixel
                    parts.append(BoundarySamples(film[hit], w, out_v[hit].astype(np.int64),
                                                 out_c[hit].astype(np.float64)))
        return BoundarySamples.concatenate(parts)
