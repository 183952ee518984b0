"""The scene as Taichi fields: flat 1-D arrays that kernels read.

Flat scalar fields (DESIGN §2) because forward-mode AD needs them and because a parameter
update then is one ``from_numpy`` with no recompilation. Everything that sampling needs
but that does not change with parameter values (area CDFs, the BVH) is rebuilt on the host
by ``update_geometry``.

No field is ever replaced once created. A compiled kernel of a ``@ti.data_oriented`` object
keeps reading the fields it was compiled against: assigning a new field to an attribute
later is invisible to it, and it silently renders the old data (a moved mesh then kept its
old BVH). So every field whose live size can change is allocated at its capacity when the
object is built (a BVH over n triangles has at most 2n - 1 nodes) and its live size is a
value in a field (``n_nodes``); ``update_geometry`` only writes into existing fields.
"""


import numpy as np
import taichi as ti

from invrender import camera as camera_mod
from invrender import runtime
from invrender.geometry.bvh import Bvh, build_bvh
from invrender.scene.description import Scene

WRAP_MODES = {"repeat": 0, "clamp": 1, "mirror": 2}
FILTERS = {"bilinear": 0, "nearest": 1}


def _field(dtype, n, differentiable: bool = False):
    """A flat field; parameters get gradient (reverse) and dual (forward) companions.

    Parameters are float64 whatever the render precision: their gradients are sums of
    many per-sample terms added by racing threads, and in float64 the order changes only
    bits that ``DiffRenderer.gradient`` rounds away, so gradients, and with them whole
    optimisation runs, are reproducible bit for bit.
    """
    if differentiable:
        dtype = ti.f64
    return ti.field(dtype, shape=max(int(n), 1), needs_grad=differentiable,
                    needs_dual=differentiable)


@ti.func
def vec3_at(f: ti.template(), i: ti.i32):
    """f[i], f[i+1], f[i+2] as a vector in the render precision."""
    return ti.math.vec3(ti.cast(f[i], float), ti.cast(f[i + 1], float), ti.cast(f[i + 2], float))


def _triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    v = vertices[faces]
    return 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)


