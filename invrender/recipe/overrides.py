"""``--set key.path=value`` overrides, applied to the parsed recipe before validation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from invrender.recipe.dialect import Loader
from invrender.recipe.errors import Loc, Problem, yaml_kind
from invrender.recipe.models import ParamSpec


def apply_overrides(data: dict, overrides: Iterable[str],
                    problems: list[Problem]) -> dict[Loc, str]:
    """Apply ``key.path=value`` overrides in place; return each set path with its text."""
    applied: dict[Loc, str] = {}
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            problems.append((None, None, f"--set {text!r}: expected KEY=VALUE",
                             "e.g. --set optimizer.lr=0.01 or "
                             "--set params.red.reflectance.value.lr=0.1"))
            continue
        try:
            value = yaml.load(raw, Loader=Loader)  # a SafeLoader subclass
        except yaml.YAMLError as exc:
            problems.append((None, None, f"--set {text!r}: the value is not valid YAML "
                             f"({getattr(exc, 'problem', None) or exc})", None))
            continue
        loc = _override_loc(data, key.split("."))
        node = data
        for i, part in enumerate(loc[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                problems.append((None, None, f"--set {text!r}: {'.'.join(loc[:i + 1])} is "
                                 f"a {yaml_kind(child)}, not a mapping", None))
                break
            node = child
        else:
            node[loc[-1]] = value
            applied[loc] = text
    return applied


def _override_loc(data: dict, parts: list[str]) -> Loc:
    """Split dotted ``parts`` into keys, keeping dotted parameter names whole."""
    loc: list[str] = []
    node: Any = data
    i = 0
    while i < len(parts):
        end = None
        if isinstance(node, dict):
            for j in range(len(parts), i, -1):
                if ".".join(parts[i:j]) in node:
                    end = j
                    break
        if end is None:
            if loc == ["params"]:
                # a parameter not in the recipe: its name runs up to a ParamSpec field
                tail = parts[-1] in ParamSpec.model_fields and len(parts) - 1 > i
                end = len(parts) - 1 if tail else len(parts)
            else:
                end = i + 1
        key = ".".join(parts[i:end])
        loc.append(key)
        node = node.get(key) if isinstance(node, dict) else None
        i = end
    return tuple(loc)
