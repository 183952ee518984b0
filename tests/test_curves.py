"""Mitsuba's ``bsplinecurve`` (``invrender.geometry.curves``): its file format as Mitsuba 3.9.1
reads it, the B-spline segments, and the tube mesh that stands for Embree's round curve.

The reading conventions below were checked against Mitsuba 3.9.1 (``mi.load_dict`` of a
``bsplinecurve`` on each file, ``traverse`` for the control points and segment indices);
the render is compared with Mitsuba's in tests/test_scene_plugins.py (scene ``curve``).
No Taichi kernels run here.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from invrender.errors import SceneError
from invrender.geometry import curves
from invrender.scene.loader import load_scene


def curve_file(tmp_path: Path, text: str, name: str = "c.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return path


def helix(n: int = 14, turns: float = 1.5, radius=None) -> curves.Curves:
    s = np.linspace(0.0, 1.0, n)
    theta = 2 * math.pi * turns * s
    points = np.stack([np.cos(theta), np.sin(theta), 0.8 * s], axis=1)
    radii = 0.1 + 0.08 * np.sin(3 * math.pi * s) ** 2 if radius is None else radius(s)
    return curves.Curves(points, np.asarray(radii, np.float64), np.array([0]), np.array([n]),
                         np.arange(1, n + 1))


def bspline_cox_de_boor(control: np.ndarray, x: float) -> np.ndarray:
    """The uniform cubic B-spline (knots 0, 1, 2, ...) at x, by the Cox-de Boor recursion:
    an evaluation independent of Mitsuba's polynomials."""
    def basis(i, k, t):
        if k == 0:
            return 1.0 if i <= t < i + 1 else 0.0
        return ((t - i) / k * basis(i, k - 1, t) + (i + k + 1 - t) / k * basis(i + 1, k - 1, t))
    return sum(basis(i, 3, x) * control[i] for i in range(len(control)))


def centre_of_vertices(mesh, c: curves.Curves):
    """For every vertex: its curve point c(v), c'(v), r(v) from its uv's global v."""
    segments = c.segment_indices
    v_global = mesh.uvs[:, 1] * len(segments)
    index = np.minimum(np.floor(v_global).astype(int), len(segments) - 1)
    local = v_global - index
    out = [np.empty((len(mesh.vertices), 3)) for _ in range(2)] + [np.empty(len(mesh.vertices))]
    for s, k in enumerate(segments):
        pick = index == s
        centre, tangent, _, radius, _ = curves.evaluate(c.points[k:k + 4], c.radii[k:k + 4],
                                                        local[pick])
        out[0][pick], out[1][pick], out[2][pick] = centre, tangent, radius
    # the last ring of a curve has the v of the next curve's first ring: take the segment
    # whose centre is at the radius
    ends = np.flatnonzero((local == 0) & (index > 0))
    for i in ends:
        k = segments[index[i] - 1]
        centre, tangent, _, radius, _ = curves.evaluate(c.points[k:k + 4], c.radii[k:k + 4],
                                                        np.array([1.0]))
        if abs(np.linalg.norm(mesh.vertices[i] - centre[0]) - radius[0]) < abs(
                np.linalg.norm(mesh.vertices[i] - out[0][i]) - out[2][i]):
            out[0][i], out[1][i], out[2][i] = centre[0], tangent[0], radius[0]
    return out


# --- the file ------------------------------------------------------------------------------


