"""Recover the Cornell box's red wall colour with PyTorch's Adam and MSELoss.

The recipe ``recipes/cbox_red_wall.yaml`` run by ``torch.optim`` instead of our own loop
(as in Mitsuba 2's PyTorch example): the target is the scene at 8 spp (seed 1), the wall
starts grey (0.9, 0.9, 0.9), and each of 100 Adam steps (lr 0.05) renders 1 spp with a new
seed and clamps the colour to [0, 1]. The printed parameter error is the squared distance
to the true colour, as ``invrender optimize`` logs it.

    python examples/torch_red_wall.py [--iterations 100] [--res 256] [--seed 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

# PyTorch's OpenMP threads must sleep, not spin, while Taichi renders on the same cores
# (see invrender.torch); this must be set before torch starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import invrender  # noqa: E402
import invrender.torch as irt  # noqa: E402

SCENE = Path(__file__).resolve().parents[1] / "scenes" / "cbox.xml"
PARAM = "red.reflectance.value"
MAX_DEPTH = 3


def recover(res: int = 256, iterations: int = 100, seed: int = 100, arch: str = "auto",
            log: Callable[[str], None] | None = print, every: int = 10) -> dict:
    """Run the recovery; returns the final value, its error and the time per iteration."""
    invrender.init(arch)
    scene = invrender.load_scene(SCENE, res=res, max_depth=MAX_DEPTH)
    truth = torch.from_numpy(invrender.ParameterMap(scene)[PARAM])
    with torch.no_grad():  # the target: the scene as loaded, 8 spp, seed 1
        target = irt.render(scene, {PARAM: truth}, spp=8, seed=1, max_depth=MAX_DEPTH)

    x = torch.tensor([0.9, 0.9, 0.9], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=0.05)
    mse = torch.nn.MSELoss()
    ms, error = [], float(((x.detach() - truth) ** 2).sum())
    if log:
        log(f"iteration   0  parameter error {error:.3e}")
    for it in range(iterations):
        t0 = time.perf_counter()
        optimizer.zero_grad()
        image = irt.render(scene, {PARAM: x}, spp=1, seed=seed + it, max_depth=MAX_DEPTH)
        loss = mse(image, target)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            x.clamp_(0.0, 1.0)
        error = float(((x.detach() - truth) ** 2).sum())
        ms.append(1000 * (time.perf_counter() - t0))
        if log and ((it + 1) % every == 0 or it + 1 == iterations):
            log(f"iteration {it + 1:3d}  loss {loss.item():.5f}  parameter error "
                f"{error:.3e}  {ms[-1]:.0f} ms")
    steady = ms[1:] or ms
    return {"value": x.detach().tolist(), "truth": truth.tolist(), "param_error": error,
            "first_iteration_s": ms[0] / 1000 if ms else float("nan"),
            "ms_per_iteration": statistics.median(steady) if steady else float("nan"),
            "ms": ms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--res", type=int, default=256)
    ap.add_argument("--seed", type=int, default=100, help="seed of iteration 0 (then +1)")
    ap.add_argument("--arch", default="auto", choices=["auto", "cpu", "cuda"])
    args = ap.parse_args()
    r = recover(args.res, args.iterations, args.seed, args.arch)
    print(f"final {PARAM} = {[round(v, 4) for v in r['value']]} "
          f"(truth {[round(v, 4) for v in r['truth']]})")
    print(f"parameter error {r['param_error']:.2e}; {r['ms_per_iteration']:.1f} ms/iteration "
          f"(median after the first; first {r['first_iteration_s']:.2f} s, with compilation)")


if __name__ == "__main__":
    main()
