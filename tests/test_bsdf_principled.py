"""The ``principled`` BSDF against Mitsuba 3's values (tests/data/bsdfs: eval, pdf and samples
from the same random numbers), its sampling (chi-square, from both sides where it
transmits), consistency, reciprocity, albedo, textured parameters, the parameter names and
the load errors. All instances live in one scene: one compile for the module."""

import numpy as np
import pytest

import invrender
from invrender.bsdfs.registry import BSDFS
from invrender.errors import SceneError
from tests import bsdf_checks as checks

CASES = ["principled_default", "principled_metal", "principled_glass", "principled_clearcoat"]


def principled(key: str, **params) -> str:
    """A principled BSDF with float (or, for a tuple, RGB) parameters."""
    body = "".join(f'<rgb name="{n}" value="{", ".join(map(str, v))}"/>' if isinstance(v, tuple)
                   else f'<float name="{n}" value="{v}"/>' for n, v in params.items())
    return f'<bsdf type="principled" id="{key}">{body}</bsdf>'


# every lobe at once (anisotropic, tinted, transmitting), other sampling rates, eta < 1
EXTRA = {
    "full": principled("full", base_color=(0.8, 0.3, 0.2), metallic=0.3, roughness=0.4,
                       spec_tint=0.5, anisotropic=0.7, sheen=0.6, sheen_tint=0.5,
                       clearcoat=0.8, clearcoat_gloss=0.6, spec_trans=0.4, flatness=0.5,
                       specular=0.7),
    "rates": principled("rates", roughness=0.25, clearcoat=0.5, clearcoat_gloss=0.9,
                        main_specular_sampling_rate=0.5, clearcoat_sampling_rate=3.0,
                        diffuse_reflectance_sampling_rate=2.0),
    "inverted": principled("inverted", spec_trans=0.7, eta=0.75, roughness=0.6,
                           base_color=(0.9, 0.8, 0.5)),
    "smooth_glass": principled("smooth_glass", spec_trans=1.0, roughness=0.1, eta=1.5,
                               base_color=(1.0, 1.0, 1.0)),
    "uniform_0.2": principled("uniform_0.2", roughness=0.2, base_color=(0.1, 0.2, 0.3)),
    "uniform_0.7": principled("uniform_0.7", roughness=0.7, base_color=(0.8, 0.6, 0.4)),
    "checker": """<bsdf type="principled" id="checker">
    <texture type="checkerboard" name="roughness">
        <float name="color0" value="0.2"/><float name="color1" value="0.7"/></texture>
    <texture type="checkerboard" name="base_color">
        <rgb name="color0" value="0.8, 0.6, 0.4"/><rgb name="color1" value="0.1, 0.2, 0.3"/>
    </texture>
</bsdf>""",
}
TRANSMITTING = ("principled_glass", "full", "inverted")
CHI2_KEYS = [*CASES, "full", "rates", "inverted"]
COS_THETA = (0.9, 0.5, 0.15)
RES = {"principled_glass": (100, 200)}  # chi-square histograms other than (40, 80)
CHI2_TESTS = len(CHI2_KEYS) * len(COS_THETA) + len(TRANSMITTING) * len(COS_THETA)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("principled")
    xml = {case: checks.mitsuba_xml(case, case) for case in CASES}
    return checks.load_bsdfs(tmp, {**xml, **EXTRA})


@pytest.fixture(scope="module")
def probes(scene):
    return {key: checks.BsdfProbe(scene, key) for key in scene.bsdfs}


# ---- Mitsuba's values ----

@pytest.mark.parametrize("case", CASES)
def test_eval_and_pdf_match_mitsuba(probes, case):
    """Float32 precision at every pair, also below the horizon, from behind and for the
    transmission of principled_glass (Mitsuba's scalar variant, which the data hold; its
    vectorised one differs by up to 3e-3 on principled_glass, at values below 1e-6)."""
    checks.against_mitsuba(probes[case], case)


