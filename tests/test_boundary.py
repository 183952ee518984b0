"""Geometry derivatives with the visibility boundary terms (BOUNDARY.md §3 "Validation").

T1: an emissive square facing the camera on black: the interior term is 0 and the image
    sums have closed forms (scale: 2 L A, depth: -2 L A / z, sideways: 0, with A the
    square's area in pixels) with a box filter (a gaussian's shifted copies do not sum to a
    constant, so its image sum depends on where the edges fall between pixel centres).
T2: a square occluder between a small light and a floor (max_depth 2), translated
    sideways and up: 8x8 block sums of the derivative image against central finite
    differences of re-rendered images (same seed both sides), |z| < 4.5 with standard
    errors from independent runs, and mean|AD - FD| / mean|FD| < 0.05 on the
    8x8-downsampled images.
T3: a cube rotating about the vertical axis, by the same test, and at single floor points
    of its penumbra (a one-pixel camera) where the shadow term is all of the derivative.
Plus: forward and reverse mode stay exact transposes with the boundary terms included, and
welded edge topology.
"""

import math

import numpy as np
import pytest
import trimesh

import invrender
from invrender.autodiff import DiffRenderer
from invrender.compare import block_agreement
from invrender.geometry.edges import build_edges
from tests.conftest import SCENES

SCENES13 = SCENES.parent / "tests" / "data" / "mitsuba" / "scenes13"

SQUARE = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="2"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="40"/>
    <transform name="to_world"><lookat origin="0, 0, 0" target="0, 0, 1" up="0, 1, 0"/></transform>
    <sampler type="independent"><integer name="sample_count" value="4"/></sampler>
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

SHADOW = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="2"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="50"/>
    <transform name="to_world"><lookat origin="0, 4, 3" target="0, 0, 0" up="0, 1, 0"/></transform>
    <sampler type="independent"><integer name="sample_count" value="4"/></sampler>
    <film type="hdrfilm"><integer name="width" value="48"/><integer name="height" value="48"/>
      <rfilter type="{rfilter}"/></film>
  </sensor>
  <!-- floor half-size 4, not 3: with 3 its far edge (z = -3) projects exactly onto the
       occluder's far edge (z = -1.2, y = 1.2; both on one line through the camera), so
       the image has a kink in the occluder's height and central differences average the
       two one-sided derivatives. -->
  <shape type="rectangle" id="floor">
    <transform name="to_world"><rotate x="1" angle="-90"/><scale value="4"/></transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.8, 0.8, 0.8"/></bsdf>
  </shape>
  <shape type="rectangle" id="light">
    <transform name="to_world"><scale value="0.3"/><rotate x="1" angle="90"/>
      <translate y="2.5"/></transform>
    <emitter type="area"><rgb name="radiance" value="20, 20, 20"/></emitter>
  </shape>
  <shape type="rectangle" id="occluder">
    <transform name="to_world"><scale value="0.4"/><rotate x="1" angle="-90"/>
      <translate x="0.2" y="1.2" z="-0.8"/></transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.5, 0.5, 0.5"/></bsdf>
  </shape>
</scene>"""


# A cube above a floor, lit by a square light off to one side (turned by 30 degrees and at
# 32x32, bench/scenes/cube_rotate.xml); see cube_scene for the slots.
CUBE = """<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="{max_depth}"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="{fov}"/>
    <transform name="to_world"><lookat origin="0, 2.5, 4" target="{target}" up="0, 1, 0"/>
    </transform>
    <film type="hdrfilm"><integer name="width" value="{res}"/><integer name="height" value="{res}"/>
      <rfilter type="box"/></film>
  </sensor>
  <shape type="rectangle" id="floor">
    <transform name="to_world"><rotate x="1" angle="-90"/><scale value="4"/><translate y="-0.6"/>
    </transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.7, 0.7, 0.7"/></bsdf>
  </shape>
  {light}{extra}
  <shape type="cube" id="cube">
    <transform name="to_world">{cube}</transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.6, 0.3, 0.2"/></bsdf>
  </shape>
