"""Mitsuba 3's ``bsplinecurve`` shape as a triangle mesh: its file format, its uniform cubic
B-spline segments and the round tube swept along them (src/shapes/bsplinecurve.cpp, 3.9.1).

**File** (``read_curves``), read as Mitsuba reads it: lines end at ``\\n``; a line that is empty
once spaces, tabs and ``\\r`` are skipped ends the current curve (several such lines in a row
are one break); any other line is one control point ``x y z radius``, four numbers read one
after the other as ``strtof`` would (``+`` and spaces/tabs before each skipped; ``1-2`` is two
numbers), anything after the fourth ignored (``0 0 0 1 # note`` is fine). There are no
comment lines: a line starting with ``#`` is an unparsable control point, as in Mitsuba.
Errors (each a ``SceneError`` naming the file and line): a number missing or unreadable, a
non-finite position or radius, a line of 1024 characters or more, a curve with 1 to 3
control points, a file without any.

**Curve** (``evaluate``): curve ``i`` with ``n_i`` control points has ``n_i - 3`` segments; the
segment starting at control point ``k`` is the uniform cubic B-spline of points and radii
``k .. k + 3`` over a local ``v`` in [0, 1], evaluated with Mitsuba's polynomials
(``cubic_interpolation``). Positions are moved by ``to_world`` before anything else; the
radii are not (Mitsuba: "the control points' radii are invariant to this transformation").

**Tube** (``tube_mesh``): the surface Embree intersects for ``RTC_GEOMETRY_TYPE_ROUND_BSPLINE_
CURVE``, a circle of radius r(v) swept perpendicular to the tangent: p(u, v) = c(v) + r(v)
(cos 2 pi u e_rad + sin 2 pi u e_rot), with Mitsuba's frame (``local_frame``: e_rot the unit
projection of +z on the plane normal to the tangent, (0, 1, 0) where the tangent is +-z,
e_rad = e_rot x t) and Mitsuba's uv: u = the angle / 2 pi, v = (local v + segment index) /
number of segments over all curves of the file. Vertex normals are Mitsuba's (and the exact
normal of that surface): normalize((|c'|^2 - d . c'') d - r r' c'), d = p - c. The winding
faces outwards. The ends are open: Embree accepts hits with the curve parameter in [0, 1]
only and has no end caps for cubic curves; Mitsuba documents the curves as "open-ended ...
they do not have endcaps" and culls their back faces, so one sees through an open end into
and out of the tube. This mesh has no caps either, but its inside is an ordinary back face
(invrender does not cull): it is black with a one-sided BSDF and blocks shadow rays. A tube
whose end radius is 0 (Mitsuba's advice for a watertight curve) looks the same in both.
Where the interpolated radius is negative Embree finds no surface; here it is clamped to 0
(the triangles that collapse are dropped).

**Counts**: ``RING`` = 64 vertices around (plus the seam twice): the polygon is inside the
circle by r (1 - cos(pi / 64)) = 1.2e-3 r and its perimeter 4.0e-4 short. Along each segment,
``steps`` rings: enough that the tangent turns at most 2 pi / 64 between rings (the centre
line's chords are then off by at most 1.2e-3 of the curvature radius), at least
``MIN_STEPS`` = 8 (so that a cubic radius is followed to r'' / 512) and at most
``MAX_STEPS`` = 256. Where Mitsuba's frame twists between two rings (it spins fast where the
tangent passes near +-z), the band joining them is re-indexed so that each vertex joins the
nearest one of the next ring, keeping the triangles short; u jumps there as it does in
Mitsuba.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invrender.errors import SceneError
from invrender.geometry.mesh import MeshData

RING = 64
MIN_STEPS = 8
MAX_STEPS = 256
MAX_TURN = 2.0 * math.pi / 64  # tangent turning between two rings, radians
MAX_LINE = 1024  # Mitsuba's line buffer is 1025 bytes: lines of 1024 or more are refused

# One number as Mitsuba's parse_float reads it: spaces and tabs, one optional '+', then what
# fast_float's from_chars (general format) accepts: a decimal with optional exponent, inf,
# infinity or nan (any case, nan with an optional "(chars)").
_NUMBER = re.compile(
    rb"[ \t]*\+?(-?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    rb"|(?i:infinity|inf|nan(?:\([0-9A-Za-z_]*\))?)))")


@dataclass
class Curves:
    """Control points of the curves of one file: ``points`` (P, 3), ``radii`` (P,), and for
    each curve its first control point and count (``starts``, ``counts``); ``lines`` is the
    file line of each control point."""

    points: np.ndarray
    radii: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    lines: np.ndarray

    @property
    def segment_indices(self) -> np.ndarray:
        """Mitsuba's ``segment_indices``: the first control point of every segment."""
        return np.concatenate([s + np.arange(n - 3) for s, n in zip(self.starts, self.counts,
                                                                  strict=True)]).astype(np.int64)

    def transformed(self, to_world: np.ndarray) -> Curves:
        """Positions moved by the affine ``to_world``; radii unchanged (as Mitsuba)."""
        points = self.points @ to_world[:3, :3].T + to_world[:3, 3]
        return Curves(points, self.radii.copy(), self.starts, self.counts, self.lines)


