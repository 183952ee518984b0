"""What a BSDF plugin provides: texture-valued parameters and three Taichi functions on a
shading point (``shading.ShadingPoint``), all directions in its local frame."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)
class BsdfPlugin:
    name: str
    textures: tuple[str, ...]  # texture-valued parameters, in the order bsdf_texture takes
    defaults: dict = field(default_factory=dict)  # Mitsuba's default of each, a float or RGB
    eval: Callable = None  # ti.func (g, sp, wo) -> vec3: value * |cos theta_o|
    pdf: Callable = None  # ti.func (g, sp, wo) -> solid-angle density of sample's wo
    sample: Callable = None  # ti.func (g, sp, u1, u2) -> (wo, weight = value |cos| / pdf, pdf)