@pytest.mark.parametrize("case", CASES)
def test_samples_match_mitsuba(probes, case):
    """The same random numbers give Mitsuba's lobe, direction, weight, pdf and eta. Near the
    horizon wo.z comes from a cancellation (absolute error ~1e-6), so weights and pdfs are
    compared above |wo.z| = 0.02."""
    data = checks.mitsuba_case(case)
    s = probes[case].sample(data["s_wi"], data["u"])
    ok = data["s_weight"].max(axis=1) > 0
    np.testing.assert_array_equal(s["weight"].max(axis=1) > 0, ok)
    assert ok.sum() > 1000 and not s["delta"].any()
    np.testing.assert_array_equal(s["lobe"][ok], data["s_component"][ok])
    np.testing.assert_allclose(s["wo"][ok], data["s_wo"][ok], atol=3e-5)
    np.testing.assert_allclose(s["eta"][ok], data["s_eta"][ok], rtol=1e-6)
    away = ok & (np.abs(data["s_wo"][:, 2]) > 0.02)
    np.testing.assert_allclose(s["weight"][away], data["s_weight"][away], rtol=1e-3,
                               atol=1e-6)
    np.testing.assert_allclose(s["pdf"][away], data["s_pdf"][away], rtol=1e-3)


def test_no_reflection_from_behind_without_transmission(probes):
    """Without spec_trans nothing is sampled or reflected from behind (Mitsuba's pdf there is
    the microfacet reflection's all the same: the data check it)."""
    rng = np.random.default_rng(6)
    n = 500
    below = np.tile(checks.direction(-0.6), (n, 1))
    wo = checks.random_directions(n, rng)
    for key in ("principled_default", "principled_metal", "principled_clearcoat", "rates"):
        f, _ = probes[key].eval_pdf(below, wo)
        assert not f.any(), key
        assert not probes[key].sample(below, rng.random((n, 3)))["weight"].any(), key


# ---- statistics ----

@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", CHI2_KEYS)
def test_chi2_front(probes, key, cos_theta):
    """principled_glass's narrow lobes (alpha 0.04) get a finer histogram, so that the
    pdf's integrals over its cells resolve them."""
    p, threshold = checks.chi2(probes[key], checks.direction(cos_theta),
                               res=RES.get(key, (40, 80)), tests=CHI2_TESTS)
    assert p > threshold, f"{key} at cos theta {cos_theta}: p = {p:.3g}"


@pytest.mark.parametrize("cos_theta", COS_THETA)
@pytest.mark.parametrize("key", TRANSMITTING)
def test_chi2_behind(probes, key, cos_theta):
    """From inside only the microfacet reflection and transmission (chosen by Fresnel)."""
    p, threshold = checks.chi2(probes[key], checks.direction(-cos_theta, phi=2.0),
                               res=RES.get(key, (40, 80)), tests=CHI2_TESTS)
    assert p > threshold, f"{key} at cos theta {-cos_theta}: p = {p:.3g}"


@pytest.mark.parametrize("cos_theta", (*COS_THETA, -0.5))
@pytest.mark.parametrize("key", [*CHI2_KEYS, "smooth_glass"])
def test_consistency(probes, key, cos_theta):
    checks.consistency(probes[key], checks.direction(cos_theta, phi=1.1))


@pytest.mark.parametrize("key", ["principled_default", "principled_metal",
                                 "principled_clearcoat", "full"])
def test_reflection_is_reciprocal(probes, key):
    """Every reflection lobe is symmetric in wi and wo (the clearcoat's and the sheen's
    value x cos theta_o included)."""
    checks.reciprocity(probes[key])


@pytest.mark.parametrize("key", [k for k in (*CHI2_KEYS, "smooth_glass") if k != "inverted"])
def test_albedo_at_most_one(probes, key):
    """From outside (eta >= 1: refraction into the denser side scales radiance by 1 / eta^2
    <= 1; into the lighter side of "inverted" it grows by 1 / 0.75^2)."""
    for cos_theta in COS_THETA:
        mean, se = checks.albedo(probes[key], checks.direction(cos_theta), n=50_000)
        assert np.all(mean <= 1 + 4 * se + 1e-6), (key, cos_theta, mean)


def fresnel_dielectric(cos_i: float, eta: float) -> float:
    sin_t2 = (1 - cos_i ** 2) / eta ** 2
    cos_t = np.sqrt(1 - sin_t2)
    rs = (cos_i - eta * cos_t) / (cos_i + eta * cos_t)
    rp = (cos_t - eta * cos_i) / (cos_t + eta * cos_i)
    return 0.5 * (rs ** 2 + rp ** 2)


