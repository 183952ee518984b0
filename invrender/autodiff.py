"""Orchestration of the derivative passes: trace records, then replay them under ``ti.ad``.

Reverse mode seeds ``image.grad`` with d loss / d image, moves it to the samples
(``Film.splat_transpose``) and runs the replay's vertex kernels' ``.grad`` from the last
vertex to the first (trace has left the state they read at the recorded parameters).
Forward mode runs the vertex kernels in order under ``ti.ad`` forward mode with a tangent
on one parameter field and splats the duals.
Records are made in passes of bounded size and gradients accumulate over the passes, so
memory does not grow with spp; a pass whose paths do not fit the records (unbounded depth)
is split and traced again. Nothing here compiles per scene or per depth.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import taichi as ti
from taichi.lang import impl

from invrender import runtime
from invrender.engine import Engine
from invrender.errors import InvrenderError
from invrender.film import Film
from invrender.filters.registry import FILTERS
from invrender.geometry.normals import VertexNormals
from invrender.integrators import records as R
from invrender.integrators.boundary import BoundarySamples, PrimaryBoundary, Splat
from invrender.integrators.path import Tracer, depth_argument
from invrender.integrators.replay import Replay
from invrender.integrators.shadow import ShadowBoundary, ShadowKernel
from invrender.params import GEOMETRY_KINDS, ParameterMap
from invrender.renderer import developed, passes

RECORD_SAMPLES = 1 << 18  # samples per derivative pass, at most (and the records' capacity)
GRADIENT_BITS = 30  # significant bits kept of a gradient, relative to its largest entry
UNBOUNDED_GUESS = 16  # path vertices a pass is first sized for when max_depth is -1


def reproducible(grad: np.ndarray) -> np.ndarray:
    """Round a gradient onto a grid of 2^-GRADIENT_BITS times its largest entry.

    Threads add per-sample terms in a varying order; in float64 that moves only the last
    few bits, far below this grid, so the rounded gradient is the same on every run (a
    resumed optimisation retraces the uninterrupted one exactly) and differs from the raw
    sum by under 1e-9 relative, far below Monte Carlo noise.
    """
    grad = np.asarray(grad, np.float64)
    peak = np.abs(grad[np.isfinite(grad)]).max(initial=0.0)
    if peak == 0.0:
        return grad
    quantum = 2.0 ** (np.floor(np.log2(peak)) - GRADIENT_BITS)
    return np.round(grad / quantum) * quantum


def gradient_seed(seed: int) -> int:
    """A seed for the derivative pass that is decorrelated from the primal's ``seed``."""
    return (seed * 0x9E3779B1 + 0x7F4A7C15) & 0xFFFFFFFF


class Tangent(ti.ad.FwdMode):
    """``ti.ad.FwdMode`` seeded with a float64 tangent of a whole field (FwdMode's own seed
    goes through float32) and without clearing every dual of the program (the replay clears
    the duals it accumulates). A kernel launched several times inside (the vertex kernel)
    is recorded once: FwdMode would restore its mode from the second launch, leaving it in
    forward mode after the context. The field's dual is zero again on exit."""

    def __init__(self, state, field: str, tangent: np.ndarray):
        super().__init__(loss=getattr(state, field), param=getattr(state, field), seed=[1.0],
                         clear_gradients=False)
        self.state, self.field, self.tangent = state, field, np.ascontiguousarray(tangent)
        self._zero = np.zeros(0)

    def _load(self, tangent: np.ndarray) -> None:
        params, vtx = (tangent, self._zero) if self.field == "params" else (self._zero, tangent)
        self.state.load_tangent(params, vtx)

    def __enter__(self):
        self.entered = True
        impl.get_runtime().materialize()
        self._load(self.tangent)
        self.runtime.fwd_mode_manager = self
        return self

    def insert(self, func):
        if all(f is not func for f in self.calls):
            super().insert(func)

    def __exit__(self, _type, value, tb):
        self.runtime.fwd_mode_manager = None
        self.recover_kernels()
        self._load(np.zeros_like(self.tangent))


