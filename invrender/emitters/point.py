"""Mitsuba's ``point`` light: ``intensity`` (W/sr, default 1) from ``position``; the
radiance arriving at x is intensity / |p - x|^2."""

import taichi as ti

from invrender.emitters import delta
from invrender.emitters.base import EmitterPlugin

vec3 = ti.math.vec3


@ti.func
def sample(g: ti.template(), e: ti.i32, x: vec3, u_tri, u1, u2):
    p, d, dist = delta.toward(g, e, x)
    return delta.light_sample(g, e, d, dist, delta.intensity(g, e) / (dist * dist), p)


@ti.func
def replay(g: ti.template(), e: ti.i32, tri: ti.i32, pos: vec3, q, x: vec3):
    seg = pos - x
    r2 = seg.dot(seg)
    return seg / ti.sqrt(r2), 1.0 / (r2 * q), delta.intensity(g, e)


def pack(emitter) -> list[float]:
    return list(emitter.settings["to_world"][:3, 3])


def write_xml(emitter, directory=None) -> list[str]:
    return [delta.matrix_xml(emitter.settings["to_world"])]


PLUGIN = EmitterPlugin(name="point", environment=False, textures=("intensity",),
                       defaults={"intensity": 1.0}, sample=sample, eval=delta.no_eval,
                       pdf=delta.no_pdf, replay=replay, delta=True,
                       parse=lambda builder, props, emitter: delta.position(props, emitter),
                       pack=pack, write_xml=write_xml)
