"""conductor and roughconductor against Mitsuba 3 (tests/data/bsdfs), and the microfacet
distribution they share: chi-square tests of its sampling (Beckmann and GGX, isotropic and
anisotropic, visible normals or all), consistency, reciprocity, albedo and bad input. One
scene holds every instance, so the plugins compile once."""

import numpy as np
import pytest
from bsdf_checks import (
    against_mitsuba,
    albedo,
    chi2,
    consistency,
    direction,
    mitsuba_case,
    mitsuba_xml,
    probes,
    reciprocity,
)

import invrender
from invrender.errors import SceneError
from invrender.image_io import write_exr
from invrender.params import ParameterMap
from invrender.scene.writer import write_scene

CASES = ("conductor_default", "conductor_au", "conductor_rgb", "roughconductor_beckmann_01",
         "roughconductor_ggx_03", "roughconductor_ggx_aniso", "roughconductor_beckmann_novis")
DELTA_CASES = CASES[:3]
ROUGH_CASES = CASES[3:]
COS_THETA = (0.9, 0.5, 0.15)
ALPHAS = (0.05, 0.3, 0.8)
ANISO = ((0.05, 0.3), (0.8, 0.3))  # (alpha_u, alpha_v)


def rough_xml(key, distribution, visible, alpha_u, alpha_v=None, extra=""):
    alpha = (f'<float name="alpha" value="{alpha_u}"/>' if alpha_v is None else
             f'<float name="alpha_u" value="{alpha_u}"/><float name="alpha_v" '
             f'value="{alpha_v}"/>')
    return (f'<bsdf type="roughconductor" id="{key}"><string name="distribution" '
            f'value="{distribution}"/><boolean name="sample_visible" '
            f'value="{str(visible).lower()}"/>{alpha}{extra}</bsdf>')


def configs():
    """(key, distribution, visible, alpha_u, alpha_v or None) of the chi-square set."""
    out = []
    for distribution in ("beckmann", "ggx"):
        for visible in (True, False):
            tag = f"{distribution}_{'vis' if visible else 'all'}"
            out += [(f"{tag}_{a}", distribution, visible, a, None) for a in ALPHAS]
            out += [(f"{tag}_{au}_{av}", distribution, visible, au, av) for au, av in ANISO]
    return out


CONFIGS = configs()
CHI2_TESTS = len(CONFIGS) * len(COS_THETA)


@pytest.fixture(scope="module")
def bsdfs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conductor")
    xml = {case: mitsuba_xml(case, case) for case in CASES}
    xml.update({key: rough_xml(key, d, v, au, av) for key, d, v, au, av in CONFIGS})
    for a in (0.05, 0.4):
        xml[f"uniform_{a}"] = rough_xml(f"uniform_{a}", "ggx", True, a,
                                        extra='<string name="material" value="Cu"/>')
    xml["checker"] = (
        '<bsdf type="roughconductor" id="checker"><string name="distribution" value="ggx"/>'
        '<texture type="checkerboard" name="alpha"><float name="color0" value="0.05"/>'
        '<float name="color1" value="0.4"/></texture>'
        '<string name="material" value="Cu"/></bsdf>')
    xml["spectrum"] = (
        '<bsdf type="conductor" id="spectrum"><spectrum name="eta" value="1.3"/>'
        '<spectrum name="k" value="400:3.0, 700:3.0"/></bsdf>')
    return probes(tmp, xml)


# --- Mitsuba's values ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_eval_pdf_match_mitsuba(bsdfs, case):
    against_mitsuba(bsdfs[case], case)


