"""The Mitsuba XML loader and the mesh readers: the Cornell box, conventions, errors.

Scenes, meshes and images are written by each test into ``tmp_path``; no Taichi kernels run.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from PIL import Image

from invrender.errors import SceneError
from invrender.geometry import mesh as meshes
from invrender.scene.loader import load_scene
from tests.conftest import REFERENCE, SCENES

SENSOR = """\
    <sensor type="perspective">
        <float name="fov" value="45"/>
        <film type="hdrfilm">
            <integer name="width" value="8"/>
            <integer name="height" value="6"/>
            <rfilter type="box"/>
        </film>
    </sensor>
"""
QUAD_OBJ = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n"


def write(directory: Path, body: str, sensor: bool = True, name: str = "scene.xml") -> Path:
    """A scene file whose <scene> holds the standard sensor (if asked) and ``body``."""
    text = ('<?xml version="1.0"?>\n<scene version="3.0.0">\n' + (SENSOR if sensor else "")
            + textwrap.indent(textwrap.dedent(body), "    ") + "</scene>\n")
    path = directory / name
    path.write_text(text)
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def reflectance(scene, bsdf: str) -> np.ndarray:
    """A BSDF's constant reflectance."""
    return scene.bsdfs[bsdf].textures["reflectance"].value


def load_error(path: Path, **overrides) -> str:
    with pytest.raises(SceneError) as info:
        load_scene(path, **overrides)
    message = str(info.value)
    assert "\n" not in message
    return message


def shape_to_world(tmp_path: Path, steps: str) -> np.ndarray:
    path = write(tmp_path, f"""\
        <shape type="rectangle" id="r">
            <transform name="to_world">
        {textwrap.indent(textwrap.dedent(steps), "        ")}
            </transform>
        </shape>
        """)
    return load_scene(path).meshes[0].to_world


def face_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    v = vertices[faces]
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    return n / np.linalg.norm(n, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def cbox_path() -> Path:
    for path in (SCENES / "cbox.xml", REFERENCE / "scenes" / "cbox.xml"):
        if path.is_file():
            return path
    pytest.skip("cbox.xml not found")


# --- the Cornell box --------------------------------------------------------------------------


def test_cbox_loads_as_mitsuba_does(cbox_path):
    scene = load_scene(cbox_path)
    assert [m.id for m in scene.meshes] == ["light", "floor", "ceiling", "back", "greenwall",
                                            "redwall", "smallbox", "largebox"]
    assert (scene.sensors[0].spp, scene.max_depth, scene.rr_depth,
            scene.integrator) == (64, 3, 5, "path")
    assert (scene.sensors[0].width, scene.sensors[0].height) == (256, 256)
    assert scene.sensors[0].fov == pytest.approx(39.3077) and scene.sensors[0].fov_axis == "x"
    np.testing.assert_allclose(scene.sensors[0].to_world[:3, 3], [0, 0, 3.9])
    assert set(scene.bsdfs) == {"white", "red", "green", "box"}
    np.testing.assert_allclose(reflectance(scene, "red"), [0.570068, 0.0430135, 0.0443706])
    assert scene.environment is None

    light = scene.meshes[0]
    np.testing.assert_allclose(light.emitter.textures["radiance"].value, [18.387, 13.9873, 6.75357])
    np.testing.assert_allclose(light.vertices[:, 1], 0.99)  # moved 0.01 down
    assert light.bsdf == "white" and light.emitter.source.line == line_of(cbox_path, "area")
    assert all(m.emitter is None for m in scene.meshes[1:])
    np.testing.assert_allclose(face_normals(light.vertices, light.faces), [[0, -1, 0]] * 2)
    assert light.source.line == line_of(cbox_path, 'id="light"')


def test_cbox_smallbox_keeps_the_file_vertex_order(cbox_path):
    smallbox = next(m for m in load_scene(cbox_path).meshes if m.id == "smallbox")
    obj = (cbox_path.parent / "meshes" / "smallbox.obj").read_text().splitlines()
    file_vertices = [[float(x) for x in line.split()[1:]] for line in obj if line.startswith("v ")]
    assert smallbox.vertices.shape == (20, 3) and smallbox.faces.shape == (10, 3)
    np.testing.assert_array_equal(smallbox.vertices, file_vertices)
    np.testing.assert_array_equal(smallbox.faces[:2], [[0, 1, 2], [0, 2, 3]])
    assert smallbox.faces.dtype == np.int32
    # the file's flat normals, equal to the winding normals
    np.testing.assert_allclose(smallbox.normals, face_normals(
        smallbox.vertices, smallbox.faces)[np.repeat(np.arange(0, 10, 2), 4)], atol=1e-6)


def test_cbox_overrides_replace_defaults(cbox_path):
    scene = load_scene(cbox_path, spp=4, res=64, max_depth=2)
    assert scene.sensors[0].spp == 4 and scene.max_depth == 2
    assert (scene.sensors[0].width, scene.sensors[0].height) == (64, 64)


def test_lookat_columns_are_left_up_direction_origin(cbox_path):
    np.testing.assert_allclose(load_scene(cbox_path).sensors[0].to_world,
                               [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, -1, 3.9], [0, 0, 0, 1]])


