"""Bad input never reaches a traceback: seeded mutations of the bundled scenes and of a
small recipe (``tests/fuzz.py``) through ``invrender params``, ``render`` and ``optimize``.

Every case must exit 0 or 1, print no traceback, and name a file when it exits 1; status
3 (our own bug, reported in one line) fails the test too. The cases run in one subprocess
per command family (Taichi starts once in each); a few are also run as real ``invrender``
processes, so the console entry point is covered. Plus the cases that once escaped as
tracebacks, each on its own: a film too large for memory, thousands of nested elements, a
recipe whose output folder is a file, and a bug in our own code.
"""

import json
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from invrender.cli.main import app
from tests.conftest import ROOT, SCENES
from tests.fuzz import XML_KINDS, mutate_xml, mutate_yaml

SEED = 2026_12_01
SCENE_FILES = ["cbox.xml", "cbox_textured.xml", "env_sphere.xml", "furnace.xml"]
N_PARAMS, N_RENDER, N_RECIPES = 240, 40, 60
RECIPE = """scene: {scene}
scene_args: {{res: 8}}
target:
  render: {{spp: 1, seed: 1}}
params:
  red.reflectance.value: {{init: [0.9, 0.9, 0.9], lr: 0.05, clamp: [0.0, 1.0]}}
optimizer: {{type: adam, lr: 0.05}}
loss: mse
iterations: 1
render: {{spp: 1, max_depth: 2, seed: 100, seed_policy: per_iteration}}
output: {{dir: {out}, frame_every: 1, checkpoint_every: 1, formats: [exr, png]}}
"""


def copy_assets(folder: Path) -> list[str]:
    """The bundled meshes and textures beside the cases, and files of the wrong kinds."""
    for sub in ("meshes", "assets"):
        shutil.copytree(SCENES / sub, folder / sub)
    (folder / "wrong.obj").write_bytes(b"\x89PNG\r\n\x1a\n not a mesh")
    (folder / "wrong.png").write_text("v 0 0 0\nf 1 2 3\n")
    (folder / "empty.ply").write_bytes(b"")
    return ["wrong.obj", "wrong.png", "empty.ply", "meshes", "nope.obj", "meshes/back.obj"]


def scene_cases(folder: Path, rng: random.Random, files: list[str]) -> list[Path]:
    """The params cases, then the render cases (more of them with a resized film)."""
    paths = []
    for k in range(N_PARAMS + N_RENDER):
        name = rng.choice(SCENE_FILES)
        text = (SCENES / name).read_bytes()
        kinds = XML_KINDS if k < N_PARAMS else XML_KINDS + ["film"] * 4
        for _ in range(rng.choice([1, 1, 2])):
            _, text = mutate_xml(text, rng, files, kinds)
        path = folder / f"scene_{k:03d}.xml"
        path.write_bytes(text)
        paths.append(path)
    return paths


def recipe_cases(folder: Path, rng: random.Random, files: list[str]) -> list[Path]:
    paths = []
    for k in range(N_RECIPES):
        text = RECIPE.format(scene=SCENES / "cbox.xml", out=folder / f"run_{k:03d}")
        _, data = mutate_yaml(text, rng, files + [str(SCENES / "cbox.xml")])
        path = folder / f"recipe_{k:03d}.yaml"
        path.write_bytes(data)
        paths.append(path)
    return paths


