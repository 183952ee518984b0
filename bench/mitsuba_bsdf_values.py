"""Reference BSDF values from Mitsuba 3 for invrender's BSDF tests.

Runs in the side venv that has Mitsuba 3 installed (not in the project venv)::

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
        /work/mi-venv/bin/python bench/mitsuba_bsdf_values.py [--only CASE ...]

For every case below (a ``<bsdf type=... id="m">`` element, loaded with
``mi.load_string`` exactly as stored) it writes ``tests/data/bsdfs/<case>.npz``:

* ``wi``, ``wo`` (M, 3): M = 2000 pairs drawn uniformly on the full unit sphere
  (so below-horizon and transmission configurations are included) followed by
  200 pairs with both directions in the upper hemisphere near grazing
  (cos(theta) uniform in [5e-4, 0.05]). Stored as float64 copies of the float32
  values Mitsuba actually received (i.e. already rounded to float32). The two
  smaller components are rounded to DIR_BITS significant bits (the largest one
  recomputed) and u lies on a 2^-U_BITS grid, only so that the files compress.
* ``value`` (M, 3): ``bsdf.eval(ctx, si, wo)``, RGB, *includes* |cos(theta_o)|.
* ``pdf`` (M,): ``bsdf.pdf(ctx, si, wo)``.
* ``u`` (M, 3): (u0, u1, u2) for ``bsdf.sample(ctx, si, u0, [u1, u2])``, with
  ``si.wi = s_wi`` (the same wi set as above, float32-rounded).
* ``s_wo`` (M, 3), ``s_weight`` (M, 3) (= value * cos / pdf as Mitsuba returns
  it, 0 for failed samples), ``s_pdf``, ``s_delta`` (bool: sampled_type has a
  ``mi.BSDFFlags.Delta`` bit), ``s_type`` (the raw sampled_type bits),
  ``s_component``, ``s_eta``.
* ``xml`` (0-d str array): the ``<bsdf ... id="m">`` element.

All float arrays are float64 copies of Mitsuba's float32 results. The local
shading frame is the identity: ``si.sh_frame = Frame3f(n=[0,0,1])``,
``si.n = [0,0,1]``, ``si.uv = [0.5, 0.5]``; ``ctx = mi.BSDFContext()``
(TransportMode.Radiance, all components). Also writes
``tests/data/bsdfs/README.md`` (includes the traverse() parameter names of
every case and Mitsuba's reaction to a few invalid configurations).
"""

from __future__ import annotations

import argparse
import os
import time

import mitsuba as mi
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT_DIR = os.path.join(REPO, "tests", "data", "bsdfs")

SEED_DIRECTIONS = 20250101
SEED_SAMPLES = 20250102
N_SPHERE = 2000
N_GRAZING = 200
GRAZING_COS = (5e-4, 0.05)
DIR_BITS = 12  # significant bits kept in the two smaller components of wi / wo
U_BITS = 16    # u is on a 2^-16 grid


def _rgb(name, v):
    return f'<rgb name="{name}" value="{", ".join(repr(x) for x in v)}"/>'


def _f(name, v):
    return f'<float name="{name}" value="{v!r}"/>'


def _s(name, v):
    return f'<string name="{name}" value="{v}"/>'


def _b(name, v):
    return f'<boolean name="{name}" value="{"true" if v else "false"}"/>'


def bsdf(tp, *children, id="m"):
    ident = f' id="{id}"' if id else ""
    if not children:
        return f'<bsdf type="{tp}"{ident}/>'
    inner = "".join("\n    " + c.replace("\n", "\n    ") for c in children)
    return f'<bsdf type="{tp}"{ident}>{inner}\n</bsdf>'


BUMP = "BUMP_HEIGHT_EXR"  # the bumpmap cases' height file, tests/data/bsdfs/bump_height.exr:
# a placeholder in the stored XML, which the tests replace with the file's path


