"""``invrender.optimize``: the inverse-rendering loop a recipe describes.

recipe -> scene (+ views) -> parameters -> variables -> (render_grad per view: integrator +
loss, summed) -> optimizer -> writer. Each iteration's random numbers and batch of views
are a function of (seed, iteration), and the whole state (variables, optimizer moments,
iteration, remeshed meshes) is checkpointed exactly, so a run that is stopped and resumed
ends with the same parameters, bit for bit, as one that ran straight through.
"""

from __future__ import annotations

import json
import os
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
from invrender.image_io import read_image
from invrender.optim import lr_factor, make_optimizer, project
from invrender.params import GEOMETRY_KINDS, ParameterMap
from invrender.recipe import Recipe, load_recipe, recipe_from_dict
from invrender.renderer import render
from invrender.run_files import write_image, write_results, write_targets
from invrender.scene.loader import load_scene
from invrender.variables import Variables
from invrender.views import View, add_views, batch, cameras_inside, view_seed

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
        if np.shape(values[name]) != np.shape(t):  # a remeshed mesh: see the mesh metrics
            continue
        d = np.asarray(values[name], np.float64) - t
        with np.errstate(over="ignore"):  # a diverged run's error is inf, not a warning
            total += float((d * d).sum() * (3.0 / d.size if d.size > 3 else 1.0))
    return total


def _summary(value: np.ndarray):
    """A log-friendly value: the numbers for small parameters, a norm for large ones."""
    return value.tolist() if value.size <= 12 else {"norm": float(np.linalg.norm(value))}


def resident_mb() -> float | None:
    """This process's resident memory now (Linux), for the log: a run's memory stays flat."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def iteration_seed(recipe: Recipe, iteration: int) -> int:
    r = recipe.render
    return r.seed + iteration if r.seed_policy == "per_iteration" else r.seed


def check_against_scene(recipe: Recipe, scene, pmap: ParameterMap, views: list[View],
                        reference=None) -> tuple[list[np.ndarray | None], dict]:
    """Every problem of the recipe that needs the scene, all at once and before anything
    compiles: unknown or read-only parameters, values of the wrong shape, settings that do
    not apply to a parameter, meshes the remesher cannot take, views without a target,
    target images of another size than their view, a camera inside a mesh being
    optimised. Returns each view's target image where the recipe names one, and the
    ``truth_mesh`` files read, by parameter."""
    from invrender.geometry.mesh import read_mesh
    from invrender.geometry.remesh import check_remeshable
    from invrender.params import unknown_parameter

    found, truth_files = [], {}
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
        for key in ("init", "truth", "mask"):
            value = getattr(spec, key)
            if value is None:
                continue
            try:
                np.broadcast_to(np.asarray(value, np.float64), shape)
            except ValueError:
                given = np.asarray(value).shape
                found.append((("params", name, key), f"has shape {given}, but '{name}' has "
                              f"shape {shape}", "give one number or a list of that shape"))
        for key in ("large_steps", "remesh", "truth_mesh"):
            if getattr(spec, key) is not None and p.kind != "vertices":
                found.append((("params", name, key), f"applies to vertex positions, not to "
                              f"{p.kind} '{name}'", f"remove {key}, or optimise "
                              f"{p.owner.id if p.kind in GEOMETRY_KINDS else '<shape>'}"
                              ".vertex_positions"))
        for key in ("clamp", "mask"):
            if spec.large_steps is not None and getattr(spec, key) is not None:
                found.append((("params", name, key), f"cannot {key} vertex positions "
                              "optimised with large_steps", f"remove {key}"))
        if spec.remesh is not None and p.kind == "vertices":
            try:
                check_remeshable(p.owner.vertices, p.owner.faces)
            except InvrenderError as err:
                found.append((("params", name, "remesh"), err.message, err.hint))
        if spec.truth_mesh is not None:
            try:
                truth_files[name] = read_mesh(spec.truth_mesh)
            except InvrenderError as err:
                found.append((("params", name, "truth_mesh"), err.message, err.hint))
    moving = [pmap.parameter(n).owner for n in recipe.params
              if n in pmap and pmap.parameter(n).kind in GEOMETRY_KINDS]
    rendered = recipe.target is not None and recipe.target.render is not None
    origins = np.array([scene.sensors[v.sensor].to_world[:3, 3] for v in views])
    for mesh in {id(m): m for m in moving}.values():
        inside = cameras_inside(origins, mesh.vertices, mesh.faces)
        for view, origin in zip(np.array(views)[inside], origins[inside], strict=True):
            found.append((view.loc or ("scene",), f"{view.name}: the camera at "
                          f"{np.round(origin, 4).tolist()} is inside mesh '{mesh.id}'",
                          "move the camera outside the mesh being optimised"))
    images: list[np.ndarray | None] = []
    for view in views:
        sensor = scene.sensors[view.sensor]
        path = view.image
        if path is None and recipe.target is not None and recipe.target.image is not None:
            path = recipe.target.image
        if path is None:
            if not rendered:
                found.append((view.loc, f"{view.name} has no target",
                              "give the view an image, or target: {render: {}} to render "
                              "it from the scene"))
            images.append(None)
            continue
        loc = (*view.loc, "image") if view.image is not None else ("target", "image")
        try:
            image = read_image(path)
        except InvrenderError as err:
            found.append((loc, err.message, err.hint))
            images.append(None)
            continue
        if image.shape[:2] != (sensor.height, sensor.width):
            size = f"is {image.shape[1]}x{image.shape[0]} but"
            if recipe.views is None:
                found.append((loc, f"the image {size} the scene renders {sensor.width}x"
                              f"{sensor.height}", "set scene_args res or resize the image"))
            else:
                found.append((loc, f"{Path(path).name} {size} {view.name} renders "
                              f"{sensor.width}x{sensor.height}", "set the view's resolution "
                              "or resize the image"))
        images.append(image)
    if found:
        raise recipe.problems(found)
    return images, truth_files


def _views(recipe: Recipe, scene) -> list[View]:
    try:
        return add_views(scene, recipe.views)
    except InvrenderError as err:
        if getattr(err, "loc", None) is None:
            raise
        raise recipe.problems([(err.loc, err.message, err.hint)]) from None


def _reference(recipe: Recipe, scene):
    """The scene the targets are rendered from, seen by the recipe's views."""
    t = recipe.target.render if recipe.target is not None else None
    if t is None or (t.scene is None and not t.scene_args):
        return scene
    reference = load_scene(t.scene or recipe.scene, **{**recipe.scene_args, **t.scene_args})
    reference.sensors = list(scene.sensors)
    return reference


