"""When and how Taichi starts: never at import time, once per process, by policy.

``--arch auto`` picks CUDA when Taichi finds a GPU, else the CPU backend. Scalarized
matrices are on from the start because forward-mode AD needs them, and the offline cache
keeps compiled kernels across runs so that a second run starts fast.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import numpy as np
import taichi as ti

from invrender.errors import InvrenderError

ARCHES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Runtime:
    arch: str  # "cpu" | "cuda"
    precision: str  # "f32" | "f64"
    debug: bool

    @property
    def real(self):
        """The Taichi float type every renderer field uses."""
        return ti.f64 if self.precision == "f64" else ti.f32

    @property
    def np_real(self):
        """The numpy type of those fields, for the arrays that go in and out of them."""
        return np.float64 if self.precision == "f64" else np.float32


_current: Runtime | None = None
_on_init: list = []


def on_init(callback) -> None:
    """Call ``callback(default float type)`` whenever Taichi (re)starts: Taichi types that
    must follow the precision (structs with scalar members) are made anew there."""
    _on_init.append(callback)


def _cuda_available() -> bool:
    """True when a CUDA driver library exists and this Taichi build supports CUDA."""
    import ctypes.util

    if ctypes.util.find_library("cuda") is None:
        return False
    try:
        from taichi._lib import core

        return bool(core.with_cuda())
    except Exception:  # noqa: BLE001 - any failure means "no CUDA"
        return False


def init(arch: str = "auto", precision: str = "f32", debug: bool = False) -> Runtime:
    """Start Taichi (or restart it when the settings change) and return the settings."""
    global _current
    if arch not in ARCHES:
        raise InvrenderError(f"unknown arch '{arch}'", hint="use one of auto, cpu, cuda")
    if precision not in ("f32", "f64"):
        raise InvrenderError(f"unknown precision '{precision}'", hint="use f32 or f64")
    wanted = arch
    if arch == "auto":
        forced_cpu = os.environ.get("INVRENDER_ARCH") == "cpu"
        wanted = "cuda" if _cuda_available() and not forced_cpu else "cpu"
    if _current is not None:
        if (_current.arch, _current.precision, _current.debug) == (wanted, precision, debug):
            return _current
        ti.reset()
    fp = ti.f64 if precision == "f64" else ti.f32
    kwargs = dict(default_fp=fp, default_ip=ti.i32, force_scalarize_matrix=True,
                  offline_cache=True, debug=debug, log_level=ti.WARN,
                  random_seed=0)
    if wanted == "cuda":
        try:
            _quiet_init(ti.cuda, kwargs)
        except Exception as exc:  # noqa: BLE001
            raise InvrenderError(f"could not start the CUDA backend: {exc}",
                                 hint="use --arch cpu") from exc
        if ti.lang.impl.current_cfg().arch != ti.cuda:
            raise InvrenderError("CUDA was asked for but Taichi found no usable GPU",
                                 hint="use --arch cpu or --arch auto")
    else:
        _quiet_init(ti.cpu, kwargs)
    _current = Runtime(wanted, precision, debug)
    for callback in _on_init:
        callback(fp)
    return _current


def _quiet_init(arch, kwargs) -> None:
    """ti.init without its "[Taichi] Starting on arch=..." line on stdout."""
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        ti.init(arch=arch, **kwargs)


@contextlib.contextmanager
def fast_compile():
    """Kernels first launched inside compile without Taichi's advanced optimisations: 2-3x
    less compile time, the same run time (DESIGN §2). Never for a reverse-mode kernel
    (``.grad``): without them Taichi's reverse mode gives silently wrong gradients.
    Starts the default runtime if nothing has started one yet."""
    current()
    cfg = ti.lang.impl.current_cfg()
    before = cfg.advanced_optimization
    cfg.advanced_optimization = False
    try:
        yield
    finally:
        cfg.advanced_optimization = before


def current() -> Runtime:
    """The running settings, starting the default runtime if nothing has started yet."""
    return _current if _current is not None else init()
