"""The path tracer: Mitsuba 3's ``path`` integrator as one Taichi kernel.

Emitter sampling and BSDF sampling combined with the power heuristic, Mitsuba's
``max_depth`` (1 = emitters seen directly, 2 = direct light, 3 = one indirect bounce,
-1 = unbounded) and Russian roulette from ``rr_depth``. One kernel, with its mode, the
recording and the depth all run-time arguments, serves every use (so it compiles once):

- ``GRID``: samples [first, first + count) of every pixel of rows [row0, row0 + rows),
  sample j of the pass at film pixel row0 * W + j // count; with ``record`` it also writes
  the records of the replay (``records.py``);
- ``POINTS``: one camera path through each film point given (pairs 2k, 2k + 1 share their
  random numbers: the two sides of an edge);
- ``RAYS``: the light reflected along ``g.rays_*`` (the far side of indirect edges).

Each sample's radiance goes to ``g.sample_radiance[j]``; ``film.py`` splats it. Random
numbers are keyed by (seed, pixel, sample), so the same seed gives the same image bit
for bit whatever the thread schedule.
"""

import numpy as np
import taichi as ti

from invrender import runtime, sampler
from invrender.emitters import registry as emitters
from invrender.geometry.intersect import intersect, occluded, triangle
from invrender.integrators import records as R
from invrender.sampler import uniform
from invrender.sensors.registry import generate_ray
from invrender.shading import (
    bsdf_eval,
    bsdf_pdf,
    bsdf_sample,
    bsdf_smooth,
    silhouette_shading_point,
    surface_uv,
)
from invrender.warp import power_heuristic

vec2 = ti.math.vec2
vec3 = ti.math.vec3
UNBOUNDED = 1 << 30
GRID, POINTS, RAYS = 0, 1, 2


def depth_argument(max_depth: int) -> int:
    """Mitsuba's max_depth as the kernel takes it (-1 means unbounded)."""
    return UNBOUNDED if max_depth < 0 else max_depth


@ti.func
def ray_epsilon(x: vec3):
    """Self-intersection margin, relative to the magnitude of the position."""
    return 1e-5 * (1.0 + ti.abs(x).max())


@ti.func
def film_point(key: ti.u32, px: ti.i32, py: ti.i32):
    """A uniform point inside pixel (px, py), in pixels (Mitsuba's film sampling)."""
    return (px + uniform(key, sampler.DIM_FILM), py + uniform(key, sampler.DIM_FILM + 1))


