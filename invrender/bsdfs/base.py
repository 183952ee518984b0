"""What a BSDF plugin provides: texture-valued parameters and Taichi functions on a shading
point (``shading.ShadingPoint``), all directions in its local frame (z along the shading
normal, ``sp.wi`` towards the previous vertex), as Mitsuba's ``BSDF`` interface:

- ``eval(g, sp, wo) -> vec3``: value x |cos theta_o| of the non-delta lobes;
- ``pdf(g, sp, wo)``: the solid-angle density with which ``sample`` picks wo (its non-delta
  lobes, including the probability of choosing them);
- ``sample(g, sp, u0, u1, u2) -> structs.BsdfSample``: u0 chooses a lobe, (u1, u2) the
  direction. For a non-delta sample, weight = eval / pdf; for a delta lobe, pdf is the
  probability of having chosen it and weight = ``delta(g, sp, lobe)``'s value / pdf;
- ``delta(g, sp, lobe) -> (wo, value)``: a delta lobe's direction and value, recomputed from
  the parameter fields. The replay calls it to follow a mirror or glass bounce: the next
  vertex is then where the recomputed direction meets the recorded triangle's plane.

A plugin without delta lobes leaves ``delta`` as None; one without smooth lobes says so in
``lobes``, and the path tracer then samples no emitter there (as Mitsuba). The host-side
hooks read the plugin's own XML properties and pack what its kernels read besides
textures: ``bsdf_ints[4:8]`` and ``bsdf_floats[0:8]`` of the instance (``read_int``,
``read_float``)."""


from collections.abc import Callable
from dataclasses import dataclass, field

import taichi as ti

from invrender.state import BSDF_FLOATS, BSDF_INTS, BSDF_PLUGIN_INTS

SMOOTH, DELTA = 1, 2  # lobe flags (bsdf_ints[2]): non-delta lobes, delta lobes
BSDF_FLAGS = 2  # where an instance's lobe flags are in its ints
PLUGIN_INTS = 4  # where a plugin's own ints start
TEXTURES_AT = PLUGIN_INTS + BSDF_PLUGIN_INTS  # bsdf_ints[8 + j]: texture j
CHILDREN_AT = PLUGIN_INTS + 2  # a wrapper's children: the rows of its nested BSDFs


@dataclass(frozen=True, eq=False)
class BsdfPlugin:
    name: str
    textures: tuple[str, ...]  # texture-valued parameters, in the order bsdf_texture takes
    defaults: dict = field(default_factory=dict)  # Mitsuba's default of each, a float or RGB
    eval: Callable = None
    pdf: Callable = None
    sample: Callable = None
    delta: Callable | None = None
    lobes: int = SMOOTH  # SMOOTH | DELTA: which kinds of lobes it has
    # light passes through it (twosided cannot hold it); or (Bsdf) -> that, per instance
    transmits: bool | Callable = False
    # float-valued textures among ``textures`` (a roughness, an index of refraction): a
    # ``<float>`` gives one value, named ``<name>.value`` as in Mitsuba
    scalars: tuple[str, ...] = ()
    # textures its parse() derives from other properties (a dielectric's eta from int_ior
    # and ext_ior): its write_xml writes those properties, the writer not the texture
    own_textures: tuple[str, ...] = ()
    # (Bsdf) -> {texture: the name Mitsuba's traverse and XML give it} where the two differ
    # (one roughness texture in both alpha_u and alpha_v is Mitsuba's ``alpha``)
    names: Callable | None = None
    # (SceneBuilder, Props, Bsdf) -> names of the properties it read: settings that are not
    # textures (a microfacet distribution, an IOR by name), kept in ``Bsdf.settings``, and
    # textures it derives (a conductor's eta and k from a material preset)
    parse: Callable | None = None
    ints: Callable | None = None  # (Bsdf) -> list of at most 4 ints
    floats: Callable | None = None  # (Bsdf) -> list of at most 72 floats
    lobe_flags: Callable | None = None  # (Bsdf) -> SMOOTH | DELTA of this instance
    write_xml: Callable | None = None  # (Bsdf) -> XML lines of its settings
    # (Bsdf) -> whether this instance depends on the tangent direction (anisotropic): then
    # shading frames have s along dp/du, as Mitsuba's, instead of any frame around n
    oriented: Callable | None = None
    # it holds other BSDFs (``Bsdf.children``, rows in bsdf_ints[CHILDREN_AT + c], c < 2)
    # and evaluates them through shading.local_* with ``leaves``: wrappers do not nest
    wrapper: bool = False


@ti.func
def no_eval(g: ti.template(), sp: ti.template(), wo: ti.math.vec3) -> ti.math.vec3:
    """``eval`` of a BSDF whose lobes are all delta: nothing at any given direction."""
    return ti.math.vec3(0.0)


@ti.func
def no_pdf(g: ti.template(), sp: ti.template(), wo: ti.math.vec3):
    """``pdf`` of a BSDF whose lobes are all delta."""
    return 0.0


@ti.func
def read_int(g: ti.template(), sp: ti.template(), j: ti.template()) -> ti.i32:
    """The plugin's own int j of the shading point's BSDF instance."""
    return g.bsdf_ints[BSDF_INTS * sp.bsdf + PLUGIN_INTS + j]


@ti.func
def read_float(g: ti.template(), sp: ti.template(), j: ti.template()):
    """The plugin's own float j of the shading point's BSDF instance."""
    return g.bsdf_floats[BSDF_FLOATS * sp.bsdf + j]
