"""What the optimizer changes for each recipe parameter, and how that reaches the scene.

Most parameters are their own variable. Vertex positions optimised with Large Steps are
represented by their differential coordinates u = (I + lambda L) v (Nicolet et al. 2021):
the scene gets v = (I + lambda L)^-1 u and the optimizer d loss / d u = (I + lambda L)^-1
d loss / d v. Remeshing replaces a mesh's topology; its variable, its Large Steps system
and its optimizer state start afresh from the new mesh, and ``topology`` is what a
checkpoint needs to rebuild that state exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invrender.geometry.largesteps import LargeSteps
from invrender.geometry.mesh import vertex_normals
from invrender.geometry.remesh import remesh
from invrender.optim import project
from invrender.params import ParameterMap


@dataclass
class _Mesh:
    """A vertex-position variable in Large Steps form, with the mesh it was built for."""

    mesh: object  # scene.description.Mesh
    lambda_: float
    steps: LargeSteps | None = None
    u: np.ndarray | None = None
    built_from: np.ndarray | None = None  # the vertices the system was built for

    def rebuild(self) -> None:
        self.built_from = self.mesh.vertices.copy()
        self.steps = LargeSteps(self.built_from, self.mesh.faces, self.lambda_)
        self.u = self.steps.to_differential(self.built_from)


class Variables:
    """The optimizer's variables of a recipe's parameters; see the module docstring."""

    def __init__(self, pmap: ParameterMap, specs: dict):
        self.pmap, self.specs = pmap, specs
        self.clamps = {n: (s.clamp or [None, None]) for n, s in specs.items()}
        self.meshes: dict[str, _Mesh] = {}
        self.remeshed: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # name -> (v, f)
        for name, spec in specs.items():
            if spec.large_steps is not None:
                self.meshes[name] = _Mesh(pmap.parameter(name).owner, spec.large_steps.lambda_)

    def start(self) -> None:
        """Build the Large Steps systems for the scene's current meshes."""
        for m in self.meshes.values():
            m.rebuild()

    def values(self) -> dict[str, np.ndarray]:
        """The variables (copies)."""
        out = {}
        for name in self.specs:
            out[name] = self.meshes[name].u.copy() if name in self.meshes else self.pmap[name]
        return out

    def assign(self, values: dict[str, np.ndarray]) -> None:
        """Set the variables and write what they mean into the scene."""
        for name, value in values.items():
            if name in self.meshes:
                m = self.meshes[name]
                m.u = np.asarray(value, np.float64).copy()
                self.pmap[name] = m.steps.from_differential(m.u)
            else:
                self.pmap[name] = project(np.asarray(value, np.float64), *self.clamps[name])

    def gradients(self, grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """d loss / d variable from d loss / d parameter (zero where ``mask`` holds an
        entry still)."""
        out = {}
        for name, g in grads.items():
            if name in self.meshes:
                out[name] = self.meshes[name].steps.gradient_to_differential(g)
            elif self.specs[name].mask is not None:
                out[name] = g * np.broadcast_to(np.asarray(self.specs[name].mask), g.shape)
            else:
                out[name] = g
        return out

    def remesh_due(self, iteration: int) -> list[str]:
        """The parameters whose mesh is remeshed before ``iteration``."""
        return [n for n, s in self.specs.items() if s.remesh is not None
                and iteration in s.remesh.at]

    def remesh(self, name: str) -> None:
        """Remesh the parameter's mesh where it is now (uvs are dropped, smooth normals
        recomputed) and restart its variable from the new mesh."""
        spec = self.specs[name].remesh
        mesh = self.pmap.parameter(name).owner
        v, f = remesh(mesh.vertices, mesh.faces, h=spec.edge_length,
                      iterations=spec.iterations, name=name)
        self.set_topology(name, v, f)

    def set_topology(self, name: str, vertices: np.ndarray, faces: np.ndarray) -> None:
        self.remeshed[name] = (np.asarray(vertices, np.float64), np.asarray(faces, np.int64))
        mesh = self.pmap.parameter(name).owner
        smooth = mesh.normals is not None
        mesh.faces = np.ascontiguousarray(faces, np.int32)
        mesh.set_vertices(np.ascontiguousarray(vertices, np.float64))
        mesh.uvs = None
        mesh.normals = vertex_normals(mesh.vertices, mesh.faces) if smooth else None
        mesh.normals_for = mesh.vertices.copy() if smooth else None
        if name in self.meshes and self.meshes[name].steps is not None:  # else ``start``
            self.meshes[name].rebuild()

    def topology(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The meshes remeshed so far, as the remesher gave them: with the scene file, what
        rebuilds every mesh and Large Steps system of the run."""
        return dict(self.remeshed)
