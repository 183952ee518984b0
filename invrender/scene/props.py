"""Typed properties of one plugin element: numbers, colours, transforms and nested objects,
each read by name and checked, so that a property nobody asked for is an error, not a
silent no-op (pbrt-v4's ``paramdict.cpp`` does the same). No Taichi here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from invrender.errors import SceneError
from invrender.scene import spectra
from invrender.scene.xml import Element, check_attributes, required_attr

PROPERTY_TAGS = ("rgb", "spectrum", "blackbody", "float", "integer", "string", "boolean",
                 "point", "vector", "transform")
OBJECT_TAGS = ("integrator", "sensor", "sampler", "film", "rfilter", "bsdf", "texture",
               "emitter", "shape", "ref")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")


# --- values -----------------------------------------------------------------------------------


def number(text: str, element: Element, path: Path) -> float:
    """A decimal number, strictly: no 'nan', 'inf' or '1_0' that Python's float() accepts."""
    text = text.strip()
    if not _FLOAT.fullmatch(text):
        raise SceneError(f"cannot parse '{text}' as a number in {element.describe()}",
                         file=path, line=element.line)
    return float(text)


def numbers(text: str, counts: Iterable[int], element: Element, path: Path) -> np.ndarray:
    """Comma and/or space separated numbers; their count must be one of ``counts``."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    counts = tuple(counts)
    if len(parts) not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise SceneError(f"expected {wanted} numbers in {element.describe()}, got "
                         f"{len(parts)} ('{text}')", file=path, line=element.line)
    return np.array([number(p, element, path) for p in parts], np.float64)


def vector3(element: Element, path: Path, default: float = 0.0,
             keys: tuple[str, ...] = ("value", "x", "y", "z")) -> np.ndarray:
    """Three numbers from ``value="a, b, c"`` or from x/y/z attributes (missing ones default)."""
    check_attributes(element, keys, path)
    if "value" in element.attrs:
        if any(k in element.attrs for k in "xyz"):
            raise SceneError(f"{element.describe()} has both 'value' and x/y/z", file=path,
                             line=element.line)
        return numbers(element.attrs["value"], (3,), element, path)
    return np.array([number(element.attrs[k], element, path) if k in element.attrs else default
                     for k in "xyz"], np.float64)


def _unit(vector: np.ndarray, what: str, element: Element, path: Path) -> np.ndarray:
    length = float(np.linalg.norm(vector))
    if length == 0.0 or not math.isfinite(length):
        raise SceneError(f"{what} in {element.describe()} has zero length", file=path,
                         line=element.line)
    return vector / length


# --- transforms -------------------------------------------------------------------------------


def _translate(element: Element, path: Path) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = vector3(element, path)
    return matrix


def _rotate(element: Element, path: Path) -> np.ndarray:
    """Rotation by ``angle`` degrees about the normalized axis (right-handed, as Mitsuba)."""
    angle = math.radians(number(required_attr(element, "angle", path), element, path))
    axis = vector3(element, path, keys=("value", "x", "y", "z", "angle"))
    x, y, z = _unit(axis, "rotation axis", element, path)
    c, s = math.cos(angle), math.sin(angle)
    matrix = np.eye(4)
    matrix[:3, :3] = [  # Rodrigues' formula
        [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
        [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
        [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
    ]
    return matrix


def _scale(element: Element, path: Path) -> np.ndarray:
    """``value`` is one number (uniform) or three; x/y/z default to 1."""
    check_attributes(element, ("value", "x", "y", "z"), path)
    if "value" in element.attrs:
        factors = numbers(element.attrs["value"], (1, 3), element, path) * np.ones(3)
    else:
        factors = vector3(element, path, default=1.0)
    return np.diag([*factors, 1.0])


def _matrix(element: Element, path: Path) -> np.ndarray:
    """16 numbers row-major (a full 4x4) or 9 (a 3x3 linear part)."""
    check_attributes(element, ("value",), path)
    values = numbers(required_attr(element, "value", path), (16, 9), element, path)
    if len(values) == 16:
        return values.reshape(4, 4)
    matrix = np.eye(4)
    matrix[:3, :3] = values.reshape(3, 3)
    return matrix


def look_at_matrix(origin: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Mitsuba's look-at: columns (left, up, dir, origin), left = up x dir. Without ``up``
    (a zero one) Mitsuba takes the first vector of its ``coordinate_system``. A zero
    direction raises ValueError whose message names it ("up", "target - origin", ...)."""
    direction = _unit_or_raise(target - origin, "target - origin")
    if not np.any(up):
        x, y, z = direction
        sign = 1.0 if z >= 0.0 else -1.0
        a = -1.0 / (sign + z)
        up = np.array([sign * x * x * a + 1.0, sign * x * y * a, -sign * x])
    left = _unit_or_raise(np.cross(_unit_or_raise(up, "up"), direction),
                          "up x (target - origin)")
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = left, np.cross(direction, left), direction
    matrix[:3, 3] = origin
    return matrix