CASES: dict[str, str] = {
    "conductor_default": bsdf("conductor"),
    "conductor_au": bsdf("conductor", _s("material", "Au")),
    "conductor_rgb": bsdf("conductor", _rgb("eta", (0.2, 0.9, 1.1)), _rgb("k", (3.9, 2.4, 2.2)),
                          _rgb("specular_reflectance", (0.9, 0.8, 0.7))),
    "roughconductor_beckmann_01": bsdf("roughconductor", _s("distribution", "beckmann"),
                                       _f("alpha", 0.1), _s("material", "Cu")),
    "roughconductor_ggx_03": bsdf("roughconductor", _s("distribution", "ggx"), _f("alpha", 0.3)),
    "roughconductor_ggx_aniso": bsdf("roughconductor", _s("distribution", "ggx"),
                                     _f("alpha_u", 0.1), _f("alpha_v", 0.4),
                                     _s("material", "Al")),
    "roughconductor_beckmann_novis": bsdf("roughconductor", _s("distribution", "beckmann"),
                                          _f("alpha", 0.5), _b("sample_visible", False)),
    "plastic_default": bsdf("plastic"),
    "plastic_nonlinear": bsdf("plastic", _rgb("diffuse_reflectance", (0.2, 0.5, 0.8)),
                              _b("nonlinear", True), _f("int_ior", 1.9)),
    "roughplastic_beckmann": bsdf("roughplastic", _f("alpha", 0.1)),
    "roughplastic_ggx_nonlinear": bsdf("roughplastic", _s("distribution", "ggx"),
                                       _f("alpha", 0.3), _b("nonlinear", True),
                                       _rgb("diffuse_reflectance", (0.8, 0.3, 0.1)),
                                       _s("int_ior", "polypropylene")),
    "dielectric_default": bsdf("dielectric"),
    "dielectric_water": bsdf("dielectric", _s("int_ior", "water"), _s("ext_ior", "air")),
    "dielectric_inv": bsdf("dielectric", _f("int_ior", 1.0), _f("ext_ior", 1.5)),
    "thindielectric_default": bsdf("thindielectric"),
    "thindielectric_tinted": bsdf("thindielectric", _f("int_ior", 1.6),
                                  _rgb("specular_transmittance", (0.9, 0.5, 0.2))),
    "roughdielectric_beckmann": bsdf("roughdielectric", _f("alpha", 0.1)),
    "roughdielectric_ggx": bsdf("roughdielectric", _s("distribution", "ggx"), _f("alpha", 0.3),
                                _f("int_ior", 1.33)),
    "roughdielectric_ggx_novis": bsdf("roughdielectric", _s("distribution", "ggx"),
                                      _f("alpha", 0.5), _b("sample_visible", False)),
    "principled_default": bsdf("principled"),
    "principled_metal": bsdf("principled", _rgb("base_color", (0.9, 0.6, 0.2)),
                             _f("metallic", 0.8), _f("roughness", 0.3), _f("anisotropic", 0.5)),
    "principled_glass": bsdf("principled", _f("spec_trans", 0.9), _f("roughness", 0.2),
                             _f("eta", 1.5)),
    "principled_clearcoat": bsdf("principled", _f("clearcoat", 0.7), _f("sheen", 0.5),
                                 _f("specular", 0.6)),
    "twosided_two": bsdf("twosided",
                         bsdf("diffuse", _rgb("reflectance", (0.8, 0.1, 0.1)), id=None),
                         bsdf("roughconductor", _f("alpha", 0.2), id=None)),
    "blend": bsdf("blendbsdf", _f("weight", 0.3),
                  bsdf("diffuse", _rgb("reflectance", (0.2, 0.8, 0.2)), id=None),
                  bsdf("roughconductor", _s("distribution", "ggx"), _f("alpha", 0.2), id=None)),
    "mask": bsdf("mask", _f("opacity", 0.4),
                 bsdf("diffuse", _rgb("reflectance", (0.5, 0.5, 0.5)), id=None)),
    "null": bsdf("null"),
    "normalmap_diffuse": bsdf("normalmap", _rgb("normalmap", (0.62, 0.41, 0.88)),
                              bsdf("diffuse", _rgb("reflectance", (0.7, 0.5, 0.3)), id=None)),
    "bumpmap_diffuse": bsdf("bumpmap", '<texture type="bitmap"><string name="filename" '
                            f'value="{BUMP}"/><boolean name="raw" value="true"/></texture>',
                            _f("scale", 2.0),
                            bsdf("diffuse", _rgb("reflectance", (0.6, 0.7, 0.2)), id=None)),
    "bumpmap_rough": bsdf("bumpmap", '<texture type="bitmap"><string name="filename" '
                          f'value="{BUMP}"/><boolean name="raw" value="true"/></texture>',
                          _b("use_shadowing_function", False),
                          bsdf("roughplastic", _s("distribution", "ggx"), _f("alpha", 0.2),
                               id=None)),
    "normalmap_rough": bsdf("normalmap", _rgb("normalmap", (0.3, 0.55, 0.8)),
                            _b("flip_invalid_normals", False),
                            bsdf("roughconductor", _s("distribution", "ggx"), _f("alpha", 0.3),
                                 id=None)),
}

