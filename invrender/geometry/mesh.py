"""Triangle meshes as numpy arrays: OBJ/PLY files (through trimesh) and Mitsuba's built-in shapes.

Everything here matches what Mitsuba 3 builds for the same input, vertex for vertex, so that
``<shape>.vertex_positions`` means the same array in both renderers:

- OBJ: Mitsuba ignores materials, objects and groups, fans polygons into triangles
  (0, i - 1, i), makes one vertex per distinct (position, uv, normal) index triple, numbers
  vertices in the order the faces first use them and drops unused ones. trimesh splits faces
  by ``usemtl``, triangulates quads differently and, with ``maintain_order=True``, does not
  split vertices at uv seams (it keeps one uv per position). So we hand trimesh only the
  ``v``/``vt``/``vn`` lines and fanned ``f`` lines, let it split seams (default
  ``maintain_order=False``), then renumber by first use.
- PLY: vertices are kept in file order (trimesh does not reorder them).
- Built-in shapes: the same vertex tables, winding and uvs as Mitsuba's ``rectangle`` and
  ``cube``; ``sphere``, ``disk`` and ``cylinder`` are analytic in Mitsuba and fine meshes
  here (``uv_sphere``, ``disk``, ``cylinder``) with exact vertex normals and Mitsuba's uvs.

No Taichi here: the loader calls these functions, ``engine`` uploads the result.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import trimesh.exchange.obj
import trimesh.exchange.ply

from invrender import latent
from invrender.errors import SceneError


@dataclass
class MeshData:
    """Triangles in one coordinate frame. Winding gives the normal cross(v1 - v0, v2 - v0)."""

    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int32
    uvs: np.ndarray | None = None  # (N, 2) float64
    normals: np.ndarray | None = None  # (N, 3) float64, unit length


# --- files ------------------------------------------------------------------------------------

_OBJ_COUNTS = {"v": 3, "vt": 2, "vn": 3}  # numbers read per statement, as Mitsuba does


def read_obj(path: Path, flip_tex_coords: bool = True) -> MeshData:
    """Read a Wavefront OBJ file the way Mitsuba's ``obj`` plugin does (see the module doc).

    ``flip_tex_coords`` replaces v by 1 - v, Mitsuba's default for OBJ files, so that
    the usual OBJ convention (v up) lands on row 0 = top of the texture.
    """
    text = _read_text(path)
    geometry = trimesh.exchange.obj.load_obj(
        io.StringIO(_checked_obj_statements(text, path)), skip_materials=True)
    parts = list(geometry.get("geometry", {}).values())
    if not parts:
        raise SceneError("OBJ file has no faces", file=path)
    if len(parts) > 1:  # cannot happen without usemtl/o/g lines, which we removed
        raise SceneError(f"trimesh split the OBJ file into {len(parts)} meshes", file=path)
    part = parts[0]
    uvs = _uvs_of(part)
    if uvs is not None and flip_tex_coords:
        uvs[:, 1] = 1.0 - uvs[:, 1]
    mesh = MeshData(
        vertices=np.asarray(part["vertices"], np.float64),
        faces=np.asarray(part["faces"], np.int32),
        uvs=uvs,
        normals=_optional_array(part.get("vertex_normals"), 3),
    )
    return _renumber_by_first_use(mesh)


def read_ply(path: Path, flip_tex_coords: bool = False) -> MeshData:
    """Read a PLY file (ASCII or binary) through trimesh, keeping the file's vertex order."""
    try:
        with open(path, "rb") as file:
            data = trimesh.exchange.ply.load_ply(file)
    except OSError as err:
        raise SceneError(f"cannot read PLY file: {err.strerror}", file=path) from err
    except Exception as err:  # trimesh raises ValueError, KeyError, IndexError, ... on bad files
        raise SceneError(f"cannot read PLY file: {err}", file=path) from err
    faces = data.get("faces")
    if faces is None or len(faces) == 0:
        raise SceneError("PLY file has no faces", file=path)
    vertices = np.asarray(data["vertices"], np.float64)
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise SceneError(f"PLY face refers to a vertex outside 0..{len(vertices) - 1}", file=path)
    uvs = _uvs_of(data)
    if uvs is not None and flip_tex_coords:
        uvs[:, 1] = 1.0 - uvs[:, 1]
    return MeshData(vertices, faces.astype(np.int32), uvs,
                    _optional_array(data.get("vertex_normals"), 3))


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise SceneError(f"cannot read mesh file: {err.strerror}", file=path) from err


