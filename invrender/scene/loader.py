"""Load a Mitsuba 3 XML scene (the subset of DESIGN.md §3) into a plain-Python ``Scene``.

Design, borrowed from Mitsuba's ``xml.cpp`` and pbrt-v4's ``paramdict.cpp``:

- expat parses the file into ``_Element`` nodes that keep their source line, so that every
  error, however late it is found, names ``file:line``.
- ``<default>`` and ``$name`` are resolved in document order before anything is built
  (keyword overrides win over defaults, as in ``mi.load_file(path, spp=4)``).
- Each plugin reads its properties through ``_Props``, which records what was read: a
  property nobody asked for is an error, not a silent no-op.
- Things are named as Mitsuba's ``traverse`` names them: objects without an id get
  ``_unnamed_N``; a BSDF declared inline in shape ``s`` without an id is ``s.bsdf``, so its
  parameter is ``s.bsdf.reflectance.value`` in both renderers; a shape without any BSDF gets
  Mitsuba's default, a 0.5 grey diffuse, under the same name.

Approximations, on purpose: a film without ``<rfilter>`` is treated as box filtered (Mitsuba
would use a Gaussian); ``sphere`` becomes a UV-sphere mesh (``geometry.mesh.uv_sphere``).
No Taichi here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

import numpy as np

from invrender.errors import SceneError
from invrender.geometry import mesh as meshes
from invrender.scene.description import (
    AreaEmitter,
    Bsdf,
    Camera,
    Environment,
    Mesh,
    Scene,
    Source,
    Texture,
)

PROPERTY_TAGS = ("rgb", "float", "integer", "string", "boolean", "point", "vector", "transform")
OBJECT_TAGS = ("integrator", "sensor", "sampler", "film", "rfilter", "bsdf", "texture",
               "emitter", "shape", "ref")
SCENE_CHILDREN = ("default", "integrator", "sensor", "bsdf", "shape", "emitter")
INTEGRATOR_TYPES = ("path", "prb", "path_replay")  # our variants render like Mitsuba's path
SHAPE_TYPES = ("obj", "ply", "rectangle", "cube", "sphere")
MESH_FILE_TYPES = ("obj", "ply")
SHAPE_PROPERTIES = {
    "obj": ("filename", "face_normals", "flip_tex_coords", "to_world"),
    "ply": ("filename", "face_normals", "flip_tex_coords", "to_world"),
    "rectangle": ("to_world",),
    "cube": ("to_world",),
    "sphere": ("center", "radius", "to_world"),
}
# Film settings that only concern how Mitsuba writes its output file.
IGNORED_FILM_PROPERTIES = ("pixel_format", "component_format", "file_format", "banner")
_MITSUBA_FILM_SIZE = (768, 576)  # hdrfilm's default width and height
_DEFAULT_REFLECTANCE = 0.5  # Mitsuba's diffuse default, also used for shapes without a BSDF

_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_SUBSTITUTION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def load_scene(path: str | Path, **overrides: object) -> Scene:
    """Load ``path`` with ``<default>`` values replaced by ``overrides`` (e.g. spp=4, res=64).

    Override values are converted with ``str()`` (booleans to ``true``/``false``). An override
    that no ``$name`` uses is ignored, as in Mitsuba. Raises ``SceneError`` naming file and line.
    """
    path = Path(path)
    root = _parse_xml(path)
    params = {name: _override_text(value) for name, value in overrides.items()}
    _substitute(root, params, path)
    return _SceneBuilder(path).build(root)


def _override_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


# --- XML with line numbers --------------------------------------------------------------------


@dataclass
class _Element:
    """One XML element and the line it starts on."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)

    def describe(self) -> str:
        """``<float name="fov">``-style label for messages."""
        keys = [k for k in ("type", "name", "id") if k in self.attrs]
        return "<" + " ".join([self.tag] + [f'{k}="{self.attrs[k]}"' for k in keys]) + ">"


