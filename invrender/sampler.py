"""Counter-based random numbers: a hash of (seed, pixel, sample, dimension).

Every number can be recomputed from its key, so a replay pass sees the same samples as the
pass that traced them, independent of thread scheduling and backend (DESIGN §2).
"""

import taichi as ti

# Dimensions used per path vertex; a path vertex k uses dims [BASE + k*STRIDE, ...).
DIM_FILM = 0  # 2 dims: position inside the pixel
DIM_BOUNCE_BASE = 2
DIM_STRIDE = 8  # emitter choice, emitter 2D, bsdf 2D, russian roulette, triangle, lobe
OFF_EMITTER_SELECT = 0
OFF_EMITTER_2D = 1
OFF_BSDF_2D = 3
OFF_RR = 5
OFF_TRIANGLE = 6
OFF_BSDF_LOBE = 7  # the BSDF's lobe choice
# The camera's own dimensions, far above any path vertex's (vertices k < 65533 stay below):
DIM_APERTURE = 0x7FFF0  # 2 dims: the point on a thin lens's aperture (sensors/thinlens.py)


@ti.func
def pcg(v: ti.u32) -> ti.u32:
    """PCG-RXS-M-XS hash (Jarzynski & Olano 2020): one u32 in, one well-mixed u32 out."""
    state = v * ti.u32(747796405) + ti.u32(2891336453)
    word = ((state >> ((state >> ti.u32(28)) + ti.u32(4))) ^ state) * ti.u32(277803737)
    return (word >> ti.u32(22)) ^ word


@ti.func
def sample_key(seed: ti.u32, pixel: ti.u32, sample: ti.u32) -> ti.u32:
    """Key of one camera sample; distinct (seed, pixel, sample) give unrelated keys."""
    return pcg(seed ^ pcg(pixel + pcg(sample ^ ti.u32(0x9E3779B9))))


@ti.func
def uniform(key: ti.u32, dim: ti.i32) -> ti.f32:
    """A uniform number in [0, 1) for dimension ``dim`` of the sample ``key``."""
    h = pcg(key ^ pcg(ti.u32(dim) * ti.u32(0x85EBCA6B) + ti.u32(0xC2B2AE35)))
    return ti.f32(h >> ti.u32(8)) * (1.0 / 16777216.0)
