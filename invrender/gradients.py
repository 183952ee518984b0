"""``render_grad``, ``grad_image`` and ``check_grad``: derivatives as Python functions.

Reverse mode (``render_grad``) is unbiased by default: the primal image that sets
d loss / d image and the replayed derivative pass use different random numbers
(Mitsuba's ``seed_grad``), so the expected gradient of a nonlinear loss is right. It costs
one extra primal render per gradient. ``decorrelate=False`` reuses the primal's samples
(biased for nonlinear losses: the bias is the derivative of the pixel variance / spp).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from invrender import losses
from invrender.autodiff import DiffRenderer, gradient_seed, moving_meshes
from invrender.errors import InvrenderError
from invrender.image_io import read_image
from invrender.params import GEOMETRY_KINDS, ParameterMap
from invrender.renderer import render
from invrender.scene.description import Scene


class NonFiniteGradient(InvrenderError):
    """A gradient holds NaN or Inf: reported, never passed on."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__("non-finite gradient (NaN or Inf) for " + ", ".join(names),
                         hint="lower the learning rate, clamp the parameter to a valid "
                              "range, or check the scene for degenerate geometry")


@dataclass
class GradResult:
    loss: float
    image: np.ndarray
    grads: dict[str, np.ndarray] = field(default_factory=dict)


def _resolve(scene: Scene, spp, max_depth, sensor: int = 0):
    return (scene.sensor(sensor).spp if spp is None else int(spp),
            scene.max_depth if max_depth is None else int(max_depth))


def _target_image(target) -> np.ndarray:
    if target is None:
        raise InvrenderError("render_grad needs a target image", hint="pass target=...")
    if isinstance(target, (str, Path)):
        return read_image(target)
    return np.asarray(target, np.float64)


def check_finite(grads: dict[str, np.ndarray]) -> None:
    bad = [n for n, g in grads.items() if not np.all(np.isfinite(g))]
    if bad:
        raise NonFiniteGradient(bad)


def render_grad(scene: Scene, params, loss: str = "mse", target=None, spp: int | None = None,
                seed: int = 0, max_depth: int | None = None, decorrelate: bool = True,
                boundary: bool | str = True, sensor: int = 0) -> GradResult:
    """Loss, image and d loss / d parameter for each name in ``params`` (reverse mode),
    for the image of sensor ``sensor``."""
    names = [params] if isinstance(params, str) else list(params)
    pmap = ParameterMap(scene)
    for n in names:
        pmap.parameter(n)  # unknown names fail before any rendering
    spp, max_depth = _resolve(scene, spp, max_depth, sensor)
    image = render(scene, spp=spp, seed=seed, max_depth=max_depth, sensor=sensor)
    value, d_image = losses.value_and_grad(loss, image, _target_image(target))
    grads = image_backward(scene, names, d_image, spp=spp, seed=seed, max_depth=max_depth,
                           decorrelate=decorrelate, boundary=boundary, sensor=sensor)
    return GradResult(value, image, grads)


def image_backward(scene: Scene, params, d_image: np.ndarray, spp: int | None = None,
                   seed: int = 0, max_depth: int | None = None, decorrelate: bool = True,
                   boundary: bool | str = True, sensor: int = 0) -> dict[str, np.ndarray]:
    """(d image / d parameter)^T d_image for each name: the vector-Jacobian product that
    ``render_grad`` and framework wrappers (``invrender.torch``) build on. ``seed`` is the
    primal's; with ``decorrelate`` the replay uses ``gradient_seed(seed)``. ``boundary``
    adds the visibility terms of geometry parameters (silhouettes and shadow edges;
    ``"primary"``: the camera's silhouettes only)."""
    names = [params] if isinstance(params, str) else list(params)
    pmap = ParameterMap(scene)
    for n in names:
        pmap.parameter(n)
    spp, max_depth = _resolve(scene, spp, max_depth, sensor)
    d_image = np.asarray(d_image, np.float64)
    desc = scene.sensor(sensor)
    expected = (desc.height, desc.width, 3)
    if d_image.shape != expected:
        raise InvrenderError(f"image gradient has shape {d_image.shape}, expected {expected}")
    diff = DiffRenderer(scene, max_depth, sensor)
    diff.shadows = boundary != "primary"
    geometry = any(pmap.parameter(n).kind in GEOMETRY_KINDS for n in names)
    diff.backward(gradient_seed(seed) if decorrelate else seed, spp, d_image, scene.rr_depth,
                  moving_meshes(scene, pmap, names) if boundary else (), geometry)
    grads = {n: diff.gradient(pmap, n) for n in names}
    check_finite(grads)
    return grads


