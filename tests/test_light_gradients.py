"""Derivatives of the new plugins' parameters: light intensities, an environment map's
texels, a checkerboard's colours, and geometry seen through smooth shading normals and
under delta lights. Forward and reverse mode must be transposes on the same samples, and
both must equal central finite differences of the replay on fixed records in double
precision (the interior derivative; boundary terms are tests/test_boundary.py's)."""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.autodiff import DiffRenderer
from invrender.gradients import check_grad

DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "scenes13"
RES = 24
CASES = [
    ("point_light", "_unnamed_0.intensity.value"),
    ("point_light", "cube.translate"),  # a receiver moving under a point light
    ("spot_light", "_unnamed_0.intensity.value"),
    ("spot_light", "floor.translate"),  # the cone's falloff over a moving receiver
    ("spot_light", "_unnamed_0.cutoff_angle"),
    ("spot_light", "_unnamed_0.beam_width"),
    ("directional", "_unnamed_0.irradiance.value"),
    ("envmap", "environment.data"),
    ("envmap", "environment.scale"),
    ("envmap", "sphere.translate"),
    ("checker_spectrum", "floor.bsdf.reflectance.color1.value"),
    ("smooth_ply", "smooth.vertex_positions"),  # through the recomputed vertex normals
]
TRANSLATIONS = ("translate",)  # kinds whose direction is a 3-vector


def load(name):
    return invrender.load_scene(DATA / f"{name}.xml", res=RES, max_depth=3)


@pytest.mark.parametrize("name, param", CASES)
def test_forward_and_reverse_are_transposes(name, param):
    scene = load(name)
    pmap = invrender.ParameterMap(scene)
    diff = DiffRenderer.of(scene, 3)
    rng = np.random.default_rng(11)
    kind = pmap.parameter(param).kind
    v = rng.normal(size=(3,) if kind in TRANSLATIONS else pmap[param].shape)
    w = rng.uniform(0.0, 1.0, (RES, RES, 3))
    field, tangent = diff.field_direction(pmap, param, v)
    jv = diff.forward(field, tangent, seed=3, spp=2, rr_depth=5)
    diff.backward(3, 2, w, 5)
    jtw = diff.gradient(pmap, param)
    lhs, rhs = float((w * jv).sum()), float((jtw * v).sum())
    assert lhs == pytest.approx(rhs, rel=2e-4, abs=1e-6 * float(np.abs(jv).sum())), (lhs, rhs)
    assert abs(rhs) > 0


@pytest.mark.parametrize("name, param", CASES)
def test_finite_differences_in_double_precision(f64, name, param):
    result = check_grad(load(name), param, spp=2, seed=5)
    errors = result.errors()
    assert errors["forward vs FD"] < 1e-6, (result, errors)
    assert errors["reverse vs FD"] < 1e-6, (result, errors)


def test_smooth_normals_carry_a_derivative_of_their_own(f64):
    """Vertex positions moved non-rigidly: the shading normals are recomputed (as Mitsuba
    does), and the derivative includes theirs. On a mesh whose normals are the recompute's
    (so both sides linearise at the same normals) AD equals finite differences; keeping
    the normals fixed instead changes the finite difference."""
    from invrender.geometry.mesh import vertex_normals

    scene = load("smooth_ply")
    mesh = next(m for m in scene.meshes if m.id == "smooth")
    mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    direction = np.random.default_rng(5).normal(size=mesh.vertices.shape)
    moving = check_grad(scene, "smooth.vertex_positions", direction=direction, spp=2, seed=5)
    assert moving.errors()["forward vs FD"] < 1e-6, moving.errors()
    assert moving.errors()["reverse vs FD"] < 1e-6, moving.errors()
    mesh.normals_for = None  # the given normals stay when the vertices move
    fixed = check_grad(scene, "smooth.vertex_positions", direction=direction, spp=2, seed=5)
    assert abs(fixed.finite_difference - moving.finite_difference) > 1e-2 * abs(
        moving.finite_difference), (fixed.finite_difference, moving.finite_difference)