</scene>"""
LIGHT = """<shape type="rectangle" id="light">
    <transform name="to_world"><scale value="0.5"/><rotate x="1" angle="90"/>
      <translate x="0.5" y="3"/></transform>
    <emitter type="area"><rgb name="radiance" value="10, 10, 10"/></emitter>
  </shape>"""
SKY = """<emitter type="constant"><rgb name="radiance" value="1, 1, 1"/></emitter>"""
ENVMAP = f"""<emitter type="envmap"><string name="filename" value="{SCENES13 / 'sky.exr'}"/>
    <transform name="to_world"><rotate y="1" angle="-60"/></transform></emitter>"""
POINT = """<emitter type="point"><point name="position" x="0.5" y="3" z="0"/>
    <rgb name="intensity" value="10, 10, 10"/></emitter>"""
TURNED = '<scale value="0.45"/><rotate y="1" angle="30"/><translate y="0.2"/>'


def cube_scene(tmp_path, target, fov, res, light=LIGHT, max_depth=2, cube=TURNED, extra=""):
    """The camera looks at ``target`` with a ``res`` x ``res`` film; ``extra`` adds shapes."""
    text = CUBE.format(target=target, fov=fov, res=res, light=light, max_depth=max_depth,
                       cube=cube, extra=extra)
    return scene_from(tmp_path, text, "cube.xml")


def finite_differences(scene, param, direction, h, spp, seeds):
    """Central differences of re-rendered images, the same seed on both sides."""
    pmap = invrender.ParameterMap(scene)
    start = pmap[param]
    out = []
    try:
        for seed in seeds:
            pmap[param] = start + h * np.asarray(direction)
            plus = invrender.render(scene, spp=spp, seed=seed)
            pmap[param] = start - h * np.asarray(direction)
            minus = invrender.render(scene, spp=spp, seed=seed)
            out.append((plus - minus) / (2 * h))
    finally:
        pmap[param] = start
    return np.array(out, np.float64)


def scene_from(tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text)
    return invrender.load_scene(path)


def test_emissive_square_sums_match_closed_forms(tmp_path):
    scene = scene_from(tmp_path, SQUARE, "square.xml")
    f = 64 / (2 * math.tan(math.radians(20)))
    area = (1.0 * f / 3.0) ** 2  # side 1 at depth 3, in pixels
    radiance = np.array([1.0, 2.0, 3.0])
    for param, direction, expected in (("square.scale", [1, 1, 1], 2 * area),
                                       ("square.translate", [0, 0, 1], -2 * area / 3.0),
                                       ("square.translate", [1, 0, 0], 0.0)):
        runs = np.array([invrender.grad_image(scene, param, direction, spp=4, seed=s)
                         .reshape(-1, 3).sum(0) for s in range(6)])
        interior = invrender.grad_image(scene, param, direction, spp=4, boundary=False)
        assert np.all(interior == 0)  # emission seen directly has no interior term
        mean, se = runs.mean(0), runs.std(0, ddof=1) / np.sqrt(len(runs))
        z = (mean - expected * radiance) / np.maximum(se, 1e-3 * area)
        assert np.all(np.abs(z) < 4.5), (param, direction, mean, expected * radiance, se)


@pytest.mark.slow
@pytest.mark.parametrize("direction, rfilter", [([1.0, 0.0, 0.0], "box"),
                                                ([0.0, 1.0, 0.0], "box"),
                                                ([1.0, 0.0, 0.0], "gaussian")])
def test_shadow_and_silhouette_of_a_sliding_occluder_match_finite_differences(tmp_path,
                                                                             direction,
                                                                             rfilter):
    """With a gaussian filter the boundary samples splat through the filter like the
    interior ones (8x8 blocks of correlated pixels: variances from the runs)."""
    scene = scene_from(tmp_path, SHADOW.replace("{rfilter}", rfilter), "shadow.xml")
    ad = np.array([invrender.grad_image(scene, "occluder.translate", direction, spp=64,
                                        seed=10 + k) for k in range(8)])
    fd = finite_differences(scene, "occluder.translate", direction, 0.01, 256, range(500, 508))
    max_z, metric = block_agreement(ad, fd)
    assert max_z < 4.5 and metric < 0.05, (max_z, metric)
    # without the boundary terms the derivative is far off: the check has teeth
    interior_only = invrender.grad_image(scene, "occluder.translate", direction, spp=64,
                                         seed=10, boundary=False)
    assert np.abs(ad[0] - interior_only).sum() > 0.5 * np.abs(np.mean(fd, 0)).sum()


@pytest.mark.slow
def test_rotating_cube_matches_finite_differences(tmp_path):
    """d image / d angle of a cube turning about the vertical axis: silhouettes, visible
    creases, the cube's own shading and its shadow on the floor. Sized from measured noise:
    at 16 x (1536 spp AD, 2 x 8192 spp FD) the metric is ~0.027 from noise alone (0.013
    at 2.7 x the samples, 0.04 with the old shadow bias)."""
    scene = cube_scene(tmp_path, "0, 0, 0", 45, 32)
    ad = np.array([invrender.grad_image(scene, "cube.rotate", [0, 1, 0], spp=1536,
                                        seed=40 + k) for k in range(16)])
    fd = finite_differences(scene, "cube.rotate", [0, 1, 0], 0.5, 8192, range(700, 716))
    max_z, metric = block_agreement(ad, fd)
    assert max_z < 4.5 and metric < 0.05, (max_z, metric)


PENUMBRA = "-0.7063, -0.6, 0.9877"  # floor points in the cube's penumbra


@pytest.mark.parametrize("target, light, param, direction, h", [
    (PENUMBRA, LIGHT, "cube.rotate", [0, 1, 0], 0.5),
    ("-0.5040, -0.6, 0.8361", LIGHT, "cube.rotate", [0, 1, 0], 0.5),
    (PENUMBRA, LIGHT, "floor.translate", [0, 1, 0], 0.01),  # the receiver moves
    (PENUMBRA, LIGHT, "light.translate", [1, 0, 0], 0.01),  # the light moves
    (PENUMBRA, SKY, "cube.translate", [1, 0, 0], 0.01),  # a constant environment
    (PENUMBRA, SKY, "floor.translate", [0, 1, 0], 0.01),
    (PENUMBRA, ENVMAP, "cube.translate", [1, 0, 0], 0.01),  # an environment map
    (PENUMBRA, ENVMAP, "floor.translate", [0, 1, 0], 0.01),
], ids=["rotate", "rotate-2", "receiver", "light", "sky-occluder", "sky-receiver",
        "envmap-occluder", "envmap-receiver"])
def test_shadow_at_one_floor_point(tmp_path, target, light, param, direction, h):
    """One pixel with a 0.02 degree field of view sees one floor point in the penumbra of a
    cube. Turning the cube, the derivative there is the shadow term alone: two silhouette
    edges' terms cancel to about half of either, and the side rays of the face diagonals
    ending at their shared vertex once added a 9 % bias (z of -8 here). Moving the floor or
    the light against the still cube exercises the receiver and light terms, without which
    the boundary part is missing; under a constant sky, the whole edge casts a shadow."""
    scene = cube_scene(tmp_path, target, 0.02, 1, light=light)
    ad = np.array([invrender.grad_image(scene, param, direction, spp=65536,
                                        seed=100 + k)[0, 0, 0] for k in range(16)])
    fd = finite_differences(scene, param, direction, h, 262144, range(900, 916))[:, 0, 0, 0]
    se = np.hypot(ad.std(ddof=1), fd.std(ddof=1)) / 4
    assert abs(fd.mean()) > 20 * se  # the point is in the penumbra: the check has teeth
    assert abs(ad.mean() - fd.mean()) < 4.5 * se, (ad.mean(), fd.mean(), se)
    interior = invrender.grad_image(scene, param, direction, spp=65536, seed=100,
                                    boundary=False)[0, 0, 0]
    assert abs(interior - fd.mean()) > 0.05 * abs(fd.mean())  # the boundary term matters


WALL = """
  <shape type="rectangle" id="wall">
    <transform name="to_world"><scale x="1" y="0.15"/><translate y="-0.45" z="-1.2"/></transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.8, 0.8, 0.8"/></bsdf>
  </shape>"""


@pytest.mark.parametrize("direction", [[1, 0, 0], [0, 0, 1]])
def test_shadow_seen_after_one_bounce(tmp_path, direction):
    """One pixel on a low wall that the light reaches unhindered, lit also by the floor,
    on which a small cube high up casts its shadow (max_depth 3). The cube never crosses
    the wall-floor segments, so the derivative is the shadow term at the second path
    vertex, and without that term it is about 0."""
    scene = cube_scene(tmp_path, "0, -0.45, -1.2", 0.02, 1, max_depth=3,
                       cube='<scale value="0.15"/><translate y="1.2"/>', extra=WALL)
    ad = np.array([invrender.grad_image(scene, "cube.translate", direction, spp=65536,
                                        seed=100 + k)[0, 0, 0] for k in range(16)])
    fd = finite_differences(scene, "cube.translate", direction, 0.02, 262144,
                            range(900, 916))[:, 0, 0, 0]
    se = np.hypot(ad.std(ddof=1), fd.std(ddof=1)) / 4
    assert abs(fd.mean()) > 20 * se
    assert abs(ad.mean() - fd.mean()) < 4.5 * se, (ad.mean(), fd.mean(), se)
    interior = invrender.grad_image(scene, "cube.translate", direction, spp=65536, seed=1,
                                    boundary=False)[0, 0, 0]
    assert abs(interior) < 0.05 * abs(fd.mean())


SIDE_WALL = """
  <shape type="rectangle" id="wall">
    <transform name="to_world"><rotate y="1" angle="-90"/><translate x="2" y="0.5"/></transform>
    <bsdf type="diffuse"><rgb name="reflectance" value="0.8, 0.8, 0.8"/></bsdf>
  </shape>"""


@pytest.mark.parametrize("param, direction", [("cube.translate", [0, 0, 1]),
                                              ("cube.translate", [1, 0, 0]),
                                              ("floor.translate", [0, 1, 0])])
def test_indirect_visibility_at_one_floor_point(tmp_path, param, direction):
    """One floor pixel lit by a wall (max_depth 3) past a small cube that hides part of the
    wall from it: the visibility of the segment from the floor to the wall moves (cube along
    and across the view, or the floor, the receiver). Edges hidden from the pixel behind the
    cube once added the cube's own light here (AD 0.0103 against FD 0.0080 along z)."""
    scene = cube_scene(tmp_path, "0.8, -0.6, 0.9", 0.02, 1, max_depth=3, extra=SIDE_WALL,
                       cube='<scale value="0.15"/><translate x="1.5" y="-0.1" z="0.9"/>')
    ad = np.array([invrender.grad_image(scene, param, direction, spp=65536,
                                        seed=100 + k)[0, 0, 0] for k in range(16)])
    fd = finite_differences(scene, param, direction, 0.02, 262144, range(900, 916))[:, 0, 0, 0]
    se = np.hypot(ad.std(ddof=1), fd.std(ddof=1)) / 4
    assert abs(fd.mean()) > 20 * se
    assert abs(ad.mean() - fd.mean()) < 4.5 * se, (ad.mean(), fd.mean(), se)


