"""roughdielectric against Mitsuba 3 (tests/data/bsdfs: eval, pdf and samples at its random
numbers), chi-square tests of its sampling from outside and from inside (Beckmann and GGX,
visible normals or all, several alphas, one anisotropic), consistency, reciprocity of the
reflection and the generalised reciprocity of the refraction, energy conservation, and bad
input. One scene holds every instance: one compile for the module."""

import numpy as np
import pytest

import invrender
from invrender.bsdfs.ior_data import DIELECTRICS
from invrender.errors import SceneError
from invrender.params import ParameterMap
from tests.bsdf_checks import (
    against_mitsuba,
    chi2,
    consistency,
    direction,
    mitsuba_case,
    mitsuba_xml,
    probes,
    random_directions,
    reads_back_the_same,
    reciprocity,
)

CASES = ("roughdielectric_beckmann", "roughdielectric_ggx", "roughdielectric_ggx_novis")
BK7 = DIELECTRICS["bk7"] / DIELECTRICS["air"]
ETAS = {"roughdielectric_ggx": 1.3296316862106323,  # Mitsuba's traverse (float32)
        "inverted": 1.0 / DIELECTRICS["water"]}  # the others: bk7 in air
# negative: from inside. Refraction through near-vertical facets piles density against the
# edge wo.z = -cos theta_i eta_ti of the refracted lobe; these angles keep that edge clear of
# the chi-square histogram's cell boundaries, which its midpoint integrals would miss
COS_THETA = (0.9, 0.5, 0.25, -0.9, -0.55, -0.25)
ALPHAS = (0.1, 0.4)


def rough_xml(key, distribution, visible, alpha_u, alpha_v=None, extra=""):
    alpha = (f'<float name="alpha" value="{alpha_u}"/>' if alpha_v is None else
             f'<float name="alpha_u" value="{alpha_u}"/><float name="alpha_v" '
             f'value="{alpha_v}"/>')
    return (f'<bsdf type="roughdielectric" id="{key}"><string name="distribution" '
            f'value="{distribution}"/><boolean name="sample_visible" '
            f'value="{str(visible).lower()}"/>{alpha}{extra}</bsdf>')


def configs():
    """(key, distribution, visible, alpha_u, alpha_v or None) of the chi-square set."""
    out = []
    for distribution in ("beckmann", "ggx"):
        for visible in (True, False):
            tag = f"{distribution}_{'vis' if visible else 'all'}"
            out += [(f"{tag}_{a}", distribution, visible, a, None) for a in ALPHAS]
        out.append((f"{distribution}_vis_0.1_0.4", distribution, True, 0.1, 0.4))
    return out


CONFIGS = configs()
CHI2_TESTS = len(CONFIGS) * len(COS_THETA)


@pytest.fixture(scope="module")
def bsdfs(tmp_path_factory):
    xml = {case: mitsuba_xml(case, case) for case in CASES}
    xml.update({key: rough_xml(key, d, v, au, av) for key, d, v, au, av in CONFIGS})
    # tinted, and an interface seen from its denser side (eta < 1: the outside is water)
    xml["tinted"] = rough_xml("tinted", "ggx", True, 0.3, extra=(
        '<rgb name="specular_reflectance" value="0.9, 0.5, 0.2"/>'
        '<rgb name="specular_transmittance" value="0.3, 0.6, 0.8"/>'))
    xml["inverted"] = rough_xml("inverted", "beckmann", True, 0.2, extra=(
        '<float name="int_ior" value="1.0"/><string name="ext_ior" value="water"/>'))
    return probes(tmp_path_factory.mktemp("roughdielectric"), xml)


# --- Mitsuba's values ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_eval_pdf_match_mitsuba(bsdfs, case):
    """Float32 agreement at all 2200 pairs (transmission from both sides, grazing pairs)."""
    against_mitsuba(bsdfs[case], case)


