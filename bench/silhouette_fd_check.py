"""A silhouette-term check: d/dx of a weighted image sum of the start sphere of
scenes/shape_blob.xml (1280 faces) seen from (3, 1.5, 3.5) at 48 x 48, forward mode with
boundary terms (K runs of 64 spp) against central differences of re-rendered images
(h 0.01, same seed both sides, K pairs of 1024 spp).

    .venv/bin/python bench/silhouette_fd_check.py [--filter box|gaussian] [--flat]
        [--emitter envmap|constant] [--runs 16] [--fd-spp 1024]

Measured 2026-12-01 (2-core AMD EPYC), K = 16, before -> after the fix of the crease
samples' side points (integrators/boundary.py ``side_points``):
  smooth, gaussian, envmap:  AD 68.1 +- 1.3 -> 62.0 +- 1.3 (interior 162.4)  FD 45.8 +- 0.8
  smooth, box, envmap:       AD 62.2 +- 1.2 -> 56.7 +- 1.3 (interior 163.1)  FD 41.1 +- 0.8
  flat, box, envmap:         AD 34.5 +- 1.7 -> 38.9 +- 1.6 (interior 0)      FD 41.8 +- 1.0
  flat, box, constant sky:   AD -110.9 +- 1.4 -> -105.2 +- 1.4 (interior 0)  FD -104.5 +- 1.1
The flat cases were 4-17 % off (z -3.6, -3.6); now z -1.5 and -0.4 (flat envmap at K = 32:
AD 40.5 +- 1.1, FD 40.6 +- 0.7, z -0.1). The cause: faces next to the outline are slivers in
the image, and a crease sample's paths, EPS px either side of the edge, left the sliver
near an endpoint and saw the background past the silhouette, counting part of the
silhouette's term again (tests/test_boundary.py, the emissive sphere test).
With smooth normals, the inner side of a silhouette sample now has its shading normal
turned to the camera where it faced away (Mitsuba's direct_projective does the same,
``wrong_side``; the diffuse surface was black there): smooth, box, envmap AD 56.7 -> 35.3
+- 1.3 (FD 41.1 +- 0.8; Mitsuba 36.5 +- 1.3 with its correction and 62.0 without it,
bench/silhouette_fd_check_mitsuba.py); smooth, gaussian, envmap 62.0 -> 40.5 +- 1.3 (FD
45.8 +- 0.8; Mitsuba 41.2 +- 1.2); smooth, box, constant sky -154.3 -> -101.6 +- 1.6 (FD
-104.3 +- 1.2; Mitsuba -102.8 +- 1.3). The remaining 5-15 % below FD is Mitsuba's too: the
curve where the shading normal turns away from the camera moves with the mesh without
being an edge, and no edge sampler sees it; the correction stands in for it.
"""

import tempfile
from pathlib import Path

import numpy as np
from silhouette_check_scene import (  # bench/, beside this script
    SPHERE,
    check_arguments,
    check_scene_xml,
)

import invrender


def main() -> None:
    p = check_arguments(__doc__.splitlines()[0])
    p.add_argument("--fd-spp", type=int, default=1024)
    p.add_argument("--param", default="shape.translate")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.xml"
        path.write_text(check_scene_xml(args.filter, args.flat, args.emitter))
        scene = invrender.load_scene(path, res=48, mesh=str(SPHERE))
    pm = invrender.ParameterMap(scene)
    d = np.array([1.0, 0.0, 0.0])
    w = np.random.default_rng(1).uniform(0.5, 1.5, (48, 48, 3))
    k = args.runs
    ad = [float((w * invrender.grad_image(scene, args.param, d, spp=64, seed=10 + i)).sum())
          for i in range(k)]
    interior = float((w * invrender.grad_image(scene, args.param, d, spp=64, seed=10,
                                               boundary=False)).sum())
    h, v0, fd = 0.01, pm[args.param], []
    for i in range(k):
        pm[args.param] = v0 + h * d
        plus = invrender.render(scene, spp=args.fd_spp, seed=100 + i)
        pm[args.param] = v0 - h * d
        minus = invrender.render(scene, spp=args.fd_spp, seed=100 + i)
        fd.append(float((w * (plus - minus)).sum() / (2 * h)))
    pm[args.param] = v0
    se_ad, se_fd = (np.std(x, ddof=1) / len(x) ** 0.5 for x in (ad, fd))
    z = (np.mean(ad) - np.mean(fd)) / np.hypot(se_ad, se_fd)
    print(f"AD {np.mean(ad):.2f} +- {se_ad:.2f} (interior {interior:.2f})  "
          f"FD {np.mean(fd):.2f} +- {se_fd:.2f}  z {z:.1f}")


if __name__ == "__main__":
    main()
