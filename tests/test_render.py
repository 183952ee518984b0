"""The path tracer against closed forms, and its reproducibility.

Closed forms: a furnace (a closed cube whose walls emit Le and reflect rho, seen from
inside: every pixel is Le * sum_{k < max_depth} rho^k) and a white furnace (closed convex
shapes with albedo 1 under a constant sky: every pixel equals the sky). The statistical
tests use K independent renders: the image mean of the K-run average must be within 4
standard errors of the closed form, and 4x4 block sums within 4.5.
"""

import numpy as np
import pytest

import invrender
from invrender import renderer as render_mod
from invrender.compare import compare, mean_and_stderr
from tests.conftest import SCENES

K = 8


def renders(scene, k=K, **kw):
    return np.stack([invrender.render(scene, seed=1000 + i, **kw) for i in range(k)])


def z_against_constant(images: np.ndarray, expected: np.ndarray, block: int = 4):
    """Image-mean z per channel and the largest block-sum |z| against a constant image.

    Noise-free pixels (primary rays that escape to the sky) must equal it up to the float32
    rounding of summing spp samples.
    """
    mean, se = mean_and_stderr(images)
    exact = np.broadcast_to(expected, mean.shape).astype(np.float64)
    quiet = se == 0
    np.testing.assert_allclose(mean[quiet], exact[quiet], rtol=1e-6)
    exact = np.where(quiet, mean, exact)
    result = compare(mean, se, exact, np.zeros_like(mean), block=block)
    return result.mean_z, result.max_block_z


@pytest.mark.parametrize("max_depth, expected", [(1, 1.0), (2, 1.5), (3, 1.75), (5, 1.9375),
                                                 (-1, 2.0)])
def test_furnace_matches_closed_form(max_depth, expected):
    scene = invrender.load_scene(SCENES / "furnace.xml", max_depth=max_depth, res=32)
    images = renders(scene, spp=16)
    if max_depth == 1:  # direct emission only: no noise at all
        assert np.all(images == 1.0)
        return
    zm, zb = z_against_constant(images, np.full(3, expected))
    assert np.all(np.abs(zm) < 4), (zm, images.mean())
    assert zb < 4.5


def test_furnace_detects_a_one_percent_error():
    """The furnace test is sharp: a 1 % wrong answer fails it by far."""
    scene = invrender.load_scene(SCENES / "furnace.xml", max_depth=3, res=32)
    images = renders(scene, spp=16)
    zm, _ = z_against_constant(images, np.full(3, 1.75 * 1.01))
    assert np.all(np.abs(zm) > 10)


def white_furnace_xml(tmp_path):
    (tmp_path / "sphere.ply").write_bytes((SCENES / "assets" / "icosphere.ply").read_bytes())
    xml = tmp_path / "white_furnace.xml"
    xml.write_text("""<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="-1"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="50"/>
    <transform name="to_world"><lookat origin="0, 0, 4" target="0, 0, 0" up="0, 1, 0"/></transform>
    <sampler type="independent"><integer name="sample_count" value="16"/></sampler>
    <film type="hdrfilm">
      <integer name="width" value="32"/><integer name="height" value="32"/>
    </film>
  </sensor>
  <emitter type="constant"><rgb name="radiance" value="0.5, 0.7, 0.9"/></emitter>
  <bsdf type="diffuse" id="white"><rgb name="reflectance" value="1, 1, 1"/></bsdf>
  <shape type="ply"><string name="filename" value="sphere.ply"/><ref id="white"/>
    <boolean name="face_normals" value="true"/>
    <transform name="to_world"><translate x="-0.55"/></transform></shape>
  <shape type="ply"><string name="filename" value="sphere.ply"/><ref id="white"/>
    <boolean name="face_normals" value="true"/>
    <transform name="to_world"><scale value="0.7"/><translate x="0.8" z="0.3"/></transform></shape>
</scene>""")
    return xml


def test_white_furnace_conserves_energy(tmp_path):
    """Albedo-1 closed shapes that see each other, unbounded depth: the sky everywhere.
    With face normals: interpolated shading normals make a diffuse surface lose energy
    (in Mitsuba too; measured image-mean z of -4.4 here with them)."""
    scene = invrender.load_scene(white_furnace_xml(tmp_path))
    images = renders(scene, spp=16)
    zm, zb = z_against_constant(images, np.array([0.5, 0.7, 0.9]))
    assert np.all(np.abs(zm) < 4), zm
    assert zb < 4.5


