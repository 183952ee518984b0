#!/usr/bin/env bash
# Mitsuba 3 references of the issue-14 material-preview scenes (tests/data/mitsuba/scenes14/).
#
# Makes, in tests/data/mitsuba/scenes14/, for each SCENE below:
#   SCENE_ref.exr         mean of K=32 renders (64 x 64, 256 spp each; max_depth etc. from the XML)
#   SCENE_ref_stderr.exr  standard error of that mean
#   SCENE_ref_blocks.npy  each run's 8 x 8 block sums, shape (32, 8, 8, 3)
#   SCENE_ref.json        settings, seeds (10000 + 97 k, k = 0..31), versions; "scene" is the
#                         XML's path relative to the repository root
# The scenes (each a row of analytic spheres and/or rectangles of several BSDFs on a diffuse floor,
# an area light, coloured surroundings; see the comment at the top of each XML) are rendered
# unchanged, with -D res=64, by the path integrator with an independent sampler:
#   conductors   conductor Au, roughconductor beckmann Cu, anisotropic ggx, ggx with a checkerboard
#                alpha; red/green/blue walls, no environment; max_depth 4, default gaussian filter
#   plastics     plastic (defaults), plastic nonlinear, roughplastic beckmann with a bitmap diffuse
#                (scenes/assets/checker.png), roughplastic ggx int_ior 1.9; constant env; max_depth
#                4, tent filter
#   dielectrics  dielectric (bk7), dielectric water, thindielectric pane, roughdielectric ggx 0.2;
#                envmap, checkerboard floor; max_depth 8, box filter
#   wrappers     twosided (diffuse front, roughconductor back), blendbsdf, mask 0.5, null; envmap;
#                max_depth 5, tent filter
#   principled   metallic/roughness, spec_trans, clearcoat + sheen, bitmap base_color; envmap;
#                max_depth 5, default gaussian filter
# Their images (sky.exr, stripes.png) come from tests/data/mitsuba/scenes14/make_assets.py
# (project venv; deterministic).
#
# Took, per scene (wall time of the tool: import, scene load and 32 x 256 spp; in brackets the
# rendering alone, the json's "seconds"), on a 2-core AMD EPYC (lscpu "AMD EPYC"),
# Mitsuba 3.9.1 / Dr.Jit 1.5.0, llvm_ad_rgb, 2026-12-01:
#   conductors 9.3 s (8.9), plastics 11.8 s (11.2), dielectrics 7.0 s (6.6), wrappers 9.3 s (8.9),
#   principled 7.9 s (7.5); 45 s for all five, so every scene keeps 256 spp.
#   Data: about 147 KB per scene (two 64 x 64 EXRs, the blocks, the json), 0.74 MB in all; the
#   folder with its XMLs, make_assets.py, sky.exr and stripes.png is 0.78 MB.
# Reruns agree to float rounding, not bit for bit: the LLVM backend's film accumulation order
# varies between runs.
#
# Rerun (from anywhere; needs a venv with Mitsuba 3, never the project's own, see
# ../shared/DESIGN.md §7):
#   python3.11 -m venv /work/mi-venv
#   /work/mi-venv/bin/pip install mitsuba==3.9.1 drjit==1.5.0 OpenEXR numpy
#   apt-get install -y libllvm19
#   bash bench/mitsuba_bsdf_scene_references.sh                          # all scenes
#   bash bench/mitsuba_bsdf_scene_references.sh conductors wrappers      # only some
# Environment: MITSUBA_PYTHON (default /work/mi-venv/bin/python), SHARED (default ../shared
# beside the repository), DRJIT_LIBLLVM_PATH (default /usr/lib/x86_64-linux-gnu/libLLVM.so.19.1).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
MITSUBA_PYTHON=${MITSUBA_PYTHON:-/work/mi-venv/bin/python}
export DRJIT_LIBLLVM_PATH=${DRJIT_LIBLLVM_PATH:-/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1}
TOOL=$SHARED/tools/mitsuba_reference.py
DIR=tests/data/mitsuba/scenes14
RES=64 K=32 SPP=256

ALL=(conductors plastics dielectrics wrappers principled)
SCENES=("$@")
[ ${#SCENES[@]} -eq 0 ] && SCENES=("${ALL[@]}")

cd "$REPO"   # so that each _ref.json names its scene relative to the repository root
for s in "${SCENES[@]}"; do
    [ -f "$DIR/$s.xml" ] || { echo "no scene $DIR/$s.xml (known: ${ALL[*]})" >&2; exit 1; }
    t0=$(date +%s%N)
    "$MITSUBA_PYTHON" "$TOOL" "$DIR/$s.xml" "$DIR/$s" -D res=$RES --K $K --spp $SPP
    t1=$(date +%s%N)
    echo "$s: $(( (t1 - t0) / 1000000 )) ms"
done
