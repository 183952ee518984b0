"""Scene data as Mitsuba 3 reads it: spectra as RGB, serialized meshes, disk/cylinder/sphere.

The Mitsuba values come from bench/mitsuba_scene_data.py (tests/data/mitsuba/scene_data/);
no Mitsuba here and no Taichi kernels.
"""

from __future__ import annotations

import json
import math
import struct
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from invrender.errors import SceneError
from invrender.geometry import mesh as meshes
from invrender.geometry.serialized import read_serialized, write_serialized
from invrender.scene import spectra
from invrender.scene.loader import load_scene
from invrender.scene.xml import Element

DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "scene_data"
SENSOR = """\
    <sensor type="perspective">
        <film type="hdrfilm">
            <integer name="width" value="8"/>
            <integer name="height" value="6"/>
        </film>
    </sensor>
"""


def data(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def write_scene(directory: Path, body: str) -> Path:
    path = directory / "scene.xml"
    path.write_text('<?xml version="1.0"?>\n<scene version="3.0.0">\n' + SENSOR
                    + textwrap.indent(textwrap.dedent(body), "    ") + "</scene>\n")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(SceneError) as info:
        load_scene(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def assert_float32_equal(ours, theirs) -> None:
    """Equal as float32 numbers (Mitsuba stores colours as float32)."""
    np.testing.assert_array_equal(np.float32(ours), np.float32(theirs))


# --- spectra ----------------------------------------------------------------------------------

SPECTRA = data("spectra.json")["spectra"]
ELEMENT = Element("spectrum", {"name": "reflectance"}, 7)


@pytest.mark.parametrize("key", sorted(k for k in SPECTRA if "value" in SPECTRA[k]))
def test_spectrum_values_are_mitsubas_rgb(key):
    case = SPECTRA[key]
    assert_float32_equal(spectra.spectrum_rgb(case["value"], False, ELEMENT, Path("s.xml")),
                         case["reflectance"])
    assert_float32_equal(spectra.spectrum_rgb(case["value"], True, ELEMENT, Path("s.xml")),
                         case["radiance"])


def test_uniform_spectrum_of_an_emitter_is_not_grey():
    """Mitsuba: an equal-energy illuminant is purple-ish under sRGB's D65 white."""
    np.testing.assert_allclose(spectra.uniform_rgb(1.0, emitter=True),
                               [1.204794, 0.948291, 0.908916], atol=1e-6)
    np.testing.assert_array_equal(spectra.uniform_rgb(0.3, emitter=False), [0.3] * 3)


def test_spd_file_and_xml_spectra_through_the_loader(tmp_path):
    """<spectrum> in a BSDF and in an area emitter (the loader marks emitter properties)."""
    spd = SPECTRA["spd_file"]
    path = write_scene(tmp_path, f"""\
        <bsdf type="diffuse" id="listed">
            <spectrum name="reflectance" value="{SPECTRA['irregular']['value']}"/>
        </bsdf>
        <bsdf type="diffuse" id="measured">
            <spectrum name="reflectance" filename="{DATA / spd['filename']}"/>
        </bsdf>
        <shape type="rectangle" id="light">
            <ref id="listed"/>
            <emitter type="area">
                <spectrum name="radiance" value="{SPECTRA['uniform_0.37']['value']}"/>
            </emitter>
        </shape>
        <shape type="rectangle" id="measured_light">
            <ref id="measured"/>
            <emitter type="area">
                <spectrum name="radiance" filename="{DATA / spd['filename']}"/>
            </emitter>
        </shape>
        """)
    scene = load_scene(path)
    assert_float32_equal(scene.bsdfs["listed"].textures["reflectance"].value,
                         SPECTRA["irregular"]["reflectance"])
    assert_float32_equal(scene.bsdfs["measured"].textures["reflectance"].value,
                         spd["reflectance"])
    lights = {m.id: m.emitter.textures["radiance"].value for m in scene.meshes}
    assert_float32_equal(lights["light"], SPECTRA["uniform_0.37"]["radiance"])
    assert_float32_equal(lights["measured_light"], spd["radiance"])


BLACKBODY = data("blackbody.json")


@pytest.mark.parametrize("key", sorted(BLACKBODY["temperatures"]))
def test_blackbody_is_what_mitsubas_spectral_variant_renders(key):
    """Mitsuba's RGB variants cannot evaluate a blackbody; its spectral variant renders the
    CIE integral of Planck's law: our value matches Mitsuba's own quadrature to float32
    evaluation error and its rendered mean within 4 standard errors."""
    assert "Not implemented for non-spectral modes" in BLACKBODY["rgb_variant_error"]
    case = BLACKBODY["temperatures"][key]
    ours = spectra.blackbody_rgb(case["temperature"], tuple(case["wavelength_range"]))
    np.testing.assert_allclose(ours, case["quadrature"], rtol=2e-6)
    if "render" in case:
        mean, stderr = np.array(case["render"]["mean"]), np.array(case["render"]["stderr"])
        assert np.all(np.abs(ours - mean) < 4 * stderr)


def test_blackbody_elements(tmp_path):
    """Mitsuba 3's <spectrum type="blackbody"> and Mitsuba 0.6's <blackbody> (with scale)."""
    path = write_scene(tmp_path, """\
        <shape type="rectangle" id="a">
            <emitter type="area">
                <spectrum type="blackbody" name="radiance">
                    <float name="temperature" value="4500"/>
                    <float name="wavelength_min" value="450"/>
                    <float name="wavelength_max" value="650"/>
                </spectrum>
            </emitter>
        </shape>
        <shape type="rectangle" id="b">
            <emitter type="area">
                <blackbody name="radiance" temperature="6500K" scale="0.5"/>
            </emitter>
        </shape>
        """)
    lights = {m.id: m.emitter.textures["radiance"].value for m in load_scene(path).meshes}
    np.testing.assert_allclose(lights["a"], BLACKBODY["temperatures"]["4500_range_450_650"]
                               ["quadrature"], rtol=2e-6)
    np.testing.assert_allclose(lights["b"], 0.5 * np.array(
        BLACKBODY["temperatures"]["6500"]["quadrature"]), rtol=2e-6)


SPECTRUM_ERRORS = {
    "unsorted": ("500:0.5, 400:0.2", "wavelength 400 nm after 500 nm"),
    "repeated": ("400:0.5, 400:0.2", "gives wavelength 400 nm twice"),
    "negative": ("-10:0.5, 400:0.2", "negative wavelength"),
    "outside CIE": ("900:0.5, 1000:0.2", "lies outside 360-830 nm"),
    "micrometres": ("0.4:0.5, 0.7:0.2", "lies outside 360-830 nm"),
    "not a number": ("400:abc, 500:0.2", "cannot parse 'abc' as a number"),
    "bad wavelength": ("4OO:0.5, 500:0.2", "cannot parse '4OO' as a number"),
    "empty": ("", "is empty"),
    "blank": ("  ,  ", "is empty"),
    "one pair": ("500:0.5", "has 1 wavelength:value pair(s)"),
    "no colon": ("0.5 0.6", "has '0.5', not a wavelength:value pair"),
    "two colons": ("400:0.5:1, 500:0.2", "not a wavelength:value pair"),
    "nan": ("nan", "cannot parse 'nan'"),
    "huge": ("400:1e308, 500:1e308", "not finite"),
}


@pytest.mark.parametrize("case", sorted(SPECTRUM_ERRORS))
def test_bad_spectra_name_file_and_line(tmp_path, case):
    value, expected = SPECTRUM_ERRORS[case]
    path = write_scene(tmp_path, f"""\
        <shape type="rectangle"><bsdf type="diffuse">
            <spectrum name="reflectance" value="{value}"/>
        </bsdf></shape>
        """)
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(path, '<spectrum')}: ")
    assert expected in message


@pytest.mark.parametrize("element, expected", [
    ('<spectrum name="reflectance"/>', "needs either 'value' or 'filename'"),
    ('<spectrum name="reflectance" value="0.5" filename="a.spd"/>', "(not both)"),
    ('<spectrum name="reflectance" filename="missing.spd"/>', "does not exist"),
    ('<spectrum name="reflectance" type="srgb"/>', "has type 'srgb'"),
    ('<blackbody name="reflectance" temperature="3000"/>', "an emission spectrum"),
])
def test_bad_spectrum_elements(tmp_path, element, expected):
    path = write_scene(tmp_path, f'<shape type="rectangle"><bsdf type="diffuse">\n'
                                 f'    {element}\n</bsdf></shape>\n')
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(path, element)}: ") and expected in message