def test_same_seed_same_image_bit_for_bit():
    scene = invrender.load_scene(SCENES / "cbox.xml", res=32)
    a = invrender.render(scene, spp=4, seed=7)
    b = invrender.render(scene, spp=4, seed=7)
    assert a.tobytes() == b.tobytes()


def test_different_seeds_give_independent_noise():
    scene = invrender.load_scene(SCENES / "cbox.xml", res=64)
    a, b, c = (invrender.render(scene, spp=2, seed=s) for s in (1, 2, 3))
    inner = (slice(8, -8), slice(8, -8))
    na, nb = (a - c)[inner].ravel(), (b - c)[inner].ravel()
    assert not np.array_equal(a, b)
    # (a - c) and (b - c) share c's noise: correlation 1/2 if a and b are independent.
    # Equal seeds would give 1, a seed-independent noise component would raise it.
    corr = np.corrcoef(na, nb)[0, 1]
    assert 0.4 < corr < 0.6, corr


def test_pass_size_does_not_change_the_image(monkeypatch):
    """Passes bound memory; how spp is split into passes must not change the estimate."""
    scene = invrender.load_scene(SCENES / "cbox.xml", res=32)
    whole = invrender.render(scene, spp=8, seed=3)
    monkeypatch.setattr(render_mod, "SAMPLES_PER_PASS", 32 * 32 * 3)  # passes of 3, 3, 2 spp
    assert len(render_mod.passes(32, 32, 8)) == 3
    split = invrender.render(scene, spp=8, seed=3)
    np.testing.assert_allclose(split, whole, rtol=1e-5, atol=1e-6)


def test_black_frame_and_light_pixels():
    """Outside the box is exactly 0; the light is seen directly at its radiance or more."""
    scene = invrender.load_scene(SCENES / "cbox.xml", res=64)
    img = invrender.render(scene, spp=4, seed=0, max_depth=1)
    assert np.all(img[:1] == 0) and np.all(img[:, :1] == 0)
    assert np.isclose(img.max(axis=(0, 1)), [18.387, 13.9873, 6.75357], rtol=1e-6).all()


def test_env_scene_with_ply_and_texture_renders():
    scene = invrender.load_scene(SCENES / "env_sphere.xml", res=32)
    img = invrender.render(scene, spp=4, seed=0)
    assert img.shape == (32, 32, 3) and np.isfinite(img).all()
    # The sky fills the top row: exactly its radiance (primary rays that escape).
    np.testing.assert_allclose(img[0], np.tile([0.8, 0.9, 1.0], (32, 1)), rtol=1e-6)


def test_the_first_render_starts_taichi(tmp_path):
    """Without invrender.init, the first render starts the default runtime (README)."""
    import subprocess
    import sys

    code = ("import invrender; s = invrender.load_scene(r'%s', res=4); "
            "print(invrender.render(s, spp=1).shape)" % (SCENES / "cbox.xml"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "(4, 4, 3)" in proc.stdout


def test_a_channel_black_on_both_sides_agrees():
    """compare_runs: a channel that is exactly 0 everywhere in both renderers matches (an
    image-mean z of 0, not 0/0)."""
    from invrender.compare import block_sums, compare_runs

    rng = np.random.default_rng(0)
    runs, ref_runs = rng.random((16, 8, 8, 3)), rng.random((32, 8, 8, 3))
    runs[..., 2] = ref_runs[..., 2] = 0
    result = compare_runs(runs, ref_runs.mean(0), ref_runs.std(0, ddof=1) / np.sqrt(32),
                          block_sums(ref_runs))
    assert result.mean_z[2] == 0 and np.all(np.isfinite(result.mean_z)), result
    runs[0, 0, 0, 2] = 1.0  # one sample off: no longer "exactly 0 on both sides"
    other = compare_runs(runs, ref_runs.mean(0), ref_runs.std(0, ddof=1) / np.sqrt(32),
                         block_sums(ref_runs))
    assert other.mean_z[2] != 0
