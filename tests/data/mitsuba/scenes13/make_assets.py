"""Write the meshes and images that the issue-13 scenes in this folder use (deterministic).

Run from anywhere with the project's venv (numpy, trimesh, OpenEXR, PIL):
    .venv/bin/python tests/data/mitsuba/scenes13/make_assets.py
Writes, beside this file:
  sky.exr            64 x 32 lat-long RGB float32 (ZIP): smooth sky gradient (zenith blue ~0.4-1,
                     horizon warm ~1, ground below the horizon dim brown ~0.3) plus one small
                     Gaussian blob (sigma 1 pixel) of peak ~50 x the sky radiance
  sky.png            the same map tone-mapped (x / (1 + x)), sRGB-encoded, 8-bit RGB
  ico_smooth.ply     icosphere, subdivisions 1 (42 vertices, 80 faces, radius 1), binary little
                     endian, per-vertex normals nx, ny, nz = the normalised position
  ico_flat.ply       the same mesh without normals (the scene sets face_normals)
  inc_meshes/wedge.obj  a closed triangular prism (6 vertices, 8 triangles, flat vn per face), for
                     include.xml's <path> search-path test
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def sky() -> np.ndarray:
    h, w = 32, 64
    v = (np.arange(h) + 0.5) / h                        # 0 = top row (zenith), 1 = bottom (nadir)
    u = (np.arange(w) + 0.5) / w
    elev = (0.5 - v) * np.pi                             # +pi/2 at the top row
    s = np.clip(np.sin(elev), 0, 1)[:, None, None]
    zenith = np.array([0.35, 0.55, 1.0])
    horizon = np.array([1.0, 0.9, 0.75])
    ground = np.array([0.3, 0.25, 0.2])
    img = np.where(elev[:, None, None] >= 0, horizon + (zenith - horizon) * s ** 0.5, ground)
    img = np.broadcast_to(img, (h, w, 3)).copy()
    img *= (1.0 + 0.15 * np.cos(2 * np.pi * u))[None, :, None]   # mild azimuthal variation
    # the blob: pixel centre (row 9, column 20), i.e. about 39 degrees above the horizon
    yy, xx = np.mgrid[0:h, 0:w]
    g = np.exp(-((yy - 9.0) ** 2 + (xx - 20.0) ** 2) / (2 * 1.0 ** 2))
    img += 50.0 * np.array([1.0, 0.95, 0.85]) * g[..., None]
    return img.astype(np.float32)


def srgb_encode(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(np.maximum(x, 0), 1 / 2.4) - 0.055)


def write_ply(path: str, v: np.ndarray, f: np.ndarray, n: np.ndarray | None) -> None:
    props = ["x", "y", "z"] + (["nx", "ny", "nz"] if n is not None else [])
    head = ["ply", "format binary_little_endian 1.0", f"element vertex {len(v)}"]
    head += [f"property float {p}" for p in props]
    head += [f"element face {len(f)}", "property list uchar int vertex_indices", "end_header"]
    vert = np.hstack([v, n]) if n is not None else v
    face = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    face["n"], face["i"] = 3, f
    with open(path, "wb") as fh:
        fh.write(("\n".join(head) + "\n").encode())
        fh.write(np.ascontiguousarray(vert, "<f4").tobytes())
        fh.write(face.tobytes())


def write_meshes_serialized(trimesh) -> None:
    """shapes.serialized: sub-mesh 0 a smooth icosphere (normals and uvs), 1 a torus without
    normals (the loader computes them, as Mitsuba does); written by our own writer."""
    from invrender.geometry.mesh import MeshData
    from invrender.geometry.serialized import write_serialized

    ico = trimesh.creation.icosphere(subdivisions=2, radius=1.0)
    v = np.asarray(ico.vertices, np.float64)
    n = v / np.linalg.norm(v, axis=1, keepdims=True)
    uv = np.stack([0.5 + np.arctan2(n[:, 0], n[:, 2]) / (2 * np.pi),
                   np.arccos(np.clip(n[:, 1], -1, 1)) / np.pi], -1)
    torus = trimesh.creation.torus(major_radius=0.8, minor_radius=0.3, major_sections=24,
                                   minor_sections=12)
    write_serialized(os.path.join(HERE, "shapes.serialized"), [
        MeshData(v, np.asarray(ico.faces, np.int32), uv, n),
        MeshData(np.asarray(torus.vertices, np.float64), np.asarray(torus.faces, np.int32),
                 None, None)], names=["ico", "torus"])


def main() -> None:
    import OpenEXR
    import trimesh
    from PIL import Image

    img = sky()
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                 {"RGB": img}).write(os.path.join(HERE, "sky.exr"))
    png = np.round(255 * np.clip(srgb_encode(img / (1 + img)), 0, 1)).astype(np.uint8)
    Image.fromarray(png, "RGB").save(os.path.join(HERE, "sky.png"))

    m = trimesh.creation.icosphere(subdivisions=1, radius=1.0)
    v = np.asarray(m.vertices, np.float64)
    f = np.asarray(m.faces, np.int64)
    c = v[f]                                     # check the winding: normals point outwards
    fn = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    assert np.all(np.einsum("ij,ij->i", fn, c.mean(1)) > 0)
    n = v / np.linalg.norm(v, axis=1, keepdims=True)
    write_ply(os.path.join(HERE, "ico_smooth.ply"), v, f, n)
    write_ply(os.path.join(HERE, "ico_flat.ply"), v, f, None)
    write_meshes_serialized(trimesh)

    # wedge: triangle (x, y) = (-0.5, 0), (0.5, 0), (0, 0.8) extruded along z from -0.4 to 0.4
    tri = np.array([[-0.5, 0.0], [0.5, 0.0], [0.0, 0.8]])
    P = np.array([[x, y, z] for z in (0.4, -0.4) for x, y in tri])   # 0-2 front, 3-5 back
    faces = [(0, 1, 2), (3, 5, 4),                                  # front (+z), back (-z)
             (0, 3, 4), (0, 4, 1),                                  # bottom (-y)
             (1, 4, 5), (1, 5, 2),                                  # right slope
             (2, 5, 3), (2, 3, 0)]                                  # left slope
    lines = ["# closed triangular prism, written by make_assets.py; flat normal per face"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in P]
    centre = P.mean(0)
    for a, b, cc in faces:
        nn = np.cross(P[b] - P[a], P[cc] - P[a])
        nn /= np.linalg.norm(nn)
        assert np.dot(nn, P[[a, b, cc]].mean(0) - centre) > 0
        lines.append(f"vn {nn[0]:.6f} {nn[1]:.6f} {nn[2]:.6f}")
    lines += [f"f {a + 1}//{k + 1} {b + 1}//{k + 1} {cc + 1}//{k + 1}"
              for k, (a, b, cc) in enumerate(faces)]
    os.makedirs(os.path.join(HERE, "inc_meshes"), exist_ok=True)
    with open(os.path.join(HERE, "inc_meshes", "wedge.obj"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
