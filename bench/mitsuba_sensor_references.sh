#!/usr/bin/env bash
# Mitsuba 3 references of the sensors: camera rays, the default camera, and renders of the
# Cornell box through a thin lens, an orthographic camera and an off-centre pinhole.
#
# Makes, in tests/data/mitsuba/sensors/:
#   rays.json            per case: the <sensor> XML, film size, 12 film samples in [0, 1]^2
#                        and 12 aperture samples, and Mitsuba's sample_ray for each
#                        (scalar_rgb: origin, direction, maxt) and its x_fov
#   default_sensor.json  Mitsuba's bounding box of tests/data/mitsuba/cbox_box.xml and the
#                        camera Mitsuba 3 placed for a scene without a sensor until commit
#                        1279b88e8 (July 2022, before 3.0; 3.9.1 makes none and refuses to
#                        render): perspective, fov 45 along x, to_world, near, far and focus
#                        computed in float32 from that box as the removed scene.cpp did
#   cbox_VARIANT.xml, cbox_VARIANT_ref{.exr,_stderr.exr,_blocks.npy,.json}  for VARIANT in
#                        thinlens orthographic ppo: ../cbox_box.xml with its <sensor> opening
#                        and properties replaced (film, sampler and box filter kept), rendered
#                        as bench/mitsuba_filter_references.sh does: K=32 renders of 256 spp
#                        at 64 x 64, max_depth 3, seeds 10000 + 97 k
#     thinlens      aperture_radius 0.15, focus_distance 4.9 (the back wall), fov 39.3077
#     orthographic  to_world = lookat(0.6, 0.5, 3.9 -> 0, 0, 0) * scale(1.2, 1.2, 1)
#     ppo           perspective, fov 39.3077, principal_point_offset_x 0.12, _y -0.08
#
# Took 0.2 s for the rays and the default camera (scalar_rgb), then 3.3-4.3 s per render
# variant (about 3.2 s rendering 32 x 256 spp, the rest import and scene load), 11 s in all,
# on a 2-core AMD EPYC (AVX-512), Mitsuba 3.9.1 / Dr.Jit 1.5.0, llvm_ad_rgb, 2026-12-01.
# The rays and the default camera are the same on every rerun (bit for bit); renders agree
# between reruns to float rounding (~1e-7), not bit for bit.
#
# Rerun (from anywhere; needs a venv with Mitsuba 3, never the project's own, see
# ../shared/DESIGN.md §7):
#   python3.11 -m venv /work/mi-venv
#   /work/mi-venv/bin/pip install mitsuba==3.9.1 drjit==1.5.0 OpenEXR numpy
#   apt-get install -y libllvm19
#   bash bench/mitsuba_sensor_references.sh                 # everything
#   bash bench/mitsuba_sensor_references.sh rays            # rays.json, default_sensor.json
#   bash bench/mitsuba_sensor_references.sh thinlens ppo    # only some renders
# Environment: MITSUBA_PYTHON (default /work/mi-venv/bin/python), SHARED (default ../shared
# beside the repository), DRJIT_LIBLLVM_PATH (default /usr/lib/x86_64-linux-gnu/libLLVM.so.19.1).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$REPO/../shared}
MITSUBA_PYTHON=${MITSUBA_PYTHON:-/work/mi-venv/bin/python}
export DRJIT_LIBLLVM_PATH=${DRJIT_LIBLLVM_PATH:-/usr/lib/x86_64-linux-gnu/libLLVM.so.19.1}
SCENE=$REPO/tests/data/mitsuba/cbox_box.xml
TOOL=$SHARED/tools/mitsuba_reference.py
OUT=$REPO/tests/data/mitsuba/sensors
RES=64 MAX_DEPTH=3 K=32 SPP=256

