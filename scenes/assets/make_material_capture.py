"""Write the true textures of scenes/material_capture.xml (deterministic; outputs committed).

    .venv/bin/python scenes/assets/make_material_capture.py

capture_roughness.exr: 16 x 8 texels of GGX alpha for the metal sphere, as u (longitude)
bands: 0.04 to 0.45 over the sphere's front half, with a smooth bump in v.
capture_albedo.exr: 16 x 8 texels of diffuse albedo for the plastic sphere: four colour
bands in u (red, green, blue, cream) with a darker stripe near the equator.
Both linear float32 RGB, loaded with ``raw`` so that what is stored is the parameter.
"""

from pathlib import Path

import numpy as np

from invrender.image_io import write_exr

HERE = Path(__file__).parent
W, H = 16, 8


def roughness() -> np.ndarray:
    u = (np.arange(W) + 0.5) / W
    v = (np.arange(H) + 0.5) / H
    band = 0.04 + 0.41 * (0.5 - 0.5 * np.cos(2 * np.pi * u))  # rough at u = 1/2
    bump = 1.0 + 0.3 * np.exp(-((v - 0.5) / 0.2) ** 2)
    alpha = np.clip(band[None, :] * bump[:, None], 0.03, 0.6)
    return np.repeat(alpha[..., None], 3, axis=2)


def albedo() -> np.ndarray:
    colours = np.array([[0.75, 0.15, 0.1], [0.15, 0.6, 0.2], [0.1, 0.25, 0.8],
                        [0.85, 0.8, 0.6]])
    u = np.arange(W) * 4 // W
    image = np.repeat(colours[u][None], H, axis=0)
    image[H // 2 - 1:H // 2 + 1] *= 0.4
    return image


if __name__ == "__main__":
    write_exr(HERE / "capture_roughness.exr", roughness().astype(np.float32))
    write_exr(HERE / "capture_albedo.exr", albedo().astype(np.float32))
