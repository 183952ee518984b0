"""Multi-view recipes and mesh optimisation: views, their batches and targets, the summed
gradient, Large Steps with remeshing through an exact resume, and the errors of bad views
and meshes (all before Taichi starts)."""

import json

import numpy as np
import pytest
import trimesh

import invrender
from invrender import views as views_mod
from invrender.checkpoint import load as load_checkpoint
from invrender.errors import InvrenderError
from invrender.image_io import read_image, write_exr
from invrender.optimize import Interrupted, optimize
from invrender.recipe import load_recipe
from invrender.run_files import contact_sheet
from tests.conftest import SCENES

BLOB = SCENES / "shape_blob.xml"


def blob_recipe(tmp_path, body: str, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(f"scene: {BLOB}\n" + body)
    return path


def test_spiral_is_the_tutorials_golden_ratio_spiral():
    origins = views_mod.spiral_origins(8, 5.0)
    np.testing.assert_allclose(np.linalg.norm(origins, axis=1), 5.0)
    golden = (1 + 5 ** 0.5) / 2
    theta, phi = 2 * np.pi * 3 / golden, np.arccos(1 - 2 * 3.5 / 8)
    np.testing.assert_allclose(origins[3], 5 * np.array([np.cos(theta) * np.sin(phi),
                                                         np.sin(theta) * np.sin(phi),
                                                         np.cos(phi)]))
    assert origins[:, 2].max() > 4 and origins[:, 2].min() < -4  # pole to pole


def test_batches_are_a_function_of_seed_and_iteration():
    assert views_mod.batch(8, None, 0, 5) == list(range(8))
    assert views_mod.batch(8, 8, 0, 5) == list(range(8))
    a = [views_mod.batch(8, 3, 7, it) for it in range(20)]
    assert a == [views_mod.batch(8, 3, 7, it) for it in range(20)]
    assert all(len(b) == 3 == len(set(b)) and b == sorted(b) for b in a)
    assert len({tuple(b) for b in a}) > 5  # not the same views every time
    assert set().union(*map(set, a)) == set(range(8))


def test_added_views_copy_the_first_sensor(tmp_path):
    scene = invrender.load_scene(BLOB, res=12)
    poses = tmp_path / "poses.json"
    poses.write_text(json.dumps([{"origin": [0, 0, 4]}, {"origin": [4, 0, 0], "fov": 30,
                                                          "up": [0, 0, 1]}]))
    recipe = load_recipe(blob_recipe(tmp_path, f"""target: {{render: {{}}}}
params: {{shape.translate: {{}}}}
iterations: 1
views:
  - sensor: 0
  - look_at: {{origin: [0, 3, 3]}}
    resolution: [10, 6]
  - spiral: {{count: 2, distance: 4}}
    fov: 60
    spp: 3
  - poses: {poses}
"""))
    views = views_mod.add_views(scene, recipe.views)
    assert [v.name for v in views] == ["sensor sensor", "view_1", "view_2_0", "view_2_1",
                                       "view_3_0", "view_3_1"]
    assert [v.sensor for v in views] == [0, 1, 2, 3, 4, 5]
    first, added = scene.sensors[0], scene.sensors[1:]
    assert all(s.rfilter.type == first.rfilter.type == "gaussian" for s in added)
    assert (added[0].width, added[0].height) == (10, 6)
    assert [s.fov for s in added] == [first.fov, 60, 60, first.fov, 30]
    assert [s.spp for s in added] == [first.spp, 3, 3, first.spp, first.spp]
    np.testing.assert_allclose(added[0].to_world[:3, 3], [0, 3, 3])
    np.testing.assert_allclose(added[0].to_world[:3, 2], [0, -2 ** -0.5, -2 ** -0.5])
    np.testing.assert_allclose(added[4].to_world[:3, 1], [0, 0, 1], atol=1e-12)


def test_contact_sheet_places_views_row_by_row():
    images = [np.full((2, 3, 3), k + 1.0) for k in range(5)] + [None]
    sheet = contact_sheet(images)
    assert sheet.shape == (2 * 2 + 2, 3 * 3 + 2 * 2, 3)  # 3 columns, 2 rows, 2-pixel gaps
    assert sheet[0, 0, 0] == 1 and sheet[0, 5, 0] == 2 and sheet[4, 0, 0] == 4
    assert sheet[4, 10, 0] == 0  # the view not rendered yet


def test_multi_view_gradient_is_the_sum_of_single_view_gradients(tmp_path):
    """One SGD step with lr 1 moves the vertices by minus the summed gradient; each view's
    gradient, computed alone with that view's seed, adds up to it exactly."""
    res = 12
    scene = invrender.load_scene(BLOB, res=res, mesh="assets/start_sphere.ply")
    truth = invrender.load_scene(BLOB, res=res)
    spec = load_recipe(blob_recipe(tmp_path, """target: {render: {}}
params: {shape.vertex_positions: {}}
iterations: 1
views: [{spiral: {count: 3, distance: 5}}]
""")).views
    views = views_mod.add_views(scene, spec)
    truth.sensors = list(scene.sensors)
    for k, view in enumerate(views):
        write_exr(tmp_path / f"t{k}.exr", invrender.render(truth, spp=8, seed=k,
                                                          sensor=view.sensor))
    recipe = blob_recipe(tmp_path, f"""scene_args: {{res: {res}, mesh: assets/start_sphere.ply}}
views:
  - spiral: {{count: 3, distance: 5}}
    image: {tmp_path / 't{index}.exr'}
params: {{shape.vertex_positions: {{}}}}
optimizer: {{type: sgd, lr: 1.0}}
loss: l1
iterations: 1
render: {{spp: 2, seed: 40}}
output: {{dir: {tmp_path / 'run'}, frame_every: 1}}
""")
    before = scene.meshes[0].vertices.copy()
    result = optimize(recipe)
    total = 0
    for k, view in enumerate(views):
        g = invrender.render_grad(scene, ["shape.vertex_positions"], loss="l1",
                                  target=read_image(tmp_path / f"t{k}.exr"), spp=2,
                                  seed=views_mod.view_seed(40, k), sensor=view.sensor)
        assert np.abs(g.grads["shape.vertex_positions"]).max() > 0
        total = total + g.grads["shape.vertex_positions"]
    np.testing.assert_allclose(result.values["shape.vertex_positions"], before - total,
                               rtol=0, atol=1e-12)
    # stepping after each view: each view's gradient is taken where the last step left off
    stepped = optimize(load_recipe(recipe, ["step_per_view=true",
                                            f"output.dir={tmp_path / 'per_view'}"]))
    pmap, v = invrender.ParameterMap(scene), before
    for k, view in enumerate(views):
        pmap["shape.vertex_positions"] = v
        g = invrender.render_grad(scene, ["shape.vertex_positions"], loss="l1",
                                  target=read_image(tmp_path / f"t{k}.exr"), spp=2,
                                  seed=views_mod.view_seed(40, k), sensor=view.sensor)
        v = v - g.grads["shape.vertex_positions"]
    np.testing.assert_allclose(stepped.values["shape.vertex_positions"], v, rtol=0,
                               atol=1e-12)
    assert np.abs(v - (before - total)).max() > 1e-6  # a different path than one step
    record = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[0])
    assert sorted(record["view_losses"]) == ["view_0_0", "view_0_1", "view_0_2"]
    assert record["loss"] == pytest.approx(sum(record["view_losses"].values()))
    frame = read_image(tmp_path / "run" / "frames" / "iter_0000.exr")
    assert frame.shape == (2 * res + 2, 2 * res + 2, 3)  # a 2 x 2 contact sheet