_DIFFUSE = bsdf("diffuse", id=None)
_MIRROR = bsdf("conductor", id=None)

# Configurations whose loading behaviour is documented in the README.
PROBES: dict[str, str] = {
    "twosided around dielectric": bsdf("twosided", bsdf("dielectric", id=None)),
    "twosided around roughdielectric": bsdf("twosided", bsdf("roughdielectric", id=None)),
    "twosided around thindielectric": bsdf("twosided", bsdf("thindielectric", id=None)),
    "twosided around principled spec_trans 0.5": bsdf(
        "twosided", bsdf("principled", _f("spec_trans", 0.5), id=None)),
    "twosided around null": bsdf("twosided", bsdf("null", id=None)),
    "twosided around mask": bsdf("twosided", bsdf("mask", _DIFFUSE, id=None)),
    "twosided around twosided": bsdf("twosided", bsdf("twosided", _DIFFUSE, id=None)),
    "twosided with three children": bsdf("twosided", *[_DIFFUSE] * 3),
    "roughconductor alpha -0.1": bsdf("roughconductor", _f("alpha", -0.1)),
    "roughconductor alpha 0": bsdf("roughconductor", _f("alpha", 0.0)),
    "roughdielectric alpha -0.1": bsdf("roughdielectric", _f("alpha", -0.1)),
    "roughplastic alpha -0.1": bsdf("roughplastic", _f("alpha", -0.1)),
    "roughconductor alpha_u only": bsdf("roughconductor", _f("alpha_u", 0.1)),
    "roughconductor alpha and alpha_u/v": bsdf("roughconductor", _f("alpha", 0.1),
                                               _f("alpha_u", 0.1), _f("alpha_v", 0.1)),
    "roughconductor distribution phong": bsdf("roughconductor", _s("distribution", "phong")),
    "roughplastic anisotropic": bsdf("roughplastic", _f("alpha_u", 0.1), _f("alpha_v", 0.2)),
    "dielectric int_ior 0": bsdf("dielectric", _f("int_ior", 0.0)),
    "dielectric int_ior -1.5": bsdf("dielectric", _f("int_ior", -1.5)),
    "dielectric int_ior == ext_ior": bsdf("dielectric", _f("int_ior", 1.5), _f("ext_ior", 1.5)),
    "roughdielectric int_ior 0": bsdf("roughdielectric", _f("int_ior", 0.0)),
    "thindielectric int_ior 0": bsdf("thindielectric", _f("int_ior", 0.0)),
    "plastic int_ior 0": bsdf("plastic", _f("int_ior", 0.0)),
    "roughplastic int_ior 0": bsdf("roughplastic", _f("int_ior", 0.0)),
    "dielectric int_ior 'BK7' (upper case)": bsdf("dielectric", _s("int_ior", "BK7")),
    "dielectric int_ior 'glass' (unknown)": bsdf("dielectric", _s("int_ior", "glass")),
    "conductor material 'Unobtainium'": bsdf("conductor", _s("material", "Unobtainium")),
    "conductor material 'au' (lower case)": bsdf("conductor", _s("material", "au")),
    "conductor material 'none'": bsdf("conductor", _s("material", "none")),
    "conductor material 'd-C'": bsdf("conductor", _s("material", "d-C")),
    "conductor material + eta": bsdf("conductor", _s("material", "Au"), _f("eta", 0.2)),
    "conductor eta only": bsdf("conductor", _f("eta", 0.2)),
    "roughconductor material 'Unobtainium'": bsdf("roughconductor",
                                                  _s("material", "Unobtainium")),
    "principled eta + specular": bsdf("principled", _f("eta", 1.5), _f("specular", 0.5)),
    "principled eta 1.0": bsdf("principled", _f("eta", 1.0)),
    "blendbsdf without weight": bsdf("blendbsdf", _DIFFUSE, _MIRROR),
    "blendbsdf one child": bsdf("blendbsdf", _f("weight", 0.5), _DIFFUSE),
    "blendbsdf weight 1.5": bsdf("blendbsdf", _f("weight", 1.5), _DIFFUSE, _MIRROR),
    "mask without child": bsdf("mask", _f("opacity", 0.5)),
    "mask opacity 1.5": bsdf("mask", _f("opacity", 1.5), _DIFFUSE),
}