def _unit_or_raise(v: np.ndarray, what: str) -> np.ndarray:
    n = float(np.linalg.norm(v))
    if not n > 0 or not np.isfinite(n):
        raise ValueError(what)
    return v / n


def _lookat(element: Element, path: Path) -> np.ndarray:
    check_attributes(element, ("origin", "target", "up"), path)
    origin, target = (numbers(required_attr(element, key, path), (3,), element, path)
                      for key in ("origin", "target"))
    up = (numbers(element.attrs["up"], (3,), element, path) if "up" in element.attrs
          else np.zeros(3))
    try:
        return look_at_matrix(origin, target, up)
    except ValueError as exc:
        raise SceneError(f"{exc} in {element.describe()} has zero length", file=path,
                         line=element.line) from None


_TRANSFORM_OPS: dict[str, Callable[[Element, Path], np.ndarray]] = {
    "translate": _translate, "rotate": _rotate, "scale": _scale, "matrix": _matrix,
    "lookat": _lookat,
}


def transform(element: Element, path: Path) -> np.ndarray:
    """Compose the steps in document order: each new one left-multiplies (M = T_new @ M)."""
    matrix = np.eye(4)
    for step in element.children:
        if step.tag not in _TRANSFORM_OPS:
            raise SceneError(f"unsupported element <{step.tag}> in <transform>", file=path,
                             line=step.line, hint="supported: " + ", ".join(_TRANSFORM_OPS))
        matrix = _TRANSFORM_OPS[step.tag](step, path) @ matrix
    return matrix


# --- properties of one plugin -----------------------------------------------------------------

_MISSING = object()
REQUIRED = _MISSING  # a default that makes a property required