RESHAPE = """scene_args: {{res: 12, mesh: assets/start_sphere.ply}}
target:
  render: {{scene_args: {{mesh: assets/blob.ply}}, spp: 8}}
views: [{{spiral: {{count: 2, distance: 5}}}}]
params:
  shape.vertex_positions:
    large_steps: {{lambda: 25}}
    remesh: {{at: [2], edge_length: 0.1}}
optimizer: {{type: adam, lr: 0.1, uniform: true}}
loss: l1
iterations: 4
render: {{spp: 1, seed: 3}}
output: {{dir: {out}, frame_every: 2, checkpoint_every: 1}}
"""


@pytest.mark.parametrize("stop_after", [1, 2])
def test_large_steps_with_remeshing_resumes_exactly(tmp_path, stop_after):
    """Interrupted before or after the remeshing, a run resumes to the same mesh, bit for
    bit; the remeshed mesh is closed and written as PLY, the metrics are logged."""
    straight = optimize(blob_recipe(tmp_path, RESHAPE.format(out=tmp_path / "a"), "a.yaml"))
    recipe = blob_recipe(tmp_path, RESHAPE.format(out=tmp_path / "b"), "b.yaml")

    def interrupt(record):
        if record["iteration"] == stop_after:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        optimize(recipe, on_iteration=interrupt)
    assert bool(load_checkpoint(tmp_path / "b").meshes) == (stop_after >= 2)
    resumed = optimize(recipe, resume=True)
    name = "shape.vertex_positions"
    np.testing.assert_array_equal(resumed.values[name], straight.values[name])

    log = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert [r.get("remeshed") is not None for r in log] == [False, False, True, False]
    assert log[2]["remeshed"][name][1] > 1280  # a finer mesh than the start
    assert {"chamfer", "normal_consistency", "rss_mb"} <= set(log[2])
    final = json.loads((tmp_path / "a" / "params_final.json").read_text())
    mesh = trimesh.load(tmp_path / "a" / final["params"][name]["ply"], process=True)
    assert mesh.is_watertight and mesh.volume > 0
    assert len(mesh.vertices) == final["params"][name]["vertices"]
    assert final["metrics"]["chamfer"] < log[0]["chamfer"]
    assert (tmp_path / "a" / "targets" / "view_0_1.exr").is_file()


