"""Optimizers and schedules against Mitsuba 3.9's update rules (Dr.Jit's ``drjit.opt``).

Pure numpy: no scene, no Taichi kernels. The PyTorch trajectories are the reference values
of Dr.Jit's own test suite (``tests/test_opt.py``), which Mitsuba's optimizers reproduce.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

from invrender.errors import InvrenderError
from invrender.optim import (
    SGD,
    Adam,
    flatten_state,
    lr_factor,
    make_optimizer,
    project,
    unflatten_state,
)


def mitsuba_adam(p, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Mitsuba 3.9's Adam written out element by element, for one parameter."""
    p = [float(x) for x in p]
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    out = []
    for t, g in enumerate(grads, start=1):
        scale = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        for i, gi in enumerate(g):
            m[i] = beta1 * m[i] + (1 - beta1) * gi
            v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
            denom = math.sqrt(v[i] + eps * eps) if eps <= 1e-6 else math.sqrt(v[i]) + eps
            p[i] -= scale * m[i] / denom
        out.append(list(p))
    return out


def run_quadratic(opt, x0, steps, target=2.0):
    """Minimise (x - target)^2 as Dr.Jit's tests do; return x after each step."""
    x = np.array([x0], dtype=np.float64)
    xs = []
    for _ in range(steps):
        x = opt.step({"x": x}, {"x": 2 * (x - target)})["x"]
        xs.append(float(x[0]))
    return xs


GRADS = [[0.5, -2.0, 1e-3], [0.4, -1.0, -2e-3], [-0.3, 3.0, 0.0], [0.2, -0.5, 5.0]]


@pytest.mark.parametrize("eps", [1e-8, 1e-3])
def test_adam_matches_mitsuba_formula(eps):
    opt = Adam(lr=0.1, epsilon=eps)
    p = np.array([1.0, 2.0, 3.0])
    expected = mitsuba_adam(p, GRADS, lr=0.1, eps=eps)
    for g, want in zip(GRADS, expected, strict=True):
        p = opt.step({"x": p}, {"x": np.array(g)})["x"]
        np.testing.assert_allclose(p, want, rtol=1e-14)
    assert opt.state_dict()["params"]["x"]["t"] == len(GRADS)


def test_adam_reproduces_drjit_reference_trajectory():
    ref = [1.5, 1.9660897254943848, 2.335904598236084, 2.542322874069214, 2.585475206375122,
           2.5110909938812256, 2.36381196975708, 2.179222583770752, 1.9882574081420898,
           1.8196619749069214]
    np.testing.assert_allclose(run_quadratic(Adam(lr=0.5), 1.0, 10), ref, rtol=1e-6)


def test_sgd_reproduces_drjit_reference_trajectories():
    plain = [1.2000000476837158, 1.3600000143051147, 1.4880000352859497, 1.590399980545044,
             1.672320008277893, 1.7378560304641724, 1.7902848720550537, 1.8322279453277588,
             1.865782380104065, 1.8926259279251099]
    momentum = [1.2000000476837158, 1.540000081062317, 1.9380000829696655, 2.3085999488830566,
                2.5804200172424316, 2.7089738845825195, 2.682877540588379, 2.522815465927124,
                2.2741963863372803, 1.9955999851226807]
    np.testing.assert_allclose(run_quadratic(SGD(lr=0.1), 1.0, 10), plain, rtol=1e-6)
    np.testing.assert_allclose(run_quadratic(SGD(lr=0.1, momentum=0.9), 1.0, 10), momentum,
                               rtol=1e-6)


def test_masked_updates_leave_unobserved_entries_and_moments_alone():
    opt = Adam(lr=0.1, mask_updates=True)
    p0 = np.array([1.0, 2.0, 3.0])
    p1 = opt.step({"x": p0}, {"x": np.array([1.0, 1.0, 1.0])})["x"]
    before = opt.state_dict()["params"]["x"]
    p2 = opt.step({"x": p1}, {"x": np.array([0.5, 0.0, 0.0])})["x"]
    after = opt.state_dict()["params"]["x"]
    assert p2[0] != p1[0]
    np.testing.assert_array_equal(p2[1:], p1[1:])
    np.testing.assert_array_equal(after["m"][1:], before["m"][1:])
    np.testing.assert_array_equal(after["v"][1:], before["v"][1:])
    assert after["t"] == 2  # Mitsuba advances the counter even where updates are masked
    # A missing gradient is all zeros: nothing moves, but t still advances.
    p3 = opt.step({"x": p2}, {})["x"]
    np.testing.assert_array_equal(p3, p2)
    assert opt.state_dict()["params"]["x"]["t"] == 3