def read_curves(path: str | Path) -> Curves:
    """Read a ``bsplinecurve`` file as Mitsuba does (see the module doc)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SceneError(f"cannot read B-spline curve file: {err.strerror}", file=path) from err
    points, radii, lines, starts = [], [], [], []
    new_curve = True

    def finish() -> None:
        if not new_curve:
            count = len(points) - starts[-1]
            if count < 4:
                raise SceneError(f"a B-spline curve needs at least 4 control points, this one "
                                 f"has {count} (lines {lines[starts[-1]]}-{lines[-1]})",
                                 file=path, line=lines[starts[-1]],
                                 hint="an empty line starts a new curve")

    rows = data.split(b"\n")
    if data.endswith(b"\n"):
        rows.pop()  # Mitsuba stops at the end of the data: no line after the last newline
    for number, row in enumerate(rows, start=1):
        if len(row) >= MAX_LINE:
            raise SceneError(f"line of {len(row)} characters (Mitsuba reads at most "
                             f"{MAX_LINE - 1})", file=path, line=number)
        row = row.split(b"\0", 1)[0]  # Mitsuba reads each line as a C string
        text = row.lstrip(b" \t\r")
        if not text:
            finish()
            new_curve = True
            continue
        if new_curve:
            starts.append(len(points))
            new_curve = False
        values, parsed = _numbers(text)
        shown = row.decode("utf-8", "replace").strip()
        with np.errstate(over="ignore"):  # beyond float32: infinite, as in Mitsuba
            single = np.array(values, np.float64).astype(np.float32)
        if not np.all(np.isfinite(single[:3])):
            raise SceneError(f"control point with a non-finite position: '{shown}'",
                             file=path, line=number)
        if not np.isfinite(single[3]):
            raise SceneError(f"control point with a non-finite radius: '{shown}'",
                             file=path, line=number)
        if parsed < 4:
            raise SceneError(f"cannot parse '{shown}' as a control point: number {parsed + 1} "
                             "of 4 is missing or unreadable", file=path, line=number,
                             hint="each line is 'x y z radius'; an empty line starts a new "
                             "curve; there are no comment lines")
        points.append(values[:3])
        radii.append(values[3])
        lines.append(number)
    if not starts:
        raise SceneError("B-spline curve file without control points", file=path)
    finish()
    counts = np.diff(np.append(starts, len(points)))
    # Mitsuba reads and stores single-precision floats
    return Curves(np.array(points, np.float32).astype(np.float64),
                  np.array(radii, np.float32).astype(np.float64),
                  np.array(starts, np.int64), counts.astype(np.int64), np.array(lines))


def _numbers(text: bytes) -> tuple[list[float], int]:
    """Up to four numbers from the start of ``text``, as consecutive ``strtof`` calls read
    them; a failed one leaves the position (and the value 0), so later ones fail too."""
    values, parsed, position = [0.0] * 4, 0, 0
    for i in range(4):
        match = _NUMBER.match(text, position)
        if match is None:
            continue
        values[i] = float(match.group(1).split(b"(")[0])
        position = match.end()
        parsed += 1
    return values, parsed


# --- the spline ------------------------------------------------------------------------------


def evaluate(control: np.ndarray, radii: np.ndarray, v: np.ndarray):
    """Mitsuba's ``cubic_interpolation`` of one segment at local parameters ``v`` (S,):
    ``control`` (4, 3), ``radii`` (4,). Returns c, c', c'' (S, 3) and r, r' (S,), the
    derivatives by the local v."""
    v = np.asarray(v, np.float64)[:, None]
    v2, v3 = v * v, v * v * v
    basis = np.concatenate([-v3 + 3 * v2 - 3 * v + 1, 3 * v3 - 6 * v2 + 4,
                            -3 * v3 + 3 * v2 + 3 * v + 1, v3], axis=1) / 6.0
    first = np.concatenate([-3 * v2 + 6 * v - 3, 9 * v2 - 12 * v,
                            -9 * v2 + 6 * v + 3, 3 * v2], axis=1) / 6.0
    second = np.concatenate([1 - v, 3 * v - 2, 1 - 3 * v, v], axis=1)
    return (basis @ control, first @ control, second @ control, basis @ radii, first @ radii)


def local_frame(tangent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mitsuba's ``local_frame`` of unit tangents (S, 3): (e_rot, e_rad)."""
    guide = np.array([0.0, 0.0, 1.0])
    along = tangent @ guide
    rot = guide - tangent * along[:, None]
    length = np.linalg.norm(rot, axis=1, keepdims=True)
    rot = np.where(length > 0, rot / np.where(length > 0, length, 1.0), 0.0)
    # Mitsuba: "non-consistent at singular points" (|t . z| == 1; here also where rounding
    # leaves nothing to normalise)
    rot[(np.abs(along) == 1.0) | (length[:, 0] == 0)] = (0.0, 1.0, 0.0)
    return rot, np.cross(rot, tangent)


