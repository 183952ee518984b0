"""The parameter map: Mitsuba 3 names for what a scene exposes, readable and writable.

``traverse`` asks every plugin for its parameters, as Mitsuba's ``traverse`` does: a BSDF
or emitter lists each texture-valued parameter under its texture's own name
(``<bsdf>.reflectance.value`` for a constant, ``.reflectance.data`` for a bitmap,
``<shape>.emitter.radiance.value``, ``<env>.radiance.value``), a mesh its
``vertex_positions`` (N x 3, world space), ``faces`` and the rest, plus our latent
``translate``, ``rotate`` (degrees, about the centroid) and ``scale``. Writing a value
changes the plain scene; the next render uploads what changed, and nothing recompiles.

Each differentiable parameter says where its derivative comes from (``storage``: a texture's
values or a mesh's vertices) and how to map it (``jvp``: a direction in the parameter to a
tangent of the storage; ``vjp``: a gradient of the storage to one of the parameter).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from invrender import latent
from invrender.bsdfs.registry import BSDFS
from invrender.emitters.registry import EMITTERS
from invrender.errors import InvrenderError
from invrender.scene.description import Mesh, Scene
from invrender.textures.registry import TEXTURES

GEOMETRY_KINDS = ("vertices", *latent.KINDS)
GEOMETRY_NOTE = ("includes silhouette terms and shadow-edge terms at every path vertex; "
                 "the term for indirect segments (surface to surface) is approximate, a "
                 "residual bias at max_depth >= 3")
DELTA_LIGHT_NOTE = ("; the hard shadows of {lights} lights are interior-only (their shadow "
                    "edges move without a boundary term)")
DELTA_BSDF_NOTE = ("; edges seen through {bsdfs} (mirror and glass reflections and "
                   "refractions of silhouettes) have no boundary term: interior only there")


@dataclass
class Parameter:
    """One entry of the map; ``owner`` holds the value (a Texture or a Mesh)."""

    name: str
    kind: str  # rgb | texture | vertices | translate | rotate | scale | faces | normals | ...
    owner: object
    differentiable: bool = True
    geometry_note: str = GEOMETRY_NOTE  # what the geometry derivative of its scene leaves out
    part: tuple[int, int] | None = None  # (first, count) of a texture's values it names

    @property
    def note(self) -> str:
        return self.geometry_note if self.kind in GEOMETRY_KINDS else ""

    @property
    def storage(self):
        """What the renderer differentiates: the texture, or the mesh's vertices."""
        return self.owner

    def get(self) -> np.ndarray:
        o = self.owner
        if isinstance(o, Mesh):
            if self.kind in latent.KINDS:
                return o.pose[self.kind].copy()
            attr = {"vertices": "vertices", "faces": "faces", "normals": "normals",
                    "texcoords": "uvs"}[self.kind]
            return np.array(getattr(o, attr))
        values = np.asarray(TEXTURES[o.type].get(o), np.float64).copy()
        if self.part is not None:
            first, count = self.part
            return values.reshape(-1)[first:first + count].copy()
        return values

    def set(self, value: np.ndarray) -> None:
        o = self.owner
        if self.kind == "vertices":
            o.set_vertices(value)
        elif self.kind in latent.KINDS:
            o.set_pose(self.kind, value)
        elif self.part is not None:
            first, count = self.part
            values = np.asarray(TEXTURES[o.type].get(o), np.float64).copy()
            values.reshape(-1)[first:first + count] = np.asarray(value).reshape(-1)
            TEXTURES[o.type].set(o, values)
        else:
            TEXTURES[o.type].set(o, value)

    def jvp(self, direction: np.ndarray) -> np.ndarray:
        """The storage's tangent (flat) for a direction in this parameter."""
        if self.kind in latent.KINDS:
            return latent.jvp(self.owner.base, self.owner.pose, self.kind,
                              direction).reshape(-1)
        if self.part is not None:  # the tangent of the whole texture
            first, count = self.part
            tangent = np.zeros(np.asarray(TEXTURES[self.owner.type].get(self.owner)).size)
            tangent[first:first + count] = np.asarray(direction, np.float64).reshape(-1)
            return tangent
        return np.asarray(direction, np.float64).reshape(-1)

    def vjp(self, grad: np.ndarray) -> np.ndarray:
        """This parameter's gradient from the storage's (flat)."""
        if self.kind in latent.KINDS:
            return latent.vjp(self.owner.base, self.owner.pose, self.kind, grad)
        if self.part is not None:
            first, count = self.part
            grad = grad.reshape(-1)[first:first + count]
        return grad.reshape(self.get().shape)

    @property
    def direction_shape(self) -> tuple[int, ...]:
        return (3,) if self.kind in latent.KINDS else self.get().shape


