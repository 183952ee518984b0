"""Write the true environment map of scenes/env_recovery.xml (deterministic; output committed).

    .venv/bin/python scenes/assets/make_env_recovery.py

env_recovery_sky.exr: 32 x 16 lat-long RGB float32 (ZIP), laid out as the envmap plugin
reads it (invrender/emitters/envmap.py, as Mitsuba 3): column i looks along
u = (i + 1/2) / W, row j along theta = pi j / (H - 1) from the +y zenith (rows 0 and H - 1
sit on the poles), local direction (sin phi sin theta, cos theta, -cos phi sin theta) with
phi = 2 pi u, so u = 0 is -z, the camera's viewing direction in the scene.

Content (values are linear radiance):
  - a sky: blue at the zenith (0.25, 0.45, 1.0) fading to a warm horizon (1.0, 0.9, 0.7),
    with a brighter band towards the sun's side (+-25 % in azimuth);
  - a dim brown ground (0.25, 0.2, 0.15) below the horizon, darker towards the nadir;
  - a sun-like blob: a Gaussian in angle (sigma 10 degrees, about one texel), peak 12 over the
    sky, 40 degrees above the horizon and 80 degrees to the left of the viewing direction,
    outside the camera's view, so the spheres' shadows fall to the right.
"""

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
W, H = 32, 16
SUN_ELEVATION, SUN_AZIMUTH = 40.0, -80.0  # degrees; azimuth from -z towards +x
SUN_SIGMA, SUN_PEAK = 10.0, 12.0


def directions(w: int = W, h: int = H) -> np.ndarray:
    """(H, W, 3) unit directions of the texel centres, in the map's local frame."""
    phi = 2.0 * np.pi * (np.arange(w) + 0.5) / w
    theta = np.pi * np.arange(h) / (h - 1)
    phi, theta = np.meshgrid(phi, theta)
    return np.stack([np.sin(phi) * np.sin(theta), np.cos(theta),
                     -np.cos(phi) * np.sin(theta)], axis=-1)


def sky(w: int = W, h: int = H) -> np.ndarray:
    d = directions(w, h)
    up = d[..., 1:2]
    el, az = np.radians(SUN_ELEVATION), np.radians(SUN_AZIMUTH)
    sun = np.array([np.sin(az) * np.cos(el), np.sin(el), -np.cos(az) * np.cos(el)])
    zenith = np.array([0.25, 0.45, 1.0])
    horizon = np.array([1.0, 0.9, 0.7])
    ground = np.array([0.25, 0.2, 0.15])
    s = np.clip(up, 0.0, 1.0) ** 0.5
    upper = horizon + (zenith - horizon) * s
    lower = ground * (1.0 - 0.6 * np.clip(-up, 0.0, 1.0))
    img = np.where(up >= 0.0, upper, lower)
    # brighter towards the sun's azimuth (the horizontal part of the direction)
    flat = d * np.array([1.0, 0.0, 1.0])
    flat_sun = sun * np.array([1.0, 0.0, 1.0])
    cos_az = (flat @ flat_sun) / np.maximum(np.linalg.norm(flat, axis=-1), 1e-9) \
        / np.linalg.norm(flat_sun)
    img = img * (1.0 + 0.25 * cos_az[..., None])
    angle = np.degrees(np.arccos(np.clip(d @ sun, -1.0, 1.0)))
    img = img + SUN_PEAK * np.array([1.0, 0.95, 0.85]) \
        * np.exp(-0.5 * (angle / SUN_SIGMA) ** 2)[..., None]
    return img.astype(np.float32)


def main() -> None:
    import OpenEXR

    img = np.ascontiguousarray(sky())
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, {"RGB": img}) as f:
        f.write(str(HERE / "env_recovery_sky.exr"))


if __name__ == "__main__":
    main()
