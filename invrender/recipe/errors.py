"""Recipe problems as one-line messages: ``recipe.yaml:LINE: key.path: what is wrong``.

A problem is collected as a ``Problem`` tuple (key path, line, message, hint); ``error`` fills
in the line from the key path, notes ``--set`` overrides, and gathers all problems into one
``RecipeError``. ``describe`` puts a pydantic error in the recipe's own terms, with the
allowed keys or values.
"""

from __future__ import annotations

import difflib
import numbers
import re
import types
import typing
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel

from invrender.errors import InvrenderError
from invrender.recipe.models import Recipe

Loc = tuple[str | int, ...]
# (key path or None, line or None, message, hint); lines are filled in from the key path
Problem = tuple[Loc | None, int | None, str, str | None]


class RecipeError(InvrenderError):
    """One or more problems in a recipe; ``problems`` holds one error per problem."""

    def __init__(self, problems: Sequence[InvrenderError]):
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.message, file=first.file, line=first.line, hint=first.hint)

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        head = f"{self.problems[0].file}: {len(self.problems)} problems"
        return "\n".join([head, *(str(p) for p in self.problems)])


def error(where: str, problems: list[Problem], lines: dict[Loc, int] | None = None,
          set_paths: dict[Loc, str] | None = None) -> RecipeError:
    lines = lines or {}
    set_paths = set_paths or {}
    errors = []
    for loc, line, message, hint in problems:
        if loc is not None:
            note = ""
            inside = [t for s, t in set_paths.items() if loc[:len(s)] == s]
            around = [t for s, t in set_paths.items() if s[:len(loc)] == loc]
            if inside:
                note, line = f" (from --set {inside[0]})", None
            else:
                if around:
                    note = f" (after --set {', '.join(around)})"
                if line is None:
                    line = _line_of(loc, lines)
            message = f"{_key_path(loc)}: {message}{note}" if loc else message + note
        errors.append(InvrenderError(message, file=where, line=line, hint=hint))
    errors.sort(key=lambda e: (e.line is None, e.line or 0))
    return RecipeError(errors)


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of the deepest key of ``loc`` that the file has (a missing key: its parent)."""
    as_keys = tuple(str(part) for part in loc)  # the file's mapping keys are strings
    for n in range(len(loc), 0, -1):
        line = lines.get(loc[:n], lines.get(as_keys[:n]))
        if line is not None:
            return line
    return None


def _key_path(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def without_echoes(errors: list[dict]) -> list[dict]:
    """Drop "missing key" when a misspelt key beside it is its close match: one typo, one
    message."""
    misspelt = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            parent = tuple(err["loc"][:-1])
            for close in difflib.get_close_matches(str(err["loc"][-1]), _allowed_keys(parent),
                                                   n=1):
                misspelt.add((*parent, close))
    return [err for err in errors
            if not (err["type"] == "missing" and tuple(err["loc"]) in misspelt)]


def describe(err: dict) -> tuple[str, str | None]:
    """One pydantic error as (message, hint) in the recipe's own terms."""
    kind, loc, value = err["type"], tuple(err["loc"]), err.get("input")
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        return (f"unknown key; allowed keys: {', '.join(allowed)}",
                f"did you mean {close[0]!r}?" if close else None)
    if kind == "literal_error":
        names = re.findall(r"'([^']*)'", err["ctx"]["expected"])
        return f"{_short(value)} is not one of {', '.join(names)}", None
    if kind == "invalid_key" or loc[-1:] == ("[key]",):
        return f"keys must be strings, got {_short(value)}", "quote the key"
    if kind == "missing":
        return "required key is missing", None
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        allowed = _allowed_keys(loc)
        keys = f" with keys {', '.join(allowed)}" if allowed else ""
        return f"must be a mapping{keys}, got {_short(value)}", None
    if kind == "path_type":
        return f"must be a path (a string), got {_short(value)}", None
    if kind == "value_error":
        return err["msg"].removeprefix("Value error, "), None
    message = err["msg"].replace("Input should be", "must be")
    return f"{message}, got {_short(value)}", None


def _allowed_keys(loc: Loc) -> list[str]:
    """The keys of the model at ``loc`` (dict levels skip their key), or [] if not a model."""
    tp: Any = Recipe
    i = 0
    while i < len(loc):
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(loc[i]))
            if field is None:
                return []
            tp, i = field.annotation, i + 1
        elif typing.get_origin(tp) is dict:
            tp, i = typing.get_args(tp)[1], i + 1
        else:
            return []
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _unwrap(tp: Any) -> Any:
    """``X | None`` and ``Annotated[X, ...]`` -> ``X``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def keys_hint() -> str:
    return "a recipe is a mapping with keys " + ", ".join(Recipe.model_fields)


def yaml_kind(value: Any) -> str:
    kinds = ((bool, "boolean"), (numbers.Real, "number"), (str, "string"), (list, "list"),
             (dict, "mapping"))
    return next((name for tp, name in kinds if isinstance(value, tp)), type(value).__name__)
