"""The smooth ``dielectric``, ``thindielectric`` and ``null`` BSDFs against Mitsuba 3's values
(tests/data/bsdfs), their sampling against their own delta lobes, energy conservation, the
load errors and the written XML. All instances live in one scene: one compile for the
module; the derivatives through the path tracer (slow) compile a scene of their own."""

import numpy as np
import pytest

import invrender
from invrender.errors import SceneError
from tests import bsdf_checks as checks

CASES = ["dielectric_default", "dielectric_water", "dielectric_inv", "thindielectric_default",
         "thindielectric_tinted", "null"]
EXTRA = {
    "glass_tinted": """<bsdf type="dielectric" id="glass_tinted">
    <float name="int_ior" value="1.7"/>
    <rgb name="specular_reflectance" value="0.9, 0.6, 0.3"/>
    <rgb name="specular_transmittance" value="0.2, 0.5, 0.8"/>
</bsdf>""",
    "glass_17": '<bsdf type="dielectric" id="glass_17"><float name="int_ior" value="1.7"/></bsdf>',
    "glass_same": """<bsdf type="dielectric" id="glass_same">
    <float name="int_ior" value="1.33"/><float name="ext_ior" value="1.33"/></bsdf>""",
    "thin_tinted": """<bsdf type="thindielectric" id="thin_tinted">
    <string name="int_ior" value="diamond"/>
    <rgb name="specular_reflectance" value="0.3, 0.6, 0.9"/>
</bsdf>""",
}
DIELECTRICS = ["dielectric_default", "dielectric_water", "dielectric_inv", "glass_same"]
THIN = ["thindielectric_default", "thindielectric_tinted"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    xml = {case: checks.mitsuba_xml(case, case) for case in CASES}
    return checks.load_bsdfs(tmp_path_factory.mktemp("dielectric"), {**xml, **EXTRA})


@pytest.fixture(scope="module")
def probes(scene):
    return {key: checks.BsdfProbe(scene, key) for key in scene.bsdfs}


def unit_directions(n, seed):
    return checks.random_directions(n, np.random.default_rng(seed))


@pytest.mark.parametrize("case", CASES)
def test_eval_and_pdf_are_zero_as_mitsuba(probes, case):
    """Only delta lobes: eval and pdf are 0 at every pair, as Mitsuba's."""
    checks.against_mitsuba(probes[case], case)
    data = checks.mitsuba_case(case)
    assert not data["value"].any() and not data["pdf"].any()


@pytest.mark.parametrize("case", CASES)
def test_samples_match_mitsuba(probes, case):
    """At Mitsuba's random numbers (its (sample1, sample2) = our (u0, u1, u2)) the same lobe,
    direction, weight, probability and eta."""
    data = checks.mitsuba_case(case)
    s = probes[case].sample(data["s_wi"], data["u"])
    valid = data["s_weight"].max(axis=1) > 0
    assert valid.all() and data["s_delta"].all()
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, valid)
    assert s["delta"].all()
    np.testing.assert_array_equal(s["lobe"], data["s_component"])
    np.testing.assert_allclose(s["wo"], data["s_wo"], atol=5e-6)
    np.testing.assert_allclose(s["weight"], data["s_weight"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(s["pdf"], data["s_pdf"], rtol=1e-4, atol=2e-6)
    np.testing.assert_allclose(s["eta"], data["s_eta"], rtol=1e-6)


@pytest.mark.parametrize("case", [*CASES, *EXTRA])
@pytest.mark.parametrize("cos_theta", [0.9, 0.2, -0.5])
def test_samples_are_their_delta_lobes(probes, case, cos_theta):
    checks.consistency(probes[case], checks.direction(cos_theta), n=2000)


@pytest.mark.parametrize("case", DIELECTRICS)
def test_dielectric_conserves_flux(scene, probes, case):
    """With unit tints R + T = 1: the reflected value plus the refracted one without its
    radiance factor eta_ti^2 = 1 / eta_it^2 is 1, and so is every sample's weight x
    bs.eta^2 (the refracted weight itself is eta_ti^2, not 1: radiance changes across the
    interface, flux does not)."""
    wi = unit_directions(3000, 5)
    probe = probes[case]
    _, reflected = probe.delta(wi, 0)
    _, refracted = probe.delta(wi, 1)
    eta = scene.bsdfs[case].textures["eta"].value[0]
    eta_it = np.where(wi[:, 2] >= 0, eta, 1 / eta)[:, None]
    np.testing.assert_allclose(reflected + refracted * eta_it ** 2, 1.0, rtol=2e-6)
    s = probe.sample(wi, np.random.default_rng(6).random((len(wi), 3)))
    np.testing.assert_allclose(s["weight"] * s["eta"][:, None] ** 2, 1.0, rtol=2e-6)
    refracting = s["lobe"] == 1
    np.testing.assert_allclose(s["eta"][refracting], eta_it[refracting, 0], rtol=1e-6)
    assert refracting.any() and (case == "glass_same" or (~refracting).any())


@pytest.mark.parametrize("case", ["dielectric_default", "dielectric_inv"])
def test_dielectric_refraction_is_reversible(scene, probes, case):
    """Refracting the refracted direction leads back to wi with the same Fresnel
    transmittance T (value / eta_ti^2), the delta form of f(wi, wo) / eta_o^2 =
    f(wo, wi) / eta_i^2."""
    wi = unit_directions(2000, 7)
    probe = probes[case]
    wo, value = probe.delta(wi, 1)
    # not totally reflected, and away from the critical angle (where float32's cos theta_t
    # = sqrt(1 - eta^2 sin^2) loses its digits)
    through = (value.max(axis=1) > 0) & (np.abs(wo[:, 2]) > 0.1) & (np.abs(wi[:, 2]) > 0.1)
    assert through.mean() > 0.5
    back, value_back = probe.delta(wo[through], 1)
    np.testing.assert_allclose(back, wi[through], atol=2e-5)
    eta = scene.bsdfs[case].textures["eta"].value[0]
    eta_ti = np.where(wi[through, 2] > 0, 1 / eta, eta)
    np.testing.assert_allclose(value[through] / eta_ti[:, None] ** 2,
                               value_back * eta_ti[:, None] ** 2, rtol=1e-4, atol=1e-6)


def test_dielectric_total_internal_reflection(probes):
    """From inside beyond the critical angle everything reflects: R = 1, no refraction."""
    wi = checks.direction(-0.3)  # glass (1.5) to air: critical cos theta = 0.745
    s = probes["dielectric_default"].sample(np.tile(wi, (100, 1)),
                                            np.random.default_rng(8).random((100, 3)))
    assert (s["lobe"] == 0).all() and np.allclose(s["pdf"], 1.0)
    np.testing.assert_allclose(s["wo"], np.tile(wi * [-1, -1, 1], (100, 1)), atol=1e-6)
    _, refracted = probes["dielectric_default"].delta(wi[None], 1)
    assert not refracted.any()


def test_dielectric_tints(probes):
    """specular_reflectance multiplies the reflection, specular_transmittance the
    refraction, and nothing else changes."""
    wi = unit_directions(500, 9)
    for lobe, tint in ((0, [0.9, 0.6, 0.3]), (1, [0.2, 0.5, 0.8])):
        wo, tinted = probes["glass_tinted"].delta(wi, lobe)
        wo_plain, plain = probes["glass_17"].delta(wi, lobe)
        np.testing.assert_allclose(wo, wo_plain, atol=1e-7)
        np.testing.assert_allclose(tinted, plain * tint, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", THIN)
def test_thindielectric_conserves_energy(scene, probes, case):
    """R' + T' = 1 for every wi (both sides), R' = R + T^2 R / (1 - R^2), and every sample's
    weight is its lobe's tint."""
    wi = unit_directions(3000, 10)
    probe = probes[case]
    wo_r, reflected = probe.delta(wi, 0)
    wo_t, through = probe.delta(wi, 1)
    tint = np.array([0.9, 0.5, 0.2]) if case == "thindielectric_tinted" else np.ones(3)
    np.testing.assert_allclose(reflected + through / tint, 1.0, rtol=2e-6)
    np.testing.assert_allclose(wo_t, -wi, atol=1e-7)
    np.testing.assert_allclose(wo_r, wi * [-1, -1, 1], atol=1e-7)
    eta = scene.bsdfs[case].textures["eta"].value[0]
    r = fresnel(np.abs(wi[:, 2]), eta)
    t = 1 - r
    np.testing.assert_allclose(reflected[:, 0], r + t * t * r / (1 - r * r), rtol=1e-5,
                               atol=1e-7)
    s = probe.sample(wi, np.random.default_rng(11).random((len(wi), 3)))
    assert np.all(s["eta"] == 1.0)
    np.testing.assert_allclose(s["weight"] / tint * (s["lobe"] == 1)[:, None]
                               + s["weight"] * (s["lobe"] == 0)[:, None], 1.0, rtol=1e-6)


def test_thindielectric_same_from_both_sides(probes):
    wi = unit_directions(500, 12)
    flipped = wi * [1, 1, -1]
    for lobe in (0, 1):
        _, a = probes["thin_tinted"].delta(wi, lobe)
        _, b = probes["thin_tinted"].delta(flipped, lobe)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_null_passes_light_through(probes):
    wi = unit_directions(500, 13)
    s = probes["null"].sample(wi, np.random.default_rng(14).random((len(wi), 3)))
    np.testing.assert_allclose(s["wo"], -wi, atol=1e-7)
    assert np.all(s["weight"] == 1.0) and np.all(s["pdf"] == 1.0) and np.all(s["eta"] == 1.0)
    assert s["delta"].all() and not s["lobe"].any()
    wo, value = probes["null"].delta(wi, 0)
    np.testing.assert_allclose(wo, -wi, atol=1e-7)
    assert np.all(value == 1.0)


def fresnel(cos_i, eta):
    """The unpolarised Fresnel reflectance from outside (numpy)."""
    sin_t2 = (1 - cos_i ** 2) / eta ** 2
    cos_t = np.sqrt(np.maximum(1 - sin_t2, 0))
    a_s = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    a_p = (cos_t - eta * cos_i) / (cos_t + eta * cos_i)
    return 0.5 * (a_s ** 2 + a_p ** 2)


# ---- derivatives through the path tracer ----

# Camera -> an invisible null veil -> a thin pane (left) or a water surface (right) -> a
# plastic floor under an area light and a sky: every plugin of this family and plastic on
# the paths, whose delta vertices the replay follows.
GRADIENT_SCENE = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="5"/></integrator>
  <sensor type="perspective"><float name="fov" value="45"/>
    <transform name="to_world"><lookat origin="0, 1.2, 3" target="0, 0.3, 0" up="0, 1, 0"/>
    </transform>
    <film type="hdrfilm"><integer name="width" value="8"/><integer name="height" value="8"/>
      <rfilter type="box"/></film></sensor>
  <emitter type="constant"><rgb name="radiance" value="0.3, 0.4, 0.5"/></emitter>
  <bsdf type="plastic" id="floor"><rgb name="diffuse_reflectance" value="0.6, 0.3, 0.2"/></bsdf>
  <bsdf type="thindielectric" id="pane">
    <rgb name="specular_transmittance" value="0.9, 0.8, 0.7"/></bsdf>
  <bsdf type="dielectric" id="water"><string name="int_ior" value="water"/></bsdf>
  <bsdf type="null" id="veil"/>
  <shape type="rectangle"><transform name="to_world"><rotate x="1" angle="-90"/>
    <scale value="3"/></transform><ref id="floor"/></shape>
  <shape type="rectangle"><transform name="to_world"><scale x="1" y="0.6"/>
    <translate x="-1" y="0.6" z="1"/></transform><ref id="pane"/></shape>
  <shape type="rectangle"><transform name="to_world"><scale x="1" y="0.6"/>
    <translate x="1" y="0.6" z="1"/></transform><ref id="water"/></shape>
  <shape type="rectangle"><transform name="to_world"><scale value="3"/>
    <translate z="2.5"/></transform><ref id="veil"/></shape>
  <shape type="rectangle"><transform name="to_world"><rotate x="1" angle="90"/>
    <translate y="2.5"/></transform>
    <emitter type="area"><rgb name="radiance" value="5"/></emitter></shape>
</scene>"""


@pytest.mark.slow  # the reverse replay of five BSDF types compiles in ~15 s (2 cores, cold)
def test_derivatives_through_delta_vertices(tmp_path, f64):
    """Forward mode, reverse mode and finite differences of the replay agree for the IORs
    and tints (double precision, same samples). Total internal reflection is on these paths
    (the water surface seen from below): its derivative must be 0, not NaN."""
    from invrender.gradients import check_grad

    path = tmp_path / "gradients.xml"
    path.write_text(GRADIENT_SCENE)
    scene = invrender.load_scene(path)
    for param in ("water.eta", "water.specular_transmittance.value", "pane.eta",
                  "pane.specular_reflectance.value", "floor.eta",
                  "floor.diffuse_reflectance.value"):
        result = check_grad(scene, param, spp=4, seed=3)
        errors = result.errors()
        assert abs(result.finite_difference) > 1e-3, result
        assert errors["forward vs FD"] < 1e-6 and errors["reverse vs FD"] < 1e-6, (result,
                                                                                   errors)


# ---- loading ----

def load(tmp_path, bsdf: str):
    return checks.load_bsdfs(tmp_path, {"m": bsdf})


@pytest.mark.parametrize("kind", ["dielectric", "thindielectric"])
def test_parameters_follow_mitsuba(tmp_path, kind):
    """eta is ``<id>.eta`` (Mitsuba's name; differentiable here), the tints are textures."""
    scene = load(tmp_path, f'<bsdf type="{kind}" id="m"><string name="int_ior" '
                 'value="water"/><rgb name="specular_transmittance" value="0.5"/></bsdf>')
    params = invrender.ParameterMap(scene)
    assert {"m.eta", "m.specular_transmittance.value"} <= set(params.keys())
    assert float(params["m.eta"]) == pytest.approx(1.3326307535171509, rel=1e-6)  # Mitsuba's
    assert params.parameter("m.eta").differentiable


def test_written_scene_reads_back(tmp_path):
    """write_scene writes eta as int_ior over ext_ior 1 (Mitsuba's dielectrics have no eta
    property) and the tints as values; all comes back."""

    bsdfs = {case: checks.mitsuba_xml(case, case) for case in CASES}
    text = checks.SCENE.format(bsdfs="\n".join([*bsdfs.values(), EXTRA["thin_tinted"]]),
                               first="dielectric_water")
    path = tmp_path / "scene.xml"
    path.write_text(text.replace('<shape type="rectangle">', '<shape type="rectangle" id="s">'))
    scene = invrender.load_scene(path)
    checks.reads_back_the_same(scene, tmp_path)


def test_bk7_by_any_case(tmp_path):
    scene = load(tmp_path, '<bsdf type="dielectric" id="m"><string name="int_ior" '
                 'value="BK7"/></bsdf>')
    assert scene.bsdfs["m"].textures["eta"].value[0] == pytest.approx(1.504183292388916,
                                                                      rel=1e-6)


@pytest.mark.parametrize("kind", ["dielectric", "thindielectric"])
@pytest.mark.parametrize("body, match", [
    ('<float name="int_ior" value="0"/>', r"'int_ior' must be a positive index of refraction"),
    ('<float name="int_ior" value="-1.5"/>', r"'int_ior' must be a positive"),
    ('<float name="ext_ior" value="0"/>', r"'ext_ior' must be a positive"),
    ('<string name="int_ior" value="watr"/>', r"unknown IOR name 'watr' .*did you mean water"),
    ('<string name="int_ior" value="glass"/>', r"'glass' .*did you mean acrylic glass"),
    ('<string name="int_ior" value="glas"/>', r"unknown IOR name 'glas'.*known IOR names: "),
    ('<string name="ext_ior" value="unobtainium"/>', r"unknown IOR name 'unobtainium'.*known"),
    ('<float name="eta" value="1.5"/>', r"has no 'eta' property.*int_ior and ext_ior"),
    ('<float name="alpha" value="0.1"/>', r"alpha"),
])
def test_bad_input(tmp_path, kind, body, match):
    with pytest.raises(SceneError, match=match) as error:
        load(tmp_path, f'<bsdf type="{kind}" id="m">\n    {body}\n</bsdf>')
    message = str(error.value)
    assert "bsdfs.xml" in message and ":3" in message, message
    assert len(message.splitlines()) <= 2, message


@pytest.mark.parametrize("kind", ["dielectric", "thindielectric", "null"])
def test_twosided_refuses_transmission(tmp_path, kind):
    with pytest.raises(SceneError, match="it transmits"):
        load(tmp_path, f'<bsdf type="twosided" id="m"><bsdf type="{kind}"/></bsdf>')
