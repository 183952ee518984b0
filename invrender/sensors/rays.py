"""Camera rays as numbers on the host: what a sensor's ``sample_ray`` gives for chosen film
points and aperture samples (the tests compare them with Mitsuba's ``sample_ray``)."""

import numpy as np
import taichi as ti

from invrender.sensors.registry import sample_ray


@ti.data_oriented
class SensorRays:
    """A kernel over one ``Program``: rows (fx, fy, u1, u2) -> (o, d, tmin, tmax)."""

    def __init__(self, g):
        self.g = g

    @ti.kernel
    def run(self, sensor: ti.i32, samples: ti.types.ndarray(), out: ti.types.ndarray()):
        for j in range(samples.shape[0]):
            o, d, tmin, tmax = sample_ray(self.g, sensor, samples[j, 0], samples[j, 1],
                                          samples[j, 2], samples[j, 3])
            for c in ti.static(range(3)):
                out[j, c] = o[c]
                out[j, 3 + c] = d[c]
            out[j, 6] = tmin
            out[j, 7] = tmax


def camera_rays(scene, film: np.ndarray, aperture: np.ndarray | None = None,
                sensor: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rays of ``scene``'s sensor through film points (N, 2) in pixels with aperture
    samples (N, 2) in [0, 1)^2 (default 0.5, the lens centre): origins (N, 3), unit
    directions (N, 3), tmin (N,) and tmax (N,)."""
    from invrender import runtime
    from invrender.engine import Engine

    real = runtime.current().np_real
    g = Engine.of(scene).sync(sensor)
    film = np.asarray(film, np.float64).reshape(-1, 2)
    if aperture is None:
        aperture = np.full_like(film, 0.5)
    samples = np.ascontiguousarray(np.concatenate([film, np.asarray(aperture).reshape(-1, 2)],
                                                  1), real)
    out = np.zeros((len(samples), 8), real)
    if len(samples):
        with runtime.fast_compile():
            g.kernels(SensorRays).run(sensor, samples, out)
    return out[:, 0:3], out[:, 3:6], out[:, 6], out[:, 7]
