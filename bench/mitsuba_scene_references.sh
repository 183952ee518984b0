#!/usr/bin/env bash
# Mitsuba 3 references of the issue-13 scene-feature scenes (tests/data/mitsuba/scenes13/).
#
# Makes, in tests/data/mitsuba/scenes13/, for each SCENE below:
#   SCENE_ref.exr         mean of K=32 renders (64 x 64, 256 spp each; max_depth etc. from the XML)
#   SCENE_ref_stderr.exr  standard error of that mean
#   SCENE_ref_blocks.npy  each run's 8 x 8 block sums, shape (32, 8, 8, 3)
#   SCENE_ref.json        settings, seeds (10000 + 97 k, k = 0..31), versions; "scene" is the
#                         XML's path relative to the repository root
# The scenes (each exercises one new plugin or parser feature; see the comment at the top of each
# XML) are rendered unchanged, with -D res=64:
#   point_light       point emitter                 spot_light     spot emitter (cone edge in view)
#   directional       directional + constant emitters, film without rfilter (default gaussian)
#   envmap            envmap emitter, float32 EXR   envmap_png     envmap emitter, 8-bit sRGB PNG
#   smooth_ply        binary PLY with vertex normals vs PLY without them + face_normals
#   shapes            disk, cylinder, analytic sphere, flip_normals rectangle, constant env
#   checker_spectrum  checkerboard (to_uv), <spectrum> values, forward <ref>, shared bitmap texture
#   direct_hide       direct integrator, emitter_samples 2, bsdf_samples 3, hide_emitters
#   path_hide_env     path max_depth 4 with hide_emitters under an envmap
#   include           <include> of include_part.xml and <path> for a bare mesh filename
#   serialized        serialized meshes (shape_index 0 with normals and uvs, 1 without)
# Their meshes and images (sky.exr, sky.png, ico_smooth.ply, ico_flat.ply, inc_meshes/wedge.obj)
# come from tests/data/mitsuba/scenes13/make_assets.py (project venv; deterministic). The bitmap
# of checker_spectrum is scenes/assets/checker.png.
#
# Took, per scene (wall time of the tool: import, scene load and 32 x 256 spp; in brackets the
# rendering alone, the json's "seconds"), on a 2-core AMD EPYC (AVX-512, lscpu "AMD EPYC"),
# Mitsuba 3.9.1 / Dr.Jit 1.5.0, llvm_ad_rgb, 2026-12-01:
#   point_light 1.0 s (0.8), spot_light 1.2 s (0.9), directional 1.7 s (1.5), envmap 2.5 s (2.2),
#   envmap_png 2.3 s (2.1), smooth_ply 2.2 s (1.9), shapes 1.0 s (0.8), checker_spectrum 2.7 s
#   (2.5), direct_hide 2.0 s (1.7), path_hide_env 2.7 s (2.4), include 1.1 s (0.8); 20 s for all
#   serialized 4.5 s (added later, same machine)
#   curve 14.1 s (13.6) (bsplinecurve: Embree's round curves are slow; added later, same machine)
#   eleven. Data: about 110 KB per scene (two 64 x 64 EXRs, the blocks, the json), 1.2 MB in all.
# Reruns agree to float rounding, not bit for bit: the LLVM backend's film accumulation order
# varies between runs.
#
# Rerun (from anywhere; needs a venv with Mitsuba 3, never the project's own, see
# ../shared/DESIGN.md §7):
#   python3.11 -m venv /work/mi-venv
#   /work/mi-venv/bin/pip install mitsuba==3.9.1 drjit==1.5.0 OpenEXR numpy
#   apt-get install -y libllvm19
#   bash bench/mitsuba_scene_references.sh                    # all scenes
#   bash bench/mitsuba_scene_references.sh envmap shapes      # only some
# Environment: MITSUBA_PYTHON (default /work/mi-venv/bin/python), SHARED (default ../shared
# beside the repository), DRJIT_LIBLLVM_PATH (default /usr/lib/x86_64-linux-gnu/libLLVM.so.19.1).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
MITSUBA_PYTHON=${MITSUBA_PYTHON:-/work/mi-venv/bin/python}
export DRJIT_LIBLLVM_PATH=${DRJIT_LIBLLVM_PATH:-/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1}
TOOL=$SHARED/tools/mitsuba_reference.py
DIR=tests/data/mitsuba/scenes13
RES=64 K=32 SPP=256

ALL=(spot_texture serialized point_light spot_light directional envmap envmap_png smooth_ply shapes checker_spectrum
     direct_hide path_hide_env include curve)
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
