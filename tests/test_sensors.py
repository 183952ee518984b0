"""Several sensors in one scene: each view renders as the one-sensor scene with that camera
does, derivatives with respect to a view's pixels come from that view only, and a sensor
index out of range is a one-line error naming the scene."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

import invrender
from invrender.cli.main import app
from invrender.errors import InvrenderError
from tests.conftest import SCENES

SECOND = """    <sensor type="perspective" id="side">
        <float name="fov" value="50"/>
        <transform name="to_world">
            <lookat origin="2.2, 0.6, 3.0" target="0, -0.2, 0" up="0, 1, 0"/>
        </transform>
        <sampler type="independent"><integer name="sample_count" value="3"/></sampler>
        <film type="hdrfilm">
            <integer name="width" value="20"/><integer name="height" value="14"/>
            <rfilter type="tent"/>
        </film>
    </sensor>
"""


def cbox_text() -> str:
    return (SCENES / "cbox.xml").read_text().replace('value="meshes/',
                                                     f'value="{SCENES}/meshes/')


def write(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text)
    return invrender.load_scene(path, res=16, max_depth=3)


@pytest.fixture
def scenes(tmp_path):
    """(two-sensor scene, the first sensor alone, the second alone)."""
    text = cbox_text()
    first = re.search(r"    <sensor.*?</sensor>\n", text, re.S).group(0)
    both = text.replace(first, first + SECOND)
    return (write(tmp_path, both, "both.xml"), write(tmp_path, text, "first.xml"),
            write(tmp_path, text.replace(first, SECOND), "second.xml"))


def test_each_view_renders_as_its_own_scene(scenes):
    both, first, second = scenes
    assert [s.id for s in both.sensors] == ["sensor", "side"]
    a = invrender.render(both, sensor=0, seed=4)
    b = invrender.render(both, sensor=1, seed=4)
    assert a.shape == (16, 16, 3) and b.shape == (14, 20, 3)  # film sizes are the sensor's
    np.testing.assert_array_equal(a, invrender.render(first, seed=4))
    np.testing.assert_array_equal(b, invrender.render(second, seed=4))  # its spp (3) too


def test_derivatives_of_a_view_come_from_that_view_only(scenes):
    both, _, second = scenes
    names = ["red.reflectance.value", "smallbox.translate"]
    target = np.zeros((14, 20, 3))
    g_both = invrender.render_grad(both, names, target=target, spp=2, seed=6, sensor=1)
    g_alone = invrender.render_grad(second, names, target=target, spp=2, seed=6)
    assert g_both.loss == g_alone.loss
    for n in names:
        np.testing.assert_array_equal(g_both.grads[n], g_alone.grads[n])
    d_both = invrender.grad_image(both, "green.reflectance.value", spp=2, seed=1, sensor=1)
    d_alone = invrender.grad_image(second, "green.reflectance.value", spp=2, seed=1)
    np.testing.assert_array_equal(d_both, d_alone)
    assert np.abs(d_both).max() > 0


def test_a_sensor_index_out_of_range_is_a_clear_error(scenes, tmp_path):
    both = scenes[0]
    with pytest.raises(InvrenderError, match=r"both.xml: sensor index 2 is out of range: "
                                             r"the scene has 2 sensor\(s\) \(use 0 to 1\)"):
        invrender.render(both, sensor=2)
    result = CliRunner().invoke(app, ["render", str(tmp_path / "both.xml"), "--sensor", "5",
                                      "-o", str(tmp_path / "x.exr")])
    assert result.exit_code == 1
    assert "sensor index 5 is out of range" in result.output
    assert "Traceback" not in result.output
