"""How close a reconstructed mesh is to the true one, independent of how either is meshed.

Image losses say how a shape looks from the training views; these compare the surfaces
themselves, by sampling points uniformly by area on both and pairing each sample with the
nearest sample of the other surface. Both surfaces are sampled with the same seed (trimesh's
``sample_surface``): a number is reproducible, a mesh compared with itself scores exactly 0
and 1, and two similar meshes are compared with common random numbers, below the noise of
independent samples (about ``2 area / (pi n)`` for the Chamfer distance).
A mesh is a ``(vertices, faces)`` pair or anything with ``.vertices`` and ``.faces``.
"""

from __future__ import annotations

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from invrender.errors import InvrenderError
from invrender.geometry.largesteps import check_mesh


def chamfer_distance(mesh_a, mesh_b, n: int = 100_000, seed: int = 0) -> float:
    """Symmetric Chamfer distance: mean squared distance from each sample on ``a`` to the
    nearest sample on ``b``, plus the same from ``b`` to ``a``.

    ``n`` samples per surface. In squared scene units: concentric spheres of radii r and s
    give about ``2 (s - r)**2``.
    """
    return mesh_metrics(mesh_a, mesh_b, n, seed)["chamfer"]


def normal_consistency(mesh_a, mesh_b, n: int = 100_000, seed: int = 0) -> float:
    """Mean ``|cos|`` between the face normal at each sample and the face normal at the
    nearest sample of the other surface, averaged over both directions: in [0, 1], 1 when
    the surfaces are parallel everywhere. Orientation is ignored (``|cos|``)."""
    return mesh_metrics(mesh_a, mesh_b, n, seed)["normal_consistency"]


def mesh_metrics(mesh_a, mesh_b, n: int = 100_000, seed: int = 0) -> dict[str, float]:
    """``{"chamfer": ..., "normal_consistency": ...}`` from one set of samples."""
    (pa, na), (pb, nb) = _sample(mesh_a, n, seed), _sample(mesh_b, n, seed)
    d_ab, i_ab = cKDTree(pb).query(pa)
    d_ba, i_ba = cKDTree(pa).query(pb)
    cos_ab = np.abs(np.sum(na * nb[i_ab], axis=1))
    cos_ba = np.abs(np.sum(nb * na[i_ba], axis=1))
    return {"chamfer": float(np.mean(d_ab ** 2) + np.mean(d_ba ** 2)),
            "normal_consistency": float(0.5 * (np.mean(cos_ab) + np.mean(cos_ba)))}


def _sample(mesh, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform by area and the unit face normal at each."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvrenderError(f"the number of samples must be an integer >= 1, got {n!r}")
    if isinstance(mesh, tuple | list) and len(mesh) == 2:
        vertices, faces = mesh
    elif hasattr(mesh, "vertices") and hasattr(mesh, "faces"):
        vertices, faces = mesh.vertices, mesh.faces
    else:
        raise InvrenderError(f"a mesh must be a (vertices, faces) pair, got "
                             f"{type(mesh).__name__}")
    v, f = check_mesh(vertices, faces)
    tri = trimesh.Trimesh(v, f, process=False, validate=False)
    area = tri.area_faces
    if not np.sum(area) > 0:
        raise InvrenderError("the mesh has no surface to sample (its total area is zero)")
    # Normals of zero-area faces are never used: those faces get no samples.
    normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-300)
    points, face = trimesh.sample.sample_surface(tri, int(n), seed=seed)
    return np.asarray(points, dtype=np.float64), normals[face]
