"""Checks every BSDF plugin's tests run on its Taichi functions (through ``BsdfProbe``, on
the real backend), in the manner of Mitsuba's own BSDF tests:

- ``chi2``: sampled directions against the pdf, by a chi-square test over a (cos theta, phi)
  histogram (Mitsuba's ``test_chi2``: cells with expected counts under 5 pooled, Sidak's
  correction for the number of tests);
- ``consistency``: a non-delta sample's weight is eval / pdf and its pdf is ``pdf``; a delta
  sample's direction and weight are ``delta``'s value over the lobe's probability;
- ``reciprocity``: f(wi, wo) = f(wo, wi) for reflection;
- ``albedo``: the mean sample weight (the directional albedo) never exceeds 1;
- ``against_mitsuba``: eval and pdf at the direction pairs of tests/data/bsdfs/<case>.npz
  (Mitsuba 3's plugin, bench/mitsuba_bsdf_values.py).
"""

from pathlib import Path

import numpy as np
from scipy import stats

import invrender
from invrender.bsdfs.probe import BsdfProbe

DATA = Path(__file__).resolve().parent / "data" / "bsdfs"
SCENE = """<scene version="3.0.0">
{bsdfs}
  <shape type="rectangle"><ref id="{first}"/></shape>
  <sensor type="perspective"><film type="hdrfilm"><integer name="width" value="4"/>
    <integer name="height" value="4"/></film></sensor>
</scene>
"""


def load_bsdfs(tmp_path: Path, bsdfs: dict[str, str]):
    """A scene holding the BSDFs given as XML by id (each ``<bsdf ... id="<key>">``)."""
    path = tmp_path / "bsdfs.xml"
    path.write_text(SCENE.format(bsdfs="\n".join(bsdfs.values()), first=next(iter(bsdfs))))
    return invrender.load_scene(path)


def probes(tmp_path: Path, bsdfs: dict[str, str]) -> dict[str, BsdfProbe]:
    scene = load_bsdfs(tmp_path, bsdfs)
    return {key: BsdfProbe(scene, key) for key in bsdfs}


def direction(cos_theta: float, phi: float = 0.3) -> np.ndarray:
    s = np.sqrt(max(0.0, 1.0 - cos_theta ** 2))
    return np.array([s * np.cos(phi), s * np.sin(phi), cos_theta])


def random_directions(n: int, rng, upper: bool = False) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if upper:
        v[:, 2] = np.abs(v[:, 2])
    return v


def chi2(probe: BsdfProbe, wi: np.ndarray, n: int = 200_000, res: tuple = (20, 40),
         seed: int = 1, tests: int = 1, alpha: float = 0.01) -> tuple[float, float]:
    """(p-value, threshold) of the chi-square test of sample() against pdf() at wi; pass
    when p > threshold. Delta samples are left out: the pdf describes the others."""
    rng = np.random.default_rng(seed)
    s = probe.sample(np.tile(wi, (n, 1)), rng.random((n, 3)))
    keep = (~s["delta"]) & (s["weight"].max(axis=1) > 0) & (s["pdf"] > 0)
    wo = s["wo"][keep]
    nc, nphi = res
    cos_edges = np.linspace(-1, 1, nc + 1)
    phi_edges = np.linspace(-np.pi, np.pi, nphi + 1)
    observed, _, _ = np.histogram2d(np.clip(wo[:, 2], -1, 1), np.arctan2(wo[:, 1], wo[:, 0]),
                                    (cos_edges, phi_edges))
    expected = n * _cell_integrals(probe, wi, cos_edges, phi_edges)
    if expected.sum() < 1.0:  # nothing to sample (a one-sided BSDF from below)
        return (1.0 if observed.sum() == 0 else 0.0), 1.0 - (1.0 - alpha) ** (1.0 / tests)
    order = np.argsort(expected.ravel())
    obs, exp = observed.ravel()[order], expected.ravel()[order]
    # pool the cells with small expected counts (Mitsuba's rule), then the test
    pooled_obs, pooled_exp, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(obs, exp, strict=True):
        if e < 5:
            acc_o += o
            acc_e += e
            if acc_e >= 5:
                pooled_obs.append(acc_o)
                pooled_exp.append(acc_e)
                acc_o = acc_e = 0.0
        else:
            pooled_obs.append(o)
            pooled_exp.append(e)
    if acc_e > 0:
        pooled_obs.append(acc_o)
        pooled_exp.append(acc_e)
    pooled_obs, pooled_exp = np.array(pooled_obs), np.array(pooled_exp)
    statistic = np.sum((pooled_obs - pooled_exp) ** 2 / pooled_exp)
    dof = len(pooled_obs) - 1
    p = float(stats.chi2.sf(statistic, dof))
    return p, 1.0 - (1.0 - alpha) ** (1.0 / tests)