def test_bad_blackbody_and_spd_files(tmp_path):
    (tmp_path / "bad.spd").write_text("# comment\n400 0.5\n500 zero\n")
    (tmp_path / "one.spd").write_text("400 0.5\n")
    path = write_scene(tmp_path, """\
        <shape type="rectangle"><bsdf type="diffuse">
            <spectrum name="reflectance" filename="bad.spd"/>
        </bsdf></shape>
        """)
    message = load_error(path)
    assert message.startswith(f"{tmp_path / 'bad.spd'}:3: expected 'wavelength value'")
    assert f"loaded by {path}:" in message
    path = write_scene(tmp_path, """\
        <shape type="rectangle"><bsdf type="diffuse">
            <spectrum name="reflectance" filename="one.spd"/>
        </bsdf></shape>
        """)
    assert "one.spd has 1 wavelength:value pair(s)" in load_error(path)
    for bad, expected in (('temperature="-5"', "has temperature -5 K"),
                          ('temperature="hot"', "cannot parse 'hot'"), ("", "'temperature'")):
        path = write_scene(tmp_path, f"""\
            <shape type="rectangle"><emitter type="area">
                <blackbody name="radiance" {bad}/>
            </emitter></shape>
            """)
        message = load_error(path)
        assert message.startswith(f"{path}:{line_of(path, '<blackbody')}: ") and expected in message


