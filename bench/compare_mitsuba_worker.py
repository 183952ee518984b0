"""Mitsuba 3's side of ``bench/compare_mitsuba.py``; runs in the Mitsuba venv (never in
ours): the cases of ``compare_cases.py`` with the same XML, one JSON line per case.

    DRJIT_LIBLLVM_PATH=... .venv-mitsuba/bin/python bench/compare_mitsuba_worker.py \\
        --variant llvm_ad_rgb --cases cases.json --tmp DIR
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import drjit as dr  # noqa: E402
import mitsuba as mi  # noqa: E402
from compare_cases import scene_file, timed  # noqa: E402


def forward(case, path, repeats):
    scene = mi.load_file(str(path), res=case["res"], max_depth=case["depth"])

    def run(seed):
        image = mi.render(scene, spp=case["spp"], seed=seed)
        dr.eval(image)
        dr.sync_thread()

    first, best = timed(run, repeats)
    samples = case["res"] ** 2 * case["spp"]
    return {"first_s": first, "steady_s": best, "msamples_per_s": samples / best / 1e6}


def inversion(case, path, repeats):
    """The red-wall loop of recipes/cbox_red_wall.yaml with Mitsuba's prb: MSE against an
    8-spp target, Adam lr 0.05 from grey 0.9, clamped to [0, 1]."""
    scene = mi.load_file(str(path), res=case["res"], max_depth=case["depth"])
    target = mi.render(scene, spp=8, seed=1)
    prb = mi.load_dict({"type": "prb", "max_depth": case["depth"]})
    params = mi.traverse(scene)
    key = "red.reflectance.value"
    params[key] = mi.Color3f(0.9, 0.9, 0.9)
    params.update()
    opt = mi.ad.Adam(lr=0.05)
    opt[key] = params[key]
    params.update(opt)
    times = []
    for i in range(case["iterations"]):
        t0 = time.perf_counter()
        image = mi.render(scene, params, spp=case["spp"], seed=100 + i, integrator=prb)
        dr.backward(dr.mean(dr.square(image - target)))
        opt.step()
        opt[key] = dr.clip(opt[key], 0.0, 1.0)
        params.update(opt)
        dr.eval(params[key])
        dr.sync_thread()
        times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "ms_per_iteration": 1000 * statistics.median(times[1:])}


def boundary(case, path, repeats):
    """d mean(image) / d translation of the small box, with prb_projective drawing as many
    boundary samples per pixel as ours: one camera (sppc), primarily visible (sppp) and
    indirect (sppi) sample per pixel and spp, and no guiding (with its defaults, 32 / 32 /
    128 and octree guiding, a pass took over a minute here). Without the loader's mesh
    merging, which would fold the box into one shape with the walls of the same material."""
    scene = mi.load_file(str(path), optimize=False, res=case["res"], max_depth=case["depth"])
    integrator = mi.load_dict({"type": "prb_projective", "max_depth": case["depth"],
                               "sppc": case["spp"], "sppp": case["spp"], "sppi": case["spp"],
                               "guiding": "none"})
    params = mi.traverse(scene)
    key = "smallbox.vertex_positions"
    v0 = dr.unravel(mi.Point3f, params[key])

    def run(seed):
        t = mi.Vector3f(0.0)
        dr.enable_grad(t)
        params[key] = dr.ravel(v0 + t)
        params.update()
        image = mi.render(scene, params, spp=case["spp"], seed=seed, integrator=integrator)
        dr.backward(dr.mean(image))
        grad = dr.grad(t)
        dr.eval(grad)
        dr.sync_thread()

    first, best = timed(run, repeats)
    return {"first_s": first, "steady_s": best}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="llvm_ad_rgb")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    mi.set_variant(args.variant)
    for case in json.loads(Path(args.cases).read_text()):
        path = scene_file(case, Path(args.tmp))
        result = {"forward": forward, "inversion": inversion,
                  "boundary": boundary}[case["kind"]](case, path, args.repeats)
        print(json.dumps({"name": case["name"], "variant": args.variant,
                          "version": mi.__version__, **result}), flush=True)


if __name__ == "__main__":
    main()