def test_reads_control_points_and_curves_as_mitsuba(tmp_path):
    """Empty lines (several, or only spaces/tabs/\\r) separate curves; numbers may carry '+',
    be separated by tabs or by their own sign; text after the fourth number is ignored.
    Mitsuba 3.9.1 gives 9 control points and segment_indices [0, 4, 5] for this file."""
    path = curve_file(tmp_path, "0 0 0 1 # not read\n+1 0 0 +1\n2\t0  0 1\n3-1-2 .5\n"
                      "\n \t\n\r\n"
                      "0 1 0 1\n1 1 0 1e-1\n2 1 0 1\n3 1 0 1\n4 1 0 1")
    c = curves.read_curves(path)
    np.testing.assert_array_equal(c.starts, [0, 4])
    np.testing.assert_array_equal(c.counts, [4, 5])
    np.testing.assert_array_equal(c.segment_indices, [0, 4, 5])
    np.testing.assert_allclose(c.points[3], [3, -1, -2])
    np.testing.assert_allclose(c.radii[:4], [1, 1, 1, 0.5])
    np.testing.assert_allclose(c.radii[5], np.float32(0.1))
    np.testing.assert_array_equal(c.lines, [1, 2, 3, 4, 8, 9, 10, 11, 12])


@pytest.mark.parametrize("text, line, needle", [
    ("# a comment\n0 0 0 1\n1 0 0 1\n2 0 0 1\n3 0 0 1\n", 1, "cannot parse '# a comment'"),
    ("0 0 0 1\n1 0 0 1\n2 0 0\n3 0 0 1\n", 3, "number 4 of 4 is missing"),
    ("0 0 0 1\n1,0,0,1\n2 0 0 1\n3 0 0 1\n", 2, "cannot parse"),
    ("0 0 0 1\n0x1 0 0 1\n2 0 0 1\n3 0 0 1\n", 2, "cannot parse"),
    ("0 0 0 1\n1 0 0 1\n1e 0 0 1\n3 0 0 1\n", 3, "cannot parse"),
    ("0 0 0 1\nnan 0 0 1\n2 0 0 1\n3 0 0 1\n", 2, "non-finite position"),
    ("0 0 0 1\n1 0 0 1\n2 0 0 inf\n3 0 0 1\n", 3, "non-finite radius"),
    ("0 0 0 1\n1 0 0 1e39\n2 0 0 1\n3 0 0 1\n", 2, "non-finite radius"),
    ("0 0 0 1\n1 0 0 1\n2 0 0 1\n3 0 0 1\n\n5 0 0 1\n6 0 0 1\n7 0 0 1\n", 6,
     "at least 4 control points, this one has 3"),
    ("0 0 0 1\r\n1 0 0 1\r\n\r\n2 0 0 1\r\n3 0 0 1\r\n", 1, "this one has 2"),
    ("0 0 0 1" + " " * 1100 + "\n1 0 0 1\n2 0 0 1\n3 0 0 1\n", 1, "line of 1107 characters"),
    ("\n  \n", None, "without control points"),
    ("", None, "without control points"),
])
def test_malformed_files_are_errors_naming_file_and_line(tmp_path, text, line, needle):
    """Each of these is an error in Mitsuba 3.9.1 too (its message names the line's text)."""
    path = curve_file(tmp_path, text)
    with pytest.raises(SceneError) as info:
        curves.read_curves(path)
    assert info.value.line == line
    assert needle in str(info.value)
    assert str(info.value).startswith(str(path) + (f":{line}: " if line else ": "))


# --- the spline ------------------------------------------------------------------------------


def test_segments_are_uniform_cubic_bsplines_with_derivatives():
    rng = np.random.default_rng(3)
    control, radii = rng.normal(size=(7, 3)), rng.uniform(0.1, 0.3, 7)
    for j in range(4):  # segment j: control points j..j+3, knots x in [j + 3, j + 4]
        v = np.array([0.0, 0.3, 0.77, 1.0 - 1e-12])
        c, dc, ddc, r, dr = curves.evaluate(control[j:j + 4], radii[j:j + 4], v)
        for i, x in enumerate(v):
            np.testing.assert_allclose(c[i], bspline_cox_de_boor(control, j + 3 + x), atol=1e-12)
            np.testing.assert_allclose(r[i], bspline_cox_de_boor(radii, j + 3 + x), atol=1e-12)
        h = 1e-6
        v = np.array([0.2, 0.6])
        plus = curves.evaluate(control[j:j + 4], radii[j:j + 4], v + h)
        minus = curves.evaluate(control[j:j + 4], radii[j:j + 4], v - h)
        _, dc, ddc, _, dr = curves.evaluate(control[j:j + 4], radii[j:j + 4], v)
        np.testing.assert_allclose(dc, (plus[0] - minus[0]) / (2 * h), atol=1e-7)
        np.testing.assert_allclose(ddc, (plus[1] - minus[1]) / (2 * h), atol=1e-6)
        np.testing.assert_allclose(dr, (plus[3] - minus[3]) / (2 * h), atol=1e-7)


