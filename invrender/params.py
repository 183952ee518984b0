"""The parameter map: Mitsuba 3 names for everything a scene exposes.

Names follow ``mi.traverse``: ``<bsdf>.reflectance.value`` (RGB) or ``.reflectance.data``
(a texture), ``<shape>.emitter.radiance.value``, ``<shape>.vertex_positions`` and
``<shape>.faces``. ``differentiable`` says whether a gradient can be asked for.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from invrender.errors import InvrenderError
from invrender.scene.description import Scene


@dataclass
class Parameter:
    name: str
    kind: str  # rgb | texture | vertices | faces | normals | texcoords
    value: np.ndarray
    differentiable: bool
    note: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)


class ParameterMap:
    """Ordered name -> Parameter view of a scene description."""

    def __init__(self, scene: Scene):
        self.scene = scene
        self._params: dict[str, Parameter] = {}
        for bsdf in scene.bsdfs.values():
            if bsdf.texture is not None:
                self._add(Parameter(f"{bsdf.id}.reflectance.data", "texture",
                                    bsdf.texture.data, True))
            else:
                self._add(Parameter(f"{bsdf.id}.reflectance.value", "rgb",
                                    np.asarray(bsdf.reflectance, np.float64), True))
        if scene.environment is not None:
            env_id = getattr(scene.environment, "id", None) or "environment"
            self._add(Parameter(f"{env_id}.radiance.value", "rgb",
                                np.asarray(scene.environment.radiance, np.float64), True))
        for mesh in scene.meshes:
            if mesh.emitter is not None:
                self._add(Parameter(f"{mesh.id}.emitter.radiance.value", "rgb",
                                    np.asarray(mesh.emitter.radiance, np.float64), True))
        for mesh in scene.meshes:
            self._add(Parameter(f"{mesh.id}.vertex_positions", "vertices", mesh.vertices, True,
                                note="interior derivative only (no silhouette terms yet)"))
            self._add(Parameter(f"{mesh.id}.faces", "faces", mesh.faces, False))
            if mesh.normals is not None:
                self._add(Parameter(f"{mesh.id}.vertex_normals", "normals", mesh.normals, False))
            if mesh.uvs is not None:
                self._add(Parameter(f"{mesh.id}.vertex_texcoords", "texcoords", mesh.uvs, False))

    def _add(self, p: Parameter) -> None:
        self._params[p.name] = p

    def __iter__(self):
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)

    def keys(self) -> list[str]:
        return list(self._params)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._params[name]
        except KeyError:
            raise unknown_parameter(name, self.keys()) from None


def unknown_parameter(name: str, known: list[str]) -> InvrenderError:
    """An error for an unknown name that suggests the closest known ones."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = ("did you mean " + ", ".join(close) + "?") if close else \
        "run 'invrender params SCENE.xml' to list the names"
    return InvrenderError(f"unknown parameter '{name}'", hint=hint)
