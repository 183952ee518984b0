"""Recipe loading: defaults, paths, ``--set`` overrides, and errors that name line and fix.

Each test writes its recipe (and an empty scene file) into ``tmp_path``; nothing renders.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from invrender.errors import InvrenderError
from invrender.recipe import RecipeError, load_recipe

GOOD = """\
scene: scenes/cbox.xml
target:
  render: {spp: 64, seed: 1}
params:
  red.reflectance.value: {init: [0.9, 0.9, 0.9], lr: 0.05, clamp: [0.0, 1.0]}
  green.reflectance.value:
optimizer: {type: adam, lr: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8}
schedule: {type: constant}
loss: mse
iterations: 100
render: {spp: 1, max_depth: 3, seed_policy: per_iteration, decorrelate_grad: true}
output: {dir: runs/cbox_red_wall, frame_every: 10, formats: [exr, png]}
"""


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    (tmp_path / "scenes").mkdir(exist_ok=True)
    (tmp_path / "scenes" / "cbox.xml").write_text("<scene/>")
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path, overrides=()) -> list[InvrenderError]:
    with pytest.raises(RecipeError) as info:
        load_recipe(path, overrides)
    return info.value.problems


def test_good_recipe_loads_with_defaults_and_resolved_paths(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD))
    assert recipe.scene == tmp_path / "scenes" / "cbox.xml"
    assert recipe.output.dir == tmp_path / "runs" / "cbox_red_wall"
    assert recipe.target.render.spp == 64 and recipe.target.image is None
    assert recipe.params["red.reflectance.value"].clamp == [0.0, 1.0]
    assert recipe.params["green.reflectance.value"].init is None
    assert recipe.optimizer.epsilon == 1e-8  # YAML 1.1 would read `1e-8` as a string
    assert recipe.render.seed == 0 and recipe.output.checkpoint_every == 10
    assert recipe.lr_per_param() == {"red.reflectance.value": 0.05}
    assert recipe.source == tmp_path / "recipe.yaml"


def test_minimal_recipe_and_shorthands(tmp_path):
    path = write(tmp_path, """\
        scene: scenes/cbox.xml
        target: {image: scenes/cbox.xml}
        params: {red.reflectance.value: }
        optimizer: sgd
        schedule: cosine
        iterations: 5
        output:
        """, name="mini.yaml")
    recipe = load_recipe(path)
    assert recipe.optimizer.type == "sgd" and recipe.schedule.type == "cosine"
    assert recipe.target.image == tmp_path / "scenes" / "cbox.xml"
    assert recipe.output.dir == tmp_path / "runs" / "mini"
    assert recipe.output.formats == ["exr", "png"]


def test_resolved_dict_reloads_to_the_same_recipe(tmp_path):
    recipe = load_recipe(write(tmp_path, GOOD))
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    resolved = elsewhere / "recipe_resolved.yaml"
    resolved.write_text(yaml.safe_dump(recipe.resolved_dict(), sort_keys=False))
    again = load_recipe(resolved)
    assert again.model_dump() == recipe.model_dump()
    assert again.resolved_dict()["scene"] == str(tmp_path / "scenes" / "cbox.xml")


def test_overrides(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD)
    (tmp_path / "other.xml").write_text("<scene/>")
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(path, [
        "params.red.reflectance.value.lr=0.1",
        "params.red.reflectance.value.clamp=[0.1, 0.95]",
        "params.blue.reflectance.value.init=[1, 2, 3]",
        "params.wall.emitter.radiance.value={lr: 0.5}",
        "optimizer.lr=1e-3",
        "schedule={type: step, step_size: 10, gamma: 0.5}",
        "render.spp=4",
        "scene=other.xml",
    ])
    assert recipe.params["red.reflectance.value"].lr == 0.1
    assert recipe.params["red.reflectance.value"].clamp == [0.1, 0.95]
    assert recipe.params["red.reflectance.value"].init == [0.9, 0.9, 0.9]
    assert recipe.params["blue.reflectance.value"].init == [1.0, 2.0, 3.0]
    assert recipe.params["wall.emitter.radiance.value"].lr == 0.5
    assert recipe.optimizer.lr == 1e-3 and recipe.optimizer.beta1 == 0.9
    assert recipe.schedule.step_size == 10
    assert recipe.render.spp == 4 and recipe.render.max_depth == 3
    assert recipe.scene == tmp_path / "other.xml"  # --set paths: from the working directory


def test_override_errors_name_the_override(tmp_path):
    found = problems(write(tmp_path, GOOD), ["loss=msee", "iterations", "loss.kind=x"])
    text = "\n".join(str(p) for p in found)
    assert "loss: 'msee' is not one of mse, l1, relative_mse (from --set loss=msee)" in text
    assert "--set 'iterations': expected KEY=VALUE" in text
    assert "loss is a string, not a mapping" in text


BAD = [
    # (recipe text, line, substrings of the message)
    (GOOD.replace("loss: mse", "loss: msee"), 9,
     ["loss: 'msee' is not one of mse, l1, relative_mse"]),
    (GOOD.replace("iterations: 100", "iterations: 0"), 10,
     ["iterations: must be greater than 0, got 0"]),
    (GOOD.replace("iterations: 100", "iteration: 100"), 10,
     ["iteration: unknown key; allowed keys: scene, scene_args, target, params",
      "did you mean 'iterations'"]),
    (GOOD.replace("type: adam", "type: adamw"), 7,
     ["optimizer.type: 'adamw' is not one of adam, sgd"]),
    (GOOD.replace("beta1: 0.9", "betta1: 0.9"), 7,
     ["optimizer.betta1: unknown key; allowed keys: type, lr, beta1, beta2, epsilon"]),
    (GOOD.replace("lr: 0.05, clamp", "lr: fast, clamp"), 5,
     ["params.red.reflectance.value.lr: must be a valid number, got 'fast'"]),
    (GOOD.replace("clamp: [0.0, 1.0]", "clamp: [1.0, 0.0]"), 5,
     ["params.red.reflectance.value.clamp: lo must not exceed hi"]),
    (GOOD.replace("init: [0.9, 0.9, 0.9]", "init: [0.9, red]"), 5,
     ["params.red.reflectance.value.init: must be a finite number or a list of them"]),
    (GOOD.replace("init: [0.9, 0.9, 0.9]", "init: [0.9, .nan, 0.9]"), 5,
     ["params.red.reflectance.value.init: must be a finite number"]),
    (GOOD.replace("formats: [exr, png]", "formats: [exr, tiff]"), 12,
     ["output.formats[1]: 'tiff' is not one of exr, png"]),
    (GOOD.replace("seed_policy: per_iteration", "seed_policy: sometimes"), 11,
     ["render.seed_policy: 'sometimes' is not one of per_iteration, fixed"]),
    (GOOD.replace("decorrelate_grad: true", "decorrelate_grad: 1"), 11,
     ["render.decorrelate_grad: must be a valid boolean"]),
    (GOOD.replace("{type: constant}", "{type: step}"), 8,
     ["schedule: type 'step' needs step_size and gamma"]),
    (GOOD.replace("render: {spp: 64, seed: 1}", "image: scenes/cbox.xml\n  render: {}"), 2,
     ["target: give exactly one of render or image"]),
    (GOOD.replace("scenes/cbox.xml", "scenes/nope.xml"), 1,
     ["scene: scene file not found:", "nope.xml"]),
    (GOOD + "arch: gpu\n", 13, ["arch: 'gpu' is not one of auto, cpu, cuda"]),
    (GOOD + "loss: l1\n", 13, ["loss: duplicate key (first at line 9)"]),
    (GOOD.replace("params:\n  red.reflectance.value: {init: [0.9, 0.9, 0.9], lr: 0.05, "
                  "clamp: [0.0, 1.0]}\n  green.reflectance.value:\n", "params: {}\n"), 4,
     ["params: name at least one parameter"]),
    (GOOD.replace("optimizer: {", "optimizer: [").replace("epsilon: 1e-8}", "epsilon: 1e-8]"),
     7, ["optimizer: must be a mapping with keys type, lr"]),
    (GOOD.replace("init: [0.9, 0.9, 0.9]", "init: [0.9, 1.2, 0.9]"), 5,
     ["params.red.reflectance.value: init 1.2 lies outside clamp [0.0, 1.0]"]),
    (GOOD.replace("dir: runs/cbox_red_wall", "dir: scenes/cbox.xml/run"), 12,
     ["output.dir: ", "cbox.xml is a file, not a folder"]),
]


@pytest.mark.parametrize(("text", "line", "needles"), BAD,
                         ids=[b[2][0].split(":")[0] + str(i) for i, b in enumerate(BAD)])
def test_each_bad_case_names_line_and_allowed_values(tmp_path, text, line, needles):
    path = write(tmp_path, text)
    found = problems(path)
    assert len(found) == 1, [str(p) for p in found]
    err = found[0]
    assert (err.file, err.line) == (str(path), line)
    message = str(err)
    assert message.startswith(f"{path}:{line}: ")
    for needle in needles:
        assert needle in message


def test_missing_required_key_is_reported_without_a_line(tmp_path):
    path = write(tmp_path, GOOD.replace("iterations: 100\n", ""))
    (err,) = problems(path)
    assert str(err) == f"{path}: iterations: required key is missing"


def test_several_problems_give_several_messages(tmp_path):
    text = (GOOD.replace("loss: mse", "loss: msee").replace("iterations: 100", "iterations: -3")
            .replace("spp: 1,", "spp: 0,").replace("beta1: 0.9", "beta_1: 0.9"))
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: 4 problems"
    assert [p.line for p in info.value.problems] == [7, 9, 10, 11]
    assert lines[1].startswith(f"{path}:7: optimizer.beta_1: unknown key")
    assert lines[2] == f"{path}:9: loss: 'msee' is not one of mse, l1, relative_mse"
    assert lines[3] == f"{path}:10: iterations: must be greater than 0, got -3"
    assert lines[4] == f"{path}:11: render.spp: must be greater than 0, got 0"
    assert isinstance(info.value, InvrenderError)


def test_duplicate_keys_do_not_hide_other_problems(tmp_path):
    path = write(tmp_path, GOOD.replace("loss: mse", "loss: msee") + "iterations: 5\n")
    assert [(p.line, str(p).split(": ", 2)[1]) for p in problems(path)] == [
        (9, "loss"), (13, "iterations")]


def test_loss_names_are_exported():
    from invrender.recipe import LOSSES

    assert LOSSES == ("mse", "l1", "relative_mse")


def test_missing_file(tmp_path):
    with pytest.raises(InvrenderError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_deeply_nested_yaml_is_one_error(tmp_path):
    path = write(tmp_path, "params: " + "[" * 5000 + "]" * 5000 + "\n")
    (err,) = problems(path)
    assert str(err) == (f"{path}: invalid YAML: nested too deeply (a recipe needs a few "
                        "levels of nesting)")


def test_yaml_syntax_error_has_its_line(tmp_path):
    path = write(tmp_path, "scene: a.xml\ntarget:\n  render: {spp: 4\niterations: 3\n")
    with pytest.raises(InvrenderError) as info:
        load_recipe(path)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{path}:4: YAML syntax error")


@pytest.mark.parametrize(("text", "needle"), [
    ("", "the recipe is empty"),
    ("- scene: a.xml\n", "the top level must be a mapping of keys, got a list"),
    ("just words\n", "the top level must be a mapping of keys, got a string"),
])
def test_empty_or_non_mapping_top_level(tmp_path, text, needle):
    with pytest.raises(InvrenderError, match=needle) as info:
        load_recipe(write(tmp_path, text))
    assert "scene, scene_args, target, params" in str(info.value)


RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def test_environment_variables_in_paths(tmp_path, monkeypatch):
    """The tutorials' red-wall recipe names its scene by ${MITSUBA_TUTORIALS}: unset, the
    error names the variable; set, the path resolves."""
    monkeypatch.delenv("MITSUBA_TUTORIALS", raising=False)
    [error] = problems(RECIPES / "tutorial_red_wall.yaml")
    assert "MITSUBA_TUTORIALS" in str(error) and "scene file not found" in str(error)
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    (scenes / "cbox.xml").write_text("<scene version='3.0.0'/>")
    monkeypatch.setenv("MITSUBA_TUTORIALS", str(tmp_path))
    recipe = load_recipe(RECIPES / "tutorial_red_wall.yaml")
    assert recipe.scene == scenes / "cbox.xml"
    assert recipe.iterations == 50 and recipe.render.spp == 4


def test_material_capture_recipe_validates():
    recipe = load_recipe(RECIPES / "material_capture.yaml")
    assert set(recipe.params) == {"metal.alpha.data", "plastic.diffuse_reflectance.data"}
