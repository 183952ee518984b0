"""``invrender optimize RECIPE.yaml``: run a recipe with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from invrender.cli._util import console, user_errors


@user_errors
def optimize_command(
    recipe_path: Path = typer.Argument(..., metavar="RECIPE.yaml", help="optimisation recipe"),
    set_: list[str] = typer.Option([], "--set", help="override a recipe key: key.sub=value"),
    resume: bool = typer.Option(False, "--resume", help="continue from the run's checkpoint"),
) -> None:
    """Recover scene parameters from a target image by gradient descent."""
    from invrender.optimize import optimize
    from invrender.recipe import load_recipe

    recipe = load_recipe(recipe_path, set_)
    columns = (TextColumn("[bold]optimizing"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("optimize", total=recipe.iterations, status="compiling ...")

        def started(start: int, total: int) -> None:
            bar.update(task, completed=start)

        shown: dict = {}  # the last mesh metrics, kept between the iterations that have them

        def step(record: dict) -> None:
            parts = [f"loss {record['loss']:.4g}" if "loss" in record else "[red]skipped[/]"]
            if "view_losses" in record:
                parts.append(f"{len(record['view_losses'])} views")
            if "param_error" in record:
                parts.append(f"param err {record['param_error']:.3g}")
            shown.update({k: record[k] for k in ("chamfer",) if k in record})
            if "chamfer" in shown:
                parts.append(f"chamfer {shown['chamfer']:.3g}")
            parts.append(f"{record['ms']:.0f} ms/it")
            bar.update(task, completed=record["iteration"] + 1, status="  ".join(parts))

        result = optimize(recipe, resume=resume, on_iteration=step, on_start=started)
    show_summary(result, recipe)


def show_summary(result, recipe) -> None:
    log = [r for r in result.log if "loss" in r]
    table = Table(title=f"{recipe_name(recipe)}: {len(result.log)} iterations")
    table.add_column("parameter")
    table.add_column("final value")
    for name, value in result.values.items():
        table.add_row(name, _short(value))
    console.print(table)
    if log:
        steady = [r["ms"] for r in log[1:]] or [log[0]["ms"]]
        line = (f"loss {log[0]['loss']:.4g} -> {log[-1]['loss']:.4g}; first iteration "
                f"{result.first_iteration_s:.2f} s, then {sorted(steady)[len(steady) // 2]:.0f} "
                "ms/iteration (median)")
        if "param_error" in log[-1]:
            line += f"; parameter error {log[0]['param_error']:.3g} -> {log[-1]['param_error']:.3g}"
        metrics = [r for r in log if "chamfer" in r]
        if metrics:
            line += (f"; Chamfer distance {metrics[0]['chamfer']:.3g} -> "
                     f"{metrics[-1]['chamfer']:.3g}, normal consistency "
                     f"{metrics[-1]['normal_consistency']:.4f}")
        console.print(line)
    d = result.run_dir
    console.print(f"outputs in {d}: frames/, log.jsonl, convergence.png, params_final.json, "
                  "scene_final/scene.xml")


def recipe_name(recipe) -> str:
    return Path(recipe.source).name if recipe.source else "recipe"


def _short(value) -> str:
    import numpy as np

    flat = np.asarray(value).reshape(-1)
    if flat.size <= 6:
        return "[" + ", ".join(f"{v:.4g}" for v in flat) + "]"
    return f"{np.asarray(value).shape} array, norm {np.linalg.norm(flat):.4g}"
