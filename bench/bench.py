"""``make bench``: compile time and steady-state speed, printed as a table and saved as JSON.

Each case runs in a fresh process so that compile time is measured honestly: once with an
empty Taichi offline cache (cold) and once with the cache the cold run filled (warm).
Steady state is the best of several renders after compilation. Peak memory is the
process's maximum resident set size.

    python bench/bench.py [--arch cpu|cuda|auto] [--repeats N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CBOX = ROOT / "scenes" / "cbox.xml"
# Mitsuba 3.9.1 llvm_ad_rgb on the 2-core CI machine kind (DESIGN.md §7).
MITSUBA_FORWARD_MSPS = (2.2, 2.6)


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
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


WORKERS = {"forward": worker_forward}


def run_case(name: str, arch: str, repeats: int, cache_dir: str) -> dict:
    env = dict(os.environ, TI_OFFLINE_CACHE_FILE_PATH=cache_dir)
    out = subprocess.run([sys.executable, __file__, "--worker", name, "--arch", arch,
                          "--repeats", str(repeats)], env=env, capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--arch", default="auto")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.arch, args.repeats)))
        return

    from rich.console import Console
    from rich.table import Table

    results = []
    with tempfile.TemporaryDirectory() as cache:
        for name in WORKERS:
            cold = run_case(name, args.arch, args.repeats, cache)
            warm = run_case(name, args.arch, args.repeats, cache)
            cold["warm_compile_s"] = warm["compile_s"]
            cold["cold_compile_s"] = cold.pop("compile_s")
            results.append(cold)

    table = Table(title=f"invrender benchmarks ({platform.node()}, {os.cpu_count()} cores)")
    for col in ("case", "arch", "compile cold s", "compile warm s", "steady s", "M samples/s",
                "vs Mitsuba 3 LLVM", "peak RSS MiB"):
        table.add_column(col)
    for r in results:
        lo, hi = MITSUBA_FORWARD_MSPS
        ratio = f"{r['msamples_per_s'] / hi:.2f}-{r['msamples_per_s'] / lo:.2f}x"
        table.add_row(r["case"], r["arch"], f"{r['cold_compile_s']:.2f}",
                      f"{r['warm_compile_s']:.2f}", f"{r['steady_render_s']:.3f}",
                      f"{r['msamples_per_s']:.2f}", ratio, f"{r['peak_rss_mib']:.0f}")
    Console().print(table)
    Path(args.json).write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(),
                                           "results": results}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
