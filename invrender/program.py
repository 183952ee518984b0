"""A plugin configuration and what kernels see: the state's fields plus the plugins in use.

Kernels dispatch on a plugin's index in ``Config`` (``g.bsdfs[j]``, a static loop), so they
contain only the plugin types a scene uses, and a second scene that uses the same types
runs the kernels already compiled. ``Program`` objects live on their ``RenderState``.
"""

from __future__ import annotations

from dataclasses import dataclass

import taichi as ti

from invrender.bsdfs.registry import BSDFS
from invrender.emitters.registry import EMITTERS
from invrender.filters.registry import FILTERS
from invrender.sensors.registry import SENSORS
from invrender.textures.registry import TEXTURES


@dataclass(frozen=True)
class Config:
    """The registered plugin types a scene uses, by kind, in registration order."""

    bsdfs: tuple[str, ...]
    textures: tuple[str, ...]
    emitters: tuple[str, ...]
    sensors: tuple[str, ...]
    filters: tuple[str, ...]
    # some mesh has vertex normals: kernels interpolate them (and the derivative passes
    # differentiate their recompute); flat-shaded scenes compile without that code
    smooth_normals: bool = False
    # some BSDF is oriented (anisotropic, a normal map): shading frames follow dp/du
    tangent_frames: bool = False
    # per BSDF plugin (in ``bsdfs`` order), per texture slot: the texture plugins (indices
    # into ``textures``) its instances hold there
    bsdf_slots: tuple = ()

    @staticmethod
    def of(used: dict[str, set[str]], slot_types: dict, smooth_normals: bool = False,
           tangent_frames: bool = False) -> Config:
        """``slot_types``: BSDF plugin name -> one set of texture type names per slot."""
        def ordered(registry, names):
            return tuple(sorted(names, key=registry.index))

        bsdfs, textures = ordered(BSDFS, used["bsdfs"]), ordered(TEXTURES, used["textures"])
        slots = tuple(
            tuple(tuple(sorted(textures.index(t) for t in types)) for types in slot_types[b])
            for b in bsdfs)
        return Config(bsdfs, textures, ordered(EMITTERS, used["emitters"]),
                      ordered(SENSORS, used["sensors"]), ordered(FILTERS, used["filters"]),
                      smooth_normals, tangent_frames, slots)

    def code(self, kind: str, name: str) -> int:
        """The index kernels dispatch on for plugin ``name`` of ``kind`` ("bsdfs", ...)."""
        return getattr(self, kind).index(name)


@ti.data_oriented
class Program:
    """The fields of a ``RenderState`` and the plugins of one ``Config``, as one object
    that kernels take as ``g``."""

    def __init__(self, state, config: Config):
        self.state, self.config = state, config
        for name, value in vars(state).items():
            if isinstance(value, ti.Field):
                setattr(self, name, value)
        self.rec = state.records
        self.bsdfs = tuple(BSDFS[n] for n in config.bsdfs)
        self.textures = tuple(TEXTURES[n] for n in config.textures)
        self.texture_has_lookup_1 = tuple(p.lookup_1 is not None for p in self.textures)
        self.texture_has_gradient_1 = tuple(p.gradient_1 is not None for p in self.textures)
        self.emitters = tuple(EMITTERS[n] for n in config.emitters)
        self.sensors = tuple(SENSORS[n] for n in config.sensors)
        self.filters = tuple(FILTERS[n] for n in config.filters)
        self.environment_plugins = any(p.environment for p in self.emitters)
        self.every_bsdf = tuple(range(len(self.bsdfs)))  # what dispatches choose among
        self.leaf_bsdfs = tuple(j for j, p in enumerate(self.bsdfs) if not p.wrapper)
        self.bsdf_has_delta = tuple(p.delta is not None for p in self.bsdfs)
        self.delta_lobes = any(self.bsdf_has_delta)  # mirrors, glass
        self.smooth_normals = config.smooth_normals
        self.tangent_frames = config.tangent_frames
        self.every_texture = tuple(range(len(self.textures)))  # for lookups of any type
        self.bsdf_views = tuple(PluginView(self, slots) for slots in config.bsdf_slots)
        self._kernels: dict = {}
        self.compiled_render = False  # for RenderStats: has a render compiled the kernels

    def kernels(self, kind, *args):
        """The kernel object ``kind(self, *args)``, made once per program."""
        key = (kind, *args)
        if key not in self._kernels:
            self._kernels[key] = kind(self, *args)
        return self._kernels[key]


@ti.data_oriented
class PluginView:
    """A program as one BSDF plugin's functions see it: the same fields and plugins, and
    ``slot_types[j]``, the texture plugins its j-th texture slot holds in the scene, so that
    its texture lookups compile only those (``shading.bsdf_color``)."""

    def __init__(self, program, slot_types: tuple):
        self._program, self.slot_types = program, slot_types

    def __getattr__(self, name):
        return getattr(self._program, name)


def program(state, config: Config) -> Program:
    if config not in state.programs:
        state.programs[config] = Program(state, config)
    return state.programs[config]