def test_lookat_general_case(tmp_path):
    origin, target, up = np.array([1.0, 2, 3]), np.array([0.0, -1, 0.5]), np.array([0.0, 0, 2])
    m = shape_to_world(tmp_path, '<lookat origin="1, 2, 3" target="0, -1, 0.5" up="0, 0, 2"/>')
    direction = (target - origin) / np.linalg.norm(target - origin)
    left = np.cross(up / 2, direction)
    left /= np.linalg.norm(left)
    np.testing.assert_allclose(m[:3, 0], left)
    np.testing.assert_allclose(m[:3, 1], np.cross(direction, left))
    np.testing.assert_allclose(m[:3, 2], direction)
    np.testing.assert_allclose(m[:3, 3], origin)


# --- transforms -------------------------------------------------------------------------------


def test_transforms_apply_in_document_order(tmp_path):
    origin = np.array([0, 0, 0, 1.0])
    translate_first = shape_to_world(tmp_path, """\
        <translate x="1"/>
        <rotate z="1" angle="90"/>""")
    rotate_first = shape_to_world(tmp_path, """\
        <rotate z="1" angle="90"/>
        <translate x="1"/>""")
    np.testing.assert_allclose(translate_first @ origin, [0, 1, 0, 1], atol=1e-12)
    np.testing.assert_allclose(rotate_first @ origin, [1, 0, 0, 1], atol=1e-12)


@pytest.mark.parametrize("steps, expected", [
    ('<translate value="1, 2, 3"/>', np.array([[1, 0, 0, 1], [0, 1, 0, 2], [0, 0, 1, 3]])),
    ('<translate y="-2"/>', np.array([[1, 0, 0, 0], [0, 1, 0, -2], [0, 0, 1, 0]])),
    ('<scale value="2"/>', np.diag([2, 2, 2, 1])[:3]),
    ('<scale value="1 2 3"/>', np.diag([1, 2, 3, 1])[:3]),
    ('<scale y="3"/>', np.diag([1, 3, 1, 1])[:3]),
    ('<rotate value="0, 0, 5" angle="90"/>', np.array([[0, -1, 0, 0], [1, 0, 0, 0],
                                                        [0, 0, 1, 0]])),
    ('<rotate x="2" angle="90"/>', np.array([[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0]])),
    ('<matrix value="1 0 0 5  0 1 0 6  0 0 1 7  0 0 0 1"/>',
     np.array([[1, 0, 0, 5], [0, 1, 0, 6], [0, 0, 1, 7]])),
])
def test_transform_steps(tmp_path, steps, expected):
    np.testing.assert_allclose(shape_to_world(tmp_path, steps)[:3], expected, atol=1e-12)


def test_normals_transform_by_the_inverse_transpose(tmp_path):
    path = write(tmp_path, """\
        <shape type="cube" id="c">
            <transform name="to_world">
                <matrix value="1 0.5 0 0  0 2 0 0  0 0 1 0  0 0 0 1"/>
                <rotate x="1" y="1" angle="30"/>
                <translate value="0 1 2"/>
            </transform>
        </shape>
        """)
    cube = load_scene(path).meshes[0]
    np.testing.assert_allclose(np.linalg.norm(cube.normals, axis=1), 1.0)
    # flat faces: every vertex normal equals its triangle's winding normal
    np.testing.assert_allclose(cube.normals[cube.faces[:, 0]],
                               face_normals(cube.vertices, cube.faces), atol=1e-12)


# --- $name and overrides ----------------------------------------------------------------------


