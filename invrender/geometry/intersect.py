"""Ray-triangle intersection and BVH traversal, as Taichi functions.

``g`` is a ``program.Program`` (the state's fields). The BVH is in DFS preorder with skip
links (see ``bvh.py``): an inner node's children are the next node and the skip link of
that one. A closest-hit query goes to the nearer child first and keeps the farther one on a
small per-ray stack with its entry distance, so a hit prunes what lies behind it; an
any-hit query (shadow rays) walks the skip links without a stack. Triangles are read from
``bvh_corners``, in leaf order.
"""

import taichi as ti

vec3 = ti.math.vec3
STACK_SIZE = 64  # > the BVH's depth, at most bvh.MEDIAN_FROM_LEVEL + log2(triangles)


@ti.func
def vertex(g: ti.template(), i: ti.i32) -> vec3:
    """Vertex i in the render precision (the field is float64)."""
    return vec3(ti.cast(g.vtx[3 * i], float), ti.cast(g.vtx[3 * i + 1], float),
                ti.cast(g.vtx[3 * i + 2], float))


@ti.func
def triangle(g: ti.template(), t: ti.i32):
    """The three corners of triangle ``t``, in winding order."""
    return (vertex(g, g.tri[3 * t]), vertex(g, g.tri[3 * t + 1]), vertex(g, g.tri[3 * t + 2]))


@ti.func
def leaf_triangle(g: ti.template(), k: ti.i32):
    """The corners of the triangle at leaf-order position k (``bvh_prims[k]``): the same
    values as ``triangle``, read from one contiguous run."""
    b = 9 * k
    return (vec3(g.bvh_corners[b], g.bvh_corners[b + 1], g.bvh_corners[b + 2]),
            vec3(g.bvh_corners[b + 3], g.bvh_corners[b + 4], g.bvh_corners[b + 5]),
            vec3(g.bvh_corners[b + 6], g.bvh_corners[b + 7], g.bvh_corners[b + 8]))


@ti.func
def ray_triangle(o: vec3, d: vec3, v0: vec3, v1: vec3, v2: vec3):
    """Moller-Trumbore: returns (t, b1, b2); t is -1 when the ray misses the triangle."""
    e1 = v1 - v0
    e2 = v2 - v0
    p = d.cross(e2)
    det = e1.dot(p)
    t = -1.0
    b1 = 0.0
    b2 = 0.0
    if ti.abs(det) > 1e-20:
        inv = 1.0 / det
        s = o - v0
        b1 = s.dot(p) * inv
        q = s.cross(e1)
        b2 = d.dot(q) * inv
        if b1 >= 0.0 and b2 >= 0.0 and b1 + b2 <= 1.0:
            t = e2.dot(q) * inv
    return t, b1, b2


@ti.func
def safe_inverse(d: vec3) -> vec3:
    """1 / d with zeros replaced by a huge finite number (fast math has no reliable inf)."""
    r = vec3(0.0)
    for k in ti.static(range(3)):
        c = d[k]
        if ti.abs(c) < 1e-12:
            c = 1e-12 if c >= 0.0 else -1e-12
        r[k] = 1.0 / c
    return r


@ti.func
def box_entry(g: ti.template(), node: ti.i32, o: vec3, inv_d: vec3, tmax) -> ti.f32:
    """Entry distance of the ray into a node's box, or a negative number if it misses."""
    b = 6 * node
    lo = vec3(g.bvh_box[b], g.bvh_box[b + 1], g.bvh_box[b + 2])
    hi = vec3(g.bvh_box[b + 3], g.bvh_box[b + 4], g.bvh_box[b + 5])
    t0 = (lo - o) * inv_d
    t1 = (hi - o) * inv_d
    near = ti.max(ti.min(t0, t1).max(), 0.0)
    far = ti.min(ti.max(t0, t1).min(), tmax)
    result = -1.0
    if near <= far:
        result = near
    return result


@ti.func
def pop(stack, stack_t, sp: ti.i32, best_t):
    """The next node left on the stack whose box the ray enters before ``best_t`` (or -1),
    and the stack size after it."""
    node = -1
    while sp > 0 and node < 0:
        sp -= 1
        if stack_t[sp] <= best_t:
            node = stack[sp]
    return node, sp


@ti.func
def traverse(g: ti.template(), o: vec3, d: vec3, tmin, tmax, skip_a: ti.i32, skip_b: ti.i32,
             any_hit: ti.template()):
    """Walk the BVH for hits in (tmin, tmax) other than the two skipped triangles: the
    closest one, or with ``any_hit`` (a compile-time switch) the first one found.
    Returns (tri or -1, t, b1, b2)."""
    inv_d = safe_inverse(d)
    tri, t, b1, b2 = -1, tmax, 0.0, 0.0
    if ti.static(any_hit):
        tri, t, b1, b2 = first_hit(g, o, d, inv_d, tmin, tmax, skip_a, skip_b)
    else:
        tri, t, b1, b2 = closest_hit(g, o, d, inv_d, tmin, tmax, skip_a, skip_b)
    return tri, t, b1, b2


