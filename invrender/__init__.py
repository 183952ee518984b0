"""invrender: a differentiable Monte Carlo path tracer on Taichi for Mitsuba 3 scenes.

Importing the package does not start Taichi; the first render does (see ``runtime``).
"""

import os

# Taichi prints a version banner on import; a command's output should be its own.
os.environ.setdefault("ENABLE_TAICHI_HEADER_PRINT", "False")

from invrender.gradients import GradResult, check_grad, grad_image, render_grad
from invrender.optimize import optimize
from invrender.params import ParameterMap
from invrender.renderer import render
from invrender.runtime import init
from invrender.scene.loader import load_scene

__all__ = ["GradResult", "LargeSteps", "ParameterMap", "check_grad", "grad_image", "init",
           "load_scene", "mesh_metrics", "optimize", "remesh", "render", "render_grad"]

_MESH_TOOLS = {"LargeSteps": "invrender.geometry.largesteps",
               "remesh": "invrender.geometry.remesh",
               "mesh_metrics": "invrender.geometry.metrics"}


def __getattr__(name: str):
    """The mesh tools load scipy, cholespy and gpytoolbox: only when first used."""
    if name in _MESH_TOOLS:
        import importlib

        return getattr(importlib.import_module(_MESH_TOOLS[name]), name)
    raise AttributeError(f"module 'invrender' has no attribute {name!r}")
__version__ = "0.1.0"
