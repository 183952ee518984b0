"""Derivatives on small scenes: replay = trace, forward = reverse, AD = finite differences.

Every parameter kind: RGB reflectance, a texture, emitter and environment radiance, vertex
positions and the latent translate / rotate / scale (interior term; the scenes here have
no visibility change under the small steps used).
"""

import numpy as np
import pytest
import taichi as ti
from taichi.lang.enums import AutodiffMode

import invrender
from invrender import runtime
from invrender.autodiff import DiffRenderer
from invrender.errors import InvrenderError
from invrender.gradients import NonFiniteGradient, check_finite, check_grad
from tests.conftest import SCENES

RES = 24
CASES = [
    ("cbox.xml", "red.reflectance.value"),
    ("cbox.xml", "light.emitter.radiance.value"),
    ("cbox.xml", "smallbox.vertex_positions"),
    ("cbox.xml", "smallbox.translate"),
    ("cbox.xml", "smallbox.rotate"),
    ("cbox.xml", "largebox.scale"),
    ("cbox_textured.xml", "tiles.reflectance.data"),
    ("env_sphere.xml", "sky.radiance.value"),
    ("env_sphere.xml", "clay.reflectance.value"),
]


def load(name, **kw):
    return invrender.load_scene(SCENES / name, res=RES, **kw)


_shared: dict = {}


def shared(name, **kw):
    """A scene loaded once per runtime for tests that only read it: its kernels compile
    once instead of once per test (tests that change values load their own)."""
    key = (name, tuple(sorted(kw.items())), runtime.current())
    if key not in _shared:
        _shared[key] = load(name, **kw)
    return _shared[key]


@pytest.mark.parametrize("scene_name", ["cbox.xml", "cbox_textured.xml", "env_sphere.xml"])
def test_replay_reproduces_the_traced_image(scene_name):
    """The differentiable replay is the same estimator as the path tracer."""
    scene = shared(scene_name, max_depth=3)
    diff = DiffRenderer.of(scene, 3)
    diff.trace(seed=4, first=0, count=4, rr_depth=scene.rr_depth)
    traced = diff.traced_image()
    replayed = diff.replay_image(4)
    # The replay recomputes each direction from the vertex positions; on smooth meshes a
    # grazing sample's shading-frame cosine then differs in its leading digits from the
    # one trace sampled (env_sphere: 1 of 1728 values, 3.6e-5 relative).
    close = np.isclose(replayed, traced, rtol=2e-5, atol=2e-6 * traced.max())
    assert close.mean() > 0.999, np.argwhere(~close)
    np.testing.assert_allclose(replayed, traced, rtol=1e-3, atol=2e-6 * traced.max())


def assert_transposes(scene, param, res, seed):
    """w . (J v) from forward mode equals (J^T w) . v from reverse mode, same samples, for
    random v and w (``seed``); returns what further checks need."""
    pmap = invrender.ParameterMap(scene)
    diff = DiffRenderer.of(scene, 3)
    rng = np.random.default_rng(seed)
    kind = pmap.parameter(param).kind
    v = rng.normal(size=(3,) if kind in ("translate", "rotate", "scale") else pmap[param].shape)
    w = rng.uniform(0.0, 1.0, (res, res, 3))
    field, tangent = diff.field_direction(pmap, param, v)
    jv = diff.forward(field, tangent, seed=3, spp=2, rr_depth=5)
    diff.backward(3, 2, w, 5)
    jtw = diff.gradient(pmap, param)
    lhs, rhs = float((w * jv).sum()), float((jtw * v).sum())
    assert lhs == pytest.approx(rhs, rel=2e-4, abs=1e-6 * float(np.abs(jv).sum())), (lhs, rhs)
    assert abs(rhs) > 0  # the parameter is seen at all
    return diff, pmap, kind, w, jtw


