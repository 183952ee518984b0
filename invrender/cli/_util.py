"""What every command shares: turning user errors into one line and exit status 1."""

from __future__ import annotations

import functools

import typer
from rich.console import Console

from invrender.errors import InvrenderError

console = Console()
err_console = Console(stderr=True)


def user_errors(fn):
    """Print an InvrenderError as one line on stderr and exit 1 instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InvrenderError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def choose_sensor(scene, index: int, res: tuple[int, int] = (0, 0)):
    """The scene's sensor ``index`` (--sensor), with its film resized by --res if given."""
    if res != (0, 0) and min(res) < 1:
        raise typer.BadParameter("width and height must be positive", param_hint="--res")
    sensor = scene.sensor(index)
    if res != (0, 0):
        sensor.width, sensor.height = res
    return sensor


def start_runtime(arch: str) -> None:
    from invrender import runtime

    runtime.init(arch)


def parse_vector(text: str, option: str) -> list[float]:
    """'1,0,0' -> [1.0, 0.0, 0.0], or a user error naming the option."""
    try:
        return [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise InvrenderError(f"{option}: '{text}' is not a comma-separated list of numbers",
                             hint="e.g. 1,0,0") from None