def load(xml: str):
    head, rest = xml.split(" ", 1)
    rest = rest.replace(BUMP, os.path.join(OUT_DIR, "bump_height.exr"))
    return mi.load_string(head + ' version="3.0.0" ' + rest)


def f32(a) -> np.ndarray:
    return np.asarray(a, np.float32).astype(np.float64)


def sphere(rng, n):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def grazing(rng, n):
    c = rng.uniform(*GRAZING_COS, size=n)
    phi = rng.uniform(0.0, 2.0 * np.pi, size=n)
    s = np.sqrt(1.0 - c * c)
    return np.stack([s * np.cos(phi), s * np.sin(phi), c], axis=1)


def compressible(v):
    """Round the two smaller components of each unit vector to DIR_BITS significant
    bits and recompute the largest one (|c| >= 1/sqrt(3), so this is well conditioned),
    then round to float32. The result is unit length to float32 precision and still
    (up to ~2^-DIR_BITS) uniformly distributed, but its bytes compress much better,
    which keeps the .npz files small."""
    m, e = np.frexp(v)
    r = np.ldexp(np.round(m * 2.0 ** DIR_BITS) / 2.0 ** DIR_BITS, e)
    big = np.argmax(np.abs(v), axis=1)
    rows = np.arange(len(v))
    r[rows, big] = 0.0
    r[rows, big] = np.copysign(np.sqrt(1.0 - np.sum(r * r, axis=1)), v[rows, big])
    return r


def directions():
    rng = np.random.default_rng(SEED_DIRECTIONS)
    wi = np.concatenate([sphere(rng, N_SPHERE), grazing(rng, N_GRAZING)])
    wo = np.concatenate([sphere(rng, N_SPHERE), grazing(rng, N_GRAZING)])
    u = np.random.default_rng(SEED_SAMPLES).uniform(size=(N_SPHERE + N_GRAZING, 3))
    u = np.floor(u * 2.0 ** U_BITS) / 2.0 ** U_BITS  # exact in float32, in [0, 1)
    return f32(compressible(wi)), f32(compressible(wo)), f32(u)


