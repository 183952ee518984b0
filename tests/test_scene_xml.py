"""Mitsuba 3's XML structure as its parser reads it: includes, <path>, substitution in every
attribute, references to objects declared later, shared textures, integrator names, and
several top-level emitters. Loader only: no Taichi kernels run.
"""

from __future__ import annotations

import numpy as np
import pytest

from invrender.params import ParameterMap
from invrender.scene.loader import load_scene
from tests.test_loader import QUAD_OBJ, line_of, load_error, reflectance, write


def test_include_splices_a_scene_where_it_stands(tmp_path):
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "quad.obj").write_text(QUAD_OBJ)
    (tmp_path / "parts" / "shapes.xml").write_text(
        '<scene version="3.0.0">\n'
        '  <bsdf type="diffuse" id="grey"><rgb name="reflectance" value="$albedo"/></bsdf>\n'
        '  <shape type="obj" id="quad"><string name="filename" value="quad.obj"/>'
        '<ref id="grey"/></shape>\n'
        "</scene>\n")
    path = write(tmp_path, '<default name="albedo" value="0.25"/>\n'
                           '<include filename="parts/shapes.xml"/>\n'
                           '<shape type="cube" id="box"><ref id="grey"/></shape>\n')
    scene = load_scene(path)
    assert [m.id for m in scene.meshes] == ["quad", "box"]  # document order
    np.testing.assert_allclose(reflectance(scene, "grey"), 0.25)  # the earlier default
    assert load_scene(path, albedo=0.5).bsdfs["grey"].textures["reflectance"].value[0] == 0.5


def test_an_error_inside_an_included_file_names_that_file(tmp_path):
    part = tmp_path / "part.xml"
    part.write_text('<scene version="3.0.0">\n\n  <shape type="cube" colour="red"/>\n</scene>\n')
    path = write(tmp_path, '<include filename="part.xml"/>\n')
    message = load_error(path)
    assert message.startswith(f"{part}:3:") and "colour" in message


def test_include_cycles_and_missing_includes_are_one_line_errors(tmp_path):
    a, b = tmp_path / "a.xml", tmp_path / "b.xml"
    a.write_text('<scene version="3.0.0">\n<include filename="b.xml"/>\n</scene>\n')
    b.write_text('<scene version="3.0.0">\n\n<include filename="a.xml"/>\n</scene>\n')
    path = write(tmp_path, '<include filename="a.xml"/>\n')
    message = load_error(path)
    assert message.startswith(f"{b}:3:") and "include cycle: a.xml -> b.xml -> a.xml" in message
    path = write(tmp_path, '<include filename="nowhere.xml"/>\n', name="missing.xml")
    message = load_error(path)
    line = line_of(path, "nowhere.xml")
    assert message.startswith(f"{path}:{line}:") and "included file not found" in message


def test_path_adds_a_folder_to_the_file_search(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "quad.obj").write_text(QUAD_OBJ)
    body = '<shape type="obj" id="q"><string name="filename" value="quad.obj"/></shape>\n'
    message = load_error(write(tmp_path, body, name="without.xml"))
    assert "mesh file not found" in message
    scene = load_scene(write(tmp_path, '<path value="assets"/>\n' + body))
    assert len(scene.meshes[0].faces) == 2
    message = load_error(write(tmp_path, '<path value="nothing"/>\n', name="bad.xml"))
    assert "<path> folder not found" in message


def test_substitution_reaches_type_and_id_and_escapes(tmp_path):
    path = write(tmp_path, '<default name="kind" value="diffuse"/>\n'
                           '<default name="name" value="wall"/>\n'
                           '<bsdf type="$kind" id="$name_a"/>\n'
                           '<shape type="cube" id="c"><ref id="$name_a"/></shape>\n')
    scene = load_scene(path)
    assert "wall_a" in scene.bsdfs and scene.bsdfs["wall_a"].type == "diffuse"
    assert load_scene(path, kind="diffuse", name="x").meshes[0].bsdf == "x_a"