@ti.data_oriented
class SceneFields:
    """Owns every field a kernel reads; built once per scene, values updated in place."""

    def __init__(self, scene: Scene):
        rt = runtime.current()
        real = rt.real
        self.scene = scene
        self.width = scene.camera.width
        self.height = scene.camera.height

        # --- geometry: all meshes concatenated, vertex order kept per mesh ---
        offsets, tri_offsets = [0], [0]
        for m in scene.meshes:
            offsets.append(offsets[-1] + len(m.vertices))
            tri_offsets.append(tri_offsets[-1] + len(m.faces))
        self.vertex_offsets = offsets  # mesh i owns vertices [offsets[i], offsets[i+1])
        self.triangle_offsets = tri_offsets
        self.n_vertices, self.n_triangles = offsets[-1], tri_offsets[-1]
        faces = [m.faces.astype(np.int64) + o for m, o in zip(scene.meshes, offsets, strict=False)]
        self.faces = np.concatenate(faces).astype(np.int32) if faces else np.zeros((0, 3), np.int32)

        bsdf_ids = list(scene.bsdfs)
        self.bsdf_index = {b: i for i, b in enumerate(bsdf_ids)}
        tri_bsdf, tri_emitter, tri_has_uv = [], [], []
        uvs = []
        emitters = [m for m in scene.meshes if m.emitter is not None]
        self.emitter_meshes = [scene.meshes.index(m) for m in emitters]
        for i, m in enumerate(scene.meshes):
            nf = len(m.faces)
            tri_bsdf.append(np.full(nf, self.bsdf_index[m.bsdf] if m.bsdf else -1, np.int32))
            e = self.emitter_meshes.index(i) if m.emitter is not None else -1
            tri_emitter.append(np.full(nf, e, np.int32))
            tri_has_uv.append(np.full(nf, m.uvs is not None, np.int32))
            uvs.append(m.uvs if m.uvs is not None else np.zeros((len(m.vertices), 2)))

        nv, nt = self.n_vertices, self.n_triangles
        self.vtx = _field(real, 3 * nv, differentiable=True)
        self.tri = _field(ti.i32, 3 * nt)
        self.uv = _field(real, 2 * nv)
        self.tri_bsdf = _field(ti.i32, nt)
        self.tri_emitter = _field(ti.i32, nt)
        self.tri_has_uv = _field(ti.i32, nt)
        if nt:
            self.tri.from_numpy(self.faces.reshape(-1))
            self.uv.from_numpy(np.concatenate(uvs).reshape(-1).astype(_np(real)))
            self.tri_bsdf.from_numpy(np.concatenate(tri_bsdf))
            self.tri_emitter.from_numpy(np.concatenate(tri_emitter))
            self.tri_has_uv.from_numpy(np.concatenate(tri_has_uv))

        # --- materials ---
        nb = len(bsdf_ids)
        textures = [scene.bsdfs[b].texture for b in bsdf_ids if scene.bsdfs[b].texture]
        self.bsdf_reflectance = _field(real, 3 * nb, differentiable=True)
        self.bsdf_texture = _field(ti.i32, nb)
        self.bsdf_twosided = _field(ti.i32, nb)
        tex_of = np.full(max(nb, 1), -1, np.int32)
        for i, b in enumerate(bsdf_ids):
            if scene.bsdfs[b].texture is not None:
                tex_of[i] = textures.index(scene.bsdfs[b].texture)
        self.bsdf_texture.from_numpy(tex_of)
        self.bsdf_twosided.from_numpy(np.array(
            [scene.bsdfs[b].twosided for b in bsdf_ids] or [0], np.int32))

        self.textures = textures
        sizes = [t.data.shape[0] * t.data.shape[1] * 3 for t in textures]
        self.texture_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        nx = len(textures)
        self.tex_data = _field(real, self.texture_offsets[-1], differentiable=True)
        self.tex_info = _field(ti.i32, 5 * nx)  # offset, width, height, wrap, filter
        if nx:
            info = [[self.texture_offsets[i], t.data.shape[1], t.data.shape[0],
                     WRAP_MODES[t.wrap_mode], FILTERS[t.filter_type]]
                    for i, t in enumerate(textures)]
            self.tex_info.from_numpy(np.array(info, np.int32).reshape(-1))

        # --- emitters: area emitters on meshes, then the environment ---
        ne = len(emitters)
        self.n_area_emitters = ne
        self.emitter_radiance = _field(real, 3 * ne, differentiable=True)
        self.emitter_info = _field(ti.i32, 2 * ne)  # first, count into emitter_tris
        self.emitter_area = _field(real, ne)
        self.emitter_tris = _field(ti.i32, sum(len(m.faces) for m in emitters))
        self.emitter_cdf = _field(real, sum(len(m.faces) for m in emitters))
        self.env_radiance = _field(real, 3, differentiable=True)
        # counts: number of area emitters, has environment
        self.counts = _field(ti.i32, 2)
        self.counts.from_numpy(np.array([ne, int(scene.environment is not None)], np.int32))

        self.camera = _field(real, camera_mod.CAMERA_FLOATS)
        self.camera.from_numpy(camera_mod.pack(scene.camera).astype(_np(real)))

        # the BVH at its capacity: a binary tree over nt leaves of >= 1 triangle
        self.bvh_capacity = max(2 * nt - 1, 1)
        self.bvh_box = _field(real, 6 * self.bvh_capacity)
        self.bvh_node = _field(ti.i32, 3 * self.bvh_capacity)  # skip, prim_start, prim_count
        self.bvh_prims = _field(ti.i32, nt)
        self.n_nodes = _field(ti.i32, 1)  # the live node count the traversal stops at
        self.bvh_nodes = 0
        self.vertices = None
        self.version = None
        self.upload_values()

    def upload_values(self) -> None:
        """Send the description's current parameter values to the fields (no recompile)."""
        scene, real = self.scene, np.float64  # parameter fields are float64 (see _field)
        self.version = scene.__dict__.get("_version", 0)
        bsdfs = list(scene.bsdfs.values())
        refl = [b.reflectance if b.texture is None else np.zeros(3) for b in bsdfs]
        if refl:
            self.bsdf_reflectance.from_numpy(np.concatenate(refl).astype(real))
        if self.textures:
            self.tex_data.from_numpy(np.concatenate(
                [t.data.reshape(-1) for t in self.textures]).astype(real))
        if self.n_area_emitters:
            self.emitter_radiance.from_numpy(np.concatenate(
                [scene.meshes[i].emitter.radiance for i in self.emitter_meshes]).astype(real))
        if scene.environment is not None:
            self.env_radiance.from_numpy(np.asarray(scene.environment.radiance, real))
        vertices = (np.concatenate([m.vertices for m in scene.meshes]) if scene.meshes
                    else np.zeros((0, 3)))
        if self.vertices is None or not np.array_equal(vertices, self.vertices):
            self.update_geometry(vertices)

    def slot(self, param) -> tuple[object, int, int]:
        """(field, first index, count) that holds a parameter's value in the fields."""
        scene = self.scene
        if param.kind == "rgb":
            if param.owner is scene.environment:
                return self.env_radiance, 0, 3
            if hasattr(param.owner, "reflectance"):
                return self.bsdf_reflectance, 3 * self.bsdf_index[param.owner.id], 3
            mesh = next(i for i in self.emitter_meshes if scene.meshes[i].emitter is param.owner)
            return self.emitter_radiance, 3 * self.emitter_meshes.index(mesh), 3
        if param.kind == "texture":
            k = self.textures.index(param.owner.texture)
            start = int(self.texture_offsets[k])
            return self.tex_data, start, int(self.texture_offsets[k + 1]) - start
        mesh = scene.meshes.index(param.owner)
        first = self.vertex_offsets[mesh]
        return self.vtx, 3 * first, 3 * (self.vertex_offsets[mesh + 1] - first)

    def update_geometry(self, vertices: np.ndarray) -> None:
        """Set world-space vertex positions (N, 3); rebuild the BVH and emitter CDFs."""
        real = runtime.current().real
        vertices = np.asarray(vertices, np.float64)
        self.vertices = vertices
        if self.n_vertices:
            self.vtx.from_numpy(vertices.reshape(-1).astype(np.float64))
        if self.n_triangles:
            bvh = build_bvh(vertices, self.faces)
        else:  # an empty scene: one node that the traversal never visits (n_nodes = 0)
            z = np.zeros(1, np.int32)
            bvh = Bvh(np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float32), z + 1, z, z, z)
        nk = len(bvh.skip)
        if nk > self.bvh_capacity:
            raise RuntimeError(f"BVH of {nk} nodes exceeds its capacity {self.bvh_capacity}")
        self.bvh_nodes = nk
        box = np.zeros(6 * self.bvh_capacity, _np(real))
        box[:6 * nk] = np.concatenate([bvh.lo, bvh.hi], axis=1).reshape(-1)
        self.bvh_box.from_numpy(box)
        node = np.zeros(3 * self.bvh_capacity, np.int32)
        node[:3 * nk] = np.stack([bvh.skip, bvh.prim_start, bvh.prim_count], axis=1).reshape(-1)
        self.bvh_node.from_numpy(node)
        if len(bvh.prim_index):
            self.bvh_prims.from_numpy(bvh.prim_index.astype(np.int32))
        self.n_nodes.from_numpy(np.array([nk if self.n_triangles else 0], np.int32))

        first, cdf_all, tris_all, areas = 0, [], [], []
        info = []
        for mi in self.emitter_meshes:
            lo, hi = self.triangle_offsets[mi], self.triangle_offsets[mi + 1]
            a = _triangle_areas(vertices, self.faces[lo:hi])
            total = a.sum()
            cdf = np.cumsum(a) / total if total > 0 else np.linspace(1, len(a), len(a)) / len(a)
            cdf[-1] = 1.0
            cdf_all.append(cdf)
            tris_all.append(np.arange(lo, hi))
            areas.append(total)
            info += [first, hi - lo]
            first += hi - lo
        if self.emitter_meshes:
            self.emitter_cdf.from_numpy(np.concatenate(cdf_all).astype(_np(real)))
            self.emitter_tris.from_numpy(np.concatenate(tris_all).astype(np.int32))
            self.emitter_area.from_numpy(np.array(areas, _np(real)))
            self.emitter_info.from_numpy(np.array(info, np.int32))


def _np(real):
    return np.float64 if real == ti.f64 else np.float32