def make_si(wi):
    si = mi.SurfaceInteraction3f()
    si.sh_frame = mi.Frame3f(mi.Vector3f(0, 0, 1))
    si.n = mi.Normal3f(0, 0, 1)
    si.uv = mi.Point2f(0.5, 0.5)
    si.dp_du = mi.Vector3f(1, 0, 0)  # what a bump map tilts (tangent frames' axes)
    si.dp_dv = mi.Vector3f(0, 1, 0)
    si.wi = mi.Vector3f(*wi)
    return si


def evaluate_scalar(b, wi, wo, u):
    ctx = mi.BSDFContext()
    delta = int(mi.BSDFFlags.Delta)
    m = len(wi)
    out = {k: np.zeros((m, 3)) for k in ("value", "s_wo", "s_weight")}
    out.update({k: np.zeros(m) for k in ("pdf", "s_pdf", "s_eta")})
    out["s_type"] = np.zeros(m, np.uint32)
    out["s_component"] = np.zeros(m, np.int32)
    for i in range(m):
        si = make_si(wi[i])
        w = mi.Vector3f(*wo[i])
        out["value"][i] = list(b.eval(ctx, si, w))
        out["pdf"][i] = b.pdf(ctx, si, w)
        bs, weight = b.sample(ctx, si, float(u[i, 0]), mi.Point2f(u[i, 1], u[i, 2]))
        out["s_wo"][i] = list(bs.wo)
        out["s_weight"][i] = list(weight)
        out["s_pdf"][i] = bs.pdf
        out["s_eta"][i] = bs.eta
        out["s_type"][i] = int(bs.sampled_type)
        out["s_component"][i] = int(bs.sampled_component)
    out["s_delta"] = (out["s_type"] & delta) != 0
    return out


def evaluate_vector(b, wi, wo, u):
    import drjit as dr
    ctx = mi.BSDFContext()
    si = dr.zeros(mi.SurfaceInteraction3f, len(wi))
    si.sh_frame = mi.Frame3f(mi.Vector3f(0, 0, 1))
    si.n = mi.Normal3f(0, 0, 1)
    si.uv = mi.Point2f(0.5, 0.5)
    si.wi = mi.Vector3f(wi.T.astype(np.float32))
    w = mi.Vector3f(wo.T.astype(np.float32))
    out = {"value": np.array(b.eval(ctx, si, w)).T.astype(np.float64),
           "pdf": np.array(b.pdf(ctx, si, w), np.float64)}
    bs, weight = b.sample(ctx, si, mi.Float(u[:, 0].astype(np.float32)),
                          mi.Point2f(u[:, 1:].T.astype(np.float32)))
    out["s_wo"] = np.array(bs.wo).T.astype(np.float64)
    out["s_weight"] = np.array(weight).T.astype(np.float64)
    out["s_pdf"] = np.array(bs.pdf, np.float64)
    out["s_eta"] = np.array(bs.eta, np.float64)
    out["s_type"] = np.array(bs.sampled_type, np.uint32)
    out["s_component"] = np.array(bs.sampled_component, np.int32)
    m = len(wi)
    for k, v in out.items():  # literals (e.g. a constant sampled_type) come back as size 1
        shape = (m, 3) if k in ("value", "s_wo", "s_weight") else (m,)
        out[k] = np.array(np.broadcast_to(v, shape))
    out["s_delta"] = (out["s_type"] & int(mi.BSDFFlags.Delta)) != 0
    return out


def param_table(b) -> list[str]:
    p = mi.traverse(b)
    rows = []
    for k in p.keys():
        flags = p.flags(k)
        fl = []
        if flags & int(mi.ParamFlags.NonDifferentiable):
            fl.append("non-diff")
        else:
            fl.append("diff")
        if flags & int(mi.ParamFlags.Discontinuous):
            fl.append("discontinuous")
        v = p[k]
        rows.append(f"{k} [{', '.join(fl)}] {type(v).__name__} = {v}")
    return rows


