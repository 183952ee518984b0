"""The BSDF plugins: a new BSDF is one module and one line here."""

from invrender.bsdfs import diffuse
from invrender.bsdfs.base import BsdfPlugin
from invrender.registry import Registry

BSDFS: Registry[BsdfPlugin] = Registry("bsdf")
BSDFS.register(diffuse.PLUGIN)