def test_defaults_substitute_and_overrides_win(tmp_path):
    (tmp_path / "quad.obj").write_text(QUAD_OBJ)
    path = write(tmp_path, """\
        <default name="mesh" value="quad"/>
        <default name="grey" value="0.25"/>
        <default name="twice" value="$grey, $grey, 1"/>
        <bsdf type="diffuse" id="a"><rgb name="reflectance" value="$twice"/></bsdf>
        <shape type="obj" id="q"><string name="filename" value="$mesh.obj"/><ref id="a"/></shape>
        """)
    np.testing.assert_allclose(reflectance(load_scene(path), "a"), [0.25, 0.25, 1])
    np.testing.assert_allclose(reflectance(load_scene(path, grey=0.5), "a"), [0.5, 0.5, 1])
    np.testing.assert_allclose(reflectance(load_scene(path, twice="0.1"), "a"), [0.1] * 3)


def test_undefined_name_is_an_error_naming_it(tmp_path):
    path = write(tmp_path, '<bsdf type="diffuse">\n'
                 '<float name="reflectance" value="$albedo"/></bsdf>')
    message = load_error(path)
    assert f"scene.xml:{line_of(path, '$albedo')}:" in message and "$albedo" in message
    assert reflectance(load_scene(path, albedo=0.3), "_unnamed_0")[0] == 0.3


# --- plugins ----------------------------------------------------------------------------------


def test_scene_level_plugins(tmp_path):
    path = write(tmp_path, """\
        <integrator type="prb">
            <integer name="max_depth" value="-1"/>
            <integer name="rr_depth" value="3"/>
        </integrator>
        <emitter type="constant"><rgb name="radiance" value="0.5, 1, 2"/></emitter>
        <bsdf type="twosided" id="paper">
            <bsdf type="diffuse"><float name="reflectance" value="0.8"/></bsdf>
        </bsdf>
        <shape type="rectangle"><ref id="paper"/></shape>
        <shape type="cube" id="inline"><bsdf type="diffuse"/></shape>
        <shape type="sphere" id="ball"><bsdf type="diffuse" id="named"/></shape>
        <shape type="rectangle" id="bare"/>
        """)
    scene = load_scene(path)
    assert (scene.integrator, scene.max_depth, scene.rr_depth,
            scene.sensors[0].spp) == ("path", -1, 3, 4)
    np.testing.assert_allclose(scene.environment.textures["radiance"].value, [0.5, 1, 2])
    paper = scene.bsdfs["paper"]
    assert paper.twosided and paper.source.line == line_of(path, 'id="paper"')
    np.testing.assert_allclose(paper.textures["reflectance"].value, [0.8] * 3)
    # names as Mitsuba's traverse gives them; 0.5 grey is Mitsuba's default reflectance
    assert [m.bsdf for m in scene.meshes] == ["paper", "inline.bsdf", "named", "bare.bsdf"]
    assert scene.meshes[0].id.startswith("_unnamed_")
    np.testing.assert_allclose(reflectance(scene, "bare.bsdf"), [0.5] * 3)
    assert (scene.sensors[0].width, scene.sensors[0].height, scene.sensors[0].fov) == (8, 6, 45)


def test_camera_defaults_follow_mitsuba(tmp_path):
    path = write(tmp_path, '<sensor type="perspective"><float name="fov" value="30"/></sensor>',
                 sensor=False)
    scene = load_scene(path)
    assert (scene.sensors[0].width, scene.sensors[0].height, scene.sensors[0].spp) == (768, 576, 4)
    assert scene.max_depth == -1 and scene.rr_depth == 5
    np.testing.assert_array_equal(scene.sensors[0].to_world, np.eye(4))


# --- built-in shapes --------------------------------------------------------------------------