@pytest.mark.parametrize("scene_name, param", CASES)
def test_forward_and_reverse_are_transposes(scene_name, param):
    """w . (J v) from forward mode equals (J^T w) . v from reverse mode, same samples."""
    diff, pmap, kind, w, jtw = assert_transposes(shared(scene_name, max_depth=3), param, RES,
                                                 seed=7)
    if kind not in ("vertices", "translate", "rotate", "scale"):
        # leaving the geometry's gradients out (render_grad does for colours) changes only
        # float32 rounding (the kernel's arithmetic is compiled differently)
        diff.backward(3, 2, w, 5, (), geometry=False)
        np.testing.assert_allclose(diff.gradient(pmap, param), jtw, rtol=1e-6)


@pytest.mark.parametrize("scene_name, param", CASES)
def test_finite_differences_in_double_precision(f64, scene_name, param):
    """Central differences of the replay on fixed records agree to ~1e-6 relative."""
    scene = load(scene_name, max_depth=3)
    result = check_grad(scene, param, spp=2, seed=5)
    errors = result.errors()
    assert errors["forward vs FD"] < 1e-6, (result, errors)
    assert errors["reverse vs FD"] < 1e-6, (result, errors)
    if pmap_kind(scene, param) in ("rgb", "texture"):
        # no geometry moves: re-rendering with the same seed gives the same paths
        assert result.rerender_fd == pytest.approx(result.finite_difference, rel=1e-6)


def pmap_kind(scene, param):
    return invrender.ParameterMap(scene).parameter(param).kind


def test_a_geometry_derivative_leaves_no_normal_duals_behind():
    """Forward mode on the vertices of smooth meshes gives the shading normals duals (their
    recompute's derivative); a later colour derivative, of this scene or of another one in
    the same fields, must not read them as its own. They were left behind: after
    test_boundary.py's tessellated light, the green wall's derivative image of
    test_gradient_reference.py was off by up to 22 standard errors."""
    scene = shared("cbox.xml", max_depth=3)
    green = dict(param="green.reflectance.value", spp=2, seed=1)
    before = invrender.grad_image(scene, **green)
    invrender.grad_image(scene, "smallbox.rotate", [0, 1, 0], spp=2, seed=1, boundary=False)
    after = invrender.grad_image(scene, **green)
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6 * np.abs(before).max())


def test_unknown_parameter_suggests_close_names():
    scene = load("cbox.xml")
    with pytest.raises(InvrenderError, match="did you mean red.reflectance.value"):
        invrender.grad_image(scene, "red.reflectance.valeu", spp=1)


def test_non_finite_gradient_names_the_parameter():
    with pytest.raises(NonFiniteGradient, match="smallbox.vertex_positions"):
        check_finite({"red.reflectance.value": np.ones(3),
                      "smallbox.vertex_positions": np.array([0.0, np.nan])})


def test_diverged_parameter_gives_a_named_error_not_nan():
    """A radiance that overflows makes the gradients non-finite: an error that
    names the parameters, never NaN handed back."""
    scene = load("cbox.xml", max_depth=2)
    invrender.ParameterMap(scene)["light.emitter.radiance.value"] = [1e300, 1e300, 1e300]
    with pytest.raises(NonFiniteGradient, match="red.reflectance.value"):
        invrender.render_grad(scene, ["red.reflectance.value"], target=np.zeros((RES, RES, 3)),
                              spp=1)


def test_biased_mode_replays_the_primal_samples():
    """decorrelate=False replays the primal's own seed; the default uses gradient_seed."""
    from invrender import losses
    from invrender.autodiff import gradient_seed

    scene = load("cbox.xml", max_depth=3)
    pmap = invrender.ParameterMap(scene)
    target = np.full((RES, RES, 3), 0.1)
    name = ["red.reflectance.value"]
    biased = invrender.render_grad(scene, name, target=target, spp=2, seed=9,
                                   decorrelate=False).grads[name[0]]
    unbiased = invrender.render_grad(scene, name, target=target, spp=2, seed=9).grads[name[0]]
    _, d_image = losses.value_and_grad("mse", invrender.render(scene, spp=2, seed=9), target)
    diff = DiffRenderer.of(scene, 3)
    for seed, expected in ((9, biased), (gradient_seed(9), unbiased)):
        diff.backward(seed, 2, d_image, scene.rr_depth)
        np.testing.assert_array_equal(diff.gradient(pmap, name[0]), expected)
    assert not np.allclose(biased, unbiased)


