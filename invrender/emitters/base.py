"""What an emitter plugin provides, as Taichi functions of the emitter's index ``e``.

``sample`` draws a point (or a direction) for next-event estimation from a receiver x;
``eval`` and ``pdf`` are the radiance and the solid-angle density that BSDF sampling meets
when a ray hits the emitter (``environment`` plugins: when a ray escapes); ``replay``
recomputes a recorded sample differentiably in the derivative passes. Densities include
the probability 1 / (number of emitters) of choosing this emitter, as Mitsuba's.
``structs.LightSample`` is what ``sample`` returns.
"""


from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class EmitterPlugin:
    name: str
    environment: bool  # reached by escaping rays, not attached to a shape
    textures: tuple[str, ...]
    defaults: dict  # Mitsuba's default of each texture, a float or RGB; absent: required
    sample: Callable  # ti.func (g, e, x, u_tri, u1, u2) -> LightSample
    eval: Callable  # ti.func (g, e, uv, d, cos_front) -> radiance arriving along d
    pdf: Callable  # ti.func (g, e, d, dist, cos_front) -> solid-angle density
    replay: Callable  # ti.func (g, e, tri, pos, q, x) -> (d, factor = G / q, radiance)
