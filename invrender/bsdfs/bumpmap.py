"""Mitsuba's ``bumpmap``: the nested BSDF seen in a shading frame tilted by a height field,
the nested texture (read as one float; ``scale``, default 1, multiplies it): the surface's
dp/du and dp/dv lean along the shading normal by the height's gradient, and their cross
product is the new normal, turned to the geometric normal's side, as Mitsuba 3.9's frame.
The rest is ``tilted``'s. The tangent s is the local x axis made orthogonal to the tilted
normal (Mitsuba's Gram-Schmidt mixes its world dp/du with a local normal; for isotropic
nested BSDFs the two frames agree). Parameters: ``<id>.nested_texture.data`` and the
child's, ``<id>.nested_bsdf.*``."""

import taichi as ti

from invrender.bsdfs import tilted
from invrender.bsdfs.base import BsdfPlugin, read_float
from invrender.shading import bsdf_texture, to_local
from invrender.textures.registry import gradient_1_among

vec3 = ti.math.vec3
SCALE = 0  # plugin float


@ti.func
def frame(g: ti.template(), sp: ti.template()):
    """The tilted frame (s, t, n) in the shading point's local coordinates."""
    grad = read_float(g, sp, SCALE) * gradient_1_among(g, bsdf_texture(g, sp, 0), sp.uv,
                                                       g.slot_types[0])
    n = sp.n
    dp_du = sp.dp_du + n * (grad.x - n.dot(sp.dp_du))
    dp_dv = sp.dp_dv + n * (grad.y - n.dot(sp.dp_dv))
    bumped = dp_du.cross(dp_dv).normalized()
    side = ti.select(sp.ng.dot(n) >= 0.0, 1.0, -1.0) * sp.ng  # a twosided's flipped side too
    if side.dot(bumped) < 0.0:
        bumped = -bumped
    return tilted.frame_around(tilted.flipped_if_invalid(g, sp, to_local(sp, bumped)))


eval, pdf, sample, delta = tilted.functions(frame)


def _parse(builder, props, bsdf) -> tuple[str, ...]:
    textures = props.take_objects("texture")
    if len(textures) != 1:
        raise builder.error(props.owner, f"bumpmap needs exactly one nested <texture> (the "
                            f"height), got {len(textures)}")
    bsdf.textures["nested_texture"] = builder.texture_element(textures[0])
    bsdf.settings["scale"] = props.float("scale", 1.0)
    return ("scale", *tilted.parse(builder, props, bsdf))


def _write_xml(bsdf) -> list[str]:
    """The settings; the writer adds the texture as ``<texture name="nested_texture">``,
    which Mitsuba, taking any nested texture, reads too."""
    return [f'<float name="scale" value="{bsdf.settings["scale"]!r}"/>',
            *tilted.write_xml(bsdf)]


PLUGIN = BsdfPlugin(name="bumpmap", textures=("nested_texture",), eval=eval, pdf=pdf,
                    sample=sample, delta=delta, lobes=0, parse=_parse, write_xml=_write_xml,
                    ints=tilted.ints, floats=lambda b: [b.settings["scale"]],
                    oriented=lambda b: True, wrapper=True)
