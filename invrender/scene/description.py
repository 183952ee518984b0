"""Plain-Python description of a scene, as the loader produces it.

No Taichi here: the loader fills these dataclasses, ``scene.fields`` turns them into
Taichi fields. Arrays are numpy; positions are world space (``to_world`` applied).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Source:
    """Where something was declared, for error messages."""

    file: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else str(self.file)


@dataclass
class Texture:
    """A bitmap texture: linear RGB texels, row 0 is the top row of the image file."""

    data: np.ndarray  # (H, W, 3) float32, linear
    filename: Path
    filter_type: str = "bilinear"  # "bilinear" | "nearest"
    wrap_mode: str = "repeat"  # "repeat" | "clamp" | "mirror"


@dataclass
class Bsdf:
    """A diffuse BSDF: constant RGB reflectance or a bitmap texture."""

    id: str
    reflectance: np.ndarray | None = None  # (3,) float, when constant
    texture: Texture | None = None  # when textured
    twosided: bool = False
    source: Source | None = None


@dataclass
class AreaEmitter:
    """A one-sided area emitter attached to a mesh: emits ``radiance`` along the normal."""

    radiance: np.ndarray  # (3,)
    source: Source | None = None


@dataclass
class Mesh:
    """A triangle mesh. Winding gives the geometric normal n = cross(v1 - v0, v2 - v0)."""

    id: str
    vertices: np.ndarray  # (N, 3) float64, world space
    faces: np.ndarray  # (M, 3) int32
    uvs: np.ndarray | None = None  # (N, 2) float64, per vertex
    normals: np.ndarray | None = None  # (N, 3) float64, world space, per vertex
    bsdf: str | None = None  # id into Scene.bsdfs
    emitter: AreaEmitter | None = None
    to_world: np.ndarray = field(default_factory=lambda: np.eye(4))  # (4, 4)
    kind: str = "obj"  # obj | ply | rectangle | cube | sphere
    filename: Path | None = None
    source: Source | None = None


@dataclass
class Camera:
    """Perspective camera with Mitsuba's conventions (fov along ``fov_axis``, lookat)."""

    to_world: np.ndarray  # (4, 4): columns are camera x, y, z (forward) and origin
    fov: float = 39.3077  # degrees
    fov_axis: str = "x"  # x | y | diagonal | smaller | larger
    width: int = 256
    height: int = 256
    near_clip: float = 1e-2
    far_clip: float = 1e4
    id: str = "sensor"
    source: Source | None = None


@dataclass
class Environment:
    """Constant environment emitter."""

    radiance: np.ndarray  # (3,)
    id: str = "environment"
    source: Source | None = None


@dataclass
class Scene:
    """Everything the loader read from one XML file."""

    path: Path
    camera: Camera
    spp: int = 4
    integrator: str = "path"
    max_depth: int = -1  # Mitsuba: -1 = unbounded
    rr_depth: int = 5
    bsdfs: dict[str, Bsdf] = field(default_factory=dict)
    meshes: list[Mesh] = field(default_factory=list)
    environment: Environment | None = None
