"""Load a Mitsuba 3 XML scene into a plain-Python ``Scene``: plugins from elements.

``xml.py`` reads the file (lines kept, ``<default>``/``$name`` resolved, includes spliced),
``props.py`` reads each plugin's typed properties, and this module builds the plugins
(in document order; a top-level BSDF or texture earlier when a reference to it comes
first, as Mitsuba resolves references after the whole file), looking every
type up in its registry (BSDFs, textures, emitters, sensors, filters), so a new plugin needs
no change here. Things are named as Mitsuba's ``traverse`` names them: objects without an
id get ``_unnamed_N``; a BSDF declared inline in shape ``s`` without an id is ``s.bsdf``, so
its parameter is ``s.bsdf.reflectance.value`` in both renderers; a shape without any BSDF
gets Mitsuba's default, a 0.5 grey diffuse (black on an emitter), under the same name.
Every ``<sensor>`` is kept; a film without ``<rfilter>`` gets Mitsuba's default ``gaussian``.
Where we read the XML differently from Mitsuba (an integrator rendered by our path tracer,
an unused plugin skipped, the default camera), ``Scene.notes`` says so in one line each.

Approximations, on purpose: ``sphere``, ``disk``, ``cylinder`` and ``bsplinecurve`` become
fine meshes with exact normals (``geometry.mesh``, ``geometry.curves``). No Taichi here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from invrender.bsdfs.registry import BSDFS
from invrender.emitters.registry import EMITTERS
from invrender.errors import SceneError, UnsupportedPlugin
from invrender.filters.registry import DEFAULT as DEFAULT_FILTER
from invrender.filters.registry import FILTERS
from invrender.geometry import mesh as meshes
from invrender.geometry.serialized import read_serialized
from invrender.scene.description import (
    Bsdf,
    Emitter,
    Filter,
    Mesh,
    Scene,
    Sensor,
    Source,
    Texture,
    constant,
)
from invrender.scene.props import REQUIRED, Props
from invrender.scene.xml import Element, SceneFile, check_attributes, read_scene, required_attr
from invrender.sensors.registry import SENSORS
from invrender.textures import uniform
from invrender.textures.registry import TEXTURES

SCENE_CHILDREN = ("default", "path", "integrator", "sensor", "bsdf", "texture", "shape",
                  "emitter")
# Mitsuba integrators we render with ``path``: the differentiable variants (our boundary
# terms stand for the projective ones' sampling) and ``direct`` (path with max_depth 2).
PATH_INTEGRATORS = ("path", "prb", "prb_basic", "path_replay", "direct_projective",
                    "prb_projective", "direct")
# Mitsuba's Python differentiable integrators default to max_depth 6, its C++ ones to -1.
DEFAULT_MAX_DEPTH = {"prb": 6, "prb_basic": 6, "prb_projective": 6}
# They estimate the same image as ``path`` in a scene without media.
SAME_AS_PATH = ("volpath", "volpathmis", "ptracer")
# Mitsuba's settings of the projective integrators that steer their boundary sampling.
PROJECTIVE_SETTINGS = ("sppc", "sppp", "sppi", "guiding", "guiding_proj", "guiding_rounds")
SHAPE_TYPES = ("obj", "ply", "serialized", "rectangle", "cube", "sphere", "disk", "cylinder",
               "bsplinecurve")
MESH_FILE_TYPES = ("obj", "ply", "serialized")
SHAPE_PROPERTIES = {
    "obj": ("filename", "face_normals", "flip_tex_coords", "flip_normals", "to_world"),
    "ply": ("filename", "face_normals", "flip_tex_coords", "flip_normals", "to_world"),
    "serialized": ("filename", "shape_index", "face_normals", "flip_normals", "to_world"),
    "rectangle": ("flip_normals", "to_world"),
    "cube": ("flip_normals", "to_world"),
    "sphere": ("center", "radius", "flip_normals", "to_world"),
    "disk": ("flip_normals", "to_world"),
    "cylinder": ("p0", "p1", "radius", "flip_normals", "to_world"),
    # silhouette_sampling_weight (every Mitsuba shape reads it) only steers the projective
    # integrators' silhouette sampling; the curve has no flip_normals in Mitsuba
    "bsplinecurve": ("filename", "to_world", "silhouette_sampling_weight"),
}
# Film settings that only concern how Mitsuba writes its output file.
IGNORED_FILM_PROPERTIES = ("pixel_format", "component_format", "file_format", "banner")
MITSUBA_FILM_SIZE = (768, 576)  # hdrfilm's default width and height
DEFAULT_BSDF = "diffuse"  # what a shape without a BSDF gets, with its default reflectance


def load_scene(path: str | Path, **overrides: object) -> Scene:
    """Load ``path`` with ``<default>`` values replaced by ``overrides`` (e.g. spp=4, res=64).

    Override values are converted with ``str()`` (booleans to ``true``/``false``). An override
    that no ``$name`` uses is ignored, as in Mitsuba. Raises ``SceneError`` naming file and line.
    """
    path = Path(path)
    params = {name: _override_text(value) for name, value in overrides.items()}
    scene_file = read_scene(path, params)
    return SceneBuilder(path, scene_file).build(scene_file.root)


def _override_text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class SceneBuilder:
    """Builds a ``Scene`` from the substituted element tree; one builder per file."""

    def __init__(self, path: Path, scene_file: SceneFile | None = None):
        self.path = path
        self.directory = path.parent
        self.scene_file = scene_file or SceneFile(Element("scene", {}, 0), [path.parent])
        self.bsdfs: dict[str, Bsdf] = {}
        self.textures: dict[str, Texture] = {}  # top-level textures, by id
        self.meshes: list[Mesh] = []
        self.ids: dict[str, Element] = {}  # every id in the file, for duplicates
        self.pending: dict[str, Element] = {}  # top-level BSDFs and textures not built yet
        self.built: set[int] = set()  # top-level elements built before their turn
        self._referenced: set[str] | None = None
        self.notes: list[str] = []  # one line each: what was read differently from Mitsuba
        self.unnamed = 0

    # helpers

    def file_of(self, element: Element) -> Path:
        """The file an element was read from (an included file, perhaps)."""
        return element.file or self.path

    def error(self, element: Element, message: str, hint: str | None = None) -> SceneError:
        return SceneError(message, file=self.file_of(element), line=element.line, hint=hint)

    def props(self, element: Element) -> Props:
        return Props(element, self.file_of(element))

    def source(self, element: Element) -> Source:
        return Source(self.file_of(element), element.line)

    def plugin_type(self, element: Element, supported) -> str:
        kind = required_attr(element, "type", self.file_of(element))
        if kind not in supported:
            raise UnsupportedPlugin(f"unsupported {element.tag} type '{kind}'",
                                    file=self.file_of(element), line=element.line,
                                    hint="supported: " + ", ".join(supported))
        return kind

    def object_id(self, element: Element, fallback: str | None = None) -> str:
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

    def register_id(self, element: Element) -> str | None:
        """Check an object's attributes and record its id, if it has one."""
        check_attributes(element, ("type", "id", "name"), self.file_of(element))
        name = element.attrs.get("id")
        if name is not None:
            if name.startswith("_"):
                raise self.error(element, f"id '{name}' starts with '_'",
                                 hint="leading underscores are reserved for unnamed objects")
            self.record_id(name, element)
        return name

    def record_id(self, name: str, element: Element) -> None:
        if name in self.ids and self.ids[name] is not element:
            first = self.ids[name]
            where = (f"line {first.line}" if self.file_of(first) == self.file_of(element)
                     else f"{self.file_of(first)}:{first.line}")
            raise self.error(element, f"id '{name}' is already used at {where}")
        self.ids[name] = element

    def loaded_by(self, element: Element, err: SceneError) -> SceneError:
        """``err`` (about a mesh or image file) with a hint naming the element that read it."""
        return SceneError(err.message, file=err.file, line=err.line,
                          hint=f"loaded by {self.file_of(element)}:{element.line}")

    def read_file(self, props: Props, where: Element, what: str, read, *args):
        """(path, read(path, *args)) for the file a plugin names in ``filename``, found as
        Mitsuba finds files; a missing file or a reader's error names ``where``."""
        filename = self.resolve(props.string("filename"), where)
        if not filename.is_file():
            raise self.error(where, f"{what} not found: {filename}",
                             hint="relative paths start at the XML file's folder")
        try:
            return filename, read(filename, *args)
        except SceneError as err:
            raise self.loaded_by(where, err) from None

    def image(self, props: Props, owner: Element, raw: bool, what: str):
        """(path, texels) of the image file a plugin names, read as Mitsuba's ``bitmap``
        reads them; errors name the ``filename`` property."""
        from invrender.scene.bitmaps import read_bitmap

        return self.read_file(props, props.named.get("filename", owner), what, read_bitmap,
                              raw)

    def resolve(self, filename: str, element: Element | None = None) -> Path:
        """A file name as Mitsuba finds it: in the ``<path>`` folders, then the scene's."""
        return self.scene_file.resolve(filename, element)

    # scene

    def build(self, root: Element) -> Scene:
        if root.tag != "scene":
            raise self.error(root, f"the root element is <{root.tag}>, expected <scene>")
        check_attributes(root, ("version",), self.path)
        settings: dict = {}
        sensors: list[Sensor] = []
        lights: list[Emitter] = []
        environment = None
        integrators = [c for c in root.children if c.tag == "integrator"]
        if len(integrators) > 1:
            raise self.error(integrators[1], "more than one <integrator>",
                             hint="keep one <integrator>")
        for child in root.children:
            if child.tag not in SCENE_CHILDREN:
                raise self.error(child, f"unsupported element <{child.tag}> in <scene>",
                                 hint="supported: " + ", ".join(SCENE_CHILDREN))
            if child.tag in ("bsdf", "texture") and "id" in child.attrs:
                self.pending.setdefault(child.attrs["id"], child)  # for later references
        for child in root.children:
            if child.tag == "integrator":
                settings.update(self.integrator(child))
            elif child.tag == "sensor":
                sensors.append(self.sensor(child, len(sensors)))
            elif child.tag in ("bsdf", "texture"):
                if id(child) not in self.built:  # not built already for a reference
                    self.unreferenced(child, root)
            elif child.tag == "shape":
                self.meshes.append(self.shape(child))
            elif child.tag == "emitter":
                emitter = self.top_level_emitter(child)
                if not EMITTERS[emitter.type].environment:
                    lights.append(emitter)
                elif environment is not None:
                    raise self.error(child, "more than one environment emitter (Mitsuba "
                                     "allows one per scene)",
                                     hint="keep one envmap or constant emitter")
                else:
                    environment = emitter
        if not sensors:  # the camera Mitsuba 3 made before its 3.0 release (3.9.1 has none)
            from invrender.sensors.perspective import place_default

            sensor = Sensor(to_world=np.eye(4), width=MITSUBA_FILM_SIZE[0],
                            height=MITSUBA_FILM_SIZE[1], source=self.source(root),
                            rfilter=Filter(DEFAULT_FILTER, source=self.source(root)))
            place_default(sensor, self.meshes)
            sensors.append(sensor)
            self.notes.append(f"{self.path}: no <sensor>: a perspective camera with a 45 "
                              "degree field of view looks along +z at the whole scene (as "
                              "Mitsuba 3 before 3.0; Mitsuba 3.9.1 renders no such scene)")
        return Scene(path=self.path, sensors=sensors, bsdfs=self.bsdfs, meshes=self.meshes,
                     environment=environment, lights=lights, notes=self.notes, **settings)

    def unreferenced(self, element: Element, root: Element) -> None:
        """A top-level BSDF or texture that no shape has referenced (yet): built, but one
        of a plugin type we lack that nothing in the file references changes nothing in
        the image, so it is skipped with a note (the tutorials' lego scene declares an
        unused volume texture); any other error in it is an error."""
        try:
            built = self.top_level(element)
        except UnsupportedPlugin as err:
            name = element.attrs.get("id")
            if name is not None and name in self.referenced(root):
                raise
            self.notes.append(f"{err.file}:{err.line}: skipped {element.describe()}, which "
                              f"nothing references: {err.message}")
            return
        if element.tag == "bsdf":
            self.add_bsdf(built)

    def referenced(self, root: Element) -> set[str]:
        """Every id a ``<ref>`` in the file names."""
        if self._referenced is None:
            self._referenced, todo = set(), [root]
            while todo:
                node = todo.pop()
                if node.tag == "ref" and "id" in node.attrs:
                    self._referenced.add(node.attrs["id"])
                todo.extend(node.children)
        return self._referenced

    def top_level(self, element: Element):
        """A top-level ``<bsdf>`` or ``<texture>``, built once even when a reference to it
        comes first (Mitsuba resolves references after reading the whole file)."""
        if self.pending.get(element.attrs.get("id")) is element:
            del self.pending[element.attrs["id"]]
        self.built.add(id(element))
        if element.tag == "bsdf":
            return self.bsdf(element)
        texture = self.texture_element(element)
        texture.id = self.object_id(element)
        self.textures[texture.id] = texture
        return texture

    def integrator(self, element: Element) -> dict:
        """Settings of the integrators we render with our path tracer: max_depth, rr_depth,
        hide_emitters (``direct``: max_depth 2)."""
        kind = required_attr(element, "type", self.file_of(element))
        if kind in SAME_AS_PATH:
            self.notes.append(f"{self.file_of(element)}:{element.line}: integrator '{kind}' "
                              "renders with invrender's path tracer (the same image in a "
                              "scene without media)")
        else:
            self.plugin_type(element, PATH_INTEGRATORS + SAME_AS_PATH)
        self.register_id(element)
        props = self.props(element)
        hide = props.boolean("hide_emitters", False)
        if kind == "direct":
            samples = {n: props.integer(n, 1, 1) for n in ("emitter_samples", "bsdf_samples")}
            if samples != {"emitter_samples": 1, "bsdf_samples": 1}:
                self.notes.append(
                    f"{self.file_of(element)}:{element.line}: direct's emitter_samples and "
                    "bsdf_samples change only the noise; invrender takes one of each per "
                    "sample (raise spp instead)")
            props.finish(("emitter_samples", "bsdf_samples", "hide_emitters"))
            return {"integrator": "direct", "max_depth": 2, "rr_depth": 1 << 30,
                    "hide_emitters": hide}
        max_depth = props.integer("max_depth", DEFAULT_MAX_DEPTH.get(kind, -1), -1)
        if kind == "direct_projective":  # Mitsuba sets 2 whatever the file says
            max_depth = 2
        settings = {"integrator": "path", "max_depth": max_depth,
                    "rr_depth": props.integer("rr_depth", 5, 1), "hide_emitters": hide}
        ignored = [n for n in PROJECTIVE_SETTINGS if n in props.named]
        if ignored:
            self.notes.append(f"{self.file_of(element)}:{element.line}: {kind}'s "
                              f"{', '.join(ignored)} are ignored: invrender's boundary terms "
                              "sample silhouettes their own way")
        if kind in SAME_AS_PATH:
            ignored += [n for n in props.named if n not in ("max_depth", "rr_depth",
                                                             "hide_emitters")]
        props.finish(("max_depth", "rr_depth", "hide_emitters"), ignored=tuple(ignored))
        return settings

    # sensor

    def sensor(self, element: Element, index: int) -> Sensor:
        """A sensor with its film, filter and sampler's sample count."""
        kind = self.plugin_type(element, SENSORS.names())
        sensor_id = self.object_id(element, fallback="sensor" if index == 0 else None)
        props = self.props(element)
        sensor = Sensor(to_world=props.transform(), type=kind, id=sensor_id,
                        source=self.source(element))
        sampler, film = props.take_one("sampler"), props.take_one("film")
        if sampler is not None:
            sensor.spp = self.sampler(sampler)
        if film is not None:
            sensor.width, sensor.height, sensor.rfilter = self.film(film)
        else:
            sensor.width, sensor.height = MITSUBA_FILM_SIZE
            sensor.rfilter = Filter(DEFAULT_FILTER, source=self.source(element))
        supported = SENSORS[kind].parse(self, props, sensor)  # the film first: its aspect
        props.finish((*supported, "to_world"))
        return sensor

    def sampler(self, element: Element) -> int:
        self.plugin_type(element, ("independent",))
        self.register_id(element)
        props = self.props(element)
        spp = props.integer("sample_count", 4, 1)
        props.finish(("sample_count",))
        return spp

    def film(self, element: Element) -> tuple[int, int, Filter]:
        self.plugin_type(element, ("hdrfilm",))
        self.register_id(element)
        props = self.props(element)
        width = props.integer("width", MITSUBA_FILM_SIZE[0], 1)
        height = props.integer("height", MITSUBA_FILM_SIZE[1], 1)
        element_filter = props.take_one("rfilter")
        rfilter = (self.rfilter(element_filter) if element_filter is not None
                   else Filter(DEFAULT_FILTER, source=self.source(element)))
        for name in ("sample_border", "high_quality_edges"):  # the second: Mitsuba 0.6's
            if props.boolean(name, False) and rfilter.type != "box":
                # samples outside the film would reach its border pixels through the filter
                raise self.error(props.named[name], f"{name} with a {rfilter.type} filter "
                                 "is not supported", hint="remove it (it changes only the "
                                 "border pixels) or use a box filter")
        props.finish(("width", "height", "sample_border", "high_quality_edges"),
                     ignored=IGNORED_FILM_PROPERTIES)
        return width, height, rfilter

    def rfilter(self, element: Element) -> Filter:
        """A reconstruction filter: every setting a positive number."""
        kind = self.plugin_type(element, FILTERS.names())
        self.register_id(element)
        plugin = FILTERS[kind]
        props = self.props(element)
        settings = {}
        for name, default in plugin.settings.items():
            value = props.float(name, default)
            if not (value > 0.0 and math.isfinite(value)):
                raise self.error(props.named.get(name, element),
                                 f"{kind} filter {name} must be a positive number, got {value}")
            settings[name] = value
        props.finish(tuple(plugin.settings))
        return Filter(kind, settings, source=self.source(element))

    # textures

    def texture(self, props: Props, name: str, default) -> Texture:
        """A texture-valued property: ``<rgb>``/``<float>`` (a constant), a nested
        ``<texture type=...>`` of a registered texture plugin, or a ``<ref>`` to one."""
        given = props.named.get(name)
        if given is not None and given.tag == "ref":
            return self.texture_reference(props.take(name, ("ref",)))
        if given is not None and given.tag == "texture":
            element = props.take(name, ("texture",))
            texture = self.texture_element(element)
            if "id" in element.attrs:
                texture.id = self.object_id(element)
                self.textures[texture.id] = texture
            return texture
        return constant(props.color(name, default))

    def scalar_texture(self, props: Props, name: str, default) -> Texture:
        """A float-valued texture property: a ``<float>`` (one value, ``<name>.value``) or
        a texture as ``texture`` reads it."""
        given = props.named.get(name)
        if given is None or given.tag == "float":
            value = props.float(name, default)
            return uniform.make(value)
        return self.texture(props, name, default)

    def texture_element(self, element: Element) -> Texture:
        kind = self.plugin_type(element, tuple(n for n in TEXTURES.names()
                                               if TEXTURES[n].parse is not None))
        check_attributes(element, ("type", "name", "id"), self.file_of(element))
        return TEXTURES[kind].parse(self, element)

    def texture_reference(self, element: Element) -> Texture:
        """``<ref name=.. id=..>`` to a texture declared anywhere in the file."""
        check_attributes(element, ("id", "name"), self.file_of(element))
        target = required_attr(element, "id", self.file_of(element))
        if target not in self.textures and self.pending.get(target) is not None \
                and self.pending[target].tag == "texture":
            self.top_level(self.pending[target])
        if target not in self.textures:
            known = ", ".join(self.textures) or "none"
            raise self.error(element, f"reference to unknown texture '{target}'",
                             hint=f"textures with an id: {known}")
        return self.textures[target]

    def plugin_textures(self, element: Element, plugin) -> dict[str, Texture]:
        """A BSDF's or emitter's texture-valued properties (its plugin's ``textures``), each
        with Mitsuba's default, and nothing else."""
        props = self.props(element)
        textures = {name: self.texture(props, name, plugin.defaults.get(name, REQUIRED))
                    for name in plugin.textures}
        props.finish(plugin.textures)
        return textures

    # materials

    def add_bsdf(self, bsdf: Bsdf) -> None:
        self.bsdfs[bsdf.id] = bsdf

    def bsdf(self, element: Element, fallback_id: str | None = None) -> Bsdf:
        """A registered BSDF, or ``twosided`` around one or two (the twosided's id names
        the front one; a second is the back side's, ``<id>.back``)."""
        kind = self.plugin_type(element, (*BSDFS.names(), "twosided"))
        bsdf_id = self.object_id(element, fallback_id)
        if kind != "twosided":
            return self.plain_bsdf(element, kind, bsdf_id)
        props = self.props(element)
        inner = props.take_objects("bsdf")
        if len(inner) not in (1, 2):
            raise self.error(element, f"twosided needs one or two nested <bsdf>, got "
                             f"{len(inner)}")
        props.finish(())
        sides = []
        for k, nested in enumerate(inner):
            nested_kind = self.plugin_type(nested, BSDFS.names())
            check_attributes(nested, ("type", "id", "name"), self.file_of(nested))
            side = self.plain_bsdf(nested, nested_kind, bsdf_id if k == 0 else f"{bsdf_id}.back")
            transmits = BSDFS[nested_kind].transmits
            if transmits(side) if callable(transmits) else transmits:
                raise self.error(nested, f"twosided cannot hold '{nested_kind}': it transmits "
                                 "light", hint="a transmitting BSDF is two-sided already; "
                                 "use it without the twosided")
            sides.append(side)
        front = sides[0]
        front.twosided, front.source = True, self.source(element)
        if len(sides) == 2:
            sides[1].twosided = True
            self.add_bsdf(sides[1])
            front.back = sides[1].id
        return front

    def nested_bsdfs(self, props: Props, parent: Bsdf, names: tuple[str, ...]) -> list[str]:
        """A wrapper's nested BSDFs (``<bsdf>`` or ``<ref>``, in document order), exactly
        len(names) of them; an inline one without an id is ``<parent>.<names[k]>``, so its
        parameters are named as in Mitsuba (``blend.bsdf_0.reflectance.value``)."""
        found = sorted(props.take_objects("bsdf") + props.take_objects("ref"),
                       key=lambda o: o.line)
        if len(found) != len(names):
            raise self.error(props.owner, f"{parent.type} needs {len(names)} nested BSDF"
                             f"{'s' if len(names) > 1 else ''}, got {len(found)}")
        ids = []
        for element, name in zip(found, names, strict=True):
            if element.tag == "ref":
                child = self.bsdfs[self.reference(element)]
            else:
                child = self.bsdf(element, fallback_id=f"{parent.id}.{name}")
            if BSDFS[child.type].wrapper:  # referenced or inline alike
                raise self.error(element, f"{parent.type} cannot hold '{child.type}': "
                                 "wrappers do not nest in invrender",
                                 hint="nest a plain BSDF (diffuse, roughconductor, ...)")
            if element.tag != "ref":
                self.add_bsdf(child)
            ids.append(child.id)
        return ids

    def plain_bsdf(self, element: Element, kind: str, bsdf_id: str) -> Bsdf:
        """The plugin's texture-valued parameters, each with Mitsuba's default, and its
        own settings."""
        plugin = BSDFS[kind]
        props = self.props(element)
        bsdf = Bsdf(id=bsdf_id, type=kind, source=self.source(element))
        read = plugin.parse(self, props, bsdf) if plugin.parse is not None else ()
        for name in plugin.textures:
            if name in bsdf.textures:
                continue
            default = plugin.defaults.get(name, REQUIRED)
            if name in plugin.scalars:
                bsdf.textures[name] = self.scalar_texture(props, name, default)
            else:
                bsdf.textures[name] = self.texture(props, name, default)
        props.finish((*plugin.textures, *read))
        return bsdf

    def shape(self, element: Element) -> Mesh:
        """A mesh in world space with its BSDF id and optional area emitter."""
        kind = self.plugin_type(element, SHAPE_TYPES)
        shape_id = self.object_id(element)
        props = self.props(element)
        data, filename, face_normals = self.shape_geometry(kind, element, props)
        if props.boolean("flip_normals", False):  # Mitsuba: the other side shades and emits
            data = meshes.flipped(data)
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
            mesh.emitter = self.emitter(emitter, f"{shape_id}.emitter", attached=True)
        props.finish(SHAPE_PROPERTIES[kind])
        return mesh

    def shape_geometry(self, kind: str, element: Element,
                       props: Props) -> tuple[meshes.MeshData, Path | None, bool]:
        """Object-space triangles, the mesh file (if any) and whether to use face normals."""
        builders = {"rectangle": meshes.rectangle, "cube": meshes.cube,
                    "sphere": meshes.uv_sphere, "disk": meshes.disk}
        if kind == "cylinder":
            return self.cylinder_geometry(element, props), None, False
        if kind == "bsplinecurve":
            return self.curve_geometry(element, props)
        if kind not in MESH_FILE_TYPES:
            return builders[kind](), None, False
        face_normals = props.boolean("face_normals", False)
        if kind == "serialized":
            read, option = read_serialized, props.integer("shape_index", 0, minimum=0)
        else:
            read = meshes.read_obj if kind == "obj" else meshes.read_ply
            option = props.boolean("flip_tex_coords", kind == "obj")
        filename, data = self.read_file(props, element, "mesh file", read, option)
        return data, filename, face_normals

    def cylinder_geometry(self, element: Element, props: Props) -> meshes.MeshData:
        """Mitsuba's cylinder from ``p0`` to ``p1`` (defaults (0,0,0), (0,0,1)), radius 1."""
        p0 = props.point("p0", (0.0, 0.0, 0.0))
        p1 = props.point("p1", (0.0, 0.0, 1.0))
        radius = props.float("radius", 1.0)
        if not np.linalg.norm(p1 - p0) > 0.0:
            raise self.error(props.named.get("p1", props.named.get("p0", element)),
                             "the cylinder's p0 and p1 coincide", hint="give two distinct points")
        if radius == 0.0:
            raise self.error(props.named.get("radius", element), "the cylinder's radius is 0")
        return meshes.cylinder(p0, p1, radius)

    def curve_geometry(self, element: Element,
                       props: Props) -> tuple[meshes.MeshData, Path, bool]:
        """Mitsuba's ``bsplinecurve``: the tube of ``geometry.curves``. Mitsuba moves the
        control points by ``to_world`` and leaves the radii alone, so the tube is built in
        world space and handed back in object space (``shape`` applies ``to_world``)."""
        from invrender.geometry import curves

        if "flip_normals" in props.named:  # Mitsuba: an unreferenced property
            raise self.error(props.named["flip_normals"], "unsupported property "
                             "'flip_normals' of a bsplinecurve shape",
                             hint="supported: " + ", ".join(SHAPE_PROPERTIES["bsplinecurve"]))
        props.float("silhouette_sampling_weight", 1.0)  # read (a number), changes no image
        filename, control = self.read_file(props, element, "B-spline curve file",
                                           curves.read_curves)
        to_world = props.transform()
        tube = curves.tube_mesh(control.transformed(to_world))
        if abs(np.linalg.det(to_world[:3, :3])) < 1e-12:
            return tube, filename, False  # ``shape`` reports the singular to_world
        return meshes.transformed(tube, np.linalg.inv(to_world)), filename, False

    def shape_bsdf(self, shape_id: str, element: Element, props: Props) -> str:
        """The id of the shape's BSDF: a ``<ref>``, an inline ``<bsdf>`` or Mitsuba's default
        (a 0.5 grey diffuse, black on an emitter)."""
        refs, inline = props.take_objects("ref"), props.take_objects("bsdf")
        if len(refs) + len(inline) > 1:
            raise self.error((refs + inline)[1], f"shape '{shape_id}' has more than one BSDF")
        if refs:
            return self.reference(refs[0])
        if inline:
            bsdf = self.bsdf(inline[0], fallback_id=f"{shape_id}.bsdf")
        else:
            self.record_id(f"{shape_id}.bsdf", element)
            plugin = BSDFS[DEFAULT_BSDF]
            textures = {n: constant(plugin.defaults[n]) for n in plugin.textures}
            if any(c.tag == "emitter" for c in element.children):  # Mitsuba: a black one
                textures["reflectance"] = constant(0.0)
            bsdf = Bsdf(id=f"{shape_id}.bsdf", type=DEFAULT_BSDF, textures=textures,
                        source=self.source(element))
        self.add_bsdf(bsdf)
        return bsdf.id

    def reference(self, element: Element) -> str:
        """A ``<ref id=...>`` (``name`` optional, as Mitsuba) to a BSDF declared anywhere
        in the file at the top level, or earlier inside another shape."""
        check_attributes(element, ("id", "name"), self.file_of(element))
        target = required_attr(element, "id", self.file_of(element))
        pending = self.pending.get(target)
        if target not in self.bsdfs and pending is not None and pending.tag == "bsdf":
            self.add_bsdf(self.top_level(pending))
        if target not in self.bsdfs:
            known = ", ".join(self.bsdfs) or "none"
            raise self.error(element, f"reference to unknown BSDF '{target}'",
                             hint=f"BSDFs with an id: {known}")
        return target

    def emitter(self, element: Element, emitter_id: str, attached: bool) -> Emitter:
        """A registered emitter: attached to a shape (``area``), or at the top level (an
        environment or a light such as ``point``)."""
        kind = required_attr(element, "type", self.file_of(element))
        if kind in EMITTERS and EMITTERS[kind].attached != attached:
            where = "inside a <shape>" if not attached else "at the top level of <scene>"
            raise self.error(element, f"a {kind} emitter must be {where}")
        fitting = tuple(n for n in EMITTERS.names() if EMITTERS[n].attached == attached)
        self.plugin_type(element, fitting)
        self.register_id(element)
        plugin = EMITTERS[kind]
        props = self.props(element)
        props.emitter = True  # spectra of emitters are read as illuminants
        textures = {name: self.texture(props, name, plugin.defaults.get(name, REQUIRED))
                    for name in plugin.textures if name not in plugin.own_textures}
        emitter = Emitter(id=emitter_id, type=kind, textures=textures,
                          source=self.source(element))
        emitter.sampling_weight = props.float("sampling_weight", 1.0)
        if not (emitter.sampling_weight >= 0.0 and math.isfinite(emitter.sampling_weight)):
            raise self.error(props.named.get("sampling_weight", element),
                             f"sampling_weight must be >= 0, got {emitter.sampling_weight}")
        read = plugin.parse(self, props, emitter)
        props.finish((*plugin.textures, "sampling_weight", *read))
        return emitter

    def top_level_emitter(self, element: Element) -> Emitter:
        """A top-level emitter, named by its id; without one, the first environment is
        ``environment`` (our older name, kept for recipes), any other ``_unnamed_N``."""
        kind = element.attrs.get("type", "")
        first_env = (kind in EMITTERS and EMITTERS[kind].environment
                     and "environment" not in self.ids)
        fallback = "environment" if "id" not in element.attrs and first_env else None
        return self.emitter(element, self.object_id(element, fallback), attached=False)


def _translation(offset: np.ndarray) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = offset
    return matrix
