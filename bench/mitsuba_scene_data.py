"""Mitsuba 3 reference data for tests/test_scene_data.py (spectra, serialized meshes, shapes).

Writes, in tests/data/mitsuba/scene_data/:
  measured.spd              a small spectrum file (comments, irregular spacing)
  meshes_v4.serialized      3 sub-meshes written by invrender's write_serialized (version 4,
                            float32: with normals and uvs / with nothing / with uvs only)
  meshes_v3_double.serialized  the same meshes, version 3, float64
  spectra.json              for each <spectrum> value: the RGB Mitsuba 3 (scalar_rgb) makes of
                            it as a diffuse reflectance and as an area emitter's radiance, and
                            the messages Mitsuba gives for malformed ones
  blackbody.json            blackbody RGB in Mitsuba's spectral variant (llvm_ad_spectral):
                            deterministic quadrature through Mitsuba's own blackbody eval and
                            spectrum_to_srgb, and a rendered mean with its standard error; and
                            the error Mitsuba's RGB variant raises
  serialized.npz            vertex_positions, vertex_normals, vertex_texcoords, faces of each
                            sub-mesh as Mitsuba 3's serialized plugin loads them
  shapes.json               disk, cylinder (p0, p1, radius) and sphere: Mitsuba's
                            eval_parameterization (p, n, uv) at some uvs, flipped normals,
                            surface areas

Rerun, from the repository root, in two steps (the first in the project's venv, the second in a
venv with Mitsuba 3, never the project's, see ../shared/DESIGN.md section 7):
  .venv/bin/python bench/mitsuba_scene_data.py write
  DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
      /work/mi-venv/bin/python bench/mitsuba_scene_data.py mitsuba
The second step took 0.3 s (Dr.Jit's kernel cache warm) on a 2-core AMD EPYC, Mitsuba 3.9.1,
Dr.Jit 1.5.0, 2026-12-01; two runs wrote the same numbers. The serialized files depend only on
our writer (and zlib's compression level 6), the rest only on Mitsuba.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "data" / "mitsuba" / "scene_data"

SPECTRA = {
    "uniform_0.5": "0.5",
    "uniform_0.37": "0.37",
    "uniform_1.7": "1.7",
    "three_points": "400:0.1, 500:0.6, 600:0.3",
    "two_points": "400:0.2, 700:0.9",
    "full_range": "360:1, 830:1",
    "irregular": "360:0.2, 450:0.8, 552.5:0.5, 650:0.9, 830:0.3",
    "regular_20nm": ", ".join(f"{w}:{0.5 + 0.4 * math.sin(w / 37.0):.4f}"
                              for w in range(380, 781, 20)),
    "beyond_range": "300:0.5, 600:0.8, 900:0.5",
    "bright": "400:2, 500:5, 700:3",
    "spaces_only": "420:0.3 550:0.7 680:0.4",
}
MALFORMED = {
    "one_pair": "500:0.5",
    "decreasing": "500:1, 400:1",
    "repeated": "400:1, 400:2",
    "not_a_number": "abc:1, 500:1",
    "no_colon": "0.5 0.6",
}
SPD = """# a measured reflectance (test data, made up)
# wavelength(nm) value
380 0.12
420 0.25
470.5 0.61
530 0.72

