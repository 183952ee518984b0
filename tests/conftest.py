"""Shared fixtures: the CPU backend, the bundled scenes and the Mitsuba reference data."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(autouse=True)
def taichi_cpu():
    """Every test starts on Taichi's real CPU backend in float32 (the CI machine has no
    GPU); a test that switched precision or debug mode does not leak it to the next."""
    from invrender import runtime

    return runtime.init("cpu")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
