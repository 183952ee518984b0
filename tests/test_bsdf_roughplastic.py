"""roughplastic against Mitsuba 3 (tests/data/bsdfs: eval, pdf and samples at its random
numbers), its precomputed internal scattering against Mitsuba's own numbers, a numpy
version of its formula where Mitsuba's data has no case (eta < 1, a dense nonlinear
coating), chi-square tests of its sampling (Beckmann and GGX, visible normals or all,
several alphas), consistency, reciprocity, albedo and bad input. One scene holds every
instance: one compile for the module."""

import numpy as np
import pytest

import invrender
from invrender.bsdfs import microfacet, roughplastic
from invrender.bsdfs.ior_data import DIELECTRICS
from invrender.bsdfs.probe import BsdfProbe
from invrender.errors import SceneError
from invrender.params import ParameterMap
from invrender.state import BSDF_FLOATS
from tests.bsdf_checks import (
    against_mitsuba,
    albedo,
    chi2,
    consistency,
    direction,
    load_bsdfs,
    mitsuba_case,
    mitsuba_xml,
    random_directions,
    reads_back_the_same,
    reciprocity,
)

CASES = ("roughplastic_beckmann", "roughplastic_ggx_nonlinear")
POLYPROPYLENE = 1.4895873069763184  # Mitsuba's eta of the default roughplastic (float32)
COS_THETA = (0.9, 0.5, 0.15)
ALPHAS = (0.1, 0.4)
needs_table = pytest.mark.skipif(
    BSDF_FLOATS < roughplastic.FLOATS,
    reason=f"the transmittance table needs {roughplastic.FLOATS} plugin floats per BSDF, "
           f"invrender.state.BSDF_FLOATS is {BSDF_FLOATS}")


def rough_xml(key, distribution, visible, alpha, extra=""):
    return (f'<bsdf type="roughplastic" id="{key}"><string name="distribution" '
            f'value="{distribution}"/><boolean name="sample_visible" '
            f'value="{str(visible).lower()}"/><float name="alpha" value="{alpha}"/>'
            f'{extra}</bsdf>')


def configs():
    out = []
    for distribution in ("beckmann", "ggx"):
        for visible in (True, False):
            tag = f"{distribution}_{'vis' if visible else 'all'}"
            out += [(f"{tag}_{a}", distribution, visible, a) for a in ALPHAS]
    return out


CONFIGS = configs()
CHI2_TESTS = len(CONFIGS) * len(COS_THETA)
EXTRA = {
    # eta < 1 (the other branches of the quadrature), coloured, a dim coating
    "inverted": rough_xml("inverted", "ggx", True, 0.2, (
        '<float name="int_ior" value="1.0"/><string name="ext_ior" value="water"/>'
        '<rgb name="diffuse_reflectance" value="0.9, 0.4, 0.1"/>'
        '<rgb name="specular_reflectance" value="0.2"/>')),
    "dense": rough_xml("dense", "beckmann", False, 0.5, (
        '<float name="int_ior" value="1.9"/><boolean name="nonlinear" value="true"/>'
        '<rgb name="diffuse_reflectance" value="0.7, 0.7, 0.2"/>')),
    "white": rough_xml("white", "ggx", True, 0.3, '<rgb name="diffuse_reflectance" value="1"/>'),
    "checker": rough_xml("checker", "beckmann", True, 0.1, (
        '<texture type="checkerboard" name="diffuse_reflectance">'
        '<rgb name="color0" value="0.1, 0.2, 0.3"/><rgb name="color1" value="0.8, 0.6, 0.4"/>'
        '</texture>')),
}
ETAS = {"inverted": 1.0 / DIELECTRICS["water"], "dense": 1.9 / DIELECTRICS["air"]}
SETUP = {  # (distribution, visible, alpha, diffuse, specular tint, nonlinear)
    "inverted": ("ggx", True, 0.2, [0.9, 0.4, 0.1], 0.2, False),
    "dense": ("beckmann", False, 0.5, [0.7, 0.7, 0.2], 1.0, True),
}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    xml = {case: mitsuba_xml(case, case) for case in CASES}
    xml.update({c[0]: rough_xml(*c) for c in CONFIGS})
    xml.update(EXTRA)
    return load_bsdfs(tmp_path_factory.mktemp("roughplastic"), xml)


