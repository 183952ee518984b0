"""What a sensor plugin provides: rays from film points (a Taichi function), its settings
packed into the sensor's floats, and the host-side projection the silhouette term needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class SensorPlugin:
    name: str
    generate_ray: Callable  # ti.func (g, s, fx, fy) -> (origin, unit direction, tmin)
    pack: Callable  # (Sensor) -> np.ndarray of at most state.FILTER_FLOATS floats
    projection: Callable  # (Sensor) -> an object with origin, near, to_camera, film, jacobian
    write_xml: Callable  # (Sensor) -> list[str]: the <sensor> opening and its properties
    parse: Callable  # (SceneBuilder, Props, Sensor) -> the property names it read
