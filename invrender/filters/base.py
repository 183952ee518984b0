"""What a reconstruction filter plugin provides.

As Mitsuba's ``hdrfilm``: film samples are uniform in their pixel; a sample at film point
x adds w(c - x) times its radiance to every pixel whose centre c is within the radius, and
each pixel is divided by the sum of the weights it received (``film.py``). The weight is
separable: w(dx, dy) = weight(dx) weight(dy).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, eq=False)
class FilterPlugin:
    name: str
    settings: dict = field(default_factory=dict)  # name -> Mitsuba's default
    radius: Callable = None  # (settings) -> radius in pixels
    pack: Callable = None  # (settings) -> up to 4 floats that ``weight`` reads
    weight: Callable = None  # ti.func (g, s, x) -> 1D weight at offset x for sensor s
    own_pixel: bool = False  # box: a sample counts for its own pixel only, weight 1

    def footprint(self, settings: dict) -> int:
        """How many pixels either side a sample can reach."""
        if self.own_pixel:
            return 0
        return max(math.ceil(self.radius(settings) + 0.5) - 1, 0)
