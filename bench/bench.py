"""``make bench``: compile time and steady-state speed, printed as a table and saved as JSON.

Each case runs in a fresh process so that compile time is measured honestly: once with an
empty Taichi offline cache of its own (cold) and once with the cache the cold run filled
(warm). The ``compile*`` cases time everything a render_grad with boundary terms and a
grad_image need (budget: 5 s cold on 2 cores at any depth); ``second_scene`` the first
image of a second scene in the same process (budget: 0.5 s).
Steady state is the best of several renders after compilation. Peak memory is the
process's maximum resident set size.

    python bench/bench.py [--arch cpu|cuda|auto] [--repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import peak_rss_mib  # bench/, beside this script

ROOT = Path(__file__).resolve().parents[1]
CBOX = ROOT / "scenes" / "cbox.xml"


def worker_forward(arch: str, repeats: int) -> dict:
    """Forward rendering of the Cornell box at 256x256, 64 spp, max_depth 3."""
    import invrender
    from invrender.renderer import RenderStats

    t0 = time.perf_counter()
    invrender.init(arch)
    scene = invrender.load_scene(CBOX, res=256, max_depth=3)
    setup = time.perf_counter() - t0
    first = RenderStats()
    invrender.render(scene, spp=64, seed=0, stats=first)
    best = float("inf")
    for r in range(repeats):
        stats = RenderStats()
        invrender.render(scene, spp=64, seed=r + 1, stats=stats)
        best = min(best, stats.seconds)
    samples = 256 * 256 * 64
    return {
        "case": "forward cbox 256x256 64spp depth 3",
        "arch": invrender.runtime.current().arch,
        "setup_s": setup,
        "compile_s": first.compile_seconds,
        "first_render_s": first.seconds,
        "steady_render_s": best,
        "msamples_per_s": samples / best / 1e6,
        "peak_rss_mib": peak_rss_mib(),
    }


def worker_gradient(arch: str, repeats: int, spp_per_pass: int = 1) -> dict:
    """One reverse-mode gradient pass (trace + shade + backward) at 256x256, max_depth 3."""
    import numpy as np
    import taichi as ti

    import invrender
    from invrender import autodiff

    invrender.init(arch)
    scene = invrender.load_scene(CBOX, res=256, max_depth=3)
    autodiff.RECORD_SAMPLES = 256 * 256 * spp_per_pass
    d_image = np.full((256, 256, 3), 1e-5)
    diff = autodiff.DiffRenderer.of(scene, 3)
    t0 = time.perf_counter()
    diff.backward(0, spp_per_pass, d_image, 5)  # compiles trace and the replay's kernels
    first = time.perf_counter() - t0
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        diff.backward(r + 1, spp_per_pass, d_image, 5)
        ti.sync()  # wait for the kernels
        best = min(best, time.perf_counter() - t0)
    return {"case": f"gradient pass 256x256 {spp_per_pass} spp/pass depth 3",
            "arch": invrender.runtime.current().arch, "compile_s": first - best,
            "steady_s": best, "peak_rss_mib": peak_rss_mib()}


def worker_gradient64(arch: str, repeats: int) -> dict:
    return worker_gradient(arch, 1, spp_per_pass=64)


def worker_boundary(arch: str, repeats: int) -> dict:
    """Reverse-mode pass for smallbox.translate at 256x256, 1 spp, max_depth 3: with the
    visibility boundary terms and interior-only, to report the boundary terms' cost."""
    import numpy as np
    import taichi as ti

    import invrender
    from invrender import autodiff

    invrender.init(arch)
    scene = invrender.load_scene(CBOX, res=256, max_depth=3)
    diff = autodiff.DiffRenderer.of(scene, 3)
    moving = ([m.id for m in scene.meshes].index("smallbox"),)
    d_image = np.full((256, 256, 3), 1e-5)
    for m in ((), moving):  # compile everything first
        diff.backward(0, 1, d_image, 5, m)
    times = {}
    for label, m in (("interior", ()), ("total", moving)):
        best = float("inf")
        for r in range(max(repeats, 3)):
            t0 = time.perf_counter()
            diff.backward(r + 1, 1, d_image, 5, m)
            ti.sync()
            best = min(best, time.perf_counter() - t0)
        times[label] = best
    return {"case": "boundary terms, smallbox, 256x256 1 spp depth 3",
            "arch": invrender.runtime.current().arch, "steady_s": times["total"],
            "interior_s": times["interior"], "ratio": times["total"] / times["interior"],
            "peak_rss_mib": peak_rss_mib()}