def segment_steps(control: np.ndarray, samples: int = 64) -> int:
    """Rings along one segment: the tangent turns at most ``MAX_TURN`` between two rings
    (measured on ``samples`` + 1 points), within [MIN_STEPS, MAX_STEPS]."""
    _, tangent, *_ = evaluate(control, np.zeros(4), np.linspace(0.0, 1.0, samples + 1))
    tangent = _unit_rows(tangent)
    cosine = np.clip(np.einsum("ij,ij->i", tangent[:-1], tangent[1:]), -1.0, 1.0)
    turn = float(np.arccos(cosine).sum())
    return int(min(MAX_STEPS, max(MIN_STEPS, math.ceil(turn / MAX_TURN))))


# --- the tube ------------------------------------------------------------------------------


def tube_mesh(curves: Curves, ring: int = RING, steps: int | None = None) -> MeshData:
    """The round tube of every curve (already in world space) as one mesh; see the module
    doc. ``steps`` fixes the rings per segment (default: ``segment_steps``)."""
    segments = curves.segment_indices
    total = len(segments)
    vertices, normals, uvs, faces = [], [], [], []
    offset = 0
    segment = 0
    for start, count in zip(curves.starts, curves.counts, strict=True):
        centre, tangent, second, radius, slope, v_global = [], [], [], [], [], []
        for j in range(count - 3):
            k = start + j
            control, radii = curves.points[k:k + 4], curves.radii[k:k + 4]
            n = steps if steps is not None else segment_steps(control)
            last = j == count - 4
            v = np.arange(n + 1 if last else n) / n  # the next segment starts the next ring
            c, dc, ddc, r, dr = evaluate(control, radii, v)
            centre.append(c)
            tangent.append(dc)
            second.append(ddc)
            radius.append(r)
            slope.append(dr)
            v_global.append((v + segment) / total)
            segment += 1
        ring_mesh = _rings(*(np.concatenate(a) for a in (centre, tangent, second, radius,
                                                          slope, v_global)), ring)
        vertices.append(ring_mesh.vertices)
        normals.append(ring_mesh.normals)
        uvs.append(ring_mesh.uvs)
        faces.append(ring_mesh.faces + offset)
        offset += len(ring_mesh.vertices)
    mesh = MeshData(np.concatenate(vertices), np.concatenate(faces).astype(np.int32),
                    np.concatenate(uvs), np.concatenate(normals))
    return _without_degenerate(mesh)


