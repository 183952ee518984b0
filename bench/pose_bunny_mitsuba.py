"""The Mitsuba 3 tutorial "Object pose estimation" (inverse_rendering/
object_pose_estimation.ipynb) as the notebook runs it, timed. Runs in the Mitsuba venv:

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
        /work/mi-venv/bin/python bench/pose_bunny_mitsuba.py --out runs/pose_bunny_mitsuba

The tutorial's settings: the scene dict below (64^2, fov 60, gaussian filter with
sample_border, integrator direct_projective; a grey wall, the bunny scaled 6.5 and a small
spherical area light), a 1024-spp reference at seed 0, Adam lr 0.025 on angle 0.25
(times 100 degrees about y) and trans (0.1, -0.25), both clipped to [-0.5, 0.5] before
every use, 100 iterations of 16 spp seeded with the iteration, MSE. The truth is angle 0
and trans (0, 0). scenes/pose_bunny.xml is the same scene as an XML file.
The code is the notebook as of mitsuba-tutorials 41b0996, the last version for Mitsuba
3.9.1 (311b071 moved it to the redesigned Mesh class of a later Mitsuba:
bunny.positions and mi.Point3f(..., flip_axes=True) instead of bunny.vertex_positions
and dr.unravel / dr.ravel); otherwise the two are the same.

Writes --out/mitsuba.json (time per iteration: median and mean over iterations 2.., the
first apart, since Dr.Jit compiles its kernels then; the loss and parameters per
iteration; the final errors of trans and of the angle in degrees; the CPU) and
ref.exr / final.exr (the reference and the result at 1024 spp).
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import drjit as dr
import mitsuba as mi
from machine import cpu_model  # bench/machine.py, beside this script

mi.set_variant("llvm_ad_rgb")
from mitsuba.scalar_rgb import Transform4f as T  # noqa: E402  (after the variant is set)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tutorials", default=os.environ.get("MITSUBA_TUTORIALS", "/work/tutorials"),
                   help="mitsuba-tutorials checkout "
                   "(default $MITSUBA_TUTORIALS or /work/tutorials)")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--spp", type=int, default=16)
    p.add_argument("--out", type=Path, default=Path("runs/pose_bunny_mitsuba"))
    return p.parse_args()


def scene_dict(tutorials: Path) -> dict:
    """The notebook's scene, with the mesh file names under ``tutorials``."""
    meshes = tutorials / "scenes" / "meshes"
    return {
        "type": "scene",
        "integrator": {"type": "direct_projective"},
        "sensor": {
            "type": "perspective",
            "to_world": T().look_at(origin=(0, 0, 2), target=(0, 0, 0), up=(0, 1, 0)),
            "fov": 60,
            "film": {
                "type": "hdrfilm",
                "width": 64,
                "height": 64,
                "rfilter": {"type": "gaussian"},
                "sample_border": True,
            },
        },
        "wall": {
            "type": "obj",
            "filename": str(meshes / "rectangle.obj"),
            "to_world": T().translate([0, 0, -2]).scale(2.0),
            "face_normals": True,
            "bsdf": {"type": "diffuse",
                     "reflectance": {"type": "rgb", "value": (0.5, 0.5, 0.5)}},
        },
        "bunny": {
            "type": "ply",
            "filename": str(meshes / "bunny.ply"),
            "to_world": T().scale(6.5),
            "bsdf": {"type": "diffuse",
                     "reflectance": {"type": "rgb", "value": (0.3, 0.3, 0.75)}},
        },
        "light": {
            "type": "obj",
            "filename": str(meshes / "sphere.obj"),
            "emitter": {"type": "area",
                        "radiance": {"type": "rgb", "value": [1e3, 1e3, 1e3]}},
            "to_world": T().translate([2.5, 2.5, 7.0]).scale(0.25),
        },
    }


