"""The Mitsuba 3 tutorial "Gradient-based optimization" as its notebook runs it, timed: the
side-by-side figure for recipes/tutorial_red_wall.yaml. Runs in the Mitsuba venv:

    DRJIT_LIBLLVM_PATH=/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1 \\
        /work/mi-venv/bin/python bench/tutorial_red_wall_mitsuba.py /work/tutorials/scenes/cbox.xml

The tutorial's settings: res 128, integrator prb, a 512-spp reference, Adam lr 0.05,
50 iterations of 4 spp from (0.01, 0.2, 0.9), clamped to [0, 1]. Prints the squared
parameter error at iterations 0, 10, 25 and 50 and the time per iteration (the first
apart: Dr.Jit compiles its kernels then).
"""

import sys
import time

import drjit as dr
import mitsuba as mi

mi.set_variant("llvm_ad_rgb")
scene = mi.load_file(sys.argv[1], res=128, integrator="prb")
image_ref = mi.render(scene, spp=512)
params = mi.traverse(scene)
key = "red.reflectance.value"
param_ref = mi.Color3f(params[key])
params[key] = mi.Color3f(0.01, 0.2, 0.9)
params.update()
opt = mi.ad.Adam(lr=0.05)
opt[key] = params[key]
params.update(opt)
errors, times = [], []
for _ in range(50):
    start = time.perf_counter()
    image = mi.render(scene, params, spp=4)
    loss = dr.mean(dr.square(image - image_ref))
    dr.backward(loss)
    opt.step()
    opt[key] = dr.clip(opt[key], 0.0, 1.0)
    params.update(opt)
    err = dr.sum(dr.square(param_ref - params[key]))
    dr.eval(err)
    times.append(time.perf_counter() - start)
    errors.append(float(err[0]) if hasattr(err, "__len__") else float(err))
steady = sorted(times[1:])[len(times[1:]) // 2]
print(f"first iteration {times[0]:.2f} s, then {1000 * steady:.0f} ms/iteration (median)")
print("squared parameter error after iterations 1, 10, 25, 50:",
      ", ".join(f"{errors[i]:.2e}" for i in (0, 9, 24, 49)))