def test_without_masking_momentum_keeps_moving_unobserved_entries():
    opt = Adam(lr=0.1)
    p1 = opt.step({"x": np.ones(2)}, {"x": np.ones(2)})["x"]
    p2 = opt.step({"x": p1}, {"x": None})["x"]
    assert np.all(p2 < p1)


def test_sgd_masked_momentum():
    opt = SGD(lr=0.1, momentum=0.9, mask_updates=True)
    p1 = opt.step({"x": np.zeros(2)}, {"x": np.ones(2)})["x"]
    p2 = opt.step({"x": p1}, {"x": np.array([1.0, 0.0])})["x"]
    np.testing.assert_allclose(p2, [p1[0] - 0.1 * 1.9, p1[1]])
    np.testing.assert_array_equal(opt.state_dict()["params"]["x"]["velocity"], [1.9, 1.0])


def test_per_parameter_learning_rate_and_scale():
    opt = Adam(lr=0.1, lr_per_param={"b": 0.01})
    zero = {"a": np.zeros(3), "b": np.zeros(3)}
    out = opt.step(zero, {"a": np.ones(3), "b": np.ones(3)}, lr_scale=0.5)
    # Adam's first step moves every entry by lr (times the scale), whatever the gradient.
    np.testing.assert_allclose(out["a"], -0.05, rtol=1e-6)
    np.testing.assert_allclose(out["b"], -0.005, rtol=1e-6)
    sgd = SGD(lr=0.1, lr_per_param={"b": 0.01})
    out = sgd.step(zero, {"a": np.ones(3), "b": np.full(3, 2.0)})
    np.testing.assert_allclose(out["a"], -0.1)
    np.testing.assert_allclose(out["b"], -0.02)


def test_step_does_not_mutate_inputs_and_returns_float64():
    p = np.array([1.0, 2.0], dtype=np.float32)
    g = np.array([1.0, 1.0])
    out = Adam().step({"x": p}, {"x": g})["x"]
    assert out.dtype == np.float64
    np.testing.assert_array_equal(p, [1.0, 2.0])
    np.testing.assert_array_equal(g, [1.0, 1.0])


def test_shape_change_resets_state():
    opt = Adam(lr=0.1)
    opt.step({"x": np.zeros(3)}, {"x": np.ones(3)})
    opt.step({"x": np.zeros(3)}, {"x": np.ones(3)})
    out = opt.step({"x": np.zeros(4)}, {"x": np.ones(4)})["x"]
    state = opt.state_dict()["params"]["x"]
    assert state["t"] == 1 and state["m"].shape == (4,)
    np.testing.assert_allclose(out, -0.1, rtol=1e-6)  # a first step again


