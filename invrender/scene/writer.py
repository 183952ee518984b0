"""Write a scene description back as Mitsuba 3 XML, e.g. the result of an optimisation.

Meshes go out as binary PLY in world space (their vertex order kept), textures as EXR
(linear), colours and the sensors as values, each plugin through its registry entry;
Mitsuba and our loader read the result. No Taichi is started here.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from invrender.bsdfs.registry import BSDFS
from invrender.emitters.registry import EMITTERS
from invrender.geometry.mesh import shading_normals
from invrender.scene.description import Scene
from invrender.sensors.registry import SENSORS
from invrender.textures.registry import TEXTURES


def write_scene(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` to ``path`` with its meshes and textures in folders beside it."""
    path = Path(path)
    (path.parent / "meshes").mkdir(parents=True, exist_ok=True)
    (path.parent / "textures").mkdir(parents=True, exist_ok=True)
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f"<!-- written by invrender from {scene.path.name} -->",
             '<scene version="3.0.0">', *_indent(_integrator(scene), 1)]
    for sensor in scene.sensors:
        lines += _indent(SENSORS[sensor.type].write_xml(sensor), 1)
        settings = "".join(f'<float name="{k}" value="{v!r}"/>'
                           for k, v in sensor.rfilter.settings.items())
        lines += _indent(['<sampler type="independent">',
                          f'    <integer name="sample_count" value="{sensor.spp}"/>',
                          "</sampler>",
                          '<film type="hdrfilm">',
                          f'    <integer name="width" value="{sensor.width}"/>',
                          f'    <integer name="height" value="{sensor.height}"/>',
                          f'    <rfilter type="{sensor.rfilter.type}">{settings}</rfilter>',
                          "</film>"], 2)
        lines.append("    </sensor>")
    owners = [*scene.bsdfs.values(), *scene.emitters]
    shared = {id(t): t for o in owners for t in o.textures.values() if t.id is not None}
    for tex in shared.values():  # declared once, referenced by id
        out = TEXTURES[tex.type].write_xml(tex, "", path.parent, tex.id)
        out[0] = out[0].replace(' name=""', f" id={quoteattr(tex.id)}")
        lines += _indent(out, 1)
    backs = {b.back for b in scene.bsdfs.values() if b.back is not None}
    for bsdf in scene.bsdfs.values():
        if bsdf.id in backs:  # written inside its front's twosided
            continue
        body = _bsdf_body(bsdf, path.parent)
        if bsdf.twosided:
            body = [f'<bsdf type="{bsdf.type}">', *_indent(body, 1), "</bsdf>"]
            if bsdf.back is not None:
                back = scene.bsdfs[bsdf.back]
                body += [f'<bsdf type="{back.type}">',
                         *_indent(_bsdf_body(back, path.parent), 1), "</bsdf>"]
        kind = "twosided" if bsdf.twosided else bsdf.type
        lines += _indent([f"<bsdf type={quoteattr(kind)} id={quoteattr(bsdf.id)}>",
                          *_indent(body, 1), "</bsdf>"], 1)
    for emitter in scene.lights + ([scene.environment] if scene.environment else []):
        lines += _indent(_emitter(emitter, path.parent, with_id=True), 1)
    for mesh in scene.meshes:
        rel = Path("meshes") / f"{mesh.id}.ply"
        write_ply(path.parent / rel, mesh)
        body = [f'<string name="filename" value="{rel.as_posix()}"/>']
        if mesh.normals is None:
            body.append('<boolean name="face_normals" value="true"/>')
        if mesh.bsdf is not None:
            body.append(f"<ref id={quoteattr(mesh.bsdf)}/>")
        if mesh.emitter is not None:
            body += _emitter(mesh.emitter, path.parent, with_id=False)
        named = "" if mesh.id.startswith("_unnamed_") else f" id={quoteattr(mesh.id)}"
        lines += _indent([f'<shape type="ply"{named}>', *_indent(body, 1),
                          "</shape>"], 1)
    lines.append("</scene>")
    path.write_text("\n".join(lines) + "\n")
    return path


