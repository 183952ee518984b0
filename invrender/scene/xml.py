"""Mitsuba XML as a tree of elements that remember their line, with ``<default>`` and
``$name`` resolved in document order (keyword overrides win over defaults, as in
``mi.load_file(path, spp=4)``). expat keeps the line of every element, so that every
error, however late it is found, names ``file:line``. No plugins and no Taichi here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from invrender.errors import SceneError

_SUBSTITUTION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
MAX_DEPTH = 64  # element nesting; real scenes use a handful of levels



@dataclass
class Element:
    """One XML element and the line it starts on."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[Element] = field(default_factory=list)

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
        element = Element(tag, attrs, parser.CurrentLineNumber)
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


# --- <default> and $name ----------------------------------------------------------------------


def substitute(element: Element, params: dict[str, str], path: Path) -> None:
    """Replace ``$name`` in attribute values, in document order, as Mitsuba does.

    A ``<default>`` defines its name from that point on unless an override already did.
    The walk keeps its own stack: no Python recursion per nesting level.
    """
    todo = [element]
    while todo:
        node = todo.pop()
        for key, text in node.attrs.items():
            node.attrs[key] = _SUBSTITUTION.sub(lambda m, e=node: _lookup(m, params, e, path),
                                                text)
        if node.tag == "default":
            check_attributes(node, ("name", "value"), path)
            name = required_attr(node, "name", path)
            params.setdefault(name, required_attr(node, "value", path))
        todo.extend(reversed(node.children))  # document order


def _lookup(match: re.Match, params: dict[str, str], element: Element, path: Path) -> str:
    name = match.group(1)
    if name not in params:
        raise SceneError(f"undefined parameter '${name}' in {element.describe()}", file=path,
                         line=element.line,
                         hint=f'declare <default name="{name}" value="..."/> before its use '
                              f"or pass {name}=... to load_scene")
    return params[name]


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