@pytest.fixture(scope="module")
def bsdfs(scene):
    return {key: BsdfProbe(scene, key) for key in scene.bsdfs}


def test_transmittance_table_fits():
    """Mitsuba's 64-entry transmittance table (and two more numbers) must fit in a BSDF's
    plugin floats: until then roughplastic cannot load."""
    assert BSDF_FLOATS >= roughplastic.FLOATS, (
        f"raise invrender.state.BSDF_FLOATS to at least {roughplastic.FLOATS}")


# --- the precomputed internal scattering ------------------------------------------------------

# Mitsuba 3.9.1's tables (scalar_rgb), recovered from eval of the diffuse component alone at
# wi = wo = the table's nodes: (distribution, alpha, eta) -> (internal reflectance,
# {node: external transmittance})
MITSUBA_TABLES = {
    (microfacet.BECKMANN, 0.1, POLYPROPYLENE): (
        0.574661875324615, {0: 0.3701303, 1: 0.39237614, 2: 0.41570654}),
    (microfacet.GGX, 0.3, POLYPROPYLENE): (
        0.4087601842517215, {0: 0.636038, 1: 0.65105461, 2: 0.66493238}),
    (microfacet.BECKMANN, 0.5, 1.899473786354065): (
        0.6244258310462892, {0: 0.73589225, 1: 0.74097271, 10: 0.78061026, 32: 0.8483457,
                             63: 0.90204139}),
    (microfacet.GGX, 0.2, 0.7501875758171082): (
        0.04153971554614244, {1: 9.04186136e-04, 10: 2.94937014e-02, 32: 1.53030059e-01,
                              63: 9.45667604e-01}),
}


@pytest.mark.parametrize("config", list(MITSUBA_TABLES))
def test_internal_scattering_matches_mitsuba(config):
    """The host quadrature (Gauss-Legendre over visible normals, 32^2 nodes for eta > 1 and
    128^2 below, as Mitsuba) gives Mitsuba's float32 numbers."""
    internal, entries = MITSUBA_TABLES[config]
    table, reflectance = roughplastic.internal_scattering(*config)
    assert table.shape == (64,)
    assert reflectance == pytest.approx(internal, rel=1e-5)
    for node, value in entries.items():
        assert table[node] == pytest.approx(value, rel=2e-5, abs=2e-8), node


# --- Mitsuba's values -------------------------------------------------------------------------

@needs_table
@pytest.mark.parametrize("case", CASES)
def test_eval_pdf_match_mitsuba(bsdfs, case):
    against_mitsuba(bsdfs[case], case)


