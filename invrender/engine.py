"""The link between one plain ``Scene`` and the process's Taichi state.

An ``Engine`` lays a scene out in the state's flat fields (where each plugin's values and
table entries go), uploads it, and keeps what it uploaded: before each use it sends only
what changed since (a new parameter value is one ``from_numpy``, new vertex positions
also rebuild the BVH and the emitter CDFs on the host). Several scenes share the state;
the one used last is the one the fields hold. The scene itself stays plain data: the
engine is found by identity (``Engine.of``) and holds the scene only weakly.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from invrender import runtime
from invrender import state as state_mod
from invrender.bsdfs.registry import BSDFS, bsdf_floats, bsdf_tables
from invrender.emitters import selection
from invrender.emitters.registry import EMITTERS
from invrender.errors import InvrenderError
from invrender.filters.registry import FILTERS
from invrender.geometry.bvh import Bvh, build_bvh, refit_bvh, sah_cost
from invrender.geometry.mesh import shading_normals
from invrender.program import Config, Program, program
from invrender.scene.description import Source
from invrender.sensors.registry import SENSORS
from invrender.state import (
    EMITTER_BOX,
    EMITTER_FLOATS,
    EMITTER_INTS,
    EMITTER_PLUGIN,
    EMITTER_PLUGIN_FLOATS,
    EMITTER_TEXTURES,
    FILTER_FLOATS,
    SENSOR_FLOATS,
    SENSOR_INTS,
    TEXTURE_FLOATS,
    TEXTURE_INTS,
    Capacity,
)
from invrender.textures import uv_map
from invrender.textures.registry import TEXTURES

#: A refitted BVH is rebuilt once its surface-area cost exceeds this times its cost when built.
REBUILD_COST = 1.25


def _flat(a, dtype) -> np.ndarray:
    """A contiguous 1-D array, as the upload kernels take them."""
    return np.ascontiguousarray(np.asarray(a, dtype).reshape(-1))


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    v = vertices[faces]
    return 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)


@dataclass
class Slot:
    """Where a value lives: ``field`` ("params" or "vtx"), first index and count."""

    field: str
    start: int
    count: int


class Layout:
    """Where everything of one scene goes in the flat fields; built from the scene's
    structure (meshes, plugins, sensors), not from its parameter values."""

    def __init__(self, scene):
        meshes = scene.meshes
        self.vertex_offsets = [0]
        self.triangle_offsets = [0]
        for m in meshes:
            self.vertex_offsets.append(self.vertex_offsets[-1] + len(m.vertices))
            self.triangle_offsets.append(self.triangle_offsets[-1] + len(m.faces))
        self.n_vertices, self.n_triangles = self.vertex_offsets[-1], self.triangle_offsets[-1]
        faces = [m.faces.astype(np.int64) + o
                 for m, o in zip(meshes, self.vertex_offsets, strict=False)]
        self.faces = (np.concatenate(faces).astype(np.int32) if faces
                      else np.zeros((0, 3), np.int32))
        self.emitter_meshes = [i for i, m in enumerate(meshes) if m.emitter is not None]
        self.emitters = scene.emitters
        self.has_environment = scene.environment is not None

        used = {"bsdfs": {b.type for b in scene.bsdfs.values()},
                "emitters": {e.type for e in self.emitters},
                "sensors": {s.type for s in scene.sensors},
                "filters": {s.rfilter.type for s in scene.sensors}}
        # textures, in table order: BSDFs' (in their plugins' order), then emitters'
        # (a texture shared by several plugins, declared once with an id, has one entry)
        self.textures = []
        for b in scene.bsdfs.values():
            self.textures += [b.textures[name] for name in BSDFS[b.type].textures]
        for e in self.emitters:
            self.textures += [e.textures[name] for name in EMITTERS[e.type].textures]
        self.textures = list({id(t): t for t in self.textures}.values())
        used["textures"] = {t.type for t in self.textures}
        oriented = any(BSDFS[b.type].oriented is not None and BSDFS[b.type].oriented(b)
                       for b in scene.bsdfs.values())
        slot_types = {}
        for b in scene.bsdfs.values():
            names = BSDFS[b.type].textures
            types = slot_types.setdefault(b.type, [set() for _ in names])
            for k, name in enumerate(names):
                types[k].add(b.textures[name].type)
        self.config = Config.of(used, slot_types, any(m.normals is not None for m in meshes),
                                oriented)
        self.texture_index = {id(t): k for k, t in enumerate(self.textures)}
        self.texture_slots: dict[int, Slot] = {}
        start = 0
        for t in self.textures:
            n = TEXTURES[t.type].get(t).size
            self.texture_slots[id(t)] = Slot("params", start, n)
            start += n
        self.n_params = start
        self.bsdf_index = {b: i for i, b in enumerate(scene.bsdfs)}
        self.mesh_slots = {id(m): Slot("vtx", 3 * o, 3 * len(m.vertices))
                           for m, o in zip(meshes, self.vertex_offsets, strict=False)}
        pixels = max(s.width * s.height for s in scene.sensors)
        self.need = Capacity(
            vertices=self.n_vertices, triangles=self.n_triangles, params=self.n_params,
            bsdfs=len(scene.bsdfs), textures=len(self.textures), emitters=len(self.emitters),
            sensors=len(scene.sensors), pixels=pixels, samples=1,  # passes fit the samples
            record_samples=1, record_slots=1)

    def slot(self, owner) -> Slot:
        """The slot of a texture's values or of a mesh's vertices."""
        key = id(owner)
        if key in self.texture_slots:
            return self.texture_slots[key]
        return self.mesh_slots[key]


def _signature(scene) -> tuple:
    """What the layout depends on: everything but parameter values."""
    tex = []
    for b in scene.bsdfs.values():
        tex += [(b.id, b.type, b.twosided, b.back, _settings_key(b.settings))] + [
            (n, id(t), t.type, TEXTURES[t.type].get(t).shape) for n, t in b.textures.items()]
    meshes = [(id(m), m.faces.shape, id(m.faces), m.bsdf, m.emitter is not None,
               m.uvs is not None, m.normals is not None, len(m.vertices))
              for m in scene.meshes]
    emitters = [(e.type, e.sampling_weight, _settings_key(e.settings),
                 tuple((n, id(t), TEXTURES[t.type].get(t).shape)
                       for n, t in e.textures.items())) for e in scene.emitters]
    sensors = [(s.type, s.width, s.height, SENSORS[s.type].pack(s).tobytes(), s.rfilter.type,
                tuple(sorted(s.rfilter.settings.items()))) for s in scene.sensors]
    return (tuple(tex), tuple(meshes), tuple(emitters), tuple(sensors), scene.hide_emitters)


def _settings_key(settings: dict) -> tuple:
    return tuple((k, np.asarray(v).tobytes()) for k, v in sorted(settings.items()))


class Engine:
    """One scene's view of the Taichi state; see the module docstring."""

    _live: dict[int, tuple[weakref.ref, Engine]] = {}

    @classmethod
    def of(cls, scene) -> Engine:
        """The engine of ``scene``, made on first use."""
        key = id(scene)
        entry = cls._live.get(key)
        if entry is None or entry[0]() is not scene:
            ref = weakref.ref(scene, lambda _, k=key: cls._live.pop(k, None))
            entry = (ref, cls(scene))
            cls._live[key] = entry
        return entry[1]

    def __init__(self, scene):
        self._scene = weakref.ref(scene)
        self.layout = None
        self.signature = None
        self.state = None
        self.vertices = None  # what the vtx field holds, (N, 3) float64
        self._params = None  # what the params field holds
        self.boundary = None  # (layout, the silhouette sampler with its edge cache)
        self._bvh = None  # (the faces it is over, the tree, its cost when built)

    @property
    def scene(self):
        scene = self._scene()
        if scene is None:
            raise RuntimeError("the scene of this engine is gone")
        return scene

    # ---- the public entry point ----
    def sync(self, sensor: int | None = None) -> Program:
        """Bring the state up to date with the scene and return its program."""
        scene = self.scene
        if sensor is not None:
            scene.sensor(sensor)  # a clear error for an index out of range
        signature = _signature(scene)
        if signature != self.signature:
            self.layout = Layout(scene)
            self.signature = signature
            self.state = None
        self._check_size(scene)
        state = state_mod.acquire(self.layout.need)
        if state is not self.state or state.bound is not self:
            self.state = state
            self._upload_tables(state)
            self._params = None
            self.vertices = None
            state.bound = self
        self._upload_values(state)
        return program(state, self.layout.config)

    def _check_size(self, scene) -> None:
        """Refuse a scene whose fields would not fit in memory or in 32-bit indices before
        anything is allocated, naming what to lower."""
        capacity = state_mod.planned(self.layout.need)
        big = max(scene.sensors, key=lambda s: s.width * s.height)
        film = f"{big.width}x{big.height}"
        where = big.source or Source(scene.path)
        overflow = capacity.index_overflow()
        needed = capacity.nbytes(np.dtype(runtime.current().np_real).itemsize)
        free = state_mod.available_memory()
        if overflow is None and (free is None or needed <= free):
            return
        if overflow is not None:
            problem = f"too many {overflow} for 32-bit indices"
        else:
            problem = (f"the renderer's fields would need {needed / 2**30:.1f} GiB and "
                       f"{free / 2**30:.1f} GiB are free")
        pixels = big.width * big.height
        lower = ("the film's width and height (--res)" if pixels >= self.layout.n_triangles
                 else "the meshes' triangle count")
        raise InvrenderError(f"the scene is too large ({film} film, "
                             f"{self.layout.n_triangles} triangles): {problem}",
                             file=where.file, line=where.line, hint=f"lower {lower}")

    # ---- uploads ----
    def _upload_tables(self, state) -> None:
        scene, lay = self.scene, self.layout
        cfg = lay.config
        real = runtime.current().np_real
        nt = lay.n_triangles
        tri_bsdf = np.zeros(nt, np.int32)
        tri_emitter = np.full(nt, -1, np.int32)
        tri_has_uv = np.zeros(nt, np.int32)
        tri_has_normal = np.zeros(nt, np.int32)
        uvs = np.zeros((lay.n_vertices, 2))
        emitter_of_mesh = {m: k for k, m in enumerate(lay.emitter_meshes)}
        for i, m in enumerate(scene.meshes):
            lo, hi = lay.triangle_offsets[i], lay.triangle_offsets[i + 1]
            tri_bsdf[lo:hi] = lay.bsdf_index[m.bsdf]
            tri_emitter[lo:hi] = emitter_of_mesh.get(i, -1)
            tri_has_uv[lo:hi] = m.uvs is not None
            tri_has_normal[lo:hi] = m.normals is not None
            if m.uvs is not None:
                uvs[lay.vertex_offsets[i]:lay.vertex_offsets[i + 1]] = m.uvs

        bsdfs = list(scene.bsdfs.values())
        bsdf_type = np.array([cfg.code("bsdfs", b.type) for b in bsdfs], np.int32)
        bsdf_ints, bsdf_floats = bsdf_tables(bsdfs, lay.bsdf_index,
                                             lambda t: lay.texture_index[id(t)])

        tex_type = np.zeros(len(lay.textures), np.int32)
        tex_ints = np.zeros((len(lay.textures), TEXTURE_INTS), np.int32)
        tex_floats = np.zeros((len(lay.textures), TEXTURE_FLOATS))
        for k, t in enumerate(lay.textures):
            tex_type[k] = cfg.code("textures", t.type)
            ints = [lay.texture_slots[id(t)].start, *TEXTURES[t.type].ints(t)]
            tex_ints[k, :len(ints)] = ints
            floats = uv_map.pack(t)
            tex_floats[k, :len(floats)] = floats

        em_type = np.zeros(len(lay.emitters), np.int32)
        em_ints = np.zeros((len(lay.emitters), EMITTER_INTS), np.int32)
        self._em_floats = np.zeros((len(lay.emitters), EMITTER_FLOATS))
        em_tris = []
        first = 0
        env = -1
        weights = [e.sampling_weight for e in lay.emitters]
        if lay.emitters and not sum(weights) > 0.0:
            raise InvrenderError("every emitter has sampling_weight 0", file=scene.path,
                                 hint="give one emitter a positive sampling_weight")
        pmf, cdf = selection.tables(weights)
        for k, e in enumerate(lay.emitters):
            plugin = EMITTERS[e.type]
            em_type[k] = cfg.code("emitters", e.type)
            assert len(plugin.textures) <= EMITTER_TEXTURES, e.type
            for j, name in enumerate(plugin.textures):
                em_ints[k, EMITTER_TEXTURES + j] = lay.texture_index[id(e.textures[name])]
            packed = plugin.pack(e)
            assert len(packed) <= EMITTER_PLUGIN_FLOATS, e.type
            self._em_floats[k, selection.PMF] = pmf[k]
            self._em_floats[k, selection.CDF] = cdf[k]
            self._em_floats[k, EMITTER_PLUGIN:EMITTER_PLUGIN + len(packed)] = packed
            if plugin.environment:
                env = k
            if not plugin.attached:
                continue
            mesh = lay.emitter_meshes[k]
            lo, hi = lay.triangle_offsets[mesh], lay.triangle_offsets[mesh + 1]
            em_ints[k, 1:3] = first, hi - lo
            em_tris.append(np.arange(lo, hi))
            first += hi - lo
        self._counts = [0, len(lay.emitters), env, int(scene.hide_emitters)]

        sensor_type = np.zeros(len(scene.sensors), np.int32)
        sensor_floats = np.zeros((len(scene.sensors), SENSOR_FLOATS))
        sensor_ints = np.zeros((len(scene.sensors), SENSOR_INTS), np.int32)
        for k, s in enumerate(scene.sensors):
            sensor_type[k] = cfg.code("sensors", s.type)
            packed = SENSORS[s.type].pack(s)
            sensor_floats[k, :len(packed)] = packed
            rfilter = FILTERS[s.rfilter.type]
            settings = {**rfilter.settings, **s.rfilter.settings}
            fpack = rfilter.pack(settings)
            sensor_floats[k, FILTER_FLOATS:FILTER_FLOATS + len(fpack)] = fpack
            sensor_ints[k, :2] = cfg.code("filters", s.rfilter.type), rfilter.footprint(settings)

        state.load_tables(
            _flat(lay.faces, np.int32), _flat(uvs, real), tri_bsdf, tri_emitter, tri_has_uv,
            tri_has_normal,
            bsdf_type, _flat(bsdf_ints, np.int32), _flat(bsdf_floats, real), tex_type,
            _flat(tex_ints, np.int32),
            _flat(tex_floats, real), em_type,
            _flat(em_ints, np.int32), _flat(np.concatenate(em_tris) if em_tris else [], np.int32),
            sensor_type, _flat(sensor_floats, real), _flat(sensor_ints, np.int32))

    def _upload_values(self, state) -> None:
        lay = self.layout
        values = [np.asarray(TEXTURES[t.type].get(t), np.float64).reshape(-1)
                  for t in lay.textures]
        params = np.concatenate(values) if values else np.zeros(0)
        if self._params is None or not np.array_equal(params, self._params):
            state.load_params(np.ascontiguousarray(params))
            if self._params is not None:  # the tables hold them at the first values
                floats = bsdf_floats(list(self.scene.bsdfs.values()))
                state.load_bsdf_floats(_flat(floats, runtime.current().np_real))
            self._params = params
            self._upload_distributions(state)
        meshes = self.scene.meshes
        vertices = (np.concatenate([m.vertices for m in meshes]) if meshes
                    else np.zeros((0, 3)))
        if self.vertices is None or not np.array_equal(vertices, self.vertices):
            if not np.all(np.isfinite(vertices)):
                raise InvrenderError("non-finite vertex positions",
                                     file=self.scene.path, hint="check the mesh parameters")
            self._upload_geometry(state, vertices)

    def _upload_distributions(self, state) -> None:
        """The sampling distributions of emitters with one (an envmap's, from its texels),
        rebuilt whenever the parameter values change, as Mitsuba's parameters_changed."""
        for e in self.layout.emitters:
            plugin = EMITTERS[e.type]
            if plugin.distribution is not None:
                texture = e.textures[plugin.textures[0]]
                texels = TEXTURES[texture.type].get(texture)
                cdf = plugin.distribution(e, texels)
                state.load_distribution(_flat(cdf, runtime.current().np_real))

    def _upload_geometry(self, state, vertices: np.ndarray) -> None:
        """Vertex positions (N, 3); the BVH and the emitter CDFs they imply."""
        lay = self.layout
        real = runtime.current().np_real
        self.vertices = np.array(vertices, np.float64)
        if lay.n_triangles:
            bvh = self._bvh_for(self.vertices, lay.faces)
        else:  # an empty scene: no node is visited (counts[0] = 0)
            z = np.zeros(0, np.int32)
            bvh = Bvh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32), z, z, z, z)
        cdf_all, areas, boxes = [], [], []
        for mesh in lay.emitter_meshes:
            lo, hi = lay.triangle_offsets[mesh], lay.triangle_offsets[mesh + 1]
            a = triangle_areas(self.vertices, lay.faces[lo:hi])
            total = a.sum()
            cdf = np.cumsum(a) / total if total > 0 else np.linspace(1, len(a), len(a)) / len(a)
            cdf[-1] = 1.0
            cdf_all.append(cdf)
            areas.append(total)
            corners = self.vertices[lay.faces[lo:hi]].reshape(-1, 3)
            boxes.append(np.concatenate([corners.min(0), corners.max(0)]))
        em_floats = self._em_floats.astype(real)
        em_floats[:len(areas), 0] = areas  # area emitters come first in the emitter table
        if boxes:
            em_floats[:len(boxes), EMITTER_BOX:EMITTER_BOX + 6] = boxes
        self._counts[0] = len(bvh.skip)

        state.load_geometry(
            _flat(self.vertices, np.float64), _flat(self.shading_normals(), np.float64),
            _flat(np.concatenate([bvh.lo, bvh.hi], 1), real),
            _flat(np.stack([bvh.skip, bvh.prim_start, bvh.prim_count], 1), np.int32),
            _flat(bvh.prim_index, np.int32),
            _flat(np.concatenate(cdf_all) if cdf_all else [], real), _flat(em_floats, real),
            np.array(self._counts, np.int32))

    def _bvh_for(self, vertices: np.ndarray, faces: np.ndarray) -> Bvh:
        """The previous tree refitted while its cost stays within REBUILD_COST of what it
        cost when built, else a new build. Which tree it is does not change any hit (closest hits
        break ties by triangle id), so a resumed run sees the same images."""
        old = self._bvh
        if old is not None and old[0] is faces:
            bvh = refit_bvh(old[1], vertices, faces)
            if sah_cost(bvh) <= REBUILD_COST * old[2]:
                self._bvh = (faces, bvh, old[2])
                return bvh
        bvh = build_bvh(vertices, faces)
        self._bvh = (faces, bvh, sah_cost(bvh))
        return bvh

    def upload_normals(self) -> None:
        """The shading normals again (forward-mode geometry derivatives recompute them)."""
        self.state.load_normals(_flat(self.shading_normals(), np.float64))

    def shading_normals(self) -> np.ndarray:
        """Every mesh's vertex normals (zeros for meshes without), see ``shading_normals``."""
        out = np.zeros((self.layout.n_vertices, 3))
        for m, lo in zip(self.scene.meshes, self.layout.vertex_offsets, strict=False):
            if m.normals is not None:
                out[lo:lo + len(m.vertices)] = shading_normals(m)
        return out

    # ---- for derivative passes ----
    def slot(self, owner) -> Slot:
        return self.layout.slot(owner)
