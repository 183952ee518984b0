"""Orchestration of the derivative passes: trace records, then replay them under ``ti.ad``.

Reverse mode seeds ``image.grad`` with d loss / d image and runs ``shade.grad``; forward
mode runs ``shade`` inside ``ti.ad.FwdMode`` with a direction on one parameter field.
Records are made in passes of bounded size and gradients accumulate over the passes, so
memory does not grow with spp. Kernels are compiled once per (scene fields, depth).
"""

from __future__ import annotations

import numpy as np
import taichi as ti

from invrender import latent
from invrender.errors import InvrenderError
from invrender.integrators.boundary import BoundarySamples, PrimaryBoundary
from invrender.integrators.records import Records
from invrender.integrators.replay import Replay
from invrender.integrators.shadow import ShadowBoundary
from invrender.params import ParameterMap, latent_state
from invrender.renderer import prepare, split

RECORD_SAMPLES = 1 << 18  # samples per derivative pass: ~50 MB of records at depth 3
UNBOUNDED_CAP = 16  # derivative passes of max_depth -1 stop at this many path vertices


def derivative_depth(max_depth: int) -> int:
    """Number of path vertices the replay unrolls (max_depth -1 is truncated)."""
    return UNBOUNDED_CAP if max_depth < 0 else max(1, min(max_depth, UNBOUNDED_CAP))


GRADIENT_BITS = 30  # significant bits kept of a gradient, relative to its largest entry


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


