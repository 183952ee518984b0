"""The Mitsuba 3 tutorial "Shape optimization" (inverse_rendering/shape_optimization.ipynb),
its Large Steps part as the notebook runs it, timed: the Mitsuba side of the Suzanne
comparison. Runs in the Mitsuba venv (cholespy and gpytoolbox installed there):

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
        /work/mi-venv/bin/python bench/shape_suzanne_mitsuba.py --out runs/shape_suzanne_mitsuba

The tutorial's settings (the defaults, except --spp/--iterations/--iterations2 which
are the tutorial's too): 8 sensors on the golden-ratio spiral at distance 5, fov 45,
256^2 hdrfilm with a gaussian filter and sample_border, independent sampler of 128 spp;
envmap2.exr, the target suzanne.ply and the start ico_10k.ply, both diffuse; references
of 256 spp; integrator direct_projective with sppi 0. Phase 1: Large Steps (lambda 25),
mi.ad.Adam(lr=1e-1, uniform=True), L1 loss, 100 iterations of one optimizer step per
view (8 steps per iteration, each render seeded with the iteration). Then Botsch-Kobbelt
remeshing (gpytoolbox, 5 iterations, half the mean edge length), a new latent variable
and Adam, and phase 2: 100 iterations with a default direct_projective (indirect
visibility on), the 8 views' gradients summed into one step per iteration.
Skipped from the notebook: the plots, the initial renders and the naive optimisation.
The code is the notebook as of mitsuba-tutorials d5f8af3, the last version for Mitsuba
3.9.1: the next commit (311b071, "Adapt the tutorials to the redesigned Mesh class")
renames shape.vertex_positions to shape.positions for a later Mitsuba; otherwise the
two are the same.
With --remesh off phase 2 still runs (new latent variable and Adam, as after
remeshing) on the phase-1 mesh; --iterations2 0 skips it.

Writes to --out: ref_<i>.exr (the references), final_<i>.exr (the result rendered as the
notebook's last cell does, --spp samples), mitsuba_phase1.ply and mitsuba_final.ply
(positions and faces), and mitsuba.json: the time per iteration of each phase (median and
mean over iterations 2.., the first apart: Dr.Jit compiles its kernels then), the total
time, the loss per iteration, the final loss (the last iteration's loss summed over the 8
views, as the notebook prints it), the CPU, and the settings.
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
import numpy as np
from machine import cpu_model  # bench/machine.py, beside this script

mi.set_variant("llvm_ad_rgb")
from mitsuba import ScalarTransform4f as T  # noqa: E402  (after the variant is set)

POSITIONS = "shape.vertex_positions"  # Mitsuba 3.9.1's name (later: shape.positions)
LAMBDA = 25
LR = 1e-1
SENSOR_COUNT = 8


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tutorials", default=os.environ.get("MITSUBA_TUTORIALS", "/work/tutorials"),
                   help="mitsuba-tutorials checkout "
                   "(default $MITSUBA_TUTORIALS or /work/tutorials)")
    p.add_argument("--res", type=int, default=256)
    p.add_argument("--spp", type=int, default=128, help="the sensors' sample count, used "
                   "by the optimisation renders (tutorial 128)")
    p.add_argument("--ref-spp", type=int, default=256)
    p.add_argument("--iterations", type=int, default=100, help="phase 1 (tutorial 100)")
    p.add_argument("--iterations2", type=int, default=100,
                   help="phase 2, after remeshing (tutorial 100)")
    p.add_argument("--remesh", choices=("on", "off"), default="on")
    p.add_argument("--out", type=Path, default=Path("runs/shape_suzanne_mitsuba"))
    return p.parse_args()


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Binary little-endian PLY: float32 x, y, z and uchar-counted uint32 triangles."""
    vertices = np.ascontiguousarray(vertices, dtype="<f4").reshape(-1, 3)
    faces = np.ascontiguousarray(faces, dtype="<u4").reshape(-1, 3)
    header = ("ply\nformat binary_little_endian 1.0\n"
              f"element vertex {len(vertices)}\n"
              "property float x\nproperty float y\nproperty float z\n"
              f"element face {len(faces)}\n"
              "property list uchar uint vertex_indices\nend_header\n")
    rows = np.empty(len(faces), dtype=[("n", "u1"), ("i", "<u4", (3,))])
    rows["n"], rows["i"] = 3, faces
    with open(path, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(vertices.tobytes())
        f.write(rows.tobytes())


def mesh_arrays(params):
    v = params[POSITIONS].numpy().reshape(-1, 3)
    f = params["shape.faces"].numpy().reshape(-1, 3)
    return v, f


def scalar(x) -> float:
    """The value of a one-element Dr.Jit array or tensor."""
    return float(np.asarray(x.numpy()).reshape(-1)[0])


def time_stats(times: list[float]) -> dict:
    rest = times[1:]
    return {"iterations": len(times),
            "first_s": times[0] if times else None,
            "median_s_excluding_first": statistics.median(rest) if rest else None,
            "mean_s_excluding_first": statistics.fmean(rest) if rest else None,
            "total_s": sum(times)}


def make_sensors(res: int, spp: int):
    # the notebook's cell, with width/height and sample_count from the flags
    sensors = []
    golden_ratio = (1 + 5**0.5) / 2
    for i in range(SENSOR_COUNT):
        theta = 2 * dr.pi * i / golden_ratio
        phi = dr.acos(1 - 2 * (i + 0.5) / SENSOR_COUNT)
        d = 5
        origin = [d * dr.cos(theta) * dr.sin(phi),
                  d * dr.sin(theta) * dr.sin(phi),
                  d * dr.cos(phi)]
        sensors.append(mi.load_dict({
            "type": "perspective",
            "fov": 45,
            "to_world": T().look_at(target=[0, 0, 0], origin=origin, up=[0, 1, 0]),
            "film": {
                "type": "hdrfilm",
                "width": res, "height": res,
                "filter": {"type": "gaussian"},
                "sample_border": True,
            },
            "sampler": {"type": "independent", "sample_count": spp},
        }))
    return sensors


def main():
    args = parse_args()
    tutorials = Path(args.tutorials)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    sensors = make_sensors(args.res, args.spp)
    scene_dict = {
        "type": "scene",
        "integrator": {"type": "direct_projective", "sppi": 0},
        "emitter": {"type": "envmap",
                    "filename": str(tutorials / "scenes/textures/envmap2.exr")},
        "shape": {"type": "ply",
                  "filename": str(tutorials / "scenes/meshes/suzanne.ply"),
                  "bsdf": {"type": "diffuse"}},
    }
    scene_target = mi.load_dict(scene_dict)

    t0 = time.perf_counter()
    ref_images = [mi.render(scene_target, sensor=sensors[i], spp=args.ref_spp)
                  for i in range(SENSOR_COUNT)]
    dr.eval(ref_images)
    for i, img in enumerate(ref_images):
        # not mi.util.write_bitmap: its asynchronous writes hung here once
        mi.Bitmap(img).write(str(out / f"ref_{i}.exr"))
    ref_s = time.perf_counter() - t0

    scene_dict["shape"]["filename"] = str(tutorials / "scenes/meshes/ico_10k.ply")
    scene_source = mi.load_dict(scene_dict)
    params = mi.traverse(scene_source)
    start_vertices, start_faces = mesh_arrays(params)

    # --- phase 1: Large Steps, one step per view -------------------------------------------
    ls = mi.ad.LargeSteps(params[POSITIONS], params["shape.faces"], LAMBDA)
    opt = mi.ad.Adam(lr=LR, uniform=True)
    opt["u"] = ls.to_differential(params[POSITIONS])

    times1, losses1 = [], []
    for it in range(args.iterations):
        t0 = time.perf_counter()
        total_loss = mi.Float(0.0)
        for sensor_idx in range(SENSOR_COUNT):
            params[POSITIONS] = ls.from_differential(opt["u"])
            params.update()
            img = mi.render(scene_source, params, sensor=sensors[sensor_idx], seed=it)
            loss = dr.mean(dr.abs(img - ref_images[sensor_idx]))  # L1
            dr.backward(loss)
            opt.step()
            total_loss += loss
        value = scalar(total_loss)  # the notebook prints it every iteration
        times1.append(time.perf_counter() - t0)
        losses1.append(value)
        print(f"phase 1 iteration {1 + it:03d}: loss = {value:.6f} ({times1[-1]:.2f} s)",
              flush=True)

    params[POSITIONS] = ls.from_differential(opt["u"])
    params.update()
    v1, f1 = mesh_arrays(params)
    write_ply(out / "mitsuba_phase1.ply", v1, f1)

    # --- remeshing ---------------------------------------------------------------------------
    remesh_s = None
    if args.remesh == "on":
        from gpytoolbox import remesh_botsch

        t0 = time.perf_counter()
        v_np = params[POSITIONS].numpy().astype(np.float64).reshape(-1, 3)
        f_np = params["shape.faces"].numpy().reshape(-1, 3)
        l0 = np.linalg.norm(v_np[f_np[:, 0]] - v_np[f_np[:, 1]], axis=1)
        l1 = np.linalg.norm(v_np[f_np[:, 1]] - v_np[f_np[:, 2]], axis=1)
        l2 = np.linalg.norm(v_np[f_np[:, 2]] - v_np[f_np[:, 0]], axis=1)
        target_l = np.mean([l0, l1, l2]) / 2
        v_new, f_new = remesh_botsch(v_np, f_np, i=5, h=target_l, project=True)
        params[POSITIONS] = mi.Float(v_new.flatten().astype(np.float32))
        params["shape.faces"] = mi.Int(f_new.flatten())
        params.update()
        remesh_s = time.perf_counter() - t0
    remeshed_vertices, remeshed_faces = mesh_arrays(params)

    # --- phase 2: one step per iteration, indirect visibility on ---------------------------
    times2, losses2 = [], []
    if args.iterations2 > 0:
        ls = mi.ad.LargeSteps(params[POSITIONS], params["shape.faces"], LAMBDA)
        opt = mi.ad.Adam(lr=LR, uniform=True)
        opt["u"] = ls.to_differential(params[POSITIONS])
        integrator = mi.load_dict({"type": "direct_projective"})
        for it in range(args.iterations2):
            t0 = time.perf_counter()
            total_loss = mi.Float(0.0)
            for sensor_idx in range(SENSOR_COUNT):
                params[POSITIONS] = ls.from_differential(opt["u"])
                params.update()
                img = mi.render(scene_source, params, sensor=sensors[sensor_idx], seed=it,
                                integrator=integrator)
                loss = dr.mean(dr.abs(img - ref_images[sensor_idx]))  # L1
                dr.backward(loss)
                total_loss += loss
            opt.step()
            value = scalar(total_loss)
            times2.append(time.perf_counter() - t0)
            losses2.append(value)
            print(f"phase 2 iteration {1 + it:03d}: loss = {value:.6f} ({times2[-1]:.2f} s)",
                  flush=True)
        params[POSITIONS] = ls.from_differential(opt["u"])
        params.update()

    v_final, f_final = mesh_arrays(params)
    write_ply(out / "mitsuba_final.ply", v_final, f_final)
    optimise_s = time.perf_counter() - t_start

    # the notebook's last cell: the result from every view at the sensors' spp
    final_imgs = [mi.render(scene_source, sensor=sensors[i], spp=args.spp)
                  for i in range(SENSOR_COUNT)]
    for i, img in enumerate(final_imgs):
        mi.Bitmap(img).write(str(out / f"final_{i}.exr"))
    final_l1 = [scalar(dr.mean(dr.abs(final_imgs[i] - ref_images[i])))
                for i in range(SENSOR_COUNT)]
    total_s = time.perf_counter() - t_start

    losses = losses2 or losses1
    report = {
        "tutorial": "mitsuba-tutorials inverse_rendering/shape_optimization.ipynb "
                    "(Large Steps with remeshing)",
        "mitsuba": mi.__version__, "drjit": dr.__version__, "variant": mi.variant(),
        "python": sys.version.split()[0],
        "cpu": cpu_model(),
        "settings": {"tutorials": str(tutorials), "res": args.res, "spp": args.spp,
                     "ref_spp": args.ref_spp, "iterations": args.iterations,
                     "iterations2": args.iterations2, "remesh": args.remesh,
                     "sensors": SENSOR_COUNT, "lambda": LAMBDA,
                     "optimizer": f"mi.ad.Adam(lr={LR}, uniform=True)", "loss": "L1",
                     "phase1": "direct_projective sppi=0, one step per view",
                     "phase2": "direct_projective (defaults), one step per iteration",
                     "filter": "gaussian", "sample_border": True, "fov": 45,
                     "distance": 5},
        "mesh": {"start": {"vertices": len(start_vertices), "faces": len(start_faces)},
                 "after_remesh": {"vertices": len(remeshed_vertices),
                                  "faces": len(remeshed_faces)},
                 "final": {"vertices": len(v_final), "faces": len(f_final)}},
        "time": {"reference_s": ref_s, "phase1": time_stats(times1),
                 "remesh_s": remesh_s, "phase2": time_stats(times2),
                 "optimisation_total_s": optimise_s, "total_s": total_s},
        "phase1_times_s": times1, "phase2_times_s": times2,
        "loss": {"final": losses[-1] if losses else None,
                 "phase1": losses1, "phase2": losses2,
                 "final_render_l1_per_view": final_l1,
                 "final_render_l1_sum": sum(final_l1)},
        "files": {"final_mesh": "mitsuba_final.ply", "phase1_mesh": "mitsuba_phase1.ply",
                  "references": [f"ref_{i}.exr" for i in range(SENSOR_COUNT)],
                  "final_images": [f"final_{i}.exr" for i in range(SENSOR_COUNT)]},
    }
    (out / "mitsuba.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, t in (("phase 1", times1), ("phase 2", times2)):
        if t:
            s = time_stats(t)
            med = s["median_s_excluding_first"]
            print(f"{name}: first iteration {s['first_s']:.2f} s, then "
                  + (f"{med:.2f} s/iteration (median)" if med is not None else "-"))
    print(f"final loss {report['loss']['final']}, total {total_s:.1f} s; wrote {out}")


if __name__ == "__main__":
    main()
