"""``invrender render SCENE.xml``: render to EXR and PNG, report time and samples/s."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from invrender.cli._util import console, start_runtime, user_errors


@user_errors
def render_command(
    scene_path: Path = typer.Argument(..., metavar="SCENE.xml", help="Mitsuba 3 XML scene"),
    spp: int = typer.Option(None, "--spp", min=1, help="samples per pixel (default: scene's)"),
    res: tuple[int, int] = typer.Option((0, 0), "--res", help="film width and height"),
    max_depth: int = typer.Option(None, "--max-depth", help="Mitsuba max_depth, -1 unbounded"),
    seed: int = typer.Option(0, "--seed", help="random seed; same seed, same image"),
    arch: str = typer.Option("auto", "--arch", help="auto | cpu | cuda"),
    output: Path = typer.Option(None, "-o", "--output", help="EXR path (PNG written beside)"),
) -> None:
    """Render a scene; writes float32 EXR and an sRGB PNG."""
    from invrender.image_io import write_exr, write_png
    from invrender.renderer import RenderStats, render
    from invrender.scene.loader import load_scene

    if res != (0, 0) and min(res) < 1:
        raise typer.BadParameter("width and height must be positive", param_hint="--res")
    scene = load_scene(scene_path)
    if res != (0, 0):
        scene.camera.width, scene.camera.height = res
    start_runtime(arch)
    spp = scene.spp if spp is None else spp
    stats = RenderStats()
    with Progress(TextColumn("[bold]rendering"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total} spp"), TimeRemainingColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("render", total=spp)
        image = render(scene, spp=spp, seed=seed, max_depth=max_depth, stats=stats,
                       progress=lambda done, total: bar.update(task, completed=done))
    output = output or Path(scene_path.stem + ".exr")
    exr = write_exr(output.with_suffix(".exr"), image)
    png = write_png(output.with_suffix(".png"), image)
    steady = stats.seconds - stats.compile_seconds
    console.print(f"{scene.camera.width}x{scene.camera.height}, {spp} spp: "
                  f"{stats.seconds:.2f} s total, {stats.compile_seconds:.2f} s compile, "
                  f"{steady:.2f} s rendering, "
                  f"{stats.samples_per_second / 1e6:.2f} M samples/s")
    console.print(f"wrote {exr} and {png}")
