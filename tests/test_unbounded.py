"""Derivatives with max_depth -1 follow every path to its end: no cap on the depth.

A furnace (a closed cube whose walls emit Le = 1 and reflect rho = 0.9) has the closed form
I = Le / (1 - rho) in every pixel, so d I / d rho = Le / (1 - rho)^2 = 100 and
d I / d Le = 1 / (1 - rho) = 10. With Russian roulette surviving 95 % of bounces, paths are
25 vertices long on average and the longest of a pass run to hundreds: a derivative pass
that capped them (the old 16) would miss 0.9^16 = 19 % of d I / d Le. Passes whose paths
do not fit the records are split and traced again, which must not change the result.
"""

import numpy as np
import pytest

import invrender
from invrender.autodiff import DiffRenderer
from tests.conftest import SCENES

RES, SPP, K = 8, 16, 8


def furnace():
    return invrender.load_scene(SCENES / "furnace.xml", res=RES, max_depth=-1, albedo=0.9)


@pytest.mark.parametrize("param, expected", [("wall.reflectance.value", 100.0),
                                             ("enclosure.emitter.radiance.value", 10.0)])
def test_unbounded_derivatives_match_the_closed_form(param, expected):
    scene = furnace()
    runs = np.array([invrender.grad_image(scene, param, spp=SPP, seed=10 + k).mean((0, 1))
                     for k in range(K)])
    mean, se = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(K)
    assert np.all(np.abs(mean - expected) < 4.5 * se), (mean, se)
    assert np.all(se < 0.05 * expected)  # the test can see a 19 % error


def test_long_paths_are_split_into_passes_that_fit():
    scene = furnace()
    diff = DiffRenderer(scene, -1)
    assert diff.trace(3, 0, 1, rr_depth=5) > 40  # far beyond any fixed cap
    pmap = invrender.ParameterMap(scene)
    w = np.random.default_rng(2).uniform(size=(RES, RES, 3))
    diff.backward(5, SPP, w, 5)
    whole = diff.gradient(pmap, "wall.reflectance.value")
    small = DiffRenderer(scene, -1)
    small.record_slots = RES * RES * 48  # passes must shrink, some paths traced again
    assert small.trace(5, 0, SPP, rr_depth=5) is None  # all spp at once do not fit
    small.backward(5, SPP, w, 5)
    np.testing.assert_allclose(small.gradient(pmap, "wall.reflectance.value"), whole,
                               rtol=1e-9)