def test_cie_tables_are_mitsubas():
    """Spot checks of the tables bench/cie_tables.py copied from Mitsuba's source."""
    from invrender.scene import cie1931

    assert len(cie1931.CIE_X) == len(cie1931.CIE_Y) == len(cie1931.CIE_Z) == 95
    assert cie1931.CIE_Y[39] == 1.0 and cie1931.D65[40] == 100.0  # y(555 nm), D65(560 nm)
    np.testing.assert_allclose(spectra.cie1931_xyz(np.array([555.0])), [[0.5120501, 1.0,
                                                                         0.00575]], rtol=1e-6)


# --- serialized -------------------------------------------------------------------------------


def sample_mesh(normals=True, uvs=True, seed=0) -> meshes.MeshData:
    rng = np.random.default_rng(seed)
    faces = np.array([rng.choice(20, 3, replace=False) for _ in range(25)], np.int32)
    normal = rng.normal(size=(20, 3))
    return meshes.MeshData(rng.normal(size=(20, 3)), faces,
                           rng.uniform(size=(20, 2)) if uvs else None,
                           normal / np.linalg.norm(normal, axis=1, keepdims=True)
                           if normals else None)


@pytest.mark.parametrize("version, double", [(4, False), (4, True), (3, False), (3, True)])
def test_serialized_round_trip(tmp_path, version, double):
    parts = [sample_mesh(True, True, 1), sample_mesh(False, False, 2),
             sample_mesh(True, False, 3), sample_mesh(False, True, 4)]
    path = tmp_path / "m.serialized"
    write_serialized(path, parts, version=version, double=double)
    rounded = (lambda a: a) if double else (lambda a: a.astype(np.float32).astype(np.float64))
    for index, part in enumerate(parts):
        back = read_serialized(path, index)
        np.testing.assert_array_equal(back.faces, part.faces)
        np.testing.assert_array_equal(back.vertices, rounded(part.vertices))
        for key in ("uvs", "normals"):
            given, read = getattr(part, key), getattr(back, key)
            assert (given is None) == (read is None)
            if given is not None:
                np.testing.assert_allclose(read, rounded(given), atol=1e-7 if double else 1e-6)


SERIALIZED = np.load(DATA / "serialized.npz")


