"""Latent rigid transforms of a shape: ``translate``, ``rotate`` (degrees about the
centroid, x then y then z) and ``scale`` (about the centroid), our extension of Mitsuba's
parameter names. Their derivatives reach the image through the vertex positions, by the
analytic Jacobian here: d loss / d latent = sum_i (d v_i / d latent)^T d loss / d v_i.
The chain rule lives here too (``vjp``, ``jvp``), next to the transform it differentiates.
"""

from __future__ import annotations

import numpy as np

KINDS = ("translate", "rotate", "scale")
IDENTITY = {"translate": np.zeros(3), "rotate": np.zeros(3), "scale": np.ones(3)}


def identity() -> dict[str, np.ndarray]:
    """A fresh identity pose (translate 0, rotate 0, scale 1)."""
    return {k: v.copy() for k, v in IDENTITY.items()}


def _axis_rotation(axis: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotation matrix about a coordinate axis and its derivative per degree."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    r = np.eye(3)
    dr = np.zeros((3, 3))
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    dr[i, i], dr[i, j], dr[j, i], dr[j, j] = -s, -c, c, -s
    return r, dr * (np.pi / 180)


def apply(base: np.ndarray, latent: dict[str, np.ndarray]) -> np.ndarray:
    """World vertices for base vertices (N, 3) under the latent transform; the base itself,
    bit for bit, under the identity."""
    if all(np.array_equal(latent[k], v) for k, v in IDENTITY.items()):
        return base
    c = base.mean(0)
    rs = [_axis_rotation(k, latent["rotate"][k])[0] for k in range(3)]
    rot = rs[2] @ rs[1] @ rs[0]
    return (base - c) * latent["scale"] @ rot.T + c + latent["translate"]


def linear(latent: dict[str, np.ndarray]) -> np.ndarray:
    """The transform's linear part L (v' = L (v - c) + c + t): rotation times scale."""
    rs = [_axis_rotation(k, latent["rotate"][k])[0] for k in range(3)]
    return rs[2] @ rs[1] @ rs[0] @ np.diag(latent["scale"])


def jacobian(base: np.ndarray, latent: dict[str, np.ndarray], kind: str) -> np.ndarray:
    """d vertices / d latent[kind], shape (N, 3, 3): [vertex, coordinate, latent entry]."""
    c = base.mean(0)
    n = len(base)
    if kind == "translate":
        return np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    pairs = [_axis_rotation(k, latent["rotate"][k]) for k in range(3)]
    rx, ry, rz = (p[0] for p in pairs)
    local = base - c
    if kind == "scale":
        rot = rz @ ry @ rx
        return rot[None, :, :] * local[:, None, :]  # d v / d s_j = R[:, j] local_j
    scaled = local * latent["scale"]
    mats = [rz @ ry @ pairs[0][1], rz @ pairs[1][1] @ rx, pairs[2][1] @ ry @ rx]
    return np.stack([scaled @ m.T for m in mats], axis=2)


def vjp(base: np.ndarray, latent: dict[str, np.ndarray], kind: str,
        d_vertices: np.ndarray) -> np.ndarray:
    """d loss / d latent[kind] from d loss / d vertices (N, 3)."""
    return np.einsum("nij,ni->j", jacobian(base, latent, kind), d_vertices.reshape(-1, 3))


def jvp(base: np.ndarray, latent: dict[str, np.ndarray], kind: str,
        direction: np.ndarray) -> np.ndarray:
    """The vertex velocities (N, 3) of moving latent[kind] along ``direction`` (3,)."""
    return jacobian(base, latent, kind) @ np.broadcast_to(direction, (3,))
