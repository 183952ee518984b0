"""``invrender render SCENE.xml``: render to EXR and PNG, report time and samples/s."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from invrender.cli._util import choose_sensor, console, load, start_runtime, user_errors


@user_errors
def render_command(
    scene_path: Path = typer.Argument(..., metavar="SCENE.xml", help="Mitsuba 3 XML scene"),
    spp: int = typer.Option(None, "--spp", min=1, help="samples per pixel (default: scene's)"),
    res: tuple[int, int] = typer.Option((0, 0), "--res", help="film width and height"),
    max_depth: int = typer.Option(None, "--max-depth", help="Mitsuba max_depth, -1 unbounded"),
    seed: int = typer.Option(0, "--seed", help="random seed; same seed, same image"),
    sensor: int = typer.Option(0, "--sensor", help="which <sensor> of the scene (0 first)"),
    arch: str = typer.Option("auto", "--arch", help="auto | cpu | cuda"),
    output: Path = typer.Option(None, "-o", "--output", help="EXR path (PNG written beside)"),
) -> None:
    """Render a scene; writes float32 EXR and an sRGB PNG."""
    from invrender.image_io import write_exr, write_png
    from invrender.renderer import RenderStats, render

    scene = load(scene_path)
    desc = choose_sensor(scene, sensor, res)
    start_runtime(arch)
    spp = desc.spp if spp is None else spp
    stats = RenderStats()
    with Progress(TextColumn("[bold]rendering"), BarColumn(), TextColumn("pass {task.completed}/"
                  "{task.total}"), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("render", total=None)
        image = render(scene, spp=spp, seed=seed, max_depth=max_depth, sensor=sensor,
                       stats=stats, progress=lambda done, total: bar.update(
                           task, completed=done, total=total))
    output = output or Path(scene_path.stem + ".exr")
    exr = write_exr(output.with_suffix(".exr"), image)
    png = write_png(output.with_suffix(".png"), image)
    steady = stats.seconds - stats.compile_seconds
    console.print(f"{desc.width}x{desc.height}, {spp} spp: "
                  f"{stats.seconds:.2f} s total, {stats.compile_seconds:.2f} s compile, "
                  f"{steady:.2f} s rendering, "
                  f"{stats.samples_per_second / 1e6:.2f} M samples/s")
    console.print(f"wrote {exr} and {png}")
