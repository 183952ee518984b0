"""Statistical comparison of K independent renders with a reference mean and its stderr.

The test of ``../shared/reference/README.md``: zero-variance pixels must be equal, bias is
judged on block sums and image means (their variances are well estimated), per-pixel z
only for spread and outliers (per-pixel mean z is skewed by Monte Carlo noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Comparison:
    zero_variance_equal: bool
    z_std: float
    z_outliers: float  # fraction of |z| > 4
    max_block_z: float
    mean_z: np.ndarray  # per channel
    z_mean: float  # reported only, not a bias test

    def passed(self, z_std_limit: float = 1.25, outlier_limit: float = 0.01,
               block_limit: float = 4.5, mean_limit: float = 4.0) -> bool:
        return (self.zero_variance_equal and self.z_std < z_std_limit
                and self.z_outliers < outlier_limit and self.max_block_z < block_limit
                and bool(np.all(np.abs(self.mean_z) < mean_limit)))

    def __str__(self) -> str:
        return (f"zero-var equal={self.zero_variance_equal} z std={self.z_std:.3f} "
                f"|z|>4={100 * self.z_outliers:.2f}% max block z={self.max_block_z:.2f} "
                f"image-mean z={np.array2string(self.mean_z, precision=2)} "
                f"(per-pixel z mean {self.z_mean:.3f})")


def mean_and_stderr(renders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of K renders (K, H, W, C) and the standard error of that mean."""
    renders = np.asarray(renders, np.float64)
    return renders.mean(0), renders.std(0, ddof=1) / np.sqrt(len(renders))


def block_agreement(ad_runs: np.ndarray, fd_runs: np.ndarray,
                    block: int = 8) -> tuple[float, float]:
    """Derivative images (K, H, W, C) from AD against finite differences: the largest |z|
    of block sums (standard errors from the runs of each side) and Mitsuba's metric
    mean|AD - FD| / mean|FD| on the block-downsampled means (noise of both sides included)."""
    def blocks(a):
        k, h, w, c = a.shape
        return np.asarray(a, np.float64).reshape(k, h // block, block, w // block, block,
                                                 c).sum((2, 4))

    a, r = blocks(ad_runs), blocks(fd_runs)
    se = np.sqrt(a.var(0, ddof=1) / len(a) + r.var(0, ddof=1) / len(r))
    diff = a.mean(0) - r.mean(0)
    z = np.where(se > 0, diff / np.where(se > 0, se, 1), 0.0)
    return float(np.abs(z).max()), float(np.abs(diff).mean() / np.abs(r.mean(0)).mean())


def compare(mine: np.ndarray, mine_se: np.ndarray, ref: np.ndarray, ref_se: np.ndarray,
            block: int = 16) -> Comparison:
    """Compare two Monte Carlo estimates of the same image, each with its stderr."""
    mine, mine_se, ref, ref_se = (np.asarray(a, np.float64) for a in (mine, mine_se, ref, ref_se))
    se = np.sqrt(ref_se**2 + mine_se**2)
    noisy = se > 0
    zero_equal = bool(np.all(mine[~noisy] == ref[~noisy]))
    z = (mine - ref)[noisy] / se[noisy]
    h, w, c = mine.shape

    def blocks(a):
        return a.reshape(h // block, block, w // block, block, c).sum((1, 3))

    diff_blocks = blocks(mine - ref)
    var_blocks = blocks(se**2)
    ok = var_blocks > 0
    zb = diff_blocks[ok] / np.sqrt(var_blocks[ok])
    zm = (mine - ref).reshape(-1, c).sum(0) / np.sqrt((se**2).reshape(-1, c).sum(0))
    return Comparison(zero_equal, float(z.std()), float(np.mean(np.abs(z) > 4)),
                      float(np.abs(zb).max()) if zb.size else 0.0, zm, float(z.mean()))


def block_sums(runs: np.ndarray, block: int = 8) -> np.ndarray:
    """Each run's sums over block x block pixel blocks: (K, H/b, W/b, C)."""
    k, h, w, c = runs.shape
    return np.asarray(runs, np.float64)[:, :h // block * block, :w // block * block].reshape(
        k, h // block, block, w // block, block, c).sum((2, 4))


# Relative float32 rounding where two renderers compute the same constant differently: a
# pixel's normalised sum of samples (~1e-7), Mitsuba's 8-bit sRGB decoding (2.6e-6 from
# the exact curve ours uses, measured over all 256 codes).
ROUNDING = 3e-6


def compare_runs(runs: np.ndarray, ref: np.ndarray, ref_se: np.ndarray,
                 ref_blocks: np.ndarray, block: int = 8) -> Comparison:
    """K renders (K, H, W, C) against a reference made as ``../shared/tools/
    mitsuba_reference.py`` makes them, for films whose filter correlates neighbouring
    pixels: block and image-mean variances come from the runs' block sums on both sides
    (``ref_blocks``: the reference's per-run block sums), not from per-pixel errors.

    Pixels whose value is the same in every run (a constant background) differ between
    the renderers only by float32 rounding: ROUNDING x |value| is added to their errors,
    and zero-variance pixels must agree to 10 x that (exactly where they are 0)."""
    mine, mine_se = mean_and_stderr(runs)
    ref, ref_se = np.asarray(ref, np.float64), np.asarray(ref_se, np.float64)
    se = np.sqrt(ref_se**2 + mine_se**2 + (ROUNDING * ref) ** 2)
    noisy = se > 0
    quiet = (ref_se == 0) & (mine_se == 0)
    zero_equal = bool(np.all(np.abs(mine - ref)[quiet] <= 10 * ROUNDING * np.abs(ref)[quiet]))
    z = (mine - ref)[noisy] / se[noisy]
    mine_b, ref_b = block_sums(runs, block), np.asarray(ref_blocks, np.float64)
    diff = mine_b.mean(0) - ref_b.mean(0)
    var = (mine_b.var(0, ddof=1) / len(mine_b) + ref_b.var(0, ddof=1) / len(ref_b)
           + (ROUNDING * ref_b.mean(0)) ** 2)
    ok = var > 0
    zb = diff[ok] / np.sqrt(var[ok])
    mine_t, ref_t = mine_b.sum((1, 2)), ref_b.sum((1, 2))  # image sums per run and channel
    var_t = (mine_t.var(0, ddof=1) / len(mine_t) + ref_t.var(0, ddof=1) / len(ref_t)
             + (ROUNDING * ref_t.mean(0)) ** 2)
    diff_t = mine_t.mean(0) - ref_t.mean(0)
    # a channel that is 0 in every pixel of both (a yellow-only scene's blue) agrees
    zm = np.where(var_t > 0, diff_t / np.sqrt(np.where(var_t > 0, var_t, 1.0)),
                  np.where(diff_t == 0, 0.0, np.inf))
    return Comparison(zero_equal, float(z.std()), float(np.mean(np.abs(z) > 4)),
                      float(np.abs(zb).max()) if zb.size else 0.0, zm, float(z.mean()))
