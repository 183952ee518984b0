"""Figures: signed derivative images with a diverging colour map (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def signed_png(path: str | Path, image: np.ndarray, title: str = "") -> tuple[Path, float]:
    """One coolwarm panel per channel, symmetric about zero, with a colour bar.

    The range is the 99.9th percentile of |value| over all channels, so that a few
    fireflies do not wash out the rest; returns the path and that range.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    finite = np.abs(image[np.isfinite(image)])
    vmax = float(np.percentile(finite, 99.9)) if finite.size else 1.0
    vmax = vmax if vmax > 0 else 1.0
    h, w, _ = image.shape
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2 * h / w + 0.6), constrained_layout=True)
    for c, (ax, name) in enumerate(zip(axes, "RGB", strict=True)):
        im = ax.imshow(image[..., c], cmap="coolwarm", vmin=-vmax, vmax=vmax,
                       interpolation="nearest")
        ax.set_title(f"channel {name}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.9, label="derivative")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path, vmax


def convergence_png(path: str | Path, log: list[dict]) -> Path:
    """Loss and parameter error against iteration, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    its = [r["iteration"] for r in log if "loss" in r]
    loss = [r["loss"] for r in log if "loss" in r]
    err = [(r["iteration"], r["param_error"]) for r in log if "param_error" in r]
    panels = 2 if err else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), constrained_layout=True,
                             squeeze=False)
    ax = axes[0, 0]
    ax.semilogy(its, loss, lw=1.2)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title("loss")
    ax.grid(True, which="both", alpha=0.3)
    if err:
        ax = axes[0, 1]
        x, y = zip(*err, strict=True)
        ax.semilogy(x, np.maximum(y, 1e-12), lw=1.2, color="C3")
        ax.set_xlabel("iteration")
        ax.set_ylabel("squared parameter error")
        ax.set_title("parameter error")
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
