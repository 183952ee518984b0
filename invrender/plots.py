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
    """Loss (in total and, for several views, per view), the parameter error and the mesh
    metrics (Chamfer distance) against iteration, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    its = [r["iteration"] for r in log if "loss" in r]
    loss = [r["loss"] for r in log if "loss" in r]
    err = [(r["iteration"], r["param_error"]) for r in log if "param_error" in r]
    chamfer = [(r["iteration"], r["chamfer"]) for r in log if "chamfer" in r]
    views: dict[str, list[tuple[int, float]]] = {}
    for r in log:
        for name, value in r.get("view_losses", {}).items():
            views.setdefault(name, []).append((r["iteration"], value))
    extra = [(err, "squared parameter error", "parameter error", "C3"),
             (chamfer, "Chamfer distance", "mesh error", "C2")]
    extra = [e for e in extra if e[0]]
    panels = 1 + len(extra)
    fig, axes = plt.subplots(1, panels, figsize=(5.5 * panels, 4), constrained_layout=True,
                             squeeze=False)
    ax = axes[0, 0]
    for name, points in views.items():
        x, y = zip(*points, strict=True)
        ax.semilogy(x, y, lw=0.6, alpha=0.6, label=name if len(views) <= 8 else None)
    ax.semilogy(its, loss, lw=1.4, color="k", label="total" if views else None)
    if views and len(views) <= 8:
        ax.legend(fontsize=7)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title("loss" + (f" ({len(views)} views)" if views else ""))
    ax.grid(True, which="both", alpha=0.3)
    for k, (points, label, title, colour) in enumerate(extra, start=1):
        ax = axes[0, k]
        x, y = zip(*points, strict=True)
        ax.semilogy(x, np.maximum(y, 1e-12), lw=1.2, color=colour)
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
