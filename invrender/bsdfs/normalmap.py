"""Mitsuba's ``normalmap``: the nested BSDF seen in a shading frame tilted by a normal map
(``normalmap``, an RGB texture read as n = 2 rgb - 1 in the shading frame's tangent space,
whose s axis follows dp/du; load it with ``raw`` true, as Mitsuba's docs say). The rest is
``tilted``'s. Parameters: ``<id>.normalmap.data`` and the child's, ``<id>.nested_bsdf.*``."""

import taichi as ti

from invrender.bsdfs import tilted
from invrender.bsdfs.base import BsdfPlugin
from invrender.shading import bsdf_color


@ti.func
def frame(g: ti.template(), sp: ti.template()):
    """The tilted frame (s, t, n) in the shading point's local coordinates."""
    n = tilted.flipped_if_invalid(g, sp, 2.0 * bsdf_color(g, sp, 0) - 1.0)
    return tilted.frame_around(n.normalized())


eval, pdf, sample, delta = tilted.functions(frame)

PLUGIN = BsdfPlugin(name="normalmap", textures=("normalmap",), eval=eval, pdf=pdf,
                    sample=sample, delta=delta, lobes=0, parse=tilted.parse,
                    write_xml=tilted.write_xml, ints=tilted.ints, oriented=lambda b: True,
                    wrapper=True)
