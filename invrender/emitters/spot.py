"""Mitsuba's ``spot`` light: a point light shining along its ``to_world`` +z, at full
``intensity`` inside ``beam_width`` degrees, falling off linearly in angle to 0 at
``cutoff_angle`` (default 20, beam width 3/4 of it)."""

import math

import numpy as np
import taichi as ti

from invrender.emitters import delta
from invrender.emitters.base import EmitterPlugin

vec3 = ti.math.vec3
# floats: position 3, world -> light 3 x 3 (rows), cos cutoff, cos beam, cutoff (rad),
# 1 / (cutoff - beam width) (rad)
COS_CUTOFF, COS_BEAM, CUTOFF, INV_TRANSITION = 12, 13, 14, 15


@ti.func
def falloff(g: ti.template(), e: ti.i32, from_light: vec3):
    """The cone's factor for the world direction from the light towards the receiver."""
    local = vec3(delta.vec(g, e, 3).dot(from_light), delta.vec(g, e, 6).dot(from_light),
                 delta.vec(g, e, 9).dot(from_light)).normalized()
    cos_theta = local.z
    result = 0.0
    if cos_theta > delta.floats(g, e, COS_CUTOFF):
        result = 1.0
        if cos_theta < delta.floats(g, e, COS_BEAM):
            result = (delta.floats(g, e, CUTOFF) - ti.acos(ti.min(cos_theta, 1.0))) \
                * delta.floats(g, e, INV_TRANSITION)
    return result


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    p = delta.vec(g, e, 0)
    to_p = p - x
    dist = to_p.norm()
    d = to_p / ti.max(dist, 1e-30)
    radiance = delta.intensity(g, e) * (falloff(g, e, -d) / (dist * dist))
    ls = delta.light_sample(g, e, d, dist, radiance, p)
    if radiance.max() <= 0.0:
        ls.pdf = 0.0  # outside the cone: nothing to trace
    return ls


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    seg = pos - x
    r2 = seg.dot(seg)
    d = seg / ti.sqrt(r2)
    return d, falloff(g, e, -d) / (r2 * q), delta.intensity(g, e)


def parse(builder, props, emitter) -> tuple[str, ...]:
    read = delta.position(props, emitter)
    cutoff = props.float("cutoff_angle", 20.0)
    beam = props.float("beam_width", cutoff * 3.0 / 4.0)
    if not 0.0 < cutoff <= 180.0 or not 0.0 <= beam < cutoff:
        raise builder.error(props.named.get("beam_width", props.named.get("cutoff_angle",
                                                                          props.owner)),
                            f"spot needs 0 <= beam_width < cutoff_angle <= 180 degrees, got "
                            f"beam_width {beam} and cutoff_angle {cutoff}")
    if "texture" in props.named:
        raise builder.error(props.named["texture"], "a spot light's projected texture is not "
                            "supported", hint="remove the texture (the beam is uniform)")
    emitter.settings.update(cutoff_angle=cutoff, beam_width=beam)
    return (*read, "cutoff_angle", "beam_width")


def pack(emitter) -> list[float]:
    m = emitter.settings["to_world"]
    to_light = np.linalg.inv(m[:3, :3])
    cutoff = math.radians(emitter.settings["cutoff_angle"])
    beam = math.radians(emitter.settings["beam_width"])
    return [*m[:3, 3], *to_light.reshape(-1), math.cos(cutoff), math.cos(beam), cutoff,
            1.0 / (cutoff - beam)]


def write_xml(emitter, directory=None) -> list[str]:
    s = emitter.settings
    return [delta.matrix_xml(s["to_world"]),
            f'<float name="cutoff_angle" value="{s["cutoff_angle"]!r}"/>',
            f'<float name="beam_width" value="{s["beam_width"]!r}"/>']


PLUGIN = EmitterPlugin(name="spot", environment=False, textures=("intensity",),
                       defaults={"intensity": 1.0}, sample=sample, eval=delta.no_eval,
                       pdf=delta.no_pdf, replay=replay, delta=True, parse=parse, pack=pack,
                       write_xml=write_xml)
