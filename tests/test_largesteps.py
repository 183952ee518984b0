"""Large Steps (``invrender.geometry.largesteps``) against its definition: round trips, the
adjoint, welding of seam duplicates and the one-line errors. Numpy only, small meshes."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from invrender.errors import InvrenderError
from invrender.geometry.largesteps import LargeSteps, mesh_laplacian


@pytest.fixture(scope="module")
def sphere():
    m = trimesh.creation.icosphere(subdivisions=2)
    return np.array(m.vertices), np.array(m.faces)


@pytest.fixture(scope="module")
def seamed(sphere):
    """The sphere with a third of its faces using fresh copies of their vertices (as uv
    seams make them), the copies appended at the end."""
    v, f = sphere
    f = f.copy()
    split = np.unique(f[: len(f) // 3])
    copy_of = np.full(len(v), -1)
    copy_of[split] = len(v) + np.arange(len(split))
    f[: len(f) // 3] = copy_of[f[: len(f) // 3]]
    return np.vstack([v, v[split]]), f, split


def test_round_trip_on_a_welded_icosphere(sphere):
    v, f = sphere
    ls = LargeSteps(v, f)
    assert ls.n_vertices == len(v) == ls.n_input_vertices
    u = ls.to_differential(v)
    assert u.shape == (len(v), 3) and u.dtype == np.float64
    np.testing.assert_allclose(ls.from_differential(u), v, rtol=1e-10, atol=1e-12)


def test_matrix_is_identity_plus_lambda_times_the_combinatorial_laplacian(sphere):
    v, f = sphere
    ls = LargeSteps(v, f, lambda_=3.0)
    # Welding numbers vertices in np.unique's (sorted) order, as Mitsuba's does.
    f = ls.faces
    np.testing.assert_array_equal(f, ls.inverse[sphere[1]])
    m = ls.matrix.toarray()
    adjacency = np.zeros_like(m)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        adjacency[f[:, a], f[:, b]] = adjacency[f[:, b], f[:, a]] = 1
    laplacian = np.diag(adjacency.sum(axis=1)) - adjacency
    np.testing.assert_array_equal(m, np.eye(len(v)) + 3.0 * laplacian)
    idx, values = mesh_laplacian(len(v), f, 3.0)
    assert idx.shape == (2, len(values))  # Mitsuba's unsummed COO form


def test_seam_duplicates_are_welded_and_stay_equal(seamed, sphere):
    v, f, split = seamed
    ls = LargeSteps(v, f)
    assert ls.n_input_vertices == len(v) and ls.n_vertices == len(sphere[0])
    u = ls.to_differential(v)
    back = ls.from_differential(u)
    np.testing.assert_allclose(back, v, rtol=1e-10, atol=1e-12)
    # Any u gives a mesh whose seam copies coincide with their originals.
    moved = ls.from_differential(u + np.random.default_rng(1).normal(size=u.shape))
    np.testing.assert_array_equal(moved[len(sphere[0]):], moved[split])
    # The welded mesh is the sphere's: same matrix.
    np.testing.assert_array_equal(ls.matrix.toarray(), LargeSteps(*sphere).matrix.toarray())


@pytest.mark.parametrize("mesh", ["sphere", "seamed"])
def test_gradient_is_the_transpose_of_from_differential(mesh, request):
    v, f = request.getfixturevalue(mesh)[:2]
    ls = LargeSteps(v, f, lambda_=10.0)
    rng = np.random.default_rng(0)
    g = rng.normal(size=(len(v), 3))
    du = rng.normal(size=(ls.n_vertices, 3))
    # from_differential is linear, so J du = from_differential(du).
    lhs = np.sum(g * ls.from_differential(du))
    rhs = np.sum(ls.gradient_to_differential(g) * du)
    assert lhs == pytest.approx(rhs, rel=1e-10)


def test_lambda_zero_is_the_identity(sphere):
    v, f = sphere
    ls = LargeSteps(v, f, lambda_=0)
    np.testing.assert_array_equal(ls.matrix.toarray(), np.eye(len(v)))
    # Up to the welded numbering (u row k is vertex index[k]), nothing changes.
    np.testing.assert_array_equal(ls.to_differential(v), v[ls.index])
    np.testing.assert_array_equal(ls.from_differential(v[ls.index]), v)
    np.testing.assert_array_equal(ls.gradient_to_differential(v), v[ls.index])


def test_flat_arrays_and_float32_are_accepted(sphere):
    v, f = sphere
    ls = LargeSteps(v.astype(np.float32), f.astype(np.int32))
    u = ls.to_differential(v.reshape(-1))
    np.testing.assert_allclose(ls.from_differential(u.reshape(-1)), v, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("vertices, faces, lambda_, match", [
    (np.zeros((4, 2)), [[0, 1, 2]], 19.0, r"vertices must be a non-empty \(V, 3\)"),
    (np.zeros((0, 3)), np.zeros((0, 3), int), 19.0, "vertices must be"),
    (np.eye(3), [[0, 1]], 19.0, r"faces must be an \(F, 3\) array of integers"),
    (np.eye(3), [[0.0, 1.0, 2.0]], 19.0, "faces must be"),
    (np.eye(3), [[0, 1, 3]], 19.0, r"face indices must lie in \[0, 3\)"),
    (np.eye(3), [[0, -1, 2]], 19.0, "face indices"),
    (np.array([[0, 0, np.nan], [1, 0, 0], [0, 1, 0]]), [[0, 1, 2]], 19.0, "not finite"),
    (np.eye(3), [[0, 1, 2]], -1.0, "lambda_ must be a finite number >= 0"),
    (np.eye(3), [[0, 1, 2]], float("inf"), "lambda_"),
])
def test_bad_input_is_a_one_line_error(vertices, faces, lambda_, match):
    with pytest.raises(InvrenderError, match=match) as err:
        LargeSteps(vertices, faces, lambda_)
    assert "\n" not in str(err.value)


def test_wrong_shape_for_a_map_is_an_error(sphere):
    ls = LargeSteps(*sphere)
    with pytest.raises(InvrenderError, match=r"u must have shape \(162, 3\)"):
        ls.from_differential(np.zeros((10, 3)))
    with pytest.raises(InvrenderError, match="grad_v must have shape"):
        ls.gradient_to_differential(np.zeros((162, 2)))


def test_name_prefixes_the_message():
    with pytest.raises(InvrenderError, match="^bunny: face indices"):
        LargeSteps(np.eye(3), [[0, 1, 5]], name="bunny")