ALL=(rays thinlens orthographic ppo)
JOBS=("$@")
[ ${#JOBS[@]} -eq 0 ] && JOBS=("${ALL[@]}")
mkdir -p "$OUT"

rays() {
    "$MITSUBA_PYTHON" - "$OUT" "$SCENE" <<'EOF'
import json, sys
import numpy as np
import mitsuba as mi

mi.set_variant("scalar_rgb")
out, cbox = sys.argv[1], sys.argv[2]
LOOK = '<transform name="to_world"><lookat origin="0.3, 1.1, 3.2" target="-0.2, 0.1, 0" up="0.1, 1, 0"/></transform>'
ORTHO = ('<transform name="to_world"><scale x="1.5" y="0.8" z="2"/><rotate z="1" angle="20"/>'
         '<lookat origin="0.3, 1.1, 3.2" target="-0.2, 0.1, 0" up="0.1, 1, 0"/></transform>')
CASES = {  # name: (type, properties, width, height)
    "perspective_focal_length": ("perspective", '<string name="focal_length" value="35mm"/>'
                                 '<float name="near_clip" value="0.1"/><float name="far_clip" value="50"/>' + LOOK, 48, 32),
    "perspective_default_fov": ("perspective", LOOK, 40, 30),
    "perspective_principal_point": ("perspective", '<float name="fov" value="40"/><string name="fov_axis" value="y"/>'
                                    '<float name="principal_point_offset_x" value="0.1"/>'
                                    '<float name="principal_point_offset_y" value="-0.2"/>' + LOOK, 32, 48),
    "perspective_smaller_focus": ("perspective", '<float name="fov" value="50"/><string name="fov_axis" value="Smaller"/>'
                                  '<float name="focus_distance" value="2"/>' + LOOK, 48, 32),
    "perspective_diagonal": ("perspective", '<float name="fov" value="70"/><string name="fov_axis" value="diagonal"/>'
                             '<float name="far_clip" value="7.5"/>' + LOOK, 36, 20),
    "thinlens": ("thinlens", '<float name="fov" value="35"/><float name="aperture_radius" value="0.2"/>'
                 '<float name="focus_distance" value="3"/>' + LOOK, 48, 32),
    "thinlens_focal_length": ("thinlens", '<string name="focal_length" value="28mm"/>'
                              '<float name="aperture_radius" value="0.05"/><float name="far_clip" value="200"/>' + LOOK, 32, 32),
    "thinlens_zero_aperture": ("thinlens", '<float name="fov" value="30"/><float name="aperture_radius" value="0"/>' + LOOK, 40, 24),
    "orthographic": ("orthographic", '<float name="near_clip" value="0.5"/><float name="far_clip" value="20"/>' + ORTHO, 48, 32),
    "orthographic_plain": ("orthographic", "", 24, 40),
}
rng = np.random.default_rng(20261201)
film = np.concatenate([[[0, 0], [1, 1], [0.5, 0.5], [1, 0]], rng.random((8, 2))])
aperture = np.concatenate([[[0.5, 0.5], [0, 0], [1, 0.5], [0.5, 1e-3]], rng.random((8, 2))])
rays = {}
for name, (kind, body, w, h) in CASES.items():
    xml = (f'<sensor type="{kind}" id="sensor">{body}<film type="hdrfilm">'
           f'<integer name="width" value="{w}"/><integer name="height" value="{h}"/></film></sensor>')
    sensor = mi.load_string(f'<scene version="3.0.0">{xml}</scene>').sensors()[0]
    o, d, maxt = [], [], []
    for f, a in zip(film, aperture):
        ray, _ = sensor.sample_ray(0.0, 0.5, mi.Point2f(*f), mi.Point2f(*a))
        o.append(list(ray.o)); d.append(list(ray.d)); maxt.append(float(ray.maxt))
    params = mi.traverse(sensor)
    rays[name] = dict(xml=xml, width=w, height=h, film=film.tolist(), aperture=aperture.tolist(),
                      o=o, d=d, maxt=maxt,
                      x_fov=float(params["x_fov"]) if "x_fov" in params else None)
json.dump(dict(mitsuba=mi.__version__, variant="scalar_rgb", cases=rays),
          open(f"{out}/rays.json", "w"), indent=1)

# the default camera of Mitsuba 3 before 1279b88e8, from 3.9.1's bounding box of the shapes
scene = mi.load_file(cbox, res=64)
box = scene.bbox()
center, extents = box.center(), box.extents()
f32 = np.float32
distance = f32(max(extents)) / (f32(2) * f32(np.tan(f32(45 * 0.5) * f32(np.pi) / f32(180))))
to_world = mi.ScalarTransform4f().translate([center.x, center.y, box.min.z - distance])
json.dump(dict(mitsuba=mi.__version__, scene="tests/data/mitsuba/cbox_box.xml",
               bbox_min=list(box.min), bbox_max=list(box.max), fov=45.0, fov_axis="x",
               to_world=np.array(to_world.matrix).tolist(),
               far_clip=float(f32(max(extents)) * f32(5) + distance),
               near_clip=float(distance / f32(100)),
               focus_distance=float(distance + f32(extents.z) / f32(2)),
               source="mitsuba3 src/render/scene.cpp before commit 1279b88e8 (removed in "
                      "July 2022; 3.9.1 creates no sensor)"),
          open(f"{out}/default_sensor.json", "w"), indent=1)
print(f"rays: {len(rays)} cases")
EOF
}

sensor_xml() {  # the <sensor ...> opening and properties of a render variant
    case $1 in
        thinlens) cat <<'EOF'
    <sensor type="thinlens" id="sensor">
        <float name="fov" value="39.3077"/>
        <float name="aperture_radius" value="0.15"/>
        <float name="focus_distance" value="4.9"/>
        <transform name="to_world">
            <lookat origin="0, 0, 3.9" target="0, 0, 0" up="0, 1, 0"/>
        </transform>
EOF
        ;;
        orthographic) cat <<'EOF'
    <sensor type="orthographic" id="sensor">
        <transform name="to_world">
            <scale x="1.2" y="1.2"/>
            <lookat origin="0.6, 0.5, 3.9" target="0, 0, 0" up="0, 1, 0"/>
        </transform>
EOF
        ;;
        ppo) cat <<'EOF'
    <sensor type="perspective" id="sensor">
        <float name="fov" value="39.3077"/>
        <float name="principal_point_offset_x" value="0.12"/>
        <float name="principal_point_offset_y" value="-0.08"/>
        <transform name="to_world">
            <lookat origin="0, 0, 3.9" target="0, 0, 0" up="0, 1, 0"/>
        </transform>
