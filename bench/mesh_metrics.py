"""Chamfer distance and normal consistency between two meshes, as JSON on stdout:

    .venv/bin/python bench/mesh_metrics.py A.ply B.ply [--samples 100000] [--seed 0]

e.g. the Mitsuba tutorial's target against its start or against a result:

    .venv/bin/python bench/mesh_metrics.py $MITSUBA_TUTORIALS/scenes/meshes/suzanne.ply \\
        $MITSUBA_TUTORIALS/scenes/meshes/ico_10k.ply
    .venv/bin/python bench/mesh_metrics.py $MITSUBA_TUTORIALS/scenes/meshes/suzanne.ply \\
        runs/shape_suzanne_mitsuba/mitsuba_final.ply

The numbers are invrender.geometry.metrics.mesh_metrics (samples uniform by area on both
surfaces with the same seed; Chamfer in squared scene units, the sum of both directions'
mean squared nearest distance; normal consistency the mean |cos| of the face normals of
nearest samples, in [0, 1]). Meshes are read as the scene loader reads them (PLY or OBJ
files, in their own coordinates: no to_world is applied).
"""

import argparse
import json
import sys
from pathlib import Path

from invrender.errors import InvrenderError
from invrender.geometry.mesh import read_mesh
from invrender.geometry.metrics import mesh_metrics


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Chamfer distance and normal consistency "
                                "between two meshes (JSON)")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--samples", type=int, default=100_000, help="points per surface")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        a, b = read_mesh(args.a), read_mesh(args.b)
        metrics = mesh_metrics(a, b, n=args.samples, seed=args.seed)
    except InvrenderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    report = {"a": str(args.a), "b": str(args.b),
              "a_mesh": {"vertices": len(a[0]), "faces": len(a[1])},
              "b_mesh": {"vertices": len(b[0]), "faces": len(b[1])},
              "samples": args.samples, "seed": args.seed, **metrics}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
