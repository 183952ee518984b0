"""What every optimizer shares: per-parameter state, masking, learning rates, checkpoints.

Optimizers see only names, values and gradients (``dict[str, np.ndarray]``, float64), never
a scene, so they can be tested and reused alone. ``step`` returns new arrays and leaves its
inputs alone; keeping the state inside the optimizer (moments, step counters) and out of the
caller is what makes ``state_dict``/``load_state_dict`` enough for a bit-exact resume.

The update rules follow Mitsuba 3.9's optimizers (``mi.ad.Adam`` and ``mi.ad.SGD`` are
Dr.Jit's ``drjit.opt`` classes since Mitsuba 3.7), in float64.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from invrender.errors import InvrenderError

State = dict[str, "np.ndarray | int"]


class Optimizer:
    """Base class: subclasses provide ``_init_state`` and ``_update``.

    ``mask_updates`` (Mitsuba's option, available to every optimizer): an entry whose
    gradient is exactly zero is read as "not observed this iteration", so its value and its
    moment entries keep their previous values. Counters such as Adam's ``t`` still advance,
    as in Mitsuba.
    """

    kind = "optimizer"

    def __init__(self, lr: float, *, mask_updates: bool = False,
                 lr_per_param: Mapping[str, float] | None = None):
        _check_lr("lr", lr)
        self.lr = float(lr)
        self.mask_updates = bool(mask_updates)
        self.lr_per_param: dict[str, float] = {}
        for name, value in (lr_per_param or {}).items():
            _check_lr(f"lr_per_param[{name!r}]", value)
            self.lr_per_param[name] = float(value)
        self._state: dict[str, State] = {}

    def learning_rate(self, name: str) -> float:
        """The parameter's own learning rate if it has one (it always wins), else the global."""
        return self.lr_per_param.get(name, self.lr)

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray | None],
             lr_scale: float = 1.0) -> dict[str, np.ndarray]:
        """One update of every parameter in ``params``; returns the new values.

        A missing or ``None`` gradient counts as all zeros (what Dr.Jit reports for a
        parameter the loss did not reach). ``lr_scale`` multiplies every learning rate, global
        and per-parameter alike: it is how a schedule acts.
        """
        stray = sorted(set(grads) - set(params))
        if stray:
            raise ValueError(f"gradients for unknown parameters: {', '.join(stray)}")
        new_values: dict[str, np.ndarray] = {}
        for name, value in params.items():
            p = np.array(value, dtype=np.float64)
            g = grads.get(name)
            g = np.zeros_like(p) if g is None else np.asarray(g, dtype=np.float64)
            if g.shape != p.shape:
                raise ValueError(f"{name}: gradient shape {g.shape} != parameter shape {p.shape}")
            state = self._state.get(name)
            if state is None or _shape(state, p.shape) != p.shape:
                # Mitsuba discards a parameter's state when its shape changes.
                state = self._init_state(p)
            lr = self.learning_rate(name) * float(lr_scale)
            new_p, new_state = self._update(p, g, lr, state)
            if self.mask_updates:
                unobserved = g == 0
                new_p = np.where(unobserved, p, new_p)
                new_state = {k: np.where(unobserved, state[k], v) if isinstance(v, np.ndarray)
                             else v for k, v in new_state.items()}
            self._state[name] = new_state
            new_values[name] = new_p
        return new_values

    def reset(self, name: str | None = None) -> None:
        """Forget the state of one parameter (or of all): the next step starts it afresh."""
        if name is None:
            self._state.clear()
        else:
            self._state.pop(name, None)

    def state_dict(self) -> dict:
        """A copy of the state: ``{"type", "params": {name: {field: ndarray | int}}}``.

        Arrays are float64 and counters Python ints, so ``flatten_state`` turns it into an
        ``np.savez`` mapping and ``tolist()`` into JSON, both without losing a bit.
        """
        return {"type": self.kind,
                "params": {name: {k: v.copy() if isinstance(v, np.ndarray) else int(v)
                                  for k, v in state.items()}
                           for name, state in self._state.items()}}

    def load_state_dict(self, state: Mapping) -> None:
        """Restore what ``state_dict`` returned; the hyperparameters come from the constructor."""
        kind = state.get("type")
        if kind != self.kind:
            raise InvrenderError(
                f"optimizer state is for {kind!r}, but the optimizer is {self.kind!r}",
                hint="resume with the same optimizer.type, or start again without --resume")
        restored: dict[str, State] = {}
        for name, fields in state.get("params", {}).items():
            restored[name] = {k: np.array(v, dtype=np.float64) if k in self._array_fields
                              else int(v) for k, v in fields.items()}
        self._state = restored

    # -- provided by subclasses ---------------------------------------------------------

    #: names of the state fields that are arrays shaped like the parameter
    _array_fields: tuple[str, ...] = ()

    def _init_state(self, p: np.ndarray) -> State:
        raise NotImplementedError

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float,
                state: State) -> tuple[np.ndarray, State]:
        raise NotImplementedError


def project(value: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Clamp onto ``[lo, hi]`` (either bound may be ``None``) after a step.

    Projection is the caller's job, as in Mitsuba (``opt[k] = dr.clip(opt[k], lo, hi)``):
    the optimizer's moments keep the unprojected history.
    """
    out = np.array(value, dtype=np.float64)
    if lo is not None or hi is not None:
        np.clip(out, lo, hi, out=out)
    return out


def flatten_state(state: Mapping) -> dict[str, np.ndarray]:
    """``state_dict()`` as a flat name -> array mapping for ``np.savez``."""
    flat = {"type": np.array(state["type"])}
    for name, fields in state["params"].items():
        for field, value in fields.items():
            flat[f"params/{name}/{field}"] = np.asarray(value)
    return flat


def unflatten_state(flat: Mapping[str, np.ndarray]) -> dict:
    """Inverse of ``flatten_state`` (also accepts the ``NpzFile`` that ``np.load`` returns)."""
    params: dict[str, dict] = {}
    for key in flat:
        if not key.startswith("params/"):
            continue
        name, field = key[len("params/"):].rsplit("/", 1)
        value = np.asarray(flat[key])
        params.setdefault(name, {})[field] = int(value) if value.dtype.kind in "iu" else value
    return {"type": str(np.asarray(flat["type"])), "params": params}


def _shape(state: State, default: tuple[int, ...]) -> tuple[int, ...]:
    for value in state.values():
        if isinstance(value, np.ndarray):
            return value.shape
    return default


def _check_lr(what: str, lr: float) -> None:
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) \
            or lr < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {lr!r}")
