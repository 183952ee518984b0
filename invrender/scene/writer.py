"""Write a scene description back as Mitsuba 3 XML, e.g. the result of an optimisation.

Meshes go out as binary PLY in world space (their vertex order kept), textures as EXR
(linear), colours and the camera as values; Mitsuba and our loader read the result. No
Taichi here.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from invrender.image_io import write_exr
from invrender.scene.description import Scene


def _floats(values) -> str:
    return ", ".join(repr(float(v)) for v in np.asarray(values).reshape(-1))


def _matrix(m: np.ndarray) -> str:
    return f'<matrix value="{" ".join(repr(float(v)) for v in np.asarray(m).reshape(-1))}"/>'


def write_scene(scene: Scene, path: str | Path) -> Path:
    """Write ``scene`` to ``path`` with its meshes and textures in folders beside it."""
    path = Path(path)
    (path.parent / "meshes").mkdir(parents=True, exist_ok=True)
    cam = scene.camera
    depth = scene.max_depth
    lines = ['<?xml version="1.0" encoding="utf-8"?>',
             f"<!-- written by invrender from {scene.path.name} -->",
             '<scene version="3.0.0">',
             '    <integrator type="path">',
             f'        <integer name="max_depth" value="{depth}"/>',
             f'        <integer name="rr_depth" value="{scene.rr_depth}"/>',
             "    </integrator>",
             f'    <sensor type="perspective" id={quoteattr(cam.id)}>',
             f'        <float name="fov" value="{cam.fov!r}"/>',
             f'        <string name="fov_axis" value="{cam.fov_axis}"/>',
             f'        <float name="near_clip" value="{cam.near_clip!r}"/>',
             f'        <float name="far_clip" value="{cam.far_clip!r}"/>',
             f'        <transform name="to_world">{_matrix(cam.to_world)}</transform>',
             '        <sampler type="independent">',
             f'            <integer name="sample_count" value="{scene.spp}"/>',
             "        </sampler>",
             '        <film type="hdrfilm">',
             f'            <integer name="width" value="{cam.width}"/>',
             f'            <integer name="height" value="{cam.height}"/>',
             '            <rfilter type="box"/>',
             "        </film>",
             "    </sensor>"]
    for bsdf in scene.bsdfs.values():
        inner = '<bsdf type="diffuse">' if bsdf.twosided else ""
        lines.append(f'    <bsdf type="{"twosided" if bsdf.twosided else "diffuse"}" '
                     f"id={quoteattr(bsdf.id)}>{inner}")
        if bsdf.texture is not None:
            tex = Path("textures") / f"{bsdf.id}.exr"
            tex_filter, tex_wrap = bsdf.texture.filter_type, bsdf.texture.wrap_mode
            write_exr(path.parent / tex, bsdf.texture.data)
            lines += ['        <texture type="bitmap" name="reflectance">',
                      f'            <string name="filename" value="{tex.as_posix()}"/>',
                      f'            <string name="filter_type" value="{tex_filter}"/>',
                      f'            <string name="wrap_mode" value="{tex_wrap}"/>',
                      "        </texture>"]
        else:
            lines.append(f'        <rgb name="reflectance" value="{_floats(bsdf.reflectance)}"/>')
        lines.append(("</bsdf>" if bsdf.twosided else "") + "    </bsdf>")
    if scene.environment is not None:
        env = scene.environment
        lines += [f'    <emitter type="constant" id={quoteattr(env.id)}>',
                  f'        <rgb name="radiance" value="{_floats(env.radiance)}"/>',
                  "    </emitter>"]
    for mesh in scene.meshes:
        rel = Path("meshes") / f"{mesh.id}.ply"
        _write_ply(path.parent / rel, mesh)
        lines += [f'    <shape type="ply" id={quoteattr(mesh.id)}>',
                  f'        <string name="filename" value="{rel.as_posix()}"/>']
        if mesh.normals is None:
            lines.append('        <boolean name="face_normals" value="true"/>')
        if mesh.bsdf is not None:
            lines.append(f"        <ref id={quoteattr(mesh.bsdf)}/>")
        if mesh.emitter is not None:
            radiance = _floats(mesh.emitter.radiance)
            lines += ['        <emitter type="area">',
                      f'            <rgb name="radiance" value="{radiance}"/>',
                      "        </emitter>"]
        lines.append("    </shape>")
    lines.append("</scene>")
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_ply(path: Path, mesh) -> None:
    """Binary PLY with double-precision vertices (so values read back exactly), normals
    and texture coordinates as ``u, v`` when the mesh has them."""
    columns = [("x", mesh.vertices[:, 0]), ("y", mesh.vertices[:, 1]), ("z", mesh.vertices[:, 2])]
    if mesh.normals is not None:
        columns += [(c, mesh.normals[:, i]) for i, c in enumerate(("nx", "ny", "nz"))]
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
