"""Mitsuba's ``uniform`` texture: one float, what a ``<float>`` property of a float-valued
BSDF parameter (a roughness, an index of refraction) becomes. Its parameter is
``<name>.value``, a single number, as in Mitsuba."""

import numpy as np

from invrender.textures import scalar
from invrender.textures.base import TexturePlugin


def make(v: float):
    from invrender.scene.description import Texture

    return Texture("uniform", value=np.array([float(v)]))


def _parse(builder, element):
    props = builder.props(element)
    value = props.float("value")
    props.finish(("value",))
    return make(value)


PLUGIN = TexturePlugin(name="uniform", parameter="value", kind="float", lookup=scalar.lookup,
                       lookup_1=scalar.lookup_1,
                       get=scalar.PLUGIN.get, set=scalar.PLUGIN.set, ints=lambda t: [],
                       write_xml=scalar.PLUGIN.write_xml, parse=_parse)
