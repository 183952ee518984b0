"""BVH layout and correctness: the traversals must agree with brute force."""

import numpy as np
import pytest

from invrender.geometry.bvh import (
    Bvh,
    build_bvh,
    intersect_bruteforce,
    intersect_bvh_numpy,
    refit_bvh,
    sah_cost,
)


def random_soup(n, seed, size=0.2):
    """n independent triangles of roughly ``size`` scattered in the unit cube."""
    rng = np.random.default_rng(seed)
    centre = rng.random((n, 1, 3))
    vertices = (centre + size * rng.standard_normal((n, 3, 3))).reshape(-1, 3)
    return vertices, np.arange(3 * n).reshape(n, 3)


def box_room(cells=4):
    """Walls at x, y, z = +-1, each a grid of cells x cells quads (two triangles each)."""
    s = np.linspace(-1.0, 1.0, cells + 1)
    a, b = np.meshgrid(s, s, indexing="ij")
    idx = np.arange((cells + 1) ** 2).reshape(cells + 1, cells + 1)
    q00, q10 = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    q11, q01 = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    quad_faces = np.concatenate([np.stack([q00, q10, q11], 1), np.stack([q00, q11, q01], 1)])
    vertices, faces = [], []
    for axis in range(3):
        for side in (-1.0, 1.0):
            wall = np.empty((a.size, 3))
            wall[:, axis] = side
            wall[:, (axis + 1) % 3] = a.ravel()
            wall[:, (axis + 2) % 3] = b.ravel()
            faces.append(quad_faces + sum(len(w) for w in vertices))
            vertices.append(wall)
    return np.concatenate(vertices), np.concatenate(faces)


def random_rays(n, seed, vertices, faces, lo=-1.5, hi=1.5, aimed=0.5):
    """Rays from a box; a fraction ``aimed`` points at a random triangle so many hit."""
    rng = np.random.default_rng(seed)
    origins = rng.uniform(lo, hi, (n, 3))
    dirs = rng.standard_normal((n, 3))
    m = int(n * aimed)
    tri = vertices[faces[rng.integers(0, len(faces), m)]]
    w = rng.dirichlet(np.ones(3), m)
    dirs[:m] = np.einsum("ij,ijk->ik", w, tri) - origins[:m]
    return origins, dirs


def check_invariants(bvh: Bvh, vertices, faces, leaf_size):
    k, n = bvh.num_nodes, len(faces)
    assert bvh.lo.dtype == bvh.hi.dtype == np.float32
    assert bvh.lo.shape == bvh.hi.shape == (k, 3)
    for a in (bvh.skip, bvh.prim_start, bvh.prim_count, bvh.prim_index):
        assert a.dtype == np.int32
    assert np.array_equal(np.sort(bvh.prim_index), np.arange(n))

    leaf = bvh.prim_count > 0
    assert np.all(bvh.prim_count <= leaf_size)
    assert np.count_nonzero(~leaf) == np.count_nonzero(leaf) - 1  # full binary tree
    # Leaves in preorder tile prim_index from left to right.
    counts = bvh.prim_count[leaf]
    assert np.array_equal(bvh.prim_start[leaf], np.cumsum(counts) - counts)

    # Walk the tree as a kernel defines it (children of an inner node i are i+1
    # and skip[i+1]): a DFS must meet the nodes in order 0..K-1.
    skip = bvh.skip.tolist()
    is_leaf = leaf.tolist()
    visited, stack = 0, [0]
    while stack:
        i = stack.pop()
        assert i == visited
        visited += 1
        if not is_leaf[i]:
            stack += [skip[i + 1], i + 1]
    assert visited == k
    # skip[i] = i + subtree size, where a subtree is itself and its two children's.
    size = np.ones(k, dtype=np.int64)
    for i in range(k - 1, -1, -1):
        if not is_leaf[i]:
            right = skip[i + 1]
            assert i + 1 < right < skip[i]
            assert skip[right] == skip[i]
            size[i] = 1 + size[i + 1] + size[right]
    assert np.array_equal(bvh.skip, np.arange(k) + size)
    assert bvh.skip[0] == k

    # Boxes: nonzero thickness, contain their children and their triangles.
    assert np.all(bvh.hi > bvh.lo)
    inner = np.flatnonzero(~leaf)
    for child in (inner + 1, bvh.skip[inner + 1]):
        assert np.all(bvh.lo[inner] <= bvh.lo[child])
        assert np.all(bvh.hi[inner] >= bvh.hi[child])
    node_of_slot = np.repeat(np.flatnonzero(leaf), counts)
    tri = np.asarray(vertices, dtype=np.float64)[faces[bvh.prim_index]]
    assert np.all(bvh.lo[node_of_slot, None].astype(np.float64) <= tri)
    assert np.all(bvh.hi[node_of_slot, None].astype(np.float64) >= tri)


