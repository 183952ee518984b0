"""What an optimisation run writes besides its log and checkpoint: target images, frames
(one image per view, or a contact sheet of the views), the final parameters, meshes and
scene, and the convergence plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from invrender.image_io import write_exr, write_png


def contact_sheet(images: list[np.ndarray | None], columns: int | None = None) -> np.ndarray:
    """The images on a grid (row-major, as many columns as fit a square), each in a cell of
    the largest size with a 2-pixel gap; a view not rendered yet is a dark cell."""
    shown = [im for im in images if im is not None]
    h = max(im.shape[0] for im in shown)
    w = max(im.shape[1] for im in shown)
    n = len(images)
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    gap = 2
    sheet = np.zeros((rows * (h + gap) - gap, columns * (w + gap) - gap, 3))
    for k, im in enumerate(images):
        if im is None:
            continue
        r, c = divmod(k, columns)
        y, x = r * (h + gap), c * (w + gap)
        sheet[y:y + im.shape[0], x:x + im.shape[1]] = im
    return sheet


def write_image(stem: Path, images: list[np.ndarray | None], formats=("exr", "png")) -> None:
    """One view: the image itself; several: their contact sheet."""
    image = images[0] if len(images) == 1 else contact_sheet(images)
    if "exr" in formats:
        write_exr(stem.with_suffix(".exr"), image)
    if "png" in formats:
        write_png(stem.with_suffix(".png"), image)


def write_targets(run_dir: Path, targets: list[np.ndarray], names: list[str]) -> None:
    """target.exr/png (a contact sheet for several views) and, for several views, each
    view's target as targets/<view>.exr."""
    write_image(run_dir / "target", targets)
    if len(targets) > 1:
        for name, image in zip(names, targets, strict=True):
            write_exr(run_dir / "targets" / f"{name.replace(' ', '_')}.exr", image)


def write_results(run_dir: Path, scene, pmap, names, truth, log, error) -> None:
    """params_final.json (vertex positions as a PLY file beside it), convergence.png and
    the final scene."""
    from invrender.plots import convergence_png
    from invrender.scene.writer import write_ply, write_scene

    final = {}
    for n in names:
        p = pmap.parameter(n)
        if p.kind == "vertices":
            rel = Path("meshes_final") / f"{p.owner.id}.ply"
            (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            write_ply(run_dir / rel, p.owner)
            final[n] = {"ply": rel.as_posix(), "vertices": len(p.owner.vertices),
                        "faces": len(p.owner.faces)}
        else:
            final[n] = pmap[n].tolist()
    small_truth = {n: np.asarray(t).tolist() for n, t in truth.items()
                   if pmap.parameter(n).kind != "vertices"}
    (run_dir / "params_final.json").write_text(json.dumps(
        {"params": final, "truth": small_truth, "param_error": error,
         "metrics": {k: v for k, v in (log[-1] if log else {}).items()
                     if k in ("chamfer", "normal_consistency")},
         "iterations": len(log)}, indent=2))
    convergence_png(run_dir / "convergence.png", log)
    write_scene(scene, run_dir / "scene_final" / "scene.xml")