def run(folder: Path, name: str, cases: list[dict]) -> subprocess.Popen:
    batch = folder / f"{name}.json"
    batch.write_text(json.dumps(cases))
    return subprocess.Popen([sys.executable, "-m", "tests.fuzz", str(batch)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def check(folder: Path, name: str, proc: subprocess.Popen, cases: list[dict]) -> list:
    out, _ = proc.communicate(timeout=600)
    progress = (folder / f"{name}.progress")
    assert proc.returncode == 0, (f"the {name} batch died in case "
                                  f"{progress.read_text() if progress.exists() else '?'}: "
                                  f"{out[-2000:]}")
    results = json.loads((folder / f"{name}.results.json").read_text())
    bad = []
    for case, result in zip(cases, results, strict=True):
        text = result["output"]
        named = any(Path(p).name in text for p in case["files"])
        if (result["code"] not in (0, 1) or "Traceback" in text
                or (result["code"] == 1 and not named)):
            bad.append((case["args"], result["code"], text[-600:]))
    return bad


def test_mutated_scenes_and_recipes_end_in_one_line(tmp_path):
    rng = random.Random(SEED)
    files = copy_assets(tmp_path)
    scenes = scene_cases(tmp_path, rng, files)
    recipes = recipe_cases(tmp_path, rng, files)
    params = [{"args": ["params", str(p)], "files": [str(p)] + files} for p in
              scenes[:N_PARAMS]]
    renders = [{"args": ["render", str(p), "--spp", "1", "--arch", "cpu", "-o",
                         str(tmp_path / f"out_{k}.exr")]
                + (["--res", "8", "8"] if k % 2 else []),  # half at the scene's own film
                "files": [str(p)] + files}
               for k, p in enumerate(scenes[N_PARAMS:])]
    optimizes = [{"args": ["optimize", str(p), "--set", "arch=cpu"],
                  "files": [str(p), str(SCENES / "cbox.xml")] + files} for p in recipes]
    first = run(tmp_path, "params", params)
    second = run(tmp_path, "render", renders + optimizes)
    bad = check(tmp_path, "params", first, params)
    bad += check(tmp_path, "render", second, renders + optimizes)
    assert not bad, f"{len(bad)} cases (seed {SEED}), first: {bad[0]}"


def test_the_console_entry_point_reports_bad_input_in_one_line(tmp_path):
    """Real ``invrender`` processes, for the entry point: a truncated scene and a recipe
    that is not UTF-8."""
    exe = Path(sys.executable).with_name("invrender")
    scene = tmp_path / "cut.xml"
    scene.write_bytes((SCENES / "cbox.xml").read_bytes()[:700])
    recipe = tmp_path / "latin.yaml"
    recipe.write_bytes(b"scene: caf\xe9.xml\n")
    for args in (["params", str(scene)], ["optimize", str(recipe)]):
        proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
        assert Path(args[1]).name in proc.stderr


runner = CliRunner()


def test_a_film_too_large_for_memory_is_refused_before_allocating(tmp_path):
    text = (SCENES / "cbox.xml").read_text().replace('value="meshes/',
                                                     f'value="{SCENES}/meshes/')
    for size in ("400000", "40000"):  # past 32-bit indices; past this machine's memory
        path = tmp_path / f"big_{size}.xml"
        path.write_text(re.sub(r'name="res" value="\d+"', f'name="res" value="{size}"', text))
        result = runner.invoke(app, ["render", str(path), "--arch", "cpu", "-o",
                                     str(tmp_path / "x.exr")])
        assert result.exit_code == 1, result.output
        line = result.output.strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"{path}:" in line and f"{size}x{size} film" in line
        assert "lower the film's width and height" in line


def test_thousands_of_nested_elements_are_one_error_with_a_line(tmp_path):
    path = tmp_path / "deep.xml"
    path.write_text('<scene version="3.0.0">\n' + "<x>" * 5000 + "</x>" * 5000 + "\n</scene>")
    result = runner.invoke(app, ["params", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2: elements nested deeper than 64 levels" in result.output


def test_a_bug_is_one_line_exit_3_and_a_traceback_file(tmp_path, monkeypatch):
    from invrender.scene import loader

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug planted by the test")

    monkeypatch.setattr(loader, "load_scene", broken)
    result = runner.invoke(app, ["params", str(SCENES / "cbox.xml")])
    assert result.exit_code == 3
    text = result.output
    assert "Traceback" not in text
    assert "internal error (a bug in invrender): ZeroDivisionError: a bug planted" in text
    log = Path(re.search(r"the traceback is in (\S+);", text).group(1))
    assert "a bug planted by the test" in log.read_text() and "Traceback" in log.read_text()