def test_references_to_objects_declared_later(tmp_path):
    path = write(tmp_path, '<shape type="cube" id="c"><ref name="bsdf" id="late"/></shape>\n'
                           '<bsdf type="diffuse" id="late">'
                           '<rgb name="reflectance" value="0.1, 0.2, 0.3"/></bsdf>\n')
    scene = load_scene(path)
    assert scene.meshes[0].bsdf == "late" and list(scene.bsdfs) == ["late"]
    np.testing.assert_allclose(reflectance(scene, "late"), [0.1, 0.2, 0.3])


def test_a_top_level_texture_is_shared_and_named_by_its_id(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((2, 4, 3), 128, np.uint8)).save(tmp_path / "t.png")
    path = write(tmp_path, '<texture type="bitmap" id="tex">'
                           '<string name="filename" value="t.png"/></texture>\n'
                           '<bsdf type="diffuse" id="a"><ref name="reflectance" id="tex"/></bsdf>\n'
                           '<bsdf type="diffuse" id="b"><ref name="reflectance" id="tex"/></bsdf>\n'
                           '<shape type="cube" id="c"><ref id="a"/></shape>\n')
    scene = load_scene(path)
    assert scene.bsdfs["a"].textures["reflectance"] is scene.bsdfs["b"].textures["reflectance"]
    names = [n for n in ParameterMap(scene).keys() if n.endswith(".data")]
    assert names == ["tex.data"]  # once, by its id, as Mitsuba's traverse
    message = load_error(write(tmp_path, '<bsdf type="diffuse" id="a">'
                                         '<ref name="reflectance" id="nothing"/></bsdf>\n',
                               name="bad.xml"))
    assert "reference to unknown texture 'nothing'" in message


def test_named_nested_objects(tmp_path):
    path = write(tmp_path, "", sensor=False)
    path.write_text('<scene version="3.0.0"><sensor type="perspective" name="s">'
                    '<float name="fov" value="30"/><film type="hdrfilm" name="film">'
                    '<rfilter type="tent" name="filter"/></film></sensor></scene>')
    assert load_scene(path).sensors[0].rfilter.type == "tent"


@pytest.mark.parametrize("xml, settings, note", [
    ('<integrator type="direct"/>', {"max_depth": 2, "integrator": "direct"}, None),
    ('<integrator type="direct"><integer name="emitter_samples" value="4"/></integrator>',
     {"max_depth": 2}, "change only the noise"),
    ('<integrator type="prb_basic"><integer name="max_depth" value="4"/></integrator>',
     {"max_depth": 4, "integrator": "path"}, None),
    ('<integrator type="prb_projective"><integer name="sppc" value="8"/></integrator>',
     {"max_depth": 6}, "sppc are ignored"),
    ('<integrator type="direct_projective"><integer name="max_depth" value="5"/>'
     '</integrator>', {"integrator": "path", "max_depth": 2}, None),  # Mitsuba forces 2
    ('<integrator type="prb"/>', {"max_depth": 6}, None),  # Mitsuba's Python default
    ('<integrator type="path"/>', {"max_depth": -1}, None),
    ('<integrator type="volpath"><integer name="max_depth" value="5"/></integrator>',
     {"max_depth": 5}, "renders with invrender's path tracer"),
    ('<integrator type="path"><boolean name="hide_emitters" value="true"/></integrator>',
     {"hide_emitters": True}, None),
])
def test_integrators_we_render_with_the_path_tracer(tmp_path, xml, settings, note):
    scene = load_scene(write(tmp_path, xml + "\n"))
    for key, value in settings.items():
        assert getattr(scene, key) == value, key
    assert (note is None) == (not scene.notes)
    if note is not None:
        assert note in scene.notes[0] and str(tmp_path) in scene.notes[0]