class DiffRenderer:
    """Trace + replay of one scene through one sensor at one max_depth."""

    def __init__(self, scene, max_depth: int, sensor: int = 0):
        self.scene, self.max_depth, self.sensor = scene, int(max_depth), sensor
        self.engine = Engine.of(scene)
        self.g = self.engine.sync(sensor)
        desc = scene.sensor(sensor)
        self.width, self.height = desc.width, desc.height
        self.tracer = Tracer(self.g)
        self.film = self.g.kernels(Film)
        self.replay = self.g.kernels(Replay)
        # welded edges depend on the topology only: kept with the engine's layout
        if self.engine.boundary is None or self.engine.boundary[0] is not self.engine.layout:
            self.engine.boundary = (self.engine.layout, PrimaryBoundary(self.engine,
                                                                        self.tracer))
        self.primary = self.engine.boundary[1]
        self.primary.tracer = self.tracer
        self.shadow = ShadowBoundary(self.engine, self.g.kernels(ShadowKernel), self.tracer,
                                     self.primary)
        cap = self.g.state.capacity
        self.record_samples, self.record_slots = cap.record_samples, cap.record_slots
        self.boundary_grad = np.zeros((self.engine.layout.n_vertices, 3))
        self.shadows = True  # the shadow-edge terms too, not only the camera's silhouettes
        self._last = None  # (seed, pass) of the last trace
        self._grads = None  # the parameter fields' gradients, read after a backward

    @classmethod
    def of(cls, scene, max_depth: int, sensor: int = 0) -> DiffRenderer:
        return cls(scene, max_depth, sensor)

    def _sync(self) -> None:
        with runtime.fast_compile():
            self.g = self.engine.sync(self.sensor)

    # ---- passes ----
    @property
    def spp_per_pass(self) -> int:
        """Samples per pixel that one pass holds (whole images)."""
        return max(1, self.samples_per_pass() // (self.width * self.height))

    def samples_per_pass(self) -> int:
        depth = self.max_depth if self.max_depth > 0 else UNBOUNDED_GUESS
        return max(1, min(self.record_samples, RECORD_SAMPLES, self.record_slots // depth))

    def passes(self, spp: int) -> list[tuple[int, int, int, int]]:
        """(first sample, count, first row, rows) of each pass."""
        return passes(self.width, self.height, spp, self.samples_per_pass())

    def _each_pass(self, seed: int, spp: int, rr_depth: int):
        """Trace each pass and yield it with its path length; a pass whose paths do not
        fit the records is halved and traced again."""
        queue = deque(self.passes(spp))
        while queue:
            p = queue.popleft()
            vertices = self.trace(seed, *p, rr_depth=rr_depth)
            if vertices is None:
                queue.extendleft(reversed(_halves(p)))
                continue
            yield p, vertices

    def trace(self, seed: int, first: int, count: int, row0: int = 0, rows: int | None = None,
              rr_depth: int = 5) -> int | None:
        """Trace one pass with records; the most vertices a path has, or None when a path
        does not fit the records."""
        self._sync()
        rows = self.height if rows is None else rows
        n = rows * self.width * count
        rec = self.g.rec
        info = np.zeros(2, np.int32)
        with runtime.fast_compile():
            rec.reset_info()
            self.tracer.grid(self.sensor, self.width, seed, first, count, row0, rows,
                             self.max_depth, rr_depth, record=True,
                             rec_vertices=self.record_slots // n)
            rec.read(info, np.zeros((0, 2), runtime.current().np_real))
        self._last = (seed, (first, count, row0, rows))
        self._vertices = int(info[R.INFO_MAX_VERTICES])
        if info[R.INFO_OVERFLOW]:
            return None
        return self._vertices

    def n_samples(self, p) -> int:
        return p[3] * self.width * p[1]

    def _weights(self, seed: int, spp: int) -> np.ndarray:
        """1 / the weight each pixel gets from the pass samples (on device and host)."""
        n = self.width * self.height
        inv_weight = np.zeros(n, runtime.current().np_real)
        todo = passes(self.width, self.height, spp, self.g.state.capacity.samples)
        with runtime.fast_compile():
            for k, p in enumerate(todo):
                self.film.weights(self.sensor, self.width, self.height, seed & 0xFFFFFFFF, *p,
                                  k == len(todo) - 1)
            self.g.state.read_image(np.zeros(0, inv_weight.dtype), np.zeros(0, inv_weight.dtype),
                                    inv_weight)
        return inv_weight.astype(np.float64)

    def _splat_args(self, seed: int, p) -> tuple:
        first, count, row0, rows = p
        return (self.sensor, self.width, self.height, seed & 0xFFFFFFFF, first, count, row0,
                rows)

    def _replay_forward(self, p, vertices: int) -> None:
        """The vertex kernels in order (the primal, or under ``Tangent`` forward mode)."""
        n = self.n_samples(p)
        with runtime.fast_compile():
            for k in range(vertices):
                self.replay.vertex(k, n, depth_argument(self.max_depth), True)

    # ---- boundary terms ----
    def splat(self, film: np.ndarray, inv_weight: np.ndarray, spp: int) -> Splat:
        """How boundary samples at film points (S, 2) reach the pixels."""
        film = np.ascontiguousarray(film, runtime.current().np_real)
        rfilter = self.scene.sensor(self.sensor).rfilter
        plugin = FILTERS[rfilter.type]
        side = (2 * plugin.footprint({**plugin.settings, **rfilter.settings}) + 1) ** 2
        pixels = np.zeros((len(film), side), np.int32)
        weights = np.zeros((len(film), side), runtime.current().np_real)
        if len(film):
            self.film.footprints(self.sensor, self.width, self.height, film, pixels, weights)
        factors = weights * inv_weight[np.maximum(pixels, 0)] * spp
        return Splat(pixels, np.where(pixels >= 0, factors, 0.0))

    def boundary_samples(self, moving: tuple[int, ...], seed: int, p, spp: int,
                         rr_depth: int, vertices: int) -> BoundarySamples | None:
        """Visibility samples of one pass (after its trace): silhouettes seen by the camera
        and shadow edges at every path vertex that samples an emitter."""
        if not moving:
            return None
        with runtime.fast_compile():
            return self._boundary_samples(moving, seed, p, spp, rr_depth, vertices)

    def _boundary_samples(self, moving, seed, p, spp, rr_depth, vertices):
        first, count, row0, rows = p
        n = self.n_samples(p)
        pass_seed = (seed * 0x2545F491 + first + 0x10001 * row0) & 0xFFFFFFFF
        primary = self.primary.sample(moving, n, pass_seed, self.sensor, self.max_depth,
                                      rr_depth)
        if primary is not None:  # per sample of all spp x pixels, as the shadow weights
            primary.weight *= n / (self.width * self.height * spp)
        # every vertex that samples an emitter (all but the last) gets the shadow term
        if not self.shadows:  # camera silhouettes only (Mitsuba's projective sppi = 0)
            return primary
        depth = self.max_depth if self.max_depth > 0 else vertices + 1
        shadow = self.shadow.sample(moving, n, pass_seed ^ 0x51ED270B, spp,
                                    min(depth - 1, vertices))
        # and the segment from each vertex to a next one that reflects light
        indirect = self.shadow.sample(moving, n, pass_seed ^ 0x1DD1EC7, spp,
                                      min(depth - 2, vertices - 1), True, self.max_depth,
                                      rr_depth)
        return BoundarySamples.concatenate([primary, shadow, indirect])

    # ---- reverse mode ----
    def clear_gradients(self) -> None:
        self.g.state.clear_gradients(self.engine.layout.n_params,
                                     3 * self.engine.layout.n_vertices)

    def backward(self, seed: int, spp: int, d_image: np.ndarray, rr_depth: int,
                 moving: tuple[int, ...] = (), geometry: bool = True) -> None:
        """Accumulate (d image / d params)^T d_image into the parameter fields' grads, and
        the boundary term of the meshes ``moving`` into ``boundary_grad``; the vertices'
        interior gradient only with ``geometry``."""
        self._sync()
        g, rec = self.g, self.g.rec
        self._grads = None
        with runtime.fast_compile():
            self.clear_gradients()
            self.boundary_grad = np.zeros((self.engine.layout.n_vertices, 3))
            seed_image = np.ascontiguousarray(d_image, runtime.current().np_real)
            g.state.load_image_grad(seed_image.reshape(-1))
        inv_weight = self._weights(seed, spp)
        for p, vertices in self._each_pass(seed, spp, rr_depth):
            n = self.n_samples(p)  # trace wrote the state the vertex kernels' gradients read
            with runtime.fast_compile():
                self.replay.clear_derivatives(n, vertices, False, bool(geometry or moving))
                self.film.splat_transpose(g.image.grad, rec.emitted.grad,
                                          *self._splat_args(seed, p))
            for k in reversed(range(vertices)):  # reverse mode: full optimisation
                self.replay.vertex.grad(k, n, depth_argument(self.max_depth),
                                        bool(geometry or moving))
            b = self.boundary_samples(moving, seed, p, spp, rr_depth, vertices)
            if b is not None:
                self.boundary_grad += b.reverse(d_image, self.engine.layout.n_vertices,
                                                self.splat(b.film, inv_weight, spp))
        if (geometry or moving) and g.smooth_normals:  # through smooth meshes' normals
            normals, lay = self.g.kernels(VertexNormals), self.engine.layout
            with runtime.fast_compile():
                normals.clear(lay.n_vertices)
            normals.accumulate(lay.n_triangles)  # the sums normalize.grad reads
            normals.normalize.grad(lay.n_vertices)
            normals.accumulate.grad(lay.n_triangles)

    def gradient(self, pmap: ParameterMap, name: str) -> np.ndarray:
        """The accumulated gradient of one parameter, in its own shape."""
        p = pmap.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is not differentiable")
        slot = self.engine.slot(p.storage)
        if self._grads is None:  # read once per backward, whatever the number of names
            lay = self.engine.layout
            self._grads = {"params": np.zeros(lay.n_params), "vtx": np.zeros(3 * lay.n_vertices)}
            self.g.state.read_gradients(self._grads["params"], self._grads["vtx"])
        grad = self._grads[slot.field][slot.start:slot.start + slot.count]
        if slot.field == "vtx":
            grad = grad + self.boundary_grad.reshape(-1)[slot.start:slot.start + slot.count]
        return p.vjp(reproducible(grad))

    # ---- forward mode ----
    def field_direction(self, pmap: ParameterMap, name: str, direction) -> tuple:
        """The parameter's field and the tangent of that whole field for ``direction``."""
        p = pmap.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is not differentiable")
        shape = p.direction_shape
        direction = np.ones(shape) if direction is None else np.asarray(direction, np.float64)
        try:
            direction = np.broadcast_to(direction, shape)
        except ValueError:
            raise InvrenderError(f"direction of shape {direction.shape} does not fit "
                                 f"parameter '{name}' of shape {shape}") from None
        self._sync()
        slot = self.engine.slot(p.storage)
        lay = self.engine.layout
        tangent = np.zeros(lay.n_params if slot.field == "params" else 3 * lay.n_vertices)
        tangent[slot.start:slot.start + slot.count] = p.jvp(direction)
        return slot.field, tangent

    def forward(self, field: str, tangent: np.ndarray, seed: int, spp: int,
                rr_depth: int, moving: tuple[int, ...] = ()) -> np.ndarray:
        """d image / d t of image(params + t * direction), as the spp-sample estimate, for
        the tangent of ``field`` ("params" or "vtx", from ``field_direction``); with the
        boundary term of the meshes ``moving`` when it is the vertices."""
        self._sync()
        g, rec = self.g, self.g.rec
        n_pixels = self.width * self.height
        with runtime.fast_compile():
            g.state.clear_film(n_pixels)
        boundary = np.zeros((self.height, self.width, 3))
        inv_weight = self._weights(seed, spp)
        try:
            for p, vertices in self._each_pass(seed, spp, rr_depth):
                with runtime.fast_compile():
                    self.replay.clear_derivatives(self.n_samples(p), vertices, True, True)
                    if field == "vtx" and g.smooth_normals:  # their duals; values stay given
                        self._normal_duals(tangent)
                    with Tangent(g.state, field, tangent):
                        self._replay_forward(p, vertices)
                    self.film.splat(rec.emitted.dual, g.image.dual, *self._splat_args(seed, p))
                if field == "vtx":
                    b = self.boundary_samples(moving, seed, p, spp, rr_depth, vertices)
                    if b is not None:
                        boundary += b.forward(tangent.reshape(-1, 3), boundary.shape,
                                              self.splat(b.film, inv_weight, spp))
        finally:
            if field == "vtx" and g.smooth_normals:  # the normals' duals ``_normal_duals``
                # set: the fields are shared by every scene, and a later tangent of another
                # field would read them as its own
                with runtime.fast_compile():
                    g.kernels(VertexNormals).clear(self.engine.layout.n_vertices)
        return (self._image(dual=True) + boundary).astype(np.float32)

    def _normal_duals(self, tangent: np.ndarray) -> None:
        """The duals of the shading normals for a tangent of the vertices (the recompute's
        derivative), with their values put back to the normals the meshes were given, which
        the trace used: forward and reverse mode linearise at the same point."""
        normals, lay = self.g.kernels(VertexNormals), self.engine.layout
        normals.clear(lay.n_vertices)
        with Tangent(self.g.state, "vtx", tangent):
            normals.accumulate(lay.n_triangles)
            normals.normalize(lay.n_vertices)
        self.engine.upload_normals()  # values only: the duals stay

    def _image(self, dual: bool) -> np.ndarray:
        """The replay's image or its dual, (H, W, 3) float64."""
        n = self.width * self.height
        value, tangent = (np.zeros(3 * n, runtime.current().np_real) for _ in range(2))
        with runtime.fast_compile():
            self.g.state.read_image(value, tangent, np.zeros(0, value.dtype))
        return (tangent if dual else value).reshape(self.height, self.width, 3).astype(
            np.float64)

    # ---- the replay's own primal, for finite differences on fixed records ----
    def traced_image(self) -> np.ndarray:
        """The image of the last traced pass, as the path kernel rendered it."""
        seed, (first, count, row0, rows) = self._last
        g = self.g
        with runtime.fast_compile():
            g.state.clear_film(self.width * self.height)
            self.film.develop(self.sensor, self.width, self.height, seed & 0xFFFFFFFF, first,
                              count, row0, rows)
            return developed(g, self.width, self.height)

    def replay_image(self, spp: int) -> np.ndarray:
        """The image the replay computes from the records of the last ``trace`` (one pass
        of all spp samples) at the current parameter values: the function whose derivative
        the AD passes take."""
        self._sync()
        seed, p = self._last
        g = self.g
        self._weights(seed, spp)
        with runtime.fast_compile():
            g.state.clear_film(self.width * self.height)
            self._replay_forward(p, self._vertices)
            self.film.splat(g.rec.emitted, g.image, *self._splat_args(seed, p))
        return self._image(dual=False)


def moving_meshes(scene, pmap: ParameterMap, names) -> tuple[int, ...]:
    """Indices of the meshes whose geometry the parameters ``names`` move."""
    owners = [pmap.parameter(n).owner for n in names
              if pmap.parameter(n).kind in GEOMETRY_KINDS]
    return tuple(i for i, m in enumerate(scene.meshes) if any(m is o for o in owners))


def _halves(p) -> list[tuple[int, int, int, int]]:
    first, count, row0, rows = p
    if count > 1:
        h = count // 2
        return [(first, h, row0, rows), (first + h, count - h, row0, rows)]
    if rows > 1:
        h = rows // 2
        return [(first, 1, row0, h), (first, 1, row0 + h, rows - h)]
    raise InvrenderError("a light path is longer than the derivative records can hold "
                         "for one row of the image", hint="use a bounded max_depth")