def _cell_integrals(probe, wi, cos_edges, phi_edges, sub: int = 8) -> np.ndarray:
    """The pdf integrated over each (cos theta, phi) cell (midpoint rule on sub x sub points:
    d omega = d cos theta d phi)."""
    nc, nphi = len(cos_edges) - 1, len(phi_edges) - 1
    dc = (cos_edges[1] - cos_edges[0]) / sub
    dp = (phi_edges[1] - phi_edges[0]) / sub
    c = cos_edges[0] + dc * (np.arange(nc * sub) + 0.5)
    p = phi_edges[0] + dp * (np.arange(nphi * sub) + 0.5)
    cc, pp = np.meshgrid(c, p, indexing="ij")
    s = np.sqrt(np.clip(1 - cc ** 2, 0, None))
    wo = np.stack([s * np.cos(pp), s * np.sin(pp), cc], -1).reshape(-1, 3)
    _, pdf = probe.eval_pdf(np.tile(wi, (len(wo), 1)), wo)
    pdf = pdf.astype(np.float64).reshape(nc, sub, nphi, sub)
    return pdf.sum((1, 3)) * dc * dp


def consistency(probe: BsdfProbe, wi: np.ndarray, n: int = 4000, seed: int = 2,
                rtol: float = 2e-3) -> None:
    """sample() agrees with eval()/pdf() and with delta()."""
    rng = np.random.default_rng(seed)
    wis = np.tile(wi, (n, 1))
    s = probe.sample(wis, rng.random((n, 3)))
    ok = s["weight"].max(axis=1) > 0
    smooth = ok & ~s["delta"]
    if smooth.any():
        f, pdf = probe.eval_pdf(wis[smooth], s["wo"][smooth])
        np.testing.assert_allclose(s["pdf"][smooth], pdf, rtol=rtol, atol=1e-6)
        np.testing.assert_allclose(s["weight"][smooth] * pdf[:, None], f, rtol=rtol,
                                   atol=1e-6)
    delta = ok & s["delta"]
    if delta.any():
        wo, value = probe.delta(wis[delta], s["lobe"][delta])
        np.testing.assert_allclose(wo, s["wo"][delta], atol=1e-5)
        np.testing.assert_allclose(value, s["weight"][delta] * s["pdf"][delta][:, None],
                                   rtol=rtol, atol=1e-6)
        # a delta direction has no density for eval/pdf
        f, pdf = probe.eval_pdf(wis[delta], s["wo"][delta])
        assert np.all(s["pdf"][delta] > 0)


def reciprocity(probe: BsdfProbe, n: int = 2000, seed: int = 3, rtol: float = 1e-3) -> None:
    rng = np.random.default_rng(seed)
    wi = random_directions(n, rng, upper=True)
    wo = random_directions(n, rng, upper=True)
    f_io, _ = probe.eval_pdf(wi, wo)
    f_oi, _ = probe.eval_pdf(wo, wi)
    np.testing.assert_allclose(f_io / wo[:, 2:3], f_oi / wi[:, 2:3], rtol=rtol, atol=1e-5)


def albedo(probe: BsdfProbe, wi: np.ndarray, n: int = 200_000, seed: int = 4):
    """(mean sample weight, its standard error) per channel at wi."""
    rng = np.random.default_rng(seed)
    s = probe.sample(np.tile(wi, (n, 1)), rng.random((n, 3)))
    w = s["weight"].astype(np.float64)
    return w.mean(0), w.std(0) / np.sqrt(n)


def mitsuba_case(name: str) -> dict:
    with np.load(DATA / f"{name}.npz") as data:
        return {k: data[k] for k in data.files}


def mitsuba_xml(name: str, bsdf_id: str) -> str:
    """The case's XML with its id replaced (and the bump maps' height file located)."""
    xml = str(mitsuba_case(name)["xml"]).replace("BUMP_HEIGHT_EXR",
                                                  str(DATA / "bump_height.exr"))
    return xml.replace('id="m"', f'id="{bsdf_id}"', 1)


def against_mitsuba(probe: BsdfProbe, name: str, rtol: float = 2e-4,
                    atol: float = 2e-6) -> None:
    """eval and pdf equal Mitsuba's at the case's direction pairs, to float32 precision."""
    case = mitsuba_case(name)
    f, pdf = probe.eval_pdf(case["wi"], case["wo"])
    np.testing.assert_allclose(f, case["value"], rtol=rtol, atol=atol)
    np.testing.assert_allclose(pdf, case["pdf"], rtol=rtol, atol=atol)


def reads_back_the_same(scene, tmp_path: Path):
    """write_scene, then load: the same parameter names and values, the same BSDF types
    and settings. Returns the scene read back."""
    from invrender.scene.writer import write_scene

    again = invrender.load_scene(write_scene(scene, tmp_path / "out" / "scene.xml"))
    before, after = invrender.ParameterMap(scene), invrender.ParameterMap(again)
    assert before.keys() == after.keys()
    for key in before.keys():
        np.testing.assert_allclose(after[key], before[key], rtol=1e-12, err_msg=key)
    assert [(b.type, b.settings) for b in again.bsdfs.values()] == [
        (b.type, b.settings) for b in scene.bsdfs.values()]
    return again