@pytest.mark.parametrize("kind", ["aov", "stokes", "moment"])
def test_integrators_that_change_the_image_are_errors(tmp_path, kind):
    message = load_error(write(tmp_path, f'<integrator type="{kind}"/>\n'))
    assert f"unsupported integrator type '{kind}'" in message


def test_several_top_level_emitters(tmp_path):
    path = write(tmp_path, '<emitter type="point" id="bulb"><point name="position" '
                           'x="0" y="2" z="0"/><rgb name="intensity" value="5"/></emitter>\n'
                           '<emitter type="directional"><vector name="direction" x="0" y="-1" '
                           'z="0"/><float name="sampling_weight" value="3"/></emitter>\n'
                           '<emitter type="constant"/>\n')
    scene = load_scene(path)
    assert [e.type for e in scene.emitters] == ["point", "directional", "constant"]
    assert scene.emitters[1].sampling_weight == 3.0
    names = ParameterMap(scene).keys()
    assert "bulb.intensity.value" in names and "environment.radiance.value" in names
    two = write(tmp_path, '<emitter type="constant"/>\n<emitter type="constant"/>\n',
                name="two.xml")
    assert "more than one environment emitter" in load_error(two)


@pytest.mark.parametrize("body, expected", [
    ('<emitter type="spot"><float name="cutoff_angle" value="10"/>'
     '<float name="beam_width" value="20"/></emitter>', "beam_width < cutoff_angle"),
    ('<emitter type="point"><point name="position" x="0" y="0" z="0"/>'
     '<transform name="to_world"><translate x="1"/></transform></emitter>', "not both"),
    ('<emitter type="directional"><vector name="direction" x="0" y="0" z="0"/></emitter>',
     "zero length"),
    ('<emitter type="point"><float name="sampling_weight" value="-1"/></emitter>',
     "sampling_weight must be >= 0"),
    ('<emitter type="envmap"><string name="filename" value="none.exr"/></emitter>',
     "environment map not found"),
    ('<shape type="cube"><emitter type="point"/></shape>', "must be at the top level"),
])
def test_bad_emitters_are_one_line_errors(tmp_path, body, expected):
    path = write(tmp_path, body + "\n")
    message = load_error(path)
    assert expected in message and message.startswith(f"{path}:")


def test_a_malformed_or_empty_environment_map_is_an_error(tmp_path):
    (tmp_path / "bad.exr").write_bytes(b"not an exr at all")
    message = load_error(write(tmp_path, '<emitter type="envmap"><string name="filename" '
                                         'value="bad.exr"/></emitter>\n'))
    assert "bad.exr" in message and "Traceback" not in message
    from invrender.image_io import write_exr

    write_exr(tmp_path / "thin.exr", np.ones((1, 4, 3), np.float32))
    message = load_error(write(tmp_path, '<emitter type="envmap"><string name="filename" '
                                         'value="thin.exr"/></emitter>\n', name="thin.xml"))
    assert "needs at least 1 x 2" in message


def test_lookat_without_up_takes_mitsubas_coordinate_system(tmp_path):
    path = write(tmp_path, '<shape type="cube" id="c"><transform name="to_world">'
                           '<lookat origin="0, 0, 0" target="1, 2, 3"/></transform></shape>\n')
    m = load_scene(path).meshes[0].to_world
    d = np.array([1.0, 2.0, 3.0]) / np.sqrt(14.0)
    np.testing.assert_allclose(m[:3, 2], d, atol=1e-12)
    # Mitsuba 3's coordinate_system(d).first, then look_at's up = dir x left
    sign, a = 1.0, -1.0 / (1.0 + d[2])
    up = np.array([d[0] ** 2 * a + 1.0, d[0] * d[1] * a, -d[0]]) * np.array([1, sign, sign])
    left = np.cross(up, d) / np.linalg.norm(np.cross(up, d))
    np.testing.assert_allclose(m[:3, 0], left, atol=1e-12)