@pytest.mark.parametrize("param, direction", [("smallbox.rotate", [0, 1, 0]),
                                              ("smallbox.translate", [1, 0.5, -1]),
                                              ("smallbox.vertex_positions", None)])
def test_boundary_forward_and_reverse_are_transposes(param, direction):
    scene = invrender.load_scene(SCENES / "cbox.xml", res=32, max_depth=2)
    pmap = invrender.ParameterMap(scene)
    diff = DiffRenderer.of(scene, 2)
    moving = (next(i for i, m in enumerate(scene.meshes) if m.id == "smallbox"),)
    rng = np.random.default_rng(3)
    v = rng.normal(size=pmap[param].shape) if direction is None else np.array(direction)
    w = rng.uniform(size=(32, 32, 3))
    field, tangent = diff.field_direction(pmap, param, v)
    jv = diff.forward(field, tangent, 4, 2, 5, moving)
    interior = diff.forward(field, tangent, 4, 2, 5, ())
    diff.backward(4, 2, w, 5, moving)
    jtw = diff.gradient(pmap, param)
    lhs, rhs = float((w * jv).sum()), float((jtw * v).sum())
    assert lhs == pytest.approx(rhs, rel=1e-4), (lhs, rhs)
    assert not np.allclose(jv, interior)  # the boundary term is there