def test_local_frame_is_mitsubas():
    t = np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8], [0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])
    rot, rad = curves.local_frame(t)
    np.testing.assert_allclose(rot[0], [0, 0, 1])  # +z projected on the normal plane
    np.testing.assert_allclose(rot[1], [0, -0.8, 0.6])
    np.testing.assert_allclose(rot[2:], [[0, 1, 0], [0, 1, 0]])  # singular: (0, 1, 0)
    np.testing.assert_allclose(rad, np.cross(rot, t))
    np.testing.assert_allclose(np.einsum("ij,ij->i", rot, t), 0, atol=1e-15)


# --- the tube ------------------------------------------------------------------------------


def test_tube_vertices_lie_on_the_tube_around_the_spline():
    c = helix()
    mesh = curves.tube_mesh(c)
    centre, tangent, radius = centre_of_vertices(mesh, c)
    offset = mesh.vertices - centre
    np.testing.assert_allclose(np.linalg.norm(offset, axis=1), radius, rtol=1e-12)
    np.testing.assert_allclose(np.einsum("ij,ij->i", offset, tangent), 0, atol=1e-12)
    # and r(v) is also the distance to the whole centre line (r < the curvature radius)
    dense = np.concatenate([curves.evaluate(c.points[k:k + 4], c.radii[k:k + 4],
                                            np.linspace(0, 1, 2001))[0]
                            for k in c.segment_indices])
    nearest = np.array([np.linalg.norm(dense - p, axis=1).min() for p in mesh.vertices[::37]])
    np.testing.assert_allclose(nearest, radius[::37], rtol=1e-4)


def test_tube_normals_are_unit_outward_and_exact():
    c = helix()
    mesh = curves.tube_mesh(c)
    centre, tangent, radius = centre_of_vertices(mesh, c)
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1, rtol=1e-12)
    assert (np.einsum("ij,ij->i", mesh.normals, mesh.vertices - centre) > 0).all()
    # the exact normal: cross(dp/du, dp/dv) of the parametrisation, by central differences
    k, (control, radii), h = 5, (c.points[5:9], c.radii[5:9]), 1e-6

    def surface(u, v):
        centre, dc, *_, r, _ = curves.evaluate(control, radii, np.array([v]))
        rot, rad = curves.local_frame(dc / np.linalg.norm(dc))
        return (centre + r[:, None] * (np.cos(2 * math.pi * u) * rad
                                       + np.sin(2 * math.pi * u) * rot))[0]

    total = len(c.segment_indices)
    pick = np.flatnonzero((mesh.uvs[:, 1] * total > k + 0.05) & (mesh.uvs[:, 1] * total < k + 0.95))
    for i in pick[::17]:
        u, v = mesh.uvs[i, 0], mesh.uvs[i, 1] * total - k
        du = surface(u + h, v) - surface(u - h, v)
        dv = surface(u, v + h) - surface(u, v - h)
        exact = np.cross(du, dv)
        np.testing.assert_allclose(mesh.normals[i], exact / np.linalg.norm(exact), atol=1e-7)
    # the winding faces outwards: every face normal along its vertices' normals
    corners = mesh.vertices[mesh.faces]
    face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    face /= np.linalg.norm(face, axis=1, keepdims=True)
    assert (np.einsum("ij,ij->i", face, mesh.normals[mesh.faces].mean(1)) > 0.95).all()


