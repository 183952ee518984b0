"""``invrender.torch``: the renderer as a PyTorch operation.

Its gradients are ``render_grad``'s for the same seed, ``gradcheck`` holds in float64 (the
replay of the forward's own paths is the exact derivative of the image), the examples run
and the red-wall example converges, and without PyTorch everything but this module works
and this module says what to install.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import invrender  # noqa: E402
import invrender.torch as irt  # noqa: E402
from invrender import runtime  # noqa: E402
from invrender.errors import InvrenderError  # noqa: E402
from invrender.gradients import image_backward  # noqa: E402
from tests.conftest import ROOT, SCENES  # noqa: E402

RES = 16
MESSAGE = "invrender.torch needs PyTorch: pip install -e '.[torch]'"
CASES = [("cbox.xml", "red.reflectance.value"),
         ("cbox.xml", "light.emitter.radiance.value"),
         ("cbox_textured.xml", "tiles.reflectance.data")]


def load(name, res=RES, **kw):
    return invrender.load_scene(SCENES / name, res=res, max_depth=3, **kw)


def example(name):
    """An example script as a module, so that tests call its functions."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("decorrelate", [True, False])
@pytest.mark.parametrize("scene_name, param", CASES)
def test_image_and_gradient_equal_render_grad(scene_name, param, decorrelate):
    """Same seed, same image bit for bit, and the same gradient: an MSE in float64 in torch
    gives the d loss / d image that render_grad computes in numpy, to the last bits."""
    scene = load(scene_name)
    target = invrender.render(scene, spp=4, seed=1)
    x = irt.parameters(scene, param)[param]
    with torch.no_grad():
        x.mul_(0.8)  # away from the target's values
    image = irt.render(scene, {param: x}, spp=2, seed=3, decorrelate=decorrelate)
    assert image.dtype == torch.float32 and image.shape == (RES, RES, 3)
    loss = torch.mean((image.double() - torch.from_numpy(target).double()) ** 2)
    loss.backward()

    expected = invrender.render_grad(scene, [param], "mse", target, spp=2, seed=3,
                                     decorrelate=decorrelate)
    np.testing.assert_array_equal(image.detach().numpy(), expected.image)
    assert loss.item() == pytest.approx(expected.loss, rel=1e-12)
    g = expected.grads[param]
    assert x.grad.dtype == torch.float64 and x.grad.shape == x.shape
    assert np.abs(g).max() > 0
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-7, atol=1e-7 * np.abs(g).max())


def test_float32_parameters_and_loss():
    """A float32 parameter gets a float32 gradient; the float32 MSE of torch agrees with the
    float64 one to float32 rounding."""
    scene = load("cbox.xml")
    name = "green.reflectance.value"
    target = invrender.render(scene, spp=4, seed=1)
    x = torch.tensor([0.3, 0.5, 0.2], requires_grad=True)
    image = irt.render(scene, {name: x}, spp=2, seed=7)
    torch.nn.MSELoss()(image, torch.from_numpy(target)).backward()
    assert x.grad.dtype == torch.float32
    g = invrender.render_grad(scene, [name], "mse", target, spp=2, seed=7).grads[name]
    np.testing.assert_allclose(x.grad.numpy(), g, rtol=1e-5, atol=1e-5 * np.abs(g).max())


@pytest.mark.parametrize("param", ["red.reflectance.value", "light.emitter.radiance.value"])
def test_gradcheck_rgb_full_jacobian(f64, param):
    """Every entry of the Jacobian of a 4x4 image against central differences of
    re-renders with the same seed (decorrelate=False: the backward replays those paths)."""
    scene = load("cbox.xml", res=4)
    x = irt.parameters(scene, param)[param]

    def image(v):
        return irt.render(scene, {param: v}, spp=2, seed=5, decorrelate=False)

    assert image(x).dtype == torch.float64
    assert torch.autograd.gradcheck(image, (x,), eps=1e-6, atol=1e-8, rtol=1e-6)

    def unbiased(v):  # the default: other samples for the gradient, so not this image's
        return irt.render(scene, {param: v}, spp=2, seed=5)

    assert not torch.autograd.gradcheck(unbiased, (x,), eps=1e-6, atol=1e-8, rtol=1e-6,
                                        raise_exception=False)


