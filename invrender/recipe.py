"""The optimisation recipe: pydantic models of the YAML file, ``--set`` overrides, and errors
that name the line.

The models are the definition of the format (DESIGN.md §5); unknown keys are errors so that
a typo cannot silently fall back to a default. ``load_recipe`` keeps the line of every key
while parsing, so each validation problem is reported as ``recipe.yaml:LINE: key.path:
what is wrong`` with the allowed values, all problems at once. Relative paths are resolved
against the recipe's directory (paths given with ``--set`` against the working directory,
where the user typed them). Nothing here imports Taichi.
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
import re
import types
import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from invrender.errors import InvrenderError

Loss = Literal["mse", "l1", "relative_mse"]
LOSSES: tuple[str, ...] = typing.get_args(Loss)

# Strict numbers: YAML already types its scalars, so "3" or `true` for a number is a mistake.
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]

Loc = tuple[str | int, ...]
# (key path or None, line or None, message, hint); lines are filled in from the key path
Problem = tuple[Loc | None, int | None, str, str | None]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RenderTarget(_Model):
    """Make the target by rendering the scene as loaded, i.e. with its true parameters."""

    spp: Annotated[StrictInt, Field(gt=0)] | None = None  # None: the scene's sampler count
    seed: Annotated[StrictInt, Field(ge=0)] = 1  # differs from render.seed: independent noise


class Target(_Model):
    """What the optimisation matches: exactly one of a rendering or an image file."""

    render: RenderTarget | None = None
    image: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Target:
        if (self.render is None) == (self.image is None):
            raise ValueError("give exactly one of render or image "
                             "(render: {} renders the scene with the defaults)")
        return self


class ParamSpec(_Model):
    """One parameter to optimise: where to start, how fast, and its valid range."""

    init: Any = None  # a number or a (nested) list; None: the scene's value
    lr: Annotated[Float, Field(gt=0)] | None = None  # None: optimizer.lr
    clamp: list[Float] | None = None  # [lo, hi], applied after each step
    truth: Any = None  # known answer, for the parameter error in the log

    @field_validator("init", "truth")
    @classmethod
    def _numeric(cls, value: Any) -> Any:
        if value is None:
            return None
        if not _is_numeric(value):
            raise ValueError("must be a finite number or a list of them (nested lists for arrays)")
        return _to_float(value)

    @field_validator("clamp")
    @classmethod
    def _range(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            if len(value) != 2:
                raise ValueError(f"must be [lo, hi], got {len(value)} numbers")
            if value[0] > value[1]:
                raise ValueError(f"lo must not exceed hi, got [{value[0]}, {value[1]}]")
        return value


class OptimizerConfig(_Model):
    """The optimizer and its hyperparameters (Mitsuba's names and defaults)."""

    type: Literal["adam", "sgd"] = "adam"
    lr: Annotated[Float, Field(gt=0)] = 0.05
    beta1: Annotated[Float, Field(ge=0, lt=1)] = 0.9
    beta2: Annotated[Float, Field(ge=0, lt=1)] = 0.999
    epsilon: Annotated[Float, Field(gt=0)] = 1e-8
    momentum: Annotated[Float, Field(ge=0, lt=1)] = 0.0  # sgd only
    mask_updates: StrictBool = False


class Schedule(_Model):
    """Learning-rate schedule; see ``invrender.optim.schedule.lr_factor``."""

    type: Literal["constant", "step", "exponential", "cosine"] = "constant"
    step_size: Annotated[StrictInt, Field(gt=0)] | None = None
    gamma: Annotated[Float, Field(gt=0, le=1)] | None = None
    min_factor: Annotated[Float, Field(ge=0, le=1)] = 0.0

    @model_validator(mode="after")
    def _complete(self) -> Schedule:
        needs = {"step": ("step_size", "gamma"), "exponential": ("gamma",)}.get(self.type, ())
        missing = [key for key in needs if getattr(self, key) is None]
        if missing:
            raise ValueError(f"type {self.type!r} needs {' and '.join(missing)}")
        return self


class RenderSettings(_Model):
    """How each iteration renders (the target has its own spp and seed)."""

    spp: Annotated[StrictInt, Field(gt=0)] = 1
    max_depth: Annotated[StrictInt, Field(ge=-1)] = 3  # Mitsuba's count; -1 = unbounded
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    seed_policy: Literal["per_iteration", "fixed"] = "per_iteration"
    decorrelate_grad: StrictBool = True  # primal and gradient passes draw different samples


class Output(_Model):
    """Where results go and how often; 0 means never (checkpoints: only at the end)."""

    dir: Path | None = None  # default: runs/<recipe name> beside the recipe
    frame_every: Annotated[StrictInt, Field(ge=0)] = 10
    checkpoint_every: Annotated[StrictInt, Field(ge=0)] = 10
    formats: list[Literal["exr", "png"]] = Field(default_factory=lambda: ["exr", "png"])


class Recipe(_Model):
    """A complete optimisation run."""

    scene: Path
    scene_args: dict[str, StrictInt | Float | StrictBool | str] = Field(default_factory=dict)
    target: Target
    params: dict[str, ParamSpec]
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: Schedule = Field(default_factory=Schedule)
    loss: Loss = "mse"
    iterations: Annotated[StrictInt, Field(gt=0)]
    render: RenderSettings = Field(default_factory=RenderSettings)
    output: Output = Field(default_factory=Output)
    arch: Literal["auto", "cpu", "cuda"] = "auto"

    _source: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """An empty section (``output:`` with nothing after it) means its defaults."""
        if isinstance(data, dict):
            optional = ("scene_args", "optimizer", "schedule", "loss", "render", "output",
                        "arch")
            return {k: v for k, v in data.items() if not (k in optional and v is None)}
        return data

    @field_validator("optimizer", "schedule", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``optimizer: sgd`` and ``schedule: cosine`` mean ``{type: ...}``."""
        return {"type": value} if isinstance(value, str) else value

    @field_validator("params", mode="before")
    @classmethod
    def _empty_specs(cls, value: Any) -> Any:
        """``name:`` with nothing after it optimises the parameter with the defaults."""
        if isinstance(value, dict):
            return {k: {} if v is None else v for k, v in value.items()}
        return value

    @field_validator("params")
    @classmethod
    def _not_empty(cls, value: dict[str, ParamSpec]) -> dict[str, ParamSpec]:
        if not value:
            raise ValueError("name at least one parameter to optimise, "
                             "e.g. red.reflectance.value: {init: [0.5, 0.5, 0.5]}")
        return value

    @property
    def source(self) -> Path | None:
        """The recipe file this was loaded from, if any."""
        return self._source

    def lr_per_param(self) -> dict[str, float]:
        """The parameters that set their own learning rate (for ``make_optimizer``)."""
        return {name: spec.lr for name, spec in self.params.items() if spec.lr is not None}

    def resolved_dict(self) -> dict[str, Any]:
        """Everything, defaults included and paths absolute: what ``recipe_resolved.yaml`` holds.

        Loading that file again gives an equal recipe, wherever it is written.
        """
        return self.model_dump(mode="json")


# --------------------------------------------------------------------------------------------
# Loading


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
        raise _error(where, problems)
    if data is None:
        raise InvrenderError("the recipe is empty", file=where, hint=_keys_hint())
    if not isinstance(data, dict):
        raise InvrenderError(f"the top level must be a mapping of keys, got a "
                             f"{_yaml_kind(data)}", file=where, line=1, hint=_keys_hint())

    set_paths = _apply_overrides(data, overrides, problems)
    base = path.resolve().parent
    _resolve_paths(data, base, set_paths, path.stem)

    _check_files(data, problems)
    recipe = None
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        for err in _without_echoes(exc.errors()):
            message, hint = _describe(err)
            loc = tuple(err["loc"])
            problems.append((loc[:-1] if loc[-1:] == ("[key]",) else loc, None, message, hint))
    if problems or recipe is None:
        raise _error(where, problems, lines, set_paths)
    recipe._source = path.resolve()
    return recipe


# YAML 1.1 (PyYAML) reads `1e-8` as a string; accept YAML 1.2 floats without a dot too.
class _Loader(yaml.SafeLoader):
    pass


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _parse_yaml(text: str, problems: list[Problem]) -> tuple[Any, dict[Loc, int]]:
    """Parse ``text`` and map every key path to the (1-based) line of its key."""
    loader = None
    try:
        loader = _Loader(text)
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


def _apply_overrides(data: dict, overrides: Iterable[str],
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
            value = yaml.load(raw, Loader=_Loader)  # a SafeLoader subclass
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
                                 f"a {_yaml_kind(child)}, not a mapping", None))
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


_PATH_KEYS: tuple[Loc, ...] = (("scene",), ("target", "image"), ("output", "dir"))


def _resolve_paths(data: dict, base: Path, set_paths: dict[Loc, str], stem: str) -> None:
    """Make path values absolute, and give ``output.dir`` its default."""
    output = data.get("output")
    output = {} if output is None else output
    if isinstance(output, dict) and output.get("dir") is None:
        output["dir"] = str(base / "runs" / stem)
        data["output"] = output
    for loc in _PATH_KEYS:
        node = _get(data, loc[:-1])
        if not isinstance(node, dict) or not isinstance(node.get(loc[-1]), str):
            continue
        from_cli = any(loc[:len(s)] == s for s in set_paths)
        value = Path(node[loc[-1]]).expanduser()
        root = Path.cwd() if from_cli else base
        node[loc[-1]] = str(value if value.is_absolute() else (root / value).resolve())


def _check_files(data: dict, problems: list[Problem]) -> None:
    """Missing input files are reported here, with their line, not later by the loader."""
    for loc, what in ((("scene",), "scene file"), (("target", "image"), "target image")):
        value = _get(data, loc)
        if isinstance(value, str) and not Path(value).is_file():
            problems.append((loc, None, f"{what} not found: {value}", None))


def _get(data: dict, loc: Loc) -> Any:
    node: Any = data
    for key in loc:
        node = node.get(key) if isinstance(node, dict) else None
    return node


# --------------------------------------------------------------------------------------------
# Error messages


def _error(where: str, problems: list[Problem], lines: dict[Loc, int] | None = None,
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


def _without_echoes(errors: list[dict]) -> list[dict]:
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


def _describe(err: dict) -> tuple[str, str | None]:
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


def _keys_hint() -> str:
    return "a recipe is a mapping with keys " + ", ".join(Recipe.model_fields)


def _yaml_kind(value: Any) -> str:
    kinds = ((bool, "boolean"), (numbers.Real, "number"), (str, "string"), (list, "list"),
             (dict, "mapping"))
    return next((name for tp, name in kinds if isinstance(value, tp)), type(value).__name__)


def _is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return math.isfinite(value)
    return isinstance(value, list) and bool(value) and all(_is_numeric(v) for v in value) \
        and len({_shape(v) for v in value}) == 1  # rectangular, so it is an array


def _shape(value: Any) -> tuple[int, ...]:
    return (len(value), *_shape(value[0])) if isinstance(value, list) else ()


def _to_float(value: Any) -> Any:
    return [_to_float(v) for v in value] if isinstance(value, list) else float(value)