def _checked_obj_statements(text: str, path: Path) -> str:
    """Check every v/vt/vn/f line (numbers parse, indices in range); return only those lines,
    with polygons split into triangles.

    trimesh reports a bad number as "could not be read to its end" with no line; checking
    first gives ``file:line`` errors. Dropping the other statements (usemtl, o, g, s, mtllib)
    is what Mitsuba does anyway, and keeps trimesh from splitting the mesh by material.
    Polygons are fanned here, (0, i - 1, i) as Mitsuba does, because trimesh returns them
    untriangulated when all faces have the same size and splits quads as (0, 1, 2), (2, 3, 0).
    """
    counts = {"v": 0, "vt": 0, "vn": 0}
    kept = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens or tokens[0] not in ("v", "vt", "vn", "f"):
            continue
        if tokens[0] == "f":
            corners = tokens[1:]
            _check_face(corners, counts, path, number)
            kept += [f"f {corners[0]} {corners[i - 1]} {corners[i]}"
                     for i in range(2, len(corners))]
        else:
            _check_numbers(tokens, path, number)
            counts[tokens[0]] += 1
            kept.append(line)
    return "\n".join(kept) + "\n"


def _check_numbers(tokens: list[str], path: Path, line: int) -> None:
    need = _OBJ_COUNTS[tokens[0]]
    if len(tokens) - 1 < need:
        raise SceneError(f"'{tokens[0]}' needs {need} numbers, got {len(tokens) - 1}",
                         file=path, line=line)
    for token in tokens[1:need + 1]:
        try:
            value = float(token)
        except ValueError:
            value = None
        if value is None or not math.isfinite(value):
            raise SceneError(f"cannot parse '{token}' as a finite number", file=path, line=line)


def _check_face(corners: list[str], counts: dict[str, int], path: Path, line: int) -> None:
    if len(corners) < 3:
        raise SceneError(f"a face needs at least 3 vertices, got {len(corners)}",
                         file=path, line=line)
    for corner in corners:
        indices = corner.split("/")  # v, v/vt, v//vn or v/vt/vn
        if len(indices) > 3:
            raise SceneError(f"cannot parse face vertex '{corner}'", file=path, line=line)
        for kind, index in zip(("v", "vt", "vn")[:len(indices)], indices, strict=True):
            if index == "" and kind != "v":
                continue
            try:
                value = int(index)
            except ValueError:
                raise SceneError(f"cannot parse face vertex '{corner}'",
                                 file=path, line=line) from None
            if value == 0 or not -counts[kind] <= value <= counts[kind]:
                raise SceneError(f"face index {value} refers to no '{kind}' "
                                 f"({counts[kind]} defined so far)", file=path, line=line)


def _uvs_of(part: dict) -> np.ndarray | None:
    uv = getattr(part.get("visual"), "uv", None)
    return _optional_array(uv, 2)


def _optional_array(values, width: int) -> np.ndarray | None:
    if values is None or len(values) == 0:
        return None
    return np.array(values, np.float64).reshape(-1, width)


def _renumber_by_first_use(mesh: MeshData) -> MeshData:
    """Number vertices in the order the faces first use them, dropping unused ones (Mitsuba)."""
    used, first = np.unique(mesh.faces.ravel(), return_index=True)
    order = used[np.argsort(first)]
    new_index = np.full(len(mesh.vertices), -1, np.int64)
    new_index[order] = np.arange(len(order))
    return MeshData(
        vertices=mesh.vertices[order],
        faces=new_index[mesh.faces].astype(np.int32),
        uvs=None if mesh.uvs is None else mesh.uvs[order],
        normals=None if mesh.normals is None else mesh.normals[order],
    )


# --- built-in shapes --------------------------------------------------------------------------


def rectangle() -> MeshData:
    """Mitsuba's ``rectangle``: [-1, 1]^2 in the z = 0 plane, normal +z."""
    return MeshData(
        vertices=np.array([[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]], np.float64),
        faces=np.array([[0, 1, 2], [0, 2, 3]], np.int32),
        uvs=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float64),
        normals=np.tile([0.0, 0.0, 1.0], (4, 1)),
    )


