"""Visibility boundary terms for geometry derivatives (BOUNDARY.md): primary silhouettes.

The replay differentiates only the interior of the pixel integral. When geometry moves,
the lines in the image where what the camera sees jumps (silhouettes, visible creases)
move too, and add  d I_p = integral over those lines of  (L_in - L_out) v_n  dl.
We sample points on the projected discontinuity edges proportionally to their length
(one edge-point sample per pixel sample), estimate L on both sides with one path each
(shared random numbers, film points EPS pixels either side, inside the edge's faces where
a side shows one: ``side_points``) and keep,
per sample, its film point, an RGB weight and the two endpoint vertices with 3-vectors c0,
c1 such that the normal velocity is c0 . v0_dot + c1 . v1_dot (``BoundarySamples``, which
the shadow term fills with more vertices). A sample reaches the pixels around its film
point through the sensor's filter, with the weights the interior samples of the pass have
(``Splat``). Forward and reverse mode are then the same numbers used as a product and as
its transpose (exact transposes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrender.errors import InvrenderError
from invrender.geometry.edges import (
    EdgeSet,
    build_edges,
    discontinuity_edges,
    face_normals,
    smooth_across,
)
from invrender.sensors.registry import SENSORS

EPS = 1e-3  # film offset of the two sides, in pixels


@dataclass
class Splat:
    """How samples at film points reach pixels: pixel ids (S, F), -1 for none, and factors
    (S, F): the filter weight over the pixel's total weight, times spp (so that a weight
    per sample of spp per pixel means the same as for the interior samples)."""

    pixels: np.ndarray
    factors: np.ndarray

    def to_image(self, values: np.ndarray, n_pixels: int) -> np.ndarray:
        """sum over samples of factor * values (S, 3), as an (n_pixels, 3) image."""
        pix = np.where(self.pixels >= 0, self.pixels, n_pixels).ravel()  # -1: a spare bin
        return np.stack([np.bincount(pix, (self.factors * values[:, c, None]).ravel(),
                                     minlength=n_pixels + 1)[:n_pixels] for c in range(3)], 1)

    def from_image(self, image: np.ndarray) -> np.ndarray:
        """The transpose: per sample, sum over its pixels of factor * image[pixel] (S, 3),
        one filter tap at a time (no (S, F, 3) temporary)."""
        flat = np.vstack([image.reshape(-1, 3), np.zeros((1, 3))])  # the row of pixel -1
        pix = np.where(self.pixels >= 0, self.pixels, len(flat) - 1)
        out = np.zeros((len(pix), 3))
        for f in range(pix.shape[1]):
            out += self.factors[:, f, None] * flat[pix[:, f]]
        return out


@dataclass
class BoundarySamples:
    """Boundary samples: each adds  weight * sum_k c[k] . v_dot[v[k]]  at its film point,
    where v_dot are vertex velocities (unused slots have c = 0)."""

    film: np.ndarray  # (S, 2) film point in pixels
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
            np.concatenate([p.film for p in parts]),
            np.concatenate([p.weight for p in parts]),
            np.concatenate([np.pad(p.v, ((0, 0), (0, k - p.v.shape[1]))) for p in parts]),
            np.concatenate([np.pad(p.c, ((0, 0), (0, k - p.v.shape[1]), (0, 0)))
                            for p in parts]))

    def forward(self, vertex_tangent: np.ndarray, shape, splat: Splat) -> np.ndarray:
        """Boundary part of d image / d t for vertex velocities (N, 3)."""
        speed = np.einsum("skj,skj->s", self.c, vertex_tangent[self.v])
        return splat.to_image(self.weight * speed[:, None], shape[0] * shape[1]).reshape(shape)

    def reverse(self, d_image: np.ndarray, n_vertices: int, splat: Splat) -> np.ndarray:
        """Boundary part of (d image / d vertices)^T d_image, shape (N, 3)."""
        a = np.einsum("sc,sc->s", splat.from_image(d_image), self.weight)
        return _scatter(self.v.reshape(-1), (a[:, None, None] * self.c).reshape(-1, 3),
                        n_vertices)


def side_points(x: np.ndarray, normal: np.ndarray, edges: EdgeSet, ids: np.ndarray,
                e: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                cam) -> tuple[np.ndarray, np.ndarray]:
    """The film points (S, 2 sides, 2) whose camera paths estimate the radiance either side
    of the edge points x (S, 2) on edges ``ids[e]``: the -normal side, then the +normal side;
    and (S, 2) which of them are a silhouette's front face, whose shading normal the path
    turns to the camera as Mitsuba does (``shading.silhouette_shading_point``).

    A side that shows one of the edge's faces (a crease's face on that side, a
    silhouette's front face, a boundary edge's face) takes x moved towards the centroid of
    the face's projected triangle until it is EPS pixels from the edge (at most half way):
    a point inside the triangle, away from its other edges. x moved EPS along the normal
    (what the other sides take) leaves the triangle near an endpoint where the face is a
    sliver in the image (turned almost edge-on, as at the outline of a finely tessellated
    sphere) and sees what lies past the face's other edge, e.g. the background beyond the
    silhouette, which a crease's samples then counted as their own jump (d/dx 5-10 % too
    high on the 1280-face sphere of bench/silhouette_fd_check.py)."""
    out = np.stack([x - EPS * normal, x + EPS * normal], 1)
    # per edge (E): its faces' projected centroids, which faces a side can show
    face, opposite = edges.faces[ids], edges.opposite[ids]  # (E, 2)
    ends = cam.to_camera(vertices[edges.v[ids]])  # (E, 2 ends, 3)
    corner = cam.to_camera(vertices[np.maximum(opposite, 0)])  # (E, 2 faces, 3)
    ok = (face >= 0) & (corner[..., 2] > cam.near) & np.all(ends[..., 2] > cam.near, 1)[:, None]
    corner[..., 2] = np.where(ok, corner[..., 2], 1.0)  # projected only where ok
    ends[..., 2] = np.where(ok.any(1)[:, None], ends[..., 2], 1.0)
    ends2d = cam.film(ends)
    centroid = (ends2d.sum(1)[:, None] + cam.film(corner)) / 3  # (E, 2 faces, 2)
    n = face_normals(vertices, faces, face)
    facing = np.einsum("efj,ej->ef", n, cam.origin - vertices[edges.v[ids, 0]]) > 0
    silhouette = (face[:, 1] >= 0) & (facing[:, 0] != facing[:, 1])
    shown = ok & ~(silhouette[:, None] & ~facing)  # a silhouette shows its front face
    # per sample (S)
    centroid, shown, silhouette = centroid[e], shown[e], silhouette[e]
    height = np.einsum("sfj,sj->sf", centroid - x[:, None], normal)
    to_viewer = np.zeros((len(x), 2), bool)
    for k in range(2):
        for side, sign in ((0, -1.0), (1, 1.0)):
            move = shown[:, k] & (np.sign(height[:, k]) == sign)
            mu = np.minimum(EPS / np.abs(height[move, k]), 0.5)[:, None]
            out[move, side] = x[move] + mu * (centroid[move, k] - x[move])
            to_viewer[:, side] |= move & silhouette
    return out, to_viewer


def _scatter(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[index[s]] += values[s] for (S, 3) values: bincount, much faster than add.at."""
    return np.stack([np.bincount(index, values[:, j], minlength=n) for j in range(3)], 1)