def main():
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    scene = mi.load_dict(scene_dict(Path(args.tutorials)))

    t0 = time.perf_counter()
    img_ref = mi.render(scene, seed=0, spp=1024)
    dr.eval(img_ref)
    ref_s = time.perf_counter() - t0
    mi.Bitmap(img_ref).write(str(args.out / "ref.exr"))

    params = mi.traverse(scene)
    initial_vertex_positions = dr.unravel(mi.Point3f, params["bunny.vertex_positions"])

    opt = mi.ad.Adam(lr=0.025)
    opt["angle"] = mi.Float(0.25)
    opt["trans"] = mi.Point2f(0.1, -0.25)

    def apply_transformation(params, opt):
        opt["trans"] = dr.clip(opt["trans"], -0.5, 0.5)
        opt["angle"] = dr.clip(opt["angle"], -0.5, 0.5)
        trafo = (mi.Transform4f().translate([opt["trans"].x, opt["trans"].y, 0.0])
                 .rotate([0, 1, 0], opt["angle"] * 100.0))
        params["bunny.vertex_positions"] = dr.ravel(trafo @ initial_vertex_positions)
        params.update()

    times, history = [], []
    for it in range(args.iterations):
        t0 = time.perf_counter()
        apply_transformation(params, opt)
        img = mi.render(scene, params, seed=it, spp=args.spp)
        loss = dr.sum(dr.square(img - img_ref)) / len(img.array)
        dr.backward(loss)
        opt.step()
        # the notebook reads these every iteration (loss_hist and its print)
        row = {"loss": float(loss.array[0]), "angle": float(opt["angle"][0]),
               "trans": [float(opt["trans"].x[0]), float(opt["trans"].y[0])]}
        times.append(time.perf_counter() - t0)
        history.append(row)
        print(f"Iteration {it:02d}: error={row['loss']:.6g}, angle={row['angle']:.4f}, "
              f"trans=[{row['trans'][0]:.4f}, {row['trans'][1]:.4f}] ({times[-1]:.3f} s)",
              flush=True)

    # the notebook's 'Optimized image' renders the scene as the last iteration left it
    img_final = mi.render(scene, spp=1024)
    mi.Bitmap(img_final).write(str(args.out / "final.exr"))
    total_s = time.perf_counter() - t_start

    # the parameters as the last step left them (clipped as apply_transformation would)
    angle = min(max(history[-1]["angle"], -0.5), 0.5) if history else 0.25
    trans = [min(max(t, -0.5), 0.5) for t in history[-1]["trans"]] if history else [0.1, -0.25]
    rest = times[1:]
    report = {
        "tutorial": "mitsuba-tutorials inverse_rendering/object_pose_estimation.ipynb",
        "mitsuba": mi.__version__, "drjit": dr.__version__, "variant": mi.variant(),
        "python": sys.version.split()[0],
        "cpu": cpu_model(),
        "settings": {"tutorials": str(args.tutorials), "iterations": args.iterations,
                     "spp": args.spp, "ref_spp": 1024, "ref_seed": 0, "res": 64,
                     "optimizer": "mi.ad.Adam(lr=0.025)", "loss": "MSE",
                     "init": {"angle": 0.25, "trans": [0.1, -0.25]},
                     "integrator": "direct_projective"},
        "time": {"reference_s": ref_s,
                 "first_iteration_s": times[0] if times else None,
                 "median_s_excluding_first": statistics.median(rest) if rest else None,
                 "mean_s_excluding_first": statistics.fmean(rest) if rest else None,
                 "iterations_total_s": sum(times), "total_s": total_s},
        "times_s": times,
        "final": {"angle": angle, "angle_degrees": 100.0 * angle, "trans": trans,
                  "loss": history[-1]["loss"] if history else None},
        "error": {"angle_degrees": abs(100.0 * angle),
                  "trans": (trans[0] ** 2 + trans[1] ** 2) ** 0.5,
                  "trans_xy": [abs(t) for t in trans]},
        "truth": {"angle_degrees": 0.0, "trans": [0.0, 0.0, 0.0]},
        "history": history,
    }
    (args.out / "mitsuba.json").write_text(json.dumps(report, indent=2) + "\n")
    if rest:
        print(f"first iteration {times[0]:.2f} s, then "
              f"{1000 * statistics.median(rest):.1f} ms/iteration (median)")
    print(f"final angle error {report['error']['angle_degrees']:.3f} degrees, trans error "
          f"{report['error']['trans']:.4f}; total {total_s:.1f} s; wrote {args.out}")


if __name__ == "__main__":
    main()