def test_bad_views_and_meshes_fail_before_taichi_starts(tmp_path, monkeypatch):
    from invrender import runtime

    write_exr(tmp_path / "wrong.exr", np.zeros((5, 7, 3), np.float32))
    cbox = SCENES / "cbox.xml"
    recipe = blob_recipe(tmp_path, f"""scene_args: {{res: 8, mesh: assets/start_sphere.ply}}
views:
  - look_at: {{origin: [0, 0, 4]}}
  - look_at: {{origin: [0, 0.1, 0.2]}}
    image: {tmp_path / 'wrong.exr'}
params:
  shape.vertex_positions: {{large_steps: 10, clamp: [0, 1]}}
  sky.data: {{remesh: {{at: [3]}}}}
iterations: 1
output: {{dir: {tmp_path / 'x'}}}
""")
    monkeypatch.setattr(runtime, "init", lambda *a, **k: pytest.fail("Taichi started"))
    with pytest.raises(InvrenderError) as info:
        optimize(recipe)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{recipe}: 5 problems"
    assert lines[1] == (f"{recipe}:4: views[0]: view_0 has no target (give the view an "
                        "image, or target: {render: {}} to render it from the scene)")
    assert lines[2].startswith(f"{recipe}:5: views[1]: view_1: the camera at [0.0, 0.1, 0.2] "
                               "is inside mesh 'shape'")
    assert lines[3].startswith(f"{recipe}:6: views[1].image: wrong.exr is 7x5 but view_1 "
                               "renders 8x8")
    assert lines[4].startswith(f"{recipe}:8: params.shape.vertex_positions.clamp: cannot "
                               "clamp vertex positions optimised with large_steps")
    assert lines[5].startswith(f"{recipe}:9: params.sky.data.remesh: applies to vertex "
                               "positions, not to")
    assert not (tmp_path / "x").exists()

    open_box = tmp_path / "open.yaml"
    open_box.write_text(f"""scene: {cbox}
target: {{render: {{}}}}
views: [{{sensor: 3}}]
params: {{smallbox.vertex_positions: {{remesh: {{at: [1]}}}}}}
iterations: 2
""")
    with pytest.raises(InvrenderError, match=r"open.yaml:3: views\[0\]: the scene has 1 "
                                             r"sensor\(s\), no sensor 3"):
        optimize(open_box)
    open_box.write_text(open_box.read_text().replace("sensor: 3", "sensor: sensor"))
    with pytest.raises(InvrenderError) as info:
        optimize(open_box)
    assert str(info.value).startswith(
        f"{open_box}:4: params.smallbox.vertex_positions.remesh: "
        "the mesh is not a closed manifold: 4 edges have one face")


def test_a_bad_resume_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    """A run directory's checkpoint survives a resume whose recipe became invalid."""
    from invrender import checkpoint, runtime
    from invrender.optim import Adam

    run = tmp_path / "run"
    run.mkdir()
    good = checkpoint.Checkpoint(3, {"shape.translate": np.ones(3)}, Adam().state_dict(), 0)
    checkpoint.save(run, good)
    before = (run / checkpoint.FILE).read_bytes()
    write_exr(tmp_path / "wrong.exr", np.zeros((5, 7, 3), np.float32))
    recipe = blob_recipe(tmp_path, f"""scene_args: {{res: 8}}
views: [{{look_at: {{origin: [0, 0, 4]}}, image: {tmp_path / 'wrong.exr'}}}]
params: {{shape.translate: {{}}}}
iterations: 5
output: {{dir: {run}}}
""")
    monkeypatch.setattr(runtime, "init", lambda *a, **k: pytest.fail("Taichi started"))
    with pytest.raises(InvrenderError, match="is 7x5 but view_0 renders 8x8"):
        optimize(recipe, resume=True)
    assert (run / checkpoint.FILE).read_bytes() == before


def test_a_recipe_given_as_a_mapping_is_checked_the_same(tmp_path, monkeypatch):
    from invrender import runtime

    monkeypatch.setattr(runtime, "init", lambda *a, **k: pytest.fail("Taichi started"))
    monkeypatch.chdir(tmp_path)
    recipe = {"scene": str(BLOB), "scene_args": {"mesh": "assets/start_sphere.ply"},
              "target": {"render": {}}, "views": [{"look_at": {"origin": [0, 0, 0.1]}}],
              "params": {"shape.vertex_positions": {"large_steps": 25}}, "iterations": 2}
    with pytest.raises(InvrenderError) as info:
        invrender.optimize(recipe)
    assert str(info.value).startswith("recipe: views[0]: view_0: the camera at [0.0, 0.0, "
                                      "0.1] is inside mesh 'shape'")
    resolved = invrender.recipe.recipe_from_dict(recipe)
    assert resolved.output.dir == tmp_path / "runs" / "recipe"
