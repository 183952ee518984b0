"""Visibility boundary terms for geometry derivatives (BOUNDARY.md): primary silhouettes.

The replay differentiates only the interior of the pixel integral. When geometry moves,
the lines in the image where what the camera sees jumps (silhouettes, visible creases)
move too, and add  d I_p = integral over those lines of  (L_in - L_out) v_n  dl.
We sample points on the projected discontinuity edges proportionally to their length
(one edge-point sample per pixel sample), estimate L on both sides with one path each
(shared random numbers, film points offset by EPS pixels along the edge normal) and keep,
per sample, a pixel, an RGB weight and the two endpoint vertices with 3-vectors c0, c1 such
that the normal velocity is c0 . v0_dot + c1 . v1_dot (``BoundarySamples``, which the shadow
term fills with more vertices). Forward and reverse mode are then the same numbers used as a
product and as its transpose (exact transposes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrender.geometry.edges import EdgeSet, build_edges, discontinuity_edges

EPS = 1e-3  # film offset of the two sides, in pixels


@dataclass
class BoundarySamples:
    """Boundary samples: each adds  weight * sum_k c[k] . v_dot[v[k]]  to its pixel, where
    v_dot are vertex velocities (unused slots have c = 0)."""

    pixel: np.ndarray  # (S,) flat pixel index (row * width + column)
    weight: np.ndarray  # (S, 3) (L_in - L_out) / pdf / N
    v: np.ndarray  # (S, K) global vertex indices
    c: np.ndarray  # (S, K, 3) velocity coefficients

    @staticmethod
    def concatenate(parts: list[BoundarySamples | None]) -> BoundarySamples | None:
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        k = max(p.v.shape[1] for p in parts)  # pad the vertex slots to the widest part
        return BoundarySamples(
            np.concatenate([p.pixel for p in parts]),
            np.concatenate([p.weight for p in parts]),
            np.concatenate([np.pad(p.v, ((0, 0), (0, k - p.v.shape[1]))) for p in parts]),
            np.concatenate([np.pad(p.c, ((0, 0), (0, k - p.v.shape[1]), (0, 0)))
                            for p in parts]))

    def forward(self, vertex_tangent: np.ndarray, shape) -> np.ndarray:
        """Boundary part of d image / d t for vertex velocities (N, 3)."""
        speed = np.einsum("skj,skj->s", self.c, vertex_tangent[self.v])
        return _scatter(self.pixel, self.weight * speed[:, None],
                        shape[0] * shape[1]).reshape(shape)

    def reverse(self, d_image: np.ndarray, n_vertices: int) -> np.ndarray:
        """Boundary part of (d image / d vertices)^T d_image, shape (N, 3)."""
        a = np.einsum("sc,sc->s", d_image.reshape(-1, 3)[self.pixel], self.weight)
        return _scatter(self.v.reshape(-1), (a[:, None, None] * self.c).reshape(-1, 3),
                        n_vertices)


def _scatter(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[index[s]] += values[s] for (S, 3) values: bincount, much faster than add.at."""
    return np.stack([np.bincount(index, values[:, j], minlength=n) for j in range(3)], 1)


class Camera:
    """The world -> film projection that inverts ``camera.generate_ray``, and its Jacobian."""

    def __init__(self, packed: np.ndarray):
        self.origin = packed[0:3]
        self.axes = packed[3:12].reshape(3, 3)  # rows: camera x, y, z in world space
        self.tan_x, self.tan_y, self.near = packed[12:15]
        self.width, self.height = packed[15], packed[16]

    def to_camera(self, p: np.ndarray) -> np.ndarray:
        return (p - self.origin) @ self.axes.T

    def film(self, pc: np.ndarray) -> np.ndarray:
        """Film position (x, y) in pixels of camera-space points."""
        x = 0.5 * self.width * (1 - pc[..., 0] / (pc[..., 2] * self.tan_x))
        y = 0.5 * self.height * (1 - pc[..., 1] / (pc[..., 2] * self.tan_y))
        return np.stack([x, y], -1)

    def jacobian(self, pc: np.ndarray) -> np.ndarray:
        """d film / d world position, (..., 2, 3)."""
        z = pc[..., 2]
        jc = np.zeros(pc.shape[:-1] + (2, 3))
        jc[..., 0, 0] = -0.5 * self.width / (self.tan_x * z)
        jc[..., 0, 2] = 0.5 * self.width * pc[..., 0] / (self.tan_x * z * z)
        jc[..., 1, 1] = -0.5 * self.height / (self.tan_y * z)
        jc[..., 1, 2] = 0.5 * self.height * pc[..., 1] / (self.tan_y * z * z)
        return jc @ self.axes