class DiffRenderer:
    """Trace + replay for one scene at one depth; kept on the scene and reused."""

    def __init__(self, scene, depth: int):
        self.scene = scene
        self.fields, self.integrator = prepare(scene)
        w, h = self.fields.width, self.fields.height
        self.spp_per_pass = max(1, RECORD_SAMPLES // (w * h))
        self.depth = depth
        self.records = Records(w * h * self.spp_per_pass, depth)
        self.replay = Replay(self.fields, self.records)
        self.primary = PrimaryBoundary(self.fields, self.integrator)
        self.shadow = ShadowBoundary(self.fields, self.records, self.primary)
        self.boundary_grad = np.zeros((self.fields.n_vertices, 3))

    @classmethod
    def of(cls, scene, max_depth: int) -> DiffRenderer:
        depth = derivative_depth(max_depth)
        cache = scene.__dict__.setdefault("_diff", {})
        fields, _ = prepare(scene)
        key = (id(fields), depth)
        if key not in cache:
            cache.clear()
            cache[key] = cls(scene, depth)
        return cache[key]

    def passes(self, spp: int) -> list[tuple[int, int]]:
        return split(spp, self.spp_per_pass)

    def trace(self, seed: int, first: int, count: int, rr_depth: int) -> None:
        self.integrator.sum.fill(0.0)
        self.integrator.trace_pass(seed & 0xFFFFFFFF, first, count, self.depth, rr_depth,
                                   self.records)

    def n_samples(self, count: int) -> int:
        return self.fields.width * self.fields.height * count

    # ---- reverse mode ----
    def clear_gradients(self) -> None:
        f = self.fields
        for field in (f.vtx, f.bsdf_reflectance, f.tex_data, f.emitter_radiance,
                      f.env_radiance):
            field.grad.fill(0.0)

    def boundary_samples(self, moving: tuple[int, ...], seed: int, first: int, count: int,
                         spp: int, rr_depth: int):
        """Visibility samples of one pass (after its trace): silhouettes seen by the camera
        and shadow edges at every path vertex that samples an emitter."""
        if not moving:
            return None
        n = self.n_samples(count)
        pass_seed = (seed * 0x2545F491 + first) & 0xFFFFFFFF
        primary = self.primary.sample(moving, n, pass_seed, self.depth, rr_depth)
        if primary is not None:
            primary.weight *= count / spp
        # every vertex that samples an emitter (all but the last) gets the shadow term
        shadow = self.shadow.sample(moving, n, pass_seed ^ 0x51ED270B, spp, self.depth - 1)
        # and the segment from each vertex to a next one that reflects light
        indirect = self.shadow.sample(moving, n, pass_seed ^ 0x1DD1EC7, spp, self.depth - 2,
                                      True, self.depth, rr_depth)
        return BoundarySamples.concatenate([primary, shadow, indirect])

    def backward(self, seed: int, spp: int, d_image: np.ndarray, rr_depth: int,
                 moving: tuple[int, ...] = ()) -> None:
        """Accumulate (d image / d params)^T d_image into the parameter fields' grads, and
        the silhouette term of the meshes ``moving`` into ``boundary_grad``."""
        self.clear_gradients()
        self.boundary_grad[:] = 0.0
        self.replay.image.grad.from_numpy(d_image.astype(_dtype(self.replay.image)))
        for first, count in self.passes(spp):
            self.trace(seed, first, count, rr_depth)
            self.replay.shade.grad(self.n_samples(count), 1.0 / spp)
            b = self.boundary_samples(moving, seed, first, count, spp, rr_depth)
            if b is not None:
                self.boundary_grad += b.reverse(d_image, self.fields.n_vertices)

    def gradient(self, pmap: ParameterMap, name: str) -> np.ndarray:
        """The accumulated gradient of one parameter, in its own shape."""
        p = pmap.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is not differentiable")
        field, start, count = self.fields.slot(p)
        grad = field.grad.to_numpy()[start:start + count]
        if field is self.fields.vtx:
            grad = grad + self.boundary_grad.reshape(-1)[start:start + count]
        grad = reproducible(grad)
        if p.kind in latent.KINDS:
            state = latent_state(p.owner)
            jac = latent.jacobian(state["base"], state["values"], p.kind)
            return np.einsum("nij,ni->j", jac, grad.reshape(-1, 3))
        return grad.reshape(pmap[name].shape)

    # ---- forward mode ----
    def field_direction(self, pmap: ParameterMap, name: str, direction) -> tuple:
        """The parameter's field and the tangent of that whole field for ``direction``."""
        p = pmap.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is not differentiable")
        field, start, count = self.fields.slot(p)
        shape = pmap[name].shape
        direction = np.ones(shape) if direction is None else np.asarray(direction, np.float64)
        if p.kind in latent.KINDS:
            direction = np.broadcast_to(direction, (3,))
            state = latent_state(p.owner)
            tangent = latent.jacobian(state["base"], state["values"], p.kind) @ direction
        else:
            try:
                tangent = np.broadcast_to(direction, shape)
            except ValueError:
                raise InvrenderError(f"direction of shape {direction.shape} does not fit "
                                     f"parameter '{name}' of shape {shape}") from None
        seed = np.zeros(field.shape[0])
        seed[start:start + count] = np.asarray(tangent).reshape(-1)
        return field, seed

    def forward(self, field, seed_vector: np.ndarray, seed: int, spp: int,
                rr_depth: int, moving: tuple[int, ...] = ()) -> np.ndarray:
        """d image / d t of image(params + t * direction), averaged over spp samples; with
        the silhouette term of the meshes ``moving`` when ``field`` is the vertices."""
        image = self.replay.image
        image.dual.fill(0.0)
        tangent = seed_vector.tolist()
        boundary = np.zeros((self.fields.height, self.fields.width, 3))
        for first, count in self.passes(spp):
            self.trace(seed, first, count, rr_depth)
            with ti.ad.FwdMode(loss=image, param=field, seed=tangent, clear_gradients=False):
                self.replay.shade(self.n_samples(count), 1.0 / spp)
            if field is self.fields.vtx:
                b = self.boundary_samples(moving, seed, first, count, spp, rr_depth)
                if b is not None:
                    boundary += b.forward(seed_vector.reshape(-1, 3), boundary.shape)
        return (image.dual.to_numpy() + boundary).astype(np.float32)

    # ---- the replay's own primal, for finite differences on fixed records ----
    def replay_image(self, spp: int) -> np.ndarray:
        """The image the replay computes from the records of the last ``trace`` (one pass)
        at the current parameter values: the function whose derivative the AD passes take."""
        self.fields.upload_values()
        image = self.replay.image
        image.fill(0.0)
        self.replay.shade(self.n_samples(spp), 1.0 / spp)
        return image.to_numpy().astype(np.float64)


def _dtype(field):
    return np.float64 if field.dtype == ti.f64 else np.float32