def _targets(recipe: Recipe, scene, reference, pmap: ParameterMap, views, images):
    """Each view's target image, and the true parameter values where they are known."""
    truth = {n: np.asarray(s.truth, np.float64) for n, s in recipe.params.items()
             if s.truth is not None}
    t = recipe.target.render if recipe.target is not None else None
    targets = []
    for k, (view, image) in enumerate(zip(views, images, strict=True)):
        if image is None:
            image = render(reference, spp=t.spp, seed=view_seed(t.seed, k),
                           max_depth=recipe.render.max_depth, sensor=view.sensor)
        targets.append(image)
    if t is not None:
        known = pmap if reference is scene else ParameterMap(reference)
        for name in recipe.params:
            if name in known and known[name].shape == pmap[name].shape:
                truth.setdefault(name, known[name])
    return targets, truth


def _truth_meshes(recipe: Recipe, pmap: ParameterMap, reference, scene,
                  truth_files: dict) -> dict:
    """Per vertex-position parameter, the true mesh for Chamfer metrics: its
    ``truth_mesh`` (``truth_files``), or the reference scene's mesh of the same id."""
    meshes = {}
    for name in recipe.params:
        p = pmap.parameter(name)
        if p.kind != "vertices":
            continue
        if name in truth_files:
            meshes[name] = truth_files[name]
        elif reference is not scene:
            same = [m for m in reference.meshes if m.id == p.owner.id]
            if same:
                meshes[name] = (same[0].vertices, same[0].faces)
    return meshes


