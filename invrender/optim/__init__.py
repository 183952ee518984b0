"""Gradient-based optimizers over named numpy arrays, and learning-rate schedules.

Numpy only: no Taichi, no scene. The training loop renders, differentiates, then calls
``optimizer.step(params, grads, lr_factor(schedule, it, n))`` and projects the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from invrender.optim.adam import Adam
from invrender.optim.base import Optimizer, flatten_state, project, unflatten_state
from invrender.optim.schedule import SCHEDULES, lr_factor
from invrender.optim.sgd import SGD

__all__ = ["SCHEDULES", "SGD", "Adam", "Optimizer", "flatten_state", "lr_factor",
           "make_optimizer", "project", "unflatten_state"]


def make_optimizer(config: Any, lr_per_param: Mapping[str, float] | None = None) -> Optimizer:
    """Build the optimizer that a recipe's ``optimizer`` section (model or mapping) describes.

    ``lr_per_param`` comes from the recipe's ``params`` (``Recipe.lr_per_param()``), since
    per-parameter rates are written beside each parameter rather than in ``optimizer``.
    """
    def get(key: str, default: Any) -> Any:
        if isinstance(config, Mapping):
            value = config.get(key)
        else:
            value = getattr(config, key, None)
        return default if value is None else value

    kind = get("type", "adam")
    if kind == "adam":
        return Adam(lr=get("lr", 0.05), beta1=get("beta1", 0.9), beta2=get("beta2", 0.999),
                    epsilon=get("epsilon", 1e-8), mask_updates=get("mask_updates", False),
                    lr_per_param=lr_per_param, uniform=get("uniform", False))
    if kind == "sgd":
        return SGD(lr=get("lr", 0.05), momentum=get("momentum", 0.0),
                   lr_per_param=lr_per_param, mask_updates=get("mask_updates", False))
    raise ValueError(f"unknown optimizer type {kind!r}; expected adam or sgd")
