"""Regenerate the small assets the bundled scenes use (run once; outputs are committed).

python scenes/make_assets.py
"""

from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

HERE = Path(__file__).parent / "assets"


def checkerboard(n: int = 64, squares: int = 8) -> np.ndarray:
    """An 8-bit sRGB checkerboard with a coloured corner, so orientation is visible."""
    y, x = np.mgrid[0:n, 0:n] * squares // n
    img = np.where(((x + y) % 2)[..., None] == 0, [230, 230, 230], [40, 60, 140]).astype(np.uint8)
    img[: n // squares, : n // squares] = [200, 40, 40]  # top-left square red
    return img


def main() -> None:
    HERE.mkdir(exist_ok=True)
    Image.fromarray(checkerboard(), "RGB").save(HERE / "checker.png")
    ico = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    ico.export(HERE / "icosphere.ply", encoding="ascii")
    # A unit box as a binary PLY, so both PLY encodings are exercised.
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    box.export(HERE / "box.ply", encoding="binary")


if __name__ == "__main__":
    main()
