"""The optimisation recipe: pydantic models of the YAML file, ``--set`` overrides, and errors
that name the line.

The models are the definition of the format (DESIGN.md §5); unknown keys are errors so that
a typo cannot silently fall back to a default. ``load_recipe`` keeps the line of every key
while parsing, so each validation problem is reported as ``recipe.yaml:LINE: key.path:
what is wrong`` with the allowed values, all problems at once. Relative paths are resolved
against the recipe's directory (paths given with ``--set`` against the working directory,
where the user typed them). Nothing here imports Taichi.

The submodules:

- ``models``: the pydantic models (``Recipe`` and its sections) and the ``Loss``/``Float``
  types;
- ``errors``: ``RecipeError`` and the turning of pydantic and YAML problems into one-line
  messages with the YAML line;
- ``overrides``: the ``--set key.path=value`` overrides;
- ``dialect``: the YAML loader shared by the file and ``--set`` values (YAML 1.2 floats);
- ``loader``: ``load_recipe``: parsing with line recording, path resolution, file checks.
"""

from invrender.recipe.errors import RecipeError
from invrender.recipe.loader import load_recipe, recipe_from_dict
from invrender.recipe.models import (
    LOSSES,
    Float,
    Loss,
    OptimizerConfig,
    Output,
    ParamSpec,
    Recipe,
    RenderSettings,
    RenderTarget,
    Schedule,
    Target,
)

__all__ = ["LOSSES", "Float", "Loss", "OptimizerConfig", "Output", "ParamSpec", "Recipe",
           "RecipeError", "RenderSettings", "RenderTarget", "Schedule", "Target", "load_recipe",
           "recipe_from_dict"]
