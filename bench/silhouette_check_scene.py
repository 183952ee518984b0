"""The scene of the silhouette checks (bench/silhouette_fd_check.py and its Mitsuba
counterpart bench/silhouette_fd_check_mitsuba.py), as XML text both renderers load: the
start sphere of scenes/shape_blob.xml under its environment, seen from (3, 1.5, 3.5).
Plain Python, so that the Mitsuba venv can import it too."""

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