def test_rectangle_matches_mitsuba():
    r = meshes.rectangle()
    np.testing.assert_array_equal(r.vertices, [[-1, -1, 0], [1, -1, 0], [1, 1, 0], [-1, 1, 0]])
    np.testing.assert_array_equal(r.uvs, [[0, 0], [1, 0], [1, 1], [0, 1]])
    np.testing.assert_array_equal(r.faces, [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_array_equal(face_normals(r.vertices, r.faces), [[0, 0, 1]] * 2)


def test_cube_has_24_vertices_12_outward_triangles():
    c = meshes.cube()
    assert c.vertices.shape == (24, 3) and c.faces.shape == (12, 3) and c.uvs.shape == (24, 2)
    centroids = c.vertices[c.faces].mean(axis=1)
    winding = face_normals(c.vertices, c.faces)
    assert np.all(np.einsum("ij,ij->i", winding, centroids) > 0)  # outward
    np.testing.assert_array_equal(c.normals[c.faces[:, 0]], winding)
    assert set(np.unique(c.uvs)) == {0.0, 1.0} and np.all(np.abs(c.vertices) == 1)


def test_sphere_is_an_outward_uv_sphere(tmp_path):
    path = write(tmp_path, """\
        <shape type="sphere" id="s">
            <point name="center" x="1" y="2" z="3"/>
            <float name="radius" value="0.5"/>
        </shape>
        """)
    s = load_scene(path).meshes[0]
    center = np.array([1.0, 2, 3])
    assert s.faces.shape == (2 * 128 * 63, 3) and s.vertices.shape == (129 * 65 - 2, 3)
    np.testing.assert_allclose(np.linalg.norm(s.vertices - center, axis=1), 0.5)
    np.testing.assert_allclose(s.normals, (s.vertices - center) / 0.5, atol=1e-12)
    centroids = s.vertices[s.faces].mean(axis=1) - center
    assert np.all(np.einsum("ij,ij->i", face_normals(s.vertices, s.faces), centroids) > 0)
    assert s.uvs.min() == 0 and s.uvs.max() == 1


# --- mesh files -------------------------------------------------------------------------------


def test_obj_splits_uv_seams_and_numbers_vertices_by_first_use(tmp_path):
    # vertex 1 is used with two different uvs: Mitsuba makes two vertices of it
    (tmp_path / "seam.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 5 5 5\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt 0.5 0.25\n"
        "usemtl a\nf 4/4 1/1 2/2\nusemtl b\nf 4/4 2/2 3/3\nf 1/5 2/2 4/4\n")
    m = meshes.read_obj(tmp_path / "seam.obj")
    np.testing.assert_array_equal(m.vertices, [[0, 1, 0], [0, 0, 0], [1, 0, 0], [1, 1, 0],
                                               [0, 0, 0]])
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [0, 2, 3], [4, 2, 0]])
    np.testing.assert_allclose(m.uvs, [[0, 0], [0, 1], [1, 1], [1, 0], [0.5, 0.75]])  # 1 - v
    unflipped = meshes.read_obj(tmp_path / "seam.obj", flip_tex_coords=False)
    np.testing.assert_allclose(unflipped.uvs[:, 1], [1, 0, 0, 1, 0.25])


def test_obj_polygons_and_negative_indices(tmp_path):
    (tmp_path / "poly.obj").write_text("v 0 0 0\nv 1 0 0\nv 2 1 0\nv 1 2 0\nv 0 1 0\n"
                                       "f -5 -4 -3 -2 -1\nf 1 2 3 4\n")
    m = meshes.read_obj(tmp_path / "poly.obj")
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [0, 2, 3], [0, 3, 4],
                                            [0, 1, 2], [0, 2, 3]])  # Mitsuba's fans
    assert m.normals is None and m.uvs is None


def test_meshes_without_normals_get_smooth_ones_unless_face_normals(tmp_path):
    (tmp_path / "tent.obj").write_text("v -1 0 0\nv 0 1 1\nv 0 -1 1\nv 1 0 0\n"
                                       "f 1 3 2\nf 2 3 4\n")
    path = write(tmp_path, """\
        <shape type="obj" id="smooth"><string name="filename" value="tent.obj"/></shape>
        <shape type="obj" id="flat">
            <string name="filename" value="tent.obj"/>
            <boolean name="face_normals" value="true"/>
        </shape>
        """)
    smooth, flat = load_scene(path).meshes
    assert flat.normals is None
    winding = face_normals(smooth.vertices, smooth.faces)
    np.testing.assert_allclose(smooth.normals[0], winding[0])  # one face: its normal
    shared = winding.sum(axis=0) / np.linalg.norm(winding.sum(axis=0))  # equal angles
    np.testing.assert_allclose(smooth.normals[1], shared)


PLY_HEADER = """ply
format {fmt} 1.0
element vertex 4
property float x
property float y
property float z
property float nx
property float ny
property float nz
property float u
property float v
element face 2
property list uchar int vertex_indices
end_header
"""
PLY_VERTICES = np.array([[0, 0, 0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 1, 1, 0],
                         [1, 1, 0, 0, 0, 1, 1, 1], [0, 1, 0, 0, 0, 1, 0, 1]], np.float32)