@ti.func
def leaf_hits(g: ti.template(), node: ti.i32, o: vec3, d: vec3, tmin, skip_a: ti.i32,
              skip_b: ti.i32, best_tri: ti.i32, best_t, best_b1, best_b2):
    """The closest of a leaf's hits and the best so far; ties go to the lower id, so the
    hit does not depend on the tree or on the order of the visit."""
    start = g.bvh_node[3 * node + 1]
    for k in range(start, start + g.bvh_node[3 * node + 2]):
        tri = g.bvh_prims[k]
        if tri != skip_a and tri != skip_b:
            v0, v1, v2 = leaf_triangle(g, k)
            t, b1, b2 = ray_triangle(o, d, v0, v1, v2)
            if t > tmin and (t < best_t or (t == best_t and tri < best_tri)):
                best_tri, best_t, best_b1, best_b2 = tri, t, b1, b2
    return best_tri, best_t, best_b1, best_b2


@ti.func
def first_hit(g: ti.template(), o: vec3, d: vec3, inv_d: vec3, tmin, tmax, skip_a: ti.i32,
              skip_b: ti.i32):
    """Any hit: the skip links' walk in their fixed order, which needs no stack (order
    does not matter when the first hit ends the walk)."""
    best_tri = -1
    best_t = tmax
    best_b1 = 0.0
    best_b2 = 0.0
    n = g.counts[0]  # live nodes
    i = 0
    while i < n:
        if box_entry(g, i, o, inv_d, best_t) >= 0.0:
            best_tri, best_t, best_b1, best_b2 = leaf_hits(g, i, o, d, tmin, skip_a, skip_b,
                                                           best_tri, best_t, best_b1, best_b2)
            if best_tri >= 0:
                break
            i += 1
        else:
            i = g.bvh_node[3 * i]
    return best_tri, best_t, best_b1, best_b2


@ti.func
def closest_hit(g: ti.template(), o: vec3, d: vec3, inv_d: vec3, tmin, tmax, skip_a: ti.i32,
                skip_b: ti.i32):
    """The nearer child first, the farther one on the stack with its entry distance."""
    best_tri = -1
    best_t = tmax
    best_b1 = 0.0
    best_b2 = 0.0
    stack = ti.Vector.zero(ti.i32, STACK_SIZE)
    stack_t = ti.Vector.zero(float, STACK_SIZE)
    sp = 0
    node = -1
    if g.counts[0] > 0 and box_entry(g, 0, o, inv_d, best_t) >= 0.0:
        node = 0
    while node >= 0:
        count = g.bvh_node[3 * node + 2]
        if count > 0:  # a leaf
            best_tri, best_t, best_b1, best_b2 = leaf_hits(g, node, o, d, tmin, skip_a,
                                                           skip_b, best_tri, best_t, best_b1,
                                                           best_b2)
            node, sp = pop(stack, stack_t, sp, best_t)
        else:  # children: node + 1 and the node after that one's subtree
            left = node + 1
            right = g.bvh_node[3 * left]
            t_left = box_entry(g, left, o, inv_d, best_t)
            t_right = box_entry(g, right, o, inv_d, best_t)
            if t_left >= 0.0 and t_right >= 0.0:
                far, t_far = right, t_right
                node = left
                if t_right < t_left:
                    far, t_far = left, t_left
                    node = right
                stack[sp] = far
                stack_t[sp] = t_far
                sp += 1
            elif t_left >= 0.0:
                node = left
            elif t_right >= 0.0:
                node = right
            else:
                node, sp = pop(stack, stack_t, sp, best_t)
    return best_tri, best_t, best_b1, best_b2


@ti.func
def intersect(g: ti.template(), o: vec3, d: vec3, tmin, tmax, skip: ti.i32):
    """Closest hit in (tmin, tmax), ignoring triangle ``skip``: (tri or -1, t, b1, b2)."""
    return traverse(g, o, d, tmin, tmax, skip, skip, False)


@ti.func
def occluded(g: ti.template(), o: vec3, d: vec3, tmin, tmax, skip_a: ti.i32,
             skip_b: ti.i32) -> ti.i32:
    """1 if any triangle other than the two skipped ones lies on the segment (tmin, tmax)."""
    tri, _, _, _ = traverse(g, o, d, tmin, tmax, skip_a, skip_b, True)
    return 1 if tri >= 0 else 0
