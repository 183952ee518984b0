"""Derivatives through specular chains: after a mirror or glass vertex the replay follows the
recomputed reflected or refracted direction to the recorded triangle's plane, so colour,
IOR and geometry derivatives flow through it.

On ``mirror_env.xml`` every camera path is a pure specular chain ending in the sky with no
edge in view: re-rendering with the same random numbers moves each path continuously, so
the finite difference of re-rendered images (which knows nothing of the replay) must equal
the derivative, geometry included. Through glass (``glass_env.xml``) that holds only for
parameters that leave the Fresnel lobe choice alone (a transmittance): trace picks
reflection or refraction with probability R and weight 1, so with fixed random numbers its
image moves with the IOR or the slab's angle only by lobe flips, while the replay
differentiates R / R_recorded (Mitsuba's detached lobe choice). There the test is
statistical: the image-mean derivative against re-rendered differences with independent
seeds. ``mirror_room.xml`` adds a diffuse wall and its direct light behind the mirror;
there only the replayed finite difference is sample-exact for geometry (the replay holds
the vertex after the wall at its barycentrics, trace re-samples its direction: the same
expectation, not the same samples).
"""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.autodiff import DiffRenderer
from invrender.gradients import check_grad
from tests.test_gradients import assert_transposes

DATA = Path(__file__).resolve().parent / "data" / "specular"
RES = 16

CHAINS = [
    ("mirror_env.xml", "gold.specular_reflectance.value"),
    ("mirror_env.xml", "gold.eta.value"),
    ("mirror_env.xml", "gold.k.value"),
    ("mirror_env.xml", "mirror.rotate"),
    ("mirror_env.xml", "sky.data"),
    ("glass_env.xml", "glass.eta"),
    ("glass_env.xml", "glass.specular_transmittance.value"),
    ("glass_env.xml", "slab.rotate"),
    ("glass_env.xml", "slab.vertex_positions"),
]
ROOM = [
    ("mirror_room.xml", "red.reflectance.value"),
    ("mirror_room.xml", "chrome.eta.value"),
    ("mirror_room.xml", "mirror.rotate"),
    ("mirror_room.xml", "mirror.translate"),
    ("mirror_room.xml", "wall.translate"),
]


def load(name):
    return invrender.load_scene(DATA / name, res=RES)


@pytest.mark.parametrize("name", ["mirror_env.xml", "glass_env.xml", "mirror_room.xml"])
def test_replay_reproduces_the_traced_image(name):
    scene = load(name)
    diff = DiffRenderer.of(scene, scene.max_depth)
    diff.trace(seed=4, first=0, count=4, rr_depth=scene.rr_depth)
    traced = diff.traced_image()
    assert traced.max() > 0
    np.testing.assert_allclose(diff.replay_image(4), traced, rtol=1e-4,
                               atol=1e-5 * traced.max())


@pytest.mark.parametrize("name, param", CHAINS + ROOM)
def test_finite_differences_in_double_precision(f64, name, param):
    scene = load(name)
    direction = None  # all ones; vertices move non-rigidly (a rigid shift of the slab
    if param.endswith("vertex_positions"):  # changes nothing seen through it)
        shape = invrender.ParameterMap(scene)[param].shape
        direction = np.random.default_rng(1).normal(size=shape)
    result = check_grad(scene, param, direction, spp=4, seed=5)
    errors = result.errors()
    assert abs(result.finite_difference) > 1e-6, result  # the chain carries a derivative
    assert errors["forward vs FD"] < 1e-6, (result, errors)
    assert errors["reverse vs FD"] < 1e-6, (result, errors)
    if name == "mirror_env.xml" or "reflectance" in param or "transmittance" in param \
            or param == "chrome.eta.value":
        # re-rendered with the same random numbers: the paths move continuously
        assert result.rerender_fd == pytest.approx(result.forward, rel=1e-5), result


@pytest.mark.parametrize("param, direction, eps", [
    ("glass.eta", 1.0, 1e-2),
    ("slab.rotate", [0.0, 1.0, 0.0], 0.5),
])
def test_glass_derivative_equals_rerendered_differences_on_average(param, direction, eps):
    """K = 8 independent estimates each of the image-mean derivative (forward mode) and of
    central differences of re-rendered images (eps small enough that the curvature's bias
    is far below the noise: measured 1e-2 and 0.5 degrees), compared by their standard
    errors: |z| < 4."""
    scene = load("glass_env.xml")
    pmap = invrender.ParameterMap(scene)
    diff = DiffRenderer.of(scene, scene.max_depth)
    v = np.broadcast_to(np.asarray(direction, np.float64), pmap[param].shape)
    field, tangent = diff.field_direction(pmap, param, v)
    value = pmap[param]
    ad, fd = [], []
    for k in range(8):
        ad.append(diff.forward(field, tangent, seed=30 + k, spp=128, rr_depth=5).mean())
        sides = []
        for sign in (1, -1):
            pmap[param] = value + sign * eps * v
            sides.append(invrender.render(scene, spp=128, seed=60 + k))
        pmap[param] = value
        fd.append(float((sides[0] - sides[1]).mean()) / (2 * eps))
    ad, fd = np.array(ad), np.array(fd)
    se = np.sqrt(ad.var(ddof=1) / len(ad) + fd.var(ddof=1) / len(fd))
    assert abs(ad.mean()) > 6 * se  # a derivative the test can see
    assert abs(ad.mean() - fd.mean()) < 4 * se, (ad.mean(), fd.mean(), se)


@pytest.mark.parametrize("name, param", [CHAINS[1], CHAINS[3], CHAINS[5], CHAINS[7],
                                         ROOM[2]])
def test_forward_and_reverse_are_transposes(f64, name, param):
    """In double precision. In float32 forward and reverse came out 1 % apart on glass.eta
    (-0.3099 against -0.3130 at these seeds), not yet explained; float64 agrees to 1e-8."""
    assert_transposes(load(name), param, RES, seed=11)
