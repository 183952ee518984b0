"""``invrender check-grad SCENE.xml --param NAME``: AD against finite differences."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from invrender.cli._util import choose_sensor, console, load, parse_vector, user_errors

TOLERANCE = {"f64": 1e-5, "f32": 2e-2}


@user_errors
def check_grad_command(
    scene_path: Path = typer.Argument(..., metavar="SCENE.xml", help="Mitsuba 3 XML scene"),
    param: str = typer.Option(..., "--param", help="parameter name (see 'invrender params')"),
    direction: str = typer.Option(None, "--direction", help="tangent, e.g. 1,0,0"),
    spp: int = typer.Option(4, "--spp", min=1, help="samples per pixel"),
    res: tuple[int, int] = typer.Option((64, 64), "--res", help="film width and height"),
    max_depth: int = typer.Option(None, "--max-depth", help="Mitsuba max_depth"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    precision: str = typer.Option("f64", "--precision", help="f64 (default) or f32"),
    eps: float = typer.Option(None, "--eps", help="finite-difference step"),
    sensor: int = typer.Option(0, "--sensor", help="which <sensor> of the scene (0 first)"),
    arch: str = typer.Option("auto", "--arch", help="auto | cpu | cuda"),
) -> None:
    """Compare forward mode, reverse mode and central finite differences on the same samples.

    Exit status 1 when they disagree by more than the tolerance of the precision
    (f64: 1e-5 relative, f32: 2e-2).
    """
    from invrender import runtime
    from invrender.gradients import check_grad
    from invrender.params import ParameterMap

    scene = load(scene_path)
    choose_sensor(scene, sensor, res)
    p = ParameterMap(scene).parameter(param)
    runtime.init(arch, precision=precision)
    vector = parse_vector(direction, "--direction") if direction else None
    with console.status("forward, reverse and finite differences ..."):
        result = check_grad(scene, param, vector, spp=spp, seed=seed, max_depth=max_depth,
                            eps=eps, sensor=sensor)
    table = Table(title=f"d(w . image) / d {param}  ({precision}, {spp} spp, eps {result.eps:.2g})")
    table.add_column("method")
    table.add_column("value", justify="right")
    rows = [("forward mode, interior", result.forward),
            ("reverse mode, interior", result.reverse),
            ("finite differences, same records", result.finite_difference)]
    if p.note:
        rows += [("forward mode, with visibility boundary", result.forward_total),
                 ("reverse mode, with visibility boundary", result.reverse_total)]
    rows.append(("finite differences, re-rendered", result.rerender_fd))
    for label, value in rows:
        table.add_row(label, f"{value:.10g}")
    console.print(table)
    tol = TOLERANCE[precision]
    worst = 0.0
    for label, err in result.errors().items():
        worst = max(worst, err)
        console.print(f"{label}: relative error {err:.2e}")
    if p.note:
        console.print(f"[yellow]note:[/] {p.note}. Finite differences on the same records "
                      "check the interior term exactly; the re-rendered ones include visibility "
                      "changes and are a noisy estimate of the total (raise --spp, set --eps "
                      "to about a pixel's motion).")
    if worst > tol:
        console.print(f"[bold red]FAIL[/]: relative error {worst:.2e} > tolerance {tol:.0e}")
        raise typer.Exit(1)
    console.print(f"[green]OK[/]: all within {tol:.0e}")