def _parse_xml(path: Path) -> _Element:
    """Parse with expat so that each element records its line (ElementTree does not)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SceneError("scene file not found", file=path) from None
    except OSError as err:
        raise SceneError(f"cannot read scene file: {err.strerror}", file=path) from err
    parser = expat.ParserCreate()
    stack: list[_Element] = [_Element("#document", {}, 0)]

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise SceneError(f"malformed XML: {expat.ErrorString(err.code)}", file=path,
                         line=err.lineno) from None
    return stack[0].children[0]


# --- <default> and $name ----------------------------------------------------------------------


def _substitute(element: _Element, params: dict[str, str], path: Path) -> None:
    """Replace ``$name`` in attribute values, in document order, as Mitsuba does.

    A ``<default>`` defines its name from that point on unless an override already did.
    """
    for key, text in element.attrs.items():
        element.attrs[key] = _SUBSTITUTION.sub(lambda m: _lookup(m, params, element, path), text)
    if element.tag == "default":
        _check_attributes(element, ("name", "value"), path)
        name = _required_attr(element, "name", path)
        params.setdefault(name, _required_attr(element, "value", path))
    for child in element.children:
        _substitute(child, params, path)


def _lookup(match: re.Match, params: dict[str, str], element: _Element, path: Path) -> str:
    name = match.group(1)
    if name not in params:
        raise SceneError(f"undefined parameter '${name}' in {element.describe()}", file=path,
                         line=element.line,
                         hint=f'declare <default name="{name}" value="..."/> before its use '
                              f"or pass {name}=... to load_scene")
    return params[name]


def _check_attributes(element: _Element, allowed: Iterable[str], path: Path) -> None:
    for key in element.attrs:
        if key not in allowed:
            raise SceneError(f"unexpected attribute '{key}' on {element.describe()}", file=path,
                             line=element.line, hint="allowed: " + ", ".join(allowed))


def _required_attr(element: _Element, key: str, path: Path) -> str:
    if key not in element.attrs:
        raise SceneError(f"{element.describe()} needs a '{key}' attribute", file=path,
                         line=element.line)
    return element.attrs[key]


# --- values -----------------------------------------------------------------------------------


def _number(text: str, element: _Element, path: Path) -> float:
    """A decimal number, strictly: no 'nan', 'inf' or '1_0' that Python's float() accepts."""
    text = text.strip()
    if not _FLOAT.fullmatch(text):
        raise SceneError(f"cannot parse '{text}' as a number in {element.describe()}",
                         file=path, line=element.line)
    return float(text)


