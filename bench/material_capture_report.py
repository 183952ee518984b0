"""How well ``recipes/material_capture.yaml`` recovered its two textures: RMS error per
region, from a run's ``params_final.json`` against the true textures.

    .venv/bin/python bench/material_capture_report.py [runs/material_capture]

The spheres stand with their poles up and face the camera with the texture's right half
(u in [1/2, 1]: the columns 8-15 of 16); the left half is on their backs and reaches the
image only through what they reflect onto the floor, which is next to nothing. So the table
separates the texels facing the camera (columns 9-14, rows 1-5: poles and silhouettes left
out), the seen rest (the silhouette columns 8 and 15, the polar rows 0 and 6-7, the lowest
hidden against the floor) and the back half, and gives the start (uniform 0.2 and 0.5)
and the end.
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scenes" / "assets"))
from make_material_capture import albedo, roughness  # noqa: E402

START = {"metal.alpha.data": 0.2, "plastic.diffuse_reflectance.data": 0.5}
TRUE = {"metal.alpha.data": roughness(), "plastic.diffuse_reflectance.data": albedo()}


def rms(a) -> float:
    return float(np.sqrt(np.mean(np.square(a))))


def main() -> None:
    run = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "runs" / "material_capture"
    found = json.loads((run / "params_final.json").read_text())["params"]
    print(f"{'parameter':34} {'region':8} {'start':>7} {'end':>7}")
    for name, truth in TRUE.items():
        value = np.asarray(found[name]).reshape(truth.shape)
        facing = np.zeros(truth.shape[:2], bool)
        facing[1:6, 9:15] = True
        back = np.zeros_like(facing)
        back[:, :8] = True
        for region, mask in (("facing", facing), ("edges", ~facing & ~back), ("back", back)):
            start = rms(START[name] - truth[mask])
            end = rms(value[mask] - truth[mask])
            print(f"{name:34} {region:8} {start:7.4f} {end:7.4f}")


if __name__ == "__main__":
    main()
