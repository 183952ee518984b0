"""Mitsuba's ``dielectric``: a smooth interface between two indices of refraction, two delta
lobes (0: reflection, 1: refraction) chosen with the Fresnel reflectance R (``u0 <= R``).

Parameters: ``int_ior``/``ext_ior`` (numbers or names of Mitsuba's table; bk7 inside, air
outside), whose ratio is the parameter ``<id>.eta`` (non-differentiable in Mitsuba,
differentiable here), and the tints ``specular_reflectance``/``specular_transmittance``
(default 1, textures). Two-sided by nature: wi.z < 0 arrives from inside. A refracted
sample's weight carries Mitsuba's radiance factor eta_ti^2 (the solid angle compresses
across the interface) and its ``eta`` is eta_it, so that a path's product of etas undoes
that factor for Russian roulette."""

import taichi as ti

from invrender import structs
from invrender.bsdfs.base import DELTA, BsdfPlugin, no_eval, no_pdf
from invrender.bsdfs.fresnel import fresnel, reflect, refract
from invrender.bsdfs.ior import lookup_ior
from invrender.shading import bsdf_color, bsdf_texture
from invrender.textures import scalar

vec3 = ti.math.vec3
REFLECTANCE, TRANSMITTANCE, ETA = 0, 1, 2  # texture indices


@ti.func
def eta_of(g: ti.template(), sp: ti.template()):
    """The instance's relative IOR (inside over outside), a differentiable scalar."""
    return scalar.value(g, bsdf_texture(g, sp, ETA))


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    """Lobe 0: the mirror direction, value R x specular_reflectance; lobe 1: the refracted
    one, value (1 - R) x specular_transmittance x eta_ti^2 (0 under total internal
    reflection)."""
    r, cos_t, eta_it, eta_ti = fresnel(sp.wi.z, eta_of(g, sp))
    wo = reflect(sp.wi)
    value = vec3(0.0)
    if lobe == 0:
        value = r * bsdf_color(g, sp, REFLECTANCE)
    else:
        wo = refract(sp.wi, cos_t, eta_ti)
        value = ((1.0 - r) * eta_ti * eta_ti) * bsdf_color(g, sp, TRANSMITTANCE)
    return wo, value


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    r, cos_t, eta_it, eta_ti = fresnel(sp.wi.z, eta_of(g, sp))
    bs = structs.BsdfSample(wo=reflect(sp.wi), weight=vec3(0.0), pdf=r, delta=1, lobe=0,
                            eta=1.0)
    # as Mitsuba (u0 <= R), except that R = 0 (eta 1) never picks the empty lobe
    if u0 <= r and r > 0.0:  # Mitsuba's weight: R / R x the tint
        bs.weight = bsdf_color(g, sp, REFLECTANCE)
    else:
        bs.wo = refract(sp.wi, cos_t, eta_ti)
        bs.pdf = 1.0 - r
        bs.lobe = 1
        bs.eta = eta_it
        bs.weight = (eta_ti * eta_ti) * bsdf_color(g, sp, TRANSMITTANCE)
    return bs


def parse(builder, props, bsdf) -> tuple[str, ...]:
    """eta = int_ior / ext_ior, as a parameter (``<id>.eta``); an ``eta`` of its own is no
    property of Mitsuba's dielectrics."""
    return read_eta(props, bsdf, "bk7")


def read_eta(props, bsdf, inside: str) -> tuple[str, ...]:
    """int_ior / ext_ior (defaults: ``inside``, air) into the texture ``eta``: the parse of
    dielectric, thindielectric and plastic."""
    given = props.named.get("eta")
    if given is not None:
        raise props.error(given, f"{bsdf.type} has no 'eta' property",
                          hint="give int_ior and ext_ior (eta = int_ior / ext_ior)")
    eta = lookup_ior(props, "int_ior", inside) / lookup_ior(props, "ext_ior", "air")
    bsdf.textures["eta"] = scalar.make(eta)
    return ("int_ior", "ext_ior")


def write_xml(bsdf) -> list[str]:
    """The current eta as int_ior over a unit ext_ior (what Mitsuba reads back)."""
    eta = float(bsdf.textures["eta"].value[0])
    return [f'<float name="int_ior" value="{eta!r}"/>', '<float name="ext_ior" value="1.0"/>']


PLUGIN = BsdfPlugin(name="dielectric",
                    textures=("specular_reflectance", "specular_transmittance", "eta"),
                    defaults={"specular_reflectance": 1.0, "specular_transmittance": 1.0},
                    eval=no_eval, pdf=no_pdf, sample=sample, delta=delta, lobes=DELTA,
                    transmits=True, parse=parse, write_xml=write_xml, own_textures=("eta",))