class PrimaryBoundary:
    """Samples the primary-visibility boundary term of the meshes that move."""

    def __init__(self, fields, integrator):
        self.fields, self.integrator = fields, integrator
        self._edges: dict[tuple, EdgeSet] = {}

    def edges(self, meshes: tuple[int, ...]) -> EdgeSet:
        if meshes not in self._edges:  # topology never changes; positions are read anew
            f = self.fields
            self._edges[meshes] = build_edges(f.vertices, f.faces, f.vertex_offsets, meshes)
        return self._edges[meshes]

    def sample(self, meshes: tuple[int, ...], n: int, seed: int, max_depth: int,
               rr_depth: int) -> BoundarySamples | None:
        f = self.fields
        edges = self.edges(meshes)
        cam = Camera(f.camera.to_numpy().astype(np.float64))
        ids = discontinuity_edges(edges, f.vertices, f.faces, cam.origin)
        if len(ids) == 0 or n == 0:
            return None
        v0, v1 = edges.v[ids, 0], edges.v[ids, 1]
        p0, p1 = cam.to_camera(f.vertices[v0]), cam.to_camera(f.vertices[v1])
        # clip to the near plane: an endpoint (1 - t) v0 + t v1 moves with the same weights
        z0, z1 = p0[:, 2], p1[:, 2]
        keep = (z0 > cam.near) | (z1 > cam.near)
        t_cut = np.where(z0 != z1, (cam.near - z0) / np.where(z0 != z1, z1 - z0, 1), 0.0)
        t0 = np.where(z0 > cam.near, 0.0, t_cut)
        t1 = np.where(z1 > cam.near, 1.0, t_cut)
        q0 = (1 - t0)[:, None] * p0 + t0[:, None] * p1
        q1 = (1 - t1)[:, None] * p0 + t1[:, None] * p1
        q0[:, 2] = np.maximum(q0[:, 2], cam.near)
        q1[:, 2] = np.maximum(q1[:, 2], cam.near)
        s0, s1 = cam.film(q0), cam.film(q1)
        length = np.where(keep, np.linalg.norm(s1 - s0, axis=1), 0.0)
        total = length.sum()
        if total <= 0:
            return None
        rng = np.random.default_rng([seed & 0xFFFFFFFF, 0xB0D])
        e = np.minimum(np.searchsorted(np.cumsum(length) / total, rng.random(n), "right"),
                       len(ids) - 1)
        s = rng.random(n)
        x = (1 - s)[:, None] * s0[e] + s[:, None] * s1[e]
        d = s1[e] - s0[e]
        normal = np.stack([-d[:, 1], d[:, 0]], 1) / length[e][:, None]
        inside = (x[:, 0] >= 0) & (x[:, 0] < f.width) & (x[:, 1] >= 0) & (x[:, 1] < f.height)
        if not inside.any():
            return None
        e, s, x, normal = e[inside], s[inside], x[inside], normal[inside]
        points = np.empty((2 * len(e), 2))
        points[0::2] = x - EPS * normal  # inner side (-normal)
        points[1::2] = x + EPS * normal
        radiance = np.zeros((len(points), 3), np.float32)
        self.integrator.radiance_at(points.astype(np.float32), radiance, seed & 0xFFFFFFFF,
                                    max_depth, rr_depth)
        delta = radiance[0::2].astype(np.float64) - radiance[1::2]
        # world position of each clipped endpoint, for the projection Jacobian
        jq0 = cam.jacobian(q0[e])
        jq1 = cam.jacobian(q1[e])
        nj0 = np.einsum("si,sij->sj", normal, jq0)  # n^T J at each clipped endpoint
        nj1 = np.einsum("si,sij->sj", normal, jq1)
        w0, w1 = (1 - s)[:, None], s[:, None]
        c0 = w0 * (1 - t0[e])[:, None] * nj0 + w1 * (1 - t1[e])[:, None] * nj1
        c1 = w0 * t0[e][:, None] * nj0 + w1 * t1[e][:, None] * nj1
        pix = (x[:, 1].astype(np.int64) * f.width + x[:, 0].astype(np.int64))
        return BoundarySamples(pix, delta * (total / n), np.stack([v0[e], v1[e]], 1),
                               np.stack([c0, c1], 1))