def _numbers(text: str, counts: Iterable[int], element: _Element, path: Path) -> np.ndarray:
    """Comma and/or space separated numbers; their count must be one of ``counts``."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    counts = tuple(counts)
    if len(parts) not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise SceneError(f"expected {wanted} numbers in {element.describe()}, got "
                         f"{len(parts)} ('{text}')", file=path, line=element.line)
    return np.array([_number(p, element, path) for p in parts], np.float64)


def _vector3(element: _Element, path: Path, default: float = 0.0,
             keys: tuple[str, ...] = ("value", "x", "y", "z")) -> np.ndarray:
    """Three numbers from ``value="a, b, c"`` or from x/y/z attributes (missing ones default)."""
    _check_attributes(element, keys, path)
    if "value" in element.attrs:
        if any(k in element.attrs for k in "xyz"):
            raise SceneError(f"{element.describe()} has both 'value' and x/y/z", file=path,
                             line=element.line)
        return _numbers(element.attrs["value"], (3,), element, path)
    return np.array([_number(element.attrs[k], element, path) if k in element.attrs else default
                     for k in "xyz"], np.float64)


def _unit(vector: np.ndarray, what: str, element: _Element, path: Path) -> np.ndarray:
    length = float(np.linalg.norm(vector))
    if length == 0.0 or not math.isfinite(length):
        raise SceneError(f"{what} in {element.describe()} has zero length", file=path,
                         line=element.line)
    return vector / length


# --- transforms -------------------------------------------------------------------------------


def _translate(element: _Element, path: Path) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = _vector3(element, path)
    return matrix


def _rotate(element: _Element, path: Path) -> np.ndarray:
    """Rotation by ``angle`` degrees about the normalized axis (right-handed, as Mitsuba)."""
    angle = math.radians(_number(_required_attr(element, "angle", path), element, path))
    axis = _vector3(element, path, keys=("value", "x", "y", "z", "angle"))
    x, y, z = _unit(axis, "rotation axis", element, path)
    c, s = math.cos(angle), math.sin(angle)
    matrix = np.eye(4)
    matrix[:3, :3] = [  # Rodrigues' formula
        [c + x * x * (1 - c), x * y * (1 - c) - z * s, x * z * (1 - c) + y * s],
        [y * x * (1 - c) + z * s, c + y * y * (1 - c), y * z * (1 - c) - x * s],
        [z * x * (1 - c) - y * s, z * y * (1 - c) + x * s, c + z * z * (1 - c)],
    ]
    return matrix


def _scale(element: _Element, path: Path) -> np.ndarray:
    """``value`` is one number (uniform) or three; x/y/z default to 1."""
    _check_attributes(element, ("value", "x", "y", "z"), path)
    if "value" in element.attrs:
        factors = _numbers(element.attrs["value"], (1, 3), element, path) * np.ones(3)
    else:
        factors = _vector3(element, path, default=1.0)
    return np.diag([*factors, 1.0])


def _matrix(element: _Element, path: Path) -> np.ndarray:
    """16 numbers row-major (a full 4x4) or 9 (a 3x3 linear part)."""
    _check_attributes(element, ("value",), path)
    values = _numbers(_required_attr(element, "value", path), (16, 9), element, path)
    if len(values) == 16:
        return values.reshape(4, 4)
    matrix = np.eye(4)
    matrix[:3, :3] = values.reshape(3, 3)
    return matrix


def _lookat(element: _Element, path: Path) -> np.ndarray:
    """Mitsuba's look-at: columns (left, up, dir, origin), left = up x dir."""
    _check_attributes(element, ("origin", "target", "up"), path)
    origin, target, up = (_numbers(_required_attr(element, key, path), (3,), element, path)
                          for key in ("origin", "target", "up"))
    direction = _unit(target - origin, "target - origin", element, path)
    left = _unit(np.cross(_unit(up, "up", element, path), direction),
                 "up x (target - origin)", element, path)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = left, np.cross(direction, left), direction
    matrix[:3, 3] = origin
    return matrix


_TRANSFORM_OPS: dict[str, Callable[[_Element, Path], np.ndarray]] = {
    "translate": _translate, "rotate": _rotate, "scale": _scale, "matrix": _matrix,
    "lookat": _lookat,
}


def _transform(element: _Element, path: Path) -> np.ndarray:
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


class _Props:
    """The children of one plugin element, taken by name so that leftovers can be reported.

    Named children (``<float name="fov">``, ``<texture name="reflectance">``) are properties;
    unnamed nested objects (``<bsdf>``, ``<ref>``, ``<sampler>``) are taken by tag.
    """

    def __init__(self, owner: _Element, path: Path):
        self.owner, self.path = owner, path
        self.named: dict[str, _Element] = {}
        self.objects: list[_Element] = []
        self.used: set[int] = set()
        for child in owner.children:
            self._add(child)

    def _add(self, child: _Element) -> None:
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

    def error(self, element: _Element, message: str, hint: str | None = None) -> SceneError:
        return SceneError(message, file=self.path, line=element.line, hint=hint)

    def take(self, name: str, tags: tuple[str, ...]) -> _Element | None:
        """The property ``name`` if present, checked to be one of ``tags``."""
        element = self.named.get(name)
        if element is None:
            return None
        self.used.add(id(element))
        if element.tag not in tags:
            raise self.error(element, f"property '{name}' of {self.owner.describe()} must be "
                             f"{' or '.join(tags)}, not <{element.tag}>")
        return element

    def value(self, name: str, tags: tuple[str, ...]) -> tuple[_Element, str] | None:
        element = self.take(name, tags)
        if element is None:
            return None
        _check_attributes(element, ("name", "value"), self.path)
        return element, _required_attr(element, "value", self.path)

    def float(self, name: str, default=_MISSING) -> float:
        found = self.value(name, ("float", "integer"))
        if found is None:
            return self._default(name, "float", default)
        return _number(found[1], found[0], self.path)

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
        """An RGB triple from ``<rgb>`` (1 or 3 numbers) or a grey ``<float>``."""
        found = self.value(name, ("rgb", "float"))
        if found is None:
            return np.full(3, self._default(name, "rgb", default), np.float64)
        element, text = found
        return _numbers(text, (1, 3), element, self.path) * np.ones(3)

    def point(self, name: str, default=_MISSING) -> np.ndarray:
        element = self.take(name, ("point", "vector"))
        if element is None:
            return np.asarray(self._default(name, "point", default), np.float64)
        return _vector3(element, self.path, keys=("name", "value", "x", "y", "z"))

    def transform(self, name: str = "to_world") -> np.ndarray:
        element = self.take(name, ("transform",))
        if element is None:
            return np.eye(4)
        _check_attributes(element, ("name",), self.path)
        return _transform(element, self.path)

    def take_objects(self, tag: str) -> list[_Element]:
        """The unnamed nested objects with this tag."""
        found = [o for o in self.objects if o.tag == tag]
        self.used.update(id(o) for o in found)
        return found

    def take_one(self, tag: str) -> _Element | None:
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


