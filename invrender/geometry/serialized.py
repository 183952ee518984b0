"""Mitsuba's ``serialized`` mesh files: read one sub-mesh, write several.

The layout (src/shapes/serialized.cpp of Mitsuba 3.9.1, little endian) per sub-mesh is an
uncompressed header, ``uint16`` 0x041C and ``uint16`` version (3 or 4), then a zlib stream
holding: ``uint32`` flags (0x0001 vertex normals, 0x0002 uvs, 0x0008 vertex colours,
0x0010 face normals, 0x1000 float32, 0x2000 float64), in version 4 a NUL-terminated name,
``uint64`` vertex and triangle counts, positions, normals, uvs and colours (each present when
flagged), and ``uint32`` triangle indices. Sub-meshes are concatenated; the file ends with
the byte offset of each (``uint64`` in version 4, ``uint32`` in version 3) and their
``uint32`` count. Mitsuba reads that dictionary only when ``shape_index`` is not 0.

What Mitsuba 3.9.1 does, and so do we: uvs are used as stored (no flip), vertex colours are
skipped, and the 0x0010 flag is ignored (only the ``face_normals`` property counts). Version
5, written by Mitsuba versions after 3.9, is refused with a message saying so.

No Taichi here.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from invrender.errors import SceneError
from invrender.geometry.mesh import MeshData

MAGIC = 0x041C
VERSIONS = (3, 4)
HAS_NORMALS, HAS_UVS, HAS_COLORS, FACE_NORMALS = 0x0001, 0x0002, 0x0008, 0x0010
SINGLE, DOUBLE = 0x1000, 0x2000
MAX_INDEX = 2**32 - 1


def read_serialized(path: Path, shape_index: int = 0) -> MeshData:
    """Sub-mesh ``shape_index`` of a serialized file, with its normals and uvs if stored."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SceneError(f"cannot read serialized mesh file: {err.strerror}", file=path) from err
    if shape_index < 0:
        raise SceneError(f"shape_index must be at least 0, got {shape_index}", file=path)
    version = _header(data, 0, path)
    start = 0 if shape_index == 0 else _offset(data, version, shape_index, path)
    sub_version = _header(data, start, path, f" of sub-mesh {shape_index} (at byte {start})")
    payload = _inflate(data[start + 4:], path, shape_index)
    return _mesh(payload, sub_version, path, shape_index)


def write_serialized(path: Path, meshes: Sequence[MeshData], names: Sequence[str] | None = None,
                     version: int = 4, double: bool = False) -> None:
    """Write ``meshes`` as sub-meshes 0, 1, ... (float32 unless ``double``), with the
    end-of-file dictionary, so that Mitsuba's ``serialized`` plugin reads each of them."""
    if version not in VERSIONS:
        raise ValueError(f"version must be 3 or 4, got {version}")
    names = list(names) if names is not None else [f"mesh{i}" for i in range(len(meshes))]
    chunks, offsets, position = [], [], 0
    for mesh, name in zip(meshes, names, strict=True):
        offsets.append(position)
        chunk = struct.pack("<HH", MAGIC, version) + zlib.compress(
            _payload(mesh, name, version, double))
        chunks.append(chunk)
        position += len(chunk)
    if version == 3 and position > MAX_INDEX:
        raise ValueError("a version 3 file cannot be larger than 4 GiB")
    dictionary = struct.pack(f"<{len(offsets)}{'Q' if version == 4 else 'I'}I", *offsets,
                             len(offsets))
    Path(path).write_bytes(b"".join(chunks) + dictionary)


def _payload(mesh: MeshData, name: str, version: int, double: bool) -> bytes:
    vertices = np.asarray(mesh.vertices, np.float64).reshape(-1, 3)
    faces = np.asarray(mesh.faces, np.int64).reshape(-1, 3)
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError("a face refers to a vertex that does not exist")
    flags = DOUBLE if double else SINGLE
    arrays = [vertices]
    if mesh.normals is not None:
        flags |= HAS_NORMALS
        arrays.append(np.asarray(mesh.normals, np.float64).reshape(-1, 3))
    if mesh.uvs is not None:
        flags |= HAS_UVS
        arrays.append(np.asarray(mesh.uvs, np.float64).reshape(-1, 2))
    real = "<f8" if double else "<f4"
    head = struct.pack("<I", flags)
    if version == 4:
        head += name.encode("utf-8") + b"\0"
    head += struct.pack("<QQ", len(vertices), len(faces))
    body = b"".join(a.astype(real).tobytes() for a in arrays)
    return head + body + faces.astype("<u4").tobytes()