def test_tube_uvs_follow_mitsuba():
    """u = angle / 2 pi from e_rad toward e_rot (0 and 1 both on the seam), v global over
    all segments of all curves."""
    a, b = helix(10), helix(8)
    both = curves.Curves(np.concatenate([a.points, b.points + [3, 0, 0]]),
                         np.concatenate([a.radii, b.radii]), np.array([0, 10]),
                         np.array([10, 8]), np.arange(18))
    mesh = curves.tube_mesh(both)
    assert mesh.uvs[:, 0].min() == 0 and mesh.uvs[:, 0].max() == 1
    np.testing.assert_allclose(sorted({mesh.uvs[:, 1].min(), mesh.uvs[:, 1].max()}), [0, 1])
    second = mesh.vertices[:, 0] > 2
    assert mesh.uvs[second, 1].min() == pytest.approx(7 / 12)  # 7 segments, then 5
    assert mesh.uvs[~second, 1].max() == pytest.approx(7 / 12)
    centre, tangent, _ = centre_of_vertices(mesh, both)
    rot, rad = curves.local_frame(tangent / np.linalg.norm(tangent, axis=1, keepdims=True))
    offset = mesh.vertices - centre
    u = np.arctan2(np.einsum("ij,ij->i", offset, rot), np.einsum("ij,ij->i", offset, rad))
    u = np.mod(u / (2 * math.pi), 1.0)
    np.testing.assert_allclose(np.minimum(np.abs(u - mesh.uvs[:, 0]),
                                          1 - np.abs(u - mesh.uvs[:, 0])), 0, atol=1e-9)


def test_counts_follow_the_turning_of_the_tangent():
    straight = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0], [3, 0, 0.0]])
    assert curves.segment_steps(straight) == curves.MIN_STEPS
    c = helix(n=8, turns=2.0)  # 5 segments for 2 turns: the tangent turns ~2.5 rad each
    for k in c.segment_indices:
        steps = curves.segment_steps(c.points[k:k + 4])
        assert curves.MIN_STEPS < steps <= curves.MAX_STEPS
    mesh = curves.tube_mesh(c)
    rings = sum(curves.segment_steps(c.points[k:k + 4]) for k in c.segment_indices) + 1
    assert len(mesh.vertices) == rings * (curves.RING + 1)
    assert len(mesh.faces) == 2 * (rings - 1) * curves.RING


def test_a_tangent_through_z_keeps_the_triangles_short():
    """Mitsuba's frame spins where the tangent passes near +-z (here by more than 90 degrees
    between two rings): the bands there are re-indexed, so that no triangle cuts across the
    tube (its corners' radial directions stay within a ring step and a half); the vertices
    stay on the tube."""
    points = np.array([[0, 0, -2], [0, 0, -1], [0.0, 0.02, 0], [0, 0, 1], [0, 0, 2],
                       [1, 0, 3], [2, 0, 3]], np.float64)
    c = curves.Curves(points, np.full(7, 0.2), np.array([0]), np.array([7]), np.arange(7))
    mesh = curves.tube_mesh(c)
    centre, tangent, radius = centre_of_vertices(mesh, c)
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices - centre, axis=1), radius, rtol=1e-9)
    ring = mesh.uvs[:, 0] == 0  # one vertex per ring: Mitsuba's e_rad there
    rad = (mesh.vertices[ring] - centre[ring]) / 0.2
    t = tangent[ring] / np.linalg.norm(tangent[ring], axis=1, keepdims=True)
    carried = rad[:-1] - t[1:] * np.einsum("ij,ij->i", rad[:-1], t[1:])[:, None]
    carried /= np.linalg.norm(carried, axis=1, keepdims=True)
    twist = np.arccos(np.clip(np.einsum("ij,ij->i", carried, rad[1:]), -1, 1))
    assert np.degrees(twist.max()) > 90
    e = (mesh.vertices - centre)[mesh.faces] / 0.2
    cosine = np.einsum("fij,fkj->fik", e, e).min(axis=(1, 2))
    assert np.degrees(np.arccos(np.clip(cosine.min(), -1, 1))) < 1.5 * 360 / curves.RING + 0.1