# --- the scene --------------------------------------------------------------------------------


class _SceneBuilder:
    """Builds a ``Scene`` from the substituted element tree; one builder per file."""

    def __init__(self, path: Path):
        self.path = path
        self.directory = path.parent
        self.bsdfs: dict[str, Bsdf] = {}
        self.meshes: list[Mesh] = []
        self.ids: dict[str, _Element] = {}  # every id in the file, for duplicates
        self.unnamed = 0

    # helpers

    def error(self, element: _Element, message: str, hint: str | None = None) -> SceneError:
        return SceneError(message, file=self.path, line=element.line, hint=hint)

    def source(self, element: _Element) -> Source:
        return Source(self.path, element.line)

    def plugin_type(self, element: _Element, supported: tuple[str, ...]) -> str:
        kind = _required_attr(element, "type", self.path)
        if kind not in supported:
            raise self.error(element, f"unsupported {element.tag} type '{kind}'",
                             hint="supported: " + ", ".join(supported))
        return kind

    def object_id(self, element: _Element, fallback: str | None = None) -> str:
        """The id of an object the scene keeps: its own, else ``fallback``, else
        ``_unnamed_N`` (N counts only such objects, so names do not shift with samplers)."""
        name = self.register_id(element)
        if name is not None:
            return name
        if fallback is None:
            fallback = f"_unnamed_{self.unnamed}"
            self.unnamed += 1
        self.record_id(fallback, element)
        return fallback

    def register_id(self, element: _Element) -> str | None:
        """Check an object's attributes and record its id, if it has one."""
        _check_attributes(element, ("type", "id", "name"), self.path)
        name = element.attrs.get("id")
        if name is not None:
            if name.startswith("_"):
                raise self.error(element, f"id '{name}' starts with '_'",
                                 hint="leading underscores are reserved for unnamed objects")
            self.record_id(name, element)
        return name

    def record_id(self, name: str, element: _Element) -> None:
        if name in self.ids:
            raise self.error(element, f"id '{name}' is already used at line "
                             f"{self.ids[name].line}")
        self.ids[name] = element

    def loaded_by(self, element: _Element, err: SceneError) -> SceneError:
        """``err`` (about a mesh or image file) with a hint naming the element that read it."""
        return SceneError(err.message, file=err.file, line=err.line,
                          hint=f"loaded by {self.path}:{element.line}")

    def resolve(self, filename: str) -> Path:
        """Relative paths are relative to the XML file's directory."""
        return self.directory / Path(filename)

    # scene

    def build(self, root: _Element) -> Scene:
        if root.tag != "scene":
            raise self.error(root, f"the root element is <{root.tag}>, expected <scene>")
        _check_attributes(root, ("version",), self.path)
        settings: dict = {}
        camera, environment = None, None
        seen: set[str] = set()
        for child in root.children:
            if child.tag not in SCENE_CHILDREN:
                raise self.error(child, f"unsupported element <{child.tag}> in <scene>",
                                 hint="supported: " + ", ".join(SCENE_CHILDREN))
            if child.tag in ("integrator", "sensor") and child.tag in seen:
                raise self.error(child, f"more than one <{child.tag}>",
                                 hint=f"keep one <{child.tag}>")
            seen.add(child.tag)
            if child.tag == "integrator":
                settings.update(self.integrator(child))
            elif child.tag == "sensor":
                camera, spp = self.sensor(child)
                settings["spp"] = spp
            elif child.tag == "bsdf":
                self.add_bsdf(self.bsdf(child))
            elif child.tag == "shape":
                self.meshes.append(self.shape(child))
            elif child.tag == "emitter":
                if environment is not None:
                    raise self.error(child, "more than one environment emitter",
                                     hint="keep one <emitter type=\"constant\">")
                environment = self.environment(child)
        if camera is None:
            raise self.error(root, "the scene has no <sensor>",
                             hint='add <sensor type="perspective">')
        return Scene(path=self.path, camera=camera, bsdfs=self.bsdfs, meshes=self.meshes,
                     environment=environment, **settings)

    def integrator(self, element: _Element) -> dict:
        """Settings of ``path`` (and our variant names for it): max_depth, rr_depth."""
        self.plugin_type(element, INTEGRATOR_TYPES)
        self.register_id(element)
        props = _Props(element, self.path)
        settings = {"integrator": "path", "max_depth": props.integer("max_depth", -1, -1),
                    "rr_depth": props.integer("rr_depth", 5, 1)}
        props.finish(("max_depth", "rr_depth"))
        return settings

    # sensor

    def sensor(self, element: _Element) -> tuple[Camera, int]:
        """A perspective camera and its sampler's sample count."""
        self.plugin_type(element, ("perspective",))
        sensor_id = self.object_id(element, fallback="sensor")
        props = _Props(element, self.path)
        camera = Camera(
            to_world=props.transform(),
            fov=props.float("fov"),
            fov_axis=props.string("fov_axis", "x",
                                  ("x", "y", "diagonal", "smaller", "larger")),
            near_clip=props.float("near_clip", 1e-2),
            far_clip=props.float("far_clip", 1e4),
            id=sensor_id,
            source=self.source(element),
        )
        if not 0.0 < camera.fov < 180.0:
            raise self.error(props.named["fov"], f"fov must be between 0 and 180 degrees, "
                             f"got {camera.fov}")
        sampler, film = props.take_one("sampler"), props.take_one("film")
        spp = self.sampler(sampler) if sampler is not None else 4
        camera.width, camera.height = self.film(film) if film is not None else _MITSUBA_FILM_SIZE
        props.finish(("fov", "fov_axis", "near_clip", "far_clip", "to_world"))
        return camera, spp

    def sampler(self, element: _Element) -> int:
        self.plugin_type(element, ("independent",))
        self.register_id(element)
        props = _Props(element, self.path)
        spp = props.integer("sample_count", 4, 1)
        props.finish(("sample_count",))
        return spp

    def film(self, element: _Element) -> tuple[int, int]:
        self.plugin_type(element, ("hdrfilm",))
        self.register_id(element)
        props = _Props(element, self.path)
        size = (props.integer("width", _MITSUBA_FILM_SIZE[0], 1),
                props.integer("height", _MITSUBA_FILM_SIZE[1], 1))
        rfilter = props.take_one("rfilter")
        if rfilter is not None:
            self.plugin_type(rfilter, ("box",))
            _check_attributes(rfilter, ("type", "id", "name"), self.path)
            _Props(rfilter, self.path).finish(())
        props.finish(("width", "height"), ignored=IGNORED_FILM_PROPERTIES)
        return size

    # materials

    def add_bsdf(self, bsdf: Bsdf) -> None:
        self.bsdfs[bsdf.id] = bsdf

    def bsdf(self, element: _Element, fallback_id: str | None = None) -> Bsdf:
        """``diffuse``, or ``twosided`` around one ``diffuse`` (the twosided's id names it)."""
        kind = self.plugin_type(element, ("diffuse", "twosided"))
        bsdf_id = self.object_id(element, fallback_id)
        if kind == "diffuse":
            return self.diffuse(element, bsdf_id)
        props = _Props(element, self.path)
        inner = props.take_objects("bsdf")
        if len(inner) != 1:
            raise self.error(element, f"twosided needs exactly one nested <bsdf>, got "
                             f"{len(inner)}")
        props.finish(())
        self.plugin_type(inner[0], ("diffuse",))
        _check_attributes(inner[0], ("type", "id", "name"), self.path)
        bsdf = self.diffuse(inner[0], bsdf_id)
        bsdf.twosided, bsdf.source = True, self.source(element)
        return bsdf

    def diffuse(self, element: _Element, bsdf_id: str) -> Bsdf:
        """Reflectance as ``<rgb>``, grey ``<float>`` or ``<texture type="bitmap">``."""
        props = _Props(element, self.path)
        bsdf = Bsdf(id=bsdf_id, source=self.source(element))
        given = props.named.get("reflectance")
        if given is not None and given.tag == "texture":
            bsdf.texture = self.bitmap(props.take("reflectance", ("texture",)))
        else:
            bsdf.reflectance = props.color("reflectance", _DEFAULT_REFLECTANCE)
        props.finish(("reflectance",))
        return bsdf

    def bitmap(self, element: _Element) -> Texture:
        self.plugin_type(element, ("bitmap",))
        _check_attributes(element, ("type", "name", "id"), self.path)
        props = _Props(element, self.path)
        filename = self.resolve(props.string("filename"))
        raw = props.boolean("raw", False)
        filter_type = props.string("filter_type", "bilinear", ("bilinear", "nearest"))
        wrap_mode = props.string("wrap_mode", "repeat", ("repeat", "mirror", "clamp"))
        props.finish(("filename", "filter_type", "wrap_mode", "raw"))
        if not filename.is_file():
            raise self.error(element, f"texture file not found: {filename}",
                             hint="relative paths start at the XML file's folder")
        try:
            data = _read_bitmap(filename, raw)
        except SceneError as err:
            raise self.loaded_by(element, err) from None
        return Texture(data=data, filename=filename, filter_type=filter_type,
                       wrap_mode=wrap_mode)

    # shapes and emitters

    def shape(self, element: _Element) -> Mesh:
        """A mesh in world space with its BSDF id and optional area emitter."""
        kind = self.plugin_type(element, SHAPE_TYPES)
        shape_id = self.object_id(element)
        props = _Props(element, self.path)
        data, filename, face_normals = self.shape_geometry(kind, element, props)
        to_world = props.transform()
        if kind == "sphere":  # Mitsuba: to_world @ translate(center) @ scale(radius)
            center, radius = props.point("center", (0.0, 0.0, 0.0)), props.float("radius", 1.0)
            to_world = to_world @ _translation(center) @ np.diag([radius] * 3 + [1.0])
        if abs(np.linalg.det(to_world[:3, :3])) < 1e-12:
            raise self.error(props.named.get("to_world", element),
                             f"the to_world of shape '{shape_id}' is singular")
        data = meshes.transformed(data, to_world)
        if face_normals:
            data.normals = None
        elif data.normals is None:  # Mitsuba recomputes smooth normals for such meshes
            data.normals = meshes.vertex_normals(data.vertices, data.faces)
        mesh = Mesh(id=shape_id, vertices=data.vertices, faces=data.faces, uvs=data.uvs,
                    normals=data.normals, bsdf=self.shape_bsdf(shape_id, element, props),
                    to_world=to_world, kind=kind, filename=filename, source=self.source(element))
        emitter = props.take_one("emitter")
        if emitter is not None:
            mesh.emitter = self.area_emitter(emitter)
        props.finish(SHAPE_PROPERTIES[kind])
        return mesh

    def shape_geometry(self, kind: str, element: _Element,
                       props: _Props) -> tuple[meshes.MeshData, Path | None, bool]:
        """Object-space triangles, the mesh file (if any) and whether to use face normals."""
        builders = {"rectangle": meshes.rectangle, "cube": meshes.cube,
                    "sphere": meshes.uv_sphere}
        if kind not in MESH_FILE_TYPES:
            return builders[kind](), None, False
        filename = self.resolve(props.string("filename"))
        face_normals = props.boolean("face_normals", False)
        flip = props.boolean("flip_tex_coords", kind == "obj")
        if not filename.is_file():
            raise self.error(element, f"mesh file not found: {filename}",
                             hint="relative paths start at the XML file's folder")
        read = meshes.read_obj if kind == "obj" else meshes.read_ply
        try:
            return read(filename, flip), filename, face_normals
        except SceneError as err:
            raise self.loaded_by(element, err) from None

    def shape_bsdf(self, shape_id: str, element: _Element, props: _Props) -> str:
        """The id of the shape's BSDF: a ``<ref>``, an inline ``<bsdf>`` or Mitsuba's default."""
        refs, inline = props.take_objects("ref"), props.take_objects("bsdf")
        if len(refs) + len(inline) > 1:
            raise self.error((refs + inline)[1], f"shape '{shape_id}' has more than one BSDF")
        if refs:
            return self.reference(refs[0])
        if inline:
            bsdf = self.bsdf(inline[0], fallback_id=f"{shape_id}.bsdf")
        else:
            self.record_id(f"{shape_id}.bsdf", element)
            bsdf = Bsdf(id=f"{shape_id}.bsdf", reflectance=np.full(3, _DEFAULT_REFLECTANCE),
                        source=self.source(element))
        self.add_bsdf(bsdf)
        return bsdf.id

    def reference(self, element: _Element) -> str:
        """A ``<ref id=...>`` to a BSDF declared earlier in the file."""
        _check_attributes(element, ("id", "name"), self.path)
        target = _required_attr(element, "id", self.path)
        if target not in self.bsdfs:
            known = ", ".join(self.bsdfs) or "none"
            raise self.error(element, f"reference to unknown BSDF '{target}'",
                             hint=f"BSDFs declared before this line: {known}")
        return target

    def area_emitter(self, element: _Element) -> AreaEmitter:
        self.plugin_type(element, ("area",))
        self.register_id(element)
        props = _Props(element, self.path)
        emitter = AreaEmitter(radiance=props.color("radiance"), source=self.source(element))
        props.finish(("radiance",))
        return emitter

    def environment(self, element: _Element) -> Environment:
        kind = _required_attr(element, "type", self.path)
        if kind == "area":
            raise self.error(element, "an area emitter must be inside a <shape>")
        self.plugin_type(element, ("constant",))
        self.register_id(element)
        props = _Props(element, self.path)
        environment = Environment(radiance=props.color("radiance", 1.0),
                                  id=element.attrs.get("id") or "environment",
                                  source=self.source(element))
        props.finish(("radiance",))
        return environment


