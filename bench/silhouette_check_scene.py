"""The scene of the silhouette checks (bench/silhouette_fd_check.py and its Mitsuba
counterpart bench/silhouette_fd_check_mitsuba.py), as XML text both renderers load: the
start sphere of scenes/shape_blob.xml under its environment, seen from (3, 1.5, 3.5).
Plain Python, so that the Mitsuba venv can import it too."""

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPHERE = ROOT / "scenes" / "assets" / "start_sphere.ply"


def check_scene_xml(rfilter: str, flat: bool, emitter: str) -> str:
    """scenes/shape_blob.xml with the ``rfilter`` filter, face normals if ``flat``, and the
    envmap or (``emitter="constant"``) a constant blue sky; the mesh is its ``mesh``
    parameter (SPHERE)."""
    text = (ROOT / "scenes" / "shape_blob.xml").read_text()
    text = text.replace('<rfilter type="gaussian"/>', f'<rfilter type="{rfilter}"/>')
    text = text.replace('value="assets/', f'value="{ROOT / "scenes" / "assets"}/')
    text = text.replace('origin="0, 0, 5"', 'origin="3, 1.5, 3.5"')
    if flat:
        text = text.replace('<bsdf type="diffuse"/>',
                            '<boolean name="face_normals" value="true"/><bsdf type="diffuse"/>')
    if emitter == "constant":
        text = re.sub(r'<emitter type="envmap" id="sky">.*?</emitter>',
                      '<emitter type="constant" id="sky"><rgb name="radiance" '
                      'value="0.3, 0.5, 0.9"/></emitter>', text, flags=re.S)
    return text


def check_arguments(description: str) -> argparse.ArgumentParser:
    """The options both checks share: the scene's variant and the number of runs."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--filter", choices=("box", "gaussian"), default="box")
    p.add_argument("--flat", action="store_true")
    p.add_argument("--emitter", choices=("envmap", "constant"), default="envmap")
    p.add_argument("--runs", type=int, default=16)
    return p