600 0.55 extra text that Mitsuba ignores
700 0.31
780 0.20
"""
TEMPERATURES = (3000.0, 6500.0)
SHAPE_UVS = {  # vertex uvs of our meshes (128 segments, 64 rings) and points between them
    "disk": [(1.0, 0.25), (1.0, 37 / 128), (0.5, 0.6), (0.23, 0.91)],
    "cylinder": [(0.25, 0.0), (77 / 128, 1.0), (0.25, 0.5), (0.413, 0.77)],
    "sphere": [(0.25, 0.5), (77 / 128, 20 / 64), (0.3, 0.4), (0.81, 0.93)],
}
SHAPES = {
    "disk": {"type": "disk"},
    "cylinder": {"type": "cylinder", "p0": [0.1, 0.2, 0.3], "p1": [1.0, -0.5, 0.8],
                 "radius": 0.4},
    "sphere": {"type": "sphere"},
}


def test_meshes():
    """Small meshes for the serialized files: every attribute combination we read."""
    from invrender.geometry.mesh import MeshData, cube

    rng = np.random.default_rng(7)
    with_all = cube()
    bare = MeshData(vertices=np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float),
                    faces=np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32))
    vertices = rng.normal(size=(30, 3))
    faces = np.array([rng.choice(30, 3, replace=False) for _ in range(40)], np.int32)
    uv_only = MeshData(vertices=vertices, faces=faces, uvs=rng.uniform(size=(30, 2)))
    return [with_all, bare, uv_only]


def write() -> None:
    from invrender.geometry.serialized import write_serialized

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "measured.spd").write_text(SPD)
    meshes = test_meshes()
    write_serialized(OUT / "meshes_v4.serialized", meshes, ["cube", "tetra", "random"])
    write_serialized(OUT / "meshes_v3_double.serialized", meshes, version=3, double=True)
    print(f"wrote the serialized files and measured.spd in {OUT}")


def mitsuba() -> None:
    import drjit as dr
    import mitsuba as mi

    results: dict = {"mitsuba": mi.__version__, "drjit": dr.__version__}
    mi.set_variant("scalar_rgb")

    def xml(tag: str, kind: str, name: str, spectrum: str) -> str:
        return f'<{tag} version="3.0.0" type="{kind}">{spectrum.format(name=name)}</{tag}>'

    def rgb(value) -> list[float]:
        return [float(c) for c in np.broadcast_to(np.array(value, np.float64).ravel(), 3)]

    def both(spectrum: str) -> dict:
        bsdf = mi.load_string(xml("bsdf", "diffuse", "reflectance", spectrum))
        emitter = mi.load_string(xml("emitter", "area", "radiance", spectrum))
        return {"reflectance": rgb(mi.traverse(bsdf)["reflectance.value"]),
                "radiance": rgb(mi.traverse(emitter)["radiance.value"])}

    spectra = {}
    for key, value in SPECTRA.items():
        spectra[key] = {"value": value, **both(f'<spectrum name="{{name}}" value="{value}"/>')}
    spd = OUT / "measured.spd"
    spectra["spd_file"] = {"filename": spd.name,
                           **both(f'<spectrum name="{{name}}" filename="{spd}"/>')}
    errors = {}
    for key, value in MALFORMED.items():
        try:
            both(f'<spectrum name="{{name}}" value="{value}"/>')
            errors[key] = {"value": value, "error": None}
        except Exception as err:  # Mitsuba raises RuntimeError with its message
            errors[key] = {"value": value, "error": str(err).split(": ", 1)[-1]}
    dump("spectra.json", {**results, "variant": "scalar_rgb", "spectra": spectra,
                          "malformed": errors})

    blackbody = {"rgb_variant_error": None}
    try:
        emitter = mi.load_dict({"type": "area", "radiance": {"type": "blackbody",
                                                             "temperature": 3000.0}})
        emitter.eval(dr.zeros(mi.SurfaceInteraction3f))
    except Exception as err:
        blackbody["rgb_variant_error"] = str(err)
    mi.set_variant("llvm_ad_spectral")
    blackbody["temperatures"] = {f"{t:g}": blackbody_reference(mi, dr, t)
                                 for t in TEMPERATURES}
    blackbody["temperatures"]["4500_range_450_650"] = blackbody_reference(
        mi, dr, 4500.0, (450.0, 650.0), render=False)
    dump("blackbody.json", {**results, "variant": "llvm_ad_spectral", **blackbody})

    mi.set_variant("scalar_rgb")
    arrays = {}
    for name in ("meshes_v4.serialized", "meshes_v3_double.serialized"):
        for index in range(3):
            shape = mi.load_dict({"type": "serialized", "filename": str(OUT / name),
                                  "shape_index": index})
            params = mi.traverse(shape)
            stem = f"{name.split('.')[0]}_{index}"
            for key in ("vertex_positions", "vertex_normals", "vertex_texcoords", "faces"):
                if key in params and dr.width(params[key]) > 0:
                    arrays[f"{stem}_{key}"] = np.array(params[key])
    np.savez_compressed(OUT / "serialized.npz", **arrays)

    shapes = {}
    for key, settings in SHAPES.items():
        entry = {"settings": settings, "surface_area": None, "points": [], "flipped": []}
        for flip in (False, True):
            shape = mi.load_dict({**settings, "flip_normals": flip})
            if not flip:
                entry["surface_area"] = float(shape.surface_area()[0]) \
                    if hasattr(shape.surface_area(), "__getitem__") \
                    else float(shape.surface_area())
            for uv in SHAPE_UVS[key]:
                si = shape.eval_parameterization(mi.Point2f(*uv))
                point = {"uv_in": list(uv), "p": list(map(float, si.p)),
                         "n": list(map(float, si.n)), "uv": list(map(float, si.uv))}
                entry["flipped" if flip else "points"].append(point)
        shapes[key] = entry
    dump("shapes.json", {**results, "variant": "scalar_rgb", "shapes": shapes})


def blackbody_reference(mi, dr, temperature: float, limits=(360.0, 830.0),
                        render: bool = True) -> dict:
    """What Mitsuba's spectral variant renders for a blackbody emitter, in RGB."""
    emitter = {"type": "blackbody", "temperature": temperature,
               "wavelength_min": limits[0], "wavelength_max": limits[1]}
    texture = mi.load_dict(emitter)
    # Midpoint rule over 360-830 nm through Mitsuba's own eval and spectrum_to_srgb (the film's
    # conversion), 4 wavelengths per lane as the spectral variant traces them.
    lanes = 23500  # 94000 wavelengths, 0.005 nm apart
    step = (830.0 - 360.0) / (4 * lanes)
    index = dr.arange(mi.Float, lanes)
    si = dr.zeros(mi.SurfaceInteraction3f, lanes)
    si.wavelengths = mi.Spectrum(*[360.0 + (index * 4 + k + 0.5) * step for k in range(4)])
    value = texture.eval(si)
    srgb = mi.spectrum_to_srgb(value, si.wavelengths)
    quadrature = [float(dr.sum(mi.Float64(c))[0] if hasattr(dr.sum(mi.Float64(c)), "__len__")
                        else dr.sum(mi.Float64(c))) * (830.0 - 360.0) / lanes for c in srgb]
    entry = {"temperature": temperature, "wavelength_range": list(limits),
             "quadrature": quadrature}
    if render:
        scene = mi.load_dict({
            "type": "scene", "integrator": {"type": "path", "max_depth": 1},
            "sensor": {"type": "perspective", "fov": 20,
                       "to_world": mi.ScalarTransform4f().look_at(origin=[0, 0, 5],
                                                                  target=[0, 0, 0],
                                                                  up=[0, 1, 0]),
                       "film": {"type": "hdrfilm", "width": 16, "height": 16,
                                "rfilter": {"type": "box"}, "pixel_format": "rgb"},
                       "sampler": {"type": "independent", "sample_count": 1024}},
            "light": {"type": "rectangle", "to_world": mi.ScalarTransform4f().scale(10),
                      "emitter": {"type": "area", "radiance": emitter}},
        })
        image = np.array(mi.render(scene, seed=1), np.float64).reshape(-1, 3)
        entry["render"] = {"mean": image.mean(axis=0).tolist(),
                           "stderr": (image.std(axis=0, ddof=1) / math.sqrt(len(image))).tolist(),
                           "pixels": len(image), "spp": 1024}
    return entry


def dump(name: str, data: dict) -> None:
    (OUT / name).write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT / name}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    {"write": write, "mitsuba": mitsuba}[sys.argv[1] if len(sys.argv) > 1 else "write"]()
