"""A neural texture: a small MLP paints the floor of ``scenes/cbox_textured.xml``, and is
trained end to end through the renderer to reproduce a target render.

The network maps each texel's (u, v) centre, lifted by a few Fourier features (sin and cos
of 2^k pi u, 2^k pi v), to an RGB reflectance in [0, 1] (a sigmoid). Its output is the
64x64 ``tiles.reflectance.data`` texture; ``invrender.torch.render`` renders the scene
with it, an MSE against the render of the true checkerboard gives the loss, and its
gradient flows back through the renderer into the network's weights. Texels that the
camera never sees get no gradient: the network fills them in smoothly.

    python examples/neural_texture.py [--iterations 300] [--res 128]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

# PyTorch's OpenMP threads must sleep, not spin, while Taichi renders on the same cores
# (see invrender.torch); this must be set before torch starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

import invrender  # noqa: E402
import invrender.torch as irt  # noqa: E402

SCENE = Path(__file__).resolve().parents[1] / "scenes" / "cbox_textured.xml"
PARAM = "tiles.reflectance.data"


class NeuralTexture(torch.nn.Module):
    """(u, v) -> RGB in [0, 1]: Fourier features, two hidden layers, a sigmoid."""

    def __init__(self, frequencies: int = 4, hidden: int = 64):
        super().__init__()
        self.register_buffer("scales", math.pi * 2.0 ** torch.arange(frequencies))
        self.net = torch.nn.Sequential(
            torch.nn.Linear(2 + 4 * frequencies, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
            torch.nn.Linear(hidden, 3))

    def forward(self, uv: torch.Tensor) -> torch.Tensor:
        x = uv[..., None] * self.scales  # (..., 2, F)
        features = torch.cat([uv, torch.sin(x).flatten(-2), torch.cos(x).flatten(-2)], -1)
        return torch.sigmoid(self.net(features))


def texel_centres(height: int, width: int) -> torch.Tensor:
    """(H, W, 2) texel centres in [0, 1]^2, in the texture's row/column order."""
    v, u = torch.meshgrid((torch.arange(height) + 0.5) / height,
                          (torch.arange(width) + 0.5) / width, indexing="ij")
    return torch.stack([u, v], -1)


def fit(res: int = 128, iterations: int = 300, spp: int = 4, lr: float = 2e-2,
        arch: str = "auto", log: Callable[[str], None] | None = print,
        every: int = 25) -> dict:
    """Train the texture network; returns the losses and the mean squared texel error on
    the texels the camera sees."""
    torch.manual_seed(0)
    invrender.init(arch)
    scene = invrender.load_scene(SCENE, res=res, max_depth=3)
    truth = torch.from_numpy(invrender.ParameterMap(scene)[PARAM]).float()
    with torch.no_grad():
        target = irt.render(scene, {PARAM: truth}, spp=32, seed=1)
    # the texels the camera sees are those whose gradient is nonzero: only they are scored
    probe = truth.clone().requires_grad_(True)
    irt.render(scene, {PARAM: probe}, spp=16, seed=0).sum().backward()
    seen = probe.grad.abs().sum(-1) > 0

    def texel_error(texture: torch.Tensor) -> float:
        return float(((texture.detach() - truth)[seen] ** 2).mean())

    uv = texel_centres(*truth.shape[:2])
    model = NeuralTexture()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses, t0 = [], time.perf_counter()
    for it in range(iterations):
        optimizer.zero_grad()
        texture = model(uv)  # (64, 64, 3), float32: the ParameterMap stores float64
        image = irt.render(scene, {PARAM: texture}, spp=spp, seed=1000 + it)
        loss = torch.nn.functional.mse_loss(image, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if log and (it % every == 0 or it + 1 == iterations):
            recent = losses[-every:]  # one render's loss is mostly Monte Carlo noise
            log(f"iteration {it:4d}  loss {loss.item():.5f} (mean of last {len(recent)}: "
                f"{sum(recent) / len(recent):.5f})  texel error {texel_error(texture):.4f}"
                f"  {time.perf_counter() - t0:5.1f} s")
    with torch.no_grad():
        texture = model(uv)
    return {"losses": losses, "seen_texels": int(seen.sum()),
            "seen_error": texel_error(texture), "flat_grey_error": texel_error(truth * 0 + 0.5),
            "seconds": time.perf_counter() - t0, "texture": texture.numpy()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--spp", type=int, default=4)
    ap.add_argument("--arch", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--out", help="also write the learned texture here (PNG)")
    args = ap.parse_args()
    r = fit(args.res, args.iterations, args.spp, arch=args.arch)
    print(f"loss {r['losses'][0]:.6f} -> {r['losses'][-1]:.6f} in {r['seconds']:.0f} s; "
          f"mean squared texel error on the {r['seen_texels']} seen texels "
          f"{r['seen_error']:.4f} (a flat 0.5 grey: {r['flat_grey_error']:.4f})")
    if args.out:
        from invrender.image_io import write_png

        write_png(args.out, r["texture"])
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
