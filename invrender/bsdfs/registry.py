"""The BSDF plugins: a new BSDF is one module and one line here."""

import numpy as np

from invrender.bsdfs import (
    blendbsdf,
    bumpmap,
    conductor,
    dielectric,
    diffuse,
    mask,
    normalmap,
    null,
    plastic,
    principled,
    roughconductor,
    roughdielectric,
    roughplastic,
    thindielectric,
)
from invrender.bsdfs.base import BSDF_FLAGS, CHILDREN_AT, PLUGIN_INTS, TEXTURES_AT, BsdfPlugin
from invrender.registry import Registry
from invrender.state import BSDF_FLOATS, BSDF_INTS, BSDF_TEXTURE_INTS

BSDFS: Registry[BsdfPlugin] = Registry("bsdf")
BSDFS.register(diffuse.PLUGIN)
BSDFS.register(conductor.PLUGIN)
BSDFS.register(roughconductor.PLUGIN)
BSDFS.register(plastic.PLUGIN)
BSDFS.register(roughplastic.PLUGIN)
BSDFS.register(dielectric.PLUGIN)
BSDFS.register(thindielectric.PLUGIN)
BSDFS.register(roughdielectric.PLUGIN)
BSDFS.register(principled.PLUGIN)
BSDFS.register(null.PLUGIN)
BSDFS.register(blendbsdf.PLUGIN)
BSDFS.register(mask.PLUGIN)
BSDFS.register(normalmap.PLUGIN)
BSDFS.register(bumpmap.PLUGIN)


def bsdf_floats(bsdfs) -> np.ndarray:
    """``bsdf_floats`` of the BSDF instances: what their plugins compute from their settings
    and parameter values (a sampling weight, roughplastic's internal-scattering table),
    recomputed whenever the values change, as Mitsuba's ``parameters_changed``."""
    floats = np.zeros((len(bsdfs), BSDF_FLOATS))
    for i, b in enumerate(bsdfs):
        plugin = BSDFS[b.type]
        own = plugin.floats(b) if plugin.floats else []
        floats[i, :len(own)] = own
    return floats


def bsdf_tables(bsdfs, index: dict, texture_index) -> tuple[np.ndarray, np.ndarray]:
    """``bsdf_ints`` and ``bsdf_floats`` of the BSDF instances (state.BSDF_INTS layout);
    index maps BSDF ids to rows, texture_index a texture to its table row."""
    ints = np.zeros((len(bsdfs), BSDF_INTS), np.int32)
    by_id = {b.id: b for b in bsdfs}

    def lobe_flags(b) -> int:
        plugin = BSDFS[b.type]
        flags = plugin.lobe_flags(b) if plugin.lobe_flags else plugin.lobes
        for child in b.children:
            flags |= lobe_flags(by_id[child])
        return flags

    for i, b in enumerate(bsdfs):
        plugin = BSDFS[b.type]
        assert len(plugin.textures) <= BSDF_TEXTURE_INTS
        ints[i, 0] = b.twosided
        ints[i, 1] = index[b.back] if b.back is not None else -1
        ints[i, BSDF_FLAGS] = lobe_flags(b)
        own = plugin.ints(b) if plugin.ints else []
        ints[i, PLUGIN_INTS:PLUGIN_INTS + len(own)] = own
        for c, child in enumerate(b.children):
            ints[i, CHILDREN_AT + c] = index[child]
        for j, name in enumerate(plugin.textures):
            ints[i, TEXTURES_AT + j] = texture_index(b.textures[name])
    return ints, bsdf_floats(bsdfs)