# Mitsuba's cube: per face, its outward normal and 4 corners; triangles (0,1,2), (3,0,2).
_CUBE_FACES = [
    ((0, -1, 0), [(1, -1, -1), (1, -1, 1), (-1, -1, 1), (-1, -1, -1)]),
    ((0, 1, 0), [(1, 1, -1), (-1, 1, -1), (-1, 1, 1), (1, 1, 1)]),
    ((1, 0, 0), [(1, -1, -1), (1, 1, -1), (1, 1, 1), (1, -1, 1)]),
    ((0, 0, 1), [(1, -1, 1), (1, 1, 1), (-1, 1, 1), (-1, -1, 1)]),
    ((-1, 0, 0), [(-1, -1, 1), (-1, 1, 1), (-1, 1, -1), (-1, -1, -1)]),
    ((0, 0, -1), [(1, 1, -1), (1, -1, -1), (-1, -1, -1), (-1, 1, -1)]),
]


def cube() -> MeshData:
    """Mitsuba's ``cube``: [-1, 1]^3, 4 vertices per face (24), 12 triangles, outward normals,
    each face mapped onto [0, 1]^2 in uv."""
    vertices = np.array([corner for _, corners in _CUBE_FACES for corner in corners], np.float64)
    normals = np.repeat(np.array([n for n, _ in _CUBE_FACES], np.float64), 4, axis=0)
    uvs = np.tile(np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float64), (6, 1))
    faces = np.concatenate([np.array([[0, 1, 2], [3, 0, 2]]) + 4 * f for f in range(6)])
    return MeshData(vertices, faces.astype(np.int32), uvs, normals)


SEGMENTS = 128  # around a disk, cylinder or sphere: their areas 0.01-0.05 % short
SPHERE_RINGS = 64  # pole to pole: with SEGMENTS, 16128 triangles
DISK_RINGS = 8  # circles of a disk, so that its uv (r, phi) interpolates well: 1920 triangles


def uv_sphere(n_phi: int = SEGMENTS, n_theta: int = SPHERE_RINGS) -> MeshData:
    """The unit sphere as a latitude-longitude mesh, with Mitsuba's sphere parametrisation.

    Mitsuba's ``sphere`` is analytic; this mesh stands for it. Vertices lie on the sphere and
    their normals are the exact sphere normals; the pole is +z, u = phi / (2 pi) with
    phi = atan2(y, x) in [0, 2 pi), v = theta / pi with theta measured from +z (sphere.cpp).
    Rings are (n_theta + 1) x (n_phi + 1) vertices: the seam (u = 0 and 1) and the poles are
    repeated so that every vertex has one uv; the triangles that would be degenerate at the
    poles are left out, and so are the two vertices (one per pole) that only they used, as
    a mesh file read back would drop them. Winding faces outwards.
    128 x 64 gives 2 * 128 * 63 = 16128 triangles; the mesh is inside the sphere by at most
    1 - cos(pi / 128)^2 = 6.0e-4 of the radius (0.02 pixel for a sphere 64 pixels wide) and
    its area is 0.05 % short of 4 pi r^2.
    """
    theta = np.linspace(0.0, math.pi, n_theta + 1)[:, None]
    phi = np.linspace(0.0, 2.0 * math.pi, n_phi + 1)[None, :]
    points = np.stack(np.broadcast_arrays(np.sin(theta) * np.cos(phi),
                                          np.sin(theta) * np.sin(phi), np.cos(theta)), axis=-1)
    u, v = np.meshgrid(np.linspace(0, 1, n_phi + 1), np.linspace(0, 1, n_theta + 1))
    index = np.arange((n_theta + 1) * (n_phi + 1)).reshape(n_theta + 1, n_phi + 1)
    a, b = index[:-1, :-1], index[1:, :-1]  # (ring, segment) and the next ring down
    c, d = index[1:, 1:], index[:-1, 1:]  # ... and one segment further in phi
    lower = np.stack([a, b, c], axis=-1)[:-1]  # (a, b, c) collapses at the south pole
    upper = np.stack([a, c, d], axis=-1)[1:]  # (a, c, d) collapses at the north pole
    faces = np.concatenate([lower.reshape(-1, 3), upper.reshape(-1, 3)])
    used = np.unique(faces)  # every vertex but the last of each pole ring, in order
    new_index = np.full(len(index.reshape(-1)), -1, np.int64)
    new_index[used] = np.arange(len(used))
    vertices = points.reshape(-1, 3)[used]
    return MeshData(vertices, new_index[faces].astype(np.int32),
                    np.stack([u, v], -1).reshape(-1, 2)[used], vertices.copy())


