"""``invrender grad-image SCENE.xml --param NAME``: the forward-mode derivative image."""

from __future__ import annotations

from pathlib import Path

import typer

from invrender.cli._util import (
    choose_sensor,
    console,
    load,
    parse_vector,
    start_runtime,
    user_errors,
)


@user_errors
def grad_image_command(
    scene_path: Path = typer.Argument(..., metavar="SCENE.xml", help="Mitsuba 3 XML scene"),
    param: str = typer.Option(..., "--param", help="parameter name (see 'invrender params')"),
    direction: str = typer.Option(None, "--direction",
                                  help="tangent in parameter space, e.g. 1,0,0 (default: ones)"),
    spp: int = typer.Option(None, "--spp", min=1, help="samples per pixel (default: scene's)"),
    res: tuple[int, int] = typer.Option((0, 0), "--res", help="film width and height"),
    max_depth: int = typer.Option(None, "--max-depth", help="Mitsuba max_depth"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    sensor: int = typer.Option(0, "--sensor", help="which <sensor> of the scene (0 first)"),
    arch: str = typer.Option("auto", "--arch", help="auto | cpu | cuda"),
    output: Path = typer.Option(None, "-o", "--output", help="EXR path (PNG written beside)"),
) -> None:
    """Write d image / d PARAM along a direction: float32 EXR and a signed colour-map PNG."""
    import time

    from invrender.gradients import grad_image
    from invrender.image_io import write_exr
    from invrender.params import ParameterMap
    from invrender.plots import signed_png

    scene = load(scene_path)
    choose_sensor(scene, sensor, res)
    p = ParameterMap(scene).parameter(param)
    start_runtime(arch)
    vector = parse_vector(direction, "--direction") if direction else None
    t0 = time.perf_counter()
    with console.status(f"forward-mode derivative of {param} ..."):
        image = grad_image(scene, param, vector, spp=spp, seed=seed, max_depth=max_depth,
                           sensor=sensor)
    seconds = time.perf_counter() - t0
    output = output or Path(f"grad_{param}.exr")
    exr = write_exr(output.with_suffix(".exr"), image)
    png, vmax = signed_png(output.with_suffix(".png"), image,
                           title=f"d image / d {param}" + (f" along ({direction})"
                                                          if direction else ""))
    mean = image.reshape(-1, 3).mean(0)
    console.print(f"d image / d {param}: image mean ({mean[0]:.4g}, {mean[1]:.4g}, "
                  f"{mean[2]:.4g}), colour range +-{vmax:.3g}, {seconds:.2f} s")
    if p.note:
        console.print(f"[yellow]note:[/] {p.note}")
    console.print(f"wrote {exr} and {png}")