def test_gradcheck_texture_and_linear_loss(f64):
    """A texture (12,288 texels): gradcheck's fast mode (a random projection of the
    Jacobian) on the image, and the full check of a loss linear in the image."""
    scene = load("cbox_textured.xml", res=8)
    name = "tiles.reflectance.data"
    x = irt.parameters(scene, name)[name]
    weights = torch.from_numpy(np.random.default_rng(3).uniform(0.5, 1.5, (8, 8, 3)))

    def image(v):
        return irt.render(scene, {name: v}, spp=2, seed=5, decorrelate=False)

    assert torch.autograd.gradcheck(image, (x,), eps=1e-6, atol=1e-8, rtol=1e-6,
                                    fast_mode=True)

    red = "red.reflectance.value"
    y = irt.parameters(scene, red)[red]
    patch = x[20:40, 20:40].detach().clone().requires_grad_(True)  # fewer FD renders

    def linear_loss(texels, rgb):
        texture = torch.cat([x[:20].detach(), torch.cat(
            [x[20:40, :20].detach(), texels, x[20:40, 40:].detach()], 1), x[40:].detach()])
        out = irt.render(scene, {name: texture, red: rgb}, spp=2, seed=5, decorrelate=False)
        return (out * weights).sum()

    assert torch.autograd.gradcheck(linear_loss, (patch, y), eps=1e-6, atol=1e-8,
                                    rtol=1e-6)


def test_backward_uses_the_values_of_its_own_forward():
    """A second render in between (another value) does not change the first's gradient."""
    scene = load("cbox.xml")
    red, green = "red.reflectance.value", "green.reflectance.value"
    a = {red: torch.tensor([0.6, 0.1, 0.1], dtype=torch.float64, requires_grad=True),
         green: torch.tensor([0.1, 0.4, 0.1], dtype=torch.float64, requires_grad=True)}
    b = {red: torch.tensor([0.2, 0.9, 0.3], dtype=torch.float64),
         green: torch.tensor([0.9, 0.9, 0.9], dtype=torch.float64)}
    w = np.random.default_rng(1).uniform(0.5, 1.5, (RES, RES, 3))
    first = irt.render(scene, a, spp=2, seed=2)
    irt.render(scene, b, spp=2, seed=2)
    (first * torch.from_numpy(w)).sum().backward()

    pmap = invrender.ParameterMap(scene)
    got = {n: t.grad.numpy() for n, t in a.items()}
    for values in (a, b):
        for n, t in values.items():
            pmap[n] = t.detach().numpy()
        expected = image_backward(scene, [red, green], w, spp=2, seed=2)
        matches = all(np.allclose(got[n], expected[n], rtol=1e-9) for n in got)
        assert matches == (values is a)  # b's values give a different gradient


def test_broadcast_value_and_partial_requires_grad():
    """A grey (1,) for an RGB gets the summed gradient, as broadcasting does in torch; a
    tensor that does not require grad gets none."""
    scene = load("cbox.xml")
    red, green = "red.reflectance.value", "green.reflectance.value"
    grey = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    fixed = torch.tensor([0.1, 0.4, 0.1], dtype=torch.float64)
    image = irt.render(scene, {red: grey, green: fixed}, spp=1, seed=4)
    image.sum().backward()
    assert fixed.grad is None and grey.grad.shape == (1,)
    full = image_backward(scene, [red], np.ones((RES, RES, 3)), spp=1, seed=4)[red]
    assert grey.grad.item() == pytest.approx(full.sum(), rel=1e-9)


