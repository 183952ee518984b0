"""Bounding volume hierarchy over a triangle mesh, built on the host with numpy.

The tree is flattened in depth-first preorder: an internal node's first child is the
next node (``i + 1``), and every node carries ``skip[i]``, the index of the first node
after its whole subtree (``K`` past the end), so its second child is ``skip[i + 1]``.
The kernels (``intersect.py``) visit the nearer child first and stack the other; the
skip links alone also allow a stackless walk in a fixed child order, which
``intersect_bvh_numpy`` runs for the tests::

    i = 0
    while i < K:
        if ray_hits_box(lo[i], hi[i], t_best):
            for j in range(prim_start[i], prim_start[i] + prim_count[i]):  # leaves only
                intersect triangle prim_index[j], shrink t_best
            i += 1          # descend (for a leaf, i + 1 == skip[i])
        else:
            i = skip[i]     # prune the whole subtree

The build is a top-down binned SAH (surface area heuristic). Instead of
recursing node by node in Python, all nodes of one tree level are split
together with vectorised numpy, so the Python overhead is per level, not per
node; a million triangles build in a few seconds on one core.

Boxes are float32 (what kernels read) and conservative: they are rounded
outwards from the float64 triangles and padded by a small relative epsilon, which
also gives flat boxes (an axis-aligned wall) a nonzero thickness so a float32
slab test cannot miss them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Number of SAH bins along a node's longest centroid axis.
SAH_BINS = 16
#: Relative padding of node boxes (of the box size plus its distance from the origin).
BOX_PAD_REL = 1e-5
#: Absolute padding floor, so even a box collapsed to a point at the origin has volume.
BOX_PAD_ABS = 1e-30
#: Levels below this halve their nodes by count instead of by SAH, which bounds the depth
#: (at most this plus log2 of the triangle count: the traversal's stack, intersect.py).
MEDIAN_FROM_LEVEL = 32


@dataclass
class Bvh:
    """Flattened BVH; see the module docstring for the traversal it is laid out for.

    For an internal node ``prim_start`` is the first ``prim_index`` entry of its
    subtree (whose triangles are contiguous there); only leaves have triangles.
    """

    lo: np.ndarray  # (K, 3) float32 node box min
    hi: np.ndarray  # (K, 3) float32 node box max
    skip: np.ndarray  # (K,) int32 next node in preorder after this node's subtree (K: end)
    prim_start: np.ndarray  # (K,) int32 first entry in prim_index
    prim_count: np.ndarray  # (K,) int32 triangles in a leaf; 0 for an internal node
    prim_index: np.ndarray  # (M,) int32 triangle ids in leaf order

    @property
    def num_nodes(self) -> int:
        return len(self.skip)

    @property
    def num_leaves(self) -> int:
        return int(np.count_nonzero(self.prim_count))


def _round32(x: np.ndarray, down: bool) -> np.ndarray:
    """float64 -> float32 rounded towards -inf (down) or +inf, so boxes stay conservative."""
    y = x.astype(np.float32)
    bad = (y > x) if down else (y < x)
    y[bad] = np.nextafter(y[bad], np.float32(-np.inf if down else np.inf))
    return y


def _pad_boxes(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grow float32 boxes outwards; a parent's pad is never smaller than its children's."""
    lo64, hi64 = lo.astype(np.float64), hi.astype(np.float64)
    size = (hi64 - lo64).max(axis=1, keepdims=True)
    magnitude = np.maximum(np.abs(lo64), np.abs(hi64)).max(axis=1, keepdims=True)
    pad = BOX_PAD_REL * (size + magnitude) + BOX_PAD_ABS
    return _round32(lo64 - pad, down=True), _round32(hi64 + pad, down=False)


