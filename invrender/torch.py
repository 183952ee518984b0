"""``invrender.torch``: the renderer as a differentiable PyTorch operation.

``render(scene, {name: tensor}, spp=..., seed=...)`` returns the image as a tensor whose
backward runs our reverse mode (``gradients.image_backward``), so the renderer can sit
between neural layers, losses and ``torch.optim`` optimizers::

    import invrender.torch as irt

    x = torch.tensor([0.9, 0.9, 0.9], dtype=torch.float64, requires_grad=True)
    image = irt.render(scene, {"red.reflectance.value": x}, spp=1, seed=it)
    torch.nn.functional.mse_loss(image, target).backward()   # x.grad

PyTorch is an optional dependency (``pip install -e '.[torch]'``): ``import invrender``
never imports it, and importing this module without it raises a ``TorchNotInstalled``
(both an ``ImportError`` and an ``InvrenderError``) that says what to install.

Within this package ``import torch`` still means PyTorch: imports are absolute in Python 3,
so this file is only ever ``invrender.torch``.

On the CPU, PyTorch's OpenMP threads share the cores with Taichi's thread pool (and with
other processes). OpenMP threads spin-wait by default; on a busy 2-core machine that made
a 256x256 MSE loss take 15 ms instead of 0.1 ms and the gradient pass after it 25 % slower.
So importing this module before PyTorch sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set
already (it has no effect once PyTorch's OpenMP runtime has started).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

import numpy as np

from invrender.errors import InvrenderError


class TorchNotInstalled(InvrenderError, ImportError):
    """PyTorch is missing: an ImportError (so ``importorskip`` and ``except ImportError``
    work) that is also an InvrenderError (so the CLI prints it as one line)."""


if "torch" not in sys.modules:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    import torch
except ImportError as exc:  # a broken install counts as missing, with its cause chained
    raise TorchNotInstalled("invrender.torch needs PyTorch: pip install -e '.[torch]'") \
        from exc

from invrender.gradients import image_backward  # noqa: E402 - after the torch check
from invrender.params import ParameterMap  # noqa: E402
from invrender.renderer import render as _render_numpy  # noqa: E402
from invrender.scene.description import Scene  # noqa: E402

__all__ = ["RenderFunction", "TorchNotInstalled", "parameters", "render"]

_N_OPTIONS = 3  # non-tensor arguments of RenderFunction.forward before the tensors


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    """A numpy view of a tensor's values: no copy for a CPU tensor (one device-to-host copy
    for a CUDA tensor); the ParameterMap makes its own float64 copy."""
    return t.detach().cpu().numpy()


class RenderFunction(torch.autograd.Function):
    """image = render(scene, params) with backward = (d image / d params)^T grad_image.

    ``apply(scene, names, options, *values)``: ``options`` is (spp, seed, max_depth,
    decorrelate). The forward leaves the values in the scene (the parameter map); the
    backward writes them back first (another render may have changed them), so that the
    Jacobian is taken where the forward was. Parameters that this call did not
    set are used as the scene holds them at backward time.
    """

    @staticmethod
    def forward(ctx, scene: Scene, names: tuple[str, ...], options: tuple, *values):
        spp, seed, max_depth, _ = options
        pmap = ParameterMap(scene)
        for name, value in zip(names, values, strict=True):
            pmap[name] = _to_numpy(value)
        image = _render_numpy(scene, spp=spp, seed=seed, max_depth=max_depth)
        ctx.scene, ctx.names, ctx.options = scene, names, options
        ctx.inputs = [(v.shape, v.dtype, v.device) for v in values]
        ctx.save_for_backward(*values)  # references, no copies; torch checks their versions
        out = torch.from_numpy(image)  # shares the array render returned: no copy
        return out.to(values[0].device) if values else out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_image: torch.Tensor):
        none = (None,) * _N_OPTIONS
        wanted = [n for n, need in zip(ctx.names, ctx.needs_input_grad[_N_OPTIONS:],
                                       strict=True) if need]
        if not wanted:
            return none + (None,) * len(ctx.names)
        scene = ctx.scene
        spp, seed, max_depth, decorrelate = ctx.options
        pmap = ParameterMap(scene)  # the forward's values (unchanged ones upload nothing)
        for name, value in zip(ctx.names, ctx.saved_tensors, strict=True):
            pmap[name] = _to_numpy(value)
        grads = image_backward(scene, wanted, _to_numpy(grad_image), spp=spp, seed=seed,
                               max_depth=max_depth, decorrelate=decorrelate)
        out = []
        for name, (shape, dtype, device) in zip(ctx.names, ctx.inputs, strict=True):
            if name not in grads:
                out.append(None)
                continue
            g = torch.from_numpy(grads[name]).to(device=device, dtype=dtype)
            # a value broadcast to the parameter's shape (a grey (1,) for an RGB) gets
            # the sum over the broadcast entries, as any broadcasting op in torch does
            out.append(g if g.shape == shape else g.sum_to_size(shape))
        return none + tuple(out)


def render(scene: Scene, params: Mapping[str, torch.Tensor], spp: int | None = None,
           seed: int = 0, max_depth: int | None = None,
           decorrelate: bool = True) -> torch.Tensor:
    """Render ``scene`` with ``params`` (Mitsuba names -> tensors) set, differentiably.

    Returns the linear RGB image, (H, W, 3), float32 (float64 when Taichi runs in f64), on
    the device of the parameter tensors. Each tensor is written into the scene (no
    recompilation) and stays there after the call. ``spp`` and ``max_depth`` default to the
    scene's. The backward uses the forward's ``seed``: with ``decorrelate`` (the default)
    the derivative pass draws independent samples (``gradient_seed``), which makes the
    gradient of a nonlinear loss unbiased; ``decorrelate=False`` replays the forward's own
    paths, so the gradient is the exact derivative of this very image (what
    ``torch.autograd.gradcheck`` compares against finite differences).
    """
    if not isinstance(params, Mapping):
        raise InvrenderError("params must map parameter names to tensors",
                             hint='e.g. {"red.reflectance.value": torch.tensor([...])}')
    pmap = ParameterMap(scene)
    names, values = [], []
    for name, value in params.items():
        pmap.parameter(name)  # an unknown name fails with the closest known ones
        if not isinstance(value, torch.Tensor):
            raise InvrenderError(f"parameter '{name}' must be a torch.Tensor, got "
                                 f"{type(value).__name__}", hint="wrap it in torch.tensor")
        names.append(name)
        values.append(value)
    devices = {v.device for v in values}
    if len(devices) > 1:
        raise InvrenderError("parameter tensors are on different devices: "
                             + ", ".join(sorted(map(str, devices))))
    options = (spp, int(seed), max_depth, bool(decorrelate))
    return RenderFunction.apply(scene, tuple(names), options, *values)


def parameters(scene: Scene, names, dtype: torch.dtype = torch.float64,
               device: torch.device | str = "cpu",
               requires_grad: bool = True) -> dict[str, torch.Tensor]:
    """The scene's current values of ``names`` as fresh leaf tensors, ready for an
    optimizer: a convenient start for ``render(scene, params)``."""
    pmap = ParameterMap(scene)
    names = [names] if isinstance(names, str) else list(names)
    return {n: torch.tensor(pmap[n], dtype=dtype, device=device,
                            requires_grad=requires_grad) for n in names}