def write_ply(path: Path, binary: bool) -> Path:
    if binary:
        faces = np.array([(3, 0, 1, 2), (3, 0, 2, 3)],
                         dtype=[("n", "u1"), ("a", "<i4"), ("b", "<i4"), ("c", "<i4")])
        path.write_bytes(PLY_HEADER.format(fmt="binary_little_endian").encode()
                         + PLY_VERTICES.astype("<f4").tobytes() + faces.tobytes())
    else:
        rows = "\n".join(" ".join(f"{x:g}" for x in row) for row in PLY_VERTICES)
        path.write_text(PLY_HEADER.format(fmt="ascii") + rows + "\n3 0 1 2\n3 0 2 3\n")
    return path


@pytest.mark.parametrize("binary", [False, True])
def test_ply_keeps_vertices_normals_and_uvs(tmp_path, binary):
    write_ply(tmp_path / "quad.ply", binary)
    path = write(tmp_path, """\
        <shape type="ply" id="q">
            <string name="filename" value="quad.ply"/>
            <transform name="to_world"><translate z="1"/></transform>
        </shape>
        """)
    q = load_scene(path).meshes[0]
    np.testing.assert_array_equal(q.vertices, PLY_VERTICES[:, :3] + [0, 0, 1])
    np.testing.assert_array_equal(q.faces, [[0, 1, 2], [0, 2, 3]])
    np.testing.assert_array_equal(q.normals, PLY_VERTICES[:, 3:6])
    np.testing.assert_array_equal(q.uvs, PLY_VERTICES[:, 6:])  # PLY: no flip by default
    assert q.kind == "ply" and q.filename == tmp_path / "quad.ply"


# --- textures ---------------------------------------------------------------------------------


def test_png_texture_is_linearised_unless_raw(tmp_path):
    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, 0] = (128, 0, 255)  # top-left
    Image.fromarray(pixels).save(tmp_path / "tex.png")
    path = write(tmp_path, """\
        <bsdf type="diffuse" id="lin">
            <texture type="bitmap" name="reflectance">
                <string name="filename" value="tex.png"/>
                <string name="filter_type" value="nearest"/>
                <string name="wrap_mode" value="clamp"/>
            </texture>
        </bsdf>
        <bsdf type="diffuse" id="raw">
            <texture type="bitmap" name="reflectance">
                <string name="filename" value="tex.png"/>
                <boolean name="raw" value="true"/>
            </texture>
        </bsdf>
        """)
    bsdfs = load_scene(path).bsdfs
    lin, raw = bsdfs["lin"].textures["reflectance"], bsdfs["raw"].textures["reflectance"]
    assert (lin.type, lin.value) == ("bitmap", None)
    assert lin.data.shape == (2, 3, 3) and lin.data.dtype == np.float32
    np.testing.assert_allclose(lin.data[0, 0], [((128 / 255 + 0.055) / 1.055) ** 2.4, 0, 1],
                               rtol=1e-6)
    np.testing.assert_allclose(raw.data[0, 0], [128 / 255, 0, 1], rtol=1e-6)
    assert (lin.filter_type, lin.wrap_mode) == ("nearest", "clamp")
    assert (raw.filter_type, raw.wrap_mode) == ("bilinear", "repeat")


def test_exr_texture_is_read_as_linear_float(tmp_path):
    pixels = np.random.default_rng(1).random((4, 5, 3)).astype(np.float32) * 3
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, {c: pixels[..., i].copy() for i, c in enumerate("RGB")}).write(
        str(tmp_path / "tex.exr"))
    path = write(tmp_path, """\
        <bsdf type="twosided" id="t">
            <bsdf type="diffuse">
                <texture type="bitmap" name="reflectance">
                    <string name="filename" value="tex.exr"/>
                </texture>
            </bsdf>
        </bsdf>
        """)
    texture = load_scene(path).bsdfs["t"].textures["reflectance"]
    np.testing.assert_array_equal(texture.data, pixels)


# --- errors: each names the file and the line -------------------------------------------------

