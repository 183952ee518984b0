"""The Taichi side of the scene: flat fields sized by capacity, one set per process.

Why capacity, and why one set. A compiled kernel keeps reading the fields it was compiled
against: a field replaced afterwards is invisible to it, and a kernel of a
``@ti.data_oriented`` object compiles for that object and the ids and shapes of its fields.
So the fields are allocated once at capacities (a BVH over n triangles has at most 2n - 1
nodes), every live size is a kernel argument or a value in a field, and every scene of a
process uploads into the same fields: kernels compile once per process (per plugin
configuration) and a second scene, of any size that fits, starts without compiling.
A scene that does not fit gets a new, larger ``RenderState`` (capacities rounded up to
powers of two); the old one's fields are freed and its kernels dropped with it.

Layout of the plugin tables (``*_ints``/``*_floats`` hold INTS/FLOATS entries per
instance): the plugins pack their own entries, see ``engine``.
"""


from dataclasses import dataclass, fields, replace

import taichi as ti

from invrender import runtime
from invrender.integrators.records import Records

BSDF_INTS = 24  # [0] twosided, [1] the back side's BSDF (twosided with two; -1: the same),
# [2] lobe flags (bsdfs.base), [4:8] the plugin's own ints, [8 + j] its texture j (j < 16:
# principled has 13)
BSDF_PLUGIN_INTS = 4
BSDF_TEXTURE_INTS = 16
BSDF_FLOATS = 72  # the plugin's own floats (settings fixed at upload; roughplastic's
# internal-scattering table takes 66)
TEXTURE_INTS = 8  # [0] first value in params, [1] width, [2] height, [3] wrap, [4] filter
TEXTURE_FLOATS = 8  # [0:6] the to_uv affine map (rows), then the plugin's
EMITTER_INTS = 8  # attached: [1] first triangle, [2] count; with a sampling distribution:
# [1] its start in env_cdf; [4 + j] the plugin's texture j (j < 4, emitters.base.texture_of)
EMITTER_TEXTURES = 4
EMITTER_FLOATS = 24  # [0] total area, [1] selection pmf, [2] its CDF, [4:24] the plugin's
# (an area emitter's: its bounding box at EMITTER_BOX)
EMITTER_PLUGIN = 4  # where a plugin's own floats start
EMITTER_BOX = 16  # an area emitter's bounding box (lo, hi) at [16:22] (``area`` packs none)
BOX_TRIANGLES = 12  # emitters of more triangles are seen through their box's 12 (shadow)
EMITTER_PLUGIN_FLOATS = EMITTER_FLOATS - EMITTER_PLUGIN
SENSOR_FLOATS = 32  # [0:20] the sensor plugin's, [20:24] its filter's
SENSOR_INTS = 4  # [0] filter plugin, [1] filter footprint in pixels either side
FILTER_FLOATS = 20  # where a sensor's filter settings start in its floats
FILTER_TAPS = 10  # per pass sample: x and y filter weights of footprints up to 2 (film.py)