def assert_same_hits(bvh, vertices, faces, origins, dirs):
    t_ref, tri_ref = intersect_bruteforce(vertices, faces, origins, dirs)
    for o, d, t, tri in zip(origins, dirs, t_ref, tri_ref, strict=True):
        got_t, got_tri = intersect_bvh_numpy(bvh, vertices, faces, o, d)
        assert (got_tri, got_t) == (tri, t)
    return t_ref, tri_ref


@pytest.mark.parametrize("seed, n, leaf_size", [(0, 300, 4), (1, 500, 1), (2, 200, 8)])
def test_random_soup_matches_bruteforce(seed, n, leaf_size):
    vertices, faces = random_soup(n, seed)
    bvh = build_bvh(vertices, faces, leaf_size=leaf_size)
    check_invariants(bvh, vertices, faces, leaf_size)
    origins, dirs = random_rays(300, seed + 100, vertices, faces, aimed=0.7)
    t, _ = assert_same_hits(bvh, vertices, faces, origins, dirs)
    assert 0.3 < np.isfinite(t).mean() < 1.0  # both hits and misses exercised


def test_box_room_matches_bruteforce():
    vertices, faces = box_room()
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    rng = np.random.default_rng(7)
    origins = rng.uniform(-0.9, 0.9, (300, 3))
    dirs = rng.standard_normal((300, 3))
    dirs[:60] = np.eye(3)[rng.integers(0, 3, 60)] * rng.choice([-1, 1], (60, 1))  # axis-aligned
    dirs[60:90, rng.integers(0, 3)] = 0.0  # parallel to one pair of walls
    t, _ = assert_same_hits(bvh, vertices, faces, origins, dirs)
    assert np.all(np.isfinite(t))  # a closed room: every ray from inside hits a wall
    # Rays from outside, some missing the room entirely.
    origins, dirs = random_rays(150, 8, vertices, faces, lo=-3, hi=3, aimed=0.5)
    assert_same_hits(bvh, vertices, faces, origins, dirs)


def test_single_triangle():
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    faces = np.array([[0, 1, 2]])
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    assert bvh.num_nodes == 1 and bvh.skip.tolist() == [1]
    t, tri = intersect_bvh_numpy(bvh, vertices, faces, [0.25, 0.25, 1.0], [0.0, 0.0, -1.0])
    assert (t, tri) == (1.0, 0)
    t, tri = intersect_bvh_numpy(bvh, vertices, faces, [0.75, 0.75, 1.0], [0.0, 0.0, -1.0])
    assert (t, tri) == (np.inf, -1)


def test_identical_centroids_split_in_the_middle():
    # 50 copies of one triangle (identical boxes) plus 50 rotations of it.
    base = np.array([[1.0, 0.0, 0.0], [-0.5, 0.8, 0.0], [-0.5, -0.8, 0.0]])
    angles = np.linspace(0, np.pi, 50)
    rot = np.zeros((50, 3, 3))
    rot[:, 0, 0], rot[:, 0, 1] = np.cos(angles), -np.sin(angles)
    rot[:, 1, 0], rot[:, 1, 1] = np.sin(angles), np.cos(angles)
    rot[:, 2, 2] = 1.0
    tris = np.concatenate([np.repeat(base[None], 50, 0), base @ rot.transpose(0, 2, 1)])
    vertices, faces = tris.reshape(-1, 3), np.arange(300).reshape(100, 3)
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    # The copies alone: halving 64 identical boxes gives 16 full leaves.
    copies = build_bvh(vertices, faces[np.zeros(64, dtype=int)])
    assert copies.prim_count.tolist().count(4) == 16 and copies.num_nodes == 31
    origins, dirs = random_rays(100, 3, vertices, faces, lo=-1, hi=1)
    origins[:, 2] = 1.0
    t, tri = assert_same_hits(bvh, vertices, faces, origins, dirs)
    assert np.isfinite(t).any()


