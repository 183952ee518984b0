"""Plugins from outside the package, through the registries only (no kernel file edited):
a toy BSDF (diffuse times a second texture, "tint") and a toy environment whose radiance
depends on the direction ("sky"). They render, their parameters are listed and
differentiable, and forward mode, reverse mode and finite differences agree in float64.
"""

import numpy as np
import pytest
import taichi as ti

import invrender
from invrender import structs
from invrender.bsdfs.base import BsdfPlugin
from invrender.bsdfs.registry import BSDFS
from invrender.emitters.base import EmitterPlugin, texture_of
from invrender.emitters.registry import EMITTERS
from invrender.gradients import check_grad
from invrender.shading import bsdf_texture
from invrender.textures.registry import lookup
from invrender.warp import PI, square_to_cosine_hemisphere, square_to_uniform_sphere
from tests.conftest import SCENES

vec2 = ti.math.vec2
vec3 = ti.math.vec3
INV_PI = 1.0 / PI


@ti.func
def tinted_eval(g: ti.template(), sp: ti.template(), wo: vec3) -> vec3:
    value = vec3(0.0)
    if sp.wi.z > 0.0 and wo.z > 0.0:
        value = (lookup(g, bsdf_texture(g, sp, 0), sp.uv) * lookup(g, bsdf_texture(g, sp, 1),
                                                                   sp.uv)) * (INV_PI * wo.z)
    return value


@ti.func
def tinted_pdf(g: ti.template(), sp: ti.template(), wo: vec3):
    result = 0.0
    if sp.wi.z > 0.0 and wo.z > 0.0:
        result = wo.z * INV_PI
    return result


@ti.func
def tinted_sample(g: ti.template(), sp: ti.template(), u0, u1, u2):
    bs = structs.BsdfSample(wo=square_to_cosine_hemisphere(u1, u2), weight=vec3(0.0), pdf=0.0,
                            delta=0, lobe=0, eta=1.0)
    if sp.wi.z > 0.0 and bs.wo.z > 0.0:
        bs.weight = lookup(g, bsdf_texture(g, sp, 0), sp.uv) * lookup(
            g, bsdf_texture(g, sp, 1), sp.uv)
        bs.pdf = bs.wo.z * INV_PI
    return bs


TINTED = BsdfPlugin(name="tinted", textures=("reflectance", "tint"),
                    defaults={"reflectance": 0.5, "tint": 1.0}, eval=tinted_eval,
                    pdf=tinted_pdf, sample=tinted_sample)


@ti.func
def sky_radiance(g: ti.template(), e: ti.i32, d: vec3) -> vec3:
    """Brighter overhead: radiance * (0.25 + 0.75 * (1 + d.y) / 2)."""
    return lookup(g, texture_of(g, e, 0), vec2(0.0)) * (0.625 + 0.375 * d.y)


@ti.func
def sky_sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    d = square_to_uniform_sphere(u1, u2)
    density = 1.0 / (g.counts[1] * 4.0 * PI)
    return structs.LightSample(d=d, dist=1e30, pdf=density, radiance=sky_radiance(g, e, d),
                               tri=-1, pos=d, q=density, delta=0, emitter=e)


@ti.func
def sky_eval(g: ti.template(), e: ti.i32, uv, d: vec3, cos_front) -> vec3:
    return sky_radiance(g, e, d)


@ti.func
def sky_pdf(g: ti.template(), e: ti.i32, d: vec3, dist, cos_front):
    return 1.0 / (g.counts[1] * 4.0 * PI)


@ti.func
def sky_replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    return pos, 1.0 / q, sky_radiance(g, e, pos)


SKY = EmitterPlugin(name="sky", environment=True, textures=("radiance",),
                    defaults={"radiance": 1.0}, sample=sky_sample, eval=sky_eval, pdf=sky_pdf,
                    replay=sky_replay)


@pytest.fixture
def toy_plugins():
    BSDFS.register(TINTED)
    EMITTERS.register(SKY)
    yield
    BSDFS.unregister("tinted")
    EMITTERS.unregister("sky")


def toy_scene(tmp_path, tint="0.9, 0.5, 0.2", sky=True, res=16):
    """The Cornell box with its red wall tinted and, optionally, the sky outside it."""
    text = (SCENES / "cbox.xml").read_text().replace('value="meshes/',
                                                     f'value="{SCENES}/meshes/')
    text = text.replace('<bsdf type="diffuse" id="red">',
                        f'<bsdf type="tinted" id="red"><rgb name="tint" value="{tint}"/>')
    if sky:
        text = text.replace("</scene>", '<emitter type="sky" id="sky">'
                            '<rgb name="radiance" value="0.5, 0.6, 0.7"/></emitter></scene>')
    path = tmp_path / "toy.xml"
    path.write_text(text)
    return invrender.load_scene(path, res=res, max_depth=3)


def test_toy_plugins_load_render_and_list_parameters(tmp_path, toy_plugins):
    scene = toy_scene(tmp_path)
    names = invrender.ParameterMap(scene).keys()
    assert {"red.reflectance.value", "red.tint.value", "sky.radiance.value"} <= set(names)
    image = invrender.render(scene, spp=4, seed=2)
    assert np.isfinite(image).all()
    # a white tint is the plain diffuse BSDF, sample for sample
    white = toy_scene(tmp_path, tint="1, 1, 1", sky=False)
    plain = invrender.load_scene(SCENES / "cbox.xml", res=16, max_depth=3)
    np.testing.assert_allclose(invrender.render(white, spp=4, seed=2),
                               invrender.render(plain, spp=4, seed=2), rtol=1e-6, atol=1e-7)
    # the sky lights the box through its open side
    no_sky = invrender.render(toy_scene(tmp_path, sky=False), spp=4, seed=2)
    assert image.sum() > no_sky.sum()


@pytest.mark.parametrize("param", ["red.tint.value", "red.reflectance.value",
                                   "sky.radiance.value"])
def test_toy_plugin_parameters_match_finite_differences(tmp_path, toy_plugins, f64, param):
    result = check_grad(toy_scene(tmp_path), param, spp=2, seed=5)
    errors = result.errors()
    assert errors["forward vs FD"] < 1e-6, (result, errors)
    assert errors["reverse vs FD"] < 1e-6, (result, errors)
    assert abs(result.finite_difference) > 0
