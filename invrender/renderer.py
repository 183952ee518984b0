"""``invrender.render``: the forward renderer as a Python function.

Large sample counts render in passes; each pass is one kernel launch over all pixels, so
memory is flat in spp and a progress bar can follow the passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from invrender import runtime
from invrender.integrators.path import PathIntegrator, depth_argument
from invrender.scene.description import Scene

SAMPLES_PER_PASS = 1 << 20  # about one million paths per kernel launch


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


def prepare(scene: Scene):
    """The Taichi fields and integrator of ``scene``, built once and kept on the scene."""
    from invrender.scene.fields import SceneFields

    rt = runtime.current()
    cached = scene.__dict__.get("_taichi")
    if cached is None or cached[0] is not rt:
        fields = SceneFields(scene)
        cached = (rt, fields, PathIntegrator(fields))
        scene.__dict__["_taichi"] = cached
    fields = cached[1]
    if fields.version != scene.__dict__.get("_version", 0):
        fields.upload_values()
    return fields, cached[2]


def split(spp: int, per_pass: int) -> list[tuple[int, int]]:
    """(first sample, count) pairs covering spp samples per pixel, per_pass at a time."""
    return [(s, min(per_pass, spp - s)) for s in range(0, spp, per_pass)]


def passes(width: int, height: int, spp: int) -> list[tuple[int, int]]:
    """Split spp into passes of about SAMPLES_PER_PASS paths."""
    return split(spp, max(1, SAMPLES_PER_PASS // (width * height)))


def render(scene: Scene, spp: int | None = None, seed: int = 0, max_depth: int | None = None,
           progress: Callable[[int, int], None] | None = None,
           stats: RenderStats | None = None) -> np.ndarray:
    """Render ``scene`` and return linear RGB radiance, shape (H, W, 3), float32 (float64
    when the runtime precision is f64).

    ``spp`` and ``max_depth`` default to the scene's; ``seed`` picks independent noise.
    ``progress(done, total)`` is called after each pass.
    """
    spp = scene.spp if spp is None else int(spp)
    depth = scene.max_depth if max_depth is None else int(max_depth)
    if spp < 1:
        raise ValueError("spp must be at least 1")
    fields, integrator = prepare(scene)
    integrator.sum.fill(0.0)
    start = time.perf_counter()
    compile_seconds = 0.0
    if not integrator.compiled:  # a launch with no samples compiles and does nothing else
        integrator.render_pass(0, 0, 0, 1, 1)
        runtime_sync()
        integrator.compiled = True
        compile_seconds = time.perf_counter() - start
    for first, count in passes(fields.width, fields.height, spp):
        integrator.render_pass(seed & 0xFFFFFFFF, first, count, depth_argument(depth),
                               scene.rr_depth)
        if progress is not None:
            progress(first + count, spp)
    runtime_sync()
    image = integrator.sum.to_numpy() / spp  # float32, or float64 in f64 precision
    if stats is not None:
        stats.seconds = time.perf_counter() - start
        stats.compile_seconds = compile_seconds
        stats.samples = spp * fields.width * fields.height
    return image


def runtime_sync() -> None:
    import taichi as ti

    ti.sync()
