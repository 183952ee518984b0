"""Mitsuba's ``conductor`` BSDF: a smooth metal, one delta lobe (lobe 0, the mirror
direction) weighted by the conductor Fresnel reflectance times ``specular_reflectance``
(default 1). One-sided, as Mitsuba: black when wi.z <= 0.

The complex index of refraction is a ``material`` preset (Mitsuba's RGB values of its
measured spectra, ``ior_data.CONDUCTORS``; default "none": eta 0, k 1, a perfect mirror) or
``eta`` and ``k`` given as unbounded textures (rgb, float, spectrum or a texture), never
both. Parameters, in the order of Mitsuba's traverse: ``eta``, ``k``,
``specular_reflectance`` (each ``<id>.<name>.value`` or ``.data``). ``read_complex_ior`` is
shared with ``roughconductor``.
"""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import DELTA, BsdfPlugin, no_eval, no_pdf
from invrender.bsdfs.fresnel import fresnel_conductor, reflect
from invrender.bsdfs.ior import conductor_preset
from invrender.scene import spectra
from invrender.scene.description import constant
from invrender.shading import bsdf_color

vec3 = ti.math.vec3
ETA, K, SPECULAR = 0, 1, 2  # texture indices
BOTH = "Should specify either (eta, k) or material, not both."


def read_complex_ior(builder, props, bsdf) -> tuple[str, ...]:
    """Fill ``bsdf.textures["eta"]`` and ``["k"]`` from ``material`` or from the ``eta`` and
    ``k`` properties, as Mitsuba's conductors read them; returns the names it read."""
    named = props.named
    material = named.get("material")
    if material is not None and props.string("material") != "none":
        for name in ("eta", "k"):
            if name in named:
                raise props.error(named[name], BOTH,
                                  hint=f"remove '{name}' or the material preset")
        preset_eta, preset_k = conductor_preset(props)
        bsdf.textures["eta"] = constant(preset_eta)
        bsdf.textures["k"] = constant(preset_k)
    else:
        bsdf.textures["eta"] = unbounded_texture(builder, props, "eta", 0.0)
        bsdf.textures["k"] = unbounded_texture(builder, props, "k", 1.0)
    return ("material", "eta", "k")


def unbounded_texture(builder, props, name: str, default):
    """A texture read as Mitsuba's ``get_unbounded_texture``: a ``<spectrum>`` becomes RGB
    without clipping at 1 (an index of refraction); anything else as ``builder.texture``."""
    element = props.named.get(name)
    if element is None or element.tag != "spectrum" or "type" in element.attrs:
        return builder.texture(props, name, default)
    props.take(name, ("spectrum",))
    if "value" in element.attrs and "filename" not in element.attrs:
        rgb = spectra.spectrum_rgb(element.attrs["value"], False, element, props.path,
                                   unbounded=True)
    elif "filename" in element.attrs and "value" not in element.attrs:
        file_name = element.attrs["filename"]
        path = (props.resolver(file_name, element) if props.resolver is not None
                else props.path.parent / file_name)
        if not path.is_file():
            raise props.error(element, f"names a spectrum file that does not exist: {path}",
                              hint="relative paths start at the XML file's folder")
        wavelengths, values = spectra.read_spd(path)
        rgb = spectra.pairs_rgb(wavelengths, values, False, element, props.path,
                                unbounded=True, where=f"file {path} ")
    else:
        return constant(props.color(name, default))  # reports the malformed element
    return constant(rgb)


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    return read_complex_ior(builder, props, bsdf)


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    """The mirror direction and specular_reflectance x F(cos theta_i)."""
    value = vec3(0.0)
    if sp.wi.z > 0.0:
        value = bsdf_color(g, sp, SPECULAR) * fresnel_conductor(
            sp.wi.z, bsdf_color(g, sp, ETA), bsdf_color(g, sp, K))
    return reflect(sp.wi), value


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    wo, value = delta(g, sp, 0)
    bs = structs.BsdfSample(wo=wo, weight=value, pdf=0.0, delta=0, lobe=0, eta=1.0)
    if sp.wi.z > 0.0:
        bs.pdf = 1.0
        bs.delta = 1
    else:
        bs.wo = vec3(0.0, 0.0, 1.0)
    return bs


PLUGIN = BsdfPlugin(name="conductor", textures=("eta", "k", "specular_reflectance"),
                    defaults={"eta": 0.0, "k": 1.0, "specular_reflectance": 1.0},
                    eval=no_eval, pdf=no_pdf, sample=sample, delta=delta, lobes=DELTA, parse=_parse)