def test_zero_radius_ends_close_the_tube_and_negative_radii_vanish():
    c = helix(radius=lambda s: np.where((s < 0.2) | (s > 0.8), 0.0, 0.15))
    mesh = curves.tube_mesh(c)
    corners = mesh.vertices[mesh.faces]
    area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]),
                          axis=1)
    assert area.min() > 0  # the collapsed triangles are dropped
    # closed: merging the seam and the tips, every edge has exactly two triangles
    _, merged = np.unique(np.round(mesh.vertices, 9), axis=0, return_inverse=True)
    merged = merged.reshape(-1)[mesh.faces]
    edges = np.sort(np.concatenate([merged[:, [0, 1]], merged[:, [1, 2]], merged[:, [2, 0]]]), 1)
    _, count = np.unique(edges, axis=0, return_counts=True)
    assert (count == 2).all()
    negative = helix(radius=lambda s: 0.3 - 0.6 * s)  # r < 0 past the middle: no surface
    mesh = curves.tube_mesh(negative)
    centre, _, radius = centre_of_vertices(mesh, negative)
    assert radius.min() > -1e-3 and len(mesh.faces) < len(curves.tube_mesh(helix()).faces)


# --- through the loader --------------------------------------------------------------------


def scene_with_curve(tmp_path: Path, shape_body: str, text: str | None = None) -> Path:
    curve_file(tmp_path, text or "".join(f"{math.cos(a):.6f} {math.sin(a):.6f} {a / 4:.6f} 0.1\n"
                                         for a in np.linspace(0, 6, 9)))
    xml = textwrap.dedent("""\
        <scene version="3.0.0">
            <shape type="bsplinecurve" id="c">
                <string name="filename" value="c.txt"/>
        {body}    </shape>
        </scene>
        """).format(body=textwrap.indent(textwrap.dedent(shape_body), " " * 8))
    (tmp_path / "scene.xml").write_text(xml)
    return tmp_path / "scene.xml"


def test_to_world_moves_the_control_points_not_the_radii(tmp_path):
    path = scene_with_curve(tmp_path, """\
        <float name="silhouette_sampling_weight" value="3"/>
        <transform name="to_world">
            <scale value="2"/>
            <rotate z="1" angle="30"/>
            <translate x="1" y="2" z="3"/>
        </transform>
        """)
    scene = load_scene(path)
    mesh = scene.meshes[0]
    assert mesh.kind == "bsplinecurve" and mesh.filename == tmp_path / "c.txt"
    control = curves.read_curves(tmp_path / "c.txt").transformed(mesh.to_world)
    expected = curves.tube_mesh(control)
    np.testing.assert_allclose(mesh.vertices, expected.vertices, atol=1e-12)
    np.testing.assert_allclose(mesh.normals, expected.normals, atol=1e-12)
    np.testing.assert_array_equal(mesh.faces, expected.faces)
    np.testing.assert_array_equal(mesh.uvs, expected.uvs)
    centre, _, radius = centre_of_vertices(mesh, control)
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices - centre, axis=1), 0.1, rtol=1e-6)


@pytest.mark.parametrize("shape_body, text, needle", [
    ('<boolean name="flip_normals" value="true"/>\n', None, "unsupported property 'flip_normals'"),
    ('<float name="radius" value="1"/>\n', None, "unsupported property 'radius'"),
    ("", "0 0 0 1\n1 0 0 1\n# three points\n", "c.txt:3: cannot parse '# three points'"),
])
def test_loader_errors(tmp_path, shape_body, text, needle):
    path = scene_with_curve(tmp_path, shape_body, text)
    with pytest.raises(SceneError) as info:
        load_scene(path)
    assert needle in str(info.value)
    if text is not None:
        assert "loaded by" in str(info.value) and "scene.xml:2" in str(info.value)


def test_missing_curve_file(tmp_path):
    path = scene_with_curve(tmp_path, "")
    (tmp_path / "c.txt").unlink()
    with pytest.raises(SceneError, match="B-spline curve file not found"):
        load_scene(path)