def optimize(recipe: Recipe | str | Path | dict, resume: bool = False,
             on_iteration: Callable[[dict], None] | None = None,
             on_start: Callable[[int, int], None] | None = None) -> OptimizeResult:
    """Run a recipe (a file, a ``Recipe``, or a mapping with paths relative to the working
    folder); outputs go to ``recipe.output.dir``. See the module docstring."""
    if isinstance(recipe, dict):
        recipe = recipe_from_dict(recipe)
    elif not isinstance(recipe, Recipe):
        recipe = load_recipe(recipe)
    scene = load_scene(recipe.scene, **recipe.scene_args)
    pmap = ParameterMap(scene)
    names = list(recipe.params)
    views = _views(recipe, scene)
    reference = _reference(recipe, scene)
    images, truth_files = check_against_scene(recipe, scene, pmap, views,
                                              reference)  # before compiling
    run_dir = Path(recipe.output.dir)
    if resume:
        state = ckpt_mod.load(run_dir)  # a missing checkpoint fails before compiling too
    runtime.init(recipe.arch)
    (run_dir / "frames").mkdir(parents=True, exist_ok=True)

    targets, truth = _targets(recipe, scene, reference, pmap, views, images)
    truth_meshes = _truth_meshes(recipe, pmap, reference, scene, truth_files)
    write_targets(run_dir, targets, [v.name for v in views])
    (run_dir / "recipe_resolved.yaml").write_text(yaml.safe_dump(recipe.resolved_dict(),
                                                                 sort_keys=False))

    optimizer = make_optimizer(recipe.optimizer, recipe.lr_per_param())
    variables = Variables(pmap, recipe.params)
    log_path = run_dir / "log.jsonl"
    for n, spec in recipe.params.items():
        if spec.init is not None:
            pmap[n] = project(np.asarray(spec.init, np.float64), *variables.clamps[n])
    if resume:
        for n, (vertices, faces) in state.meshes.items():
            variables.set_topology(n, vertices, faces)
        variables.start()
        variables.assign({n: state.values[n] for n in names})
        optimizer.load_state_dict(state.optimizer)
        start, bad = state.iteration, state.bad_steps
        lines = log_path.read_text().splitlines()[: state.log_lines] if log_path.exists() else []
        log = [json.loads(x) for x in lines]
    else:
        variables.start()
        start, bad, log = 0, 0, []
    log_path.write_text("".join(json.dumps(r) + "\n" for r in log))

    def snapshot(iteration: int) -> ckpt_mod.Checkpoint:
        """The state after ``iteration`` completed iterations (copies, safe to keep)."""
        return ckpt_mod.Checkpoint(iteration, variables.values(), optimizer.state_dict(),
                                   len(log), bad, variables.topology())

    committed = snapshot(start)  # what a Ctrl-C saves: never a half-done iteration
    if not resume:
        ckpt_mod.save(run_dir, committed)
    result = OptimizeResult(run_dir, pmap.values(names), log)
    every = recipe.output
    latest: list[np.ndarray | None] = [None] * len(views)  # each view's last render
    if on_start is not None:
        on_start(start, recipe.iterations)
    try:
        for it in range(start, recipe.iterations):
            t0 = time.perf_counter()
            record = {"iteration": it, "seed": iteration_seed(recipe, it)}
            for n in variables.remesh_due(it):
                variables.remesh(n)
                optimizer.reset(n)
                record.setdefault("remeshed", {})[n] = [len(pmap.parameter(n).owner.vertices),
                                                        len(pmap.parameter(n).owner.faces)]
            chosen = batch(len(views), recipe.views_per_iteration, recipe.render.seed, it)
            groups = [[k] for k in chosen] if recipe.steps_per_view(it) else [chosen]
            scale = lr_factor(recipe.schedule, it, recipe.iterations)
            loss, norm2, view_losses = 0.0, 0.0, {}
            try:
                for group in groups:  # one optimizer step per group of views
                    part, grads, losses = _views_gradient(recipe, scene, names, views,
                                                          targets, group, record["seed"],
                                                          latest)
                    new = optimizer.step(variables.values(), variables.gradients(grads),
                                         lr_scale=scale)
                    variables.assign(new)
                    loss += part
                    view_losses.update(losses)
                    norm2 += float(sum((v * v).sum() for v in grads.values()))
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
                grads = None
            if grads is not None:
                bad = 0
                record.update(loss=loss, lr_factor=scale, grad_norm=float(np.sqrt(norm2)))
                if len(views) > 1:
                    record["view_losses"] = view_losses
                last = it == recipe.iterations - 1
                if every.frame_every and (it % every.frame_every == 0 or last):
                    write_image(run_dir / "frames" / f"iter_{it:04d}", latest, every.formats)
                    record.update(_mesh_metrics(pmap, truth_meshes))
            record["params"] = {n: _summary(pmap[n]) for n in names}
            err = parameter_error(pmap.values(names), truth)
            if err is not None:
                record["param_error"] = err
            record["ms"] = 1000 * (time.perf_counter() - t0)
            rss = resident_mb()
            if rss is not None:
                record["rss_mb"] = rss
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
    write_results(run_dir, scene, pmap, names, truth, log,
                  parameter_error(pmap.values(names), truth))
    return result


def _views_gradient(recipe: Recipe, scene, names, views, targets, chosen, seed, latest):
    """The summed loss and gradient of the chosen views, each view with its own seed;
    also per-view losses, and each view's image into ``latest``."""
    r = recipe.render
    total, grads, view_losses = 0.0, None, {}
    for k in chosen:
        g = render_grad(scene, names, loss=recipe.loss, target=targets[k], spp=r.spp,
                        seed=view_seed(seed, k), max_depth=r.max_depth,
                        decorrelate=r.decorrelate_grad, boundary=r.boundary,
                        sensor=views[k].sensor)
        total += g.loss
        view_losses[views[k].name] = g.loss
        grads = g.grads if grads is None else {n: grads[n] + g.grads[n] for n in names}
        latest[k] = g.image
    return total, grads, view_losses


def _mesh_metrics(pmap: ParameterMap, truth_meshes: dict) -> dict:
    """Chamfer distance and normal consistency of each optimised mesh to its truth
    (one parameter: plain keys; several: keyed by parameter name)."""
    from invrender.geometry.metrics import mesh_metrics

    out = {}
    for name, truth in truth_meshes.items():
        mesh = pmap.parameter(name).owner
        m = mesh_metrics((mesh.vertices, mesh.faces), truth)
        if len(truth_meshes) == 1:
            out.update(m)
        else:
            out.update({f"{k}/{name}": v for k, v in m.items()})
    return out