def worker_optimize(arch: str, repeats: int) -> dict:
    """The red-wall recipe at 256x256, 1 spp, Adam: time to first iteration and ms/iteration."""
    import tempfile

    import invrender
    from invrender.recipe import load_recipe

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        recipe = load_recipe(ROOT / "recipes" / "cbox_red_wall.yaml",
                             [f"arch={arch}", f"output.dir={out}", "output.frame_every=0",
                              "output.checkpoint_every=0"])
        result = invrender.optimize(recipe)
    total = time.perf_counter() - t0
    ms = sorted(r["ms"] for r in result.log[1:])
    return {"case": "optimize red wall 256x256 1 spp Adam (100 it)",
            "arch": invrender.runtime.current().arch,
            "first_iteration_s": result.first_iteration_s, "ms_per_iteration": ms[len(ms) // 2],
            "total_s": total, "param_error": result.log[-1]["param_error"],
            "peak_rss_mib": peak_rss_mib()}


def worker_large_mesh(arch: str, repeats: int) -> dict:
    """A 1M-triangle OBJ: load (trimesh), BVH build, first and second render at 1 spp."""
    import tempfile

    from compare_cases import scene_file  # beside this script

    import invrender

    with tempfile.TemporaryDirectory() as tmp:
        path = scene_file({"triangles": 1_000_000}, Path(tmp))  # a height field in the cbox
        invrender.init(arch)
        t0 = time.perf_counter()
        scene = invrender.load_scene(path, res=256)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        invrender.render(scene, spp=1)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        invrender.render(scene, spp=16)
        steady = time.perf_counter() - t0
    return {"case": "1M-triangle OBJ + cbox 256x256", "arch": invrender.runtime.current().arch,
            "load_s": load, "first_render_s": first,
            "msamples_per_s": 256 * 256 * 16 / steady / 1e6, "peak_rss_mib": peak_rss_mib()}


def worker_compile(arch: str, repeats: int, depth: int = 3) -> dict:
    """Everything one render_grad with boundary terms needs, then forward mode: the path
    kernel, the replay's reverse and forward kernels, the film and boundary kernels; run
    with an empty offline cache this is the cold compile time (the steady work at 32x32,
    1 spp, is a few milliseconds of it)."""
    import numpy as np
    import taichi as ti

    import invrender

    invrender.init(arch)
    scene = invrender.load_scene(CBOX, res=32, max_depth=depth)
    target = np.zeros((32, 32, 3))
    t0 = time.perf_counter()
    invrender.render_grad(scene, ["smallbox.translate"], target=target, spp=1)
    invrender.grad_image(scene, "smallbox.translate", spp=1)
    ti.sync()
    return {"case": f"compile: render_grad + grad_image with boundary, depth {depth}",
            "arch": invrender.runtime.current().arch, "compile_s": time.perf_counter() - t0,
            "peak_rss_mib": peak_rss_mib()}


def worker_compile8(arch: str, repeats: int) -> dict:
    return worker_compile(arch, repeats, 8)


def worker_compile_unbounded(arch: str, repeats: int) -> dict:
    return worker_compile(arch, repeats, -1)


def worker_second_scene(arch: str, repeats: int) -> dict:
    """After the Cornell box, a scene of another size and mesh count (the bundled env
    sphere scene with a diffuse floor instead of a texture, 48x40): time from loading it to
    its first image, and to its first gradient."""
    import numpy as np
    import taichi as ti

    import invrender

    invrender.init(arch)
    first = invrender.load_scene(CBOX, res=32, max_depth=3)
    invrender.render_grad(first, ["smallbox.translate"], target=np.zeros((32, 32, 3)), spp=1)
    ti.sync()
    t0 = time.perf_counter()
    second = invrender.load_scene(CBOX, res=48, max_depth=3)
    second.meshes = second.meshes[:-1]  # another mesh count (no large box)
    second.sensors[0].height = 40
    invrender.render(second, spp=1)
    ti.sync()
    image_s = time.perf_counter() - t0
    invrender.render_grad(second, ["smallbox.translate"], target=np.zeros((40, 48, 3)), spp=1)
    ti.sync()
    return {"case": "second scene (48x40, one mesh fewer) after the cbox",
            "arch": invrender.runtime.current().arch, "first_image_s": image_s,
            "first_gradient_s": time.perf_counter() - t0, "peak_rss_mib": peak_rss_mib()}


WORKERS = {"compile": worker_compile, "compile8": worker_compile8,
           "compile_unbounded": worker_compile_unbounded, "second_scene": worker_second_scene,
           "forward": worker_forward, "gradient": worker_gradient,
           "gradient64": worker_gradient64, "boundary": worker_boundary,
           "optimize": worker_optimize,
           "large_mesh": worker_large_mesh}
if importlib.util.find_spec("torch") is not None:  # the optional PyTorch extra
    from bench_torch import worker_torch  # bench/ is on sys.path: this file runs as a script

    WORKERS["torch"] = lambda arch, repeats: worker_torch(arch, min(repeats, 2))


def run_case(name: str, arch: str, repeats: int, cache_dir: str) -> dict:
    env = dict(os.environ, TI_OFFLINE_CACHE_FILE_PATH=cache_dir)
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--arch", arch,
                          "--repeats", str(repeats)], env=env, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(r: dict) -> tuple[str, ...]:
    """One table row: what was measured (ratios to Mitsuba come from ``make bench-compare``,
    which runs both on this machine in one run)."""
    cold, warm = r.get("cold_compile_s"), r.get("compile_s")
    compile_ = f"{cold:.2f} / {warm:.2f}" if cold is not None and warm is not None else "-"
    if "msamples_per_s" in r and r["case"].startswith("forward"):
        steady = f"{r['msamples_per_s']:.2f} M samples/s"
    elif "msamples_per_s" in r:
        steady = (f"load {r['load_s']:.1f} s, first render {r['first_render_s']:.1f} s, "
                  f"{r['msamples_per_s']:.2f} M samples/s")
    elif "overhead_percent" in r:
        steady = (f"{r['ms_per_iteration']:.0f} ms/it through torch vs "
                  f"{r['native_ms_per_iteration']:.0f} native: {r['overhead_percent']:+.1f} % "
                  f"(target < 10 %); error {r['param_error']:.1e}")
    elif "ms_per_iteration" in r:
        steady = (f"{r['ms_per_iteration']:.0f} ms/it; first it {r['first_iteration_s']:.2f} s "
                  f"warm, {r['cold_first_iteration_s']:.2f} s cold; error "
                  f"{r['param_error']:.1e}")
    elif "first_image_s" in r:
        steady = (f"first image {r['first_image_s']:.2f} s, first gradient "
                  f"{r['first_gradient_s']:.2f} s (budget 0.5 s)")
    elif r["case"].startswith("compile"):
        steady = "(budget 5 s cold on 2 CPU cores)"
    elif "ratio" in r:
        steady = (f"{1000 * r['steady_s']:.0f} ms vs {1000 * r['interior_s']:.0f} ms "
                  f"interior-only ({r['ratio']:.2f}x)")
    else:
        steady = f"{1000 * r['steady_s']:.0f} ms"
    return (r["case"], r["arch"], compile_, steady, f"{r['peak_rss_mib']:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="auto")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--cases", default=",".join(WORKERS),
                    help=f"comma-separated subset of: {', '.join(WORKERS)}")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.arch, args.repeats)))
        return

    from rich.console import Console
    from rich.table import Table

    results = []
    for name in args.cases.split(","):
        if name not in WORKERS:
            raise SystemExit(f"unknown case '{name}'; known: {', '.join(WORKERS)}")
        with tempfile.TemporaryDirectory() as cache:  # each case starts cold
            cold = run_case(name, args.arch, args.repeats, cache)
            warm = run_case(name, args.arch, args.repeats, cache)
        warm["cold_first_iteration_s"] = cold.get("first_iteration_s")
        warm["cold_compile_s"] = cold.get("compile_s")
        for key in ("first_image_s", "first_gradient_s"):
            if key in cold:
                warm["cold_" + key] = cold[key]
        results.append(warm)
        print(" | ".join(_row(warm)), flush=True)  # partial results survive a timeout

    console = Console(width=max(Console().width, 150))  # the table wants a wide page
    table = Table(title=f"invrender benchmarks ({platform.node()}, {os.cpu_count()} cores)")
    for col in ("case", "arch", "compile cold / warm s", "steady", "peak RSS MiB"):
        table.add_column(col)
    for r in results:
        table.add_row(*_row(r))
    console.print(table)
    Path(args.json).write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(),
                                           "results": results}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
