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
  ``cube``; ``sphere`` is analytic in Mitsuba and a UV-sphere mesh here (``uv_sphere``).

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


def uv_sphere(n_phi: int = 64, n_theta: int = 32) -> MeshData:
    """The unit sphere as a latitude-longitude mesh, with Mitsuba's sphere parametrisation.

    Mitsuba's ``sphere`` is an analytic shape; this mesh approximates it. The pole is +z,
    u = phi / (2 pi) with phi = atan2(y, x), v = theta / pi with theta measured from +z,
    as in Mitsuba. Rings are (n_theta + 1) x (n_phi + 1) vertices: the seam (u = 0 and 1) and
    the poles are repeated so that every vertex has one uv; the triangles that would be
    degenerate at the poles are left out, which leaves one vertex at each pole unused.
    Normals are the exact sphere normals; winding faces outwards.
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
    vertices = points.reshape(-1, 3)
    return MeshData(vertices, faces.astype(np.int32), np.stack([u, v], -1).reshape(-1, 2),
                    vertices.copy())


# --- frames and normals -----------------------------------------------------------------------


def transformed(mesh: MeshData, to_world: np.ndarray) -> MeshData:
    """Apply an affine 4x4 ``to_world``: positions directly, normals by the inverse transpose."""
    linear, offset = to_world[:3, :3], to_world[:3, 3]
    normals = None
    if mesh.normals is not None:
        normals = _unit_rows(mesh.normals @ np.linalg.inv(linear))  # rows: (inv(L)^T n)^T
    return replace(mesh, vertices=mesh.vertices @ linear.T + offset, normals=normals)


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
    sums = np.zeros_like(vertices, dtype=np.float64)
    for i in range(3):
        edge_a = corners[:, (i + 1) % 3] - corners[:, i]
        edge_b = corners[:, (i + 2) % 3] - corners[:, i]
        cosine = np.einsum("ij,ij->i", _unit_rows(edge_a), _unit_rows(edge_b))
        angle = np.arccos(np.clip(cosine, -1.0, 1.0))
        np.add.at(sums, faces[:, i], face_normal * angle[:, None])
    length = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.where(length > 0, sums / np.where(length > 0, length, 1.0), [1.0, 0.0, 0.0])


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(length > 0, length, 1.0)
