"""Shared fixtures: the CPU backend, the bundled scenes and the Mitsuba reference data."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
REFERENCE = ROOT.parent / "shared" / "reference"
# CI has no GPU, so the suite runs on the CPU backend; INVRENDER_TEST_ARCH=cuda runs the
# same tests on a GPU.
TEST_ARCH = os.environ.get("INVRENDER_TEST_ARCH", "cpu")


@pytest.fixture
def f64(taichi_runtime):
    """Double precision for finite differences (``taichi_runtime`` starts it for the tests
    that ask for this fixture)."""
    return taichi_runtime


@pytest.fixture(scope="session")
def test_arch() -> str:
    return TEST_ARCH


@pytest.fixture(autouse=True)
def taichi_runtime(request):
    """Every test starts on Taichi's real backend (CPU unless INVRENDER_TEST_ARCH says) in
    float32, or float64 if it asks for ``f64``; a test that switched precision or debug mode
    does not leak it to the next. Consecutive tests of one precision keep the runtime and
    its compiled kernels (a restart costs seconds even from the offline cache)."""
    from invrender import runtime

    precision = "f64" if "f64" in request.fixturenames else "f32"
    return runtime.init(TEST_ARCH, precision=precision)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