def test_bad_arguments_are_clear_errors():
    scene = load("cbox.xml")
    with pytest.raises(InvrenderError, match="did you mean red.reflectance.value"):
        irt.render(scene, {"red.reflectance.valu": torch.zeros(3)}, spp=1)
    with pytest.raises(InvrenderError, match="must be a torch.Tensor"):
        irt.render(scene, {"red.reflectance.value": [0.5, 0.5, 0.5]}, spp=1)
    with pytest.raises(InvrenderError, match="read-only"):
        irt.render(scene, {"light.faces": torch.zeros(2, 3)}, spp=1)


def test_without_parameters_it_is_a_plain_render():
    scene = load("cbox.xml")
    image = irt.render(scene, {}, spp=2, seed=9)
    np.testing.assert_array_equal(image.numpy(), invrender.render(scene, spp=2, seed=9))
    assert not image.requires_grad


@pytest.mark.skipif(not torch.cuda.is_available() or not runtime._cuda_available(),
                    reason="needs a CUDA GPU for both Taichi and PyTorch")
def test_cuda_tensors_on_the_cuda_backend():
    runtime.init("cuda")
    scene = load("cbox.xml")
    name = "red.reflectance.value"
    target = invrender.render(scene, spp=4, seed=1)
    x = torch.tensor([0.5, 0.3, 0.3], dtype=torch.float64, device="cuda", requires_grad=True)
    image = irt.render(scene, {name: x}, spp=2, seed=3)
    assert image.device == x.device
    torch.mean((image.double() - torch.from_numpy(target).cuda().double()) ** 2).backward()
    assert x.grad.device == x.device
    g = invrender.render_grad(scene, [name], "mse", target, spp=2, seed=3).grads[name]
    np.testing.assert_allclose(x.grad.cpu().numpy(), g, rtol=1e-6, atol=1e-9)


def _python_without_torch(tmp_path, code: str) -> subprocess.CompletedProcess:
    """Run Python where ``import torch`` fails, as on a machine without PyTorch."""
    blocker = tmp_path / "blocker" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named torch')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker.parent), str(ROOT)]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_without_torch_invrender_works_and_invrender_torch_says_what_to_install(tmp_path):
    proc = _python_without_torch(tmp_path, """
        import sys
        import invrender
        from invrender.cli.main import app  # every command module loads
        from invrender.errors import InvrenderError
        try:
            import invrender.torch
        except ImportError as exc:
            assert isinstance(exc, InvrenderError), type(exc)
            print(exc)
        else:
            sys.exit("invrender.torch imported without torch")
        assert "torch" not in sys.modules or sys.modules["torch"] is None
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == MESSAGE
    # an uncaught import shows the message too, on the traceback's last line
    proc = _python_without_torch(tmp_path / "b", "import invrender.torch")
    assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1].endswith(MESSAGE)


def test_a_command_runs_without_torch(tmp_path):
    proc = _python_without_torch(tmp_path, f"""
        import sys
        sys.modules["torch"] = None  # and the blocker on the path: torch is not there
        from invrender.cli.main import app
        sys.argv = ["invrender", "params", {str(SCENES / "cbox.xml")!r}]
        app()
    """)
    assert proc.returncode == 0, proc.stderr
    assert "red.reflectance.value" in proc.stdout


def test_examples_run():
    """Both examples, a few iterations at a tiny resolution."""
    r = example("torch_red_wall").recover(res=24, iterations=3, arch="cpu", log=None)
    assert len(r["ms"]) == 3 and r["param_error"] < 1.575
    n = example("neural_texture").fit(res=24, iterations=2, arch="cpu", log=None)
    assert len(n["losses"]) == 2 and n["texture"].shape == (64, 64, 3)
    assert 0 <= n["texture"].min() and n["texture"].max() <= 1


@pytest.mark.slow
def test_red_wall_example_converges():
    """The recipe's setup (256x256, 100 iterations of 1 spp) through torch.optim.Adam
    reaches the native recipe's parameter error (below 1e-3; both end near 1e-5)."""
    r = example("torch_red_wall").recover(res=256, iterations=100, seed=100, arch="cpu",
                                          log=None)
    assert r["param_error"] < 1e-3, r