def test_zero_area_triangles():
    vertices, faces = random_soup(200, 5)
    tris = vertices[faces]
    tris[::3, 2] = tris[::3, 0]  # a repeated vertex: a segment
    tris[1::7] = tris[1::7, :1]  # all three vertices equal: a point
    vertices = tris.reshape(-1, 3)
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    origins, dirs = random_rays(150, 6, vertices, faces)
    assert_same_hits(bvh, vertices, faces, origins, dirs)


def test_flat_scene_boxes_have_thickness():
    # Everything in the plane x = -1: boxes must still be hit by rays along x.
    rng = np.random.default_rng(4)
    vertices = np.concatenate([np.full((300, 1), -1.0), rng.uniform(-1, 1, (300, 2))], axis=1)
    faces = np.arange(300).reshape(100, 3)
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    assert np.all(bvh.lo[:, 0] < -1.0) and np.all(bvh.hi[:, 0] > -1.0)
    origins = np.concatenate([np.zeros((100, 1)), rng.uniform(-1, 1, (100, 2))], axis=1)
    dirs = np.tile([-1.0, 0.0, 0.0], (100, 1))
    assert_same_hits(bvh, vertices, faces, origins, dirs)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        build_bvh(np.zeros((3, 3)), np.zeros((0, 3), dtype=int))
    with pytest.raises(ValueError):
        build_bvh(np.zeros((3, 3)), np.array([[0, 1, 3]]))


def test_large_build_invariants():
    vertices, faces = random_soup(200_000, 9, size=0.002)
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    # A handful of rays still agree with brute force on the big tree.
    origins, dirs = random_rays(10, 10, vertices, faces, aimed=1.0)
    assert_same_hits(bvh, vertices, faces, origins, dirs)


def test_refit_of_unmoved_mesh_is_the_build():
    vertices, faces = random_soup(300, 5)
    bvh = build_bvh(vertices, faces)
    same = refit_bvh(bvh, vertices, faces)
    assert np.array_equal(same.lo, bvh.lo) and np.array_equal(same.hi, bvh.hi)
    assert sah_cost(same) == sah_cost(bvh)


def test_refit_after_motion_is_conservative_and_hits_alike():
    """A tree built for one soup and refitted to a moved one: valid boxes (every triangle in
    its leaf, children in parents) and the brute-force hits; a badly fitting tree costs
    more than a fresh build."""
    vertices, faces = random_soup(300, 6)
    bvh = build_bvh(vertices, faces)
    moved = vertices + 0.3 * np.random.default_rng(7).standard_normal(vertices.shape)
    refit = refit_bvh(bvh, moved, faces)
    check_invariants(refit, moved, faces, leaf_size=4)
    origins, dirs = random_rays(200, 8, moved, faces)
    t, _ = assert_same_hits(refit, moved, faces, origins, dirs)
    assert np.isfinite(t).mean() > 0.4
    assert sah_cost(refit) > 1.25 * sah_cost(build_bvh(moved, faces))


def soup_scene(tmp_path, vertices, faces):
    """A scene of one mesh (an OBJ in tmp_path), loaded and uploaded: its program."""
    import invrender
    from invrender.engine import Engine

    lines = [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in faces]
    (tmp_path / "soup.obj").write_text("\n".join(lines) + "\n")
    (tmp_path / "soup.xml").write_text(
        '<scene version="3.0.0"><shape type="obj"><string name="filename" value="soup.obj"/>'
        '<boolean name="face_normals" value="true"/></shape>'
        '<sensor type="perspective"><film type="hdrfilm"><integer name="width" value="4"/>'
        '<integer name="height" value="4"/></film></sensor></scene>')
    scene = invrender.load_scene(tmp_path / "soup.xml")
    return Engine.of(scene).sync(0)