@needs_table
@pytest.mark.parametrize("case", CASES)
def test_samples_match_mitsuba(bsdfs, case):
    """At Mitsuba's random numbers the same lobe (u0 < its probability), direction, pdf of
    the mixture and weight."""
    data = mitsuba_case(case)
    s = bsdfs[case].sample(data["s_wi"], data["u"])
    ok = data["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, ok)
    assert ok.sum() > 1000 and 0.05 < data["s_component"][ok].mean() < 0.95
    assert not s["delta"].any()
    np.testing.assert_array_equal(s["lobe"][ok], data["s_component"][ok])
    np.testing.assert_allclose(s["wo"][ok], data["s_wo"][ok], atol=5e-6)
    np.testing.assert_allclose(s["weight"][ok], data["s_weight"][ok], rtol=2e-4)
    np.testing.assert_allclose(s["pdf"][ok], data["s_pdf"][ok], rtol=2e-4)
    np.testing.assert_array_equal(s["eta"][ok], 1.0)


def _lerp(table, cos_theta):
    x = cos_theta * 63
    i = np.minimum(x.astype(int), 62)
    return table[i] + (table[i + 1] - table[i]) * (x - i)


def _distribution(kind, alpha, m):
    cos2 = m[:, 2] ** 2
    tan2 = (m[:, 0] ** 2 + m[:, 1] ** 2) / cos2
    if kind == microfacet.BECKMANN:
        return np.exp(-tan2 / alpha ** 2) / (np.pi * alpha ** 2 * cos2 ** 2)
    return 1.0 / (np.pi * alpha ** 2 * cos2 ** 2 * (1 + tan2 / alpha ** 2) ** 2)


def _fresnel(cos_i, eta):
    cos_t2 = 1 - (1 - cos_i ** 2) / eta ** 2
    cos_t = np.sqrt(np.maximum(cos_t2, 0))
    a_s = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    a_p = (cos_t - eta * cos_i) / (cos_t + eta * cos_i)
    return np.where(cos_t2 > 0, 0.5 * (a_s ** 2 + a_p ** 2), 1.0)


def reference_eval(key, wi, wo):
    """Mitsuba's formula in numpy, with the host table."""
    distribution, _, alpha, rho, tint, nonlinear = SETUP[key]
    kind, eta, rho = microfacet.DISTRIBUTIONS[distribution], ETAS[key], np.asarray(rho)
    table, internal = roughplastic.internal_scattering(kind, alpha, eta)
    h = wi + wo
    h /= np.linalg.norm(h, axis=1, keepdims=True)
    g = (roughplastic._smith_g1(kind, alpha, wi.T, h.T)
         * roughplastic._smith_g1(kind, alpha, wo.T, h.T))
    specular = (_fresnel(np.sum(wi * h, axis=1), eta) * _distribution(kind, alpha, h) * g
                / (4 * wi[:, 2]))
    inner = rho * internal if nonlinear else internal
    diffuse = (rho / (1 - inner))[None] * (_lerp(table, wi[:, 2]) * _lerp(table, wo[:, 2])
                                           / (np.pi * eta ** 2) * wo[:, 2])[:, None]
    value = specular[:, None] * tint + diffuse
    return np.where(((wi[:, 2] > 0) & (wo[:, 2] > 0))[:, None], value, 0.0)


@needs_table
@pytest.mark.parametrize("key", list(SETUP))
def test_eval_matches_the_formula(bsdfs, key):
    """Configurations Mitsuba's data does not cover: eta < 1 with tints, and a dense
    nonlinear coating sampled without visible normals."""
    rng = np.random.default_rng(1)
    wi, wo = (random_directions(3000, rng, upper=True) for _ in range(2))
    f, _ = bsdfs[key].eval_pdf(wi, wo)
    np.testing.assert_allclose(f, reference_eval(key, wi, wo), rtol=1e-4, atol=1e-7)


@needs_table
def test_eval_reads_the_texture_at_uv(bsdfs):
    """A checkerboard base: where it is color0 (color1) the diffuse lobe is that colour; the
    specular lobe does not change."""
    rng = np.random.default_rng(2)
    wi, wo = (random_directions(300, rng, upper=True) for _ in range(2))
    values = [bsdfs["checker"].eval_pdf(wi, wo, np.tile(uv, (300, 1)))[0]
              for uv in ((0.25, 0.25), (0.75, 0.25))]
    table, internal = roughplastic.internal_scattering(microfacet.BECKMANN, 0.1, POLYPROPYLENE)
    shape = (_lerp(table, wi[:, 2]) * _lerp(table, wo[:, 2]) / (np.pi * POLYPROPYLENE ** 2)
             * wo[:, 2] / (1 - internal))[:, None]
    difference = (np.array([0.8, 0.6, 0.4]) - [0.1, 0.2, 0.3]) * shape
    np.testing.assert_allclose(values[1] - values[0], difference, rtol=1e-4, atol=1e-6)


# --- statistics -------------------------------------------------------------------------------

@needs_table
@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", [c[0] for c in CONFIGS])
def test_chi2(bsdfs, key, cos_theta):
    p, threshold = chi2(bsdfs[key], direction(cos_theta), n=100_000, res=(40, 80),
                        tests=CHI2_TESTS)
    assert p > threshold, f"{key} at cos theta {cos_theta}: p = {p:.3g}"


@needs_table
@pytest.mark.parametrize("cos_theta", (0.9, 0.4, 0.05, -0.5))
@pytest.mark.parametrize("key", [*CASES, "beckmann_all_0.1", "ggx_vis_0.4", *EXTRA])
def test_consistency(bsdfs, key, cos_theta):
    consistency(bsdfs[key], direction(cos_theta, phi=1.1), n=2000)


@needs_table
@pytest.mark.parametrize("key", [*CASES, "ggx_all_0.4", *EXTRA])
def test_reciprocity(bsdfs, key):
    reciprocity(bsdfs[key])


@needs_table
@pytest.mark.parametrize("key", [*CASES, "beckmann_vis_0.1", "ggx_all_0.4", "inverted",
                                 "dense", "white"])
def test_albedo_at_most_one(bsdfs, key):
    """Even a white base stays below 1: the coating's table counts the energy its
    single-scattering microfacets lose."""
    for cos_theta in COS_THETA:
        mean, se = albedo(bsdfs[key], direction(cos_theta), n=50_000)
        assert np.all(mean <= 1 + 4 * se + 1e-6), (key, cos_theta, mean)
        assert np.all(mean > 0.05), (key, cos_theta, mean)


@needs_table
def test_one_sided(bsdfs):
    rng = np.random.default_rng(3)
    below = random_directions(500, rng, upper=True) * [1, 1, -1]
    above = random_directions(500, rng, upper=True)
    for key in ("roughplastic_beckmann", "dense"):
        for wi, wo in ((below, above), (above, below)):
            f, pdf = bsdfs[key].eval_pdf(wi, wo)
            assert not f.any() and not pdf.any()
        assert not bsdfs[key].sample(below, rng.random((500, 3)))["weight"].any()


@needs_table
def test_pdf_uses_the_sampling_weight(bsdfs):
    """The mixture p_s D(h) G1(wi, h) / (4 cos theta_i) + (1 - p_s) cos theta_o / pi with
    p_s = (1 - t_i) w / ((1 - t_i) w + t_i (1 - w)), w the specular sampling weight
    s / (d + s) of the textures' means."""
    wi, wo = direction(0.6)[None], direction(0.8, 2.0)[None]
    h = (wi + wo) / np.linalg.norm(wi + wo)
    for key, kind, alpha, w in (("roughplastic_beckmann", microfacet.BECKMANN, 0.1, 1 / 1.5),
                                ("inverted", microfacet.GGX, 0.2, 0.2 / (0.2 + 1.4 / 3))):
        table, _ = roughplastic.internal_scattering(kind, alpha, ETAS.get(key, POLYPROPYLENE))
        t_i = _lerp(table, np.array([0.6]))[0]
        p_s = (1 - t_i) * w / ((1 - t_i) * w + t_i * (1 - w))
        specular = (_distribution(kind, alpha, h) * roughplastic._smith_g1(kind, alpha, wi.T, h.T)
                    / (4 * 0.6))[0]
        _, pdf = bsdfs[key].eval_pdf(wi, wo)
        assert pdf[0] == pytest.approx(p_s * specular + (1 - p_s) * 0.8 / np.pi, rel=1e-4)


# --- parameters and bad input -----------------------------------------------------------------

def _load(tmp_path, body):
    path = tmp_path / "bad.xml"
    path.write_text(f'<scene version="3.0.0">\n{body}\n'
                    '<shape type="rectangle" id="quad"><ref id="m"/></shape></scene>\n')
    return invrender.load_scene(path)


@needs_table
def test_parameters(tmp_path):
    """Mitsuba's traverse names: alpha and eta are plain floats; alpha is stored clamped to
    1e-4, as Mitsuba's traverse shows it."""
    scene = _load(tmp_path, mitsuba_xml("roughplastic_ggx_nonlinear", "m") + "\n"
                  + '<bsdf type="roughplastic" id="z"><float name="alpha" value="0"/></bsdf>')
    params = ParameterMap(scene)
    assert params.keys()[:4] == ["m.diffuse_reflectance.value", "m.alpha", "m.eta",
                                 "m.specular_reflectance.value"]
    assert float(params["m.alpha"]) == pytest.approx(0.3)
    assert float(params["m.eta"]) == pytest.approx(POLYPROPYLENE, rel=1e-6)
    assert float(params["z.alpha"]) == microfacet.ALPHA_MIN
    assert scene.bsdfs["m"].settings == {"distribution": "ggx", "sample_visible": True,
                                         "nonlinear": True}


@needs_table
def test_equal_alpha_u_and_alpha_v_load(tmp_path):
    """Mitsuba reads a roughplastic's alpha_u = alpha_v as one alpha."""
    scene = _load(tmp_path, '<bsdf type="roughplastic" id="m"><float name="alpha_u" '
                  'value="0.2"/><float name="alpha_v" value="0.2"/></bsdf>')
    assert float(scene.bsdfs["m"].textures["alpha"].value[0]) == 0.2


@needs_table
def test_written_scene_reads_back(tmp_path):
    """write_scene writes eta as int_ior over ext_ior 1, alpha as a float and the settings;
    all comes back."""
    body = "\n".join([mitsuba_xml(case, case) for case in CASES] + [EXTRA["dense"].replace(
        'id="dense"', 'id="m"')])
    scene = _load(tmp_path, body)
    reads_back_the_same(scene, tmp_path)


@pytest.mark.parametrize("body, match", [
    ('<float name="alpha" value="-0.1"/>', "must not be negative"),
    ('<float name="alpha_u" value="0.1"/><float name="alpha_v" value="0.2"/>',
     "does not support anisotropic roughness"),
    ('<float name="alpha_u" value="0.1"/>', "both 'alpha_u' and 'alpha_v'"),
    ('<texture type="checkerboard" name="alpha"/>', "'alpha' .* must be float"),
    ('<string name="distribution" value="phong"/>', "invalid microfacet distribution"),
    ('<float name="int_ior" value="0"/>', "'int_ior' must be a positive index of refraction"),
    ('<float name="int_ior" value="1.5"/><float name="ext_ior" value="1.5"/>', "must differ"),
    ('<string name="int_ior" value="polypropelene"/>', "did you mean polypropylene"),
    ('<float name="eta" value="1.5"/>', "roughplastic has no 'eta' property"),
    ('<boolean name="nonlinear" value="maybe"/>', "nonlinear"),
])
def test_bad_input(tmp_path, body, match):
    with pytest.raises(SceneError, match=match) as err:
        _load(tmp_path, f'<bsdf type="roughplastic" id="m">{body}</bsdf>')
    assert err.value.file.endswith("bad.xml") and err.value.line == 2
    assert "\n" not in str(err.value)


@needs_table
def test_changed_values_refresh_the_internal_scattering(tmp_path):
    """Setting alpha and eta recomputes the plugin's table and sampling weight, as Mitsuba's
    parameters_changed does: the BSDF then equals one loaded with those values."""
    body = EXTRA["dense"].replace('id="dense"', 'id="m"')
    changed = _load(tmp_path, body)
    rng = np.random.default_rng(8)
    wi, wo = random_directions(500, rng, upper=True), random_directions(500, rng, upper=True)
    before, _ = BsdfProbe(changed, "m").eval_pdf(wi, wo)  # uploaded at the first values
    params = ParameterMap(changed)
    params["m.alpha"] = 0.2
    params["m.eta"] = 1.4 / DIELECTRICS["air"]  # int_ior over the default ext_ior
    fresh = _load(tmp_path, body.replace('value="0.5"', 'value="0.2"', 1)
                  .replace('<float name="int_ior" value="1.9"/>',
                           '<float name="int_ior" value="1.4"/>'))
    assert float(ParameterMap(fresh)["m.alpha"]) == 0.2
    f_changed, pdf_changed = BsdfProbe(changed, "m").eval_pdf(wi, wo)
    f_fresh, pdf_fresh = BsdfProbe(fresh, "m").eval_pdf(wi, wo)
    np.testing.assert_array_equal(f_changed, f_fresh)
    np.testing.assert_array_equal(pdf_changed, pdf_fresh)
    assert np.abs(f_changed - before).max() > 1e-3