@pytest.mark.parametrize("name", ["meshes_v4", "meshes_v3_double"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_serialized_files_read_as_mitsuba_reads_them(name, index):
    """Files written by write_serialized, loaded by Mitsuba 3's serialized plugin: the same
    positions, faces, uvs (not flipped) and normals (recomputed where the file has none)."""
    ours = read_serialized(DATA / f"{name}.serialized", index)
    theirs = {key.split(f"{name}_{index}_")[1]: SERIALIZED[key] for key in SERIALIZED.files
              if key.startswith(f"{name}_{index}_")}
    np.testing.assert_array_equal(ours.faces, theirs["faces"].reshape(-1, 3))
    assert_float32_equal(ours.vertices, theirs["vertex_positions"].reshape(-1, 3))
    if ours.uvs is not None:
        assert_float32_equal(ours.uvs, theirs["vertex_texcoords"].reshape(-1, 2))
    else:
        assert "vertex_texcoords" not in theirs
    normals = ours.normals if ours.normals is not None else meshes.vertex_normals(
        ours.vertices, ours.faces)
    np.testing.assert_allclose(normals, theirs["vertex_normals"].reshape(-1, 3), atol=3e-7)


def serialized_bytes(payload: bytes, version: int = 4) -> bytes:
    return struct.pack("<HH", 0x041C, version) + zlib.compress(payload)


def payload(vertices=((0, 0, 0), (1, 0, 0), (0, 1, 0)), faces=((0, 1, 2),)) -> bytes:
    return (struct.pack("<I", 0x1000) + b"tri\0" + struct.pack("<QQ", len(vertices), len(faces))
            + np.array(vertices, "<f4").tobytes() + np.array(faces, "<u4").tobytes())


@pytest.mark.parametrize("content, index, expected", [
    (b"\x1d\x04\x04\x00" + zlib.compress(payload()), 0, "bad magic number 0x041D"),
    (struct.pack("<HH", 0x041C, 5) + zlib.compress(payload()), 0, "version 5"),
    (serialized_bytes(payload())[:-6], 0, "truncated: its zlib stream ends early"),
    (serialized_bytes(payload())[:6] + b"garbage" * 4, 0, "corrupt zlib stream"),
    (b"\x1c\x04", 0, "no header"),
    (serialized_bytes(payload(faces=((0, 1, 3),))), 0, "refers to vertex 3, outside 0..2"),
    (serialized_bytes(payload()[:-8]), 0, "is truncated: 3 vertices and 1 triangles need"),
    (serialized_bytes(payload()) + struct.pack("<QI", 0, 1), 1, "shape_index 1 is out of range"),
    (serialized_bytes(payload()) + struct.pack("<QI", 999, 1), 0, None),
    (serialized_bytes(payload()) + struct.pack("<QQI", 0, 999, 2), 1, "beyond the mesh data"),
    (serialized_bytes(payload()), 3, "the end-of-file dictionary claims"),
])
def test_malformed_serialized_files(tmp_path, content, index, expected):
    path = tmp_path / "bad.serialized"
    path.write_bytes(content)
    if expected is None:  # shape 0 is read without the dictionary, as Mitsuba does
        assert len(read_serialized(path, index).faces) == 1
        return
    with pytest.raises(SceneError) as info:
        read_serialized(path, index)
    assert str(info.value).startswith(f"{path}: ") and expected in str(info.value)


def test_serialized_shapes_in_the_loader(tmp_path):
    parts = [sample_mesh(True, True, 5), sample_mesh(False, True, 6)]
    write_serialized(tmp_path / "two.serialized", parts)
    path = write_scene(tmp_path, """\
        <shape type="serialized" id="first">
            <string name="filename" value="two.serialized"/>
        </shape>
        <shape type="serialized" id="second">
            <string name="filename" value="two.serialized"/>
            <integer name="shape_index" value="1"/>
            <boolean name="face_normals" value="true"/>
            <transform name="to_world"><translate x="1"/></transform>
        </shape>
        """)
    first, second = load_scene(path).meshes
    np.testing.assert_allclose(first.vertices, parts[0].vertices, atol=1e-6)
    np.testing.assert_allclose(first.normals, parts[0].normals, atol=1e-6)
    np.testing.assert_allclose(first.uvs, parts[0].uvs, atol=1e-7)  # not flipped
    np.testing.assert_allclose(second.vertices, parts[1].vertices + [1, 0, 0], atol=1e-6)
    assert second.normals is None
    for body, expected in (
            ('<integer name="shape_index" value="2"/>', "shape_index 2 is out of range"),
            ('<integer name="shape_index" value="-1"/>', "must be at least 0"),
            ('<float name="max_smooth_angle" value="30"/>', "unsupported property")):
        path = write_scene(tmp_path, f"""\
            <shape type="serialized">
                <string name="filename" value="two.serialized"/>
                {body}
            </shape>
            """)
        message = load_error(path)
        assert expected in message, message
        if "out of range" in message:
            assert message.startswith(str(tmp_path / "two.serialized"))
            assert f"loaded by {path}:{line_of(path, '<shape')}" in message


# --- shapes -----------------------------------------------------------------------------------

SHAPES = data("shapes.json")["shapes"]


def winding_normals(mesh) -> np.ndarray:
    c = mesh.vertices[mesh.faces]
    n = np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


def area(mesh) -> float:
    c = mesh.vertices[mesh.faces]
    return 0.5 * float(np.linalg.norm(np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]),
                                      axis=1).sum())