class Props:
    """The children of one plugin element, taken by name so that leftovers can be reported.

    Named children (``<float name="fov">``, ``<texture name="reflectance">``) are properties;
    unnamed nested objects (``<bsdf>``, ``<ref>``, ``<sampler>``) are taken by tag.
    ``emitter``: the properties are an emitter's, whose ``<spectrum>`` values Mitsuba reads as
    illuminants (``spectra.py``); ``resolver`` finds a spectrum file (default: beside ``path``).
    """

    def __init__(self, owner: Element, path: Path, emitter: bool = False,
                 resolver: Callable[[str, Element], Path] | None = None):
        self.owner, self.path = owner, path
        self.emitter, self.resolver = emitter, resolver
        self.named: dict[str, Element] = {}
        self.objects: list[Element] = []
        self.used: set[int] = set()
        for child in owner.children:
            self._add(child)

    def _add(self, child: Element) -> None:
        if child.tag not in PROPERTY_TAGS + OBJECT_TAGS:
            raise SceneError(f"unsupported element <{child.tag}> in {self.owner.describe()}",
                             file=self.path, line=child.line,
                             hint="supported: " + ", ".join(PROPERTY_TAGS + OBJECT_TAGS))
        name = child.attrs.get("name")
        if name is None and child.tag in PROPERTY_TAGS:
            raise SceneError(f"<{child.tag}> needs a 'name' attribute", file=self.path,
                             line=child.line)
        if name is None:
            self.objects.append(child)
        elif name in self.named:
            raise SceneError(f"property '{name}' given twice in {self.owner.describe()} "
                             f"(first at line {self.named[name].line})", file=self.path,
                             line=child.line)
        else:
            self.named[name] = child

    def error(self, element: Element, message: str, hint: str | None = None) -> SceneError:
        return SceneError(message, file=self.path, line=element.line, hint=hint)

    def take(self, name: str, tags: tuple[str, ...]) -> Element | None:
        """The property ``name`` if present, checked to be one of ``tags``."""
        element = self.named.get(name)
        if element is None:
            return None
        self.used.add(id(element))
        if element.tag not in tags:
            raise self.error(element, f"property '{name}' of {self.owner.describe()} must be "
                             f"{' or '.join(tags)}, not <{element.tag}>")
        return element

    def value(self, name: str, tags: tuple[str, ...]) -> tuple[Element, str] | None:
        element = self.take(name, tags)
        if element is None:
            return None
        check_attributes(element, ("name", "value"), self.path)
        return element, required_attr(element, "value", self.path)

    def float(self, name: str, default=_MISSING) -> float:
        found = self.value(name, ("float", "integer"))
        if found is None:
            return self._default(name, "float", default)
        return number(found[1], found[0], self.path)

    def integer(self, name: str, default=_MISSING, minimum: int | None = None) -> int:
        found = self.value(name, ("integer",))
        if found is None:
            return self._default(name, "integer", default)
        element, text = found
        if not _INTEGER.fullmatch(text.strip()):
            raise self.error(element, f"cannot parse '{text}' as an integer in "
                             f"{element.describe()}")
        number = int(text)
        if minimum is not None and number < minimum:
            raise self.error(element, f"{element.describe()} must be at least {minimum}, "
                             f"got {number}")
        return number

    def string(self, name: str, default=_MISSING, choices: tuple[str, ...] | None = None) -> str:
        found = self.value(name, ("string",))
        if found is None:
            return self._default(name, "string", default)
        element, text = found
        if choices is not None and text not in choices:
            raise self.error(element, f"{element.describe()} cannot be '{text}'",
                             hint="choose " + ", ".join(choices))
        return text

    def boolean(self, name: str, default=_MISSING) -> bool:
        found = self.value(name, ("boolean",))
        if found is None:
            return self._default(name, "boolean", default)
        element, text = found
        if text.strip().lower() not in ("true", "false"):
            raise self.error(element, f"cannot parse '{text}' as a boolean in "
                             f"{element.describe()}", hint="use true or false")
        return text.strip().lower() == "true"

    def color(self, name: str, default=_MISSING) -> np.ndarray:
        """An RGB triple from ``<rgb>`` (1 or 3 numbers), a grey ``<float>``, or a
        ``<spectrum>``/``<blackbody>`` turned into RGB as Mitsuba's RGB variants do."""
        element = self.take(name, ("rgb", "float", "spectrum", "blackbody"))
        if element is None:
            return np.full(3, self._default(name, "rgb", default), np.float64)
        if element.tag in ("spectrum", "blackbody"):
            return spectra.element_rgb(element, self.path, self.emitter, self.resolver)
        check_attributes(element, ("name", "value"), self.path)
        text = required_attr(element, "value", self.path)
        return numbers(text, (1, 3), element, self.path) * np.ones(3)

    def point(self, name: str, default=_MISSING) -> np.ndarray:
        element = self.take(name, ("point", "vector"))
        if element is None:
            return np.asarray(self._default(name, "point", default), np.float64)
        return vector3(element, self.path, keys=("name", "value", "x", "y", "z"))

    def transform(self, name: str = "to_world") -> np.ndarray:
        element = self.take(name, ("transform",))
        if element is None:
            return np.eye(4)
        check_attributes(element, ("name",), self.path)
        return transform(element, self.path)

    def take_objects(self, tag: str) -> list[Element]:
        """The nested objects with this tag, in document order: unnamed ones, and named
        ones not taken as a property (Mitsuba finds a shape's BSDF, a sensor's film, by
        type whatever its name: ``<ref name="bsdf" id=..>``, ``<rfilter name="filter">``)."""
        named = [o for o in self.named.values()
                 if o.tag == tag and o.tag in OBJECT_TAGS and id(o) not in self.used]
        found = sorted([o for o in self.objects if o.tag == tag] + named,
                       key=lambda o: o.line)
        self.used.update(id(o) for o in found)
        return found

    def take_one(self, tag: str) -> Element | None:
        found = self.take_objects(tag)
        if len(found) > 1:
            raise self.error(found[1], f"more than one <{tag}> in {self.owner.describe()}")
        return found[0] if found else None

    def _default(self, name: str, kind: str, default):
        if default is _MISSING:
            raise self.error(self.owner, f"{self.owner.describe()} needs a <{kind} "
                             f'name="{name}"> property')
        return default

    def finish(self, supported: Iterable[str], ignored: Iterable[str] = ()) -> None:
        """Fail on any child that no one read: an unknown property or a misplaced object."""
        for name, element in self.named.items():
            if id(element) not in self.used and name not in ignored:
                raise self.error(element, f"unsupported property '{name}' of "
                                 f"{self.owner.describe()}",
                                 hint="supported: " + (", ".join(supported) or "none"))
        for element in self.objects:
            if id(element) not in self.used:
                raise self.error(element, f"unexpected {element.describe()} inside "
                                 f"{self.owner.describe()}")

