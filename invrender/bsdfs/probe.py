"""A BSDF instance of a loaded scene evaluated at given directions, outside any path: what
the per-plugin tests (chi-square, reciprocity, Mitsuba's values) and users studying a
material call. The shading frame is the identity (z is the normal, dp/du and dp/dv the
unit x and y axes); uv is given. A
``twosided`` instance seen from below is flipped as ``shading.shading_point`` flips it."""

import numpy as np
import taichi as ti

from invrender import runtime, structs
from invrender.engine import Engine
from invrender.shading import bsdf_delta, bsdf_eval, bsdf_pdf, bsdf_sample
from invrender.state import BSDF_INTS

vec2 = ti.math.vec2
vec3 = ti.math.vec3


@ti.func
def _point(g: ti.template(), bsdf: ti.i32, wis: ti.template(), uvs: ti.template(), i: ti.i32):
    """The shading point of row i of the arrays (z flips where a twosided BSDF is seen
    from below)."""
    wi = vec3(wis[i, 0], wis[i, 1], wis[i, 2])
    uv = vec2(uvs[i, 0], uvs[i, 1])
    flip = 1.0
    b = bsdf
    if g.bsdf_ints[BSDF_INTS * bsdf] and wi.z < 0.0:
        flip = -1.0
        if g.bsdf_ints[BSDF_INTS * bsdf + 1] >= 0:
            b = g.bsdf_ints[BSDF_INTS * bsdf + 1]
    n = vec3(0.0, 0.0, flip)
    sp = structs.ShadingPoint(p=vec3(0.0), n=n, s=vec3(1.0, 0.0, 0.0), t=vec3(0.0, flip, 0.0),
                              wi=vec3(wi.x, flip * wi.y, flip * wi.z), uv=uv, tri=0, bsdf=b,
                              dp_du=vec3(1.0, 0.0, 0.0), dp_dv=vec3(0.0, 1.0, 0.0),
                              ng=vec3(0.0, 0.0, 1.0))
    return sp


@ti.data_oriented
class _Kernels:
    def __init__(self, g):
        self.g = g

    @ti.kernel
    def eval_pdf(self, bsdf: ti.i32, wi: ti.types.ndarray(), wo: ti.types.ndarray(),
                 uv: ti.types.ndarray(), out: ti.types.ndarray()):
        for i in range(wi.shape[0]):
            sp = _point(self.g, bsdf, wi, uv, i)
            w = vec3(wo[i, 0], wo[i, 1], wo[i, 2])
            f = bsdf_eval(self.g, sp, w)
            for c in ti.static(range(3)):
                out[i, c] = f[c]
            out[i, 3] = bsdf_pdf(self.g, sp, w)

    @ti.kernel
    def sample(self, bsdf: ti.i32, wi: ti.types.ndarray(), u: ti.types.ndarray(),
               uv: ti.types.ndarray(), out: ti.types.ndarray()):
        for i in range(wi.shape[0]):
            sp = _point(self.g, bsdf, wi, uv, i)
            bs = bsdf_sample(self.g, sp, u[i, 0], u[i, 1], u[i, 2])
            for c in ti.static(range(3)):
                out[i, c] = bs.wo[c]
                out[i, 3 + c] = bs.weight[c]
            out[i, 6] = bs.pdf
            out[i, 7] = bs.delta
            out[i, 8] = bs.lobe
            out[i, 9] = bs.eta

    @ti.kernel
    def delta(self, bsdf: ti.i32, wi: ti.types.ndarray(), lobe: ti.types.ndarray(),
              uv: ti.types.ndarray(), out: ti.types.ndarray()):
        for i in range(wi.shape[0]):
            sp = _point(self.g, bsdf, wi, uv, i)
            wo, value = bsdf_delta(self.g, sp, lobe[i])
            for c in ti.static(range(3)):
                out[i, c] = wo[c]
                out[i, 3 + c] = value[c]


class BsdfProbe:
    """``scene``'s BSDF ``bsdf_id`` at arrays of local directions (N, 3)."""

    def __init__(self, scene, bsdf_id: str):
        self.scene = scene
        self.index = list(scene.bsdfs).index(bsdf_id)
        self.real = runtime.current().np_real

    @property
    def kernels(self):
        """The kernels, with this probe's scene in the fields (another scene may have been
        uploaded into them since)."""
        return Engine.of(self.scene).sync(0).kernels(_Kernels)

    def _arrays(self, wi, uv, n_cols):
        wi = np.ascontiguousarray(wi, self.real)
        uv = np.full((len(wi), 2), 0.5) if uv is None else uv
        return wi, np.ascontiguousarray(uv, self.real), np.zeros((len(wi), n_cols), self.real)

    def eval_pdf(self, wi, wo, uv=None) -> tuple[np.ndarray, np.ndarray]:
        """(value x |cos theta_o| (N, 3), pdf (N,))."""
        wi, uv, out = self._arrays(wi, uv, 4)
        with runtime.fast_compile():  # not differentiated: compile without the optimiser
            self.kernels.eval_pdf(self.index, wi, np.ascontiguousarray(wo, self.real), uv, out)
        return out[:, :3], out[:, 3]

    def sample(self, wi, u, uv=None) -> dict:
        """Samples for random numbers u (N, 3): wo, weight, pdf, delta, lobe, eta."""
        wi, uv, out = self._arrays(wi, uv, 10)
        with runtime.fast_compile():
            self.kernels.sample(self.index, wi, np.ascontiguousarray(u, self.real), uv, out)
        return {"wo": out[:, :3], "weight": out[:, 3:6], "pdf": out[:, 6],
                "delta": out[:, 7].astype(bool), "lobe": out[:, 8].astype(int),
                "eta": out[:, 9]}

    def delta(self, wi, lobe, uv=None) -> tuple[np.ndarray, np.ndarray]:
        """(direction (N, 3), value (N, 3)) of delta lobe ``lobe`` (an int or (N,))."""
        wi, uv, out = self._arrays(wi, uv, 6)
        lobes = np.ascontiguousarray(np.broadcast_to(lobe, (len(wi),)), np.int32)
        with runtime.fast_compile():
            self.kernels.delta(self.index, wi, lobes, uv, out)
        return out[:, :3], out[:, 3:]
