"""What every command shares: turning user errors into one line and exit status 1."""

from __future__ import annotations

import functools
import sys

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


def start_runtime(arch: str) -> None:
    from invrender import runtime

    runtime.init(arch)


def fail(message: str, hint: str | None = None) -> None:
    raise InvrenderError(message, hint=hint)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
