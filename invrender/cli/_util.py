"""What every command shares: turning user errors into one line and exit status 1, and
our own bugs into one line and exit status 3 (the traceback goes to a file), so a user
never sees a raw traceback."""

from __future__ import annotations

import functools
import tempfile
import time
import traceback
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

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
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, TyperException, SystemExit):
            raise  # Typer's own: exits and usage errors (exit 2)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback in a file
            stamp = time.strftime("%Y%m%d-%H%M%S")
            log = Path(tempfile.gettempdir()) / f"invrender-error-{stamp}.log"
            try:
                log.write_text(traceback.format_exc())
                where = f"the traceback is in {log}"
            except OSError:
                where = "the traceback could not be written"
            err_console.print(f"[bold red]internal error (a bug in invrender):[/] "
                              f"{type(exc).__name__}: {escape(str(exc))}; {escape(where)}; "
                              "please report it", highlight=False, soft_wrap=True)
            raise typer.Exit(3) from None

    return wrapper


def load(scene_path: Path):
    """The scene, with a one-line note for each place where its XML was read differently
    from Mitsuba (an integrator rendered by our path tracer, an unused plugin skipped)."""
    from invrender.scene.loader import load_scene

    scene = load_scene(scene_path)
    for note in scene.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    return scene


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
