"""The pydantic models of the recipe: the definition of the format (DESIGN.md §5).

Unknown keys are errors so that a typo cannot silently fall back to a default; ``init`` and
``truth`` take a finite number or a (nested, rectangular) list of them.
"""

from __future__ import annotations

import math
import numbers
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from invrender.errors import InvrenderError

Loss = Literal["mse", "l1", "relative_mse"]
LOSSES: tuple[str, ...] = typing.get_args(Loss)

# Strict numbers: YAML already types its scalars, so "3" or `true` for a number is a mistake.
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RenderTarget(_Model):
    """Make the target by rendering the scene as loaded, i.e. with its true parameters, or
    a reference scene (e.g. with the true mesh) through the same views."""

    spp: Annotated[StrictInt, Field(gt=0)] | None = None  # None: the scene's sampler count
    seed: Annotated[StrictInt, Field(ge=0)] = 1  # differs from render.seed: independent noise
    scene: Path | None = None  # None: the recipe's scene
    scene_args: dict[str, StrictInt | Float | StrictBool | str] = Field(default_factory=dict)


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


class LargeStepsSpec(_Model):
    """Optimise vertex positions in the Large Steps parametrisation u = (I + lambda L) v."""

    lambda_: Annotated[Float, Field(ge=0, alias="lambda")] = 19.0  # Mitsuba's default


