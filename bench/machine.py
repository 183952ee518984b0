"""The machine a benchmark ran on, for its report (standard library only: the scripts that
run in Mitsuba's side venv import it too)."""

import os
import platform
import resource
import subprocess
from pathlib import Path


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_model() -> dict:
    info = {"processor": platform.processor(), "cores": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["model_name"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "Vendor ID", "CPU family", "Model", "CPU(s)",
                               "Hypervisor vendor"):
                info["lscpu " + key.strip()] = value.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info
