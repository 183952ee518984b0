"""The views of a multi-view recipe: which sensor renders each, and what it is compared with.

A view is a sensor of the scene or one the recipe adds (``look_at``, a golden-ratio
``spiral``, a file of camera ``poses``). Added sensors are copies of the scene's first
sensor (film, filter, spp, clip planes) with their own pose, and the fields a view gives.
Each view renders with its own seed, ``seed + VIEW_SEED_STRIDE * k``, so view 0 of a
recipe draws the same samples as the recipe's single view did, and the batch of views of
an iteration is a function of (seed, iteration): a resumed run draws the same batches.
Plain Python and numpy: no Taichi here.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invrender.errors import InvrenderError
from invrender.geometry.edges import weld
from invrender.geometry.remesh import manifold_problems
from invrender.scene.description import Scene, Sensor
from invrender.scene.props import look_at_matrix

VIEW_SEED_STRIDE = 1_000_003  # a prime: views' seeds never meet over a run's iterations


@dataclass
class View:
    """One view: its sensor's index in ``scene.sensors``, its target image file (None:
    rendered) and where the recipe declared it (a key path, for error messages)."""

    name: str
    sensor: int
    image: Path | None
    loc: tuple


def spiral_origins(count: int, distance: float, target=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Mitsuba's shape-optimisation tutorial's cameras: a golden-ratio spiral on a sphere."""
    golden = (1 + 5 ** 0.5) / 2
    i = np.arange(count)
    theta = 2 * math.pi * i / golden
    phi = np.arccos(1 - 2 * (i + 0.5) / count)
    return np.asarray(target, np.float64) + distance * np.stack(
        [np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)


def read_poses(path: Path) -> list[dict]:
    """Camera poses from a JSON list of {origin, target, up} or {to_world: 4x4 rows},
    each optionally with fov: a clear error naming the entry otherwise."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvrenderError("camera poses file not found", file=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvrenderError(f"cannot read camera poses: {exc}", file=where) from None
    except json.JSONDecodeError as exc:
        raise InvrenderError(f"invalid JSON: {exc.msg}", file=where, line=exc.lineno) from None
    if not isinstance(data, list) or not data:
        raise InvrenderError("camera poses must be a non-empty JSON list", file=where,
                             hint='e.g. [{"origin": [0, 0, 5], "target": [0, 0, 0], '
                                  '"up": [0, 1, 0]}]')
    poses = []
    for k, entry in enumerate(data):
        try:
            if not isinstance(entry, dict):
                raise ValueError("is not an object")
            unknown = set(entry) - {"origin", "target", "up", "to_world", "fov"}
            if unknown:
                raise ValueError(f"has unknown keys {sorted(unknown)}")
            if "to_world" in entry:
                matrix = np.asarray(entry["to_world"], np.float64)
                if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
                    raise ValueError("to_world must be 4 rows of 4 finite numbers")
            else:
                points = [np.asarray(entry.get(key, default), np.float64) for key, default
                          in (("origin", None), ("target", (0, 0, 0)), ("up", (0, 1, 0)))]
                if any(p.shape != (3,) or not np.all(np.isfinite(p)) for p in points):
                    raise ValueError("needs origin (and optional target, up) of 3 numbers")
                matrix = look_at_matrix(*points)
            fov = entry.get("fov")
            if fov is not None and not (isinstance(fov, (int, float)) and 0 < fov < 180):
                raise ValueError("fov must be a number of degrees in (0, 180)")
        except (ValueError, TypeError) as exc:
            raise InvrenderError(f"pose {k} {exc}", file=where,
                                 hint="each pose is {origin, target, up} or {to_world}") \
                from None
        poses.append({"to_world": matrix, "fov": fov})
    return poses


def _added_sensor(template: Sensor, name: str, to_world: np.ndarray, spec,
                  fov: float | None = None) -> Sensor:
    sensor = copy.deepcopy(template)
    if sensor.type != "perspective":  # a pinhole of the template's film: no lens settings
        sensor.type, sensor.settings = "perspective", {}
    sensor.to_world, sensor.id = to_world, name
    for value, attr in ((spec.fov if fov is None else fov, "fov"), (spec.spp, "spp")):
        if value is not None:
            setattr(sensor, attr, value)
    size = spec.size()
    if size is not None:
        sensor.width, sensor.height = size
    return sensor


def add_views(scene: Scene, specs, where: tuple = ("views",)) -> list[View]:
    """The views of ``specs`` (the recipe's ``views``), appending added sensors to
    ``scene.sensors``. Errors name the view's key path (``InvrenderError.loc``)."""
    if not specs:
        return [View("view 0", 0, None, ())]
    template = scene.sensor(0)
    views: list[View] = []
    for i, spec in enumerate(specs):
        loc = (*where, i)
        family: list[tuple[str, np.ndarray, float | None]] = []
        if spec.sensor is not None:
            index = _sensor_index(scene, spec.sensor, loc)
            views.append(View(f"sensor {scene.sensors[index].id}", index, spec.image, loc))
            continue
        if spec.look_at is not None:
            la = spec.look_at
            family.append((f"view_{i}", _look_at(la.origin, la.target, la.up, loc), None))
        elif spec.spiral is not None:
            sp = spec.spiral
            for k, origin in enumerate(spiral_origins(sp.count, sp.distance, sp.target)):
                family.append((f"view_{i}_{k}", _look_at(origin, sp.target, sp.up, loc), None))
        else:
            for k, pose in enumerate(read_poses(spec.poses)):
                family.append((f"view_{i}_{k}", pose["to_world"], pose["fov"]))
        for k, (name, to_world, fov) in enumerate(family):
            scene.sensors.append(_added_sensor(template, name, to_world, spec, fov))
            image = spec.image
            if image is not None and len(family) > 1:
                image = Path(str(image).replace("{index}", str(k)))
            views.append(View(name, len(scene.sensors) - 1, image, loc))
    return views


def _look_at(origin, target, up, loc) -> np.ndarray:
    try:
        return look_at_matrix(np.asarray(origin, np.float64), np.asarray(target, np.float64),
                              np.asarray(up, np.float64))
    except ValueError as exc:
        raise _at(loc, f"look_at: {exc} has zero length",
                  "move the camera off its target, or give another up") from None


def _sensor_index(scene: Scene, key: int | str, loc) -> int:
    if isinstance(key, int):
        if not 0 <= key < len(scene.sensors):
            raise _at(loc, f"the scene has {len(scene.sensors)} sensor(s), no sensor {key}",
                      f"use 0 to {len(scene.sensors) - 1}" if len(scene.sensors) > 1 else "use 0")
        return key
    ids = [s.id for s in scene.sensors]
    if key not in ids:
        raise _at(loc, f"the scene has no sensor '{key}'", "sensors: " + ", ".join(ids))
    return ids.index(key)


def _at(loc: tuple, message: str, hint: str | None = None) -> InvrenderError:
    err = InvrenderError(message, hint=hint)
    err.loc = loc
    return err


def view_seed(seed: int, k: int) -> int:
    return seed + VIEW_SEED_STRIDE * k


def batch(n_views: int, per_iteration: int | None, seed: int, iteration: int) -> list[int]:
    """The views rendered at ``iteration``: all, or a random subset (sorted) of the given
    size, a function of (seed, iteration) alone."""
    if per_iteration is None or per_iteration >= n_views:
        return list(range(n_views))
    rng = np.random.default_rng([seed, iteration, 0x71E])
    return sorted(rng.choice(n_views, per_iteration, replace=False).tolist())


def cameras_inside(origins: np.ndarray, vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Which of the points (K, 3) lie inside a closed mesh (ray parity; an open mesh has no
    inside): (K,) bools."""
    origins = np.asarray(origins, np.float64).reshape(-1, 3)
    welded, welded_faces, _, _ = weld(vertices, faces)
    if manifold_problems(welded_faces):
        return np.zeros(len(origins), bool)
    tri = welded[welded_faces]
    direction = np.array([0.5773502691896258, 0.5780, 0.5766951])  # off every axis
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-14
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    inside = np.zeros(len(origins), bool)
    for k, origin in enumerate(origins):
        s = origin - tri[:, 0]
        u = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, e1)
        v = (q @ direction) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        hits = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        inside[k] = bool(hits.sum() % 2)
    return inside