def _translation(offset: np.ndarray) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = offset
    return matrix


# --- bitmaps ----------------------------------------------------------------------------------


def _read_bitmap(path: Path, raw: bool) -> np.ndarray:
    """(H, W, 3) float32 linear RGB, row 0 = top row of the file.

    EXR is linear already; 8- and 16-bit images are sRGB-encoded unless ``raw`` (data such
    as normal or roughness maps), as in Mitsuba's ``bitmap``.
    """
    if path.suffix.lower() == ".exr":
        return _read_exr(path)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            pixels = _image_to_unit_rgb(image)
    except (OSError, UnidentifiedImageError) as err:
        raise SceneError(f"cannot read image: {err}", file=path) from err
    return pixels if raw else _srgb_to_linear(pixels)


def _image_to_unit_rgb(image) -> np.ndarray:
    """Pixel values scaled to [0, 1], grey replicated to RGB, alpha dropped."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, np.float32) / 65535.0
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "F":
        return np.repeat(np.asarray(image, np.float32)[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), np.float32) / 255.0


def _srgb_to_linear(values: np.ndarray) -> np.ndarray:
    return np.where(values <= 0.04045, values / 12.92,
                    ((values + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _read_exr(path: Path) -> np.ndarray:
    import OpenEXR

    try:
        channels = OpenEXR.File(str(path)).channels()
    except Exception as err:  # OpenEXR raises RuntimeError with no detail
        raise SceneError(f"cannot read EXR image: {err}", file=path) from err
    for key in ("RGB", "RGBA"):
        if key in channels:
            return np.ascontiguousarray(channels[key].pixels[..., :3], np.float32)
    if all(c in channels for c in "RGB"):
        return np.stack([channels[c].pixels for c in "RGB"], axis=-1).astype(np.float32)
    if "Y" in channels:
        return np.repeat(channels["Y"].pixels[..., None], 3, axis=2).astype(np.float32)
    raise SceneError(f"EXR image has no RGB or Y channels (has {', '.join(channels)})",
                     file=path)