def _ggx(m, alpha):
    return 1.0 / (np.pi * alpha ** 2 * ((m[:, 0] ** 2 + m[:, 1] ** 2) / alpha ** 2
                                        + m[:, 2] ** 2) ** 2)


@pytest.mark.parametrize("case", CASES)
def test_samples_match_mitsuba(bsdfs, case):
    """At Mitsuba's random numbers: the same lobe (u0 <= F), direction, pdf and bs.eta, and
    the same weight with visible normals. Without them Mitsuba's weight leaves out
    D(m) / D_scaled(m) of Walter's scaled sampling (its weight is not its eval / pdf); ours
    is eval / pdf, Mitsuba's times that ratio."""
    data = mitsuba_case(case)
    s = bsdfs[case].sample(data["s_wi"], data["u"])
    ok = data["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, ok)
    assert ok.sum() > 1500 and 0.02 < data["s_component"][ok].mean() < 0.98
    assert not s["delta"].any()
    np.testing.assert_array_equal(s["lobe"][ok], data["s_component"][ok])
    np.testing.assert_allclose(s["eta"][ok], data["s_eta"][ok], rtol=1e-7)
    np.testing.assert_allclose(s["wo"][ok], data["s_wo"][ok], atol=5e-6)
    np.testing.assert_allclose(s["pdf"][ok], data["s_pdf"][ok], rtol=2e-4)
    expected = data["s_weight"][ok]
    if case.endswith("novis"):
        wi, wo, eta = data["s_wi"][ok], data["s_wo"][ok], data["s_eta"][ok]
        m = wi + wo * eta[:, None]  # the sampled normal: the generalised half vector
        m *= np.sign(m[:, 2:3]) / np.linalg.norm(m, axis=1, keepdims=True)
        scaled = 0.5 * (1.2 - 0.2 * np.sqrt(np.abs(wi[:, 2])))
        expected = expected * (_ggx(m, 0.5) / _ggx(m, scaled))[:, None]
    np.testing.assert_allclose(s["weight"][ok], expected, rtol=5e-4)


# --- statistics -----------------------------------------------------------------------------

@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", [c[0] for c in CONFIGS])
def test_chi2(bsdfs, key, cos_theta):
    p, threshold = chi2(bsdfs[key], direction(cos_theta), n=100_000, res=(40, 80),
                        tests=CHI2_TESTS)
    assert p > threshold, f"{key} at cos theta {cos_theta}: p = {p:.3g}"


@pytest.mark.parametrize("cos_theta", (0.9, 0.4, 0.05, -0.05, -0.6, -0.95))
@pytest.mark.parametrize("key", [*CASES, "beckmann_all_0.1", "ggx_vis_0.1_0.4", "tinted",
                                 "inverted"])
def test_consistency(bsdfs, key, cos_theta):
    consistency(bsdfs[key], direction(cos_theta, phi=1.1), n=2000)


@pytest.mark.parametrize("key", [*CASES, "ggx_vis_0.1_0.4", "tinted"])
def test_reflection_is_reciprocal(bsdfs, key):
    """f(wi, wo) = f(wo, wi) for reflection, outside and inside (both directions below)."""
    reciprocity(bsdfs[key])
    rng = np.random.default_rng(7)
    wi, wo = (random_directions(2000, rng, upper=True) * [1, 1, -1] for _ in range(2))
    f_io, _ = bsdfs[key].eval_pdf(wi, wo)
    f_oi, _ = bsdfs[key].eval_pdf(wo, wi)
    np.testing.assert_allclose(f_io / -wo[:, 2:3], f_oi / -wi[:, 2:3], rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("key", ["roughdielectric_beckmann", "roughdielectric_ggx",
                                 "ggx_all_0.4", "ggx_vis_0.1_0.4", "tinted", "inverted"])
def test_refraction_obeys_generalised_reciprocity(bsdfs, key):
    """Veach's f(wi, wo) / eta_o^2 = f(wo, wi) / eta_i^2 holds for the physical BTDF, which
    is Mitsuba's radiance-transport one (what eval returns) times (eta_o / eta_i)^2: for
    eval's values f(wi, wo) / eta_i^2 = f(wo, wi) / eta_o^2. Checked at refracted samples
    from outside (eta_i = 1, eta_o = eta) and from inside."""
    eta = ETAS.get(key, BK7)
    rng = np.random.default_rng(8)
    for side in (1, -1):
        wi = random_directions(4000, rng, upper=True) * [1, 1, side]
        s = bsdfs[key].sample(wi, rng.random((4000, 3)))
        refracted = (s["lobe"] == 1) & (s["weight"].max(axis=1) > 0)
        assert refracted.sum() > 500
        wi, wo = wi[refracted], s["wo"][refracted]
        f_io, _ = bsdfs[key].eval_pdf(wi, wo)
        f_oi, _ = bsdfs[key].eval_pdf(wo, wi)
        f_io, f_oi = f_io / np.abs(wo[:, 2:3]), f_oi / np.abs(wi[:, 2:3])
        eta_i, eta_o = (1.0, eta) if side == 1 else (eta, 1.0)
        physical_io = f_io * (eta_o / eta_i) ** 2
        physical_oi = f_oi * (eta_i / eta_o) ** 2
        np.testing.assert_allclose(physical_io / eta_o ** 2, physical_oi / eta_i ** 2,
                                   rtol=2e-3, atol=1e-5)


def _energy(probe, cos_theta, n=100_000, seed=4):
    """Mean and standard error of the sample weights with refracted ones times bs.eta^2:
    the fraction of energy reflected plus refracted (the weights carry the radiance factor
    1 / eta^2 of refraction, which is not lost energy)."""
    rng = np.random.default_rng(seed)
    s = probe.sample(np.tile(direction(cos_theta), (n, 1)), rng.random((n, 3)))
    w = s["weight"].astype(np.float64) * (s["eta"].astype(np.float64) ** 2)[:, None]
    return w.mean(0), w.std(0) / np.sqrt(n), s


@pytest.mark.parametrize("key", ["roughdielectric_beckmann", "beckmann_vis_0.1",
                                 "ggx_vis_0.1", "beckmann_all_0.1", "ggx_all_0.1"])
def test_energy_at_normal_incidence_is_almost_one(bsdfs, key):
    """alpha 0.1 at normal incidence loses little to the single-scattering model: the energy
    is <= 1 and > 0.98 (0.9 is the brief's bound), from outside and inside; the plain mean
    weight is R + T / eta^2 from outside (less than 1 by the radiance factor only)."""
    for cos_theta in (1.0, -1.0):
        mean, se, s = _energy(bsdfs[key], cos_theta)
        assert np.all(mean <= 1 + 4 * se + 1e-6), (key, cos_theta, mean)
        assert np.all(mean > 0.98), (key, cos_theta, mean)
    mean, se, s = _energy(bsdfs[key], 1.0)
    plain = s["weight"].mean(0)
    assert np.all(plain < mean - 0.3)  # T / eta^2 = 0.96 / 2.26


@pytest.mark.parametrize("key", [*CASES, "beckmann_all_0.4", "ggx_vis_0.1_0.4", "tinted",
                                 "inverted"])
def test_energy_at_most_one(bsdfs, key):
    for cos_theta in COS_THETA:
        mean, se, _ = _energy(bsdfs[key], cos_theta, n=50_000)
        assert np.all(mean <= 1 + 4 * se + 1e-6), (key, cos_theta, mean)


def test_tints_scale_their_lobes(bsdfs):
    rng = np.random.default_rng(9)
    wi = random_directions(1000, rng)
    wo = random_directions(1000, rng)
    f, _ = bsdfs["tinted"].eval_pdf(wi, wo)
    reflected = wi[:, 2] * wo[:, 2] > 0
    has = f.max(axis=1) > 1e-4
    ratio = f / np.maximum(f[:, :1], 1e-30)
    np.testing.assert_allclose(ratio[reflected & has], np.tile([1, 5 / 9, 2 / 9], (
        (reflected & has).sum(), 1)), rtol=1e-5)
    np.testing.assert_allclose(ratio[~reflected & has], np.tile([1, 2, 8 / 3], (
        (~reflected & has).sum(), 1)), rtol=1e-5)


# --- parameters and bad input -----------------------------------------------------------

def _load(tmp_path, body):
    path = tmp_path / "bad.xml"
    path.write_text(f'<scene version="3.0.0">\n{body}\n'
                    '<shape type="rectangle" id="quad"><ref id="m"/></shape></scene>\n')
    return invrender.load_scene(path)


def test_parameters(tmp_path):
    scene = _load(tmp_path, mitsuba_xml("roughdielectric_ggx", "m") + "\n"
                  + rough_xml("a", "ggx", True, 0.1, 0.3))
    params = ParameterMap(scene)
    assert params.keys()[:4] == ["m.eta", "m.alpha.value", "m.specular_reflectance.value",
                                 "m.specular_transmittance.value"]
    assert float(params["m.eta"]) == pytest.approx(ETAS["roughdielectric_ggx"], rel=1e-6)
    assert float(params["m.alpha.value"]) == pytest.approx(0.3)
    assert {"a.alpha_u.value", "a.alpha_v.value"} <= set(params.keys())
    plugin = invrender.bsdfs.registry.BSDFS["roughdielectric"]
    assert plugin.transmits and not plugin.oriented(scene.bsdfs["m"])
    assert plugin.oriented(scene.bsdfs["a"])
    assert scene.bsdfs["m"].settings == {"distribution": "ggx", "sample_visible": True}


def test_written_scene_reads_back(tmp_path):
    """write_scene writes eta as int_ior over ext_ior 1, the settings and the alphas (one
    ``alpha`` if isotropic); all comes back."""
    body = "\n".join([mitsuba_xml(case, case) for case in CASES]
                     + [rough_xml("m", "ggx", False, 0.1, 0.4, extra=(
                         '<rgb name="specular_transmittance" value="0.3, 0.6, 0.8"/>'))])
    scene = _load(tmp_path, body)
    reads_back_the_same(scene, tmp_path)


@pytest.mark.parametrize("body, match", [
    ('<bsdf type="roughdielectric" id="m"><float name="alpha" value="-0.1"/></bsdf>',
     "must not be negative"),
    ('<bsdf type="roughdielectric" id="m"><float name="alpha_u" value="0.1"/></bsdf>',
     "both 'alpha_u' and 'alpha_v'"),
    ('<bsdf type="roughdielectric" id="m"><string name="distribution" value="phong"/>'
     '</bsdf>', "invalid microfacet distribution 'phong'"),
    ('<bsdf type="roughdielectric" id="m"><float name="int_ior" value="0"/></bsdf>',
     "'int_ior' must be a positive index of refraction"),
    ('<bsdf type="roughdielectric" id="m"><string name="int_ior" value="water"/>'
     '<float name="ext_ior" value="1.333"/></bsdf>', "must differ"),
    ('<bsdf type="roughdielectric" id="m"><string name="int_ior" value="bk8"/></bsdf>',
     "did you mean bk7"),
    ('<bsdf type="roughdielectric" id="m"><float name="eta" value="1.5"/></bsdf>',
     "roughdielectric has no 'eta' property"),
    ('<bsdf type="twosided" id="m"><bsdf type="roughdielectric"/></bsdf>', "twosided"),
])
def test_bad_input(tmp_path, body, match):
    with pytest.raises(SceneError, match=match) as err:
        _load(tmp_path, body)
    assert err.value.file.endswith("bad.xml") and err.value.line == 2
    assert "\n" not in str(err.value)


def test_zero_alpha_loads(tmp_path):
    """Mitsuba accepts alpha 0 and clamps it to 1e-4 inside the distribution."""
    _load(tmp_path, '<bsdf type="roughdielectric" id="m"><float name="alpha" value="0"/>'
                    '</bsdf>')