EOF
        ;;
        *) echo "unknown job $1 (known: ${ALL[*]})" >&2; return 1 ;;
    esac
}

render() {
    local v=$1
    sensor_xml "$v" > /dev/null
    SENSOR=$(sensor_xml "$v") "$MITSUBA_PYTHON" - "$SCENE" "$OUT/cbox_$v.xml" <<'EOF'
import os, re, sys
src = open(sys.argv[1]).read()
# the opening and properties up to the sampler: fov, fov_axis, to_world
head = re.search(r'    <sensor type="perspective" id="sensor">\n.*?(?=        <sampler)', src, re.S)
assert head and src.count("<sensor") == 1
text = src.replace(head.group(0), os.environ["SENSOR"] + "\n")
text = text.replace('value="../../../scenes/meshes/', 'value="../../../../scenes/meshes/')
open(sys.argv[2], "w").write(text)
EOF
    t0=$(date +%s%N)
    "$MITSUBA_PYTHON" "$TOOL" "$OUT/cbox_$v.xml" "$OUT/cbox_$v" \
        -D res=$RES -D max_depth=$MAX_DEPTH --K $K --spp $SPP
    "$MITSUBA_PYTHON" - "$OUT/cbox_${v}_ref.json" "tests/data/mitsuba/sensors/cbox_$v.xml" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["scene"] = sys.argv[2]
d["scene_source"] = "tests/data/mitsuba/cbox_box.xml, sensor changed (bench/mitsuba_sensor_references.sh)"
json.dump(d, open(sys.argv[1], "w"), indent=2)
EOF
    t1=$(date +%s%N)
    echo "$v: $(( (t1 - t0) / 1000000 )) ms"
}

for job in "${JOBS[@]}"; do
    if [ "$job" = rays ]; then
        t0=$(date +%s%N); rays; t1=$(date +%s%N)
        echo "rays and default camera: $(( (t1 - t0) / 1000000 )) ms"
    else
        render "$job"
    fi
done
