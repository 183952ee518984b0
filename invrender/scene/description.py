"""Plain-Python description of a scene, as the loader produces it.

No Taichi and no caches here: the loader fills these dataclasses, ``engine`` turns them into
Taichi fields. Arrays are numpy; positions are world space (``to_world`` applied). Every
plugin instance names its registered type (``type``), so the kernels and the parameter map
reach it through the registries, never through a concrete class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from invrender import latent


@dataclass
class Source:
    """Where something was declared, for error messages."""

    file: Path
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else str(self.file)


@dataclass
class Texture:
    """A spatially varying value: ``constant`` (``value``, RGB) or ``bitmap`` (``data``,
    linear RGB texels, row 0 the top row of the image file)."""

    type: str  # a textures registry name
    value: np.ndarray | None = None  # (3,) for constant
    data: np.ndarray | None = None  # (H, W, 3) for bitmap
    filename: Path | None = None
    filter_type: str = "bilinear"  # "bilinear" | "nearest"
    wrap_mode: str = "repeat"  # "repeat" | "clamp" | "mirror"
    raw: bool = False
    id: str | None = None  # a texture declared with an id is shared and named by it
    settings: dict = field(default_factory=dict)  # a plugin's other settings (to_uv, ...)


def constant(value) -> Texture:
    return Texture("constant", value=np.asarray(value, np.float64) * np.ones(3))


@dataclass
class Bsdf:
    """One BSDF instance: its registered type, its texture-valued parameters by name, its
    plugin's other settings, and whether ``twosided`` wraps it (the frame flips to the side
    the light comes from; with two nested BSDFs ``back`` is the id of the back side's)."""

    id: str
    type: str = "diffuse"
    textures: dict[str, Texture] = field(default_factory=dict)
    twosided: bool = False
    source: Source | None = None
    settings: dict = field(default_factory=dict)  # distribution, ior, ...: fixed at upload
    back: str | None = None
    children: list[str] = field(default_factory=list)  # a wrapper's nested BSDFs, by id


@dataclass
class Emitter:
    """An emitter instance: ``area`` (attached to the mesh that holds it), an environment
    (``constant``, ``envmap``) or a light of the scene (``point``, ``spot``,
    ``directional``); its texture-valued parameters by name, its plugin's other settings."""

    id: str  # the prefix of its parameter names: "<shape>.emitter" or the emitter's id
    type: str
    textures: dict[str, Texture] = field(default_factory=dict)
    source: Source | None = None
    sampling_weight: float = 1.0  # Mitsuba's: emitters are chosen in proportion to it
    settings: dict = field(default_factory=dict)  # position, to_world, angles, scale, ...


@dataclass
class Mesh:
    """A triangle mesh. Winding gives the geometric normal n = cross(v1 - v0, v2 - v0).

    ``vertices`` are ``latent.apply(base, pose)``, kept so by the two setters: setting
    ``vertex_positions`` makes them the new base with the identity pose;
    ``translate``/``rotate``/``scale`` move the base rigidly about its centroid.
    """

    id: str
    vertices: np.ndarray  # (N, 3) float64, world space
    faces: np.ndarray  # (M, 3) int32
    uvs: np.ndarray | None = None  # (N, 2) float64, per vertex
    normals: np.ndarray | None = None  # (N, 3) float64, world space, per vertex
    bsdf: str | None = None  # id into Scene.bsdfs
    emitter: Emitter | None = None
    to_world: np.ndarray = field(default_factory=lambda: np.eye(4))  # (4, 4)
    kind: str = "obj"  # the shape type: obj | ply | serialized | sphere | disk | ...
    filename: Path | None = None
    source: Source | None = None
    pose: dict[str, np.ndarray] = field(default_factory=latent.identity)
    base: np.ndarray | None = None  # the latent transform's input; None: ``vertices``
    normals_for: np.ndarray | None = None  # the positions ``normals`` were given for

    def __post_init__(self):
        if self.base is None:
            self.base = self.vertices
        if self.normals_for is None and self.normals is not None:
            self.normals_for = self.vertices.copy()

    def set_vertices(self, vertices: np.ndarray) -> None:
        self.base = self.vertices = np.asarray(vertices, np.float64)
        self.pose = latent.identity()

    def set_pose(self, kind: str, value: np.ndarray) -> None:
        self.pose[kind] = np.asarray(value, np.float64)
        self.vertices = latent.apply(self.base, self.pose)


@dataclass
class Filter:
    """A reconstruction filter (``box``, ``tent``, ``gaussian``) and its settings."""

    type: str = "gaussian"
    settings: dict[str, float] = field(default_factory=dict)  # radius, stddev
    source: Source | None = None


@dataclass
class Sensor:
    """A camera with its film, filter and sampler, with Mitsuba's conventions (fov along
    ``fov_axis``, lookat)."""

    to_world: np.ndarray  # (4, 4): columns are camera x, y, z (forward) and origin
    type: str = "perspective"
    fov: float = 39.3077  # degrees
    fov_axis: str = "x"  # x | y | diagonal | smaller | larger
    width: int = 768
    height: int = 576
    near_clip: float = 1e-2
    far_clip: float = 1e4
    spp: int = 4
    rfilter: Filter = field(default_factory=Filter)
    id: str = "sensor"
    source: Source | None = None
    settings: dict = field(default_factory=dict)  # the plugin's own: aperture, focus, ...


@dataclass
class Scene:
    """Everything the loader read from one XML file."""

    path: Path
    sensors: list[Sensor]
    integrator: str = "path"
    max_depth: int = -1  # Mitsuba: -1 = unbounded
    rr_depth: int = 5
    bsdfs: dict[str, Bsdf] = field(default_factory=dict)
    meshes: list[Mesh] = field(default_factory=list)
    environment: Emitter | None = None
    lights: list[Emitter] = field(default_factory=list)  # top-level emitters but the env.
    hide_emitters: bool = False  # Mitsuba's: camera rays see through emitters
    notes: list[str] = field(default_factory=list)  # where we read Mitsuba's XML our way

    def sensor(self, index: int = 0) -> Sensor:
        """The sensor ``index`` (0 is the first ``<sensor>`` of the file)."""
        from invrender.errors import InvrenderError

        if not isinstance(index, int) or not 0 <= index < len(self.sensors):
            raise InvrenderError(f"sensor index {index} is out of range: the scene has "
                                 f"{len(self.sensors)} sensor(s)", file=self.path,
                                 hint=f"use 0 to {len(self.sensors) - 1}")
        return self.sensors[index]

    @property
    def emitters(self) -> list[Emitter]:
        """Every emitter in table order: area emitters in mesh order, the scene's lights,
        then the environment."""
        out = [m.emitter for m in self.meshes if m.emitter is not None] + self.lights
        return out + ([self.environment] if self.environment is not None else [])
