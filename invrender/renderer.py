"""``invrender.render``: the forward renderer as a Python function.

Large sample counts render in passes; each pass is one path-kernel launch over all pixels
and one film kernel that splats it, so memory is flat in spp and a progress bar can follow
the passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from invrender import runtime
from invrender.engine import Engine
from invrender.film import Film
from invrender.integrators.path import Tracer
from invrender.scene.description import Scene

SAMPLES_PER_PASS = 1 << 20  # about one million paths per kernel launch (= the capacity)


@dataclass
class RenderStats:
    """Timings of the last render: the first pass includes compilation."""

    seconds: float = 0.0
    compile_seconds: float = 0.0
    samples: int = 0

    @property
    def samples_per_second(self) -> float:
        steady = self.seconds - self.compile_seconds
        return self.samples / steady if steady > 0 else float("nan")


def split(spp: int, per_pass: int) -> list[tuple[int, int]]:
    """(first sample, count) pairs covering spp samples per pixel, per_pass at a time."""
    return [(s, min(per_pass, spp - s)) for s in range(0, spp, per_pass)]


def passes(width: int, height: int, spp: int,
           samples: int | None = None) -> list[tuple[int, int, int, int]]:
    """(first sample, count, first row, rows) covering the image, at most ``samples``
    (default SAMPLES_PER_PASS) samples each: whole images of several samples per pixel,
    or bands of rows."""
    samples = SAMPLES_PER_PASS if samples is None else samples
    per_image = width * height
    if per_image <= samples:
        return [(s, c, 0, height) for s, c in split(spp, samples // per_image)]
    rows = max(1, samples // width)
    return [(s, 1, r, min(rows, height - r)) for s in range(spp) for r in range(0, height,
                                                                                  rows)]


def render(scene: Scene, spp: int | None = None, seed: int = 0, max_depth: int | None = None,
           sensor: int = 0, progress: Callable[[int, int], None] | None = None,
           stats: RenderStats | None = None) -> np.ndarray:
    """Render ``scene`` through sensor ``sensor`` and return linear RGB radiance, shape
    (H, W, 3), float32 (float64 when the runtime precision is f64).

    ``spp`` and ``max_depth`` default to the sensor's and the scene's; ``seed`` picks
    independent noise. ``progress(done, total)`` is called after each pass.
    """
    desc = scene.sensor(sensor)
    spp = desc.spp if spp is None else int(spp)
    depth = scene.max_depth if max_depth is None else int(max_depth)
    if spp < 1:
        raise ValueError("spp must be at least 1")
    start = time.perf_counter()
    with runtime.fast_compile():
        return _render(scene, spp, seed, depth, sensor, progress, stats, start)


def _render(scene, spp, seed, depth, sensor, progress, stats, start) -> np.ndarray:
    desc = scene.sensor(sensor)
    g = Engine.of(scene).sync(sensor)
    tracer, film = Tracer(g), g.kernels(Film)
    width, height = desc.width, desc.height
    g.state.clear_film(width * height)
    compile_seconds = 0.0
    if not g.compiled_render:  # launches with no samples compile and do nothing else
        tracer.grid(sensor, width, seed, 0, 1, 0, 0, 1, 1)
        film.develop(sensor, width, height, seed & 0xFFFFFFFF, 0, 1, 0, 0)
        runtime_sync()
        g.compiled_render = True
        compile_seconds = time.perf_counter() - start
    todo = passes(width, height, spp, min(SAMPLES_PER_PASS, g.state.capacity.samples))
    for k, (first, count, row0, rows) in enumerate(todo):
        tracer.grid(sensor, width, seed, first, count, row0, rows, depth, scene.rr_depth)
        film.develop(sensor, width, height, seed & 0xFFFFFFFF, first, count, row0, rows)
        if progress is not None:
            progress(k + 1, len(todo))
    image = developed(g, width, height)
    if stats is not None:
        stats.seconds = time.perf_counter() - start
        stats.compile_seconds = compile_seconds
        stats.samples = spp * width * height
    return image


def developed(g, width: int, height: int) -> np.ndarray:
    """The film's sums over its weights (0 where a pixel received no weight)."""
    real = runtime.current().np_real
    total = np.zeros((height, width, 3), real)
    weight = np.zeros((height, width, 1), real)
    g.state.read_film(total.reshape(-1), weight.reshape(-1))
    return total / np.where(weight == 0, 1, weight)


def runtime_sync() -> None:
    import taichi as ti

    ti.sync()
