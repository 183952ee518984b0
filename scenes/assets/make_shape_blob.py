"""Write the meshes of scenes/shape_blob.xml (deterministic; outputs committed).

    .venv/bin/python scenes/assets/make_shape_blob.py

blob.ply: the true shape, an icosphere (5120 faces) displaced along its normals by a smooth
function with three lobes and a dent, so that it has concave parts a silhouette alone does
not reveal. start_sphere.ply: the starting point, a unit icosphere of 1280 faces. Both
closed and welded (no seams), binary PLY without normals: the loader computes smooth vertex
normals, as Mitsuba does.
"""

from pathlib import Path

import numpy as np
import trimesh

HERE = Path(__file__).parent


def blob(subdivisions: int = 4) -> trimesh.Trimesh:
    ico = trimesh.creation.icosphere(subdivisions=subdivisions)
    p = ico.vertices
    x, y, z = p.T
    r = 0.9 + 0.22 * np.exp(-8 * ((x - 0.8) ** 2 + y ** 2)) \
        + 0.18 * np.exp(-6 * ((y - 0.9) ** 2 + z ** 2)) \
        + 0.15 * np.exp(-7 * ((z + 0.85) ** 2 + (x + 0.2) ** 2)) \
        - 0.12 * np.exp(-9 * ((z - 0.9) ** 2 + (y + 0.1) ** 2))
    return trimesh.Trimesh(p * r[:, None], ico.faces, process=False)


def main() -> None:
    for name, mesh in (("blob.ply", blob()),
                       ("start_sphere.ply", trimesh.creation.icosphere(subdivisions=3))):
        mesh.export(HERE / name, encoding="binary", include_attributes=False)
        print(name, len(mesh.vertices), "vertices,", len(mesh.faces), "faces")


if __name__ == "__main__":
    main()