def _texture_parameters(prefix: str, textures: dict, names, seen: set,
                        renamed: dict | None = None,
                        aliases: dict | None = None) -> Iterator[Parameter]:
    """A plugin's texture-valued parameters: ``<prefix>.<name>.value`` (or ``.data``), or
    Mitsuba's own name for it (``renamed``: an envmap's texels are ``<id>.data``; ``aliases``:
    another ``<name>`` before the suffix); a texture declared with an id is named by it
    (``<id>.data``) and listed once."""
    for name in names:
        tex = textures[name]
        if id(tex) in seen:
            continue
        seen.add(id(tex))
        plugin = TEXTURES[tex.type]
        stem = (tex.id if tex.id is not None
                else f"{prefix}.{renamed[name]}" if renamed and name in renamed
                else f"{prefix}.{(aliases or {}).get(name, name)}")
        if plugin.parts:
            for part, first, count in plugin.parts:
                yield Parameter(f"{stem}.{part}", plugin.kind, tex, part=(first, count))
        elif (renamed and name in renamed and tex.id is None) or not plugin.parameter:
            yield Parameter(stem, plugin.kind, tex)  # a plain float: named by itself
        else:
            yield Parameter(f"{stem}.{plugin.parameter}", plugin.kind, tex)


def traverse(scene: Scene) -> Iterator[Parameter]:
    """Every plugin's parameters, in Mitsuba's order: BSDFs, emitters, then shapes."""
    seen: set = set()
    for bsdf in scene.bsdfs.values():
        plugin = BSDFS[bsdf.type]
        yield from _texture_parameters(bsdf.id, bsdf.textures, plugin.textures, seen,
                                       aliases=plugin.names(bsdf) if plugin.names else None)
    for emitter in scene.emitters:
        plugin = EMITTERS[emitter.type]
        yield from _texture_parameters(emitter.id, emitter.textures, plugin.textures, seen,
                                       plugin.names)
    note = GEOMETRY_NOTE
    delta = sorted({e.type for e in scene.emitters if EMITTERS[e.type].delta})
    if delta:
        note += DELTA_LIGHT_NOTE.format(lights=", ".join(delta))
    specular = sorted({b.type for b in scene.bsdfs.values() if BSDFS[b.type].delta is not None})
    if specular:
        note += DELTA_BSDF_NOTE.format(bsdfs=", ".join(specular))
    for mesh in scene.meshes:
        yield Parameter(f"{mesh.id}.vertex_positions", "vertices", mesh, geometry_note=note)
        for kind in latent.KINDS:
            yield Parameter(f"{mesh.id}.{kind}", kind, mesh, geometry_note=note)
        yield Parameter(f"{mesh.id}.faces", "faces", mesh, differentiable=False)
        if mesh.normals is not None:
            yield Parameter(f"{mesh.id}.vertex_normals", "normals", mesh, differentiable=False)
        if mesh.uvs is not None:
            yield Parameter(f"{mesh.id}.vertex_texcoords", "texcoords", mesh,
                            differentiable=False)


class ParameterMap:
    """Ordered name -> Parameter view of a scene, with get and set by name."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self._params = {p.name: p for p in traverse(scene)}

    def __iter__(self):
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    def __contains__(self, name: str) -> bool:
        return name in self._params

    def keys(self) -> list[str]:
        return list(self._params)

    def parameter(self, name: str) -> Parameter:
        try:
            return self._params[name]
        except KeyError:
            raise unknown_parameter(name, self.keys()) from None

    def __getitem__(self, name: str) -> np.ndarray:
        """A copy of the current value."""
        return self.parameter(name).get()

    def __setitem__(self, name: str, value) -> None:
        p = self.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is read-only",
                                 hint="only differentiable parameters can be set")
        current = p.get()
        value = np.asarray(value, np.float64)
        if value.shape != current.shape:
            try:
                value = np.broadcast_to(value, current.shape).copy()
            except ValueError:
                raise InvrenderError(f"parameter '{name}' has shape {current.shape}, got "
                                     f"{value.shape}") from None
        if not np.all(np.isfinite(value)):
            raise InvrenderError(f"non-finite value for parameter '{name}'")
        p.set(value)

    def values(self, names) -> dict[str, np.ndarray]:
        return {n: self[n] for n in names}


def unknown_parameter(name: str, known: list[str]) -> InvrenderError:
    """An error for an unknown name that suggests the closest known ones."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = ("did you mean " + ", ".join(close) + "?") if close else \
        "run 'invrender params SCENE.xml' to list the names"
    return InvrenderError(f"unknown parameter '{name}'", hint=hint)
