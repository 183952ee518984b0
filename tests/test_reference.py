"""The Cornell box against Mitsuba 3's reference renders, by the reference README's test.

K = 16 independent renders of 32 spp each (as the README's own Mitsuba-vs-Mitsuba check),
compared with ``cbox_ref.exr`` / ``cbox_unbounded_ref.exr`` and their standard errors:
zero-variance pixels equal, 16x16 block |z| < 4.5, image-mean |z| < 4 per channel, per-pixel
z std < 1.25 and under 1 % beyond 4. The same renders scaled by 1.01 (a light 1 % too
bright) must fail, so the check is known to be sharp.
"""

import numpy as np
import pytest

import invrender
from invrender.compare import compare, mean_and_stderr
from invrender.image_io import read_exr
from tests.conftest import SCENES

K, SPP = 16, 32

pytestmark = pytest.mark.slow


def k_renders(scene, seed0):
    return np.stack([invrender.render(scene, spp=SPP, seed=seed0 + k) for k in range(K)])


@pytest.mark.parametrize("max_depth, name, seed0", [(3, "cbox", 100),
                                                    (-1, "cbox_unbounded", 300)])
def test_cbox_matches_mitsuba(reference_dir, max_depth, name, seed0):
    scene = invrender.load_scene(SCENES / "cbox.xml", max_depth=max_depth)
    mine, mine_se = mean_and_stderr(k_renders(scene, seed0))
    ref = read_exr(reference_dir / f"{name}_ref.exr")
    ref_se = read_exr(reference_dir / f"{name}_ref_stderr.exr")
    result = compare(mine, mine_se, ref, ref_se)
    assert result.passed(), str(result)
    brighter = compare(mine * 1.01, mine_se * 1.01, ref, ref_se)
    assert not brighter.passed(), f"a 1 % brighter image passed: {brighter}"


def test_wrong_max_depth_fails(reference_dir):
    scene = invrender.load_scene(SCENES / "cbox.xml", max_depth=2)
    images = np.stack([invrender.render(scene, spp=8, seed=500 + k) for k in range(4)])
    mine, mine_se = mean_and_stderr(images)
    result = compare(mine, mine_se, read_exr(reference_dir / "cbox_ref.exr"),
                     read_exr(reference_dir / "cbox_ref_stderr.exr"))
    assert not result.passed()
    assert result.max_block_z > 100