def _half_area(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Half surface area of boxes given as (3, ...) arrays (empty boxes give inf, masked later)."""
    e = (hi - lo).astype(np.float64)
    return e[0] * e[1] + e[1] * e[2] + e[2] * e[0]


def _segment_starts(count: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(count), dtype=np.int64)
    np.cumsum(count[:-1], out=starts[1:])
    return starts


def _split_level(lo, hi, cen, count, by_count: bool = False):
    """Choose the binned-SAH split of every node of one level at once.

    ``lo``/``hi``/``cen`` are (3, A) float32 triangle boxes and centroids, grouped
    into contiguous segments of ``count`` triangles, one per node to split.
    Returns per-triangle go-left flags and node index, and the segment starts.
    With ``by_count`` every node is halved by position, as one without a valid split.
    """
    n_nodes, n_tri = len(count), lo.shape[1]
    starts = _segment_starts(count)
    node_of = np.repeat(np.arange(n_nodes), count)

    cmin = np.minimum.reduceat(cen, starts, axis=1)
    extent = np.maximum.reduceat(cen, starts, axis=1) - cmin
    axis = np.argmax(extent, axis=0)
    nodes = np.arange(n_nodes)
    ext = extent[axis, nodes]
    ext_safe = np.where(ext > 0, ext, 1)[node_of]
    c = cen[axis[node_of], np.arange(n_tri)] - cmin[axis, nodes][node_of]
    bins = np.minimum((c / ext_safe * SAH_BINS).astype(np.int64), SAH_BINS - 1)

    key = node_of * SAH_BINS + bins
    n_bin = np.bincount(key, minlength=n_nodes * SAH_BINS).reshape(n_nodes, SAH_BINS)
    blo = np.full((3, n_nodes * SAH_BINS), np.inf, dtype=np.float32)
    bhi = np.full((3, n_nodes * SAH_BINS), -np.inf, dtype=np.float32)
    for k in range(3):
        np.minimum.at(blo[k], key, lo[k])
        np.maximum.at(bhi[k], key, hi[k])
    blo = blo.reshape(3, n_nodes, SAH_BINS)
    bhi = bhi.reshape(3, n_nodes, SAH_BINS)

    # Candidate split b puts bins 0..b left and b+1.. right, b = 0 .. SAH_BINS-2.
    left_lo = np.minimum.accumulate(blo, axis=2)[..., :-1]
    left_hi = np.maximum.accumulate(bhi, axis=2)[..., :-1]
    right_lo = np.minimum.accumulate(blo[..., ::-1], axis=2)[..., ::-1][..., 1:]
    right_hi = np.maximum.accumulate(bhi[..., ::-1], axis=2)[..., ::-1][..., 1:]
    n_left = np.cumsum(n_bin, axis=1)[:, :-1]
    n_right = count[:, None] - n_left
    with np.errstate(invalid="ignore", over="ignore"):
        cost = _half_area(left_lo, left_hi) * n_left + _half_area(right_lo, right_hi) * n_right
    cost[(n_left == 0) | (n_right == 0)] = np.inf
    best = np.argmin(cost, axis=1)
    go_left = bins <= best[node_of]

    # No valid split only when all centroids coincide (ext == 0): halve by position.
    stuck = ~np.isfinite(cost[nodes, best]) | by_count
    if stuck.any():
        t = stuck[node_of]
        local = np.arange(n_tri) - starts[node_of]
        go_left[t] = local[t] < (count // 2)[node_of[t]]
    return go_left, node_of, starts


def _partition(go_left, node_of, starts):
    """Stable in-segment partition (lefts first); returns the gather index and left counts."""
    gl = go_left.astype(np.int64)
    lefts_before = np.cumsum(gl) - gl  # exclusive, over the whole array
    rank_left = lefts_before - lefts_before[starts][node_of]
    n_left = np.bincount(node_of, weights=gl, minlength=len(starts)).astype(np.int64)
    rank_right = np.arange(len(gl)) - starts[node_of] - rank_left
    pos = starts[node_of] + np.where(go_left, rank_left, n_left[node_of] + rank_right)
    gather = np.empty_like(pos)
    gather[pos] = np.arange(len(pos))
    return gather, n_left


def build_bvh(vertices: np.ndarray, faces: np.ndarray, leaf_size: int = 4) -> Bvh:
    """Build a binned-SAH BVH over ``faces`` (N, 3) indexing ``vertices`` (V, 3).

    Nodes with more than ``leaf_size`` triangles are always split, so every leaf
    holds 1..leaf_size triangles.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    if v.ndim != 2 or v.shape[1] != 3:
        raise ValueError(f"vertices must have shape (V, 3), got {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError(f"faces must be an integer array of shape (N, 3), got {f.shape}")
    if len(f) == 0:
        raise ValueError("cannot build a BVH over a mesh with no triangles")
    if f.min() < 0 or f.max() >= len(v):
        raise ValueError("faces index vertices out of range")
    if leaf_size < 1:
        raise ValueError(f"leaf_size must be >= 1, got {leaf_size}")

    n = len(f)
    tri = v[f]
    if not np.isfinite(tri).all():
        raise ValueError("triangle vertices must be finite")
    # Working set, as (3, A) float32 rows, of the triangles still in nodes to split.
    lo = np.ascontiguousarray(_round32(tri.min(axis=1), down=True).T)
    hi = np.ascontiguousarray(_round32(tri.max(axis=1), down=False).T)
    del tri
    cen = (lo + hi) * np.float32(0.5)
    ids = np.arange(n, dtype=np.int32)
    order = np.empty(n, dtype=np.int32)

    # Level-by-level construction: nodes get breadth-first ids; children of a
    # split node are adjacent, so only the left child's id is recorded.
    start = np.zeros(1, dtype=np.int64)  # first prim_index slot of each level node
    count = np.full(1, n, dtype=np.int64)
    levels = []  # per level: (box lo, box hi, start, count, left child id or -1)
    base = 0
    while len(count):
        seg = _segment_starts(count)
        box_lo = np.minimum.reduceat(lo, seg, axis=1).T
        box_hi = np.maximum.reduceat(hi, seg, axis=1).T
        split = count > leaf_size
        n_split = int(split.sum())
        child = np.full(len(count), -1, dtype=np.int64)
        child[split] = base + len(count) + 2 * np.arange(n_split)
        levels.append((box_lo, box_hi, start, count, child))
        base += len(count)

        # Leaves are final: their triangles go to prim_index and leave the working set.
        node_of = np.repeat(np.arange(len(count)), count)
        leaf_tri = ~split[node_of]
        if leaf_tri.any():
            slot = start[node_of] + np.arange(len(ids)) - seg[node_of]
            order[slot[leaf_tri]] = ids[leaf_tri]
        if n_split == 0:
            break
        keep = ~leaf_tri
        ids, lo, hi, cen = ids[keep], lo[:, keep], hi[:, keep], cen[:, keep]
        start, count = start[split], count[split]

        go_left, node_of, seg = _split_level(lo, hi, cen, count,
                                             len(levels) >= MEDIAN_FROM_LEVEL)
        gather, n_left = _partition(go_left, node_of, seg)
        ids, lo, hi, cen = ids[gather], lo[:, gather], hi[:, gather], cen[:, gather]
        start = np.stack([start, start + n_left], axis=1).ravel()
        count = np.stack([n_left, count - n_left], axis=1).ravel()

    return _flatten_preorder(levels, order)


def _flatten_preorder(levels, order: np.ndarray) -> Bvh:
    """Reorder breadth-first nodes into depth-first preorder and derive skip pointers."""
    lo = np.concatenate([lv[0] for lv in levels])
    hi = np.concatenate([lv[1] for lv in levels])
    start = np.concatenate([lv[2] for lv in levels])
    count = np.concatenate([lv[3] for lv in levels])
    child = np.concatenate([lv[4] for lv in levels])
    k = len(child)
    bounds = np.cumsum([0] + [len(lv[4]) for lv in levels])

    size = np.ones(k, dtype=np.int64)  # subtree sizes, children before parents
    for a, b in zip(bounds[-2::-1], bounds[:0:-1], strict=True):
        node = np.arange(a, b)[child[a:b] >= 0]
        size[node] += size[child[node]] + size[child[node] + 1]
    pre = np.zeros(k, dtype=np.int64)  # preorder index, parents before children
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        node = np.arange(a, b)[child[a:b] >= 0]
        pre[child[node]] = pre[node] + 1
        pre[child[node] + 1] = pre[node] + 1 + size[child[node]]

    def permuted(x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        out[pre] = x
        return out

    lo, hi = _pad_boxes(permuted(lo), permuted(hi))
    leaf_count = np.where(child < 0, count, 0)
    return Bvh(
        lo=lo,
        hi=hi,
        skip=permuted(pre + size).astype(np.int32),
        prim_start=permuted(start).astype(np.int32),
        prim_count=permuted(leaf_count).astype(np.int32),
        prim_index=order,
    )


def refit_bvh(bvh: Bvh, vertices: np.ndarray, faces: np.ndarray) -> Bvh:
    """The same tree with its boxes fitted to moved vertices (same faces): a fraction of a
    build's cost, for meshes that an optimisation deforms step by step. Boxes are as
    conservative as a build's (equal to them when nothing moved); the tree's quality decays
    as the mesh moves away from the one it was built for (see ``sah_cost``)."""
    tri = np.asarray(vertices, np.float64)[np.asarray(faces)[bvh.prim_index]]
    m, k = len(bvh.prim_index), bvh.num_nodes
    # triangle boxes in leaf order, one spare row so that a range may end at m
    lo = np.vstack([_round32(tri.min(axis=1), down=True), np.zeros((1, 3), np.float32)])
    hi = np.vstack([_round32(tri.max(axis=1), down=False), np.zeros((1, 3), np.float32)])
    start = bvh.prim_start.astype(np.int64)
    skip = bvh.skip.astype(np.int64)
    # a subtree's triangles are contiguous and end where the next node in preorder starts
    end = np.where(skip < k, start[np.minimum(skip, k - 1)], m)
    bounds = np.stack([start, end], axis=1).ravel()
    node_lo = np.minimum.reduceat(lo, bounds, axis=0)[0::2]
    node_hi = np.maximum.reduceat(hi, bounds, axis=0)[0::2]
    node_lo, node_hi = _pad_boxes(node_lo, node_hi)
    return Bvh(node_lo, node_hi, bvh.skip, bvh.prim_start, bvh.prim_count, bvh.prim_index)


def sah_cost(bvh: Bvh) -> float:
    """The surface-area cost of the tree relative to its root box: expected boxes tested
    plus triangles tested per ray through the root; compares a refitted tree with a build."""
    area = _half_area(bvh.lo.T, bvh.hi.T)
    if not len(area) or area[0] <= 0:
        return 0.0
    return float((area.sum() + (area * bvh.prim_count).sum()) / area[0])


def _moller_trumbore(v0, v1, v2, o, d, t_min):
    """Ray-triangle distances (inf on a miss), broadcasting over leading axes.

    Products are spelled out component by component so that the result for one
    (ray, triangle) pair does not depend on how the arrays were batched.
    """

    def cross(a, b):
        return (a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])

    def dot(a, b):
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]

    def parts(a):
        return a[..., 0], a[..., 1], a[..., 2]

    e1, e2, s = v1 - v0, v2 - v0, o - v0
    p = cross(d, e2)
    det = dot(parts(e1), p)
    q = cross(s, e1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        u = dot(parts(s), p) * inv
        w = dot(parts(d), q) * inv
        t = dot(parts(e2), q) * inv
        hit = (det != 0) & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > t_min)
    return np.where(hit, t, np.inf)


def intersect_bruteforce(vertices, faces, origins, dirs, t_min: float = 0.0):
    """Closest hit of each ray against every triangle: the reference for tests.

    Returns ``(t, tri)``, (R,) float64 and int64, ``inf``/``-1`` on a miss; on a
    tie in ``t`` the lowest triangle id wins.
    """
    v = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]
    o = np.atleast_2d(np.asarray(origins, dtype=np.float64))
    d = np.atleast_2d(np.asarray(dirs, dtype=np.float64))
    t_out = np.full(len(o), np.inf)
    tri_out = np.full(len(o), -1, dtype=np.int64)
    chunk = max(1, (1 << 20) // max(1, len(v)))
    for a in range(0, len(o), chunk):
        t = _moller_trumbore(v[None, :, 0], v[None, :, 1], v[None, :, 2],
                             o[a:a + chunk, None], d[a:a + chunk, None], t_min)
        best = np.argmin(t, axis=1)
        t_best = t[np.arange(len(t)), best]
        t_out[a:a + chunk] = t_best
        tri_out[a:a + chunk] = np.where(np.isfinite(t_best), best, -1)
    return t_out, tri_out


def _ray_boxes(lo, hi, o, d):
    """Slab test of one ray against all boxes: (entry t, hit flag) per box."""
    lo, hi = lo.astype(np.float64), hi.astype(np.float64)
    parallel = d == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1, t2 = (lo - o) * inv, (hi - o) * inv
    inside = (lo <= o) & (o <= hi)
    near = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2)).max(axis=1)
    far = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2)).min(axis=1)
    return near, (near <= far) & (far >= 0)