def kernel_hits(g, origins, dirs):
    """The triangle and distance the kernels' ``intersect`` finds for each ray, and
    whether ``occluded`` finds any hit."""
    import taichi as ti

    from invrender.geometry.intersect import intersect, occluded

    @ti.kernel
    def run(o: ti.types.ndarray(), d: ti.types.ndarray(), tri: ti.types.ndarray(),
            t: ti.types.ndarray(), blocked: ti.types.ndarray()):
        for i in range(o.shape[0]):
            origin = ti.math.vec3(o[i, 0], o[i, 1], o[i, 2])
            direction = ti.math.vec3(d[i, 0], d[i, 1], d[i, 2])
            hit, dist, _, _ = intersect(g, origin, direction, 0.0, 1e30, -1)
            tri[i] = hit
            t[i] = dist
            blocked[i] = occluded(g, origin, direction, 0.0, 1e30, -1, -1)

    tri = np.zeros(len(origins), np.int32)
    t = np.zeros(len(origins), np.float32)
    blocked = np.zeros(len(origins), np.int32)
    run(origins.astype(np.float32), dirs.astype(np.float32), tri, t, blocked)
    return tri, t, blocked


def geometric_soup(n):
    """Triangles at geometrically growing distances and sizes: the binned SAH peels one
    node off at a time, so the tree would be about n levels deep without the count halving."""
    rng = np.random.default_rng(5)
    scale = 1.25 ** np.arange(n)
    centre = np.stack([scale, 0.1 * rng.standard_normal(n), 0.1 * rng.standard_normal(n)], 1)
    corners = centre[:, None] + 0.3 * scale[:, None, None] * rng.standard_normal((n, 3, 3))
    return corners.reshape(-1, 3), np.arange(3 * n).reshape(n, 3)


def tree_depth(bvh: Bvh) -> int:
    depth = np.zeros(bvh.num_nodes, np.int64)
    for i in range(bvh.num_nodes):
        if bvh.prim_count[i] == 0:
            depth[i + 1] = depth[bvh.skip[i + 1]] = depth[i] + 1
    return int(depth.max())


def test_deep_trees_are_halved_by_count():
    from invrender.geometry.bvh import MEDIAN_FROM_LEVEL
    from invrender.geometry.intersect import STACK_SIZE

    vertices, faces = geometric_soup(300)
    bvh = build_bvh(vertices, faces)
    check_invariants(bvh, vertices, faces, 4)
    depth = tree_depth(bvh)
    assert MEDIAN_FROM_LEVEL < depth <= MEDIAN_FROM_LEVEL + np.log2(300)
    assert depth < STACK_SIZE


@pytest.mark.parametrize("soup", ["random", "deep"])
def test_kernel_traversal_matches_bruteforce(tmp_path, soup):
    """The kernels' stack traversal (nearer child first) finds brute force's closest hit,
    also in a tree deeper than the stack would hold without the count halving."""
    if soup == "random":
        vertices, faces = random_soup(400, 3)
        origins, dirs = random_rays(2000, 4, vertices, faces, aimed=0.7)
    else:
        vertices, faces = geometric_soup(300)  # rays at the small end: the deepest leaves
        origins, dirs = random_rays(2000, 4, vertices, faces[:40], lo=-2, hi=5, aimed=0.7)
    vertices = vertices.astype(np.float32).astype(np.float64)  # what the kernels see
    origins = origins.astype(np.float32).astype(np.float64)
    dirs = dirs.astype(np.float32).astype(np.float64)
    tri, t, blocked = kernel_hits(soup_scene(tmp_path, vertices, faces), origins, dirs)
    assert np.array_equal(blocked, tri >= 0)  # the any-hit walk agrees with the closest
    t_ref, tri_ref = intersect_bruteforce(vertices, faces, origins, dirs)
    # rays to the deep soup's far triangles (1e10 and more away) leave float32's range in
    # Moller-Trumbore's products: only the nearer ones are compared
    near = ~(((tri_ref >= 0) & (t_ref >= 1e6)) | ((tri >= 0) & (t >= 1e6)))
    tri, t, t_ref, tri_ref = tri[near], t[near], t_ref[near], tri_ref[near]
    assert near.mean() > 0.5
    hit = tri_ref >= 0
    assert 0.3 < hit.mean() < 1.0
    # float32 against float64: rays through an edge between two triangles may go either way
    same = tri == tri_ref
    assert same.mean() > 0.995  # misses included
    close = np.abs(t[hit & ~same] - t_ref[hit & ~same]) <= 1e-4 * np.maximum(t_ref[hit & ~same], 1)
    assert close.all()
    assert np.allclose(t[hit & same], t_ref[hit & same], rtol=1e-4, atol=1e-6)
