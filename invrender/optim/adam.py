"""Adam with the exact update rule of Mitsuba 3.9 (``mi.ad.Adam`` = ``drjit.opt.Adam``).

Per parameter, with its own step counter ``t`` (starting at 1 on its first step)::

    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
    p = p - lr_t * m / (sqrt(v) + epsilon)        if epsilon > 1e-6
    p = p - lr_t * m / sqrt(v + epsilon**2)       if epsilon <= 1e-6 (Dr.Jit's rsqrt form)

With ``uniform=True`` (Mitsuba's flag: UniformAdam of Nicolet et al. 2021, meant for Large
Steps' differential coordinates) ``v`` in the denominator is replaced by ``max(v)``, the
largest entry of the parameter's current second moment: every entry then moves by the same
multiple of its ``m``, so the update keeps the direction (and the smoothness) of the
momentum. The state is the same as plain Adam's.

Dr.Jit evaluates the moment updates with fused multiply-adds; numpy has none, so values
agree with Mitsuba to rounding, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from invrender.optim.base import Optimizer, State


class Adam(Optimizer):
    """Adam [Kingma and Ba 2015] with Mitsuba's per-parameter counters and masking."""

    kind = "adam"
    _array_fields = ("m", "v")

    def __init__(self, lr: float = 0.05, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, mask_updates: bool = False,
                 lr_per_param: Mapping[str, float] | None = None, uniform: bool = False):
        for what, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{what} must be in [0, 1), got {beta!r}")
        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon!r}")
        super().__init__(lr, mask_updates=mask_updates, lr_per_param=lr_per_param)
        self.beta1 = float(beta1)
        self.beta2 = float(beta2)
        self.epsilon = float(epsilon)
        self.uniform = bool(uniform)

    def _init_state(self, p: np.ndarray) -> State:
        return {"t": 0, "m": np.zeros_like(p), "v": np.zeros_like(p)}

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float,
                state: State) -> tuple[np.ndarray, State]:
        t = int(state["t"]) + 1
        m = self.beta1 * state["m"] + (1.0 - self.beta1) * g
        v = self.beta2 * state["v"] + (1.0 - self.beta2) * np.square(g)
        lr_t = lr * np.sqrt(1.0 - self.beta2 ** t) / (1.0 - self.beta1 ** t)
        # With masking, Mitsuba takes the maximum before masking: the decayed moments of
        # unobserved entries count too. So does base.step, which masks after _update.
        v_norm = np.max(v) if self.uniform and v.size else v
        if self.epsilon <= 1e-6:
            direction = m / np.sqrt(v_norm + self.epsilon ** 2)
        else:
            direction = m / (np.sqrt(v_norm) + self.epsilon)
        return p - lr_t * direction, {"t": t, "m": m, "v": v}
