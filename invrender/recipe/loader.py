"""``load_recipe``: read the file, parse the YAML recording the line of every key, apply the
overrides, resolve paths, check input files and validate; every problem ends in one
``RecipeError``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from invrender.errors import InvrenderError
from invrender.recipe.dialect import Loader
from invrender.recipe.errors import (
    Loc,
    Problem,
    describe,
    error,
    keys_hint,
    without_echoes,
    yaml_kind,
)
from invrender.recipe.models import Recipe
from invrender.recipe.overrides import apply_overrides


def load_recipe(path: str | os.PathLike, overrides: Iterable[str] = ()) -> Recipe:
    """Read, override, validate and resolve a recipe; raise ``RecipeError`` on any problem.

    ``overrides`` are ``key.path=value`` strings (the CLI's ``--set``); the value is parsed as
    YAML. Parameter names contain dots, so under ``params`` the longest name already in the
    recipe wins (``params.red.reflectance.value.lr=0.1``); a new name runs up to a trailing
    ``init``/``lr``/``clamp``/``truth``.
    """
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvrenderError("recipe file not found", file=where) from None
    except IsADirectoryError:
        raise InvrenderError("is a directory, not a recipe file", file=where) from None
    except UnicodeDecodeError:
        raise InvrenderError("not a UTF-8 text file", file=where) from None
    except OSError as exc:
        raise InvrenderError(f"cannot read recipe: {exc.strerror}", file=where) from None

    problems: list[Problem] = []
    data, lines = _parse_yaml(text, problems)
    if any(loc is None for loc, *_ in problems):  # unparsable: nothing more to check
        raise error(where, problems)
    if data is None:
        raise InvrenderError("the recipe is empty", file=where, hint=keys_hint())
    if not isinstance(data, dict):
        raise InvrenderError(f"the top level must be a mapping of keys, got a "
                             f"{yaml_kind(data)}", file=where, line=1, hint=keys_hint())

    return _validated(data, where, path.resolve().parent, path.stem, overrides, problems,
                      lines, source=path.resolve())


def recipe_from_dict(data: dict, base: str | os.PathLike = ".", name: str = "recipe",
                     overrides: Iterable[str] = ()) -> Recipe:
    """A recipe given as a mapping (what the YAML file would hold), for scripts: relative
    paths start at ``base``, and the default output folder is ``base/runs/<name>``."""
    import copy

    if not isinstance(data, dict):
        raise InvrenderError(f"a recipe is a mapping of keys, got a {yaml_kind(data)}",
                             hint=keys_hint())
    return _validated(copy.deepcopy(data), "recipe", Path(base).resolve(), name, overrides,
                      [], {}, source=None)


def _validated(data: dict, where: str, base: Path, stem: str, overrides, problems, lines,
               source: Path | None) -> Recipe:
    set_paths = apply_overrides(data, overrides, problems)
    _resolve_paths(data, base, set_paths, stem)

    _check_files(data, problems)
    recipe = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        for err in without_echoes(exc.errors()):
            message, hint = describe(err)
            loc = tuple(err["loc"])
            problems.append((loc[:-1] if loc[-1:] == ("[key]",) else loc, None, message, hint))
    if problems or recipe is None:
        raise error(where, problems, lines, set_paths)
    recipe._source = source
    recipe._lines, recipe._set_paths = lines, set_paths
    return recipe


def _parse_yaml(text: str, problems: list[Problem]) -> tuple[Any, dict[Loc, int]]:
    """Parse ``text`` and map every key path to the (1-based) line of its key."""
    loader = None
    try:
        loader = Loader(text)
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "malformed"
        if exc.context and exc.problem:
            started = exc.context_mark
            at = f" started at line {started.line + 1}" if started and started != mark else ""
            detail += f" ({exc.context}{at})"
        kind = "YAML syntax error" if isinstance(exc, (yaml.scanner.ScannerError,
                                                       yaml.parser.ParserError)) else "invalid YAML"
        problems.append((None, None if mark is None else mark.line + 1, f"{kind}: {detail}",
                         None))
        return None, {}
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1
        problems.append((None, line, f"invalid YAML: {exc.reason} "
                         f"(character #x{exc.character:04x})", None))
        return None, {}
    except yaml.YAMLError as exc:
        problems.append((None, None, f"invalid YAML: {exc}", None))
        return None, {}
    except RecursionError:  # PyYAML recurses per nesting level
        problems.append((None, None, "invalid YAML: nested too deeply",
                         "a recipe needs a few levels of nesting"))
        return None, {}
    finally:
        if loader is not None:
            loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _record_lines(node, (), lines, problems)
    return data, lines


def _record_lines(node: yaml.Node, loc: Loc, lines: dict[Loc, int],
                  problems: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.value == "<<":
                continue
            key = key_node.value
            line = key_node.start_mark.line + 1
            child = (*loc, key)
            if key in first_seen:
                problems.append((child, line, f"duplicate key (first at line {first_seen[key]})",
                                 "remove one of them"))
            else:
                first_seen[key] = line
                lines[child] = line
            _record_lines(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*loc, i)] = item.start_mark.line + 1
            _record_lines(item, (*loc, i), lines, problems)


_PATH_KEYS: tuple[Loc, ...] = (("scene",), ("target", "image"), ("target", "render", "scene"),
                                ("views", "*", "image"), ("views", "*", "poses"),
                                ("params", "*", "truth_mesh"), ("output", "dir"))
_INPUT_FILES = ((("scene",), "scene file"), (("target", "image"), "target image"),
                (("target", "render", "scene"), "reference scene file"),
                (("views", "*", "image"), "target image"), (("views", "*", "poses"),
                                                            "camera poses file"),
                (("params", "*", "truth_mesh"), "true mesh file"))


def _expand(data: Any, pattern: Loc, loc: Loc = ()) -> list[Loc]:
    """The key paths of ``data`` matching ``pattern``, where ``*`` is any key or index."""
    if not pattern:
        return [loc]
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        keys = (range(len(data)) if isinstance(data, list)
                else list(data) if isinstance(data, dict) else [])
    else:
        keys = [head] if isinstance(data, dict) and head in data else []
    return [found for k in keys for found in _expand(data[k], rest, (*loc, k))]


def _resolve_paths(data: dict, base: Path, set_paths: dict[Loc, str], stem: str) -> None:
    """Make path values absolute, and give ``output.dir`` its default."""
    output = data.get("output")
    output = {} if output is None else output
    if isinstance(output, dict) and output.get("dir") is None:
        output["dir"] = str(base / "runs" / stem)
        data["output"] = output
    for loc in (found for pattern in _PATH_KEYS for found in _expand(data, pattern)):
        node = _get(data, loc[:-1])
        if not isinstance(node, dict) or not isinstance(node.get(loc[-1]), str):
            continue
        from_cli = any(loc[:len(s)] == s for s in set_paths)
        value = Path(os.path.expandvars(node[loc[-1]])).expanduser()  # ${VAR}, ~
        root = Path.cwd() if from_cli else base
        node[loc[-1]] = str(value if value.is_absolute() else (root / value).resolve())
    for args in _scene_args(data):  # e.g. a folder of meshes from ${MITSUBA_TUTORIALS}
        for key, value in args.items():
            if isinstance(value, str):
                args[key] = os.path.expandvars(value)


def _scene_args(data: dict) -> list[dict]:
    found = [_get(data, ("scene_args",)), _get(data, ("target", "render", "scene_args"))]
    return [args for args in found if isinstance(args, dict)]


def _check_files(data: dict, problems: list[Problem]) -> None:
    """Missing input files are reported here, with their line, not later by the loader."""
    for loc, what in ((found, what) for pattern, what in _INPUT_FILES
                      for found in _expand(data, pattern)):
        value = _get(data, loc)
        if "{index}" in str(value):  # one file per view of a family, checked with the scene
            continue
        if isinstance(value, str) and not Path(value).is_file():
            unset = re.findall(r"\$\{?(\w+)", value)  # variables expandvars left as they were
            hint = (f"set the environment variable {unset[0]} (see the recipe's comment)"
                    if unset else None)
            problems.append((loc, None, f"{what} not found: {value}", hint))
    for loc in (("scene_args",), ("target", "render", "scene_args")):
        args = _get(data, loc)
        for key, value in (args.items() if isinstance(args, dict) else ()):
            unset = re.findall(r"\$\{(\w+)\}", value) if isinstance(value, str) else []
            if unset:
                problems.append(((*loc, key), None, f"the environment variable {unset[0]} is "
                                 "not set", f"set {unset[0]} (see the recipe's comment)"))
    out = _get(data, ("output", "dir"))
    if isinstance(out, str):
        existing = next((p for p in (Path(out), *Path(out).parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            problems.append((("output", "dir"), None, f"{existing} is a file, not a folder",
                             "choose a folder for the run's outputs"))


def _get(data: dict, loc: Loc) -> Any:
    node: Any = data
    for key in loc:
        if isinstance(node, list) and isinstance(key, int):
            node = node[key] if key < len(node) else None
        else:
            node = node.get(key) if isinstance(node, dict) else None
    return node
