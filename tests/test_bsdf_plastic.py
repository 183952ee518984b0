"""The smooth ``plastic`` BSDF against Mitsuba 3's values (tests/data/bsdfs), its diffuse
lobe's sampling (chi-square), consistency and reciprocity, its albedo against the model's
own prediction, the specular sampling weight from the textures' means, and the load errors.
All instances live in one scene: one compile for the module."""

import numpy as np
import pytest

import invrender
from invrender.bsdfs import plastic
from invrender.bsdfs.fresnel import fresnel_diffuse_reflectance
from invrender.bsdfs.ior_data import DIELECTRICS
from invrender.errors import SceneError
from invrender.scene.description import Texture, constant
from tests import bsdf_checks as checks

CASES = ["plastic_default", "plastic_nonlinear"]
EXTRA = {
    # white base: the albedo is the model's energy balance
    "white": '<bsdf type="plastic" id="white"><rgb name="diffuse_reflectance" value="1"/>'
             '</bsdf>',
    # eta < 1 (the other branch of Mitsuba's fit) and a dim coating: few specular samples
    "inverted": """<bsdf type="plastic" id="inverted">
    <float name="int_ior" value="1.0"/><string name="ext_ior" value="water"/>
    <rgb name="diffuse_reflectance" value="0.9, 0.4, 0.1"/>
    <rgb name="specular_reflectance" value="0.2"/>
</bsdf>""",
    "dense": """<bsdf type="plastic" id="dense">
    <float name="int_ior" value="2.4"/><boolean name="nonlinear" value="true"/>
    <rgb name="diffuse_reflectance" value="0.7, 0.7, 0.2"/>
</bsdf>""",
    "checker": """<bsdf type="plastic" id="checker">
    <texture type="checkerboard" name="diffuse_reflectance">
        <rgb name="color0" value="0.1, 0.2, 0.3"/><rgb name="color1" value="0.8, 0.6, 0.4"/>
    </texture>
</bsdf>""",
}
POLYPROPYLENE = 1.4895873069763184  # Mitsuba's eta of the default plastic
ETAS = {"plastic_default": POLYPROPYLENE, "plastic_nonlinear": 1.899473786354065,
        "white": POLYPROPYLENE, "inverted": 1.0 / DIELECTRICS["water"],
        "dense": 2.4 / DIELECTRICS["air"], "checker": POLYPROPYLENE}
ALL = [*CASES, *EXTRA]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    xml = {case: checks.mitsuba_xml(case, case) for case in CASES}
    return checks.load_bsdfs(tmp_path_factory.mktemp("plastic"), {**xml, **EXTRA})


@pytest.fixture(scope="module")
def probes(scene):
    return {key: checks.BsdfProbe(scene, key) for key in scene.bsdfs}


@pytest.mark.parametrize("case", CASES)
def test_eval_and_pdf_match_mitsuba(probes, case):
    checks.against_mitsuba(probes[case], case)


