"""Which emitter next-event estimation samples: Mitsuba's choice in proportion to each
emitter's ``sampling_weight`` (uniform by default), from the pmf and inclusive CDF that
``engine`` writes into every emitter's floats."""

import taichi as ti

from invrender.state import EMITTER_FLOATS

PMF, CDF = 1, 2  # where they sit in an emitter's floats


@ti.func
def selection_pmf(g: ti.template(), e: ti.i32):
    return g.em_floats[EMITTER_FLOATS * e + PMF]


@ti.func
def select(g: ti.template(), u) -> ti.i32:
    """The emitter whose CDF interval holds u (a linear scan: scenes have few emitters)."""
    n = g.counts[1]
    e = 0
    while e < n - 1 and g.em_floats[EMITTER_FLOATS * e + CDF] <= u:
        e += 1
    return e


def tables(weights) -> tuple[list[float], list[float]]:
    """(pmf, inclusive cdf) of the weights; the last CDF entry is exactly 1."""
    total = float(sum(weights))
    pmf = [w / total for w in weights]
    cdf, running = [], 0.0
    for p in pmf:
        running += p
        cdf.append(running)
    if cdf:
        cdf[-1] = 1.0
    return pmf, cdf