def probe_messages() -> list[tuple[str, str, str]]:
    out = []
    for name, xml in PROBES.items():
        try:
            b = load(xml)
            p = mi.traverse(b)
            vals = "; ".join(f"{k}={p[k]}" for k in p.keys()
                             if not k.endswith("sampling_rate"))
            msg = f"loads OK ({type(b).__name__})" + (": " + vals if vals else "")
            # Also evaluate one reflection configuration so degenerate values show up.
            if mi.variant().startswith("scalar"):
                si = make_si([0.3, 0.2, float(np.sqrt(1 - 0.13))])
                ctx = mi.BSDFContext()
                wo = mi.Vector3f(-0.3, -0.2, float(np.sqrt(1 - 0.13)))
                bs, w = b.sample(ctx, si, 0.3, mi.Point2f(0.4, 0.6))
                msg += (f" | eval(mirror)={b.eval(ctx, si, wo)} pdf={b.pdf(ctx, si, wo)}"
                        f" sample weight={w} pdf={bs.pdf}")
        except Exception as e:  # noqa: BLE001 - we record whatever Mitsuba throws
            msg = f"{type(e).__name__}: {' '.join(str(e).split())}"
        out.append((name, xml, msg))
    return out


def cross_check(results, wi, wo, u):
    """Re-evaluate every case with the vectorised llvm_ad_rgb variant and summarise how
    it differs from the stored (scalar_rgb) values."""
    mi.set_variant("llvm_ad_rgb")
    rows = {}

    def rel(a, b, mask):
        a, b = a[mask], b[mask]
        den = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-30)
        fin = np.isfinite(a) & np.isfinite(b)
        r = np.abs(a - b)[fin] / den[fin]
        return float(r.max()) if r.size else 0.0

    for name, ref in results.items():
        r = evaluate_vector(load(CASES[name]), wi, wo, u)
        row = {}
        for k in ("value", "pdf"):
            a, b = r[k].reshape(len(wi), -1), ref[k].reshape(len(wi), -1)
            both = (a != 0) & (b != 0)
            row[k] = (rel(a, b, both), int(((a == 0) != (b == 0)).any(1).sum()),
                      int((np.isnan(a) != np.isnan(b)).any(1).sum()))
        ok_ref = (ref["s_weight"] != 0).any(1)
        ok_vec = (r["s_weight"] != 0).any(1)
        both = ok_ref & ok_vec
        row["valid_mismatch"] = int((ok_ref != ok_vec).sum())
        row["s_weight"] = rel(r["s_weight"], ref["s_weight"],
                              both[:, None] & (ref["s_weight"] != 0))
        row["s_wo"] = float(np.abs(r["s_wo"] - ref["s_wo"])[both].max()) if both.any() else 0.0
        row["s_pdf"] = rel(r["s_pdf"], ref["s_pdf"], both & (ref["s_pdf"] != 0))
        row["s_type"] = int((r["s_type"] != ref["s_type"])[both].sum())
        row["s_component"] = int((r["s_component"] != ref["s_component"])[both].sum())
        rows[name] = row
    return rows


