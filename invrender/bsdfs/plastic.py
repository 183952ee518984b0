"""Mitsuba's ``plastic``: a diffuse base under a smooth dielectric coating, one-sided. Lobe 0
is the coating's mirror reflection (delta, value F(cos theta_i) x specular_reflectance);
the diffuse lobe is light refracted in, scattered by the base with the coating's internal
reflections summed in closed form, and refracted out:

    f cos = rho / (1 - fdr_int) x (1 - F_i)(1 - F_o) / eta^2 x cos theta_o / pi

with fdr_int Mitsuba's fit of the internal diffuse Fresnel reflectance at 1 / eta, and
rho x fdr_int in place of fdr_int when ``nonlinear`` (the base's colour shifts with the
bounces). ``sample`` picks the mirror with probability F_i w / (F_i w + (1 - F_i)(1 - w)),
``u0 < p`` as Mitsuba, where w is the specular sampling weight s / (d + s) of the means of
specular_reflectance and diffuse_reflectance: computed once at upload, a constant of the
instance that only steers sampling (eval's value never reads it).

Parameters: ``diffuse_reflectance`` (default 0.5), ``specular_reflectance`` (default 1),
``int_ior``/``ext_ior`` (numbers or names; polypropylene inside, air outside) into
``<id>.eta`` as Mitsuba's traverse names it (differentiable here: fdr_int and 1 / eta^2 are
computed from it in the kernel), ``nonlinear`` (default false)."""

import numpy as np
import taichi as ti

from invrender import structs
from invrender.bsdfs.base import DELTA, SMOOTH, BsdfPlugin, read_float, read_int
from invrender.bsdfs.dielectric import read_eta
from invrender.bsdfs.fresnel import fresnel, reflect
from invrender.shading import bsdf_color, bsdf_texture
from invrender.textures import scalar
from invrender.warp import square_to_cosine_hemisphere

vec3 = ti.math.vec3
INV_PI = 0.3183098861837907
DIFFUSE, SPECULAR, ETA = 0, 1, 2  # texture indices
NONLINEAR = 0  # int
SPECULAR_WEIGHT = 0  # float
LUMINANCE = np.array([0.212671, 0.715160, 0.072169])


@ti.func
def fresnel_diffuse_reflectance(eta):
    """``fresnel.fresnel_diffuse_reflectance`` in a kernel (differentiable in eta)."""
    inv = 1.0 / eta
    result = 0.0
    if eta < 1.0:
        result = 0.0636 * inv + eta * (eta * -1.4399 + 0.7099) + 0.6681
    else:
        result = (((((-1.36881 * inv + 4.98554) * inv - 7.80989) * inv + 6.75335) * inv
                   - 3.4793) * inv + 0.919317)
    return result


@ti.func
def specular_probability(f_i, w):
    """Mitsuba's choice of the mirror lobe: F_i w / (F_i w + (1 - F_i)(1 - w))."""
    p_s = f_i * w
    p_d = (1.0 - f_i) * (1.0 - w)
    result = 0.0
    if p_s + p_d > 0.0:
        result = p_s / (p_s + p_d)
    return result


@ti.func
def diffuse_value(g: ti.template(), sp: ti.template(), eta, f_i, f_o) -> vec3:
    """The diffuse lobe's value without the cos theta_o / pi of its direction."""
    rho = bsdf_color(g, sp, DIFFUSE)
    fdr_int = fresnel_diffuse_reflectance(1.0 / eta)
    inner = vec3(fdr_int)
    if read_int(g, sp, NONLINEAR):
        inner = rho * fdr_int
    return rho / (1.0 - inner) * ((1.0 - f_i) * (1.0 - f_o) / (eta * eta))


@ti.func
def eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    value = vec3(0.0)
    if sp.wi.z > 0.0 and wo.z > 0.0:
        eta = scalar.value(g, bsdf_texture(g, sp, ETA))
        f_i, _, _, _ = fresnel(sp.wi.z, eta)
        f_o, _, _, _ = fresnel(wo.z, eta)
        value = diffuse_value(g, sp, eta, f_i, f_o) * (wo.z * INV_PI)
    return value


