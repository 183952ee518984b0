"""Scenes of the plugins Mitsuba users meet first (lights, environment maps, spectra,
shapes, shading normals, integrators, XML structure) against Mitsuba 3: the scenes of
tests/data/mitsuba/scenes13/, references made by bench/mitsuba_scene_references.sh
(K = 32 x 256 spp at 64 x 64, Mitsuba 3.9.1 llvm_ad_rgb).

K = 16 renders of ours at 64 spp each, compared by the reference README's rule with block
and image-mean variances from the runs (``compare_runs``): every 8 x 8 block |z| < 4.5,
image-mean |z| < 4, per-pixel z std < 1.25 and under 1 % beyond 4, constant pixels equal
to float rounding. Where a feature could be dropped without anyone noticing, the render
without it is compared with the same reference and must fail.
"""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.compare import compare_runs
from invrender.image_io import read_exr

DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "scenes13"
K, SPP = 16, 64
SCENES = ["point_light", "spot_light", "directional", "envmap", "envmap_png", "smooth_ply",
          "shapes", "checker_spectrum", "direct_hide", "path_hide_env", "include",
          "serialized", "spot_texture", "curve"]


def reference(name):
    stem = DATA / name
    return (read_exr(f"{stem}_ref.exr"), read_exr(f"{stem}_ref_stderr.exr"),
            np.load(f"{stem}_ref_blocks.npy"))


def renders(scene, seed0):
    return np.stack([invrender.render(scene, spp=SPP, seed=seed0 + k) for k in range(K)])


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENES)
def test_scene_matches_mitsuba(name):
    scene = invrender.load_scene(DATA / f"{name}.xml", res=64)
    result = compare_runs(renders(scene, 3000 + 100 * SCENES.index(name)), *reference(name))
    assert result.passed(), str(result)


@pytest.mark.slow
@pytest.mark.parametrize("name, change", [
    ("path_hide_env", lambda scene: setattr(scene, "hide_emitters", False)),
    ("smooth_ply", lambda scene: [setattr(m, "normals", None) for m in scene.meshes]),
])
def test_the_comparison_sees_the_feature(name, change):
    scene = invrender.load_scene(DATA / f"{name}.xml", res=64)
    change(scene)
    result = compare_runs(renders(scene, 9000), *reference(name))
    assert not result.passed() and result.max_block_z > 10, str(result)


@pytest.mark.parametrize("name", SCENES)
def test_written_scene_reads_back_the_same(tmp_path, name):
    """write_scene then load_scene: every parameter value, the lights' settings and the
    integrator come back; a render of the written scene equals the original's bit for bit
    (box-filtered scenes; the others' filters are written as values)."""
    from invrender.scene.writer import write_scene

    scene = invrender.load_scene(DATA / f"{name}.xml", res=16)
    again = invrender.load_scene(write_scene(scene, tmp_path / "out" / "scene.xml"))
    before, after = invrender.ParameterMap(scene), invrender.ParameterMap(again)
    assert before.keys() == after.keys()
    for key in before.keys():
        np.testing.assert_allclose(after[key], before[key], rtol=1e-6, atol=1e-7, err_msg=key)
    assert (again.integrator, again.max_depth, again.hide_emitters) == (
        scene.integrator, scene.max_depth, scene.hide_emitters)
    for a, b in zip(scene.emitters, again.emitters, strict=True):
        assert (a.type, a.sampling_weight) == (b.type, b.sampling_weight)
        for key, value in a.settings.items():
            np.testing.assert_allclose(b.settings[key], value, rtol=1e-12, err_msg=key)
    if name in ("point_light", "envmap", "direct_hide"):
        np.testing.assert_array_equal(invrender.render(again, spp=4, seed=2),
                                      invrender.render(scene, spp=4, seed=2))
