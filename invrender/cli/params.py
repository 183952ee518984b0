"""``invrender params SCENE.xml``: the parameter map as a table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from invrender.cli._util import console, load, user_errors


def abbreviate(value: np.ndarray, limit: int = 3) -> str:
    flat = np.asarray(value).reshape(-1)
    shown = ", ".join(f"{v:.4g}" for v in flat[:limit])
    return f"[{shown}{', ...' if flat.size > limit else ''}]"


@user_errors
def params_command(
    scene_path: Path = typer.Argument(..., metavar="SCENE.xml", help="Mitsuba 3 XML scene"),
) -> None:
    """List the scene's parameters with Mitsuba 3 names."""
    from invrender.params import ParameterMap

    pmap = ParameterMap(load(scene_path))
    table = Table(title=f"parameters of {scene_path}")
    table.add_column("name", no_wrap=True, style="bold")
    for col in ("kind", "shape", "differentiable", "value"):
        table.add_column(col)
    for p in pmap:
        diff = ("yes" + (f" ({p.note})" if p.note else "")) if p.differentiable else "no"
        value = pmap[p.name]
        table.add_row(p.name, p.kind, "x".join(map(str, value.shape)), diff, abbreviate(value))
    console.print(table)