def intersect_bvh_numpy(bvh: Bvh, vertices, faces, origin, dir, t_min: float = 0.0):
    """Closest hit of ONE ray by the stackless traversal a kernel would run.

    Slow (Python loop over nodes); it exists so tests can check the layout
    against :func:`intersect_bruteforce`, with the same tie rule.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    o = np.asarray(origin, dtype=np.float64)
    d = np.asarray(dir, dtype=np.float64)
    near, box_hit = _ray_boxes(bvh.lo, bvh.hi, o, d)
    skip, start, count = bvh.skip.tolist(), bvh.prim_start.tolist(), bvh.prim_count.tolist()
    t_best, tri_best = np.inf, -1
    i, k = 0, len(skip)
    while i < k:
        if box_hit[i] and near[i] <= t_best:
            if count[i]:
                tris = bvh.prim_index[start[i]:start[i] + count[i]]
                tv = v[f[tris]]
                t = _moller_trumbore(tv[:, 0], tv[:, 1], tv[:, 2], o, d, t_min)
                for tri, ti in zip(tris.tolist(), t.tolist(), strict=True):
                    if ti < t_best or (ti == t_best and tri < tri_best):
                        t_best, tri_best = ti, tri
            i += 1
        else:
            i = skip[i]
    return t_best, tri_best