ERROR_CASES = {
    "unknown element": ('<medium type="homogeneous" id="fog"/>', "fog",
                        "unsupported element <medium>"),
    "unknown bsdf type": ('<bsdf type="hair" id="metal"/>\n<shape type="cube">'
                          '<ref id="metal"/></shape>', "metal",
                          "unsupported bsdf type 'hair' (supported: diffuse, conductor,"),
    "unknown emitter type": ('<emitter type="projector"/>', "projector",
                             "unsupported emitter type"),
    "unknown shape type": ('<shape type="instance"/>', "instance",
                           "unsupported shape type 'instance'"),
    "unknown integrator": ('<integrator type="aov"/>', "aov", "integrator type"),
    "unknown property": ('<bsdf type="diffuse"><float name="alpha" value="0.1"/></bsdf>',
                         "alpha", "unsupported property 'alpha'"),
    "bad number": ('<bsdf type="diffuse">\n<rgb name="reflectance" value="0.5, abc, 0.5"/>'
                   "\n</bsdf>", "abc", "cannot parse 'abc'"),
    "bad integer": ('<integrator type="path"><integer name="max_depth" value="2.5"/>'
                    "</integrator>", "2.5", "'2.5' as an integer"),
    "bad boolean": ('<shape type="obj"><string name="filename" value="x.obj"/>\n'
                    '<boolean name="face_normals" value="yes"/></shape>',
                    "yes", "'yes' as a boolean"),
    "wrong property type": ('<shape type="sphere"><string name="radius" value="1"/></shape>',
                            "radius", "must be float or integer"),
    "bad choice": ('<bsdf type="diffuse"><texture type="bitmap" name="reflectance">\n'
                   '<string name="filename" value="x.png"/>\n'
                   '<string name="wrap_mode" value="wrap"/></texture></bsdf>', '"wrap"',
                   "cannot be 'wrap'"),
    "unknown transform step": ('<shape type="cube">\n<transform name="to_world">\n'
                               '<skew value="1"/>\n</transform>\n</shape>', "skew",
                               "unsupported element <skew>"),
    "zero rotation axis": ('<shape type="cube"><transform name="to_world">'
                           '<rotate angle="10"/></transform></shape>', "rotate", "zero length"),
    "unknown ref": ('<bsdf type="diffuse" id="white"/>\n<shape type="cube">\n<ref id="black"/>'
                    "\n</shape>", "black", "unknown BSDF 'black' (BSDFs with an id: white)"),
    "duplicate id": ('<bsdf type="diffuse" id="a"/>\n<bsdf type="diffuse" id="a" name="2"/>',
                     'name="2"', "id 'a' is already used at line"),
    "two bsdfs in a shape": ('<shape type="cube"><bsdf type="diffuse"/>\n<bsdf type="diffuse"'
                             ' id="second"/></shape>', "second", "more than one BSDF"),
    "empty twosided": ('<bsdf type="twosided" id="two"/>', "two", "one or two nested"),
    "area emitter at top level": ('<emitter type="area" id="lamp"/>', "lamp",
                                  "must be inside a <shape>"),
    "area emitter without radiance": ('<shape type="cube"><emitter type="area" id="lamp"/>'
                                      "</shape>", "lamp", 'needs a <rgb name="radiance">'),
    "unexpected attribute": ('<shape type="cube" colour="red"/>', "colour",
                             "unexpected attribute 'colour'"),
    "unknown filter": ('<sensor type="perspective"><float name="fov" value="40"/>\n'
                       '<film type="hdrfilm"><rfilter type="catmullrom"/></film></sensor>',
                       "catmullrom", "unsupported rfilter type 'catmullrom'"),
    "negative stddev": ('<sensor type="perspective"><float name="fov" value="40"/>\n'
                        '<film type="hdrfilm"><rfilter type="gaussian">\n'
                        '<float name="stddev" value="-0.5"/></rfilter></film></sensor>',
                        "stddev", "gaussian filter stddev must be a positive number"),
    "zero tent radius": ('<sensor type="perspective"><float name="fov" value="40"/>\n'
                         '<film type="hdrfilm"><rfilter type="tent">\n'
                         '<float name="radius" value="0"/></rfilter></film></sensor>',
                         "radius", "tent filter radius must be a positive number"),
    "fov and focal length": ('<sensor type="perspective" id="cam">\n<float name="fov" '
                             'value="40"/>\n<string name="focal_length" value="35mm"/></sensor>',
                             "focal_length", "give either fov or focal_length"),
    "texture not found": ('<bsdf type="diffuse"><texture type="bitmap" name="reflectance">'
                          '<string name="filename" value="nope.png"/></texture></bsdf>',
                          "nope", "texture file not found"),
}


