"""The parameter map: Mitsuba 3 names for what a scene exposes, readable and writable.

Names follow ``mi.traverse``: ``<bsdf>.reflectance.value`` (RGB) or ``.reflectance.data``
(a texture, H x W x 3), ``<shape>.emitter.radiance.value``, ``<env>.radiance.value``,
``<shape>.vertex_positions`` (N x 3, world space) and ``<shape>.faces``; plus our latent
``<shape>.translate``, ``.rotate`` (degrees, about the centroid) and ``.scale``. Writing a
value updates the scene description and marks it for upload: the next render sends new
values to the existing Taichi fields, so nothing recompiles.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from invrender import latent
from invrender.errors import InvrenderError
from invrender.scene.description import Mesh, Scene

GEOMETRY_KINDS = ("vertices", *latent.KINDS)
GEOMETRY_NOTE = ("includes silhouette terms and shadow-edge terms at every path vertex; "
                 "the term for indirect segments (surface to surface) is approximate, a "
                 "residual bias at max_depth >= 3")


@dataclass
class Parameter:
    name: str
    kind: str  # rgb | texture | vertices | translate | rotate | scale | faces | normals | ...
    owner: object  # the Bsdf, Mesh, AreaEmitter or Environment that holds the value
    differentiable: bool

    @property
    def note(self) -> str:
        return GEOMETRY_NOTE if self.kind in GEOMETRY_KINDS else ""


def latent_state(mesh: Mesh) -> dict:
    """The mesh's latent transform and the vertices it applies to, created on first use."""
    state = mesh.__dict__.get("_latent")
    if state is None:
        state = {"base": mesh.vertices.copy(),
                 "values": {k: v.copy() for k, v in latent.IDENTITY.items()}}
        mesh.__dict__["_latent"] = state
    return state


class ParameterMap:
    """Ordered name -> Parameter view of a scene, with get and set by name."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self._params: dict[str, Parameter] = {}
        for bsdf in scene.bsdfs.values():
            if bsdf.texture is not None:
                self._add(f"{bsdf.id}.reflectance.data", "texture", bsdf)
            else:
                self._add(f"{bsdf.id}.reflectance.value", "rgb", bsdf)
        if scene.environment is not None:
            self._add(f"{scene.environment.id}.radiance.value", "rgb", scene.environment)
        for mesh in scene.meshes:
            if mesh.emitter is not None:
                self._add(f"{mesh.id}.emitter.radiance.value", "rgb", mesh.emitter)
        for mesh in scene.meshes:
            self._add(f"{mesh.id}.vertex_positions", "vertices", mesh)
            for kind in latent.KINDS:
                self._add(f"{mesh.id}.{kind}", kind, mesh)
            self._add(f"{mesh.id}.faces", "faces", mesh, differentiable=False)
            if mesh.normals is not None:
                self._add(f"{mesh.id}.vertex_normals", "normals", mesh, differentiable=False)
            if mesh.uvs is not None:
                self._add(f"{mesh.id}.vertex_texcoords", "texcoords", mesh,
                          differentiable=False)

    def _add(self, name: str, kind: str, owner, differentiable: bool = True) -> None:
        self._params[name] = Parameter(name, kind, owner, differentiable)

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
        p = self.parameter(name)
        o = p.owner
        if p.kind == "rgb":
            return np.array(o.reflectance if hasattr(o, "reflectance") else o.radiance, float)
        if p.kind == "texture":
            return np.array(o.texture.data, np.float64)
        if p.kind in latent.KINDS:
            return latent_state(o)["values"][p.kind].copy()
        attr = {"vertices": "vertices", "faces": "faces", "normals": "normals",
                "texcoords": "uvs"}[p.kind]
        return np.array(getattr(o, attr))

    def __setitem__(self, name: str, value) -> None:
        p = self.parameter(name)
        if not p.differentiable:
            raise InvrenderError(f"parameter '{name}' is read-only",
                                 hint="only differentiable parameters can be set")
        current = self[name]
        value = np.asarray(value, np.float64)
        if value.shape != current.shape:
            try:
                value = np.broadcast_to(value, current.shape).copy()
            except ValueError:
                raise InvrenderError(f"parameter '{name}' has shape {current.shape}, got "
                                     f"{value.shape}") from None
        if not np.all(np.isfinite(value)):
            raise InvrenderError(f"non-finite value for parameter '{name}'")
        o = p.owner
        if p.kind == "rgb":
            setattr(o, "reflectance" if hasattr(o, "reflectance") else "radiance", value)
        elif p.kind == "texture":
            o.texture.data = value
        elif p.kind == "vertices":
            o.vertices = value
            o.__dict__.pop("_latent", None)  # explicit vertices become the new base
        else:
            state = latent_state(o)
            state["values"][p.kind] = value
            o.vertices = latent.apply(state["base"], state["values"])
        mark_dirty(self.scene)

    def values(self, names) -> dict[str, np.ndarray]:
        return {n: self[n] for n in names}


def mark_dirty(scene: Scene) -> None:
    """Tell the renderer that parameter values changed and must be uploaded."""
    scene.__dict__["_version"] = scene.__dict__.get("_version", 0) + 1


def unknown_parameter(name: str, known: list[str]) -> InvrenderError:
    """An error for an unknown name that suggests the closest known ones."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = ("did you mean " + ", ".join(close) + "?") if close else \
        "run 'invrender params SCENE.xml' to list the names"
    return InvrenderError(f"unknown parameter '{name}'", hint=hint)