def at_uv(mesh, uv) -> tuple[np.ndarray, np.ndarray]:
    """The position and normal the mesh interpolates at ``uv``."""
    a, b, c = (mesh.uvs[mesh.faces[:, i]] for i in range(3))
    e1, e2, d = b - a, c - a, np.asarray(uv) - a
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-14
    beta = np.where(ok, (d[:, 0] * e2[:, 1] - d[:, 1] * e2[:, 0]) / np.where(ok, det, 1), -1)
    gamma = np.where(ok, (e1[:, 0] * d[:, 1] - e1[:, 1] * d[:, 0]) / np.where(ok, det, 1), -1)
    inside = np.flatnonzero(ok & (beta >= -1e-9) & (gamma >= -1e-9) & (beta + gamma <= 1 + 1e-9))
    assert len(inside), f"no triangle covers uv {uv}"
    face = mesh.faces[inside[0]]
    w = np.array([1 - beta[inside[0]] - gamma[inside[0]], beta[inside[0]], gamma[inside[0]]])
    normal = w @ mesh.normals[face]
    return w @ mesh.vertices[face], normal / np.linalg.norm(normal)


def built(key: str) -> meshes.MeshData:
    settings = SHAPES[key]["settings"]
    if key == "cylinder":
        return meshes.cylinder(settings["p0"], settings["p1"], settings["radius"])
    return {"disk": meshes.disk, "sphere": meshes.uv_sphere}[key]()


def analytic_normals(key: str, mesh) -> np.ndarray:
    if key == "disk":
        return np.tile([0.0, 0.0, 1.0], (len(mesh.vertices), 1))
    if key == "sphere":
        return mesh.vertices
    settings = SHAPES[key]["settings"]
    p0, axis = np.array(settings["p0"]), np.subtract(settings["p1"], settings["p0"])
    axis = axis / np.linalg.norm(axis)
    radial = mesh.vertices - p0 - np.outer((mesh.vertices - p0) @ axis, axis)
    return radial / np.linalg.norm(radial, axis=1, keepdims=True)


# shape: (triangles, area relative to the analytic one, its tolerance; where uvs interpolate,
# the distance to Mitsuba's surface point)
SHAPE_ERRORS = {"disk": (1920, 1 - 4.0e-4, 1e-5, 1e-3), "cylinder": (256, 1 - 1.0e-4, 1e-5, 1e-4),
                "sphere": (16128, 1 - 5.0e-4, 1e-5, 6.1e-4)}


@pytest.mark.parametrize("key", sorted(SHAPES))
def test_shapes_match_mitsubas_analytic_ones(key):
    mesh = built(key)
    triangles, relative_area, tolerance, distance = SHAPE_ERRORS[key]
    assert len(mesh.faces) == triangles
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(mesh.normals, analytic_normals(key, mesh), atol=1e-12)
    corners = mesh.normals[mesh.faces].mean(axis=1)
    assert np.all(np.einsum("ij,ij->i", winding_normals(mesh), corners) > 0.99)
    assert area(mesh) / SHAPES[key]["surface_area"] == pytest.approx(relative_area,
                                                                     abs=tolerance)
    for point in SHAPES[key]["points"]:
        p, n = at_uv(mesh, point["uv"])
        assert np.linalg.norm(p - point["p"]) < distance, (point, p)
        np.testing.assert_allclose(n, point["n"], atol=2e-3)
        at_vertex = np.flatnonzero(np.all(np.abs(mesh.uvs - point["uv_in"]) < 1e-9, axis=1))
        if len(at_vertex):  # a vertex of ours: exactly Mitsuba's point and normal
            np.testing.assert_allclose(mesh.vertices[at_vertex[0]], point["p"], atol=1e-6)
            np.testing.assert_allclose(mesh.normals[at_vertex[0]], point["n"], atol=1e-6)