@pytest.mark.parametrize("body, needle, expected", ERROR_CASES.values(), ids=ERROR_CASES)
def test_errors_name_file_and_line(tmp_path, body, needle, expected):
    sensor = "<sensor" not in body
    path = write(tmp_path, body + "\n", sensor=sensor, name="broken.xml")
    message = load_error(path)
    assert f"broken.xml:{line_of(path, needle)}: " in message
    assert expected in message


def test_malformed_xml_reports_the_expat_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text('<scene version="3.0.0">\n  <bsdf type="diffuse">\n  </shape>\n</scene>\n')
    message = load_error(path)
    assert message.startswith(f"{path}:3: malformed XML: mismatched tag")


def test_scene_without_sensor_gets_the_default_camera(tmp_path):
    """Mitsuba 3.0's default: perspective, fov 45, in front of the scene's bounding box,
    with a note (tests/test_sensors.py checks the placement)."""
    scene = load_scene(write(tmp_path, '<shape type="cube"/>\n', sensor=False))
    sensor = scene.sensors[0]
    assert (sensor.type, sensor.fov, sensor.width, sensor.height) == ("perspective", 45.0,
                                                                      768, 576)
    assert any("no <sensor>" in note for note in scene.notes), scene.notes


def test_missing_mesh_names_the_shape_line_and_the_resolved_path(tmp_path):
    path = write(tmp_path, '<shape type="obj" id="gone">\n'
                 '<string name="filename" value="meshes/gone.obj"/>\n</shape>\n')
    message = load_error(path)
    assert f"scene.xml:{line_of(path, 'gone')}: " in message
    assert str(tmp_path / "meshes" / "gone.obj") in message


@pytest.mark.parametrize("name, content, line, expected", [
    ("bad.obj", "v 0 0 0\n# comment\nv 1 abc 0\nv 0 1 0\nf 1 2 3\n", 3, "cannot parse 'abc'"),
    ("short.obj", "v 0 0 0\nv 1 0\n", 2, "'v' needs 3 numbers"),
    ("range.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n\nf 1 2 4\n", 5, "face index 4 refers to no 'v'"),
    ("noface.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n", None, "OBJ file has no faces"),
    ("empty.obj", "", None, "OBJ file has no faces"),
    ("bad.ply", "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\nq\n",
     None, "cannot read PLY file"),
    ("garbage.ply", "hello\n", None, "cannot read PLY file"),
])
def test_malformed_mesh_names_the_mesh_file(tmp_path, name, content, line, expected):
    (tmp_path / name).write_text(content)
    kind = name.split(".")[1]
    path = write(tmp_path, f'<shape type="{kind}" id="m">\n'
                 f'<string name="filename" value="{name}"/>\n</shape>\n')
    message = load_error(path)
    where = str(tmp_path / name) + (f":{line}" if line else "")
    assert message.startswith(where + ": " + expected), message
    assert f"loaded by {path}:{line_of(path, '<shape')}" in message


def test_unreadable_image_names_the_image_and_the_filename_line(tmp_path):
    (tmp_path / "fake.png").write_text("not a png")
    path = write(tmp_path, '<bsdf type="diffuse">\n<texture type="bitmap" name="reflectance">\n'
                 '<string name="filename" value="fake.png"/></texture></bsdf>\n')
    message = load_error(path)
    assert message.startswith(f"{tmp_path / 'fake.png'}: cannot read image")
    assert f"loaded by {path}:{line_of(path, 'fake.png')}" in message


def test_missing_scene_file(tmp_path):
    assert "scene file not found" in load_error(tmp_path / "none.xml")


def test_obj_normals_are_transformed_and_normalised(tmp_path):
    (tmp_path / "quad.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 2\n"
                                       "f 1//1 2//1 3//1\nf 1//1 3//1 4//1\n")
    path = write(tmp_path, """\
        <shape type="obj" id="q">
            <string name="filename" value="quad.obj"/>
            <transform name="to_world"><scale value="3 1 0.5"/></transform>
        </shape>
        """)
    q = load_scene(path).meshes[0]
    np.testing.assert_allclose(q.normals, [[0, 0, 1]] * 4)
    assert math.isclose(q.vertices[:, 0].max(), 3.0)
