"""Isotropic remeshing between stages of a shape optimisation.

Large Steps keeps a mesh smooth but not well shaped: triangles stretch and shrink as the
surface moves. Mitsuba's shape-optimisation tutorial therefore remeshes now and then with
Botsch and Kobbelt's algorithm (``gpytoolbox.remesh_botsch``) at half the mean edge length,
and restarts the optimiser on the new mesh. That algorithm needs a closed, consistently
oriented 2-manifold, which is checked here so that a bad mesh is a clear error rather than a
crash or a garbled surface.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from invrender.errors import InvrenderError
from invrender.geometry.edges import weld
from invrender.geometry.largesteps import check_mesh

_HINT = "remeshing needs a closed, manifold mesh; repair it (e.g. trimesh.repair) or leave " \
        "remesh out"


def remesh(vertices, faces, h: float | None = None, iterations: int = 5, project: bool = True,
           *, name: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Remesh to edge length ``h`` (default: half the mean edge length); returns ``(v, f)``.

    Coincident vertices are welded first (a mesh split at uv seams is still closed).
    ``project`` keeps the new vertices on the input surface; without it the surface smooths
    over the iterations. The output has float64 vertices, faces of the input's integer type
    (int32 or int64, else int64) and the input's orientation (the sign of its volume).
    """
    import gpytoolbox

    v, f = check_remeshable(vertices, faces, name)
    # Unused vertices carry no surface: drop them before remeshing.
    used = np.unique(f)
    renumber = np.full(len(v), -1, dtype=np.int64)
    renumber[used] = np.arange(len(used))
    v, f = v[used], renumber[f]

    if h is None:
        h = 0.5 * float(np.mean(edge_lengths(v, f)))
    if isinstance(h, bool) or not isinstance(h, (int, float, np.number)) \
            or not math.isfinite(h) or h <= 0:
        raise InvrenderError(f"remesh edge length h must be a finite number > 0, got {h!r}",
                             file=name)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) \
            or iterations < 1:
        raise InvrenderError(f"remesh iterations must be an integer >= 1, got {iterations!r}",
                             file=name)

    out_v, out_f = gpytoolbox.remesh_botsch(v, f.astype(np.int32), int(iterations), float(h),
                                            bool(project))
    out_v = np.asarray(out_v, dtype=np.float64)
    out_f = np.asarray(out_f, dtype=np.int64)
    before, after = signed_volume(v, f), signed_volume(out_v, out_f)
    if before * after < 0:
        out_f = out_f[:, ::-1]
    in_dtype = np.asarray(faces).dtype
    dtype = in_dtype if in_dtype in (np.dtype(np.int32), np.dtype(np.int64)) else np.int64
    return out_v, np.ascontiguousarray(out_f, dtype=dtype)


def check_remeshable(vertices, faces, name: str | Path | None = None):
    """The welded mesh ``(v, f)``, or a one-line error saying why it cannot be remeshed."""
    v, f = check_mesh(vertices, faces, name)
    v, f, _, _ = weld(v, f)
    problem = manifold_problems(f)
    if problem:
        raise InvrenderError(f"the mesh is not a closed manifold: {problem}", hint=_HINT,
                             file=name)
    return v, f


def manifold_problems(faces: np.ndarray) -> str:
    """What keeps the triangles ``faces`` from being a closed, oriented 2-manifold ("" if
    nothing): edges with one face or more than two, edges whose two faces disagree on
    orientation, faces that repeat a vertex."""
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return "it has no faces"
    degenerate = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])
    good = f[~degenerate]
    directed = _directed_edges(good)
    _, edge, count = np.unique(np.sort(directed, axis=1), axis=0, return_inverse=True,
                               return_counts=True)
    # Two faces agree on an edge's orientation when they run along it in opposite directions.
    sense = np.where(directed[:, 0] < directed[:, 1], 1.0, -1.0)
    net = np.bincount(edge.reshape(-1), weights=sense, minlength=len(count))
    edge_counts = [(int(np.count_nonzero(count == 1)), "one face"),
                   (int(np.count_nonzero(count > 2)), "more than two"),
                   (int(np.count_nonzero((count == 2) & (net != 0))),
                    "two faces of opposite orientation")]
    parts = []
    for n, what in edge_counts:
        if n:
            noun = "" if parts else ("edge " if n == 1 else "edges ")
            parts.append(f"{n} {noun}{'has' if n == 1 else 'have'} {what}")
    n_degenerate = int(np.count_nonzero(degenerate))
    if n_degenerate:
        parts.append(f"{n_degenerate} {'face repeats' if n_degenerate == 1 else 'faces repeat'}"
                     " a vertex")
    return ", ".join(parts)


def edge_lengths(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Length of every undirected edge of the mesh, each once."""
    f = np.asarray(faces, dtype=np.int64)
    edges = np.unique(np.sort(_directed_edges(f), axis=1), axis=0)
    return np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Enclosed volume, positive when the face normals cross(v1 - v0, v2 - v0) point out."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.sum(a * np.cross(b, c)) / 6.0)


def _directed_edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2): v0->v1, v1->v2, v2->v0 of every face."""
    return np.stack([faces, np.roll(faces, -1, axis=1)], axis=-1).reshape(-1, 2)
