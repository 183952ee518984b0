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