class PrimaryBoundary:
    """Samples the primary-visibility boundary term of the meshes that move."""

    def __init__(self, engine, tracer):
        self.engine, self.tracer = engine, tracer
        self._edges: dict[tuple, EdgeSet] = {}
        self._smooth: tuple | None = None  # (meshes, vertices they were computed for, flags)
        self.pools: dict[tuple, tuple] = {}  # the shadow term's edge pools (shadow.py)

    def edges(self, meshes: tuple[int, ...]) -> EdgeSet:
        """Welded edges of the meshes; topology never changes, positions are read anew."""
        if meshes not in self._edges:
            e, lay = self.engine, self.engine.layout
            self._edges[meshes] = build_edges(e.vertices, lay.faces, lay.vertex_offsets,
                                              meshes)
        return self._edges[meshes]

    def smooth(self, meshes: tuple[int, ...]) -> np.ndarray:
        """Which edges the shading is continuous across, for the current vertices."""
        vertices = self.engine.vertices
        if self._smooth is None or self._smooth[0] != meshes or self._smooth[1] is not vertices:
            flags = smooth_across(self.edges(meshes), self.engine.shading_normals())
            self._smooth = (meshes, vertices, flags)
        return self._smooth[2]

    def sample(self, meshes: tuple[int, ...], n: int, seed: int, sensor: int, max_depth: int,
               rr_depth: int) -> BoundarySamples | None:
        """n edge samples (one per pixel sample of the pass); their weights are per sample
        of all spp, like the shadow term's (see ``Splat``)."""
        engine = self.engine
        vertices, faces = engine.vertices, engine.layout.faces
        s_desc = engine.scene.sensor(sensor)
        width, height = s_desc.width, s_desc.height
        edges = self.edges(meshes)
        plugin = SENSORS[s_desc.type]
        cam = plugin.projection(s_desc)
        if cam is None:  # e.g. a thin lens with an aperture: not a pinhole
            where = s_desc.source
            raise InvrenderError(f"sensor '{s_desc.id}' ({s_desc.type}): "
                                 f"{plugin.no_projection}",
                                 file=where.file if where else engine.scene.path,
                                 line=where.line if where else None,
                                 hint="use a perspective sensor for geometry derivatives, "
                                      "or boundary=False for the interior term alone")
        ids = discontinuity_edges(edges, vertices, faces, cam.origin, self.smooth(meshes))
        if len(ids) == 0 or n == 0:
            return None
        v0, v1 = edges.v[ids, 0], edges.v[ids, 1]
        p0, p1 = cam.to_camera(vertices[v0]), cam.to_camera(vertices[v1])
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
        inside = (x[:, 0] >= 0) & (x[:, 0] < width) & (x[:, 1] >= 0) & (x[:, 1] < height)
        if not inside.any():
            return None
        e, s, x, normal = e[inside], s[inside], x[inside], normal[inside]
        # in pixel order: neighbouring paths then trace alike (several times faster)
        order = np.argsort(x[:, 1].astype(np.int64) * width + x[:, 0].astype(np.int64),
                           kind="stable")
        e, s, x, normal = e[order], s[order], x[order], normal[order]
        sides, front = side_points(x, normal, edges, ids, e, vertices, faces, cam)
        # pairs (inner side (-normal), outer side), as radiance_at pairs its random numbers
        radiance = self.tracer.radiance_at(sides.reshape(-1, 2), seed, sensor, max_depth,
                                           rr_depth, front.ravel())
        delta = radiance[0::2].astype(np.float64) - radiance[1::2]
        # world position of each clipped endpoint, for the projection Jacobian
        jq0 = cam.jacobian(q0[e])
        jq1 = cam.jacobian(q1[e])
        nj0 = np.einsum("si,sij->sj", normal, jq0)  # n^T J at each clipped endpoint
        nj1 = np.einsum("si,sij->sj", normal, jq1)
        w0, w1 = (1 - s)[:, None], s[:, None]
        c0 = w0 * (1 - t0[e])[:, None] * nj0 + w1 * (1 - t1[e])[:, None] * nj1
        c1 = w0 * t0[e][:, None] * nj0 + w1 * t1[e][:, None] * nj1
        return BoundarySamples(x, delta * (total / n), np.stack([v0[e], v1[e]], 1),
                               np.stack([c0, c1], 1))