def _integrator(scene: Scene) -> list[str]:
    hide = (['    <boolean name="hide_emitters" value="true"/>'] if scene.hide_emitters
            else [])
    if scene.integrator == "direct":
        return ['<integrator type="direct">', *hide, "</integrator>"]
    return ['<integrator type="path">',
            f'    <integer name="max_depth" value="{scene.max_depth}"/>',
            f'    <integer name="rr_depth" value="{scene.rr_depth}"/>', *hide, "</integrator>"]


def _emitter(emitter, directory: Path, with_id: bool) -> list[str]:
    """An emitter: its texture-valued parameters, then its plugin's own settings."""
    plugin = EMITTERS[emitter.type]
    named = with_id and not emitter.id.startswith("_")  # _unnamed_N: named again on load
    name = f" id={quoteattr(emitter.id)}" if named else ""
    own = {n: t for n, t in emitter.textures.items() if n not in plugin.own_textures
           and not _is_default(t, plugin.defaults.get(n))}
    body = _textures(own, directory, emitter.id) + list(plugin.write_xml(emitter, directory))
    if emitter.sampling_weight != 1.0:
        body.append(f'<float name="sampling_weight" value="{emitter.sampling_weight!r}"/>')
    return [f"<emitter type={quoteattr(emitter.type)}{name}>", *_indent(body, 1), "</emitter>"]


def _is_default(texture, default) -> bool:
    """A constant equal to the plugin's default: left out, as a Mitsuba user would (a spot's
    ``texture`` may only be given as a spatially varying one)."""
    return (default is not None and texture.type == "constant"
            and np.array_equal(texture.value, np.broadcast_to(default, 3)))


def _bsdf_body(bsdf, directory: Path) -> list[str]:
    """A BSDF's settings and textures, as its plugin and Mitsuba read them."""
    plugin = BSDFS[bsdf.type]
    settings = plugin.write_xml(bsdf) if plugin.write_xml is not None else []
    children = [f"<ref id={quoteattr(child)}/>" for child in bsdf.children]
    names = plugin.names(bsdf) if plugin.names is not None else {}
    textures = {names.get(n, n): t for n, t in bsdf.textures.items()  # an alias once
                if n not in plugin.own_textures}
    return settings + _textures(textures, directory, bsdf.id) + children


def _textures(textures: dict, directory: Path, owner: str) -> list[str]:
    out = []
    for name, tex in textures.items():
        if tex.id is not None:  # declared at the top level
            out.append(f"<ref name={quoteattr(name)} id={quoteattr(tex.id)}/>")
        else:
            out += TEXTURES[tex.type].write_xml(tex, name, directory, f"{owner}.{name}")
    return out


def _indent(lines: list[str], levels: int) -> list[str]:
    return ["    " * levels + line for line in lines]


def write_ply(path: Path, mesh) -> None:
    """Binary PLY with double-precision vertices (so values read back exactly), normals
    and texture coordinates as ``u, v`` when the mesh has them."""
    columns = [("x", mesh.vertices[:, 0]), ("y", mesh.vertices[:, 1]), ("z", mesh.vertices[:, 2])]
    if mesh.normals is not None:
        normals = shading_normals(mesh)
        columns += [(c, normals[:, i]) for i, c in enumerate(("nx", "ny", "nz"))]
    if mesh.uvs is not None:
        columns += [("u", mesh.uvs[:, 0]), ("v", mesh.uvs[:, 1])]
    vertex = np.empty(len(mesh.vertices), dtype=[(name, "<f8") for name, _ in columns])
    for name, values in columns:
        vertex[name] = values
    face = np.empty(len(mesh.faces), dtype=[("n", "u1"), ("i", "<i4", (3,))])
    face["n"] = 3
    face["i"] = mesh.faces
    header = ["ply", "format binary_little_endian 1.0", "comment written by invrender",
              f"element vertex {len(vertex)}", *(f"property double {n}" for n, _ in columns),
              f"element face {len(face)}", "property list uchar int vertex_indices",
              "end_header"]
    path.write_bytes(("\n".join(header) + "\n").encode() + vertex.tobytes() + face.tobytes())