def test_bad_gradients_are_programming_errors():
    opt = Adam()
    with pytest.raises(ValueError, match="unknown parameters: y"):
        opt.step({"x": np.zeros(2)}, {"y": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        opt.step({"x": np.zeros(2)}, {"x": np.zeros(3)})
    with pytest.raises(ValueError, match="beta1"):
        Adam(beta1=1.0)
    with pytest.raises(ValueError, match="lr"):
        SGD(lr=-1.0)


@pytest.mark.parametrize("make", [
    lambda: Adam(lr=0.05, mask_updates=True, lr_per_param={"b": 0.2}),
    lambda: SGD(lr=0.01, momentum=0.9),
    lambda: SGD(lr=0.01),
])
@pytest.mark.parametrize("via", ["npz", "json"])
def test_state_dict_round_trip_continues_bit_for_bit(make, via):
    rng = np.random.default_rng(7)
    params0 = {"a": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    grads = [{k: rng.normal(size=v.shape) * (rng.random(v.shape) > 0.3)
              for k, v in params0.items()} for _ in range(10)]

    def run(opt, params, gs):
        for g in gs:
            params = opt.step(params, g, lr_scale=0.9)
        return params

    straight = run(make(), params0, grads)

    first = make()
    middle = run(first, params0, grads[:5])
    state = first.state_dict()
    if via == "npz":
        buf = io.BytesIO()
        np.savez(buf, **flatten_state(state))
        buf.seek(0)
        with np.load(buf) as npz:
            state = unflatten_state(npz)
    else:
        text = json.dumps(state, default=lambda a: a.tolist())
        state = json.loads(text)
    second = make()
    second.load_state_dict(state)
    resumed = run(second, middle, grads[5:])
    for name in params0:
        np.testing.assert_array_equal(resumed[name], straight[name])


def test_loading_another_optimizers_state_is_a_user_error():
    adam = Adam()
    adam.step({"x": np.zeros(1)}, {"x": np.ones(1)})
    with pytest.raises(InvrenderError, match="'adam'.*'sgd'"):
        SGD(lr=0.1).load_state_dict(adam.state_dict())


def test_adam_minimises_a_quadratic():
    target = np.array([[0.2, -1.5, 3.0], [4.0, 0.0, -0.7]])
    weight = np.array([[1.0, 5.0, 0.1], [2.0, 1.0, 50.0]])
    x = np.zeros_like(target)
    opt = Adam(lr=0.05)
    for it in range(1000):
        grad = 2 * weight * (x - target)
        x = opt.step({"x": x}, {"x": grad}, lr_scale=lr_factor({"type": "cosine"}, it, 1000))["x"]
    np.testing.assert_allclose(x, target, atol=1e-3)


def test_project():
    value = np.array([-0.5, 0.5, 1.5])
    np.testing.assert_array_equal(project(value, 0.0, 1.0), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(project(value, None, 1.0), [-0.5, 0.5, 1.0])
    np.testing.assert_array_equal(project(value, None, None), value)
    assert project(value, 0.0, 1.0) is not value and value[0] == -0.5


def test_schedules():
    assert lr_factor({"type": "constant"}, 57, 100) == 1.0
    step = {"type": "step", "step_size": 10, "gamma": 0.5}
    assert [lr_factor(step, it, 100) for it in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    exp = {"type": "exponential", "gamma": 0.9}
    assert lr_factor(exp, 0, 100) == 1.0
    assert lr_factor(exp, 3, 100) == pytest.approx(0.729)
    cos = {"type": "cosine", "min_factor": 0.1}
    assert lr_factor(cos, 0, 100) == 1.0
    assert lr_factor(cos, 50, 100) == pytest.approx(0.55)
    assert lr_factor(cos, 100, 100) == pytest.approx(0.1)
    assert 0.1 < lr_factor(cos, 99, 100) < 0.11
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_factor({"type": "linear"}, 0, 10)


def test_make_optimizer():
    adam = make_optimizer({"type": "adam", "lr": 0.01, "beta1": 0.8, "mask_updates": True},
                          lr_per_param={"x": 0.5})
    assert isinstance(adam, Adam)
    assert (adam.lr, adam.beta1, adam.beta2, adam.mask_updates) == (0.01, 0.8, 0.999, True)
    assert adam.learning_rate("x") == 0.5 and adam.learning_rate("y") == 0.01
    sgd = make_optimizer({"type": "sgd", "lr": 0.1, "momentum": 0.5})
    assert isinstance(sgd, SGD) and sgd.momentum == 0.5


def test_make_optimizer_from_recipe_model():
    from invrender.recipe import OptimizerConfig

    opt = make_optimizer(OptimizerConfig(type="sgd", lr=0.2, momentum=0.9))
    assert isinstance(opt, SGD) and (opt.lr, opt.momentum) == (0.2, 0.9)


def mitsuba_uniform_adam(p, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Mitsuba's UniformAdam (``uniform=True``): as ``mitsuba_adam``, but every entry is
    normalised by the largest entry of the current second moment."""
    p = [float(x) for x in p]
    m = [0.0] * len(p)
    v = [0.0] * len(p)
    out = []
    for t, g in enumerate(grads, start=1):
        scale = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m, g, strict=True)]
        v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v, g, strict=True)]
        vmax = max(v)
        denom = math.sqrt(vmax + eps * eps) if eps <= 1e-6 else math.sqrt(vmax) + eps
        p = [pi - scale * mi / denom for pi, mi in zip(p, m, strict=True)]
        out.append(list(p))
    return out


@pytest.mark.parametrize("eps", [1e-8, 1e-3])
def test_uniform_adam_matches_the_formula(eps):
    opt = Adam(lr=0.1, epsilon=eps, uniform=True)
    p = np.array([1.0, 2.0, 3.0])
    expected = mitsuba_uniform_adam(p, GRADS, lr=0.1, eps=eps)
    for g, want in zip(GRADS, expected, strict=True):
        p = opt.step({"x": p}, {"x": np.array(g)})["x"]
        np.testing.assert_allclose(p, want, rtol=1e-14)
    # Same state as plain Adam: t, m and the per-entry v.
    state = opt.state_dict()["params"]["x"]
    assert set(state) == {"t", "m", "v"} and state["v"].shape == (3,)


def test_uniform_step_is_one_multiple_of_the_momentum():
    rng = np.random.default_rng(3)
    p = {"a": rng.normal(size=(5, 3)), "b": rng.normal(size=4)}
    opt = Adam(lr=0.1, uniform=True)
    # First step: m = (1 - beta1) g and max(v) = (1 - beta2) max(g^2), so p moves by
    # -lr g / max|g|, separately for each parameter.
    g = {k: rng.normal(size=x.shape) for k, x in p.items()}
    new = opt.step(p, g)
    for k in p:
        np.testing.assert_allclose(new[k] - p[k], -0.1 * g[k] / np.max(np.abs(g[k])),
                                   rtol=1e-6)
    # Later steps too: (new - old) / m is the same number for every entry.
    for _ in range(3):
        old, g = new, {k: rng.normal(size=x.shape) for k, x in p.items()}
        new = opt.step(old, g)
        for k in p:
            ratio = (new[k] - old[k]) / opt.state_dict()["params"][k]["m"]
            np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-12)
    # Plain Adam's steps are not.
    plain = Adam(lr=0.1)
    moved = plain.step(p, g)["a"] - p["a"]
    ratio = moved / plain.state_dict()["params"]["a"]["m"]
    assert np.ptp(ratio) > 1e-3


def test_uniform_adam_masks_after_taking_the_maximum():
    """Mitsuba takes max(v) over every entry, unobserved ones (decayed v) included."""
    opt = Adam(lr=0.1, uniform=True, mask_updates=True)
    p1 = opt.step({"x": np.zeros(2)}, {"x": np.array([1.0, 10.0])})["x"]
    p2 = opt.step({"x": p1}, {"x": np.array([1.0, 0.0])})["x"]
    assert p2[1] == p1[1]
    beta1, beta2 = 0.9, 0.999
    m = beta1 * (1 - beta1) * 1.0 + (1 - beta1) * 1.0
    vmax = beta2 * (1 - beta2) * 100.0  # the unobserved entry's decayed moment
    lr_t = 0.1 * math.sqrt(1 - beta2 ** 2) / (1 - beta1 ** 2)
    assert p2[0] == pytest.approx(p1[0] - lr_t * m / math.sqrt(vmax + 1e-16), rel=1e-12)


def test_uniform_adam_state_round_trip():
    rng = np.random.default_rng(5)
    grads = [{"x": rng.normal(size=6)} for _ in range(6)]
    straight, x = Adam(lr=0.05, uniform=True), np.zeros(6)
    for g in grads:
        x = straight.step({"x": x}, g)["x"]
    first, y = Adam(lr=0.05, uniform=True), np.zeros(6)
    for g in grads[:3]:
        y = first.step({"x": y}, g)["x"]
    second = Adam(lr=0.05, uniform=True)
    second.load_state_dict(unflatten_state(flatten_state(first.state_dict())))
    for g in grads[3:]:
        y = second.step({"x": y}, g)["x"]
    np.testing.assert_array_equal(y, x)
