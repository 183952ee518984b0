"""What an emitter plugin provides, as Taichi functions of the emitter's index ``e``.

``sample`` draws a point (or a direction) for next-event estimation from a receiver x;
``eval`` and ``pdf`` are the radiance and the solid-angle density that BSDF sampling meets
when a ray hits the emitter (``environment`` plugins: when a ray escapes); ``replay``
recomputes a recorded sample differentiably in the derivative passes. Densities include
the probability of choosing this emitter (``registry.selection_pmf``), as Mitsuba's.
``structs.LightSample`` is what ``sample`` returns.

Where an emitter sits: ``attached`` plugins (``area``) live on the triangles of the shape
that holds them, ``environment`` plugins are reached by escaping rays (one per scene, as
Mitsuba), the others (``point``, ``spot``, ``directional``) are delta lights that BSDF
sampling never hits.
"""


from collections.abc import Callable
from dataclasses import dataclass, field

import taichi as ti

from invrender.state import EMITTER_FLOATS, EMITTER_INTS, EMITTER_PLUGIN, EMITTER_TEXTURES

vec3 = ti.math.vec3


@ti.func
def texture_of(g: ti.template(), e: ti.i32, j: ti.template()) -> ti.i32:
    """The table index of emitter e's j-th texture (its plugin's ``textures`` order)."""
    return g.em_ints[EMITTER_INTS * e + EMITTER_TEXTURES + j]


@ti.func
def plugin_float(g: ti.template(), e: ti.i32, j: ti.template()):
    """Emitter e's float j of those its plugin packed (``EmitterPlugin.pack``)."""
    return g.em_floats[EMITTER_FLOATS * e + EMITTER_PLUGIN + j]


@ti.func
def plugin_vec(g: ti.template(), e: ti.i32, j: ti.template()) -> vec3:
    return vec3(plugin_float(g, e, j), plugin_float(g, e, j + 1), plugin_float(g, e, j + 2))


@ti.func
def plugin_rows(g: ti.template(), e: ti.i32, j: ti.template(), v: vec3) -> vec3:
    """M v for the 3 x 3 matrix M packed by rows from float j (a frame change)."""
    return vec3(plugin_vec(g, e, j).dot(v), plugin_vec(g, e, j + 3).dot(v),
                plugin_vec(g, e, j + 6).dot(v))


def _nothing(*args) -> tuple:
    return ()


@dataclass(frozen=True, eq=False)
class EmitterPlugin:
    name: str
    environment: bool  # reached by escaping rays
    textures: tuple[str, ...]
    defaults: dict  # Mitsuba's default of each texture, a float or RGB; absent: required
    sample: Callable  # ti.func (g, e, x, u_tri, u1, u2) -> LightSample
    eval: Callable  # ti.func (g, e, uv, d, cos_front) -> radiance arriving along d
    pdf: Callable  # ti.func (g, e, d, dist, cos_front) -> solid-angle density
    replay: Callable  # ti.func (g, e, tri, pos, q, x) -> (d, factor = G / q, radiance)
    attached: bool = False  # lives on a shape's triangles (``area``)
    delta: bool = False  # a delta light: never hit by rays, no MIS
    # (SceneBuilder, Props, Emitter) -> names of the properties it read into
    # ``emitter.settings`` (and textures it made itself, ``own_textures``)
    parse: Callable = _nothing
    own_textures: tuple[str, ...] = ()  # textures ``parse`` makes, not read as properties
    pack: Callable = _nothing  # (Emitter) -> floats, at most state.EMITTER_PLUGIN_FLOATS
    write_xml: Callable = _nothing  # (Emitter, directory) -> XML lines of its settings
    names: dict = field(default_factory=dict)  # texture -> Mitsuba's parameter name
    # (Emitter, texels (H, W, 3)) -> its sampling distribution, for emitters with one
    distribution: Callable | None = None
