"""The commands as a user runs them: outputs written, bad input -> one line and exit 1."""

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from invrender.cli.main import app
from invrender.image_io import read_exr
from tests.conftest import SCENES

runner = CliRunner()


def test_render_writes_exr_and_png(tmp_path):
    out = tmp_path / "cbox.exr"
    result = runner.invoke(app, ["render", str(SCENES / "cbox.xml"), "--spp", "2", "--res", "32",
                                 "24", "--arch", "cpu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "M samples/s" in result.output and "compile" in result.output
    image = read_exr(out)
    assert image.shape == (24, 32, 3) and image.dtype == np.float32
    assert (tmp_path / "cbox.png").stat().st_size > 0


def test_params_lists_mitsuba_names():
    result = runner.invoke(app, ["params", str(SCENES / "cbox.xml")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("red.reflectance.value", "light.emitter.radiance.value",
                 "smallbox.vertex_positions"):
        assert name in result.output


BAD_SCENES = {
    "malformed": ('<scene version="3.0.0">\n  <bsdf type="diffuse"\n</scene>\n', 3),
    "unknown_plugin": ('<scene version="3.0.0">\n  <shape type="cube"><bsdf type="hair"/>'
                       '</shape>\n</scene>\n', 2),
    "missing_mesh": ('<scene version="3.0.0">\n  <shape type="obj">\n'
                     '    <string name="filename" value="nope.obj"/>\n  </shape>\n</scene>\n', 2),
    "bad_number": ('<scene version="3.0.0">\n  <bsdf type="diffuse">\n'
                   '    <rgb name="reflectance" value="0.5, zero, 0.5"/>\n'
                   '  </bsdf>\n</scene>\n', 3),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENES))
@pytest.mark.parametrize("command", ["render", "params"])
def test_bad_scene_is_one_line_with_file_and_line(tmp_path, case, command):
    text, line = BAD_SCENES[case]
    path = tmp_path / f"{case}.xml"
    path.write_text(text)
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code == 1
    message = result.output.strip()
    assert "Traceback" not in message
    assert len(message.splitlines()) == 1, message
    assert f"{case}.xml:{line}:" in message, message


def test_bad_obj_names_the_mesh_file_and_line(tmp_path):
    (tmp_path / "broken.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 oops\nf 1 2 3\n")
    xml = tmp_path / "s.xml"
    xml.write_text('<scene version="3.0.0">\n  <shape type="obj">\n'
                   '    <string name="filename" value="broken.obj"/>\n  </shape>\n</scene>\n')
    result = runner.invoke(app, ["params", str(xml)])
    assert result.exit_code == 1
    assert "broken.obj:3" in result.output


def test_missing_scene_file_and_real_process_exit_status(tmp_path):
    """Run the installed console entry point: exit 1, one line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "invrender.cli.main", "render",
                           str(tmp_path / "nothing.xml")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "nothing.xml" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_grad_image_writes_exr_and_signed_png(tmp_path):
    out = tmp_path / "dgreen.exr"
    result = runner.invoke(app, ["grad-image", str(SCENES / "cbox.xml"), "--param",
                                 "green.reflectance.value", "--spp", "2", "--res", "32", "32",
                                 "--arch", "cpu", "-o", str(out)])
    assert result.exit_code == 0, result.output
    grad = read_exr(out)
    assert grad.shape == (32, 32, 3) and np.all(grad >= 0) and grad.max() > 0
    assert (tmp_path / "dgreen.png").stat().st_size > 1000


def test_grad_image_of_geometry_says_what_it_includes(tmp_path):
    result = runner.invoke(app, ["grad-image", str(SCENES / "cbox.xml"), "--param",
                                 "smallbox.translate", "--direction", "1,0,0", "--spp", "1",
                                 "--res", "16", "16", "--arch", "cpu", "-o",
                                 str(tmp_path / "g.exr")])
    assert result.exit_code == 0, result.output
    assert "includes silhouette terms and shadow-edge terms at every path vertex" in result.output


def test_grad_image_unknown_parameter_suggests(tmp_path):
    result = runner.invoke(app, ["grad-image", str(SCENES / "cbox.xml"), "--param",
                                 "gren.reflectance.value"])
    assert result.exit_code == 1
    assert "did you mean green.reflectance.value" in result.output


def test_check_grad_passes_and_prints_the_table():
    result = runner.invoke(app, ["check-grad", str(SCENES / "cbox.xml"), "--param",
                                 "red.reflectance.value", "--res", "16", "16", "--spp", "1",
                                 "--arch", "cpu"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "forward mode" in result.output and "OK" in result.output


ENVMAP = '<scene version="3.0.0">\n  <emitter type="envmap">\n' \
         '    <string name="filename" value="{name}"/>\n  </emitter>\n</scene>\n'
BAD_FILES = {  # case: (scene text, other files, what the line must name)
    "malformed exr": (ENVMAP.format(name="sky.exr"), {"sky.exr": b"not an exr"},
                      ["sky.exr", "scene.xml:3"]),
    "malformed hdr": (ENVMAP.format(name="sky.hdr"),
                      {"sky.hdr": b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 4 +X 8\n\x02\x02"},
                      ["sky.hdr", "truncated or corrupt", "scene.xml:3"]),
    "zero-size hdr": (ENVMAP.format(name="sky.hdr"),
                      {"sky.hdr": b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 0 +X 0\n"},
                      ["sky.hdr", "zero size", "scene.xml:3"]),
    "unsorted spectrum": ('<scene version="3.0.0">\n  <bsdf type="diffuse" id="b">\n'
                          '    <spectrum name="reflectance" value="500:0.5, 400:0.2"/>\n'
                          '  </bsdf>\n</scene>\n', {}, ["scene.xml:3", "wavelength"]),
    "negative wavelength": ('<scene version="3.0.0">\n  <bsdf type="diffuse" id="b">\n'
                            '    <spectrum name="reflectance" value="-400:0.5, 500:0.2"/>\n'
                            '  </bsdf>\n</scene>\n', {}, ["scene.xml:3", "wavelength"]),
    "include cycle": ('<scene version="3.0.0">\n  <include filename="part.xml"/>\n</scene>\n',
                      {"part.xml": b'<scene version="3.0.0">\n<include filename="scene.xml"/>'
                                   b"\n</scene>\n"}, ["part.xml:2", "include cycle"]),
    "missing include": ('<scene version="3.0.0">\n\n  <include filename="gone.xml"/>\n</scene>\n',
                        {}, ["scene.xml:3", "included file not found"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scene_files_are_one_line_errors(tmp_path, case):
    text, files, needles = BAD_FILES[case]
    (tmp_path / "scene.xml").write_text(text)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    result = runner.invoke(app, ["params", str(tmp_path / "scene.xml")])
    message = result.output.strip()
    assert result.exit_code == 1, message
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    for needle in needles:
        assert needle in message, message