def test_gradients_accumulate_over_passes(monkeypatch):
    """Splitting spp into record passes gives the same gradient as one pass."""
    from invrender import autodiff

    scene = load("cbox.xml", max_depth=3)
    target = np.zeros((RES, RES, 3))
    one = invrender.render_grad(scene, ["red.reflectance.value"], target=target, spp=6, seed=1)
    monkeypatch.setattr(autodiff, "RECORD_SAMPLES", RES * RES * 4)
    scene2 = load("cbox.xml", max_depth=3)
    assert len(DiffRenderer.of(scene2, 3).passes(6)) == 2
    two = invrender.render_grad(scene2, ["red.reflectance.value"], target=target, spp=6, seed=1)
    np.testing.assert_allclose(two.grads["red.reflectance.value"],
                               one.grads["red.reflectance.value"], rtol=1e-5)


def test_changing_values_does_not_recompile():
    """New parameter values go to existing fields: the kernels are not compiled again."""
    scene = load("cbox.xml", max_depth=3)
    pmap = invrender.ParameterMap(scene)
    target = np.zeros((RES, RES, 3))
    invrender.render_grad(scene, ["red.reflectance.value"], target=target, spp=1)
    diff = DiffRenderer.of(scene, 3)
    kernels = (diff.replay.vertex._adjoint, diff.tracer.kernel.run._primal,
               diff.film.develop._primal)
    before = [len(k.compiled_kernels) for k in kernels]
    assert min(before) >= 1
    for value in ([0.2, 0.3, 0.4], [0.7, 0.1, 0.5]):
        pmap["red.reflectance.value"] = value
        pmap["light.emitter.radiance.value"] = [10, 10, 10]
        pmap["smallbox.translate"] = [0.01, 0, 0]
        invrender.render_grad(scene, ["red.reflectance.value"], target=target, spp=1)
    assert [len(k.compiled_kernels) for k in kernels] == before
    assert DiffRenderer.of(scene, 3).g is diff.g  # the same program: the same kernels


def test_replay_obeys_the_global_data_access_rules(test_arch):
    """Taichi's checker (debug mode, Tape validation) finds no read-after-write in the
    replay's vertex kernels."""
    runtime.init(test_arch, debug=True)
    try:
        scene = load("cbox_textured.xml", max_depth=3)
        diff = DiffRenderer.of(scene, 3)
        vertices = diff.trace(seed=1, first=0, count=1, rr_depth=5)
        n = RES * RES
        loss = ti.field(ti.f32, shape=(), needs_grad=True)
        emitted = diff.g.rec.emitted
        length = diff.g.rec.length

        @ti.kernel
        def weighted_sum(n: ti.i32):
            for j in range(n):
                for k in range(length[j]):
                    loss[None] += emitted[k * n + j].dot(ti.math.vec3(1.0, 1.1, 1.2))

        kernels = (diff.replay.vertex,)
        try:
            with ti.ad.Tape(loss=loss, validation=True):
                for k in range(vertices):
                    diff.replay.vertex(k, n, 3, True)
                weighted_sum(n)
        finally:  # Tape leaves the kernels in validation mode; later tests need them plain
            for kernel in kernels:
                kernel._primal.autodiff_mode = AutodiffMode.NONE
        grad = diff.g.params.grad.to_numpy()
        layout = diff.engine.layout
        red = layout.slot(scene.bsdfs["red"].textures["reflectance"])
        tiles = layout.slot(scene.bsdfs["tiles"].textures["reflectance"])
        assert np.abs(grad[red.start:red.start + red.count]).sum() > 0
        assert np.abs(grad[tiles.start:tiles.start + tiles.count]).sum() > 0
        assert np.abs(diff.g.vtx.grad.to_numpy()).sum() > 0
    finally:
        runtime.init(test_arch)