class RemeshSpec(_Model):
    """Remesh a mesh being optimised at chosen iterations (Botsch and Kobbelt 2004)."""

    at: list[Annotated[StrictInt, Field(gt=0)]]  # before these iterations (0-based)
    edge_length: Annotated[Float, Field(gt=0)] | None = None  # None: half the mean edge
    iterations: Annotated[StrictInt, Field(gt=0)] = 5

    @field_validator("at")
    @classmethod
    def _increasing(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("list at least one iteration, e.g. at: [100]")
        if sorted(set(value)) != value:
            raise ValueError("iterations must increase, each listed once")
        return value


class ParamSpec(_Model):
    """One parameter to optimise: where to start, how fast, and its valid range."""

    init: Any = None  # a number or a (nested) list; None: the scene's value
    lr: Annotated[Float, Field(gt=0)] | None = None  # None: optimizer.lr
    clamp: list[Float] | None = None  # [lo, hi], applied after each step
    truth: Any = None  # known answer, for the parameter error in the log
    large_steps: LargeStepsSpec | None = None  # vertex_positions only
    remesh: RemeshSpec | None = None  # vertex_positions only
    truth_mesh: Path | None = None  # vertex_positions: a mesh file for Chamfer metrics
    mask: list[StrictBool] | None = None  # which entries move, e.g. [true, true, false]

    @field_validator("large_steps", mode="before")
    @classmethod
    def _large_steps_shorthand(cls, value: Any) -> Any:
        """``large_steps: 25`` means ``{lambda: 25}``, ``large_steps: {}`` the default."""
        return {"lambda": value} if isinstance(value, (int, float)) and \
            not isinstance(value, bool) else value

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

    @model_validator(mode="after")
    def _init_in_range(self) -> ParamSpec:
        if self.init is not None and self.clamp is not None:
            lo, hi = self.clamp
            values = [v for v in _flat(self.init)]
            outside = [v for v in values if not lo <= v <= hi]
            if outside:
                raise ValueError(f"init {outside[0]} lies outside clamp [{lo}, {hi}]")
        return self


class OptimizerConfig(_Model):
    """The optimizer and its hyperparameters (Mitsuba's names and defaults)."""

    type: Literal["adam", "sgd"] = "adam"
    lr: Annotated[Float, Field(gt=0)] = 0.05
    beta1: Annotated[Float, Field(ge=0, lt=1)] = 0.9
    beta2: Annotated[Float, Field(ge=0, lt=1)] = 0.999
    epsilon: Annotated[Float, Field(gt=0)] = 1e-8
    momentum: Annotated[Float, Field(ge=0, lt=1)] = 0.0  # sgd only
    mask_updates: StrictBool = False
    uniform: StrictBool = False  # adam only: UniformAdam (Nicolet et al. 2021), as Mitsuba's

    @model_validator(mode="after")
    def _uniform_is_adam(self) -> OptimizerConfig:
        if self.uniform and self.type != "adam":
            raise ValueError("uniform applies to adam only")
        return self


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


def _three(value: list[float]) -> list[float]:
    if len(value) != 3:
        raise ValueError(f"must be 3 numbers [x, y, z], got {len(value)}")
    return value


class LookAt(_Model):
    origin: list[Float]
    target: list[Float] = Field(default_factory=lambda: [0.0, 0.0, 0.0])
    up: list[Float] = Field(default_factory=lambda: [0.0, 1.0, 0.0])

    _points = field_validator("origin", "target", "up")(lambda value: _three(value))


class Spiral(_Model):
    """``count`` cameras on a golden-ratio spiral around ``target`` looking at it, as in
    Mitsuba's shape-optimisation tutorial."""

    count: Annotated[StrictInt, Field(gt=0)]
    distance: Annotated[Float, Field(gt=0)]
    target: list[Float] = Field(default_factory=lambda: [0.0, 0.0, 0.0])
    up: list[Float] = Field(default_factory=lambda: [0.0, 1.0, 0.0])

    _points = field_validator("target", "up")(lambda value: _three(value))


class ViewSpec(_Model):
    """One view, or a family of views, and its target image(s).

    Exactly one of: ``sensor`` (a sensor of the scene, by index or id), ``look_at``,
    ``spiral``, ``poses`` (a JSON file: a list of {origin, target, up} or {to_world}).
    Added sensors copy the scene's first sensor (film, filter, spp, fov) except for
    ``fov``, ``resolution`` and ``spp`` given here. ``image`` is the target; for a family,
    a path with ``{index}`` (0-based within the family)."""

    sensor: StrictInt | str | None = None
    look_at: LookAt | None = None
    spiral: Spiral | None = None
    poses: Path | None = None
    fov: Annotated[Float, Field(gt=0, lt=180)] | None = None
    resolution: Annotated[StrictInt, Field(gt=0)] | list[Annotated[StrictInt, Field(gt=0)]] \
        | None = None
    spp: Annotated[StrictInt, Field(gt=0)] | None = None
    image: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ViewSpec:
        given = [k for k in ("sensor", "look_at", "spiral", "poses") if getattr(self, k)
                 is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of sensor, look_at, spiral or poses"
                             + (f" (got {', '.join(given)})" if given else ""))
        if isinstance(self.resolution, list) and len(self.resolution) != 2:
            raise ValueError("resolution is one number or [width, height]")
        if self.sensor is not None and (self.fov, self.resolution) != (None, None):
            raise ValueError("a scene sensor keeps its own fov and resolution")
        return self

    def size(self) -> tuple[int, int] | None:
        """(width, height) if given."""
        r = self.resolution
        return None if r is None else (r, r) if isinstance(r, int) else (r[0], r[1])


class RenderSettings(_Model):
    """How each iteration renders (the target has its own spp and seed)."""

    spp: Annotated[StrictInt, Field(gt=0)] = 1
    max_depth: Annotated[StrictInt, Field(ge=-1)] = 3  # Mitsuba's count; -1 = unbounded
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    seed_policy: Literal["per_iteration", "fixed"] = "per_iteration"
    decorrelate_grad: StrictBool = True  # primal and gradient passes draw different samples
    # visibility terms of geometry: silhouettes and shadow edges; "primary": the camera's
    # silhouettes only (Mitsuba's direct_projective with sppi 0)
    boundary: StrictBool | Literal["primary"] = True


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
    target: Target | None = None  # None: every view names its image
    params: dict[str, ParamSpec]
    views: list[ViewSpec] | None = None  # None: the scene's first sensor
    views_per_iteration: Annotated[StrictInt, Field(gt=0)] | None = None  # None: all
    # an optimizer step after each view (Mitsuba's shape tutorial, before remeshing) rather
    # than one per iteration on the summed gradient: true, false, or before iteration N
    step_per_view: StrictBool | Annotated[StrictInt, Field(ge=0)] = False
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: Schedule = Field(default_factory=Schedule)
    loss: Loss = "mse"
    iterations: Annotated[StrictInt, Field(gt=0)]
    render: RenderSettings = Field(default_factory=RenderSettings)
    output: Output = Field(default_factory=Output)
    arch: Literal["auto", "cpu", "cuda"] = "auto"

    _source: Path | None = PrivateAttr(default=None)
    _lines: dict = PrivateAttr(default_factory=dict)  # key path -> YAML line
    _set_paths: dict = PrivateAttr(default_factory=dict)  # key paths given with --set

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """An empty section (``output:`` with nothing after it) means its defaults."""
        if isinstance(data, dict):
            optional = ("scene_args", "optimizer", "schedule", "loss", "render", "output",
                        "arch")
            return {k: v for k, v in data.items() if not (k in optional and v is None)}
        return data

    @model_validator(mode="after")
    def _targets(self) -> Recipe:
        views = self.views or []
        if self.views is not None and not views:
            raise ValueError("views: list at least one view, or leave the key out")
        if self.target is not None and self.target.image is not None and views:
            raise ValueError("with views, give each view its image (views: - image: ...), "
                             "not target.image")
        if self.target is None and not views:
            raise ValueError("target is missing: give target: {render: {}} to render the "
                             "scene, or target: {image: FILE}")
        return self

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

    def problems(self, found: list[tuple]) -> InvrenderError:
        """One error for (key path, message, hint) problems found after loading, e.g. by
        checks that need the scene, naming the file and each key's line as load-time
        problems do."""
        from invrender.recipe.errors import error

        return error(str(self._source or "recipe"), [(loc, None, message, hint)
                                         for loc, message, hint in found],
                     self._lines, self._set_paths)

    def steps_per_view(self, iteration: int) -> bool:
        """Whether ``iteration`` steps after each of its views (see ``step_per_view``)."""
        s = self.step_per_view
        return s if isinstance(s, bool) else iteration < s

    def lr_per_param(self) -> dict[str, float]:
        """The parameters that set their own learning rate (for ``make_optimizer``)."""
        return {name: spec.lr for name, spec in self.params.items() if spec.lr is not None}

    def resolved_dict(self) -> dict[str, Any]:
        """Everything, defaults included and paths absolute: what ``recipe_resolved.yaml`` holds.

        Loading that file again gives an equal recipe, wherever it is written.
        """
        return self.model_dump(mode="json", by_alias=True)


def _flat(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [float(value)]


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