def write_readme(timings, params, probes, times, variant, sizes, cross=None):
    lines = [
        "# Mitsuba 3 BSDF reference values",
        "",
        "Generated by `bench/mitsuba_bsdf_values.py` (do not edit by hand; rerun it):",
        "",
        "```",
        "DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\",
        "    /work/mi-venv/bin/python bench/mitsuba_bsdf_values.py",
        "```",
        "",
        f"- Mitsuba {mi.__version__}, variant `{variant}` (one call per direction pair;"
        " float32 internally).",
        f"- numpy {np.__version__}; directions seed `{SEED_DIRECTIONS}` (`np.random.default_rng`),"
        f" sample seed `{SEED_SAMPLES}`.",
        f"- {N_SPHERE + N_GRAZING} pairs: {N_SPHERE} with wi, wo independent and uniform on the"
        " full sphere (normalised",
        "  Gaussians; below-horizon and transmission pairs included), then"
        f" {N_GRAZING} with both in the",
        f"  upper hemisphere near grazing (cos theta uniform in [{GRAZING_COS[0]:g},"
        f" {GRAZING_COS[1]:g}], azimuth uniform).",
        "  Every case uses the same wi, wo and u. To keep the files small, the two smaller",
        f"  components of each direction are rounded to {DIR_BITS} significant bits and the"
        " largest one",
        "  recomputed (unit length to float32 precision, distribution still uniform up to",
        f"  ~2^-{DIR_BITS}), and u is on a 2^-{U_BITS} grid; see `compressible()` in the script.",
        "- Local frame = world frame: `si.sh_frame = Frame3f([0,0,1])` (identity),"
        " `si.n = [0,0,1]`,",
        "  `si.uv = [0.5, 0.5]`, `ctx = mi.BSDFContext()` (radiance transport, all components).",
        "- `value = bsdf.eval(ctx, si, wo)`: RGB, **includes the |cos theta_o| factor**;",
        "  `pdf = bsdf.pdf(ctx, si, wo)` (solid angle).",
        "- `bsdf.sample(ctx, si, u[:,0], [u[:,1], u[:,2]])` with `si.wi = s_wi` (= `wi`):",
        "  `s_wo`, `s_weight` (value*cos/pdf, 0 for failed samples), `s_pdf`, `s_type` (raw",
        "  BSDFFlags bits of `sampled_type`), `s_delta` (`s_type & BSDFFlags.Delta != 0`),",
        "  `s_component`, `s_eta`. Where sampling failed (`s_weight == 0`), the other `s_*`",
        "  entries are whatever Mitsuba's scalar variant left there (mostly zeros).",
        "- Inputs (`wi`, `wo`, `u`, `s_wi`) are stored already rounded to float32, i.e. exactly"
        " what",
        "  Mitsuba received; all outputs are float64 copies of Mitsuba's float32 results.",
        "- `xml` (0-d string array): the `<bsdf ... id=\"m\">` element that was loaded",
        "  (`mi.load_string` with `version=\"3.0.0\"` added), usable verbatim in a scene file.",
        "",
        f"Run time: {times[0]:.1f} s for the data, probes and this file; {times[1]:.1f} s"
        " including the",
        "llvm_ad_rgb cross-check below.",
        "",
        "## Cases",
        "",
        "| case | seconds | KiB |",
        "|---|---|---|",
    ]
    for name, t in timings.items():
        lines.append(f"| {name} | {t:.2f} | {sizes[name] / 1024:.0f} |")
    lines += [
        "", "## Notes", "",
        "- `value` and `pdf` are 0 for every delta BSDF (conductor, dielectric, thindielectric,",
        "  null, and the delta part of mask); check those through the `s_*` arrays.",
        "- Microfacet alphas are clamped to >= 1e-4 inside `MicrofacetDistribution`, so",
        "  `alpha` <= 0 (even negative) loads and behaves as alpha = 1e-4 (see the probes).",
        "  roughplastic shows the clamped value in traverse(); roughconductor/roughdielectric",
        "  keep the raw texture value (e.g. -0.1) and clamp at evaluation time.",
        "- blendbsdf `weight` and mask `opacity` are clipped to [0, 1] at evaluation.",
        "- Beckmann with alpha = 0.1 underflows to exactly 0 far from the specular lobe",
        "  (hence the few nonzero values of roughconductor_beckmann_01).",
        "- roughplastic `pdf()` in vectorised variants (llvm/cuda) is *not* zero when wo is"
        " below",
        "  the horizon (the `active` mask is not applied to the specular term); scalar_rgb",
        "  returns 0 there. eval() is 0 in both, so renders agree; see the table below.",
    ]
    if cross:
        lines += [
            "", "## Cross-check: llvm_ad_rgb (vectorised) vs the stored scalar_rgb values", "",
            "Max relative difference where both are nonzero; `0/x` counts entries where exactly"
            " one",
            "of the two is zero; `nan` where exactly one is NaN. Samples: compared where both have",
            "a nonzero weight; `valid` counts pairs where only one of them does. Failed samples",
            "are not comparable: scalar returns zeros early, the vectorised variant leaves",
            "garbage in `wo`/`sampled_type` of masked lanes.", "",
            "| case | value rel | value 0/x | value nan | pdf rel | pdf 0/x | pdf nan | valid"
            " | s_weight rel | s_wo abs | s_pdf rel | s_type | s_component |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, r in cross.items():
            v, p = r["value"], r["pdf"]
            lines.append(
                f"| {name} | {v[0]:.1e} | {v[1]} | {v[2]} | {p[0]:.1e} | {p[1]} | {p[2]}"
                f" | {r['valid_mismatch']} | {r['s_weight']:.1e} | {r['s_wo']:.1e}"
                f" | {r['s_pdf']:.1e} | {r['s_type']} | {r['s_component']} |")
    lines += ["", "## `mi.traverse()` parameters (diff = differentiable)", ""]
    for name, rows in params.items():
        lines.append(f"- **{name}**")
        lines += [f"  - `{r}`" for r in rows] if rows else ["  - (none)"]
    lines += ["", "## Mitsuba's reaction to unusual configurations", "",
              "Reflection probe: wi = (0.3, 0.2, 0.93), wo = mirror of wi;"
              " sample(u0=0.3, u=(0.4, 0.6)).", ""]
    for name, xml, msg in probes:
        lines.append(f"- **{name}** `{' '.join(xml.split())}`")
        lines.append(f"  - {msg}")
    lines.append("")
    with open(os.path.join(OUT_DIR, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*",
                    help="case names to (re)generate; README is not rewritten")
    ap.add_argument("--variant", default=None,
                    help="default: scalar_rgb if available, else llvm_ad_rgb")
    ap.add_argument("--no-cross-check", action="store_true",
                    help="skip re-evaluating every case with llvm_ad_rgb for the README table")
    args = ap.parse_args()

    t_start = time.perf_counter()
    variant = args.variant or ("scalar_rgb" if "scalar_rgb" in mi.variants() else "llvm_ad_rgb")
    mi.set_variant(variant)
    evaluate = evaluate_scalar if variant.startswith("scalar") else evaluate_vector
    os.makedirs(OUT_DIR, exist_ok=True)

    wi, wo, u = directions()
    timings, params, sizes, results = {}, {}, {}, {}
    for name, xml in CASES.items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        b = load(xml)
        params[name] = param_table(b)
        res = evaluate(b, wi, wo, u)
        path = os.path.join(OUT_DIR, name + ".npz")
        np.savez_compressed(path, wi=wi, wo=wo, u=u, s_wi=wi, xml=np.array(xml), **res)
        timings[name] = time.perf_counter() - t0
        sizes[name] = os.path.getsize(path)
        nonzero = int((res["value"] != 0).any(1).sum())
        valid = int((res["s_weight"] != 0).any(1).sum())
        print(f"{name:32s} {timings[name]:6.2f} s {sizes[name] / 1024:6.0f} KiB"
              f"  nonzero value {nonzero:4d}  valid samples {valid:4d}", flush=True)
        results[name] = res

    if not args.only:
        probes = probe_messages()
        for name, _, msg in probes:
            print(f"probe {name:40s} {msg}")
        t_gen = time.perf_counter() - t_start
        cross = None
        if (variant.startswith("scalar") and "llvm_ad_rgb" in mi.variants()
                and not args.no_cross_check):
            t0 = time.perf_counter()
            cross = cross_check(results, wi, wo, u)
            print(f"cross-check against llvm_ad_rgb: {time.perf_counter() - t0:.1f} s")
        total = time.perf_counter() - t_start
        write_readme(timings, params, probes, (t_gen, total), variant, sizes, cross)
        print(f"data {t_gen:.1f} s, total {total:.1f} s")


if __name__ == "__main__":
    main()