def grad_image(scene: Scene, param: str, direction=None, spp: int | None = None,
               seed: int = 0, max_depth: int | None = None,
               boundary: bool = True, sensor: int = 0) -> np.ndarray:
    """Forward mode: d image / d t at t = 0 of image(param + t * direction), (H, W, 3),
    for sensor ``sensor``. ``boundary`` adds the visibility terms of a geometry parameter."""
    spp, max_depth = _resolve(scene, spp, max_depth, sensor)
    pmap = ParameterMap(scene)
    diff = DiffRenderer(scene, max_depth, sensor)
    field_, tangent = diff.field_direction(pmap, param, direction)
    moving = moving_meshes(scene, pmap, [param]) if boundary else ()
    result = diff.forward(field_, tangent, gradient_seed(seed), spp, scene.rr_depth, moving)
    check_finite({param: result})
    return result


@dataclass
class CheckResult:
    """w . (J v) from forward mode and (J^T w) . v from reverse mode, interior term only
    and (for geometry) with the visibility boundary term; central finite differences of
    w . I replayed on the same records (the interior term's exact counterpart) and
    ``rerender_fd``, re-rendered at each side with the same seed, which also sees the
    visibility changes (a statistical estimate, not an exact one)."""

    param: str
    forward: float
    reverse: float
    finite_difference: float
    rerender_fd: float
    eps: float
    forward_total: float = 0.0
    reverse_total: float = 0.0

    def errors(self) -> dict[str, float]:
        """The relative errors that must be at rounding level (the exit criterion)."""
        scale = max(abs(self.finite_difference), 1e-30)
        return {"forward vs FD": abs(self.forward - self.finite_difference) / scale,
                "reverse vs FD": abs(self.reverse - self.finite_difference) / scale,
                "forward vs reverse": abs(self.forward - self.reverse)
                / max(abs(self.reverse), 1e-30),
                "forward vs reverse, with boundary": abs(self.forward_total - self.reverse_total)
                / max(abs(self.reverse_total), 1e-30)}


def check_grad(scene: Scene, param: str, direction=None, spp: int = 4, seed: int = 0,
               max_depth: int | None = None, eps: float | None = None,
               sensor: int = 0) -> CheckResult:
    """Compare forward mode, reverse mode and finite differences under the same samples."""
    from invrender import runtime

    spp, max_depth = _resolve(scene, spp, max_depth, sensor)
    pmap = ParameterMap(scene)
    diff = DiffRenderer(scene, max_depth, sensor)
    if len(diff.passes(spp)) != 1:
        raise InvrenderError(f"check-grad needs all samples in one pass (at most "
                             f"{diff.spp_per_pass} spp at this resolution)",
                             hint="lower --spp or --res")
    p = pmap.parameter(param)
    value = pmap[param]
    v = np.ones(p.direction_shape) if direction is None else np.broadcast_to(
        np.asarray(direction, np.float64), p.direction_shape)
    h, w_ = diff.height, diff.width
    weights = np.random.default_rng(12345).uniform(0.5, 1.5, (h, w_, 3))
    if eps is None:
        eps = 1e-6 if runtime.current().precision == "f64" else 1e-3
    eps = eps * max(1.0, float(np.abs(value).max()))

    field_, tangent = diff.field_direction(pmap, param, v)
    moving = moving_meshes(scene, pmap, [param])

    def both_modes(meshes):
        fwd = diff.forward(field_, tangent, seed, spp, scene.rr_depth, meshes)
        diff.backward(seed, spp, weights, scene.rr_depth, meshes)
        return float((weights * fwd).sum()), float((diff.gradient(pmap, param) * v).sum())

    forward, reverse = both_modes(())
    forward_total, reverse_total = both_modes(moving) if moving else (forward, reverse)

    def replayed(delta):
        pmap[param] = value + delta * v
        return float((weights * diff.replay_image(spp)).sum())

    def rerendered(delta):
        pmap[param] = value + delta * v
        return float((weights * render(scene, spp=spp, seed=seed, max_depth=max_depth,
                                       sensor=sensor)).sum())

    try:
        if diff.trace(seed, 0, spp, rr_depth=scene.rr_depth) is None:  # what FD replays
            raise InvrenderError("check-grad's paths do not fit one pass of records",
                                 hint="lower --spp or --res, or bound max_depth")
        fd = (replayed(eps) - replayed(-eps)) / (2 * eps)
        rerender = (rerendered(eps) - rerendered(-eps)) / (2 * eps)
    finally:
        pmap[param] = value
    return CheckResult(param, forward, reverse, fd, rerender, eps, forward_total, reverse_total)