@pytest.mark.parametrize("cos_theta", (0.9, 0.5))
def test_nearly_smooth_glass_albedo(probes, cos_theta):
    """spec_trans 1, white, alpha 0.01: the mean weight is a smooth dielectric's, R + (1 - R)
    / eta^2 (the refracted radiance is compressed by 1 / eta^2), up to the masking and the
    spread of F over the lobe (< 1e-3)."""
    r = fresnel_dielectric(cos_theta, 1.5)
    mean, se = checks.albedo(probes["smooth_glass"], checks.direction(cos_theta), n=50_000)
    np.testing.assert_allclose(mean, r + (1 - r) / 1.5 ** 2, rtol=2e-3)
    assert np.all(se < 2e-3)


# ---- textures ----

def test_textured_roughness_and_base_color(probes):
    """Checkerboards of roughness and base colour: where they are 0.2 and (0.1, 0.2, 0.3)
    the BSDF is the uniform instance's with those values, likewise 0.7. (Read as a float,
    Mitsuba's checkerboard has color0 where exactly one of u, v is above 1/2, as RGB color1
    there.) No bitmap here: its lookup, inlined at principled's twelve texture reads, would
    compile for tens of seconds."""
    rng = np.random.default_rng(5)
    n = 500
    wi = np.tile(checks.direction(0.7), (n, 1))
    wo = checks.random_directions(n, rng)
    for uv, key in (((0.25, 0.75), "uniform_0.2"), ((0.75, 0.75), "uniform_0.7")):
        uvs = np.tile(uv, (n, 1))
        f, pdf = probes["checker"].eval_pdf(wi, wo, uv=uvs)
        f_ref, pdf_ref = probes[key].eval_pdf(wi, wo)
        np.testing.assert_allclose(f, f_ref, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(pdf, pdf_ref, rtol=1e-5, atol=1e-7)


def test_oriented_only_when_anisotropic(scene):
    oriented = BSDFS["principled"].oriented
    assert oriented(scene.bsdfs["principled_metal"]) and oriented(scene.bsdfs["full"])
    assert not oriented(scene.bsdfs["principled_default"])
    assert not oriented(scene.bsdfs["principled_glass"])


# ---- loading ----

MITSUBA_NAMES = ["clearcoat.value", "clearcoat_gloss.value", "metallic.value", "{ior}",
                 "roughness.value", "base_color.value", "anisotropic.value", "spec_tint.value",
                 "sheen.value", "sheen_tint.value", "spec_trans.value", "flatness.value"]


def load(tmp_path, *bsdfs: str):
    path = tmp_path / "bsdfs.xml"
    path.write_text('<scene version="3.0.0">\n' + "\n".join(bsdfs)
                    + '\n<shape type="rectangle" id="s"><ref id="m"/></shape>\n</scene>\n')
    return invrender.load_scene(path)


def test_parameters_are_mitsubas(tmp_path):
    """Mitsuba's traverse names, in its order, with specular or eta as given (Mitsuba
    lists the sampling rates as well, as non-differentiable: here they are settings)."""
    scene = load(tmp_path, checks.mitsuba_xml("principled_clearcoat", "m"),
                 checks.mitsuba_xml("principled_glass", "g"))
    params = invrender.ParameterMap(scene)
    names = params.keys()
    assert [n[2:] for n in names if n.startswith("m.")] == [
        n.format(ior="specular") for n in MITSUBA_NAMES]
    assert [n[2:] for n in names if n.startswith("g.")] == [
        n.format(ior="eta") for n in MITSUBA_NAMES]
    np.testing.assert_allclose(params["m.specular"], 0.6)
    np.testing.assert_allclose(params["m.clearcoat.value"], 0.7)
    np.testing.assert_allclose(params["g.eta"], 1.5)
    np.testing.assert_allclose(params["g.spec_trans.value"], 0.9)
    np.testing.assert_allclose(params["m.base_color.value"], [0.5, 0.5, 0.5])
    assert scene.bsdfs["m"].settings["main_specular_sampling_rate"] == 1.0


def test_implausible_ior_moved_for_transmission(tmp_path):
    """As Mitsuba: with a transmission lobe eta = 1 becomes 1.001 and specular = 0 becomes
    1e-3; without one they stay."""
    scene = load(tmp_path, principled("m", eta=1.0, spec_trans=0.5),
                 principled("a", specular=0.0, spec_trans=0.5),
                 principled("b", eta=1.0), principled("c", specular=0.0))
    params = invrender.ParameterMap(scene)
    assert params["m.eta"] == pytest.approx(1.001)
    assert params["a.specular"] == pytest.approx(1e-3)
    assert params["b.eta"] == 1.0 and params["c.specular"] == 0.0


def test_written_scene_reads_back(tmp_path):
    """The writer writes specular or eta (not both) and the sampling rates; all comes back."""
    scene = load(tmp_path, checks.mitsuba_xml("principled_glass", "m"), EXTRA["full"],
                 EXTRA["rates"])
    checks.reads_back_the_same(scene, tmp_path)


@pytest.mark.parametrize("body, match", [
    ('<float name="eta" value="1.5"/><float name="specular" value="0.5"/>',
     "either 'eta' or 'specular', not both"),
    ('<float name="eta" value="0"/>', "'eta' must be positive"),
    ('<float name="specular" value="-0.1"/>', r"'specular' must be in \[0, 12.5\)"),
    ('<float name="clearcoat_sampling_rate" value="-1"/>',
     "'clearcoat_sampling_rate' must not be negative"),
    ('<texture type="checkerboard" name="eta"/>', "'eta' .* must be float or integer"),
    ('<float name="subsurface" value="0.5"/>', "unsupported property 'subsurface'"),
])
def test_bad_input(tmp_path, body, match):
    with pytest.raises(SceneError, match=match) as error:
        load(tmp_path, f'<bsdf type="principled" id="m">\n    {body}\n</bsdf>')
    message = str(error.value)
    assert "bsdfs.xml" in message and ":3" in message, message
    assert len(message.splitlines()) <= 2, message


# ---- derivatives (last: it restarts Taichi in double precision) ----

GRADIENT_SCENE = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="3"/></integrator>
  <sensor type="perspective"><float name="fov" value="50"/>
    <transform name="to_world"><lookat origin="0, -3, 2.5" target="0, 0, 0.3" up="0, 0, 1"/>
    </transform>
    <film type="hdrfilm"><integer name="width" value="12"/><integer name="height" value="10"/>
      <rfilter type="box"/></film></sensor>
  {bsdfs}
  <bsdf type="diffuse" id="floor"/>
  <shape type="rectangle"><transform name="to_world"><scale value="3"/></transform>
    <ref id="floor"/></shape>
  <shape type="sphere"><float name="radius" value="0.6"/>
    <point name="center" x="-0.7" y="0" z="0.6"/><ref id="m"/></shape>
  <shape type="sphere"><float name="radius" value="0.6"/>
    <point name="center" x="0.7" y="0" z="0.6"/><ref id="g"/></shape>
  <shape type="rectangle"><transform name="to_world"><rotate x="1" angle="180"/>
    <translate x="1" y="-1" z="3"/></transform>
    <emitter type="area"><rgb name="radiance" value="8"/></emitter></shape>
</scene>"""
GRADIENT_PARAMS = [
    *(f"m.{name}" for name in ("base_color.value", "roughness.value", "anisotropic.value",
                               "metallic.value", "specular", "spec_trans.value",
                               "clearcoat.value", "clearcoat_gloss.value", "sheen.value",
                               "sheen_tint.value", "spec_tint.value", "flatness.value")),
    "g.eta", "g.roughness.value", "g.base_color.value"]


@pytest.mark.slow  # the replay kernels with principled compile for about a minute (cold)
def test_derivatives_forward_reverse_and_finite_differences(tmp_path, f64):
    """Forward mode, reverse mode and central differences of the replay agree for every
    parameter of an instance with all lobes on, and for a glass's IOR, roughness and tint
    (paths through it refract twice), in double precision with the same samples."""
    from invrender.gradients import check_grad

    path = tmp_path / "gradients.xml"
    path.write_text(GRADIENT_SCENE.format(bsdfs="\n".join([
        EXTRA["full"].replace('id="full"', 'id="m"'),
        checks.mitsuba_xml("principled_glass", "g")])))
    scene = invrender.load_scene(path)
    for param in GRADIENT_PARAMS:
        result = check_grad(scene, param, spp=4, seed=3)
        errors = result.errors()
        assert abs(result.finite_difference) > 1e-3, (param, result)
        assert errors["forward vs FD"] < 1e-5 and errors["reverse vs FD"] < 1e-5, (
            param, result, errors)
