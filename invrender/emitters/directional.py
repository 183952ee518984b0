"""Mitsuba's ``directional`` light: ``irradiance`` (default 1) arriving from infinitely far
along ``direction`` (or the +z axis of ``to_world``)."""

import numpy as np
import taichi as ti

from invrender.emitters import delta
from invrender.emitters.base import EmitterPlugin, plugin_vec

vec3 = ti.math.vec3


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    d = -plugin_vec(g, e, 0)
    return delta.light_sample(g, e, d, 1e30, delta.intensity(g, e), d)


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    return pos, 1.0 / q, delta.intensity(g, e)


def parse(builder, props, emitter) -> tuple[str, ...]:
    if "direction" in props.named:
        if "to_world" in props.named:
            raise props.error(props.named["direction"],
                              "give either 'direction' or 'to_world', not both")
        direction = props.point("direction")
    else:
        direction = props.transform()[:3, :3] @ np.array([0.0, 0.0, 1.0])
    length = float(np.linalg.norm(direction))
    if not length > 0.0:
        raise props.error(props.named.get("direction", props.owner),
                          "the light's direction has zero length")
    emitter.settings["direction"] = direction / length
    return ("direction", "to_world")


def write_xml(emitter, directory=None) -> list[str]:
    x, y, z = (repr(float(v)) for v in emitter.settings["direction"])
    return [f'<vector name="direction" x="{x}" y="{y}" z="{z}"/>']


PLUGIN = EmitterPlugin(name="directional", environment=False, textures=("irradiance",),
                       defaults={"irradiance": 1.0}, sample=sample, eval=delta.no_eval,
                       pdf=delta.no_pdf, replay=replay, delta=True, parse=parse,
                       pack=lambda emitter: list(emitter.settings["direction"]),
                       write_xml=write_xml)