def disk(segments: int = SEGMENTS, rings: int = DISK_RINGS) -> MeshData:
    """Mitsuba's ``disk``: the unit disk in the z = 0 plane, normal +z (disk.cpp).

    uv = (r, phi / (2 pi)) with phi = atan2(y, x) in [0, 2 pi), as Mitsuba's disk. Vertices
    on ``rings`` circles r = 1/rings ... 1, ``segments`` + 1 each (the seam twice, v = 0 and
    1), so that uvs interpolate as polar coordinates; inside the first circle a fan whose
    triangles have a centre vertex each, with v at the middle of their segment. The rim lies
    on the unit circle: the area is pi * (1 - 4.0e-4) at 128 segments.
    """
    phi = np.linspace(0.0, 2.0 * math.pi, segments + 1)
    radii = np.arange(1, rings + 1) / rings
    circle = np.stack([np.cos(phi), np.sin(phi), np.zeros_like(phi)], axis=-1)
    vertices = np.concatenate([(radii[:, None, None] * circle).reshape(-1, 3),
                               np.zeros((segments, 3))])
    u, v = np.meshgrid(radii, phi / (2.0 * math.pi), indexing="ij")
    uvs = np.concatenate([np.stack([u, v], -1).reshape(-1, 2),
                          np.stack([np.zeros(segments),
                                    (np.arange(segments) + 0.5) / segments], -1)])
    index = np.arange(rings * (segments + 1)).reshape(rings, segments + 1)
    k = np.arange(segments)
    fan = np.stack([rings * (segments + 1) + k, index[0, :-1], index[0, 1:]], axis=-1)
    inner, outer = index[:-1], index[1:]
    quads = np.concatenate([
        np.stack([inner[:, :-1], outer[:, :-1], outer[:, 1:]], -1).reshape(-1, 3),
        np.stack([inner[:, :-1], outer[:, 1:], inner[:, 1:]], -1).reshape(-1, 3)])
    return MeshData(vertices, np.concatenate([fan, quads]).astype(np.int32), uvs,
                    np.tile([0.0, 0.0, 1.0], (len(vertices), 1)))


def cylinder(p0=(0.0, 0.0, 0.0), p1=(0.0, 0.0, 1.0), radius: float = 1.0,
             segments: int = SEGMENTS) -> MeshData:
    """Mitsuba's ``cylinder`` from ``p0`` to ``p1``: open (no caps), normals outwards.

    As cylinder.cpp, the shape is the unit cylinder (radius 1, z from 0 to 1) placed by
    translate(p0) @ to_frame(Frame(d)) @ scale(radius, radius, |d|), d = (p1 - p0) / |p1 - p0|,
    where Frame(d) completes d with Mitsuba's ``coordinate_system`` (Duff et al. 2017), so
    that uv = (phi / (2 pi), z) lands where Mitsuba puts it. Two rings of segments + 1
    vertices (the seam twice); vertex normals are the exact radial normals. The lateral
    area is 2 pi r h * (1 - 1.0e-4) at 128 segments.
    """
    p0, p1 = np.asarray(p0, np.float64), np.asarray(p1, np.float64)
    axis = p1 - p0
    length = float(np.linalg.norm(axis))
    if not length > 0.0:
        raise ValueError("a cylinder needs p0 != p1")
    s, t, n = coordinate_frame(axis / length)
    phi = np.linspace(0.0, 2.0 * math.pi, segments + 1)
    radial = np.cos(phi)[:, None] * s + np.sin(phi)[:, None] * t
    vertices = np.concatenate([p0 + radius * radial, p0 + radius * radial + length * n])
    u = phi / (2.0 * math.pi)
    uvs = np.concatenate([np.stack([u, np.zeros_like(u)], -1), np.stack([u, np.ones_like(u)], -1)])
    k = np.arange(segments)
    bottom, top = k, k + segments + 1
    faces = np.concatenate([np.stack([bottom, bottom + 1, top + 1], -1),
                            np.stack([bottom, top + 1, top], -1)])
    sign = 1.0 if radius > 0 else -1.0
    return MeshData(vertices, faces.astype(np.int32), uvs,
                    sign * np.concatenate([radial, radial]))