# The start sphere of scenes/shape_blob.xml (1280 faces), flat-shaded and emissive on black,
# seen as bench/silhouette_fd_check.py sees it (the film and integrator of SQUARE).
SPHERE = f"""<scene version="3.0.0">
  <integrator type="path"><integer name="max_depth" value="2"/></integrator>
  <sensor type="perspective">
    <float name="fov" value="45"/>
    <transform name="to_world"><lookat origin="3, 1.5, 3.5" target="0, 0, 0" up="0, 1, 0"/>
    </transform>
    <sampler type="independent"><integer name="sample_count" value="4"/></sampler>
    <film type="hdrfilm"><integer name="width" value="32"/><integer name="height" value="32"/>
      <rfilter type="box"/></film>
  </sensor>
  <shape type="ply" id="sphere">
    <string name="filename" value="{SCENES / 'assets' / 'start_sphere.ply'}"/>
    <boolean name="face_normals" value="true"/>
    <emitter type="area"><rgb name="radiance" value="1, 2, 3"/></emitter>
  </shape>
</scene>"""


def convex_coverage(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """The area of each pixel (height, width) inside the convex hull of film points."""
    from scipy.spatial import ConvexHull

    hull = points[ConvexHull(points).vertices]
    out = np.zeros((height, width))
    lo = np.maximum(np.floor(hull.min(0)).astype(int), 0)
    hi = np.minimum(np.ceil(hull.max(0)).astype(int), (width, height))
    for py in range(lo[1], hi[1]):
        for px in range(lo[0], hi[0]):
            poly = list(hull)
            for axis, bound, sign in ((0, px, 1), (0, px + 1, -1), (1, py, 1), (1, py + 1, -1)):
                kept = []
                for a, b in zip(poly, poly[1:] + poly[:1], strict=True):  # Sutherland-Hodgman
                    da, db = sign * (a[axis] - bound), sign * (b[axis] - bound)
                    if da >= 0:
                        kept.append(a)
                    if (da >= 0) != (db >= 0):
                        kept.append(a + da / (da - db) * (b - a))
                poly = kept
                if not poly:
                    break
            if len(poly) >= 3:
                q = np.array(poly)
                out[py, px] = 0.5 * abs(np.dot(q[:, 0], np.roll(q[:, 1], -1))
                                        - np.dot(q[:, 1], np.roll(q[:, 0], -1)))
    return out


def test_sliver_faces_at_a_silhouette_add_no_crease_jump(tmp_path):
    """Seen from here, faces next to the sphere's outline are slivers in the image, some
    under 0.01 px wide. The two paths of a crease sample once started EPS px either side of
    the edge; near an endpoint that left the sliver and saw the background beyond the
    silhouette, so creases that have no jump (both faces emit alike) counted part of the
    silhouette's term again: 62 of these 15345 crease samples had a jump, and d/dx of the
    weighted image sum below came out 7.5 % high (32 x 64 spp: AD 75.45 +- 0.71 against the
    exact 70.21 from the convex outline's pixel coverage; 70.50 +- 0.71 since). The sum is
    held to 3.5 standard errors of 8 runs, from the measured 4.0 per run."""
    from invrender.geometry.edges import face_normals
    from invrender.sensors.registry import SENSORS

    scene = scene_from(tmp_path, SPHERE, "sphere.xml")
    diff = DiffRenderer.of(scene, 2)
    edges = diff.primary.edges((0,))
    vertices, faces = diff.engine.vertices, diff.engine.layout.faces
    samples = diff.primary.sample((0,), 32 * 32 * 16, 5, 0, 2, 5)
    eye = scene.sensors[0].to_world[:3, 3]
    n = face_normals(vertices, faces, edges.faces)
    facing = np.einsum("eij,ej->ei", n, eye - vertices[edges.v[:, 0]]) > 0
    index = {tuple(v): k for k, v in enumerate(edges.v)}
    crease = facing[[index[tuple(v)] for v in samples.v[:, :2]]].all(1)
    assert crease.sum() > 0.5 * len(crease)
    assert np.count_nonzero(samples.weight[crease]) == 0
    assert np.all(samples.weight[~crease] != 0)  # the silhouettes' samples: L_e - 0
    cam = SENSORS["perspective"].projection(scene.sensors[0])
    w = np.random.default_rng(1).uniform(0.5, 1.5, (32, 32))
    h, d = 1e-4, np.array([1.0, 0.0, 0.0])
    coverage = [convex_coverage(cam.film(cam.to_camera(vertices + t * d)), 32, 32)
                for t in (h, -h)]
    exact = float((w * (coverage[0] - coverage[1])).sum() / (2 * h))
    runs = [(w * invrender.grad_image(scene, "sphere.translate", d, spp=64,
                                      seed=10 + k)[..., 0]).sum() for k in range(8)]
    assert abs(np.mean(runs) - exact) < 3.5 * 4.0 / np.sqrt(8), (np.mean(runs), exact)


def test_inner_side_of_a_smooth_silhouette_faces_the_camera(monkeypatch):
    """Near a smooth mesh's outline the interpolated shading normal can face away from the
    camera, where a diffuse surface is black; the inner side of a silhouette sample then
    turns it to the camera, as Mitsuba's direct_projective does (``wrong_side``). Without
    that, d/dx of bench/silhouette_fd_check.py's sum was 56.7 +- 1.3 against FD 41.1
    (Mitsuba without its correction: 62.0); with it 35.3 +- 1.3 (Mitsuba 36.5 +- 1.3)."""
    scene = invrender.load_scene(SCENES / "shape_blob.xml", res=24,
                                 mesh="assets/start_sphere.ply")
    diff = DiffRenderer.of(scene, 2)
    radiance_at = diff.primary.tracer.radiance_at
    black = []
    for turned in (True, False):
        def recording(points, seed, sensor, max_depth, rr_depth, to_viewer, keep=turned):
            out = radiance_at(points, seed, sensor, max_depth, rr_depth,
                              to_viewer if keep else None)
            inner = out[to_viewer]  # the front faces' sides of silhouette samples
            black.append((len(inner), np.all(inner == 0, axis=1).mean()))
            return out

        monkeypatch.setattr(diff.primary.tracer, "radiance_at", recording)
        diff.primary.sample((0,), 24 * 24 * 16, 5, 0, 2, 5)
    (count, turned_black), (_, plain_black) = black
    assert count > 100
    assert turned_black < 0.01 and plain_black > 0.1, black


def test_welded_edges_of_the_cbox_boxes():
    scene = invrender.load_scene(SCENES / "cbox.xml")
    offsets = np.cumsum([0] + [len(m.vertices) for m in scene.meshes])
    vertices = np.concatenate([m.vertices for m in scene.meshes])
    faces = np.concatenate([m.faces + o for m, o in zip(scene.meshes, offsets, strict=False)])
    small = [m.id for m in scene.meshes].index("smallbox")
    edges = build_edges(vertices, faces, offsets, [small])
    # 8 corners welded from 20 vertices: 4 top + 4 vertical + 4 bottom + 5 diagonals
    assert len(edges) == 17 and int((edges.faces[:, 1] < 0).sum()) == 4


def test_point_light_shadows_are_interior_only(tmp_path):
    """A point light's hard shadow moves with the cube without a boundary term: the
    parameter map says so, and finite differences show what is missing (measured: a
    mean |AD - FD| / mean |FD| of 0.68 and a block z of 97 on this image, against < 0.05 with
    the area light's soft shadow in the tests above)."""
    scene = cube_scene(tmp_path, "0.3, -0.6, 0.3", 50, 24, light=POINT)
    note = invrender.ParameterMap(scene).parameter("cube.translate").note
    assert "hard shadows of point lights are interior-only" in note
    ad = np.array([invrender.grad_image(scene, "cube.translate", [1, 0, 0], spp=256,
                                        seed=60 + k) for k in range(8)])
    fd = finite_differences(scene, "cube.translate", [1, 0, 0], 0.01, 1024, range(600, 608))
    max_z, metric = block_agreement(ad, fd)
    assert max_z > 10 and metric > 0.2, (max_z, metric)


def test_shadow_of_a_finely_tessellated_light(tmp_path):
    """A light of more triangles than ``state.BOX_TRIANGLES`` is seen through its bounding
    box when shadow-edge points are chosen (bounded cost per sample; the points whose rays
    miss the light add nothing): the same rectangle light as 32 triangles gives the
    penumbra derivative finite differences give."""
    n = 4
    grid = np.linspace(-1, 1, n + 1)
    lines = [f"v {x} {y} 0" for y in grid for x in grid]
    for j in range(n):
        for i in range(n):
            a = j * (n + 1) + i + 1
            lines += [f"f {a} {a + 1} {a + n + 2}", f"f {a} {a + n + 2} {a + n + 1}"]
    (tmp_path / "fine_light.obj").write_text("\n".join(lines) + "\n")
    light = LIGHT.replace('<shape type="rectangle" id="light">',
                          f'<shape type="obj" id="light"><string name="filename" '
                          f'value="{tmp_path / "fine_light.obj"}"/>')
    scene = cube_scene(tmp_path, PENUMBRA, 0.02, 1, light=light)
    assert len(scene.meshes[1].faces) == 2 * n * n
    ad = np.array([invrender.grad_image(scene, "cube.rotate", [0, 1, 0], spp=65536,
                                        seed=100 + k)[0, 0, 0] for k in range(16)])
    fd = finite_differences(scene, "cube.rotate", [0, 1, 0], 0.5, 262144,
                            range(900, 916))[:, 0, 0, 0]
    se = np.hypot(ad.std(ddof=1), fd.std(ddof=1)) / 4
    assert abs(fd.mean()) > 20 * se
    assert abs(ad.mean() - fd.mean()) < 4.5 * se, (ad.mean(), fd.mean(), se)


def test_creases_of_smooth_shading_are_not_candidates():
    """Across an edge of a smooth-shaded mesh position and normal are continuous, so only
    silhouettes and boundaries can bound what the camera sees; flat shading and normal
    seams (duplicated vertices with other normals) keep their visible creases."""
    from invrender.geometry.edges import discontinuity_edges, smooth_across
    from invrender.geometry.mesh import vertex_normals

    ico = trimesh.creation.icosphere(2)
    v, f = np.asarray(ico.vertices), np.asarray(ico.faces)
    edges = build_edges(v, f, [0, len(v)], [0])
    eye = np.array([0.3, 0.2, 5.0])
    flat = discontinuity_edges(edges, v, f, eye)
    smooth = discontinuity_edges(edges, v, f, eye, smooth_across(edges, vertex_normals(v, f)))
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    facing = np.einsum("fj,fj->f", fn, eye - v[f[:, 0]]) > 0
    silhouettes = np.nonzero(facing[edges.faces[:, 0]] != facing[edges.faces[:, 1]])[0]
    np.testing.assert_array_equal(smooth, silhouettes)
    assert len(flat) > 5 * len(smooth)  # the flat-shaded sphere's visible creases
    # split the front half off along a normal seam: its seam edges come back
    front = f[np.all(v[f][:, :, 2] > 0.2, axis=1).nonzero()[0]]
    seam_v = np.unique(front)
    copy = {old: len(v) + k for k, old in enumerate(seam_v)}
    f2 = f.copy()
    rows = np.all(v[f][:, :, 2] > 0.2, axis=1)
    f2[rows] = np.vectorize(copy.get)(f[rows])
    v2 = np.concatenate([v, v[seam_v]])
    n2 = vertex_normals(v2, f2)  # the two halves' own normals: they differ on the seam
    e2 = build_edges(v2, f2, [0, len(v2)], [0])
    seam = discontinuity_edges(e2, v2, f2, eye, smooth_across(e2, n2))
    assert len(seam) > len(silhouettes)
    assert set(map(tuple, np.sort(e2.v[seam], 1))) >= set(map(
        tuple, np.sort(e2.v[discontinuity_edges(e2, v2, f2, eye, np.ones(len(e2), bool))],
                       1)))


def test_primary_boundary_leaves_the_shadow_terms_out(tmp_path, monkeypatch):
    """``boundary="primary"`` (Mitsuba's projective integrators with sppi 0): the camera's
    silhouettes alone, i.e. the full boundary term without its shadow-edge samples."""
    import invrender.integrators.shadow as shadow

    scene = cube_scene(tmp_path, "0, 0, 0", 40, 12)
    w = np.random.default_rng(3).uniform(0.5, 1.5, (12, 12, 3))
    args = dict(loss="mse", target=w, spp=4, seed=7)
    full = invrender.render_grad(scene, ["cube.translate"], **args).grads["cube.translate"]
    primary = invrender.render_grad(scene, ["cube.translate"], boundary="primary",
                                    **args).grads["cube.translate"]
    monkeypatch.setattr(shadow.ShadowBoundary, "sample", lambda self, *a, **k: None)
    no_shadow = invrender.render_grad(scene, ["cube.translate"], **args).grads["cube.translate"]
    np.testing.assert_array_equal(primary, no_shadow)
    assert np.abs(full - primary).max() > 1e-3 * np.abs(full).max()  # the floor's shadow


def test_self_shadow_samples_carry_the_receiver_motion(tmp_path, monkeypatch):
    """One mesh of two boxes, the upper shadowing the lower: a shadow-edge sample whose
    edge and receiver are both on the moving mesh carries both terms. On a curved surface
    shadowing itself near x their 1 / r parts then cancel in the sample under a rigid
    motion; drawn apart, each is O(1 / r^2), the heavy tail that threw the pose recipe off
    (bench/pose_gradient_noise.py). Finite differences of these terms: the tests above."""
    import trimesh.creation as creation

    import invrender.integrators.shadow as shadow

    boxes = [creation.box([1.2, 0.2, 1.2]), creation.box([0.4, 0.4, 0.4])]
    boxes[0].apply_translation([0.0, -0.5, 0.0])
    boxes[1].apply_translation([0.3, 0.5, 0.0])
    pair = trimesh.util.concatenate(boxes)
    pair.export(tmp_path / "pair.obj")
    extra = f"""<shape type="obj" id="pair"><string name="filename" value="{tmp_path /
        'pair.obj'}"/><boolean name="face_normals" value="true"/>
      <bsdf type="diffuse"><rgb name="reflectance" value="0.5, 0.5, 0.5"/></bsdf></shape>"""
    scene = cube_scene(tmp_path, "0, -0.4, 0", 40, 16, extra=extra,
                       cube='<scale value="0.1"/><translate x="-2" y="-0.4"/>')
    drawn = []
    sample = shadow.ShadowBoundary.sample
    monkeypatch.setattr(shadow.ShadowBoundary, "sample",
                        lambda self, *a, **k: drawn.append(sample(self, *a, **k)) or drawn[-1])
    invrender.render_grad(scene, ["pair.translate"], loss="mse", target=np.zeros((16, 16, 3)),
                          spp=256, seed=3)
    s = next(d for d in drawn if d is not None)
    occluder = np.abs(s.c[:, :2]).sum(axis=(1, 2)) > 0
    receiver = np.abs(s.c[:, 2:5]).sum(axis=(1, 2)) > 0
    both = occluder & receiver
    assert both.sum() > 20, (occluder.sum(), receiver.sum(), both.sum())
