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
def f64(test_arch):
    """Double precision for finite differences; the autouse fixture above goes back to
    float32 before the next test."""
    from invrender import runtime

    return runtime.init(test_arch, precision="f64")


@pytest.fixture(scope="session")
def test_arch() -> str:
    return TEST_ARCH


@pytest.fixture(autouse=True)
def taichi_runtime():
    """Every test starts on Taichi's real backend (CPU unless INVRENDER_TEST_ARCH says) in
    float32; a test that switched precision or debug mode does not leak it to the next."""
    from invrender import runtime

    return runtime.init(TEST_ARCH)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