@pytest.mark.parametrize("case", DELTA_CASES)
def test_delta_sample_matches_mitsuba(bsdfs, case):
    data = mitsuba_case(case)
    s = bsdfs[case].sample(data["s_wi"], data["u"])
    ok = data["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, ok)
    assert np.all(data["s_delta"][ok]) and np.all(s["delta"][ok])
    np.testing.assert_allclose(s["wo"][ok], data["s_wo"][ok], atol=1e-6)
    np.testing.assert_allclose(s["weight"][ok], data["s_weight"][ok], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s["pdf"][ok], data["s_pdf"][ok])
    np.testing.assert_array_equal(s["lobe"][ok], data["s_component"][ok])
    wo, value = bsdfs[case].delta(data["s_wi"][ok], 0)
    np.testing.assert_allclose(wo, data["s_wo"][ok], atol=1e-6)
    np.testing.assert_allclose(value, data["s_weight"][ok], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("case", ROUGH_CASES)
def test_rough_sample_matches_mitsuba(bsdfs, case):
    """The same random numbers give Mitsuba's normal: visible-normal sampling (Beckmann's
    Newton inversion, GGX's projection) and the all-normals warp map them alike. Near the
    horizon wo.z comes from a cancellation (absolute error ~1e-6), so the weights there are
    compared only above wo.z = 0.02."""
    data = mitsuba_case(case)
    s = bsdfs[case].sample(data["s_wi"], data["u"])
    ok = data["s_weight"].max(axis=1) > 0
    mine = s["weight"].max(axis=1) > 0
    near_horizon = np.abs(data["s_wo"][:, 2]) < 1e-5
    np.testing.assert_array_equal(mine[~near_horizon], ok[~near_horizon])
    both = ok & mine
    assert both.sum() > 800 and not s["delta"].any()
    np.testing.assert_allclose(s["wo"][both], data["s_wo"][both], atol=2e-5)
    above = both & (data["s_wo"][:, 2] > 0.02)
    np.testing.assert_allclose(s["weight"][above], data["s_weight"][above], rtol=1e-3)
    np.testing.assert_allclose(s["pdf"][above], data["s_pdf"][above], rtol=1e-3)


# Mitsuba 3.9.1 (scalar_rgb): traverse() of a conductor with <spectrum name="k"
# value="400:3.0, 700:3.0"/> and of one with value="400:3.0, 500:2.0, 700:3.0"
MITSUBA_K_FLAT = (2.98603, 2.99927, 2.98473)
MITSUBA_K_DIP = (2.74189, 2.15651, 2.46941)


def test_spectrum_eta_k_are_unbounded(bsdfs, tmp_path):
    """A <spectrum> eta or k is read as Mitsuba's unbounded texture (not clipped at 1), from
    a value or a file, and the Fresnel term uses it."""
    (tmp_path / "k.spd").write_text("# k\n400 3.0\n500 2.0\n700 3.0\n")
    scene = _load(tmp_path, '<bsdf type="conductor" id="m"><spectrum name="eta" value="1.3"/>'
                  '<spectrum name="k" value="400:3.0, 700:3.0"/></bsdf>\n'
                  '<bsdf type="roughconductor" id="r"><spectrum name="k" filename="k.spd"/>'
                  '</bsdf>')
    np.testing.assert_allclose(scene.bsdfs["m"].textures["eta"].value, 1.3)
    np.testing.assert_allclose(scene.bsdfs["m"].textures["k"].value, MITSUBA_K_FLAT, rtol=1e-5)
    np.testing.assert_allclose(scene.bsdfs["r"].textures["k"].value, MITSUBA_K_DIP, rtol=1e-5)
    _, value = bsdfs["spectrum"].delta(direction(0.6)[None], 0)
    c, s2, eta, k = 0.6, 0.64, 1.3, np.array(MITSUBA_K_FLAT)  # Fresnel by hand
    temp = eta ** 2 - k ** 2 - s2
    a2b2 = np.sqrt(temp ** 2 + 4 * eta ** 2 * k ** 2)
    a = np.sqrt(0.5 * (a2b2 + temp))
    rs = (a2b2 + c * c - 2 * a * c) / (a2b2 + c * c + 2 * a * c)
    rp = rs * (a2b2 * c * c + s2 ** 2 - 2 * a * c * s2) / (a2b2 * c * c + s2 ** 2 + 2 * a * c * s2)
    np.testing.assert_allclose(value[0], 0.5 * (rs + rp), rtol=1e-5)


# --- textured roughness -------------------------------------------------------------------

def _check_roughness_texture(probe, references, alphas):
    """At uv (0.25, 0.25) and (0.75, 0.25), where the texture's alpha is ``alphas``, the BSDF
    is the one with that uniform alpha."""
    rng = np.random.default_rng(5)
    n = 500
    wi = np.tile(direction(0.7), (n, 1))
    wo = rng.normal(size=(n, 3))
    wo /= np.linalg.norm(wo, axis=1, keepdims=True)
    wo[:, 2] = np.abs(wo[:, 2])
    for uv, a in zip(((0.25, 0.25), (0.75, 0.25)), alphas, strict=True):
        f, pdf = probe.eval_pdf(wi, wo, uv=np.tile(uv, (n, 1)))
        f_ref, pdf_ref = references[f"uniform_{a}"].eval_pdf(wi, wo)
        np.testing.assert_allclose(f, f_ref, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(pdf, pdf_ref, rtol=1e-5, atol=1e-7)


def test_checkerboard_roughness(bsdfs):
    """Mitsuba 3.9.1 reads a checkerboard as one float with its colours swapped (eval_1 vs
    eval): there, alpha is color1 = 0.4 at uv (0.25, 0.25) and color0 = 0.05 at (0.75, 0.25)
    (checked against its roughconductor's eval)."""
    _check_roughness_texture(bsdfs["checker"], bsdfs, (0.4, 0.05))


# --- statistics -----------------------------------------------------------------------------

@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", [c[0] for c in CONFIGS])
def test_chi2(bsdfs, key, cos_theta):
    """Peaky lobes (alpha 0.05) get a finer histogram, so that its cells (and the pdf's
    integrals over them) resolve the lobe."""
    res = (100, 200) if "0.05" in key else (40, 80)
    p, threshold = chi2(bsdfs[key], direction(cos_theta), res=res, tests=CHI2_TESTS)
    assert p > threshold, f"{key} at cos theta {cos_theta}: p = {p:.3g}"


@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", [*CASES, "ggx_all_0.05_0.3", "beckmann_vis_0.8_0.3"])
def test_consistency(bsdfs, key, cos_theta):
    consistency(bsdfs[key], direction(cos_theta, phi=1.1))


@pytest.mark.parametrize("key", ["roughconductor_beckmann_01", "roughconductor_ggx_aniso",
                                 "beckmann_all_0.8_0.3", "ggx_all_0.3"])
def test_reciprocity(bsdfs, key):
    reciprocity(bsdfs[key])


@pytest.mark.parametrize("key", [*CASES, "beckmann_all_0.8", "ggx_all_0.05_0.3"])
def test_albedo_at_most_one(bsdfs, key):
    for cos_theta in COS_THETA:
        mean, se = albedo(bsdfs[key], direction(cos_theta), n=50_000)
        assert np.all(mean <= 1 + 4 * se + 1e-6), (key, cos_theta, mean)


def test_mirror_albedo_is_one(bsdfs):
    """Mitsuba's default conductor (eta 0, k 1) reflects everything along the mirror."""
    for cos_theta in COS_THETA:
        mean, _ = albedo(bsdfs["conductor_default"], direction(cos_theta), n=1000)
        np.testing.assert_allclose(mean, 1.0, rtol=1e-6)


def test_one_sided(bsdfs):
    rng = np.random.default_rng(6)
    n = 200
    below = np.tile(direction(-0.5), (n, 1))
    above = np.tile(direction(0.5), (n, 1))
    for key in CASES:
        f, pdf = bsdfs[key].eval_pdf(below, above)
        assert not f.any() and not pdf.any()
        f, pdf = bsdfs[key].eval_pdf(above, below)
        assert not f.any() and not pdf.any()
        s = bsdfs[key].sample(below, rng.random((n, 3)))
        assert not s["weight"].any()


# --- parameters and bad input -----------------------------------------------------------

def _load(tmp_path, body):
    path = tmp_path / "bad.xml"
    path.write_text(f'<scene version="3.0.0">\n{body}\n'
                    '<shape type="rectangle" id="quad"><ref id="m"/></shape></scene>\n')
    return invrender.load_scene(path)


def test_parameter_map_names(tmp_path):
    scene = _load(tmp_path, mitsuba_xml("conductor_rgb", "m") + "\n"
                  + mitsuba_xml("roughconductor_ggx_aniso", "a"))
    names = ParameterMap(scene).keys()
    assert names[:3] == ["m.eta.value", "m.k.value", "m.specular_reflectance.value"]
    assert {"a.alpha_u.value", "a.alpha_v.value", "a.eta.value", "a.k.value"} <= set(names)


def test_isotropic_alpha_is_named_alpha(tmp_path):
    scene = _load(tmp_path, mitsuba_xml("roughconductor_ggx_03", "m"))
    names = ParameterMap(scene).keys()
    assert [n for n in names if "alpha" in n] == ["m.alpha.value"]
    text = write_scene(scene, tmp_path / "out" / "scene.xml").read_text()
    assert '<float name="alpha" value="0.3"/>' in text and "alpha_u" not in text


def test_write_xml_round_trip(tmp_path):
    """The writer's XML loads back to the same settings and values."""
    body = "\n".join(mitsuba_xml(case, case) for case in CASES)
    scene = _load(tmp_path, body.replace('id="conductor_default"', 'id="m"'))
    again = invrender.load_scene(write_scene(scene, tmp_path / "out" / "scene.xml"))
    for key, bsdf in scene.bsdfs.items():
        other = again.bsdfs[key]
        assert (other.type, other.settings) == (bsdf.type, bsdf.settings)
        for name, texture in bsdf.textures.items():
            np.testing.assert_array_equal(other.textures[name].value, texture.value)


def test_isotropic_alpha_is_one_parameter(tmp_path):
    scene = _load(tmp_path, mitsuba_xml("roughconductor_ggx_03", "m"))
    params = ParameterMap(scene)
    alphas = [n for n in params.keys() if "alpha" in n]
    assert len(alphas) == 1
    np.testing.assert_allclose(params[alphas[0]], 0.3)
    params[alphas[0]] = 0.5
    assert scene.bsdfs["m"].textures["alpha_v"].value[0] == 0.5


@pytest.mark.parametrize("body, match", [
    ('<bsdf type="roughconductor" id="m"><float name="alpha" value="-0.1"/></bsdf>',
     "must not be negative"),
    ('<bsdf type="roughconductor" id="m"><float name="alpha_u" value="0.1"/>'
     '<float name="alpha_v" value="-0.2"/></bsdf>', "must not be negative"),
    ('<bsdf type="roughconductor" id="m"><float name="alpha_u" value="0.1"/></bsdf>',
     "both 'alpha_u' and 'alpha_v'"),
    ('<bsdf type="roughconductor" id="m"><float name="alpha" value="0.1"/>'
     '<float name="alpha_u" value="0.1"/><float name="alpha_v" value="0.1"/></bsdf>',
     "either 'alpha' or"),
    ('<bsdf type="roughconductor" id="m"><string name="distribution" value="phong"/></bsdf>',
     "invalid microfacet distribution 'phong'"),
    ('<bsdf type="conductor" id="m"><string name="material" value="au"/></bsdf>',
     "unknown conductor material 'au'"),
    ('<bsdf type="roughconductor" id="m"><string name="material" value="Unobtainium"/>'
     '</bsdf>', "unknown conductor material"),
    ('<bsdf type="conductor" id="m"><string name="material" value="Au"/>'
     '<float name="eta" value="0.2"/></bsdf>', r"either \(eta, k\) or material"),
    ('<bsdf type="roughconductor" id="m"><string name="material" value="Au"/>'
     '<rgb name="k" value="0.2"/></bsdf>', r"either \(eta, k\) or material"),
])
def test_bad_input(tmp_path, body, match):
    with pytest.raises(SceneError, match=match) as err:
        _load(tmp_path, body)
    assert err.value.file.endswith("bad.xml") and err.value.line == 2
    assert "\n" not in str(err.value)


def test_unknown_material_suggests(tmp_path):
    with pytest.raises(SceneError) as err:
        _load(tmp_path, '<bsdf type="conductor" id="m"><string name="material" '
                        'value="au"/></bsdf>')
    assert "Au" in str(err.value)


def test_zero_alpha_loads(tmp_path):
    """Mitsuba accepts alpha 0 and clamps it to 1e-4 inside the distribution."""
    _load(tmp_path, '<bsdf type="roughconductor" id="m"><float name="alpha" value="0"/>'
                    '</bsdf>')


# --- double precision (last: it restarts Taichi) ------------------------------------------

def test_f64_eval_pdf(f64, tmp_path):
    """Double precision, and a bitmap roughness: it is here because a bitmap in the scene
    makes every texture fetch slower to compile, and this scene compiles anyway (a probe
    reads the last scene synced, so one scene per precision)."""
    keys = ("conductor_rgb", *ROUGH_CASES)
    xml = {key: mitsuba_xml(key, key) for key in keys}
    write_exr(tmp_path / "rough.exr", np.array([[[0.05] * 3, [0.4] * 3]]))  # u < 1/2: 0.05
    xml["bitmap"] = (
        '<bsdf type="roughconductor" id="bitmap"><string name="distribution" value="ggx"/>'
        '<texture type="bitmap" name="alpha"><string name="filename" value="rough.exr"/>'
        '<string name="filter_type" value="nearest"/></texture>'
        '<string name="material" value="Cu"/></bsdf>')
    for a in (0.05, 0.4):
        xml[f"uniform_{a}"] = rough_xml(f"uniform_{a}", "ggx", True, a,
                                        extra='<string name="material" value="Cu"/>')
    probe = probes(tmp_path, xml)
    _check_roughness_texture(probe["bitmap"], probe, (0.05, 0.4))
    for key in ROUGH_CASES:
        against_mitsuba(probe[key], key)
    data = mitsuba_case("conductor_rgb")
    ok = data["s_weight"].max(axis=1) > 0
    wo, value = probe["conductor_rgb"].delta(data["s_wi"][ok], 0)
    assert wo.dtype == np.float64
    np.testing.assert_allclose(value, data["s_weight"][ok], rtol=1e-5, atol=1e-7)
