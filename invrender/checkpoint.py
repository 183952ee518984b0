"""Checkpoints of an optimisation run, written atomically so that a kill never leaves a
half-written one: parameter values, optimizer moments, the iteration, the count of bad
steps, how many log lines belong to the state (the log is truncated to that on resume),
and the meshes remeshed so far (vertices and faces, from which their state is rebuilt).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from invrender.errors import InvrenderError
from invrender.optim import flatten_state, unflatten_state

FILE = "checkpoint.npz"


@dataclass
class Checkpoint:
    iteration: int  # iterations completed
    values: dict[str, np.ndarray]
    optimizer: dict
    log_lines: int
    bad_steps: int = 0
    meshes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _atomic_write_bytes(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(run_dir: Path, ckpt: Checkpoint) -> Path:
    path = Path(run_dir) / FILE
    arrays = {f"value/{k}": np.asarray(v, np.float64) for k, v in ckpt.values.items()}
    arrays.update({f"optim/{k}": v for k, v in flatten_state(ckpt.optimizer).items()})
    for name, (vertices, faces) in ckpt.meshes.items():
        arrays[f"mesh/{name}/vertices"] = np.asarray(vertices, np.float64)
        arrays[f"mesh/{name}/faces"] = np.asarray(faces, np.int64)
    meta = {"iteration": ckpt.iteration, "log_lines": ckpt.log_lines,
            "bad_steps": ckpt.bad_steps}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    _atomic_write_bytes(path, lambda f: np.savez(f, **arrays))
    return path


def load(run_dir: Path) -> Checkpoint:
    path = Path(run_dir) / FILE
    if not path.is_file():
        raise InvrenderError(f"no checkpoint to resume from in {run_dir}",
                             hint="run without --resume to start afresh")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            values = {k[len("value/"):]: data[k] for k in data.files if k.startswith("value/")}
            optim = unflatten_state({k[len("optim/"):]: data[k] for k in data.files
                                     if k.startswith("optim/")})
            meshes = {k[len("mesh/"):-len("/vertices")]: (data[k], data[k[:-len("vertices")]
                                                                        + "faces"])
                      for k in data.files if k.startswith("mesh/") and k.endswith("/vertices")}
    except (OSError, ValueError, KeyError) as exc:
        raise InvrenderError(f"checkpoint {path} is unreadable: {exc}",
                             hint="delete it and run without --resume") from exc
    return Checkpoint(meta["iteration"], values, optim, meta["log_lines"], meta["bad_steps"],
                      meshes)