@pytest.mark.parametrize("case", CASES)
def test_samples_match_mitsuba(probes, case):
    """At Mitsuba's random numbers the same lobe (mirror or diffuse), direction, weight and
    probability; nothing from below, as Mitsuba."""
    data = checks.mitsuba_case(case)
    s = probes[case].sample(data["s_wi"], data["u"])
    valid = data["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, valid)
    assert valid.sum() > 1000 and 0.05 < data["s_delta"][valid].mean() < 0.95
    np.testing.assert_array_equal(s["delta"][valid], data["s_delta"][valid])
    np.testing.assert_array_equal(s["lobe"][valid], data["s_component"][valid])
    np.testing.assert_allclose(s["wo"][valid], data["s_wo"][valid], atol=5e-6)
    np.testing.assert_allclose(s["weight"][valid], data["s_weight"][valid], rtol=2e-5,
                               atol=1e-7)
    np.testing.assert_allclose(s["pdf"][valid], data["s_pdf"][valid], rtol=2e-5, atol=1e-7)
    np.testing.assert_array_equal(s["eta"][valid], 1.0)


def reference_eval(wi, wo, rho, eta, nonlinear=False):
    """The diffuse lobe in numpy, from Mitsuba's formula (f x cos theta_o)."""
    f_i, f_o = fresnel(wi[:, 2], eta), fresnel(wo[:, 2], eta)
    fdr_int = fresnel_diffuse_reflectance(1.0 / eta)
    inner = np.asarray(rho) * fdr_int if nonlinear else fdr_int
    value = (np.asarray(rho) / (1 - inner))[None, :] * ((1 - f_i) * (1 - f_o) / eta ** 2
                                                        * wo[:, 2] / np.pi)[:, None]
    return np.where(((wi[:, 2] > 0) & (wo[:, 2] > 0))[:, None], value, 0.0)


@pytest.mark.parametrize("case, rho, nonlinear", [("inverted", [0.9, 0.4, 0.1], False),
                                                  ("dense", [0.7, 0.7, 0.2], True)])
def test_eval_matches_the_formula(probes, case, rho, nonlinear):
    """Configurations Mitsuba's data does not cover: eta < 1 (the fit's other branch) and a
    dense nonlinear coating."""
    rng = np.random.default_rng(1)
    wi, wo = (checks.random_directions(3000, rng) for _ in range(2))
    f, _ = probes[case].eval_pdf(wi, wo)
    np.testing.assert_allclose(f, reference_eval(wi, wo, rho, ETAS[case], nonlinear),
                               rtol=2e-5, atol=1e-7)


def test_eval_reads_the_texture_at_uv(probes):
    rng = np.random.default_rng(2)
    wi, wo = (checks.random_directions(200, rng, upper=True) for _ in range(2))
    for uv, rho in (((0.25, 0.25), [0.1, 0.2, 0.3]), ((0.75, 0.25), [0.8, 0.6, 0.4])):
        f, _ = probes["checker"].eval_pdf(wi, wo, np.tile(uv, (200, 1)))
        np.testing.assert_allclose(f, reference_eval(wi, wo, rho, POLYPROPYLENE), rtol=2e-5,
                                   atol=1e-7)


@pytest.mark.parametrize("case", ["plastic_default", "plastic_nonlinear", "dense"])
@pytest.mark.parametrize("cos_theta", [0.95, 0.5, 0.1])
def test_diffuse_sampling_chi2(probes, case, cos_theta):
    """(Not "inverted": with eta < 1 the diffuse samples beyond the critical angle have
    weight 0, F_o = 1, and the check leaves them out while the pdf counts them.)"""
    p, threshold = checks.chi2(probes[case], checks.direction(cos_theta), n=100_000, tests=9)
    assert p > threshold, p


@pytest.mark.parametrize("case", ALL)
@pytest.mark.parametrize("cos_theta", [0.9, 0.4, 0.05, -0.5])
def test_samples_agree_with_eval_pdf_and_delta(probes, case, cos_theta):
    checks.consistency(probes[case], checks.direction(cos_theta), n=2000)


@pytest.mark.parametrize("case", ALL)
def test_diffuse_lobe_is_reciprocal(probes, case):
    checks.reciprocity(probes[case])


@pytest.mark.parametrize("case", [c for c in ALL if c != "checker"])
@pytest.mark.parametrize("cos_theta", [0.9, 0.3])
def test_albedo_is_the_models(probes, case, cos_theta):
    """The mean sample weight is F_i s + (1 - F_i) rho / (1 - rho' fdr_int) (1 - fdr_ext) /
    eta^2, with fdr_ext the exact hemispherical Fresnel average (the integral of the diffuse
    lobe's (1 - F_o) cos / pi). Mitsuba's fits make it exceed 1 slightly for a white base
    (1.001 at polypropylene's eta); every coloured case stays below 1."""
    mean, se = checks.albedo(probes[case], checks.direction(cos_theta), n=100_000)
    eta = ETAS[case]
    rho = {"plastic_default": 0.5, "plastic_nonlinear": [0.2, 0.5, 0.8], "white": 1.0,
           "inverted": [0.9, 0.4, 0.1], "dense": [0.7, 0.7, 0.2]}[case]
    s = 0.2 if case == "inverted" else 1.0
    inner = np.asarray(rho) * fresnel_diffuse_reflectance(1 / eta) if case in (
        "plastic_nonlinear", "dense") else fresnel_diffuse_reflectance(1 / eta)
    f_i = fresnel(np.array(cos_theta), eta)
    expected = f_i * s + (1 - f_i) * np.asarray(rho) / (1 - inner) * (
        1 - hemispherical_fresnel(eta)) / eta ** 2
    assert np.all(np.abs(mean - expected) < 4 * se + 1e-6), (mean, expected, se)
    if case != "white":
        assert np.all(mean < 1 + 4 * se)


def test_nothing_from_behind(probes):
    wi = checks.random_directions(500, np.random.default_rng(3)) * [1, 1, -1]
    wi[:, 2] = -np.abs(wi[:, 2])
    wo = checks.random_directions(500, np.random.default_rng(4), upper=True)
    f, pdf = probes["plastic_default"].eval_pdf(wi, wo)
    assert not f.any() and not pdf.any()
    s = probes["plastic_default"].sample(wi, np.random.default_rng(5).random((500, 3)))
    assert not s["weight"].any()
    _, value = probes["plastic_default"].delta(wi, 0)
    assert not value.any()


def test_specular_sampling_weight_from_the_means(scene):
    """s / (d + s) of Mitsuba's texture means: an RGB constant's channel mean, a bitmap's
    mean luminance, a checkerboard's mean colour (values from Mitsuba 3.9.1)."""
    assert plastic.specular_sampling_weight(scene.bsdfs["plastic_default"]) == 1 / 1.5
    assert plastic.specular_sampling_weight(scene.bsdfs["inverted"]) == pytest.approx(
        0.2 / (0.2 + 1.4 / 3))
    assert plastic.texture_mean(scene.bsdfs["checker"].textures["diffuse_reflectance"]) \
        == pytest.approx(0.4, rel=1e-7)
    bitmap = Texture("bitmap", data=np.array([[[0.1, 0.2, 0.3], [0.9, 0.8, 0.2]]]))
    assert plastic.texture_mean(bitmap) == pytest.approx(0.48195773363113403, rel=1e-6)
    assert plastic.texture_mean(constant([0.2, 0.5, 0.9])) == pytest.approx(
        0.5333333611488342, rel=1e-7)
    black = type(scene.bsdfs["white"])(id="b", type="plastic", textures={
        "diffuse_reflectance": constant(0.0), "specular_reflectance": constant(0.0)})
    assert plastic.specular_sampling_weight(black) == 0.5


def test_pdf_uses_the_sampling_weight(probes):
    """The diffuse lobe's probability (1 - F_i)(1 - w) / (F_i w + (1 - F_i)(1 - w))."""
    wi, wo = checks.direction(0.6), checks.direction(0.8, 2.0)
    for case, w in (("plastic_default", 1 / 1.5), ("inverted", 0.2 / (0.2 + 1.4 / 3))):
        _, pdf = probes[case].eval_pdf(wi[None], wo[None])
        f_i = fresnel(np.array(0.6), ETAS[case])
        p_d = (1 - f_i) * (1 - w) / (f_i * w + (1 - f_i) * (1 - w))
        assert pdf[0] == pytest.approx(0.8 / np.pi * p_d, rel=1e-5)


def fresnel(cos_i, eta):
    """Unpolarised Fresnel reflectance from outside at cos_i > 0 (numpy), 1 under total
    internal reflection."""
    cos_i = np.asarray(cos_i, np.float64)
    cos_t2 = 1 - (1 - cos_i ** 2) / eta ** 2
    cos_t = np.sqrt(np.maximum(cos_t2, 0))
    a_s = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    a_p = (cos_t - eta * cos_i) / (cos_t + eta * cos_i)
    return np.where(cos_t2 > 0, 0.5 * (a_s ** 2 + a_p ** 2), 1.0)


def hemispherical_fresnel(eta, n=200_000):
    """The cosine-weighted hemispherical average of F: what fresnel_diffuse_reflectance fits."""
    c = (np.arange(n) + 0.5) / n
    return float(np.mean(fresnel(c, eta) * 2 * c))


# ---- loading ----

def load(tmp_path, bsdf: str):
    return checks.load_bsdfs(tmp_path, {"m": bsdf})


def test_parameters(tmp_path):
    scene = load(tmp_path, '<bsdf type="plastic" id="m"/>')
    params = invrender.ParameterMap(scene)
    assert "m.diffuse_reflectance.value" in params
    eta = next(p for p in params if p.name.startswith("m.eta"))
    assert float(eta.get()) == pytest.approx(POLYPROPYLENE, rel=1e-6)
    assert scene.bsdfs["m"].settings["nonlinear"] is False


@pytest.mark.parametrize("body, match", [
    ('<float name="int_ior" value="0"/>', r"'int_ior' must be a positive index of refraction"),
    ('<float name="ext_ior" value="-1"/>', r"'ext_ior' must be a positive"),
    ('<string name="int_ior" value="polypropelene"/>', r"did you mean polypropylene"),
    ('<float name="eta" value="1.5"/>', r"plastic has no 'eta' property"),
    ('<boolean name="nonlinear" value="maybe"/>', r"nonlinear"),
    ('<float name="alpha" value="0.1"/>', r"alpha"),
])
def test_bad_input(tmp_path, body, match):
    with pytest.raises(SceneError, match=match) as error:
        load(tmp_path, f'<bsdf type="plastic" id="m">\n    {body}\n</bsdf>')
    message = str(error.value)
    assert "bsdfs.xml" in message and ":3" in message, message
    assert len(message.splitlines()) <= 2, message


def test_written_scene_reads_back(tmp_path):
    """write_scene writes eta as int_ior over ext_ior 1 and ``nonlinear``; all comes back."""

    bsdfs = {case: checks.mitsuba_xml(case, case) for case in CASES}
    text = checks.SCENE.format(bsdfs="\n".join([*bsdfs.values(), EXTRA["dense"]]),
                               first="plastic_nonlinear")
    path = tmp_path / "scene.xml"
    path.write_text(text.replace('<shape type="rectangle">', '<shape type="rectangle" id="s">'))
    scene = invrender.load_scene(path)
    checks.reads_back_the_same(scene, tmp_path)


def test_twosided_plastic_loads(tmp_path):
    scene = load(tmp_path, '<bsdf type="twosided" id="m"><bsdf type="plastic"/></bsdf>')
    assert scene.bsdfs["m"].twosided and scene.bsdfs["m"].type == "plastic"