def _rings(centre, dc, ddc, radius, dr, v, ring: int) -> MeshData:
    """Rings of ``ring`` + 1 vertices (u = 0 and 1 both) around the R centre points, joined
    band by band; each band re-indexed by the twist of Mitsuba's frame between its rings."""
    speed = np.linalg.norm(dc, axis=1)
    tangent = _fill_tangents(dc, speed)
    rot, rad = local_frame(tangent)
    r = np.maximum(radius, 0.0)  # Embree: no surface where the radius is negative
    angle = 2.0 * math.pi * np.arange(ring + 1) / ring
    cos, sin = np.cos(angle), np.sin(angle)
    cos[-1], sin[-1] = 1.0, 0.0  # the seam exactly twice
    e = cos[None, :, None] * rad[:, None, :] + sin[None, :, None] * rot[:, None, :]  # (R, K, 3)
    points = centre[:, None, :] + r[:, None, None] * e
    # Mitsuba's normal divided by r (so that it holds at r = 0 too):
    # (|c'|^2 - r e . c'') e - r' c'
    curvature = np.einsum("rkc,rc->rk", e, ddc)
    normal = ((speed[:, None] ** 2 - r[:, None] * curvature)[..., None] * e
              - dr[:, None, None] * dc[:, None, :])
    length = np.linalg.norm(normal, axis=2, keepdims=True)
    normal = np.where(length > 0, normal / np.where(length > 0, length, 1.0), e)
    u = np.arange(ring + 1) / ring
    uv = np.stack(np.broadcast_arrays(u[None, :], v[:, None]), axis=-1)
    # the shift of each band: where ring b's frame puts ring a's e_rad, in vertex steps
    carried = rad[:-1] - tangent[1:] * np.einsum("ij,ij->i", rad[:-1], tangent[1:])[:, None]
    phi = np.arctan2(np.einsum("ij,ij->i", carried, rot[1:]),
                     np.einsum("ij,ij->i", carried, rad[1:]))
    shift = np.rint(phi * ring / (2.0 * math.pi)).astype(np.int64) % ring
    index = np.arange(len(centre) * (ring + 1)).reshape(len(centre), ring + 1)
    k = np.arange(ring)[None, :]
    j = (k + shift[:, None]) % ring
    a, b = index[:-1, :-1], index[:-1, 1:]
    rows = np.arange(1, len(centre))[:, None]
    d, c = index[rows, j], index[rows, j + 1]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                            np.stack([a, c, d], -1).reshape(-1, 3)])
    return MeshData(points.reshape(-1, 3), faces, uv.reshape(-1, 2), normal.reshape(-1, 3))


def _fill_tangents(dc: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """Unit tangents; where c' = 0 (repeated control points) the nearest defined one,
    +z if none."""
    valid = speed > 0
    if not valid.any():
        return np.tile([0.0, 0.0, 1.0], (len(dc), 1))
    tangent = np.where(valid[:, None], dc / np.where(valid, speed, 1.0)[:, None], 0.0)
    good = np.flatnonzero(valid)
    nearest = good[np.clip(np.searchsorted(good, np.arange(len(dc))), 0, len(good) - 1)]
    return np.where(valid[:, None], tangent, tangent[nearest])


def _without_degenerate(mesh: MeshData) -> MeshData:
    """Drop the triangles of zero area (where the radius is 0) and the vertices they leave."""
    corners = mesh.vertices[mesh.faces]
    area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0],
                                   corners[:, 2] - corners[:, 0]), axis=1)
    faces = mesh.faces[area > 0]
    used = np.unique(faces)
    new_index = np.full(len(mesh.vertices), -1, np.int64)
    new_index[used] = np.arange(len(used))
    return MeshData(mesh.vertices[used], new_index[faces].astype(np.int32),
                    mesh.uvs[used], mesh.normals[used])


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    length = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(length > 0, length, 1.0)
