#!/usr/bin/env bash
# Mitsuba 3 references of the bundled Cornell box with different reconstruction filters.
#
# Makes, in tests/data/mitsuba/, for each VARIANT in box tent gaussian gaussian_stddev0.3
# tent_radius1.5 default:
#   cbox_VARIANT_ref.exr         mean of K=32 renders (64 x 64, max_depth 3, 256 spp each)
#   cbox_VARIANT_ref_stderr.exr  standard error of that mean
#   cbox_VARIANT_ref_blocks.npy  each run's 8 x 8 block sums, shape (32, 8, 8, 3)
#   cbox_VARIANT_ref.json        settings, seeds (10000 + 97 k), versions
#   cbox_VARIANT.xml             the scene rendered, mesh paths pointing at ../../../scenes/meshes/
# The scenes are ../shared/reference/scenes/cbox.xml with only the film's <rfilter type="box"/>
# line changed: box (unchanged), tent, gaussian (stddev 0.5, radius 4 stddev), gaussian with
# stddev 0.3, tent with radius 1.5, and default (no rfilter: Mitsuba's default gaussian).
#
# Took 3.5-3.9 s per variant (about 3.3 s rendering 32 x 256 spp, the rest import and scene
# load), 22 s for all six, on a 2-core AMD EPYC (AVX-512), Mitsuba 3.9.1 / Dr.Jit 1.5.0,
# llvm_ad_rgb, 2026-12-01. Reruns agree to float rounding (~1e-7), not bit for bit: the LLVM
# backend's film accumulation order varies between runs.
#
# Rerun (from anywhere; needs a venv with Mitsuba 3, never the project's own, see
# ../shared/DESIGN.md §7):
#   python3.11 -m venv /work/mi-venv
#   /work/mi-venv/bin/pip install mitsuba==3.9.1 drjit==1.5.0 OpenEXR numpy
#   apt-get install -y libllvm19
#   bash bench/mitsuba_filter_references.sh            # all variants
#   bash bench/mitsuba_filter_references.sh tent box   # only some
# Environment: MITSUBA_PYTHON (default /work/mi-venv/bin/python), SHARED (default ../shared
# beside the repository), DRJIT_LIBLLVM_PATH (default /usr/lib/x86_64-linux-gnu/libLLVM.so.19.1).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
MITSUBA_PYTHON=${MITSUBA_PYTHON:-/work/mi-venv/bin/python}
export DRJIT_LIBLLVM_PATH=${DRJIT_LIBLLVM_PATH:-/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1}
SCENE=$SHARED/reference/scenes/cbox.xml
TOOL=$SHARED/tools/mitsuba_reference.py
OUT=$REPO/tests/data/mitsuba
RES=64 MAX_DEPTH=3 K=32 SPP=256

ALL=(box tent gaussian gaussian_stddev0.3 tent_radius1.5 default)
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=("${ALL[@]}")

rfilter() {  # the film's rfilter element for a variant (empty: removed)
    case $1 in
        box) echo '<rfilter type="box"/>' ;;
        tent) echo '<rfilter type="tent"/>' ;;
        gaussian) echo '<rfilter type="gaussian"/>' ;;
        gaussian_stddev0.3) echo '<rfilter type="gaussian"><float name="stddev" value="0.3"/></rfilter>' ;;
        tent_radius1.5) echo '<rfilter type="tent"><float name="radius" value="1.5"/></rfilter>' ;;
        default) echo '' ;;
        *) echo "unknown variant $1 (known: ${ALL[*]})" >&2; return 1 ;;
    esac
}

grep -q '^ *<rfilter type="box"/>$' "$SCENE" || { echo "no <rfilter type=\"box\"/> line in $SCENE" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ln -s "$SHARED/reference/scenes/meshes" "$TMP/meshes"
mkdir -p "$OUT"

for v in "${VARIANTS[@]}"; do
    r=$(rfilter "$v")
    if [ -z "$r" ]; then
        sed '/^ *<rfilter type="box"\/>$/d' "$SCENE" > "$TMP/cbox_$v.xml"
    else
        R=$r "$MITSUBA_PYTHON" - "$SCENE" "$TMP/cbox_$v.xml" <<'EOF'
import os, sys
src = open(sys.argv[1]).read()
assert src.count('<rfilter type="box"/>') == 1
open(sys.argv[2], "w").write(src.replace('<rfilter type="box"/>', os.environ["R"]))
EOF
    fi
    sed 's|value="meshes/|value="../../../scenes/meshes/|' "$TMP/cbox_$v.xml" > "$OUT/cbox_$v.xml"
    t0=$(date +%s%N)
    "$MITSUBA_PYTHON" "$TOOL" "$TMP/cbox_$v.xml" "$OUT/cbox_$v" \
        -D res=$RES -D max_depth=$MAX_DEPTH --K $K --spp $SPP
    # the json names the temporary scene; point it at the kept copy instead
    "$MITSUBA_PYTHON" - "$OUT/cbox_${v}_ref.json" "tests/data/mitsuba/cbox_$v.xml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["scene"] = sys.argv[2]
d["scene_source"] = "shared/reference/scenes/cbox.xml, rfilter line changed (bench/mitsuba_filter_references.sh)"
json.dump(d, open(sys.argv[1], "w"), indent=2)
EOF
    t1=$(date +%s%N)
    echo "$v: $(( (t1 - t0) / 1000000 )) ms"
done
