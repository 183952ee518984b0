"""Compare a forward-mode derivative image with finite differences of re-rendered images.

The check of issue 6 for geometry derivatives (visibility included): K independent AD
images against K central differences (same seed on both sides, step h along the
direction), 8x8 block sums as z-scores with standard errors from the runs, and Mitsuba's
metric mean|AD - FD| / mean|FD| on the block-downsampled images. The metric includes the
noise of both sides: raise --spp/--fd-spp until it stops falling before reading a bias in it.

    python bench/fd_compare.py bench/scenes/cube_rotate.xml cube.rotate 0,1,0 --h 0.5 \\
        --runs 16 --spp 1024 --fd-spp 4096
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scene")
    ap.add_argument("param")
    ap.add_argument("direction", help="comma-separated, e.g. 0,1,0")
    ap.add_argument("--h", type=float, default=0.01, help="finite-difference step")
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--spp", type=int, default=64, help="spp of each AD image")
    ap.add_argument("--fd-spp", type=int, default=256, help="spp of each FD side")
    ap.add_argument("--block", type=int, default=8)
    ap.add_argument("--arch", default="auto")
    ap.add_argument("--seed", type=int, default=10, help="AD seeds seed + k, FD seed + 490 + k")
    ap.add_argument("--max-depth", type=int, help="override the scene's integrator")
    ap.add_argument("--res", type=int, help="override the film: res x res")
    ap.add_argument("--save", help="write the AD and FD images to this .npz")
    args = ap.parse_args()

    import invrender
    from invrender.compare import block_agreement

    invrender.init(args.arch)
    overrides = {k: v for k, v in (("max_depth", args.max_depth), ("res", args.res))
                 if v is not None}
    scene = invrender.load_scene(args.scene, **overrides)
    pmap = invrender.ParameterMap(scene)
    direction = np.array([float(x) for x in args.direction.split(",")])
    t0 = time.perf_counter()
    ad = np.array([invrender.grad_image(scene, args.param, direction, spp=args.spp,
                                        seed=args.seed + k)
                   for k in range(args.runs)], np.float64)
    t_ad = time.perf_counter() - t0
    start = pmap[args.param]
    fd = []
    t0 = time.perf_counter()
    try:
        for k in range(args.runs):
            pmap[args.param] = start + args.h * direction
            plus = invrender.render(scene, spp=args.fd_spp, seed=args.seed + 490 + k)
            pmap[args.param] = start - args.h * direction
            minus = invrender.render(scene, spp=args.fd_spp, seed=args.seed + 490 + k)
            fd.append((plus - minus) / (2 * args.h))
    finally:
        pmap[args.param] = start
    t_fd = time.perf_counter() - t0
    fd = np.array(fd, np.float64)
    if args.save:
        np.savez_compressed(args.save, ad=ad, fd=fd)
    max_z, metric = block_agreement(ad, fd, args.block)
    print(f"AD {t_ad:.1f} s, FD {t_fd:.1f} s")
    print(f"image sums: AD {ad.mean(0).sum((0, 1))}, FD {fd.mean(0).sum((0, 1))}")
    print(f"max |z| of the block sums: {max_z:.2f} (pass < 4.5)")
    print(f"mean|AD - FD| / mean|FD| of the blocks: {metric:.3f} (pass < 0.05)")


if __name__ == "__main__":
    main()
