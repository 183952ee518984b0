"""Reconstruction filters against Mitsuba 3: the Cornell box of ../shared/reference with
its film's filter changed, at 64 x 64 (references made by bench/mitsuba_filter_references.sh,
K = 32 x 256 spp each, in tests/data/mitsuba/).

K = 16 renders of ours per variant, compared by the reference README's rule with block and
image-mean variances from the runs (filters correlate pixels): every 8 x 8 block |z| < 4.5,
image-mean |z| < 4, per-pixel z std < 1.25 and under 1 % beyond 4, zero-variance pixels
equal. The box render compared against the gaussian reference must fail: the check sees
the filter. Also the normalisation: a constant environment is exactly constant in every
pixel whatever the filter (weights are normalised per pixel, as in Mitsuba).
"""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.compare import compare_runs
from invrender.image_io import read_exr

DATA = Path(__file__).resolve().parent / "data" / "mitsuba"
K, SPP = 16, 64
VARIANTS = ["box", "tent", "gaussian", "default", "gaussian_stddev0.3", "tent_radius1.5"]


def reference(variant):
    stem = DATA / f"cbox_{variant}"
    return (read_exr(f"{stem}_ref.exr"), read_exr(f"{stem}_ref_stderr.exr"),
            np.load(f"{stem}_ref_blocks.npy"))


def renders(variant, seed0):
    scene = invrender.load_scene(DATA / f"cbox_{variant}.xml", res=64, max_depth=3)
    return np.stack([invrender.render(scene, spp=SPP, seed=seed0 + k) for k in range(K)])


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_filtered_cbox_matches_mitsuba(variant):
    runs = renders(variant, 1000 + 100 * VARIANTS.index(variant))
    result = compare_runs(runs, *reference(variant))
    assert result.passed(), str(result)
    if variant == "gaussian":  # the box image is not the gaussian one: the test is sharp
        wrong = compare_runs(renders("box", 5000), *reference("gaussian"))
        assert not wrong.passed() and wrong.max_block_z > 20, str(wrong)


def test_the_default_filter_is_mitsubas_gaussian():
    scene = invrender.load_scene(DATA / "cbox_default.xml", res=64)
    f = scene.sensor(0).rfilter
    assert (f.type, f.settings) == ("gaussian", {})


ENV = """<scene version="3.0.0">
  <sensor type="perspective"><float name="fov" value="60"/>
    <film type="hdrfilm"><integer name="width" value="12"/><integer name="height" value="9"/>
      {rfilter}</film></sensor>
  <emitter type="constant" id="sky"><rgb name="radiance" value="0.25, 0.5, 2"/></emitter>
</scene>"""


@pytest.mark.parametrize("rfilter", ['<rfilter type="gaussian"/>', "",
                                     '<rfilter type="tent"><float name="radius" '
                                     'value="1.7"/></rfilter>',
                                     '<rfilter type="gaussian"><float name="stddev" '
                                     'value="0.7"/></rfilter>'])
def test_weights_are_normalised_in_every_pixel(tmp_path, rfilter):
    """As in Mitsuba (checked with its own renders): a constant environment gives exactly
    its radiance in every pixel, border pixels included, whatever the filter; and its
    derivative image by the radiance is exactly 1 (the derivative passes' weights). The
    last filter reaches 3 pixels, past the per-sample taps (film.py): its weights are
    computed per pixel."""
    path = tmp_path / "env.xml"
    path.write_text(ENV.format(rfilter=rfilter))
    scene = invrender.load_scene(path)
    image = invrender.render(scene, spp=3, seed=1)
    np.testing.assert_allclose(image, np.broadcast_to([0.25, 0.5, 2.0], image.shape),
                               rtol=1e-6)
    d = invrender.grad_image(scene, "sky.radiance.value", [1.0, 1.0, 1.0], spp=3, seed=1)
    np.testing.assert_allclose(d, 1.0, rtol=1e-6)
