"""Write the images that the issue-14 material-preview scenes in this folder use (deterministic).

Run from anywhere with the project's venv (numpy, OpenEXR, PIL):
    .venv/bin/python tests/data/mitsuba/scenes14/make_assets.py
Writes, beside this file:
  sky.exr     64 x 32 lat-long RGB float32 (ZIP): smooth sky gradient (zenith blue ~0.3-0.9,
              horizon warm ~0.9, ground below the horizon dim green-brown ~0.2) plus one sun blob
              (Gaussian, sigma 1.2 pixels, peak ~40 x the sky radiance) at pixel centre (row 10,
              column 26): about 34 degrees above the horizon, in front of the scenes' objects and
              to the right of their cameras (Mitsuba's lat-long: u = 0.5 is +z)
  stripes.png 32 x 32 8-bit sRGB RGB: four horizontal bands (orange, teal, violet, yellow) with a
              left-to-right brightness ramp and a white 4 x 4 square at the top-left corner (shows
              the orientation)
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def sky() -> np.ndarray:
    h, w = 32, 64
    v = (np.arange(h) + 0.5) / h                        # 0 = top row (zenith), 1 = bottom (nadir)
    u = (np.arange(w) + 0.5) / w
    elev = (0.5 - v) * np.pi                             # +pi/2 at the top row
    s = np.clip(np.sin(elev), 0, 1)[:, None, None]
    zenith = np.array([0.3, 0.5, 0.9])
    horizon = np.array([0.9, 0.8, 0.65])
    ground = np.array([0.2, 0.22, 0.15])
    img = np.where(elev[:, None, None] >= 0, horizon + (zenith - horizon) * s ** 0.5, ground)
    img = np.broadcast_to(img, (h, w, 3)).copy()
    img *= (1.0 + 0.2 * np.cos(2 * np.pi * (u - 0.4)))[None, :, None]   # brighter towards the sun
    yy, xx = np.mgrid[0:h, 0:w]
    g = np.exp(-((yy - 10.0) ** 2 + (xx - 26.0) ** 2) / (2 * 1.2 ** 2))
    img += 40.0 * np.array([1.0, 0.93, 0.8]) * g[..., None]
    return img.astype(np.float32)


def stripes() -> np.ndarray:
    n = 32
    bands = np.array([[0.9, 0.45, 0.1], [0.1, 0.6, 0.55], [0.5, 0.2, 0.75], [0.9, 0.8, 0.15]])
    rows = np.arange(n) * 4 // n                         # band index per row, top to bottom
    ramp = 0.35 + 0.65 * (np.arange(n) + 0.5) / n        # per column, left to right
    img = bands[rows][:, None, :] * ramp[None, :, None]
    img[:4, :4] = 1.0
    return np.round(255 * img).astype(np.uint8)         # the values are taken as sRGB-encoded


def main() -> None:
    import OpenEXR
    from PIL import Image

    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                 {"RGB": sky()}).write(os.path.join(HERE, "sky.exr"))
    Image.fromarray(stripes(), "RGB").save(os.path.join(HERE, "stripes.png"))


if __name__ == "__main__":
    main()
