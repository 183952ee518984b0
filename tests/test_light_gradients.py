"""Derivatives of the new plugins' parameters: light intensities, an environment map's
texels, a checkerboard's colours, and geometry seen through smooth shading normals and
under delta lights. Forward and reverse mode must be transposes on the same samples, and
both must equal central finite differences of the replay on fixed records in double
precision (the interior derivative; boundary terms are tests/test_boundary.py's)."""

from pathlib import Path

import numpy as np
import pytest

import invrender
from invrender.gradients import check_grad
from tests.test_gradients import assert_transposes

DATA = Path(__file__).resolve().parent / "data" / "mitsuba" / "scenes13"
RES = 24
CHECKER = Path(__file__).resolve().parents[1] / "scenes" / "assets" / "checker.png"
# One scene with every new light and texture, so that the kernels compile once per
# precision: a checkerboard floor, a cube, a smooth icosphere (given vertex normals), lit by
# a point, a spot (with a projected texture), a directional light and an environment map.
LIGHTS = f"""<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="3"/></integrator>
  <sensor type="perspective"><float name="fov" value="45"/>
    <transform name="to_world"><lookat origin="0, 3, 4.5" target="0, 0.3, 0" up="0, 1, 0"/>
    </transform>
    <film type="hdrfilm"><integer name="width" value="{RES}"/>
      <integer name="height" value="{RES}"/><rfilter type="box"/></film></sensor>
  <shape type="rectangle" id="floor">
    <transform name="to_world"><rotate x="1" angle="-90"/><scale value="3"/></transform>
    <bsdf type="diffuse"><texture type="checkerboard" name="reflectance">
      <rgb name="color0" value="0.7, 0.6, 0.5"/><rgb name="color1" value="0.2, 0.3, 0.4"/>
      <transform name="to_uv"><scale value="3"/></transform></texture></bsdf></shape>
  <shape type="cube" id="cube">
    <transform name="to_world"><scale value="0.4"/><translate x="0.9" y="0.4"/></transform>
  </shape>
  <shape type="ply" id="smooth"><string name="filename" value="{DATA / 'ico_smooth.ply'}"/>
    <transform name="to_world"><scale value="0.6"/><translate x="-0.6" y="0.6"/></transform>
  </shape>
  <emitter type="point" id="bulb"><point name="position" x="1" y="2.5" z="1.5"/>
    <rgb name="intensity" value="6, 5, 4"/></emitter>
  <emitter type="spot" id="spot">
    <transform name="to_world"><lookat origin="-1.5, 3, 1" target="-0.3, 0, 0.4"/></transform>
    <float name="cutoff_angle" value="30"/><float name="beam_width" value="18"/>
    <rgb name="intensity" value="30"/>
    <texture type="bitmap" name="texture">
      <string name="filename" value="{CHECKER}"/></texture></emitter>
  <emitter type="directional" id="sun"><vector name="direction" x="0.5" y="-1" z="-0.3"/>
    <rgb name="irradiance" value="0.8, 0.8, 0.7"/></emitter>
  <emitter type="envmap" id="sky"><string name="filename" value="{DATA / 'sky.exr'}"/>
    <float name="scale" value="0.5"/></emitter>
</scene>"""
CASES = [
    "bulb.intensity.value",
    "spot.intensity.value",
    "spot.cutoff_angle",
    "spot.beam_width",
    "spot.texture.data",  # its projected texture
    "sun.irradiance.value",
    "sky.data",
    "sky.scale",
    "floor.bsdf.reflectance.color1.value",
    "cube.translate",  # a box under delta lights and the environment map (interior)
    "floor.translate",  # a receiver moving through the spot's cone
    "smooth.translate",  # a smooth mesh: its given normals move with it
]


@pytest.fixture
def lights(tmp_path):
    path = tmp_path / "lights.xml"
    path.write_text(LIGHTS)
    return invrender.load_scene(path)


@pytest.mark.parametrize("param", CASES)
def test_forward_and_reverse_are_transposes(lights, param):
    assert_transposes(lights, param, RES, seed=11)


@pytest.mark.parametrize("param", CASES)
def test_finite_differences_in_double_precision(f64, lights, param):
    result = check_grad(lights, param, spp=2, seed=5)
    errors = result.errors()
    assert errors["forward vs FD"] < 1e-6, (result, errors)
    assert errors["reverse vs FD"] < 1e-6, (result, errors)


def test_smooth_normals_carry_a_derivative_of_their_own(f64, lights):
    """Vertex positions moved non-rigidly: the shading normals are recomputed (as Mitsuba
    does), and the derivative includes theirs. On a mesh whose normals are the recompute's
    (so both sides linearise at the same normals) AD equals finite differences; keeping
    the normals fixed instead changes the finite difference."""
    from invrender.geometry.mesh import vertex_normals

    scene = lights
    mesh = next(m for m in scene.meshes if m.id == "smooth")
    mesh.normals = vertex_normals(mesh.vertices, mesh.faces)
    direction = np.random.default_rng(5).normal(size=mesh.vertices.shape)
    moving = check_grad(scene, "smooth.vertex_positions", direction=direction, spp=2, seed=5)
    assert moving.errors()["forward vs FD"] < 1e-6, moving.errors()
    assert moving.errors()["reverse vs FD"] < 1e-6, moving.errors()
    mesh.normals_for = None  # the given normals stay when the vertices move
    fixed = check_grad(scene, "smooth.vertex_positions", direction=direction, spp=2, seed=5)
    assert abs(fixed.finite_difference - moving.finite_difference) > 1e-2 * abs(
        moving.finite_difference), (fixed.finite_difference, moving.finite_difference)
