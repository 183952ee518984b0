"""Learning-rate schedules: a factor in (0, 1] that multiplies every learning rate.

``iteration`` counts from 0, so the first step always uses the full rate. The schedule
config is anything with the attributes (or mapping keys) ``type``, ``step_size``,
``gamma`` and ``min_factor``, such as the recipe's ``Schedule`` model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

SCHEDULES = ("constant", "step", "exponential", "cosine")


def lr_factor(schedule: Any, iteration: int, iterations: int) -> float:
    """The factor for 0-based ``iteration`` of a run of ``iterations``.

    - ``constant``: 1.
    - ``step``: ``gamma ** (iteration // step_size)``, a drop every ``step_size`` steps.
    - ``exponential``: ``gamma ** iteration``.
    - ``cosine``: from 1 at iteration 0 towards ``min_factor`` at ``iterations`` (PyTorch's
      ``CosineAnnealingLR`` with ``T_max=iterations``), so the last step still moves.
    """
    kind = _get(schedule, "type", "constant")
    if kind == "constant":
        return 1.0
    if kind == "step":
        step_size = int(_get(schedule, "step_size"))
        if step_size <= 0:
            raise ValueError(f"step schedule needs step_size > 0, got {step_size}")
        return float(_get(schedule, "gamma")) ** (iteration // step_size)
    if kind == "exponential":
        return float(_get(schedule, "gamma")) ** iteration
    if kind == "cosine":
        lo = float(_get(schedule, "min_factor", 0.0))
        frac = min(max(iteration, 0), iterations) / max(iterations, 1)
        return lo + (1.0 - lo) * 0.5 * (1.0 + math.cos(math.pi * frac))
    raise ValueError(f"unknown schedule type {kind!r}; expected one of {', '.join(SCHEDULES)}")


def _get(config: Any, key: str, default: Any = None) -> Any:
    value = config.get(key) if isinstance(config, Mapping) else getattr(config, key, None)
    if value is None:
        if default is None:
            raise ValueError(f"schedule {key!r} is required for this schedule type")
        return default
    return value
