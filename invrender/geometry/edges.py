"""Mesh edges for visibility boundary terms: welded topology, silhouettes, projection.

Welding first (BOUNDARY.md §2): OBJ/PLY loaders duplicate vertices along creases and seams,
which would turn every crease into two boundary edges. Each edge is stored once with its
(up to two) faces and the opposite vertices, and an endpoint is represented by the first of
its duplicate vertices, which is where its gradient goes. No Taichi here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FLAT_COS = 1.0 - 1e-6  # faces this close to coplanar make no crease


@dataclass
class EdgeSet:
    v: np.ndarray  # (E, 2) global vertex index of each endpoint (a representative duplicate)
    faces: np.ndarray  # (E, 2) global triangle ids, -1 where the edge has only one face
    opposite: np.ndarray  # (E, 2) global vertex opposite the edge in each face, -1 if none
    mesh: np.ndarray  # (E,) index of the mesh the edge belongs to
    ends: np.ndarray  # (E, 2, 2) the endpoints' own (unwelded) vertices in each face, or -1

    def __len__(self) -> int:
        return len(self.v)


def weld(vertices: np.ndarray, faces: np.ndarray):
    """Merge vertices with exactly equal coordinates (as Mitsuba's LargeSteps does).

    Returns ``(welded_vertices, welded_faces, index, inverse)``: ``welded = vertices[index]``
    (the first vertex of each group) and ``vertices == welded[inverse]``.
    """
    _, index, inverse = np.unique(vertices, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    return vertices[index], inverse[faces], index, inverse


def build_edges(vertices: np.ndarray, faces: np.ndarray, vertex_offsets, meshes) -> EdgeSet:
    """Edges of the meshes with index in ``meshes`` (global vertex and face numbering)."""
    parts = []
    for m in meshes:
        lo, hi = vertex_offsets[m], vertex_offsets[m + 1]
        in_mesh = np.nonzero((faces[:, 0] >= lo) & (faces[:, 0] < hi))[0]
        local = vertices[lo:hi]
        _, _, first, inverse = weld(local, np.zeros((0, 3), np.int64))
        rep = first[inverse] + lo  # each vertex -> its representative's global index
        own = faces[in_mesh]
        tri = rep[own - lo]
        a = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
        b = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
        c = np.concatenate([tri[:, 2], tri[:, 0], tri[:, 1]])
        oa = np.concatenate([own[:, 0], own[:, 1], own[:, 2]])
        ob = np.concatenate([own[:, 1], own[:, 2], own[:, 0]])
        f = np.concatenate([in_mesh] * 3)
        keep = a != b  # degenerate triangles have no edge there
        a, b, c, f, oa, ob = a[keep], b[keep], c[keep], f[keep], oa[keep], ob[keep]
        swap = a > b
        own_ends = np.stack([np.where(swap, ob, oa), np.where(swap, oa, ob)], 1)
        key = np.stack([np.minimum(a, b), np.maximum(a, b)], 1)
        uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        face_pair = np.full((len(uniq), 2), -1)
        opp_pair = np.full((len(uniq), 2), -1)
        face_pair[:, 0] = f[order[starts]]
        opp_pair[:, 0] = c[order[starts]]
        two = counts >= 2  # non-manifold edges (> 2 faces) keep their first two faces
        face_pair[two, 1] = f[order[starts[two] + 1]]
        opp_pair[two, 1] = c[order[starts[two] + 1]]
        ends = np.full((len(uniq), 2, 2), -1)
        ends[:, 0] = own_ends[order[starts]]
        ends[two, 1] = own_ends[order[starts[two] + 1]]
        parts.append(EdgeSet(uniq, face_pair, opp_pair, np.full(len(uniq), m), ends))
    if not parts:
        z = np.zeros((0, 2), np.int64)
        return EdgeSet(z, z, z, np.zeros(0, np.int64), np.zeros((0, 2, 2), np.int64))
    return EdgeSet(*(np.concatenate([getattr(p, k) for p in parts])
                     for k in ("v", "faces", "opposite", "mesh", "ends")))


def smooth_across(edges: EdgeSet, normals: np.ndarray) -> np.ndarray:
    """(E,) whether shading is continuous across each two-face edge: both faces give its
    endpoints the same, non-zero vertex normal (a smooth mesh, away from its normal seams).
    ``normals`` are the shading normals per vertex, zero for flat-shaded meshes."""
    n = normals[np.maximum(edges.ends, 0)]  # (E, face, end, 3)
    same = np.all(np.abs(n[:, 0] - n[:, 1]) <= 1e-6, axis=(1, 2))
    smooth = np.all(np.any(n[:, 0] != 0, axis=2), axis=1)
    return (edges.faces[:, 1] >= 0) & same & smooth


def face_normals(vertices: np.ndarray, faces: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Unnormalised winding normals of the faces ``ids`` (zeros for id -1)."""
    tri = vertices[faces[np.maximum(ids, 0)]]
    n = np.cross(tri[..., 1, :] - tri[..., 0, :], tri[..., 2, :] - tri[..., 0, :])
    return np.where((ids >= 0)[..., None], n, 0.0)


def discontinuity_edges(edges: EdgeSet, vertices: np.ndarray, faces: np.ndarray,
                        eye: np.ndarray, smooth: np.ndarray | None = None) -> np.ndarray:
    """Indices of the edges across which what ``eye`` sees can jump: boundary edges,
    silhouettes (one face towards the eye, one away) and visible creases (both faces
    towards the eye, not coplanar) where the shading is not ``smooth`` across them (see
    ``smooth_across``: there the position and the normal are continuous, so is radiance).
    Edges with both faces turned away are hidden."""
    if len(edges) == 0:
        return np.zeros(0, np.int64)
    n = face_normals(vertices, faces, edges.faces)
    to_eye = eye - vertices[edges.v[:, 0]]
    facing = np.einsum("eij,ej->ei", n, to_eye) > 0
    boundary = edges.faces[:, 1] < 0
    nn = n / np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-300)
    flat = np.einsum("ej,ej->e", nn[:, 0], nn[:, 1]) > FLAT_COS
    silhouette = facing[:, 0] != facing[:, 1]
    crease = facing[:, 0] & facing[:, 1] & ~flat
    if smooth is not None:
        crease &= ~smooth
    return np.nonzero(boundary | (~boundary & (silhouette | crease)))[0]