@ti.func
def pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    result = 0.0
    if sp.wi.z > 0.0 and wo.z > 0.0:
        f_i, _, _, _ = fresnel(sp.wi.z, scalar.value(g, bsdf_texture(g, sp, ETA)))
        p_diffuse = 1.0 - specular_probability(f_i, read_float(g, sp, SPECULAR_WEIGHT))
        result = wo.z * INV_PI * p_diffuse
    return result


@ti.func
def delta(g: ti.template(), sp: ti.template(), lobe):
    """The coating's mirror: F_i x specular_reflectance (nothing from behind)."""
    value = vec3(0.0)
    if sp.wi.z > 0.0:
        f_i, _, _, _ = fresnel(sp.wi.z, scalar.value(g, bsdf_texture(g, sp, ETA)))
        value = f_i * bsdf_color(g, sp, SPECULAR)
    return reflect(sp.wi), value


@ti.func
def sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    bs = structs.BsdfSample(wo=reflect(sp.wi), weight=vec3(0.0), pdf=0.0, delta=0, lobe=0,
                            eta=1.0)
    if sp.wi.z > 0.0:
        eta = scalar.value(g, bsdf_texture(g, sp, ETA))
        f_i, _, _, _ = fresnel(sp.wi.z, eta)
        p_specular = specular_probability(f_i, read_float(g, sp, SPECULAR_WEIGHT))
        if u0 < p_specular:
            bs.pdf = p_specular
            bs.delta = 1
            bs.weight = (f_i / p_specular) * bsdf_color(g, sp, SPECULAR)
        else:
            bs.wo = square_to_cosine_hemisphere(u1, u2)
            bs.lobe = 1
            p_diffuse = 1.0 - p_specular
            bs.pdf = p_diffuse * bs.wo.z * INV_PI
            if bs.pdf > 0.0:
                f_o, _, _, _ = fresnel(bs.wo.z, eta)
                bs.weight = diffuse_value(g, sp, eta, f_i, f_o) / p_diffuse
    return bs


def texture_mean(texture) -> float:
    """Mitsuba's ``Texture::mean()``: the mean of an RGB constant's channels (a float's
    value), of a bitmap's texel luminances, of a checkerboard's two colours."""
    if texture.type == "bitmap":
        return float(np.mean(np.asarray(texture.data, np.float64)[..., :3] @ LUMINANCE))
    if texture.type == "checkerboard":
        return float(np.mean(texture.data))
    values = texture.value if texture.value is not None else texture.data
    return float(np.mean(values))


def specular_sampling_weight(bsdf, diffuse: str = "diffuse_reflectance",
                             specular: str = "specular_reflectance") -> float:
    """s / (d + s) of the textures' means, as Mitsuba's ``parameters_changed`` (1/2 if
    both are black, where Mitsuba would divide by zero)."""
    d = texture_mean(bsdf.textures[diffuse])
    s = texture_mean(bsdf.textures[specular])
    return s / (d + s) if d + s > 0.0 else 0.5


def parse(builder, props, bsdf) -> tuple[str, ...]:
    bsdf.settings["nonlinear"] = props.boolean("nonlinear", False)
    return (*read_eta(props, bsdf, "polypropylene"), "nonlinear")


def write_xml(bsdf) -> list[str]:
    eta = float(bsdf.textures["eta"].value[0])
    nonlinear = "true" if bsdf.settings["nonlinear"] else "false"
    return [f'<float name="int_ior" value="{eta!r}"/>', '<float name="ext_ior" value="1.0"/>',
            f'<boolean name="nonlinear" value="{nonlinear}"/>']


PLUGIN = BsdfPlugin(name="plastic",
                    textures=("diffuse_reflectance", "specular_reflectance", "eta"),
                    defaults={"diffuse_reflectance": 0.5, "specular_reflectance": 1.0},
                    eval=eval, pdf=pdf, sample=sample, delta=delta, lobes=SMOOTH | DELTA,
                    parse=parse, ints=lambda b: [int(b.settings["nonlinear"])],
                    floats=lambda b: [specular_sampling_weight(b)], write_xml=write_xml,
                    own_textures=("eta",))