def _round_up(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


@dataclass(frozen=True)
class Capacity:
    """How many of each thing the fields hold."""

    vertices: int = 1 << 14
    triangles: int = 1 << 15
    params: int = 1 << 16  # differentiable floats other than vertices: colours, texels
    bsdfs: int = 64
    textures: int = 128
    emitters: int = 64
    sensors: int = 16
    pixels: int = 1 << 18
    samples: int = 1 << 20  # one forward pass
    record_samples: int = 1 << 18  # one derivative pass
    record_slots: int = 1 << 19  # path vertices of one derivative pass (~130 MB in f32)

    def fits(self, need: "Capacity") -> bool:
        return all(getattr(need, f.name) <= getattr(self, f.name) for f in fields(self))

    def nbytes(self, real_bytes: int) -> int:
        """Memory of a ``RenderState`` of this capacity (its fields; r: the render float)."""
        r = real_bytes
        per = {"vertices": 216 + 2 * r,  # vtx, normals and their sums with grad and dual, uv
               "triangles": 56 + 22 * r,  # indices and tables, BVH (< 2 nodes), corners, CDF
               "params": 24 + r,  # values with grad and dual, an envmap's CDF
               "bsdfs": 4 * BSDF_INTS + BSDF_FLOATS * r, "textures": 36 + 8 * r,
               "emitters": 36 + 24 * r,
               "sensors": 20 + 32 * r,
               "pixels": 14 * r,  # running sums, the replay image with grad and dual
               "samples": (3 + FILTER_TAPS) * r,  # a pass's sample radiance, filter taps
               "record_samples": 16 + 14 * r,  # camera rays, film points, ray buffer
               "record_slots": 16 + 58 * r}  # records and the replay's state
        return sum(getattr(self, name) * size for name, size in per.items())

    def index_overflow(self) -> str | None:
        """The first field whose flat indices would not fit Taichi's 32-bit integers."""
        limit = 2 ** 31 - 1
        for what, n in (("pixels", 3 * self.pixels), ("samples", 3 * self.samples),
                        ("vertices", 3 * self.vertices), ("triangles", 12 * self.triangles),
                        ("params", self.params)):
            if n > limit:
                return what
        return None

    def grown(self, need: "Capacity") -> "Capacity":
        """The smallest capacity >= both, each entry a power of two."""
        return replace(self, **{f.name: _round_up(max(getattr(self, f.name),
                                                      getattr(need, f.name)))
                                for f in fields(self)})


@ti.data_oriented
class RenderState:
    """Every field a kernel reads, at ``capacity``; values are written, never the fields."""

    def __init__(self, capacity: Capacity):
        self.capacity = c = capacity
        real = runtime.current().real
        self.real = real
        self._builder = fb = ti.FieldsBuilder()

        def flat(dtype, n, differentiable=False):
            f = ti.field(dtype, needs_grad=differentiable, needs_dual=differentiable)
            places = (f, f.grad, f.dual) if differentiable else (f,)
            fb.dense(ti.i, max(int(n), 1)).place(*places)
            return f

        nodes = 2 * c.triangles - 1
        # geometry; vertices and params are float64 so that gradients summed by racing
        # threads differ only in bits that ``autodiff.reproducible`` rounds away
        self.vtx = flat(ti.f64, 3 * c.vertices, True)
        self.uv = flat(real, 2 * c.vertices)
        # shading normals of meshes with them, and their recompute's sums (geometry/normals);
        # float64 like vtx: their gradients are summed by racing threads too
        self.vnormal = flat(ti.f64, 3 * c.vertices, True)
        self.vnormal_sum = flat(ti.f64, 3 * c.vertices, True)
        self.tri = flat(ti.i32, 3 * c.triangles)
        self.tri_bsdf = flat(ti.i32, c.triangles)
        self.tri_emitter = flat(ti.i32, c.triangles)  # -1: not an emitter
        self.tri_has_uv = flat(ti.i32, c.triangles)
        self.tri_has_normal = flat(ti.i32, c.triangles)
        self.bvh_box = flat(real, 6 * nodes)
        self.bvh_node = flat(ti.i32, 3 * nodes)  # skip, prim_start, prim_count
        self.bvh_prims = flat(ti.i32, c.triangles)
        # the corners of bvh_prims' triangles in that order, in the render precision: a
        # leaf's triangles are read in one contiguous run, without the index lookups
        self.bvh_corners = flat(real, 9 * c.triangles)
        # plugin parameters and tables
        self.params = flat(ti.f64, c.params, True)
        self.bsdf_type = flat(ti.i32, c.bsdfs)
        self.bsdf_ints = flat(ti.i32, BSDF_INTS * c.bsdfs)
        self.bsdf_floats = flat(real, BSDF_FLOATS * c.bsdfs)
        self.tex_type = flat(ti.i32, c.textures)
        self.tex_ints = flat(ti.i32, TEXTURE_INTS * c.textures)
        self.tex_floats = flat(real, TEXTURE_FLOATS * c.textures)
        self.em_type = flat(ti.i32, c.emitters)
        self.em_ints = flat(ti.i32, EMITTER_INTS * c.emitters)
        self.em_floats = flat(real, EMITTER_FLOATS * c.emitters)
        self.em_tris = flat(ti.i32, c.triangles)
        self.em_cdf = flat(real, c.triangles)
        self.env_cdf = flat(real, c.params)  # an envmap's marginal and conditional CDFs
        self.sensor_type = flat(ti.i32, c.sensors)
        self.sensor_floats = flat(real, SENSOR_FLOATS * c.sensors)
        self.sensor_ints = flat(ti.i32, SENSOR_INTS * c.sensors)
        # live sizes: [0] BVH nodes, [1] emitters, [2] environment emitter or -1,
        # [3] hide_emitters (camera rays see through emitters)
        self.counts = flat(ti.i32, 4)
        # film: a pass's sample radiance, the running sums, the derivative passes' weights
        self.sample_radiance = flat(real, 3 * c.samples)
        self.sample_taps = flat(real, FILTER_TAPS * c.samples)  # film.py's filter taps
        self.film_sum = flat(real, 3 * c.pixels)
        self.film_weight = flat(real, c.pixels)
        self.image = flat(real, 3 * c.pixels, True)  # the replay's image, with grad and dual
        self.inv_weight = flat(real, c.pixels)  # 1 / the weights a derivative pass splats
        # input of the path kernel's ray mode: the far sides of indirect edges, a row per
        # record of a derivative pass
        self.rays_o = ti.Vector.field(3, real)
        self.rays_d = ti.Vector.field(3, real)
        self.rays_key = ti.field(ti.u32)
        self.rays_info = ti.Vector.field(2, ti.i32)  # depth of the next vertex, skipped tri
        fb.dense(ti.i, c.record_samples).place(self.rays_o, self.rays_d, self.rays_key,
                                        self.rays_info)
        self._tree = fb.finalize()
        # what trace writes for the replay; with the state, so that one path kernel (its
        # recording switched at run time) serves rendering and derivative passes
        self.records = Records(c.record_samples, c.record_slots)
        self.programs: dict = {}  # plugin configuration -> kernels over these fields
        self.bound = None  # the engine whose scene the fields hold now

    def destroy(self) -> None:
        self.records.destroy()
        self._tree.destroy()

    # Transfers. One kernel per purpose over ndarrays of the live sizes, instead of a
    # from_numpy / to_numpy / fill per field: each of those is a kernel compiled per field
    # (tens of ms each, most of a first render's set-up) that copies the whole capacity.

    @ti.kernel
    def load_tables(self, tri: ti.types.ndarray(), uv: ti.types.ndarray(),
                    tri_bsdf: ti.types.ndarray(), tri_emitter: ti.types.ndarray(),
                    tri_has_uv: ti.types.ndarray(), tri_has_normal: ti.types.ndarray(),
                    bsdf_type: ti.types.ndarray(),
                    bsdf_ints: ti.types.ndarray(), bsdf_floats: ti.types.ndarray(),
                    tex_type: ti.types.ndarray(),
                    tex_ints: ti.types.ndarray(), tex_floats: ti.types.ndarray(),
                    em_type: ti.types.ndarray(),
                    em_ints: ti.types.ndarray(), em_tris: ti.types.ndarray(),
                    sensor_type: ti.types.ndarray(), sensor_floats: ti.types.ndarray(),
                    sensor_ints: ti.types.ndarray()):
        """The scene's structure: what does not change with parameter values."""
        for i in range(tri.shape[0]):
            self.tri[i] = tri[i]
        for i in range(uv.shape[0]):
            self.uv[i] = uv[i]
        for i in range(tri_bsdf.shape[0]):
            self.tri_bsdf[i] = tri_bsdf[i]
            self.tri_emitter[i] = tri_emitter[i]
            self.tri_has_uv[i] = tri_has_uv[i]
            self.tri_has_normal[i] = tri_has_normal[i]
        for i in range(bsdf_type.shape[0]):
            self.bsdf_type[i] = bsdf_type[i]
        for i in range(bsdf_ints.shape[0]):
            self.bsdf_ints[i] = bsdf_ints[i]
        for i in range(bsdf_floats.shape[0]):
            self.bsdf_floats[i] = bsdf_floats[i]
        for i in range(tex_type.shape[0]):
            self.tex_type[i] = tex_type[i]
        for i in range(tex_ints.shape[0]):
            self.tex_ints[i] = tex_ints[i]
        for i in range(tex_floats.shape[0]):
            self.tex_floats[i] = tex_floats[i]
        for i in range(em_type.shape[0]):
            self.em_type[i] = em_type[i]
        for i in range(em_ints.shape[0]):
            self.em_ints[i] = em_ints[i]
        for i in range(em_tris.shape[0]):
            self.em_tris[i] = em_tris[i]
        for i in range(sensor_type.shape[0]):
            self.sensor_type[i] = sensor_type[i]
        for i in range(sensor_floats.shape[0]):
            self.sensor_floats[i] = sensor_floats[i]
        for i in range(sensor_ints.shape[0]):
            self.sensor_ints[i] = sensor_ints[i]

    @ti.kernel
    def load_geometry(self, vtx: ti.types.ndarray(), vnormal: ti.types.ndarray(),
                      bvh_box: ti.types.ndarray(),
                      bvh_node: ti.types.ndarray(), bvh_prims: ti.types.ndarray(),
                      em_cdf: ti.types.ndarray(), em_floats: ti.types.ndarray(),
                      counts: ti.types.ndarray()):
        """Vertex positions and what they imply: the BVH, the emitter CDFs and areas."""
        for i in range(vtx.shape[0]):
            self.vtx[i] = vtx[i]
        for i in range(vnormal.shape[0]):
            self.vnormal[i] = vnormal[i]
        for i in range(bvh_box.shape[0]):
            self.bvh_box[i] = bvh_box[i]
        for i in range(bvh_node.shape[0]):
            self.bvh_node[i] = bvh_node[i]
        for i in range(bvh_prims.shape[0]):
            tri = bvh_prims[i]
            self.bvh_prims[i] = tri
            for c in ti.static(range(9)):
                self.bvh_corners[9 * i + c] = ti.cast(
                    vtx[3 * self.tri[3 * tri + c // 3] + c % 3], float)
        for i in range(em_cdf.shape[0]):
            self.em_cdf[i] = em_cdf[i]
        for i in range(em_floats.shape[0]):
            self.em_floats[i] = em_floats[i]
        for i in range(counts.shape[0]):
            self.counts[i] = counts[i]

    @ti.kernel
    def load_params(self, params: ti.types.ndarray()):
        for i in range(params.shape[0]):
            self.params[i] = params[i]

    @ti.kernel
    def load_bsdf_floats(self, floats: ti.types.ndarray()):
        for i in range(floats.shape[0]):
            self.bsdf_floats[i] = floats[i]

    @ti.kernel
    def load_distribution(self, cdf: ti.types.ndarray()):
        for i in range(cdf.shape[0]):
            self.env_cdf[i] = cdf[i]

    @ti.kernel
    def load_tangent(self, params: ti.types.ndarray(), vtx: ti.types.ndarray()):
        """The duals of the parameter fields: a forward-mode direction (zeros: none)."""
        for i in range(params.shape[0]):
            self.params.dual[i] = params[i]
        for i in range(vtx.shape[0]):
            self.vtx.dual[i] = vtx[i]

    @ti.kernel
    def clear_gradients(self, n_params: ti.i32, n_vtx: ti.i32):
        for i in range(n_params):
            self.params.grad[i] = 0.0
        for i in range(n_vtx):
            self.vtx.grad[i] = 0.0
            self.vnormal.grad[i] = 0.0
            self.vnormal_sum.grad[i] = 0.0

    @ti.kernel
    def load_normals(self, vnormal: ti.types.ndarray()):
        for i in range(vnormal.shape[0]):
            self.vnormal[i] = vnormal[i]

    @ti.kernel
    def read_gradients(self, params: ti.types.ndarray(), vtx: ti.types.ndarray()):
        for i in range(params.shape[0]):
            params[i] = self.params.grad[i]
        for i in range(vtx.shape[0]):
            vtx[i] = self.vtx.grad[i]

    @ti.kernel
    def clear_film(self, n: ti.i32):
        """Zero the running sums of n pixels and the replay's image with its dual."""
        for i in range(n):
            self.film_weight[i] = 0.0
        for i in range(3 * n):
            self.film_sum[i] = 0.0
            self.image[i] = 0.0
            self.image.dual[i] = 0.0

    @ti.kernel
    def read_film(self, total: ti.types.ndarray(), weight: ti.types.ndarray()):
        for i in range(weight.shape[0]):
            weight[i] = self.film_weight[i]
        for i in range(total.shape[0]):
            total[i] = self.film_sum[i]

    @ti.kernel
    def read_image(self, value: ti.types.ndarray(), dual: ti.types.ndarray(),
                   inv_weight: ti.types.ndarray()):
        """The replay's image, its dual and the weights its pixels are divided by."""
        for i in range(value.shape[0]):
            value[i] = self.image[i]
            dual[i] = self.image.dual[i]
        for i in range(inv_weight.shape[0]):
            inv_weight[i] = self.inv_weight[i]

    @ti.kernel
    def load_image_grad(self, d_image: ti.types.ndarray()):
        for i in range(d_image.shape[0]):
            self.image.grad[i] = d_image[i]


_current: "tuple[runtime.Runtime, RenderState] | None" = None


def planned(need: Capacity) -> Capacity:
    """The capacity ``acquire(need)`` would give."""
    rt = runtime.current()
    if _current is not None and _current[0] is rt:
        capacity = _current[1].capacity
        return capacity if capacity.fits(need) else capacity.grown(need)
    return Capacity().grown(need)


def acquire(need: Capacity) -> RenderState:
    """The process's state, grown (a new one) when ``need`` does not fit."""
    global _current
    rt = runtime.current()
    if _current is not None and _current[0] is rt and _current[1].capacity.fits(need):
        return _current[1]
    capacity = planned(need)
    if _current is not None and _current[0] is rt:
        _current[1].destroy()
    _current = None  # a failed allocation must not leave the destroyed state current
    _current = (rt, RenderState(capacity))
    return _current[1]


def available_memory() -> int | None:
    """Bytes of memory free for the fields: the host's on the CPU backend (None when the
    system does not say, or on a GPU, whose memory Taichi manages itself)."""
    if runtime.current().arch != "cpu":
        return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def current_state() -> RenderState | None:
    """The live state of this runtime, if any (for benchmarks and tests)."""
    rt = runtime.current()
    return _current[1] if _current is not None and _current[0] is rt else None