def shadow_edges(edges: EdgeSet, vertices: np.ndarray, faces: np.ndarray,
                 light_points: np.ndarray, environment: bool = False) -> np.ndarray:
    """Indices of edges that can bound a shadow of a light with corners ``light_points``:
    boundary edges, and edges one of whose faces turns towards some part of the light and
    away from another, or whose two faces disagree at some corner. (A face's facing is
    linear over a planar light, so its corners decide it.) An environment lights from every
    direction: then every boundary edge and every crease can."""
    if len(edges) == 0:
        return np.zeros(0, np.int64)
    n = face_normals(vertices, faces, edges.faces)  # (E, 2, 3)
    if environment:
        nn = n / np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-300)
        flat = np.einsum("ej,ej->e", nn[:, 0], nn[:, 1]) > FLAT_COS
        return np.nonzero((edges.faces[:, 1] < 0) | ~flat)[0]
    if len(light_points) == 0:
        return np.zeros(0, np.int64)
    if len(light_points) > 8:  # a finely tessellated light: the corners of its bounding box
        light_points = _box_corners(light_points)  # give a superset (convex box, see below)
    side = np.einsum("eij,lej->lei", n, light_points[:, None, :] - vertices[edges.v[:, 0]])
    facing = side > 0  # (corners, E, 2)
    varies = facing.any(0) & ~facing.all(0)  # (E, 2): the face's plane cuts the light
    disagree = (facing[:, :, 0] != facing[:, :, 1]).any(0)
    boundary = edges.faces[:, 1] < 0
    two = ~boundary
    return np.nonzero(boundary | varies[:, 0] | (two & (varies[:, 1] | disagree)))[0]


def _box_corners(points: np.ndarray) -> np.ndarray:
    """The 8 corners of the points' bounding box. A plane cuts the box iff its corners lie
    on both sides, so an edge whose faces' planes miss the box has the same facing at every
    light point as at the corners: the edges chosen from the corners include the exact set."""
    lo, hi = points.min(0), points.max(0)
    return np.array([[(lo, hi)[i][0], (lo, hi)[j][1], (lo, hi)[k][2]]
                     for i in (0, 1) for j in (0, 1) for k in (0, 1)])
