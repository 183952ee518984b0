"""Vertex normals as a differentiable function of the vertex positions, for the geometry
derivatives of smooth meshes.

Mitsuba recomputes a mesh's vertex normals whenever its positions change (angle-weighted
face normals, Thuermer and Wuethrich 1998; ``geometry.mesh.vertex_normals`` on the host).
The shading reads ``g.vnormal``: the normals the mesh was given (carried along by a latent
pose), or that host recompute. Their derivative is always the recompute's: exact for
translations, and for the other poses off by how far the given normals are from the
recompute (0 for meshes whose normals were computed so; an analytic sphere's differ).
It is two kernels:
``accumulate`` adds each triangle's unit normal times its corner angle into
``vnormal_sum`` (atomic adds only, no reads of what it writes), ``normalize`` divides.
Reverse mode runs ``accumulate`` for its primal, then ``normalize.grad`` and
``accumulate.grad`` after the replay has filled ``vnormal.grad``; forward mode runs them
under ``ti.ad`` forward mode before the replay for the normals' duals, then uploads the
given normals' values again (the recompute's differ from a file's), so that both modes
linearise the image where the trace did.
"""

import taichi as ti

from invrender.geometry.intersect import triangle

vec3 = ti.math.vec3


@ti.data_oriented
class VertexNormals:
    def __init__(self, g):
        self.g = g

    @ti.kernel
    def clear(self, n_vertices: ti.i32):
        """Zero the sums with their duals, and the normals' duals (forward mode adds to a
        dual even where the primal is assigned)."""
        g = self.g
        for i in range(3 * n_vertices):
            g.vnormal_sum[i] = 0.0
            g.vnormal_sum.dual[i] = 0.0
            g.vnormal.dual[i] = 0.0

    @ti.kernel
    def accumulate(self, n_triangles: ti.i32):
        g = self.g
        for f in range(n_triangles):
            if g.tri_has_normal[f]:
                idx = ti.Vector([g.tri[3 * f], g.tri[3 * f + 1], g.tri[3 * f + 2]])
                p0, p1, p2 = triangle(g, f)
                cross = (p1 - p0).cross(p2 - p0)
                length = cross.norm()
                if length > 0.0:
                    n = cross / length
                    a0 = self.angle(p1 - p0, p2 - p0)
                    a1 = self.angle(p2 - p1, p0 - p1)
                    a2 = self.angle(p0 - p2, p1 - p2)
                    for c in ti.static(range(3)):
                        g.vnormal_sum[3 * idx[0] + c] += ti.cast(a0 * n[c], ti.f64)
                        g.vnormal_sum[3 * idx[1] + c] += ti.cast(a1 * n[c], ti.f64)
                        g.vnormal_sum[3 * idx[2] + c] += ti.cast(a2 * n[c], ti.f64)

    @ti.func
    def angle(self, a: vec3, b: vec3):
        cosine = a.dot(b) / ti.sqrt(a.dot(a) * b.dot(b))
        return ti.acos(ti.min(ti.max(cosine, -1.0 + 1e-7), 1.0 - 1e-7))

    @ti.kernel
    def normalize(self, n_vertices: ti.i32):
        g = self.g
        for i in range(n_vertices):
            s = vec3(ti.cast(g.vnormal_sum[3 * i], float),
                     ti.cast(g.vnormal_sum[3 * i + 1], float),
                     ti.cast(g.vnormal_sum[3 * i + 2], float))
            length = s.norm()
            if length > 0.0:
                for c in ti.static(range(3)):
                    g.vnormal[3 * i + c] = ti.cast(s[c] / length, ti.f64)
