"""Mitsuba's ``spot`` light: a point light shining along its ``to_world`` +z, at full
``intensity`` inside ``beam_width`` degrees, falling off linearly in angle to 0 at
``cutoff_angle`` (default 20, beam width 3/4 of it). Both angles are parameters
(``<id>.cutoff_angle``, ``<id>.beam_width``), differentiable as in Mitsuba: the image is
smooth in them wherever the ramp is not empty. An optional ``texture`` (a bitmap or a
checkerboard) is projected over the cone: at uv = 1/2 + (x, y) / (2 z tan(cutoff)) of the
light-space direction, as Mitsuba's."""

import math

import numpy as np
import taichi as ti

from invrender.emitters import delta
from invrender.emitters.base import EmitterPlugin, plugin_rows, texture_of
from invrender.textures import scalar
from invrender.textures.registry import lookup

vec2 = ti.math.vec2
vec3 = ti.math.vec3
# floats: position 3, world -> light 3 x 3 (rows); textures: intensity, the two angles,
# the projected texture
CUTOFF, BEAM, TEXTURE = 1, 2, 3
DEGREES = math.pi / 180.0


@ti.func
def emission(g: ti.template(), e: ti.i32, from_light: vec3) -> vec3:
    """The intensity sent along the world direction from the light towards the receiver:
    intensity x the cone's falloff x the projected texture."""
    local = plugin_rows(g, e, 3, from_light)
    cos_theta = local.z / local.norm()
    cutoff = scalar.value(g, texture_of(g, e, CUTOFF)) * DEGREES
    beam = scalar.value(g, texture_of(g, e, BEAM)) * DEGREES
    result = vec3(0.0)
    if cos_theta > ti.cos(cutoff):
        falloff = 1.0
        if cos_theta < ti.cos(beam):
            falloff = (cutoff - ti.acos(ti.min(cos_theta, 1.0))) / (cutoff - beam)
        scale = 0.5 * ti.cos(cutoff) / (local.z * ti.sin(cutoff))  # no AD rule for tan
        uv = vec2(0.5 + local.x * scale, 0.5 + local.y * scale)
        result = delta.intensity(g, e) * lookup(g, texture_of(g, e, TEXTURE), uv) * falloff
    return result


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    p, d, dist = delta.toward(g, e, x)
    radiance = emission(g, e, -d) / (dist * dist)
    ls = delta.light_sample(g, e, d, dist, radiance, p)
    if radiance.max() <= 0.0:
        ls.pdf = 0.0  # outside the cone: nothing to trace
    return ls


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    seg = pos - x
    r2 = seg.dot(seg)
    d = seg / ti.sqrt(r2)
    return d, 1.0 / (r2 * q), emission(g, e, -d)


def parse(builder, props, emitter) -> tuple[str, ...]:
    read = delta.position(props, emitter)
    cutoff = props.float("cutoff_angle", 20.0)
    beam = props.float("beam_width", cutoff * 3.0 / 4.0)
    if not 0.0 < cutoff <= 180.0 or not 0.0 <= beam < cutoff:
        raise builder.error(props.named.get("beam_width", props.named.get("cutoff_angle",
                                                                          props.owner)),
                            f"spot needs 0 <= beam_width < cutoff_angle <= 180 degrees, got "
                            f"beam_width {beam} and cutoff_angle {cutoff}")
    given = props.named.get("texture")
    if given is not None and given.tag not in ("texture", "ref"):
        raise builder.error(given, "a spot light's texture must be spatially varying (a "
                            "bitmap or checkerboard), as in Mitsuba",
                            hint="give a <texture> or leave it out")
    emitter.textures["cutoff_angle"] = scalar.make(cutoff)
    emitter.textures["beam_width"] = scalar.make(beam)
    return (*read, "cutoff_angle", "beam_width")


def pack(emitter) -> list[float]:
    m = emitter.settings["to_world"]
    return [*m[:3, 3], *np.linalg.inv(m[:3, :3]).reshape(-1)]


def write_xml(emitter, directory=None) -> list[str]:
    angles = [f'<float name="{n}" value="{float(emitter.textures[n].value[0])!r}"/>'
              for n in ("cutoff_angle", "beam_width")]
    return [delta.matrix_xml(emitter.settings["to_world"]), *angles]


PLUGIN = EmitterPlugin(name="spot", environment=False,
                       textures=("intensity", "cutoff_angle", "beam_width", "texture"),
                       defaults={"intensity": 1.0, "texture": 1.0}, sample=sample,
                       eval=delta.no_eval,
                       pdf=delta.no_pdf, replay=replay, delta=True, parse=parse,
                       own_textures=("cutoff_angle", "beam_width"), pack=pack,
                       write_xml=write_xml,
                       names={"cutoff_angle": "cutoff_angle", "beam_width": "beam_width"})