def coordinate_frame(n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(s, t, n): Mitsuba's ``coordinate_system`` around the unit vector ``n`` (vector.h)."""
    x, y, z = (float(c) for c in n)
    sign = math.copysign(1.0, z)
    a = -1.0 / (sign + z)
    b = x * y * a
    return (np.array([sign * x * x * a + 1.0, sign * b, -sign * x]),
            np.array([b, y * y * a + sign, -y]), np.array([x, y, z]))


def flipped(mesh: MeshData) -> MeshData:
    """The mesh seen from its other side (``flip_normals``): winding reversed, normals negated."""
    return replace(mesh, faces=mesh.faces[:, [0, 2, 1]].copy(),
                   normals=None if mesh.normals is None else -mesh.normals)


# --- frames and normals -----------------------------------------------------------------------


def transformed(mesh: MeshData, to_world: np.ndarray) -> MeshData:
    """Apply an affine 4x4 ``to_world``: positions directly, normals by the inverse transpose."""
    linear, offset = to_world[:3, :3], to_world[:3, 3]
    normals = None
    if mesh.normals is not None:
        normals = _unit_rows(mesh.normals @ np.linalg.inv(linear))  # rows: (inv(L)^T n)^T
    return replace(mesh, vertices=mesh.vertices @ linear.T + offset, normals=normals)


def read_mesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(vertices, faces) of an OBJ or PLY file as the scene loader reads it, in the file's
    own coordinates (no to_world)."""
    path = Path(path)
    data = (read_obj if path.suffix.lower() == ".obj" else read_ply)(path)
    return np.asarray(data.vertices, np.float64), np.asarray(data.faces, np.int64)


def shading_normals(mesh) -> np.ndarray:
    """A smooth mesh's vertex normals now: those it was given, carried along by its latent
    pose (as Mitsuba's ``to_world`` carries them), or, once its vertex positions were set,
    recomputed from them as Mitsuba's ``parameters_changed`` does."""
    normals = mesh.normals
    if mesh.normals_for is not None and not np.array_equal(mesh.normals_for, mesh.base):
        return vertex_normals(mesh.vertices, mesh.faces)
    if mesh.vertices is not mesh.base:  # posed: n' ~ L^-T n, as rows n^T L^-1
        normals = normals @ np.linalg.inv(latent.linear(mesh.pose))
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return normals


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Angle-weighted vertex normals, as Mitsuba computes them for meshes without normals.

    (Thuermer and Wuethrich 1998; a vertex with no valid face gets (1, 0, 0) like Mitsuba.)
    """
    corners = vertices[faces]  # (M, 3, 3)
    face_normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(face_normal, axis=1, keepdims=True)
    valid = length[:, 0] > 0
    face_normal = np.where(valid[:, None], face_normal / np.where(valid, length[:, 0], 1)[:, None],
                           0.0)
    angles = []
    for i in range(3):
        edge_a = corners[:, (i + 1) % 3] - corners[:, i]
        edge_b = corners[:, (i + 2) % 3] - corners[:, i]
        cosine = np.einsum("ij,ij->i", _unit_rows(edge_a), _unit_rows(edge_b))
        angles.append(np.arccos(np.clip(cosine, -1.0, 1.0)))
    weighted = face_normal[None] * np.stack(angles)[..., None]  # (corner, M, 3)
    ids = np.asarray(faces).T.ravel()  # corner-major, the order the sums are taken in
    sums = np.stack([np.bincount(ids, weighted[..., c].ravel(), len(vertices))
                     for c in range(3)], axis=1)
    length = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.where(length > 0, sums / np.where(length > 0, length, 1.0), [1.0, 0.0, 0.0])


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(length > 0, length, 1.0)
