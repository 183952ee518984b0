"""Material-preview scenes of the BSDF plugins against Mitsuba 3: the scenes of
tests/data/mitsuba/scenes14/ (references by bench/mitsuba_bsdf_scene_references.sh, K = 32
x 256 spp at 64 x 64, Mitsuba 3.9.1 llvm_ad_rgb), compared as tests/test_scene_plugins.py
compares (``compare_runs``: block and image-mean variances from the runs' block sums)."""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.compare import compare_runs
from invrender.image_io import read_exr

DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "scenes14"
K, SPP = 16, 64
SCENES = ["conductors", "plastics", "dielectrics", "wrappers", "principled"]


def reference(name):
    stem = DATA / name
    return (read_exr(f"{stem}_ref.exr"), read_exr(f"{stem}_ref_stderr.exr"),
            np.load(f"{stem}_ref_blocks.npy"))


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENES)
def test_scene_matches_mitsuba(name):
    scene = invrender.load_scene(DATA / f"{name}.xml", res=64)
    runs = np.stack([invrender.render(scene, spp=SPP, seed=5000 + 100 * SCENES.index(name) + k)
                     for k in range(K)])
    result = compare_runs(runs, *reference(name))
    assert result.passed(), str(result)
