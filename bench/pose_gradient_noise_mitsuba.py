"""The counterpart of bench/pose_gradient_noise.py in Mitsuba 3 (the pose tutorial's scene
and settings, bench/pose_bunny_mitsuba.py): mean and spread over seeds of d loss /
d (trans x, trans y, angle in degrees) at poses near the truth. Runs in the Mitsuba venv:

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
        /work/mi-venv/bin/python bench/pose_gradient_noise_mitsuba.py [--seeds 16]
"""

import argparse
import os
from pathlib import Path

import drjit as dr
import mitsuba as mi
import numpy as np

mi.set_variant("llvm_ad_rgb")
from pose_bunny_mitsuba import scene_dict  # noqa: E402  (bench/, beside this script)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tutorials", default=os.environ.get("MITSUBA_TUTORIALS", "/work/tutorials"))
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--offset", type=float, default=0.01)
    p.add_argument("--angle", type=float, default=1.0)
    args = p.parse_args()
    scene = mi.load_dict(scene_dict(Path(args.tutorials)))
    img_ref = mi.render(scene, seed=0, spp=1024)
    params = mi.traverse(scene)
    initial = dr.unravel(mi.Point3f, params["bunny.vertex_positions"])
    poses = {"truth": (0.0, 0.0), f"x+{args.offset}": (args.offset, 0.0),
             f"angle+{args.angle}": (0.0, args.angle)}
    for label, (tx, deg) in poses.items():
        g = []
        for seed in range(args.seeds):
            trans, angle = mi.Point2f(tx, 0.0), mi.Float(deg)
            dr.enable_grad(trans, angle)
            trafo = mi.Transform4f().translate([trans.x, trans.y, 0.0]).rotate([0, 1, 0], angle)
            params["bunny.vertex_positions"] = dr.ravel(trafo @ initial)
            params.update()
            img = mi.render(scene, params, seed=seed, spp=16)
            loss = dr.sum(dr.square(img - img_ref)) / len(img.array)
            dr.backward(loss)
            gt = dr.grad(trans)
            g.append([gt.x[0], gt.y[0], dr.grad(angle)[0]])
        g = np.array(g)
        ratio = np.abs(g).max(0) / np.median(np.abs(g), 0)
        print(f"mitsuba  {label:10s} mean {np.array2string(g.mean(0), precision=6)} "
              f"sd {np.array2string(g.std(0, ddof=1), precision=6)} "
              f"max/median {np.array2string(ratio, precision=1)}", flush=True)


if __name__ == "__main__":
    main()