@ti.func
def trace_path(g: ti.template(), key: ti.u32, o0: vec3, d0: vec3, tmin0, tmax0,
               skip0: ti.i32, depth0: ti.i32, max_depth: ti.i32, rr_depth: ti.i32,
               first_emission: ti.i32, record: ti.i32, n: ti.i32, i: ti.i32,
               rec_vertices: ti.i32, to_viewer: ti.i32) -> vec3:
    """Radiance arriving at o0 along -d0 from a path whose next vertex is number ``depth0``
    (0 for a camera ray), whose first segment ends at tmax0 (a sensor's far clip: beyond
    it the ray escapes, as in Mitsuba). Without ``first_emission`` the emission that this
    first segment finds is left out: the reflected radiance of the surface it hits, which
    the indirect visibility term needs. With ``record`` it writes sample i's records (n
    samples in the pass, at most ``rec_vertices`` vertices each; a longer path sets the
    overflow count). ``to_viewer`` turns the first vertex's shading normal to the camera
    (``silhouette_shading_point``), for the inner side of a silhouette sample."""
    rec = g.rec
    o, d, tmin, skip, depth = o0, d0, tmin0, skip0, depth0
    radiance = vec3(0.0)
    beta = vec3(1.0)
    eta = 1.0  # relative IOR crossed so far (Mitsuba's Russian roulette scales by eta^2)
    prev_pdf = 1.0
    prev_delta = 1
    length = 0
    has_env = emitters.environment(g) >= 0
    hide = g.counts[3] != 0 and first_emission and depth0 == 0  # Mitsuba's hide_emitters
    while True:
        tmax = tmax0 if depth == depth0 else 1e30
        tri, t, b1, b2 = intersect(g, o, d, tmin, tmax, skip)
        emits = 1
        if not first_emission:
            emits = ti.select(depth > depth0, 1, 0)
        if hide and depth == 0:  # the camera sees through emitters and not the environment
            emits = 0
            while tri >= 0:
                if g.tri_emitter[tri] < 0:
                    break
                tri, t, b1, b2 = intersect(g, o, d, t + ray_epsilon(o + t * d), tmax, tri)
        slot = depth * n + i
        if tri < 0:
            w = ti.select(emits, 1.0, 0.0)  # 0 keeps the replay from adding it either
            if has_env and emits:  # escaped to the environment
                if not prev_delta:
                    w = power_heuristic(prev_pdf, emitters.environment_pdf(g, d))
                radiance += beta * w * emitters.environment_radiance(g, d)
            if record:
                rec.tri[slot] = R.ESCAPED
                rec.dir[slot] = d
                rec.q[slot] = prev_pdf
                rec.mis[slot] = w
                length = depth + 1
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
                w_emit = power_heuristic(prev_pdf, emitters.surface_pdf(g, e, d, t, cos_i))
            radiance += beta * w_emit * emitters.surface_radiance(g, e, surface_uv(g, tri, b1, b2),
                                                                  d, cos_i)
        if record:
            rec.tri[slot] = tri
            rec.bary[slot] = vec2(b1, b2)
            # the replay's state at the recorded parameters (records.py)
            rec.throughput[slot] = beta
            rec.position[slot] = x
            rec.normal[slot] = cross
            rec.previous[slot] = o
            # density of these barycentrics: solid-angle pdf x |d(direction)/d(barycentrics)|;
            # after a delta lobe, the probability of having chosen it (the replay follows
            # the lobe's direction to this triangle's plane)
            rec.q[slot] = prev_pdf if prev_delta else prev_pdf * ti.abs(cross.dot(d)) / (t * t)
            rec.lobe[slot] = R.NOT_DELTA
            rec.mis[slot] = w_emit
            rec.rr[slot] = 1.0
            rec.light_em[slot] = R.NO_LIGHT
            length = depth + 1

        if depth + 1 >= max_depth:
            break

        sp = silhouette_shading_point(g, tri, b1, b2, x, ng, -d, to_viewer and depth == 0)
        base = sampler.DIM_BOUNCE_BASE + depth * sampler.DIM_STRIDE
        eps = ray_epsilon(x)

        # emitter sampling, where the BSDF has smooth lobes (as Mitsuba)
        ls = emitters.sample(g, x, uniform(key, base + sampler.OFF_EMITTER_SELECT),
                             uniform(key, base + sampler.OFF_TRIANGLE),
                             uniform(key, base + sampler.OFF_EMITTER_2D),
                             uniform(key, base + sampler.OFF_EMITTER_2D + 1))
        if ls.pdf > 0.0 and bsdf_smooth(g, sp):
            f = bsdf_eval(g, sp, ls.d)
            if f.max() > 0.0:
                tmax = ls.dist * (1.0 - 1e-4) if ls.dist < 1e29 else ls.dist
                if not occluded(g, x, ls.d, eps, tmax, tri, ls.tri):
                    w_light = 1.0
                    if not ls.delta:
                        w_light = power_heuristic(ls.pdf, bsdf_pdf(g, sp, ls.d))
                    radiance += beta * f * ls.radiance * (w_light / ls.pdf)
                    if record:
                        rec.light_em[slot] = ls.emitter
                        rec.light_tri[slot] = ls.tri
                        rec.light_pos[slot] = ls.pos
                        rec.light_q[slot] = ls.q
                        rec.light_mis[slot] = w_light

        # BSDF sampling
        bs = bsdf_sample(g, sp, uniform(key, base + sampler.OFF_BSDF_LOBE),
                         uniform(key, base + sampler.OFF_BSDF_2D),
                         uniform(key, base + sampler.OFF_BSDF_2D + 1))
        d = bs.wo
        beta *= bs.weight
        eta *= bs.eta
        prev_pdf = bs.pdf
        prev_delta = bs.delta
        if record and bs.delta:
            rec.lobe[slot] = bs.lobe
        o = x
        tmin = eps
        skip = tri
        depth += 1

        beta_max = beta.max()
        if beta_max <= 0.0:
            break
        if depth >= rr_depth:  # Russian roulette, as Mitsuba
            q = ti.min(beta_max * eta * eta, 0.95)
            beta /= q
            if record:
                rec.rr[slot] = 1.0 / q
            if uniform(key, base + sampler.OFF_RR) >= q:
                break
        if record and depth >= rec_vertices:  # the records hold no more vertices
            ti.atomic_add(rec.info[R.INFO_OVERFLOW], 1)
            break
    if record:
        ti.atomic_max(rec.info[R.INFO_MAX_VERTICES], length)
        rec.length[i] = length
    return radiance


