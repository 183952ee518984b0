"""``invrender.optimize``: the inverse-rendering loop a recipe describes.

recipe -> scene -> parameters -> (render_grad: integrator + loss) -> optimizer -> writer.
Each iteration's random numbers are a function of (seed, iteration), and the whole state
(values, optimizer moments, iteration) is checkpointed exactly, so a run that is stopped
and resumed ends with the same parameters, bit for bit, as one that ran straight through.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from invrender import checkpoint as ckpt_mod
from invrender import runtime
from invrender.errors import InvrenderError
from invrender.gradients import NonFiniteGradient, render_grad
from invrender.image_io import read_image, write_exr, write_png
from invrender.optim import lr_factor, make_optimizer, project
from invrender.params import ParameterMap
from invrender.recipe import Recipe, load_recipe
from invrender.renderer import render
from invrender.scene.loader import load_scene

MAX_BAD_STEPS = 5  # consecutive non-finite gradients before the run stops


class Interrupted(InvrenderError):
    """Ctrl-C: the state was checkpointed; ``--resume`` continues."""


@dataclass
class OptimizeResult:
    run_dir: Path
    values: dict[str, np.ndarray]
    log: list[dict] = field(default_factory=list)
    first_iteration_s: float = float("nan")


def parameter_error(values: dict, truth: dict) -> float | None:
    """Squared error: summed over the entries of a colour or transform, and averaged over
    vertices or texels (each summed over its 3 coordinates) for larger arrays."""
    if not truth:
        return None
    total = 0.0
    for name, t in truth.items():
        d = np.asarray(values[name], np.float64) - t
        total += float((d * d).sum() * (3.0 / d.size if d.size > 3 else 1.0))
    return total


def _summary(value: np.ndarray):
    """A log-friendly value: the numbers for small parameters, a norm for large ones."""
    return value.tolist() if value.size <= 12 else {"norm": float(np.linalg.norm(value))}


def iteration_seed(recipe: Recipe, iteration: int) -> int:
    r = recipe.render
    return r.seed + iteration if r.seed_policy == "per_iteration" else r.seed


def check_against_scene(recipe: Recipe, scene, pmap: ParameterMap) -> np.ndarray | None:
    """Every problem of the recipe that needs the scene, all at once and before anything
    compiles: unknown or read-only parameters, values of the wrong shape, a target image
    of another size than the film. Returns the target image if the recipe names one."""
    from invrender.params import unknown_parameter

    found = []
    for name, spec in recipe.params.items():
        if name not in pmap:
            err = unknown_parameter(name, pmap.keys())
            found.append((("params", name), err.message, err.hint))
            continue
        p = pmap.parameter(name)
        if not p.differentiable:
            found.append((("params", name), f"{p.kind} '{name}' cannot be optimised (it is "
                          "not differentiable)", "choose a differentiable parameter"))
            continue
        shape = pmap[name].shape
        for key in ("init", "truth"):
            value = getattr(spec, key)
            if value is None:
                continue
            try:
                np.broadcast_to(np.asarray(value, np.float64), shape)
            except ValueError:
                given = np.asarray(value).shape
                found.append((("params", name, key), f"has shape {given}, but '{name}' has "
                              f"shape {shape}", "give one number or a list of that shape"))
    image = None
    if recipe.target.image is not None:
        sensor = scene.sensor(0)
        try:
            image = read_image(recipe.target.image)
        except InvrenderError as err:
            found.append((("target", "image"), err.message, err.hint))
        else:
            if image.shape[:2] != (sensor.height, sensor.width):
                found.append((("target", "image"), f"the image is {image.shape[1]}x"
                              f"{image.shape[0]} but the scene renders {sensor.width}x"
                              f"{sensor.height}", "set scene_args res or resize the image"))
    if found:
        raise recipe.problems(found)
    return image


def _target(recipe: Recipe, scene, pmap: ParameterMap, image=None):
    """The target image, and the true parameter values when the target is a render."""
    truth = {n: np.asarray(s.truth, np.float64) for n, s in recipe.params.items()
             if s.truth is not None}
    if recipe.target.image is not None:
        return image, truth
    t = recipe.target.render
    image = render(scene, spp=t.spp, seed=t.seed, max_depth=recipe.render.max_depth)
    for name in recipe.params:
        truth.setdefault(name, pmap[name])
    return image, truth


def optimize(recipe: Recipe | str | Path, resume: bool = False,
             on_iteration: Callable[[dict], None] | None = None,
             on_start: Callable[[int, int], None] | None = None) -> OptimizeResult:
    """Run a recipe; outputs go to ``recipe.output.dir``. See the module docstring."""
    if not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    scene = load_scene(recipe.scene, **recipe.scene_args)
    pmap = ParameterMap(scene)
    names = list(recipe.params)
    target_image = check_against_scene(recipe, scene, pmap)  # before anything compiles
    runtime.init(recipe.arch)
    run_dir = Path(recipe.output.dir)
    (run_dir / "frames").mkdir(parents=True, exist_ok=True)

    target, truth = _target(recipe, scene, pmap, target_image)
    sensor = scene.sensor(0)
    if target.shape[:2] != (sensor.height, sensor.width):
        raise InvrenderError(f"target is {target.shape[1]}x{target.shape[0]} but the scene "
                             f"renders {sensor.width}x{sensor.height}",
                             hint="set scene_args res or resize the target")
    write_exr(run_dir / "target.exr", target)
    write_png(run_dir / "target.png", target)
    (run_dir / "recipe_resolved.yaml").write_text(yaml.safe_dump(recipe.resolved_dict(),
                                                                 sort_keys=False))

    optimizer = make_optimizer(recipe.optimizer, recipe.lr_per_param())
    clamps = {n: (s.clamp or [None, None]) for n, s in recipe.params.items()}
    log_path = run_dir / "log.jsonl"
    if resume:
        state = ckpt_mod.load(run_dir)
        for n in names:
            pmap[n] = state.values[n]
        optimizer.load_state_dict(state.optimizer)
        start, bad = state.iteration, state.bad_steps
        lines = log_path.read_text().splitlines()[: state.log_lines] if log_path.exists() else []
        log = [json.loads(x) for x in lines]
    else:
        for n, spec in recipe.params.items():
            if spec.init is not None:
                pmap[n] = project(np.asarray(spec.init, np.float64), *clamps[n])
        start, bad, log = 0, 0, []
    log_path.write_text("".join(json.dumps(r) + "\n" for r in log))

    def snapshot(iteration: int) -> ckpt_mod.Checkpoint:
        """The state after ``iteration`` completed iterations (copies, safe to keep)."""
        return ckpt_mod.Checkpoint(iteration, pmap.values(names), optimizer.state_dict(),
                                   len(log), bad)

    committed = snapshot(start)  # what a Ctrl-C saves: never a half-done iteration
    if not resume:
        ckpt_mod.save(run_dir, committed)
    result = OptimizeResult(run_dir, pmap.values(names), log)
    every = recipe.output
    if on_start is not None:
        on_start(start, recipe.iterations)
    try:
        for it in range(start, recipe.iterations):
            t0 = time.perf_counter()
            values = pmap.values(names)
            record = {"iteration": it, "seed": iteration_seed(recipe, it)}
            try:
                g = render_grad(scene, names, loss=recipe.loss, target=target,
                                spp=recipe.render.spp, seed=record["seed"],
                                max_depth=recipe.render.max_depth,
                                decorrelate=recipe.render.decorrelate_grad)
            except NonFiniteGradient as exc:
                bad += 1
                record.update(skipped=str(exc), bad_steps=bad)
                if bad >= MAX_BAD_STEPS:
                    with open(log_path, "a") as f:
                        f.write(json.dumps(record) + "\n")
                    raise InvrenderError(
                        f"{bad} consecutive steps had non-finite gradients for "
                        f"{', '.join(exc.names)}; stopped at iteration {it}",
                        hint="lower that parameter's lr, give it a clamp range, or use more "
                             "spp; the last good checkpoint is kept") from None
                g = None
            if g is not None:
                bad = 0
                scale = lr_factor(recipe.schedule, it, recipe.iterations)
                new = optimizer.step(values, g.grads, lr_scale=scale)
                for n in names:
                    pmap[n] = project(new[n], *clamps[n])
                record.update(loss=g.loss, lr_factor=scale,
                              grad_norm=float(np.sqrt(sum((v * v).sum()
                                                          for v in g.grads.values()))))
                if every.frame_every and (it % every.frame_every == 0
                                          or it == recipe.iterations - 1):
                    _write_frame(run_dir, it, g.image, every.formats)
            record["params"] = {n: _summary(pmap[n]) for n in names}
            err = parameter_error(pmap.values(names), truth)
            if err is not None:
                record["param_error"] = err
            record["ms"] = 1000 * (time.perf_counter() - t0)
            if it == start:
                result.first_iteration_s = record["ms"] / 1000
            log.append(record)
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            committed = snapshot(it + 1)
            if every.checkpoint_every and (it + 1) % every.checkpoint_every == 0:
                ckpt_mod.save(run_dir, committed)
            if on_iteration is not None:
                on_iteration(record)
    except KeyboardInterrupt:
        ckpt_mod.save(run_dir, committed)
        raise Interrupted(f"interrupted after {committed.iteration} iterations; state saved "
                          f"in {run_dir}", hint="continue with --resume") from None

    ckpt_mod.save(run_dir, snapshot(recipe.iterations))
    result.values = pmap.values(names)
    _write_results(run_dir, scene, pmap, names, truth, log)
    return result


def _write_frame(run_dir: Path, it: int, image: np.ndarray, formats) -> None:
    stem = run_dir / "frames" / f"iter_{it:04d}"
    if "exr" in formats:
        write_exr(stem.with_suffix(".exr"), image)
    if "png" in formats:
        write_png(stem.with_suffix(".png"), image)


def _write_results(run_dir: Path, scene, pmap: ParameterMap, names, truth, log) -> None:
    from invrender.plots import convergence_png
    from invrender.scene.writer import write_scene

    final = {n: pmap[n].tolist() for n in names}
    (run_dir / "params_final.json").write_text(json.dumps(
        {"params": final, "truth": {n: np.asarray(t).tolist() for n, t in truth.items()},
         "param_error": parameter_error(pmap.values(names), truth),
         "iterations": len(log)}, indent=2))
    convergence_png(run_dir / "convergence.png", log)
    write_scene(scene, run_dir / "scene_final" / "scene.xml")