def test_disk_and_cylinder_in_the_loader(tmp_path):
    settings = SHAPES["cylinder"]["settings"]
    path = write_scene(tmp_path, f"""\
        <shape type="disk" id="d">
            <transform name="to_world"><scale value="2"/><translate z="1"/></transform>
        </shape>
        <shape type="cylinder" id="c">
            <point name="p0" value="{', '.join(map(str, settings['p0']))}"/>
            <point name="p1" value="{', '.join(map(str, settings['p1']))}"/>
            <float name="radius" value="{settings['radius']}"/>
        </shape>
        <shape type="cylinder" id="default"/>
        """)
    disk, cylinder, default = load_scene(path).meshes
    assert disk.kind == "disk" and area(disk) == pytest.approx(4 * math.pi, rel=5e-4)
    np.testing.assert_allclose(disk.vertices[:, 2], 1.0)
    np.testing.assert_allclose(cylinder.vertices, built("cylinder").vertices, atol=1e-12)
    np.testing.assert_allclose(cylinder.uvs, built("cylinder").uvs)
    assert default.vertices[:, 2].min() == 0 and default.vertices[:, 2].max() == 1
    np.testing.assert_allclose(np.linalg.norm(default.vertices[:, :2], axis=1), 1.0)
    for body, expected in (('<point name="p1" x="0" y="0" z="0"/>', "p0 and p1 coincide"),
                           ('<float name="radius" value="0"/>', "radius is 0")):
        path = write_scene(tmp_path, f'<shape type="cylinder">\n    {body}\n</shape>\n')
        message = load_error(path)
        assert message.startswith(f"{path}:{line_of(path, body)}: ") and expected in message


FLIPPABLE = {
    "rectangle": "", "cube": "", "sphere": "", "disk": "", "cylinder": "",
    "obj": '<string name="filename" value="quad.obj"/>',
    "ply": '<string name="filename" value="tri.ply"/>',
    "serialized": '<string name="filename" value="m.serialized"/>',
}


@pytest.mark.parametrize("kind", sorted(FLIPPABLE))
def test_flip_normals_turns_every_shape_inside_out(tmp_path, kind):
    (tmp_path / "quad.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3 4\n")
    (tmp_path / "tri.ply").write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\n"
                                      "property float y\nproperty float z\nelement face 1\n"
                                      "property list uchar int vertex_indices\nend_header\n"
                                      "0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
    write_serialized(tmp_path / "m.serialized", [sample_mesh(True, True, 9)])
    body = FLIPPABLE[kind]
    path = write_scene(tmp_path, f"""\
        <shape type="{kind}" id="plain">{body}</shape>
        <shape type="{kind}" id="flipped">{body}
            <boolean name="flip_normals" value="true"/>
            <emitter type="area"><rgb name="radiance" value="1"/></emitter>
        </shape>
        """)
    plain, flipped = load_scene(path).meshes
    np.testing.assert_array_equal(flipped.vertices, plain.vertices)
    np.testing.assert_array_equal(flipped.faces, plain.faces[:, [0, 2, 1]])
    np.testing.assert_allclose(flipped.normals, -plain.normals, atol=1e-12)
    if plain.uvs is not None:
        np.testing.assert_array_equal(flipped.uvs, plain.uvs)


@pytest.mark.parametrize("key", sorted(SHAPES))
def test_flipped_normals_are_mitsubas(key):
    mesh = meshes.flipped(built(key))
    for point in SHAPES[key]["flipped"]:
        _, n = at_uv(mesh, point["uv"])
        np.testing.assert_allclose(n, point["n"], atol=2e-3)
    corners = mesh.normals[mesh.faces].mean(axis=1)
    assert np.all(np.einsum("ij,ij->i", winding_normals(mesh), corners) > 0.99)
