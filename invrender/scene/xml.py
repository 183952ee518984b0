"""Mitsuba XML as a tree of elements that remember their file and line, with ``<default>``
and ``$name`` resolved in document order (keyword overrides win over defaults, as in
``mi.load_file(path, spp=4)``), ``<include>`` files spliced in where they appear and
``<path>`` folders added to the search path of file names, as Mitsuba 3's parser does.
expat keeps the line of every element, so that every error, however late it is found,
names ``file:line``. No plugins and no Taichi here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from invrender.errors import SceneError

_SUBSTITUTION = re.compile(r"(\\?)\$([A-Za-z_][A-Za-z0-9_]*)")
MAX_DEPTH = 64  # element nesting; real scenes use a handful of levels
MAX_INCLUDE_DEPTH = 15  # Mitsuba's limit on nested <include>s


@dataclass
class Element:
    """One XML element and the line it starts on."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)
    file: Path | None = None  # the file it was read from (an included one, perhaps)

    def describe(self) -> str:
        """``<float name="fov">``-style label for messages."""
        keys = [k for k in ("type", "name", "id") if k in self.attrs]
        return "<" + " ".join([self.tag] + [f'{k}="{self.attrs[k]}"' for k in keys]) + ">"


def parse_xml(path: Path) -> Element:
    """Parse with expat so that each element records its line (ElementTree does not)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SceneError("scene file not found", file=path) from None
    except OSError as err:
        raise SceneError(f"cannot read scene file: {err.strerror}", file=path) from err
    parser = expat.ParserCreate()
    stack: list[Element] = [Element("#document", {}, 0)]

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = Element(tag, attrs, parser.CurrentLineNumber, file=path)
        if len(stack) > MAX_DEPTH:
            raise SceneError(f"elements nested deeper than {MAX_DEPTH} levels, at "
                             f"{element.describe()}", file=path, line=element.line)
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


# --- <default>, $name, <include> and <path> ---------------------------------------------------


@dataclass
class SceneFile:
    """The element tree of a scene file with its includes spliced in, and the folders that
    file names are searched in (``<path>`` folders, newest first, then the scene's own)."""

    root: Element
    search_paths: list[Path]

    def resolve(self, filename: str, element: Element | None = None) -> Path:
        """A file name as Mitsuba's file resolver finds it: absolute as given, else the
        first search folder that has it, else the folder of the file that names it (a
        fallback Mitsuba lacks: it only finds more), else relative to the scene's folder."""
        folders = list(self.search_paths)
        if element is not None and element.file is not None:
            folders.append(element.file.parent)
        return _find(filename, folders) or self.search_paths[-1] / filename


def _find(filename: str, folders: list[Path]) -> Path | None:
    """The file as given when absolute, else in the first of ``folders`` that has it; None
    when it does not exist."""
    given = Path(filename)
    if given.is_absolute():
        return given if given.exists() else None
    return next((f / given for f in folders if (f / given).exists()), None)


def read_scene(path: Path, params: dict[str, str]) -> SceneFile:
    """Parse ``path``, substitute ``$name`` (``params`` are the overrides), and splice in
    includes."""
    root = parse_xml(path)
    scene = SceneFile(root, [path.parent])
    _expand(root, params, scene, [path.resolve()])
    return scene


def _expand(element: Element, params: dict[str, str], scene: SceneFile,
            including: list[Path]) -> None:
    """Substitute, define defaults and splice includes, in document order. The walk keeps
    its own stack: no Python recursion per nesting level (includes recurse, at most
    MAX_INCLUDE_DEPTH deep)."""
    todo: list[tuple[Element, Element | None]] = [(element, None)]
    while todo:
        node, parent = todo.pop()
        if node.tag == "include" and parent is not None:
            # spliced in when reached, so that earlier <default>s apply inside it
            spliced = _include(node, params, scene, including)
            at = next(i for i, k in enumerate(parent.children) if k is node)
            parent.children[at:at + 1] = spliced
            continue
        _substitute(node, params)
        if node.tag == "default":
            check_attributes(node, ("name", "value"), node.file)
            name = required_attr(node, "name", node.file)
            if not name:
                raise SceneError("<default> needs a non-empty name", file=node.file,
                                 line=node.line)
            params.setdefault(name, required_attr(node, "value", node.file))
        elif node.tag == "path":
            _add_path(node, scene)
        todo.extend((k, node) for k in reversed(node.children))  # document order


def _include(node: Element, params: dict[str, str], scene: SceneFile,
             including: list[Path]) -> list[Element]:
    """The elements an ``<include filename=...>`` stands for: the children of an included
    ``<scene>``, or the included element itself, substituted with the same parameters."""
    _substitute(node, params)
    check_attributes(node, ("filename", "name"), node.file)
    filename = required_attr(node, "filename", node.file)
    target = _find(filename, [node.file.parent, *scene.search_paths])
    if target is None or not target.is_file():
        raise SceneError(f"included file not found: {filename}", file=node.file,
                         line=node.line, hint="relative paths start at the including "
                         "file's folder or a <path> folder")
    key = target.resolve()
    if key in including:
        chain = " -> ".join(p.name for p in [*including[including.index(key):], key])
        raise SceneError(f"include cycle: {chain}", file=node.file, line=node.line,
                         hint="remove one of the <include>s")
    if len(including) > MAX_INCLUDE_DEPTH:
        raise SceneError(f"includes nested deeper than {MAX_INCLUDE_DEPTH} files",
                         file=node.file, line=node.line)
    root = parse_xml(target)
    holder = Element("#include", {}, node.line, [root], file=target)
    _expand(holder, params, scene, [*including, key])
    root = holder.children[0]
    if root.tag != "scene":
        if "name" in node.attrs:
            root.attrs.setdefault("name", node.attrs["name"])
        return [root]
    check_attributes(root, ("version",), target)
    return root.children


def _add_path(node: Element, scene: SceneFile) -> None:
    """``<path value=...>``: a folder searched first for file names (Mitsuba: only at the
    top level, relative to the file that declares it)."""
    check_attributes(node, ("value",), node.file)
    value = Path(required_attr(node, "value", node.file))
    folder = value if value.is_absolute() else node.file.parent / value
    if not folder.is_dir():
        raise SceneError(f"<path> folder not found: {folder}", file=node.file,
                         line=node.line, hint="give a folder relative to this file")
    scene.search_paths.insert(0, folder)


def _substitute(node: Element, params: dict[str, str]) -> None:
    """``$name`` in every attribute value (longest names first, as Mitsuba); ``\\$``
    stands for a literal dollar."""
    for key, text in node.attrs.items():
        if "$" in text:
            node.attrs[key] = _SUBSTITUTION.sub(lambda m, e=node: _lookup(m, params, e), text)


def _lookup(match: re.Match, params: dict[str, str], element: Element) -> str:
    if match.group(1):  # an escaped dollar
        return "$" + match.group(2)
    name = match.group(2)
    value = _longest(name, params)
    if value is None:
        raise SceneError(f"undefined parameter '${name}' in {element.describe()}",
                         file=element.file, line=element.line,
                         hint=f'declare <default name="{name}" value="..."/> before its use '
                              f"or pass {name}=... to load_scene")
    return value


def _longest(name: str, params: dict[str, str]) -> str | None:
    """Mitsuba matches the longest parameter name that ``name`` starts with ($spp2 with only
    spp defined is spp's value followed by 2)."""
    if name in params:
        return params[name]
    for n in sorted(params, key=len, reverse=True):
        if name.startswith(n):
            return params[n] + name[len(n):]
    return None


def check_attributes(element: Element, allowed: Iterable[str], path: Path) -> None:
    for key in element.attrs:
        if key not in allowed:
            raise SceneError(f"unexpected attribute '{key}' on {element.describe()}", file=path,
                             line=element.line, hint="allowed: " + ", ".join(allowed))


def required_attr(element: Element, key: str, path: Path) -> str:
    if key not in element.attrs:
        raise SceneError(f"{element.describe()} needs a '{key}' attribute", file=path,
                         line=element.line)
    return element.attrs[key]

