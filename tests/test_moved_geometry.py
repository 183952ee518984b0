"""A mesh moved through the parameter map renders exactly like the same mesh loaded fresh.

Moving geometry rebuilds the BVH on the host, and its node count changes with the
positions. Kernels compiled before the move must see the new tree (issue 11: they kept
reading the fields they were compiled against when those were re-allocated). Each sweep
below walks one parameter through values whose BVHs have different node counts, on one
scene, and compares render, grad_image and render_grad bit for bit with a scene loaded
fresh and set to the same value.
"""

import numpy as np
import pytest

import invrender
from invrender.geometry.bvh import build_bvh
from tests.conftest import SCENES

RES = 16
SPP = 2
DEPTH = 2
MESH = "smallbox"
# (parameter, values in sweep order); node counts of the whole cbox BVH (23 as loaded)
SWEEPS = [
    ("translate", [(0.1, 0.0, 0.05), (0.0, 0.0, 0.0), (0.2, 0.0, 0.0)]),  # 21, 23, 21
    ("rotate", [(30.0, 135.0, 0.0), (60.0, 90.0, 0.0), (60.0, 45.0, 0.0)]),  # 25, 19, 21
    ("scale", [(2.0, 2.0, 2.0), (1.2, 1.2, 1.2), (0.8, 0.8, 0.8)]),  # 19, 21, 23
    ("vertex_positions", [(0.3, 0.0, 0.2), (-0.1, 0.0, 0.0)]),  # offsets: 21, 23
]


def load():
    return invrender.load_scene(SCENES / "cbox.xml", res=RES, max_depth=DEPTH)


def set_value(scene, kind, value):
    pmap = invrender.ParameterMap(scene)
    name = f"{MESH}.{kind}"
    if kind == "vertex_positions":  # an offset from the loaded positions
        start = invrender.load_scene(SCENES / "cbox.xml", res=RES).meshes
        base = next(m for m in start if m.id == MESH).vertices
        pmap[name] = base + np.asarray(value)
    else:
        pmap[name] = value
    return name


def node_count(scene) -> int:
    offsets = np.cumsum([0] + [len(m.vertices) for m in scene.meshes])
    faces = np.concatenate([m.faces + o for m, o in zip(scene.meshes, offsets, strict=False)])
    return len(build_bvh(np.concatenate([m.vertices for m in scene.meshes]), faces).skip)


def outputs(scene, name, target):
    image = invrender.render(scene, spp=SPP, seed=3)
    d_image = invrender.grad_image(scene, name, direction=[1.0, 0.5, -0.25] if
                                   name.endswith(("translate", "rotate", "scale")) else None,
                                   spp=SPP, seed=4)
    result = invrender.render_grad(scene, [name, "red.reflectance.value"], target=target,
                                   spp=SPP, seed=5)
    return image, d_image, result


@pytest.mark.parametrize("kind, values", SWEEPS, ids=[s[0] for s in SWEEPS])
def test_moved_mesh_renders_like_a_fresh_load(kind, values):
    moved = load()
    target = invrender.render(moved, spp=SPP, seed=1)  # compiles against the loaded BVH
    counts = [node_count(moved)]
    for value in values:
        name = set_value(moved, kind, value)
        counts.append(node_count(moved))
        fresh = load()
        set_value(fresh, kind, value)
        image, d_image, result = outputs(moved, name, target)
        image_f, d_image_f, result_f = outputs(fresh, name, target)
        np.testing.assert_array_equal(image, image_f, err_msg=f"render at {value}")
        np.testing.assert_array_equal(d_image, d_image_f, err_msg=f"grad_image at {value}")
        np.testing.assert_array_equal(result.image, result_f.image)
        assert result.loss == result_f.loss
        for n in result.grads:
            np.testing.assert_array_equal(result.grads[n], result_f.grads[n],
                                          err_msg=f"{n} at {value}")
        assert np.abs(d_image).max() > 0  # the derivative sees the mesh at all
    # the sweep must cross node-count changes, or it tests nothing
    changes = sum(a != b for a, b in zip(counts, counts[1:], strict=False))
    assert changes >= len(values) - 1, counts
