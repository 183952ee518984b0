"""What a texture plugin provides: its values as flat float64 slots and a lookup at uv."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, eq=False)
class TexturePlugin:
    name: str
    parameter: str  # Mitsuba's name of its values: "value" (a constant) or "data" (texels)
    kind: str  # what ``invrender params`` calls it: "rgb" or "texture"
    lookup: Callable  # ti.func (g, t, uv) -> vec3: the value of texture t at uv
    get: Callable  # (Texture) -> np.ndarray, the parameter value in its own shape
    set: Callable  # (Texture, np.ndarray) -> None
    ints: Callable  # (Texture) -> list[int]: tex_ints[1:] (sizes, modes)
    write_xml: Callable  # (Texture, name, directory, stem) -> list[str]: Mitsuba XML lines
    parse: Callable | None = None  # (SceneBuilder, <texture> element) -> Texture; None for
    # values given as <rgb>/<float> properties
    # several parameters in one texture's values: (name, first, count) each, e.g. a
    # checkerboard's colours; empty: one parameter named ``parameter``
    parts: tuple[tuple[str, int, int], ...] = ()
    # ti.func (g, t, uv) -> float: the texture read as one float, where that is not the
    # luminance of ``lookup`` (Mitsuba's ``eval_1``)
    lookup_1: Callable | None = None
    # ti.func (g, t, uv) -> vec2: d/d(u, v) of the texture read as one float (Mitsuba's
    # ``eval_1_grad``); None: 0 (a constant)
    gradient_1: Callable | None = None