@ti.data_oriented
class PathTracer:
    """The path kernel over one ``Program``."""

    def __init__(self, g):
        self.g = g

    @ti.kernel
    def run(self, mode: ti.i32, sensor: ti.i32, width: ti.i32, seed: ti.u32, first: ti.i32,
            count: ti.i32, row0: ti.i32, n: ti.i32, max_depth: ti.i32, rr_depth: ti.i32,
            record: ti.i32, rec_vertices: ti.i32, points: ti.types.ndarray()):
        """n paths of the given mode (see the module docstring) into g.sample_radiance;
        ``points`` (n, 3) are the film points of the POINTS mode and their flags: 1 turns
        the first vertex's shading normal to the camera (the inner side of a silhouette)."""
        g = self.g
        for j in range(n):
            o = vec3(0.0)
            d = vec3(0.0, 0.0, 1.0)
            tmin = 0.0
            tmax = 1e30
            skip = -1
            depth0 = 0
            first_emission = 1
            key = ti.u32(0)
            active = 1
            to_viewer = 0
            if mode == RAYS:
                active = ti.select(g.rays_info[j][0] >= 0, 1, 0)  # rows without a ray: 0
                o = g.rays_o[j]
                d = g.rays_d[j]
                key = g.rays_key[j]
                depth0 = g.rays_info[j][0]
                skip = g.rays_info[j][1]
                tmin = ray_epsilon(o)
                first_emission = 0
            else:
                fx = 0.0
                fy = 0.0
                if mode == GRID:
                    pixel = row0 * width + j // count
                    key = sampler.sample_key(seed, ti.u32(pixel), ti.u32(first + j % count))
                    fx, fy = film_point(key, pixel % width, pixel // width)
                else:
                    key = sampler.sample_key(seed, ti.u32(j // 2), ti.u32(0x5EED))
                    fx = points[j, 0]
                    fy = points[j, 1]
                    to_viewer = ti.cast(points[j, 2], ti.i32)
                o, d, tmin, tmax = generate_ray(g, sensor, key, fx, fy)
                if record:
                    g.rec.ray_o[j] = o
                    g.rec.ray_d[j] = d
                    g.rec.film[j] = vec2(fx, fy)
            radiance = vec3(0.0)
            if active:
                radiance = trace_path(g, key, o, d, tmin, tmax, skip, depth0, max_depth,
                                      rr_depth, first_emission, record, n, j, rec_vertices,
                                      to_viewer)
            for c in ti.static(range(3)):
                g.sample_radiance[3 * j + c] = radiance[c]

    @ti.kernel
    def read(self, n: ti.i32, out: ti.types.ndarray()):
        """The first n sample radiances into out (n, 3)."""
        for j in range(n):
            for c in ti.static(range(3)):
                out[j, c] = self.g.sample_radiance[3 * j + c]


class Tracer:
    """The path kernel's modes as host calls."""

    def __init__(self, g):
        self.g = g
        self.kernel = g.kernels(PathTracer)
        self._no_points = np.zeros((1, 3), runtime.current().np_real)

    def grid(self, sensor: int, width: int, seed: int, first: int, count: int, row0: int,
             rows: int, max_depth: int, rr_depth: int, record: bool = False,
             rec_vertices: int = 0) -> None:
        self.kernel.run(GRID, sensor, width, seed & 0xFFFFFFFF, first, count, row0,
                        rows * width * count, depth_argument(max_depth), rr_depth,
                        int(record), rec_vertices, self._no_points)

    def radiance_at(self, points: np.ndarray, seed: int, sensor: int, max_depth: int,
                    rr_depth: int, to_viewer: np.ndarray | None = None) -> np.ndarray:
        """One camera path through each film point (P, 2), pairs sharing random numbers;
        where ``to_viewer`` (P,) is true, with the first shading normal turned to the
        camera (``silhouette_shading_point``)."""
        flags = np.zeros((len(points), 1)) if to_viewer is None else to_viewer[:, None]
        points = np.concatenate([points, flags], axis=1)
        out = np.zeros((len(points), 3), runtime.current().np_real)
        chunk_size = self.g.state.capacity.samples  # points per launch
        for lo in range(0, len(points), chunk_size):
            part = np.ascontiguousarray(points[lo:lo + chunk_size], runtime.current().np_real)
            self.kernel.run(POINTS, sensor, 0, seed & 0xFFFFFFFF, 0, 1, 0, len(part),
                            depth_argument(max_depth), rr_depth, 0, 0, part)
            chunk = out[lo:lo + chunk_size]
            self.kernel.read(len(part), chunk)
        return out

    def rays(self, n: int, max_depth: int, rr_depth: int) -> np.ndarray:
        """The light reflected along the first n rays of ``g.rays_*`` (0 where unused)."""
        self.kernel.run(RAYS, 0, 0, 0, 0, 1, 0, n, depth_argument(max_depth), rr_depth, 0, 0,
                        self._no_points)
        out = np.zeros((n, 3), runtime.current().np_real)
        self.kernel.read(n, out)
        return out
