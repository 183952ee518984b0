"""Sensors. Several in one scene: each view renders as the one-sensor scene with that camera
does, derivatives with respect to a view's pixels come from that view only, and a sensor
index out of range is a one-line error naming the scene. The plugins (perspective with
focal_length and a principal point offset, thinlens, orthographic) against Mitsuba 3's
rays and renders (tests/data/mitsuba/sensors/, made by bench/mitsuba_sensor_references.sh),
the XML writer's round trip, the default camera of a scene without a sensor, the
projections the silhouette term uses, and the thin lens's refusal of geometry
derivatives."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import invrender
from invrender.cli.main import app
from invrender.compare import compare_runs
from invrender.errors import InvrenderError
from invrender.image_io import read_exr
from invrender.scene.writer import write_scene
from invrender.sensors import perspective
from invrender.sensors.rays import camera_rays
from invrender.sensors.registry import SENSORS
from tests.conftest import SCENES

DATA_MITSUBA = Path(__file__).resolve().parent / "data" / "mitsuba"

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


# ---- the sensor plugins against Mitsuba 3 (data: bench/mitsuba_sensor_references.sh) ----

SENSOR_DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "sensors"
RAYS = json.loads((SENSOR_DATA / "rays.json").read_text())["cases"]


def sensor_scene(tmp_path, xml, name="sensor.xml"):
    path = tmp_path / name
    path.write_text(f'<scene version="3.0.0">{xml}</scene>')
    return invrender.load_scene(path)


def case_rays(scene, case):
    s = scene.sensor(0)
    film = np.asarray(case["film"]) * [s.width, s.height]
    return [np.asarray(a, np.float64) for a in camera_rays(scene, film, case["aperture"])]


@pytest.mark.parametrize("name", sorted(RAYS))
def test_rays_match_mitsuba(tmp_path, name):
    """Mitsuba's sample_ray (scalar_rgb) at 12 film and aperture samples: the same rays to
    float32 rounding (measured: 5e-7 or less), Mitsuba's origin being ours moved to tmin."""
    case = RAYS[name]
    scene = sensor_scene(tmp_path, case["xml"])
    o, d, tmin, tmax = case_rays(scene, case)
    np.testing.assert_allclose(d, case["d"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(o + tmin[:, None] * d, case["o"], rtol=0, atol=2e-6)
    np.testing.assert_allclose(tmax - tmin, case["maxt"], rtol=1e-6)
    if case["x_fov"] is not None:
        assert perspective.x_fov(scene.sensor(0)) == pytest.approx(case["x_fov"], rel=1e-6)


def test_the_writer_round_trips_every_sensor(tmp_path):
    """Load, write, load: the same settings and bit-for-bit the same rays."""
    xml = "".join(case["xml"].replace('id="sensor"', f'id="{name}"')
                  for name, case in RAYS.items())
    first = sensor_scene(tmp_path, xml, "all.xml")
    again = invrender.load_scene(write_scene(first, tmp_path / "out" / "all.xml"))
    assert [s.type for s in again.sensors] == [s.type for s in first.sensors]
    for k, (a, b) in enumerate(zip(first.sensors, again.sensors, strict=True)):
        assert (a.id, a.fov, a.fov_axis, a.near_clip, a.far_clip, a.width, a.height) == (
            b.id, b.fov, b.fov_axis, b.near_clip, b.far_clip, b.width, b.height)
        assert a.settings == b.settings and np.array_equal(a.to_world, b.to_world)
        case = RAYS[a.id]
        film = np.asarray(case["film"]) * [a.width, a.height]
        for x, y in zip(camera_rays(first, film, case["aperture"], sensor=k),
                        camera_rays(again, film, case["aperture"], sensor=k), strict=True):
            np.testing.assert_array_equal(x, y)



def test_a_scene_without_sensor_gets_mitsubas_default_camera(tmp_path):
    """Mitsuba 3.9.1 makes no camera for such a scene (it refuses to render); Mitsuba 3
    before 3.0 placed this one, from the bounding box that 3.9.1 computes (float32)."""
    ref = json.loads((SENSOR_DATA / "default_sensor.json").read_text())
    text = (DATA_MITSUBA / "cbox_box.xml").read_text()
    text = re.sub(r"    <sensor.*?</sensor>\n", "", text, flags=re.S)
    text = text.replace('value="../../../scenes/', f'value="{SCENES}/')
    scene = write(tmp_path, text, "no_sensor.xml")
    (s,) = scene.sensors
    assert (s.type, s.fov, s.fov_axis) == ("perspective", ref["fov"], ref["fov_axis"])
    np.testing.assert_allclose(s.to_world, ref["to_world"], rtol=0, atol=1e-6)
    for name in ("near_clip", "far_clip"):
        assert getattr(s, name) == pytest.approx(ref[name], rel=1e-6)
    assert s.settings["focus_distance"] == pytest.approx(ref["focus_distance"], rel=1e-6)
    assert (s.width, s.height, s.spp, s.rfilter.type) == (768, 576, 4, "gaussian")
    assert any("no <sensor>" in note for note in scene.notes)


def test_projections_invert_the_rays(tmp_path):
    """film(to_camera(p)) is the film point whose ray passes through p, and jacobian() is
    its derivative (central differences), for the pinhole with a principal point offset,
    the orthographic camera (scaled, rotated) and the thin lens with aperture 0."""
    rng = np.random.default_rng(3)
    for name in ("perspective_principal_point", "orthographic", "thinlens_zero_aperture"):
        scene = sensor_scene(tmp_path, RAYS[name]["xml"], f"{name}.xml")
        s = scene.sensor(0)
        cam = SENSORS[s.type].projection(s)
        o, d, tmin, _ = (np.asarray(a, np.float64) for a in camera_rays(
            scene, rng.random((16, 2)) * [s.width, s.height]))
        points = o + (tmin + rng.uniform(1, 4, 16))[:, None] * d  # on those rays
        film = cam.film(cam.to_camera(points))
        o2, d2, _, _ = (np.asarray(a, np.float64) for a in camera_rays(scene, film))
        along = np.einsum("ij,ij->i", points - o2, d2)
        assert np.all(along > 0)
        miss = np.linalg.norm(points - o2 - along[:, None] * d2, axis=1)
        assert miss.max() < 1e-5, (name, miss.max())
        h = 1e-6
        for j in range(3):
            step = np.zeros(3)
            step[j] = h
            fd = (cam.film(cam.to_camera(points + step))
                  - cam.film(cam.to_camera(points - step))) / (2 * h)
            np.testing.assert_allclose(cam.jacobian(cam.to_camera(points))[..., j], fd,
                                       rtol=1e-6, atol=1e-6 * np.abs(fd).max())


SQUARE_SENSORS = {
    "orthographic": """<sensor type="orthographic"><transform name="to_world">
        <lookat origin="0, 0, 0" target="0, 0, 1" up="0, 1, 0"/></transform>""",
    "perspective_principal_point": """<sensor type="perspective"><float name="fov" value="40"/>
        <float name="principal_point_offset_x" value="0.06"/>
        <float name="principal_point_offset_y" value="-0.04"/>
        <transform name="to_world"><lookat origin="0, 0, 0" target="0, 0, 1" up="0, 1, 0"/>
        </transform>"""}
SQUARE = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="2"/></integrator>
  {sensor}
    <film type="hdrfilm"><integer name="width" value="64"/><integer name="height" value="64"/>
      <rfilter type="box"/></film>
  </sensor>
  <shape type="rectangle" id="square">
    <transform name="to_world">
      <scale value="0.5"/><rotate y="1" angle="180"/><translate x="0.1" y="-0.05" z="3"/>
    </transform>
    <emitter type="area"><rgb name="radiance" value="1, 2, 3"/></emitter>
  </shape>
</scene>"""


@pytest.mark.parametrize("kind", sorted(SQUARE_SENSORS))
def test_silhouettes_through_the_projection_match_closed_forms(tmp_path, kind):
    """An emissive square on black (as tests/test_boundary.py's T1): all of its derivative
    is the silhouette term, and the image sums have closed forms: scale 2 L A (A the
    square's area in pixels), depth -2 L A / z for the pinhole and 0 for the orthographic
    camera, sideways 0."""
    scene = write(tmp_path, SQUARE.format(sensor=SQUARE_SENSORS[kind]), "square.xml")
    if kind == "orthographic":  # the film spans [-1, 1]: 32 pixels per unit
        area, depth = 32.0 ** 2, 0.0
    else:
        area = (64 / (2 * math.tan(math.radians(20))) / 3.0) ** 2
        depth = -2 * area / 3.0
    radiance = np.array([1.0, 2.0, 3.0])
    for param, direction, expected in (("square.scale", [1, 1, 1], 2 * area),
                                       ("square.translate", [0, 0, 1], depth),
                                       ("square.translate", [1, 0, 0], 0.0)):
        runs = np.array([invrender.grad_image(scene, param, direction, spp=4, seed=s)
                         .reshape(-1, 3).sum(0) for s in range(6)])
        mean, se = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(len(runs))
        z = (mean - expected * radiance) / np.maximum(se, 1e-3 * area)
        assert np.all(np.abs(z) < 4.5), (param, direction, mean, expected * radiance, se)


def test_geometry_derivatives_through_a_thin_lens_are_refused(tmp_path):
    scene = invrender.load_scene(SENSOR_DATA / "cbox_thinlens.xml", res=8, max_depth=2)
    target = np.zeros((8, 8, 3))
    with pytest.raises(InvrenderError, match=r"cbox_thinlens.xml:\d+: sensor 'sensor' "
                       r"\(thinlens\): geometry derivatives through a thin lens's defocus "
                       r"are not supported: .*\(use a perspective sensor"):
        invrender.render_grad(scene, ["smallbox.translate"], target=target, spp=1)
    # colours need no boundary term, the interior term alone is there on request, and
    # without an aperture the lens is a pinhole
    invrender.render_grad(scene, ["red.reflectance.value"], target=target, spp=1)
    invrender.render_grad(scene, ["smallbox.translate"], target=target, spp=1,
                          boundary=False)
    scene.sensor(0).settings["aperture_radius"] = 0.0
    assert isinstance(SENSORS["thinlens"].projection(scene.sensor(0)), perspective.Projection)


@pytest.mark.parametrize("xml, message", [
    ('<float name="fov" value="30"/><string name="focal_length" value="35mm"/>',
     "give either fov or focal_length"),
    ('<string name="focal_length" value="35mm"/><string name="fov_axis" value="y"/>',
     "fov_axis applies to fov only"),
    ('<string name="focal_length" value="35cm"/>', "cannot parse the focal length '35cm'"),
    ('<string name="focal_length" value="-35mm"/>', "horizontal field of view must be"),
    ('<float name="fov" value="200"/>', "horizontal field of view must be"),
    ('<float name="fov" value="30"/><string name="fov_axis" value="z"/>',
     "fov_axis cannot be 'z'"),
    ('<float name="near_clip" value="0"/>', "near_clip must be greater than zero"),
    ('<float name="near_clip" value="5"/><float name="far_clip" value="4"/>',
     r"near_clip \(5.0\) must be smaller than far_clip"),
    ('<transform name="to_world"><scale value="2"/></transform>', "has a scale"),
])
def test_bad_sensor_settings_are_clear_errors(tmp_path, xml, message):
    with pytest.raises(InvrenderError, match=r"sensor.xml:1: .*" + message):
        sensor_scene(tmp_path, f'<sensor type="perspective">{xml}</sensor>')


@pytest.mark.parametrize("kind, xml, message", [
    ("thinlens", '<float name="fov" value="30"/>', 'needs a <float name="aperture_radius">'),
    ("thinlens", '<float name="aperture_radius" value="0.1"/>'
                 '<float name="principal_point_offset_x" value="0.1"/>',
     "unsupported property 'principal_point_offset_x'"),
    ("thinlens", '<float name="aperture_radius" value="0.1"/>'
                 '<float name="focus_distance" value="0"/>', "focus_distance must be greater"),
    ("orthographic", '<float name="fov" value="30"/>', "unsupported property 'fov'"),
])
def test_lens_and_orthographic_settings_are_checked(tmp_path, kind, xml, message):
    with pytest.raises(InvrenderError, match=message):
        sensor_scene(tmp_path, f'<sensor type="{kind}">{xml}</sensor>')


# ---- renders against Mitsuba 3: K = 16 x 64 spp here, its K = 32 x 256 spp, 64 x 64 ----

RENDERS = ["thinlens", "orthographic", "ppo"]


def sensor_renders(path, seed0, k=16, spp=64):
    scene = invrender.load_scene(path, res=64, max_depth=3)
    return np.stack([invrender.render(scene, spp=spp, seed=seed0 + j) for j in range(k)])


def sensor_reference(variant):
    stem = SENSOR_DATA / f"cbox_{variant}"
    return (read_exr(f"{stem}_ref.exr"), read_exr(f"{stem}_ref_stderr.exr"),
            np.load(f"{stem}_ref_blocks.npy"))


@pytest.mark.slow
@pytest.mark.parametrize("variant", RENDERS)
def test_sensor_renders_match_mitsuba(tmp_path, variant):
    """The Cornell box through a thin lens (aperture 0.15, focused on the back wall), an
    orthographic camera (scaled, looking in at an angle) and a pinhole with a principal
    point offset, by the reference README's test (filters' rule, tests/test_filters.py).
    Measured with these seeds: max block |z| 2.28 / 2.88 / 3.10, image-mean |z| < 1.3,
    z std 1.06-1.08 (other seeds: 2.5-4.05 for the orthographic camera). The thin lens
    with a smaller aperture (0.1) must fail: the test sees the defocus (measured max block
    |z| 19)."""
    path = SENSOR_DATA / f"cbox_{variant}.xml"
    result = compare_runs(sensor_renders(path, 3000 + 100 * RENDERS.index(variant)),
                          *sensor_reference(variant))
    assert result.passed(), str(result)
    if variant == "thinlens":
        text = path.read_text()
        assert text.count('name="aperture_radius" value="0.15"') == 1
        smaller = SENSOR_DATA / "_aperture_0.1.xml"  # beside it: its mesh paths are relative
        try:
            smaller.write_text(text.replace('name="aperture_radius" value="0.15"',
                                            'name="aperture_radius" value="0.1"'))
            wrong = compare_runs(sensor_renders(smaller, 5000), *sensor_reference(variant))
        finally:
            smaller.unlink()
        assert not wrong.passed() and wrong.max_block_z > 10, str(wrong)


def test_far_clip_ends_camera_rays(tmp_path):
    """Beyond far_clip a camera ray escapes (Mitsuba: its maxt): with the scene beyond it,
    every pixel sees the environment; with the scene inside, not."""
    def scene(far):
        path = tmp_path / f"far{far}.xml"
        path.write_text(f"""<scene version="3.0.0">
  <sensor type="perspective"><float name="fov" value="45"/>
    <float name="far_clip" value="{far}"/>
    <transform name="to_world"><lookat origin="0, 3, 5" target="0, 0, 0" up="0, 1, 0"/>
    </transform>
    <film type="hdrfilm"><integer name="width" value="8"/><integer name="height" value="8"/>
      <rfilter type="box"/></film></sensor>
  <shape type="rectangle"><transform name="to_world"><rotate x="1" angle="-90"/>
    <scale value="4"/></transform></shape>
  <emitter type="constant"><rgb name="radiance" value="0.5"/></emitter>
</scene>""")
        return invrender.load_scene(path)

    np.testing.assert_array_equal(invrender.render(scene(1.0), spp=4), 0.5)
    assert invrender.render(scene(100.0), spp=4).min() < 0.4
