"""The cases ``bench/compare_mitsuba.py`` runs in both renderers, and the scenes they need.

Standard library and numpy only: Mitsuba's side venv imports this file too, so both sides
render the same XML. A case is a dict: ``kind`` (forward, inversion, boundary), the scene
and its overrides, spp, and the axis of the growth tables it belongs to.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CBOX = ROOT / "scenes" / "cbox.xml"
ENV = ROOT / "scenes" / "env_recovery.xml"


def forward(name, axis, scene=CBOX, res=256, spp=64, depth=3, triangles=0):
    return {"name": name, "kind": "forward", "axis": axis, "scene": str(scene), "res": res,
            "spp": spp, "depth": depth, "triangles": triangles}


def cases(quick: bool = False) -> list[dict]:
    """Headline cases first (what issue 16 checks), then one small table per axis."""
    out = [
        forward("forward cbox 256^2 64 spp depth 3", "headline"),
        {"name": "inversion red wall 256^2 1 spp Adam", "kind": "inversion", "axis": "headline",
         "scene": str(CBOX), "res": 256, "spp": 1, "depth": 3, "iterations": 30},
        {"name": "boundary smallbox 256^2 1 spp depth 3", "kind": "boundary",
         "axis": "headline", "scene": str(CBOX), "res": 256, "spp": 1, "depth": 3},
        forward("forward envmap scene 128^2 64 spp", "headline", scene=ENV, res=128),
        forward("forward cbox + 100k triangles 256^2 16 spp", "headline", spp=16,
                triangles=100_000),
    ]
    if not quick:
        out.append(forward("forward cbox + 1M triangles 256^2 16 spp", "headline", spp=16,
                           triangles=1_000_000))
        out += [forward(f"res {r}", "resolution", res=r, spp=16) for r in (128, 256, 512)]
        out += [forward(f"spp {s}", "spp", res=128, spp=s) for s in (4, 16, 64, 256)]
        out += [forward(f"depth {d}", "depth", res=128, spp=16, depth=d) for d in (2, 3, 6, 12)]
        out += [forward(f"triangles {t}", "triangles", res=128, spp=16, triangles=t)
                for t in (10_000, 100_000, 1_000_000)]
    return out


def terrain_obj(path: Path, triangles: int) -> None:
    """A height field of about ``triangles`` triangles across the Cornell box's floor."""
    n = max(2, int(round(np.sqrt(triangles / 2))) + 1)
    u, v = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    z = 0.1 * np.sin(6 * u) * np.cos(5 * v)
    verts = np.stack([u, z - 0.5, v], -1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                            np.stack([b, c, d], -1).reshape(-1, 3)]) + 1
    with open(path, "w") as f:
        np.savetxt(f, verts, fmt="v %.6f %.6f %.6f")
        np.savetxt(f, faces, fmt="f %d %d %d")


def scene_file(case: dict, tmp: Path) -> Path:
    """The case's scene: the file itself, or the Cornell box with a terrain mesh added."""
    if not case.get("triangles"):
        return Path(case["scene"])
    obj = tmp / f"terrain_{case['triangles']}.obj"
    if not obj.exists():
        terrain_obj(obj, case["triangles"])
    xml = CBOX.read_text().replace(
        '<shape type="obj" id="smallbox">',
        f'<shape type="obj" id="terrain"><string name="filename" value="{obj}"/>'
        '<ref id="box"/></shape><shape type="obj" id="smallbox">')
    path = tmp / f"cbox_terrain_{case['triangles']}.xml"
    path.write_text(xml.replace('value="meshes/', f'value="{ROOT}/scenes/meshes/'))
    return path


def timed(fn, repeats: int) -> tuple[float, float]:
    """(the first call's seconds, the best of ``repeats`` more): the first includes the
    compile (or the kernel cache's load), which is not speed. ``fn`` takes a seed."""
    t0 = time.perf_counter()
    fn(0)
    first = time.perf_counter() - t0
    best = float("inf")
    for r in range(repeats):
        t0 = time.perf_counter()
        fn(r + 1)
        best = min(best, time.perf_counter() - t0)
    return first, best
