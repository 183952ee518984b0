"""Shared fixtures: the CPU backend, the bundled scenes and the Mitsuba reference data."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session", autouse=True)
def taichi_cpu():
    """Every test runs on Taichi's real CPU backend (the CI machine has no GPU)."""
    from invrender import runtime

    return runtime.init("cpu")


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE
