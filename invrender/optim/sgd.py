"""Stochastic gradient descent with optional momentum, as Mitsuba 3.9's ``mi.ad.SGD``.

::

    v = momentum * v + g          (only when momentum > 0)
    p = p - lr * v                (p - lr * g without momentum)

This is PyTorch's convention, which Dr.Jit's optimizers (Mitsuba >= 3.7) reproduce; the
older Mitsuba SGD stepped with the velocity of the *previous* iteration.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from invrender.optim.base import Optimizer, State


class SGD(Optimizer):
    """Plain or momentum gradient descent; mostly a baseline beside Adam."""

    kind = "sgd"
    _array_fields = ("velocity",)

    def __init__(self, lr: float, momentum: float = 0.0,
                 lr_per_param: Mapping[str, float] | None = None, *,
                 mask_updates: bool = False):
        if not momentum >= 0:
            raise ValueError(f"momentum must be >= 0, got {momentum!r}")
        super().__init__(lr, mask_updates=mask_updates, lr_per_param=lr_per_param)
        self.momentum = float(momentum)

    def _init_state(self, p: np.ndarray) -> State:
        return {"velocity": np.zeros_like(p)} if self.momentum > 0 else {}

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float,
                state: State) -> tuple[np.ndarray, State]:
        if self.momentum == 0:
            return p - lr * g, {}
        velocity = self.momentum * state["velocity"] + g
        return p - lr * velocity, {"velocity": velocity}