def _header(data: bytes, start: int, path: Path, where: str = "") -> int:
    if len(data) < start + 4:
        raise SceneError(f"serialized mesh file is truncated: no header{where}", file=path)
    magic, version = struct.unpack_from("<HH", data, start)
    if magic != MAGIC:
        raise SceneError(f"not a Mitsuba serialized mesh: bad magic number 0x{magic:04X}{where} "
                         f"(expected 0x{MAGIC:04X})", file=path)
    if version not in VERSIONS:
        hint = ("written by a Mitsuba newer than 3.9; convert it to PLY"
                if version == 5 else None)
        raise SceneError(f"unsupported serialized format version {version}{where} "
                         "(supported: 3, 4)", file=path, hint=hint)
    return version


def _offset(data: bytes, version: int, shape_index: int, path: Path) -> int:
    """The start of sub-mesh ``shape_index`` from the end-of-file dictionary."""
    width = 8 if version == 4 else 4
    if len(data) < 8:
        raise SceneError("serialized mesh file is truncated: no end-of-file dictionary",
                         file=path)
    (count,) = struct.unpack_from("<I", data, len(data) - 4)
    if shape_index >= count:
        raise SceneError(f"shape_index {shape_index} is out of range: the file holds {count} "
                         f"mesh{'es' if count != 1 else ''} (0..{count - 1})", file=path)
    at = len(data) - 4 - width * (count - shape_index)
    if at < 4:
        raise SceneError(f"the end-of-file dictionary claims {count} meshes, more than the "
                         "file can hold", file=path)
    (offset,) = struct.unpack_from("<Q" if width == 8 else "<I", data, at)
    if offset + 4 > at:
        raise SceneError(f"the end-of-file dictionary puts sub-mesh {shape_index} at byte "
                         f"{offset}, beyond the mesh data", file=path)
    return offset


def _inflate(stream: bytes, path: Path, shape_index: int) -> bytes:
    inflater = zlib.decompressobj()
    try:
        payload = inflater.decompress(stream)
    except zlib.error as err:
        raise SceneError(f"sub-mesh {shape_index} has a corrupt zlib stream ({err})",
                         file=path) from None
    if not inflater.eof:
        raise SceneError(f"sub-mesh {shape_index} is truncated: its zlib stream ends early",
                         file=path)
    return payload


def _mesh(payload: bytes, version: int, path: Path, shape_index: int) -> MeshData:
    where = f"sub-mesh {shape_index}"

    def short(what: str) -> SceneError:
        return SceneError(f"{where} is truncated: no room for its {what}", file=path)

    if len(payload) < 4:
        raise short("flags")
    (flags,) = struct.unpack_from("<I", payload, 0)
    cursor = 4
    if version == 4:
        end = payload.find(b"\0", cursor)
        if end < 0:
            raise short("name")
        cursor = end + 1
    if len(payload) < cursor + 16:
        raise short("vertex and triangle counts")
    vertex_count, face_count = struct.unpack_from("<QQ", payload, cursor)
    cursor += 16
    if vertex_count > MAX_INDEX or face_count > MAX_INDEX:
        raise SceneError(f"{where} has {vertex_count} vertices and {face_count} triangles, "
                         "more than 32-bit indices allow", file=path)
    real = np.dtype("<f8" if flags & DOUBLE else "<f4")
    lanes = 3 + 3 * bool(flags & HAS_NORMALS) + 2 * bool(flags & HAS_UVS) \
        + 3 * bool(flags & HAS_COLORS)
    need = cursor + vertex_count * lanes * real.itemsize + face_count * 12
    if len(payload) < need:
        raise SceneError(f"{where} is truncated: {vertex_count} vertices and {face_count} "
                         f"triangles need {need} bytes, the stream holds {len(payload)}",
                         file=path)

    def take(dtype, width: int, count: int) -> np.ndarray:
        nonlocal cursor
        array = np.frombuffer(payload, dtype, count * width, cursor).reshape(count, width)
        cursor += array.nbytes
        return array

    vertices = take(real, 3, vertex_count).astype(np.float64)
    normals = take(real, 3, vertex_count).astype(np.float64) if flags & HAS_NORMALS else None
    uvs = take(real, 2, vertex_count).astype(np.float64) if flags & HAS_UVS else None
    if flags & HAS_COLORS:
        take(real, 3, vertex_count)  # Mitsuba skips vertex colours too
    faces = take(np.dtype("<u4"), 3, face_count).astype(np.int64)
    if face_count == 0:
        raise SceneError(f"{where} has no triangles", file=path)
    if faces.max() >= vertex_count:
        raise SceneError(f"{where}: triangle {int(np.argmax(faces.max(axis=1) >= vertex_count))}"
                         f" refers to vertex {int(faces.max())}, outside 0..{vertex_count - 1}",
                         file=path)
    if not (np.isfinite(vertices).all() and (normals is None or np.isfinite(normals).all())
            and (uvs is None or np.isfinite(uvs).all())):
        raise SceneError(f"{where} has a NaN or infinite vertex attribute", file=path)
    if normals is not None:
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        normals = normals / np.where(length > 0, length, 1.0)
    return MeshData(vertices, faces.astype(np.int32), uvs, normals)
