"""Mitsuba 3's shape-optimisation tutorial, both renderers in one run on this machine:
the tutorial's own code in the Mitsuba venv (bench/shape_suzanne_mitsuba.py) and
recipes/shape_suzanne.yaml here, at the same setting; then the Chamfer distance and normal
consistency of both results to the true Suzanne, time per iteration of each phase, and
our resident memory over the run.

    MITSUBA_TUTORIALS=/work/tutorials .venv/bin/python bench/shape_suzanne_compare.py \\
        --res 64 --spp 4 --ref-spp 64 --iterations 100 --iterations2 100

The tutorial's own setting is --res 256 --spp 128 --ref-spp 256 (about 10 hours for
Mitsuba alone on a 2-core CPU). Both sides: 8 views, phase 1 stepping after each view,
remeshing at half the mean edge length, phase 2 stepping on the sum of the views.
Writes runs/shape_suzanne_compare/{compare.json, mitsuba/, invrender/}.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
MITSUBA_PYTHON = os.environ.get("MITSUBA_PYTHON", "/work/mi-venv/bin/python")
LLVM = os.environ.get("DRJIT_LIBLLVM_PATH", "/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1")


def run_mitsuba(args, tutorials: str, out: Path) -> dict:
    cmd = [MITSUBA_PYTHON, str(ROOT / "bench" / "shape_suzanne_mitsuba.py"),
           "--tutorials", tutorials, "--res", str(args.res), "--spp", str(args.spp),
           "--ref-spp", str(args.ref_spp), "--iterations", str(args.iterations),
           "--iterations2", str(args.iterations2), "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "DRJIT_LIBLLVM_PATH": LLVM})
    report = json.loads((out / "mitsuba.json").read_text())
    report["wall_s"] = time.perf_counter() - t0
    report["phases"] = {k: {"first_s": t["first_s"], "median_s": t["median_s_excluding_first"],
                            "mean_s": t["mean_s_excluding_first"]}
                        for k, t in report["time"].items() if k in ("phase1", "phase2")
                        and t["first_s"] is not None}
    return report


def run_ours(args, out: Path) -> dict:
    from invrender.optimize import optimize
    from invrender.recipe import load_recipe

    total = args.iterations + args.iterations2
    recipe = load_recipe(ROOT / "recipes" / "shape_suzanne.yaml", [
        f"scene_args.res={args.res}", f"render.spp={args.spp}",
        f"target.render.spp={args.ref_spp}", f"iterations={total}",
        f"step_per_view={args.iterations}",
        f"params.shape.vertex_positions.remesh.at=[{args.iterations}]",
        f"output.dir={out}", f"output.frame_every={args.iterations}", *args.set])
    t0 = time.perf_counter()
    result = optimize(recipe)
    wall = time.perf_counter() - t0
    log = result.log
    phases = {}
    for name, rows in (("phase1", log[:args.iterations]), ("phase2", log[args.iterations:])):
        ms = [r["ms"] for r in rows]
        if ms:
            phases[name] = {"first_s": ms[0] / 1000,
                            "median_s": statistics.median(ms[1:] or ms) / 1000,
                            "mean_s": statistics.mean(ms[1:] or ms) / 1000}
    rss = [r["rss_mb"] for r in log if "rss_mb" in r]
    final = json.loads((out / "params_final.json").read_text())
    return {"wall_s": wall, "phases": phases, "final_loss": log[-1].get("loss"),
            "mesh": str(out / final["params"]["shape.vertex_positions"]["ply"]),
            "faces": final["params"]["shape.vertex_positions"]["faces"],
            "rss_mb": {"after_first": rss[0] if rss else None,
                       "after_phase1": rss[args.iterations - 1] if len(rss) >= args.iterations
                       else None,
                       "last": rss[-1] if rss else None, "max": max(rss) if rss else None}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--res", type=int, default=64)
    p.add_argument("--spp", type=int, default=4)
    p.add_argument("--ref-spp", type=int, default=64)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--iterations2", type=int, default=100)
    p.add_argument("--only", choices=("both", "mitsuba", "invrender"), default="both")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "shape_suzanne_compare")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of our recipe, as `invrender optimize --set`")
    args = p.parse_args()
    tutorials = os.environ.get("MITSUBA_TUTORIALS")
    if not tutorials:
        sys.exit("set MITSUBA_TUTORIALS to a mitsuba-tutorials checkout")
    from invrender.geometry.mesh import read_ply
    from invrender.geometry.metrics import mesh_metrics

    args.out.mkdir(parents=True, exist_ok=True)
    report = {"cpu": cpu_model(), "settings": vars(args) | {
        "out": str(args.out)}}
    if args.only in ("both", "mitsuba"):
        report["mitsuba"] = run_mitsuba(args, tutorials, args.out / "mitsuba")
    if args.only in ("both", "invrender"):
        report["invrender"] = run_ours(args, args.out / "invrender")
    truth = read_ply(Path(tutorials) / "scenes" / "meshes" / "suzanne.ply")
    meshes = {"start": Path(tutorials) / "scenes" / "meshes" / "ico_10k.ply"}
    if "mitsuba" in report:
        meshes["mitsuba"] = args.out / "mitsuba" / "mitsuba_final.ply"
    if "invrender" in report:
        meshes["invrender"] = Path(report["invrender"]["mesh"])
    report["metrics"] = {}
    for name, path in meshes.items():
        m = read_ply(path)
        report["metrics"][name] = mesh_metrics((m.vertices, m.faces),
                                               (truth.vertices, truth.faces))
    (args.out / "compare.json").write_text(json.dumps(report, indent=2) + "\n")
    cpu = report["cpu"]
    print(f"CPU: {cpu.get('model_name', cpu['processor'])} ({cpu['cores']} cores); "
          f"res {args.res}, spp {args.spp}, {args.iterations} + {args.iterations2} iterations")
    for name, m in report["metrics"].items():
        print(f"  {name:10s} Chamfer {m['chamfer']:.5f}  normal consistency "
              f"{m['normal_consistency']:.4f}")
    for side in ("mitsuba", "invrender"):
        if side in report:
            ph = report[side]["phases"]
            print(f"  {side:10s} " + "  ".join(
                f"{k}: first {v['first_s']:.2f} s, then {v['median_s']:.3f} s/iteration"
                for k, v in ph.items()) + f"  (wall {report[side]['wall_s']:.0f} s)")
    if "invrender" in report:
        print(f"  invrender resident memory (MB): {report['invrender']['rss_mb']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
