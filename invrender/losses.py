"""Image losses with their gradient with respect to the image (numpy).

The gradient image is what the replay's reverse pass starts from (``image.grad``).
"""

from __future__ import annotations

import numpy as np

from invrender.errors import InvrenderError

RELATIVE_EPSILON = 1e-2  # keeps relative MSE finite on black target pixels


def mse(image, target):
    d = image - target
    return float(np.mean(d * d)), 2.0 * d / d.size


def l1(image, target):
    d = image - target
    return float(np.mean(np.abs(d))), np.sign(d) / d.size


def relative_mse(image, target):
    d = image - target
    w = 1.0 / (target * target + RELATIVE_EPSILON)
    return float(np.mean(d * d * w)), 2.0 * d * w / d.size


LOSSES = {"mse": mse, "l1": l1, "relative_mse": relative_mse}


def value_and_grad(name: str, image: np.ndarray, target: np.ndarray):
    """(loss, d loss / d image) for a named loss."""
    if name not in LOSSES:
        raise InvrenderError(f"unknown loss '{name}'", hint="use one of " + ", ".join(LOSSES))
    image = np.asarray(image, np.float64)
    target = np.asarray(target, np.float64)
    if image.shape != target.shape:
        raise InvrenderError(f"target image has shape {target.shape} but the render has "
                             f"{image.shape}", hint="render the target at the same resolution")
    return LOSSES[name](image, target)
