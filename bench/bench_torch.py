"""The PyTorch path's overhead: the red-wall loop through ``invrender.torch`` and
``torch.optim.Adam`` against the native ``invrender.optimize`` loop of the same recipe
(256x256, 1 spp, max_depth 3, 100 iterations). Per loop, the median ms/iteration after the
first (which compiles); the native loop runs first and compiles the kernels that both use.
With ``repeats`` > 1 the two loops alternate and each keeps its best median, which damps
the load of other processes (about 30 s per round on 2 cores).

    python bench/bench_torch.py [--arch cpu|cuda|auto] [--repeats N]

``bench/bench.py`` calls ``worker_torch`` in a fresh process like its other cases.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import tempfile
import time
from pathlib import Path

from machine import peak_rss_mib  # bench/, beside this script

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "cbox_red_wall.yaml"
EXAMPLE = ROOT / "examples" / "torch_red_wall.py"


def _example():
    """examples/torch_red_wall.py as a module: the benchmark times the example's own loop."""
    spec = importlib.util.spec_from_file_location("torch_red_wall", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def native_loop(arch: str) -> dict:
    """The recipe through ``invrender.optimize``, without frames or checkpoints."""
    import invrender
    from invrender.recipe import load_recipe

    with tempfile.TemporaryDirectory() as out:
        recipe = load_recipe(RECIPE, [f"arch={arch}", f"output.dir={out}",
                                      "output.frame_every=0", "output.checkpoint_every=0"])
        result = invrender.optimize(recipe)
    ms = sorted(r["ms"] for r in result.log[1:])
    return {"ms_per_iteration": ms[len(ms) // 2], "param_error": result.log[-1]["param_error"],
            "first_iteration_s": result.first_iteration_s}


def worker_torch(arch: str, repeats: int) -> dict:
    """Median ms/iteration of the torch loop and of the native loop, and the overhead."""
    import invrender

    example = _example()
    native, torch_ = [], []
    for _ in range(max(1, repeats)):
        native.append(native_loop(arch))
        torch_.append(example.recover(res=256, iterations=100, seed=100, arch=arch, log=None))
    best_native = min(native, key=lambda r: r["ms_per_iteration"])
    best_torch = min(torch_, key=lambda r: r["ms_per_iteration"])
    ms, ref = best_torch["ms_per_iteration"], best_native["ms_per_iteration"]
    return {"case": "torch red wall 256x256 1 spp Adam (100 it) vs native optimize",
            "arch": invrender.runtime.current().arch,
            "ms_per_iteration": ms, "native_ms_per_iteration": ref,
            "overhead_percent": 100.0 * (ms - ref) / ref,
            "param_error": best_torch["param_error"],
            "native_param_error": best_native["param_error"],
            "native_first_iteration_s": native[0]["first_iteration_s"],
            "peak_rss_mib": peak_rss_mib()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="auto")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    t0 = time.perf_counter()
    r = worker_torch(args.arch, args.repeats)
    print(f"{r['case']} on {r['arch']}: torch {r['ms_per_iteration']:.1f} ms/it, native "
          f"{r['native_ms_per_iteration']:.1f} ms/it, overhead {r['overhead_percent']:+.1f} % "
          f"(target < 10 %); parameter error torch {r['param_error']:.1e}, native "
          f"{r['native_param_error']:.1e}; {time.perf_counter() - t0:.0f} s in all")
    print(json.dumps(r))


if __name__ == "__main__":
    main()
