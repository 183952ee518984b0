"""Derivatives of the Cornell box against Mitsuba 3's ``prb`` (``../shared/reference``).

- Forward mode: d image / d ``green.reflectance.value`` (direction (1, 1, 1)) against
  ``cbox_grad_green_ref.exr`` by the reference README's image test (K = 16 runs).
- Reverse mode: dL/d ``red.reflectance.value`` and dL/d ``light.emitter.radiance.value``
  of L = mean((I - I_ref)^2) at red = (0.9, 0.9, 0.9) against ``cbox_grads.json``: each
  channel within 3 combined standard errors, ours estimated from independent runs.
"""

import json

import numpy as np
import pytest

import invrender
from invrender.compare import compare, mean_and_stderr
from invrender.image_io import read_exr
from tests.conftest import SCENES

pytestmark = pytest.mark.slow


def test_green_derivative_image_matches_mitsuba(reference_dir):
    scene = invrender.load_scene(SCENES / "cbox.xml", max_depth=3)
    runs = np.stack([invrender.grad_image(scene, "green.reflectance.value", spp=32,
                                          seed=900 + k) for k in range(16)])
    mine, mine_se = mean_and_stderr(runs)
    ref = read_exr(reference_dir / "cbox_grad_green_ref.exr")
    ref_se = read_exr(reference_dir / "cbox_grad_green_ref_stderr.exr")
    result = compare(mine, mine_se, ref, ref_se)
    assert result.passed(), str(result)


def test_reverse_mode_gradients_match_mitsuba(reference_dir):
    data = json.loads((reference_dir / "cbox_grads.json").read_text())
    scene = invrender.load_scene(SCENES / "cbox.xml", max_depth=3)
    invrender.ParameterMap(scene)["red.reflectance.value"] = [0.9, 0.9, 0.9]
    target = read_exr(reference_dir / "cbox_ref.exr")
    names = ["red.reflectance.value", "light.emitter.radiance.value"]
    runs = [invrender.render_grad(scene, names, loss="mse", target=target, spp=64, seed=50 + r)
            for r in range(10)]
    for name in names:
        g = np.stack([r.grads[name] for r in runs])
        mean, se = g.mean(0), g.std(0, ddof=1) / np.sqrt(len(g))
        ref = reference_value(data, name)
        z = (mean - ref["value"]) / np.sqrt(se**2 + ref["stderr"] ** 2)
        assert np.all(np.abs(z) < 3), (name, mean, ref, z)


def reference_value(data: dict, name: str) -> dict:
    rev = data["reverse_mode"]
    return {"value": np.array(rev[f"dL/d{name}"]), "stderr": np.array(rev[f"dL/d{name}_stderr"])}
