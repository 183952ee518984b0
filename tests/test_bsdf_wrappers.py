"""Wrappers around other BSDFs: ``twosided`` with two BSDFs, ``blendbsdf``, ``mask``,
``normalmap`` and ``bumpmap``, against Mitsuba 3's values (tests/data/bsdfs) and the shared
checks of bsdf_checks.py."""

import numpy as np
import pytest

import invrender
from invrender.errors import SceneError
from tests import bsdf_checks as C

CASES = ["twosided_two", "blend", "mask", "normalmap_diffuse", "normalmap_rough",
         "bumpmap_diffuse", "bumpmap_rough"]


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    return C.probes(tmp_path_factory.mktemp("wrappers"),
                    {name: C.mitsuba_xml(name, name) for name in CASES})


@pytest.mark.parametrize("name", CASES)
def test_eval_and_pdf_equal_mitsuba(probes, name):
    C.against_mitsuba(probes[name], name)


def test_mask_samples_equal_mitsuba(probes):
    """The same random numbers choose the same lobe: pass-through or the nested diffuse."""
    case = C.mitsuba_case("mask")
    s = probes["mask"].sample(case["s_wi"], case["u"])
    ok = case["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["delta"][ok], case["s_delta"][ok].astype(bool))
    through = ok & case["s_delta"].astype(bool)
    np.testing.assert_allclose(s["wo"][through], case["s_wo"][through], atol=1e-6)
    np.testing.assert_allclose(s["pdf"][ok], case["s_pdf"][ok], rtol=1e-4)
    np.testing.assert_allclose(s["weight"][ok], case["s_weight"][ok], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("cos_theta", [0.8, 0.3, -0.6])
def test_sampling_matches_the_pdf(probes, name, cos_theta):
    p, threshold = C.chi2(probes[name], C.direction(cos_theta), tests=9)
    assert p > threshold, p


@pytest.mark.parametrize("name", CASES)
def test_sample_is_consistent_with_eval_pdf_and_delta(probes, name):
    for cos_theta in (0.7, -0.4):
        C.consistency(probes[name], C.direction(cos_theta))


@pytest.mark.parametrize("name", CASES)
def test_albedo_at_most_one(probes, name):
    for cos_theta in (0.9, 0.2, -0.5):
        mean, err = C.albedo(probes[name], C.direction(cos_theta))
        assert np.all(mean <= 1 + 4 * err + 1e-6), (cos_theta, mean)


def test_mask_lets_light_through_in_proportion(probes):
    """Half the rays pass a mask of opacity 0.4 ... 60 % of them, unchanged."""
    s = probes["mask"].sample(np.tile(C.direction(0.5), (20000, 1)),
                              np.random.default_rng(5).random((20000, 3)))
    through = s["delta"]
    assert through.mean() == pytest.approx(0.6, abs=0.015)
    np.testing.assert_allclose(s["wo"][through], -C.direction(0.5)[None].repeat(
        through.sum(), 0), atol=1e-6)
    np.testing.assert_allclose(s["weight"][through], 1.0)


def test_wrapper_children_are_named_as_in_mitsuba(tmp_path):
    scene = C.load_bsdfs(tmp_path, {"blend": C.mitsuba_xml("blend", "blend"),
                                    "mask": C.mitsuba_xml("mask", "mask")})
    names = invrender.ParameterMap(scene).keys()
    for name in ("blend.weight.value", "blend.bsdf_0.reflectance.value",
                 "blend.bsdf_1.alpha.value", "mask.opacity.value",
                 "mask.nested_bsdf.reflectance.value"):
        assert name in names, names


@pytest.mark.parametrize("xml, message", [
    ('<bsdf type="blendbsdf" id="b"><float name="weight" value="0.5"/>'
     '<bsdf type="diffuse"/></bsdf>', "blendbsdf needs 2 nested BSDFs, got 1"),
    ('<bsdf type="twosided" id="b"><bsdf type="dielectric"/></bsdf>',
     "twosided cannot hold 'dielectric'"),
    ('<bsdf type="mask" id="b"><bsdf type="mask"><bsdf type="diffuse"/></bsdf></bsdf>',
     "wrappers do not nest"),
    ('<bsdf type="mask" id="inner"><bsdf type="diffuse"/></bsdf>'
     '<bsdf type="mask" id="b"><ref id="inner"/></bsdf>', "wrappers do not nest"),
])
def test_bad_wrappers_are_one_line_errors(tmp_path, xml, message):
    with pytest.raises(SceneError, match=message) as error:
        C.load_bsdfs(tmp_path, {"b": xml})
    assert "bsdfs.xml:" in str(error.value) and "\n" not in str(error.value).strip()


def test_wrappers_read_back_the_same(tmp_path):
    scene = C.load_bsdfs(tmp_path, {name: C.mitsuba_xml(name, name) for name in CASES})
    again = C.reads_back_the_same(scene, tmp_path)
    assert again.bsdfs["bumpmap_diffuse"].settings["scale"] == 2.0


def test_a_bump_map_shades_a_surface(tmp_path):
    """On a lit rectangle the bump map's tilt changes the image, and a zero scale gives the
    nested BSDF's image."""
    bump = C.mitsuba_xml("bumpmap_diffuse", "m")
    flat = bump.replace('name="scale" value="2.0"', 'name="scale" value="0.0"')
    images = []
    for xml in (bump, flat):
        path = tmp_path / "bumped.xml"
        path.write_text(f"""<scene version="3.0.0">{xml}
  <shape type="rectangle"><ref id="m"/></shape>
  <emitter type="directional"><vector name="direction" x="0.5" y="0.3" z="-1"/></emitter>
  <sensor type="perspective"><transform name="to_world"><lookat origin="0, 0, 3"
    target="0, 0, 0" up="0, 1, 0"/></transform><film type="hdrfilm">
    <integer name="width" value="8"/><integer name="height" value="8"/>
    <rfilter type="box"/></film></sensor></scene>""")
        images.append(invrender.render(invrender.load_scene(path), spp=4, seed=1))
    plain = tmp_path / "plain.xml"
    plain.write_text(path.read_text().replace(flat, '<bsdf type="diffuse" id="m"><rgb '
                                              'name="reflectance" value="0.6, 0.7, 0.2"/>'
                                              '</bsdf>'))
    np.testing.assert_allclose(images[1], invrender.render(invrender.load_scene(plain), spp=4,
                                                           seed=1), rtol=1e-6)
    assert np.abs(images[0] - images[1]).max() > 0.05 * images[1].max()
