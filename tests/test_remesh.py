"""Remeshing (``invrender.geometry.remesh``) and the surface metrics
(``invrender.geometry.metrics``): what comes out is still a closed, outward-facing surface,
a bad mesh is a one-line error, and the metrics agree with their definitions."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from invrender.errors import InvrenderError
from invrender.geometry.metrics import chamfer_distance, mesh_metrics, normal_consistency
from invrender.geometry.remesh import edge_lengths, manifold_problems, remesh, signed_volume


@pytest.fixture(scope="module")
def sphere():
    m = trimesh.creation.icosphere(subdivisions=2)
    return np.array(m.vertices), np.array(m.faces)


def closed_and_outward(v, f) -> bool:
    return manifold_problems(f) == "" and signed_volume(v, f) > 0


def test_remeshed_icosphere_stays_closed_and_outward(sphere):
    v, f = sphere
    new_v, new_f = remesh(v, f)
    assert new_v.dtype == np.float64 and new_f.dtype == f.dtype
    assert closed_and_outward(new_v, new_f)
    assert trimesh.Trimesh(new_v, new_f, process=False).is_watertight
    # Default h is half the mean edge length: edges get about twice as short.
    assert np.mean(edge_lengths(new_v, new_f)) < 0.75 * np.mean(edge_lengths(v, f))
    assert len(new_v) > 2 * len(v)
    assert signed_volume(new_v, new_f) == pytest.approx(signed_volume(v, f), rel=0.02)
    np.testing.assert_allclose(np.linalg.norm(new_v, axis=1), 1.0, atol=0.02)  # projected


def test_inside_out_mesh_stays_inside_out(sphere):
    v, f = sphere
    new_v, new_f = remesh(v, f[:, ::-1].astype(np.int32), h=0.3)
    assert new_f.dtype == np.int32
    assert manifold_problems(new_f) == "" and signed_volume(new_v, new_f) < 0


def test_seam_duplicates_are_welded_before_remeshing(sphere):
    v, f = sphere
    soup = v[f].reshape(-1, 3)  # every face with its own three vertices
    new_v, new_f = remesh(soup, np.arange(len(soup)).reshape(-1, 3), h=0.3)
    assert closed_and_outward(new_v, new_f)


def test_mesh_with_a_hole_is_a_one_line_error(sphere):
    v, f = sphere
    with pytest.raises(InvrenderError) as err:
        remesh(v, f[1:], name="blob.ply")
    text = str(err.value)
    assert text.startswith("blob.ply: the mesh is not a closed manifold: 3 edges have one face")
    assert "remeshing needs a closed, manifold mesh" in text and "\n" not in text


def test_non_manifold_and_misoriented_meshes_are_errors(sphere):
    v, f = sphere
    fin = np.array([[f[0, 0], f[0, 1], len(v)]])  # a third face on one edge
    with pytest.raises(InvrenderError, match="2 edges have one face, 1 has more than two"):
        remesh(np.vstack([v, [[2.0, 0, 0]]]), np.vstack([f, fin]))
    flipped = f.copy()
    flipped[0] = flipped[0, ::-1]
    with pytest.raises(InvrenderError, match="3 edges have two faces of opposite orientation"):
        remesh(v, flipped)
    degenerate = np.vstack([f, [[0, 0, 1]]])
    assert manifold_problems(degenerate) == "1 face repeats a vertex"


def test_bad_remesh_arguments(sphere):
    with pytest.raises(InvrenderError, match="edge length h must be a finite number > 0"):
        remesh(*sphere, h=0.0)
    with pytest.raises(InvrenderError, match="iterations must be an integer >= 1"):
        remesh(*sphere, iterations=0)


def test_chamfer_and_normal_consistency_of_a_mesh_with_itself(sphere):
    # Both surfaces are sampled with the same seed: a mesh meets itself exactly.
    metrics = mesh_metrics(sphere, sphere, n=5000)
    assert metrics == {"chamfer": 0.0, "normal_consistency": pytest.approx(1.0, abs=1e-12)}
    moved = (sphere[0] + 1e-3, sphere[1])
    assert 0 < chamfer_distance(sphere, moved, n=5000) < 1e-5
    assert normal_consistency(sphere, sphere, n=5000) == metrics["normal_consistency"]
    assert chamfer_distance(sphere, sphere, n=5000) == metrics["chamfer"]  # reproducible


def test_chamfer_of_concentric_spheres_is_twice_the_squared_gap():
    m = trimesh.creation.icosphere(subdivisions=4)
    v, f = np.array(m.vertices), np.array(m.faces)
    # Faces of a subdivided icosphere sit slightly inside the unit sphere: use the mean
    # distance of the surface from the centre as the radius.
    r = np.mean(np.linalg.norm(m.sample(20000, seed=3), axis=1))
    gap = 0.1 * r
    chamfer = chamfer_distance((v, f), (1.1 * v, f), n=20000)
    assert chamfer == pytest.approx(2 * gap ** 2, rel=0.01)
    assert normal_consistency((v, f), (1.1 * v, f), n=20000) > 0.99


def test_metrics_accept_objects_and_reject_bad_meshes(sphere):
    mesh = trimesh.Trimesh(*sphere, process=False)
    assert chamfer_distance(mesh, sphere, n=2000) < 1e-2
    with pytest.raises(InvrenderError, match="a mesh must be a \\(vertices, faces\\) pair"):
        chamfer_distance("sphere.ply", sphere)
    with pytest.raises(InvrenderError, match="total area is zero"):
        chamfer_distance((np.zeros((3, 3)), [[0, 1, 2]]), sphere)
    with pytest.raises(InvrenderError, match="number of samples"):
        mesh_metrics(sphere, sphere, n=0)
