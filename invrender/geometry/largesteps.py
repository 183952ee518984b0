"""The Large Steps parametrisation of mesh vertices [Nicolet et al. 2021], as Mitsuba 3 does it.

Gradients of a rendering loss reach only the few vertices that a silhouette or a highlight
touches, so optimising vertex positions directly tangles the mesh. Optimising the
differential coordinates ``u = (I + lambda L) v`` instead, with ``L`` the combinatorial
Laplacian, spreads each update smoothly over the surface: ``v = (I + lambda L)^-1 u``.

This follows ``mitsuba.ad.LargeSteps`` (``src/python/python/ad/largesteps.py``): coincident
vertices (uv or normal seams) are welded first so that seams cannot open, ``L`` is
``mesh_laplacian`` (``L_ij = -1`` per edge, ``L_ii`` = number of neighbours) and the
matrix is factorised once by cholespy. Mitsuba's version is a Dr.Jit custom op; here the
caller applies the chain rule itself with ``gradient_to_differential``. Everything is
float64.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.sparse

from invrender.errors import InvrenderError
from invrender.geometry.edges import weld


def check_mesh(vertices, faces, name: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(vertices, faces)`` as float64 (V, 3) and int64 (F, 3) arrays, or an InvrenderError.

    Vertices must be finite and every face index must name a vertex.
    """
    v = np.asarray(vertices)
    f = np.asarray(faces)
    if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] == 0 or v.dtype.kind not in "fiu":
        raise InvrenderError(f"vertices must be a non-empty (V, 3) array of floats, got "
                             f"{_describe(v)}", file=name)
    if f.ndim != 2 or f.shape[1] != 3 or (f.dtype.kind not in "iu" and f.size > 0):
        raise InvrenderError(f"faces must be an (F, 3) array of integers, got {_describe(f)}",
                             file=name)
    v = v.astype(np.float64)
    f = f.astype(np.int64)
    if not np.all(np.isfinite(v)):
        bad = int(np.count_nonzero(~np.all(np.isfinite(v), axis=1)))
        raise InvrenderError(f"{bad} of {len(v)} vertices are not finite (nan or inf)",
                             file=name)
    if f.size and (f.min() < 0 or f.max() >= len(v)):
        raise InvrenderError(f"face indices must lie in [0, {len(v)}), found "
                             f"{int(f.min())}..{int(f.max())}", file=name)
    return v, f


def mesh_laplacian(n_vertices: int, faces: np.ndarray, lambda_: float):
    """COO indices (2, K) and values (K,) of ``I + lambda L``, duplicates not yet summed.

    Mitsuba's ``mesh_laplacian`` entry for entry: each undirected edge is counted once, and
    the diagonal entry of a vertex repeats once per neighbour. (Mitsuba finds the edges with
    ``np.unique(..., axis=1)``; one-dimensional keys give the same columns, faster.)
    """
    ii = faces[:, [1, 2, 0]].reshape(-1)
    jj = faces[:, [2, 0, 1]].reshape(-1)
    adj = _unique_columns(np.stack([np.concatenate([ii, jj]), np.concatenate([jj, ii])]),
                          n_vertices)[0]
    adj_values = np.full(adj.shape[1], lambda_, dtype=np.float64)
    diag_idx = np.stack((adj[0], adj[0]))
    diag = np.stack((np.arange(n_vertices), np.arange(n_vertices)))
    idx = np.concatenate((adj, diag_idx, diag), axis=1)
    values = np.concatenate((-adj_values, adj_values, np.ones(n_vertices)))
    return idx, values


def _unique_columns(idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(idx, axis=1, return_inverse=True)`` for a (2, K) array of indices < n."""
    keys, inverse = np.unique(idx[0].astype(np.int64) * n + idx[1], return_inverse=True)
    return np.stack((keys // n, keys % n)), inverse.reshape(-1)


class LargeSteps:
    """``I + lambda L`` of a welded mesh, factorised once, and the maps through it.

    ``to_differential`` (vertices -> u), ``from_differential`` (u -> vertices) and
    ``gradient_to_differential`` (d loss / d vertices -> d loss / d u). Vertices are (V, 3)
    as the mesh stores them; u is (N, 3) with N = ``n_vertices`` <= V after welding, its
    rows in np.unique's (sorted) order as in Mitsuba: row k is vertex ``index[k]``, vertex i
    is row ``inverse[i]``, ``faces`` are the welded faces and ``matrix`` is ``I + lambda L``
    (scipy CSR).
    """

    def __init__(self, vertices, faces, lambda_: float = 19.0, *,
                 name: str | Path | None = None):
        from cholespy import CholeskySolverD, MatrixType

        v, f = check_mesh(vertices, faces, name)
        if isinstance(lambda_, bool) or not isinstance(lambda_, (int, float, np.number)) \
                or not math.isfinite(lambda_) or lambda_ < 0:
            raise InvrenderError(f"lambda_ must be a finite number >= 0, got {lambda_!r}",
                                 file=name, hint="Mitsuba's default is 19")
        self.lambda_ = float(lambda_)
        _, self.faces, self.index, self.inverse = weld(v, f)
        self.n_input_vertices = len(v)
        n = len(self.index)

        # cholespy wants COO entries without duplicates: sum them as Mitsuba does.
        idx, values = mesh_laplacian(n, self.faces, self.lambda_)
        idx, where = _unique_columns(idx, n)
        data = np.zeros(idx.shape[1], dtype=np.float64)
        np.add.at(data, where, values)
        rows = np.ascontiguousarray(idx[0], dtype=np.int32)
        cols = np.ascontiguousarray(idx[1], dtype=np.int32)
        self.matrix = scipy.sparse.csr_matrix((data, (rows, cols)), shape=(n, n))
        self._solver = CholeskySolverD(n, rows, cols, data, MatrixType.COO)

    @property
    def n_vertices(self) -> int:
        """Number of vertices after welding: the rows of u."""
        return len(self.index)

    def to_differential(self, v) -> np.ndarray:
        """``u = (I + lambda L) v[index]``, (N, 3); v is (V, 3) (or flat, 3V entries)."""
        v = self._rows(v, self.n_input_vertices, "v")
        return self.matrix @ v[self.index]

    def from_differential(self, u) -> np.ndarray:
        """``v = ((I + lambda L)^-1 u)[inverse]``, (V, 3): welded duplicates come out equal."""
        return self._solve(self._rows(u, self.n_vertices, "u"))[self.inverse]

    def gradient_to_differential(self, grad_v) -> np.ndarray:
        """d loss / d u (N, 3) from d loss / d v (V, 3): the transpose of ``from_differential``.

        ``from_differential`` is ``v = E M^-1 u`` with ``E`` copying each welded row back to
        its duplicates, so ``g_u = M^-T E^T g_v = M^-1 (g_v summed over each welded group)``.
        """
        g = self._rows(grad_v, self.n_input_vertices, "grad_v")
        summed = np.zeros((self.n_vertices, 3), dtype=np.float64)
        np.add.at(summed, self.inverse, g)
        return self._solve(summed)

    def _solve(self, b: np.ndarray) -> np.ndarray:
        b = np.ascontiguousarray(b, dtype=np.float64)
        x = np.empty_like(b)
        self._solver.solve(b, x)
        return x

    @staticmethod
    def _rows(a, n: int, what: str) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        if a.shape == (3 * n,):
            a = a.reshape(n, 3)
        if a.shape != (n, 3):
            raise InvrenderError(f"{what} must have shape ({n}, 3), got {a.shape}")
        return a


def _describe(a: np.ndarray) -> str:
    return f"shape {a.shape} of {a.dtype}"