def _rgbe(rgb: np.ndarray) -> np.ndarray:
    """Float RGB (H, W, 3) to RGBE bytes (H, W, 4), the inverse of Mitsuba's decoding."""
    m = rgb.max(-1)
    e = np.where(m > 0, np.floor(np.log2(np.maximum(m, 1e-30))) + 1, 0)
    mant = np.where(m[..., None] > 0, rgb / np.ldexp(1.0, e.astype(int) - 8)[..., None], 0)
    out = np.concatenate([np.clip(mant, 0, 255), np.where(m > 0, e + 128, 0)[..., None]], -1)
    return out.astype(np.uint8)


def _rle_row(row: np.ndarray) -> bytes:
    """One scanline in the new RLE form: per channel, runs of equal bytes, else literals."""
    out = bytearray([2, 2, len(row) >> 8, len(row) & 255])
    for c in range(4):
        values, x = row[:, c], 0
        while x < len(values):
            run = 1
            while x + run < len(values) and run < 127 and values[x + run] == values[x]:
                run += 1
            if run >= 3:
                out += bytes([128 + run, values[x]])
                x += run
            else:
                n = min(128, len(values) - x)
                out += bytes([n]) + bytes(values[x:x + n])
                x += n
    return bytes(out)


@pytest.mark.parametrize("rle", [True, False])
def test_radiance_hdr_images_decode_as_mitsuba(tmp_path, rle):
    """RGBE mantissas times 2^(e - 136), flat or run-length encoded (Mitsuba's read_rgbe;
    on the tutorials' cathedral.hdr ours equalled Mitsuba 3.9.1's Bitmap bit for bit)."""
    from invrender.scene.bitmaps import read_bitmap

    rng = np.random.default_rng(0)
    rgb = rng.uniform(0, 40, (5, 16, 3)) * (rng.uniform(size=(5, 16, 1)) > 0.2)
    rgb[2] = [3.0, 2.0, 1.0]  # a constant row: runs
    rgbe = _rgbe(rgb)
    body = b"".join(_rle_row(r) for r in rgbe) if rle else rgbe.tobytes()
    path = tmp_path / "sky.hdr"
    path.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 5 +X 16\n" + body)
    expected = np.where(rgbe[..., 3:] > 0, rgbe[..., :3] * np.ldexp(1.0, rgbe[..., 3:].astype(
        int) - 136), 0.0)
    np.testing.assert_array_equal(read_bitmap(path, raw=False), expected.astype(np.float32))
    assert np.abs(expected - rgb).max() < 40 / 128  # the encoding itself is faithful


@pytest.mark.parametrize("rfilter, ok", [("box", True), ("gaussian", False)])
def test_sample_border_is_read_where_it_changes_nothing(tmp_path, rfilter, ok):
    path = write(tmp_path, "", sensor=False)
    path.write_text('<scene version="3.0.0"><sensor type="perspective">'
                    '<film type="hdrfilm"><boolean name="sample_border" value="true"/>'
                    f'<rfilter type="{rfilter}"/></film></sensor></scene>')
    if ok:
        assert load_scene(path).sensors[0].rfilter.type == "box"
    else:
        assert "sample_border with a gaussian filter is not supported" in load_error(path)


def test_a_shared_texture_of_an_emitter_is_written_back(tmp_path):
    """The writer declares textures with an id once, emitters' included, and refers to them."""
    from PIL import Image

    from invrender.scene.writer import write_scene

    Image.fromarray(np.full((2, 4, 3), 200, np.uint8)).save(tmp_path / "t.png")
    path = write(tmp_path, '<texture type="bitmap" id="tex"><string name="filename" '
                           'value="t.png"/></texture>\n<shape type="rectangle" id="r"><emitter '
                           'type="area"><ref name="radiance" id="tex"/></emitter></shape>\n')
    again = load_scene(write_scene(load_scene(path), tmp_path / "out" / "scene.xml"))
    assert "tex.data" in ParameterMap(again).keys()
