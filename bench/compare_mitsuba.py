"""``make bench-compare``: the same scenes and loops in invrender and in Mitsuba 3, in one
run on this machine, with both figures and their ratio per case.

Mitsuba runs in a side venv (``make bench-compare`` makes ``.venv-mitsuba``; never a
dependency of the package or of its tests) through ``compare_mitsuba_worker.py``; our side
runs here, the forward cases in one process and the inversion and the boundary pass in one
each. Every case reports the first call apart from the steady state (best of the repeats;
the inversion's median iteration): compile time is not speed. Ratios are Mitsuba's time
over ours, so above 1 means invrender is faster.

    python bench/compare_mitsuba.py [--arch cpu|cuda] [--quick] [--json PATH]
        [--mitsuba-python .venv-mitsuba/bin/python]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_cases import ROOT, cases, scene_file, timed  # noqa: E402
from machine import cpu_model, peak_rss_mib  # noqa: E402

VARIANTS = {"cpu": "llvm_ad_rgb", "cuda": "cuda_ad_rgb"}


def ours_forward(batch, arch, tmp, repeats):
    import invrender

    invrender.init(arch)
    for case in batch:
        scene = invrender.load_scene(scene_file(case, tmp), res=case["res"],
                                     max_depth=case["depth"])
        first, best = timed(lambda seed, s=scene, c=case: invrender.render(
            s, spp=c["spp"], seed=seed), repeats)
        samples = case["res"] ** 2 * case["spp"]
        yield {"name": case["name"], "first_s": first, "steady_s": best,
               "msamples_per_s": samples / best / 1e6, "peak_rss_mib": peak_rss_mib()}


def ours_inversion(batch, arch, tmp, repeats):
    import invrender
    from invrender.recipe import load_recipe

    for case in batch:
        recipe = load_recipe(ROOT / "recipes" / "cbox_red_wall.yaml", [
            f"arch={arch}", f"output.dir={tmp / 'red_wall'}", "output.frame_every=0",
            "output.checkpoint_every=0", f"iterations={case['iterations']}",
            f"scene_args.res={case['res']}", f"render.spp={case['spp']}",
            f"render.max_depth={case['depth']}"])
        result = invrender.optimize(recipe)
        ms = [r["ms"] for r in result.log[1:]]
        yield {"name": case["name"], "first_s": result.first_iteration_s,
               "ms_per_iteration": statistics.median(ms), "peak_rss_mib": peak_rss_mib()}


def ours_boundary(batch, arch, tmp, repeats):
    import numpy as np
    import taichi as ti

    import invrender
    from invrender import autodiff

    invrender.init(arch)
    for case in batch:
        scene = invrender.load_scene(case["scene"], res=case["res"], max_depth=case["depth"])
        diff = autodiff.DiffRenderer.of(scene, case["depth"])
        moving = ([m.id for m in scene.meshes].index("smallbox"),)
        res = case["res"]
        d_image = np.full((res, res, 3), 1.0 / (3 * res * res))  # d mean(image)

        def run(seed, diff=diff, moving=moving, d_image=d_image, spp=case["spp"]):
            diff.backward(seed, spp, d_image, 5, moving)  # the gradient stays in the fields
            ti.sync()

        first, best = timed(run, repeats)
        yield {"name": case["name"], "first_s": first, "steady_s": best,
               "peak_rss_mib": peak_rss_mib()}


OURS = {"forward": ours_forward, "inversion": ours_inversion, "boundary": ours_boundary}


def worker(kind: str, cases_path: str, arch: str, tmp: str, repeats: int) -> None:
    batch = json.loads(Path(cases_path).read_text())
    for result in OURS[kind](batch, arch, Path(tmp), repeats):
        print(json.dumps(result), flush=True)


def _lines(cmd, env=None) -> list[dict]:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:3]))} failed:\n{out.stderr[-3000:]}")
    # Mitsuba's warnings share stdout, and a result may follow one on its line
    return [json.loads(line[line.index('{"name"'):]) for line in out.stdout.splitlines()
            if '{"name"' in line]


def libllvm() -> str:
    """Dr.Jit's LLVM backend needs the system's libLLVM."""
    if os.environ.get("DRJIT_LIBLLVM_PATH"):
        return os.environ["DRJIT_LIBLLVM_PATH"]
    found = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/libLLVM*.so*")
                   + glob.glob("/usr/lib/llvm-*/lib/libLLVM*.so*"))
    if not found:
        raise SystemExit("Mitsuba's LLVM variant needs libLLVM: install LLVM (apt install "
                         "llvm) or set DRJIT_LIBLLVM_PATH")
    return found[-1]


def run_ours(todo, arch, tmp, repeats) -> dict[str, dict]:
    results = {}
    groups = [[c for c in todo if c["kind"] == "forward"]]
    groups += [[c] for c in todo if c["kind"] != "forward"]
    for group in groups:
        if not group:
            continue
        path = tmp / f"ours_{group[0]['kind']}.json"
        path.write_text(json.dumps(group))
        for r in _lines([sys.executable, __file__, "--worker", group[0]["kind"], "--cases",
                         str(path), "--arch", arch, "--tmp", str(tmp), "--repeats",
                         str(repeats)]):
            results[r["name"]] = r
    return results


def run_mitsuba(todo, arch, tmp, repeats, python) -> dict[str, dict]:
    if not Path(python).exists():
        raise SystemExit(f"no Mitsuba venv at {python}: run `make bench-compare` (it makes "
                         "one) or pass --mitsuba-python")
    path = tmp / "mitsuba_cases.json"
    path.write_text(json.dumps(todo))
    env = dict(os.environ, DRJIT_LIBLLVM_PATH=libllvm()) if arch == "cpu" else None
    cmd = [python, str(Path(__file__).parent / "compare_mitsuba_worker.py"), "--variant",
           VARIANTS[arch], "--cases", str(path), "--tmp", str(tmp), "--repeats", str(repeats)]
    return {r["name"]: r for r in _lines(cmd, env)}


def _figure(r: dict | None) -> tuple[str, float | None]:
    """What a result says, and the time it is compared by (seconds)."""
    if r is None:
        return "-", None
    if "ms_per_iteration" in r:
        return f"{r['ms_per_iteration']:.0f} ms/it", r["ms_per_iteration"] / 1000
    if "msamples_per_s" in r:
        return f"{r['msamples_per_s']:.2f} M samples/s", r["steady_s"]
    return f"{1000 * r['steady_s']:.0f} ms/pass", r["steady_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="cpu", choices=sorted(VARIANTS))
    ap.add_argument("--quick", action="store_true", help="the headline cases only")
    ap.add_argument("--only", default="", help="the cases whose name contains this")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--mitsuba-python", default=str(ROOT / ".venv-mitsuba" / "bin" / "python"))
    ap.add_argument("--json", default=str(ROOT / "bench" / "results_compare.json"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--cases", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.cases, args.arch, args.tmp, args.repeats)
        return

    from rich.console import Console
    from rich.table import Table

    todo = [c for c in cases(args.quick) if args.only in c["name"]]
    if not todo:
        raise SystemExit(f"no case name contains '{args.only}'")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mitsuba = run_mitsuba(todo, args.arch, tmp, args.repeats, args.mitsuba_python)
        ours = run_ours(todo, args.arch, tmp, args.repeats)
    machine = cpu_model()
    table = Table(title=f"invrender vs Mitsuba {next(iter(mitsuba.values()))['version']} "
                        f"({VARIANTS[args.arch]}), {machine.get('model_name', '?')}, "
                        f"{machine['cores']} cores")
    for col in ("axis", "case", "invrender", "Mitsuba 3", "ratio (>1: ours faster)",
                "first call ours / Mitsuba", "our peak RSS MiB"):
        table.add_column(col)
    rows = []
    for case in todo:
        o, m = ours.get(case["name"]), mitsuba.get(case["name"])
        (o_text, o_s), (m_text, m_s) = _figure(o), _figure(m)
        ratio = m_s / o_s if o_s and m_s else None
        rows.append({"case": case, "ours": o, "mitsuba": m, "ratio": ratio})
        table.add_row(case["axis"], case["name"], o_text, m_text,
                      f"{ratio:.2f}" if ratio else "-",
                      f"{o['first_s']:.2f} / {m['first_s']:.2f} s" if o and m else "-",
                      f"{o['peak_rss_mib']:.0f}" if o else "-")
    Console(width=180).print(table)
    Path(args.json).write_text(json.dumps({"machine": machine, "arch": args.arch,
                                           "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
