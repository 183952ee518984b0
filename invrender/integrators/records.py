"""What ``trace`` writes per path vertex for the replay, and the replay's own state.

A derivative pass holds n samples. Sample i's path vertex k is slot k * n + i (so a pass
of fewer samples holds longer paths in the same fields). Vertex 0 is where the camera ray
lands; vertices k >= 1 are parametrised by (triangle, barycentrics), so they move with the
mesh, and each segment into them carries ``q``, the density with which trace sampled those
barycentrics (solid-angle pdf times the barycentric-to-direction Jacobian), held fixed in
the replay. A vertex after a delta lobe (a mirror, glass) is instead where that lobe's
recomputed direction meets the recorded triangle's plane, like vertex 0; its ``q`` is the
probability with which the lobe was chosen. Emitter samples are stored the same way. MIS
weights and Russian roulette factors are constants of the replay (DESIGN §2, BOUNDARY §3
"MIS").
"""

import taichi as ti

from invrender import runtime

END = -2  # the path has no vertex k
ESCAPED = -1  # the segment into vertex k left the scene (environment)
NO_LIGHT = -1  # no emitter sample at vertex k (``light_em``)
NOT_DELTA = -1  # the sample leaving vertex k is not a delta lobe (``lobe``)
INFO_MAX_VERTICES, INFO_OVERFLOW = 0, 1


@ti.data_oriented
class Records:
    """Fields for ``samples`` samples per pass and ``slots`` path vertices in all."""

    def __init__(self, samples: int, slots: int):
        real = runtime.current().real
        self.samples, self.slots = samples, slots
        self._builder = fb = ti.FieldsBuilder()

        def field(n, dtype, width=1, differentiable=False):
            kw = dict(needs_grad=differentiable, needs_dual=differentiable)
            f = ti.Vector.field(width, dtype, **kw) if width > 1 else ti.field(dtype, **kw)
            fb.dense(ti.i, n).place(*((f, f.grad, f.dual) if differentiable else (f,)))
            return f

        # per sample
        self.ray_o = field(samples, real, 3)  # the camera ray
        self.ray_d = field(samples, real, 3)
        self.film = field(samples, real, 2)  # film point in pixels
        self.length = field(samples, ti.i32)  # path vertices recorded (an escape counts)
        # per path vertex
        self.tri = field(slots, ti.i32)  # triangle of vertex k, ESCAPED or END
        self.bary = field(slots, real, 2)  # barycentrics of vertex k
        self.dir = field(slots, real, 3)  # direction into vertex k, when it is an escape
        self.q = field(slots, real)  # density of the sample of vertex k (k >= 1)
        self.mis = field(slots, real)  # MIS weight of emission found at vertex k
        self.rr = field(slots, real)  # 1 / survival probability after vertex k
        self.lobe = field(slots, ti.i32)  # delta lobe sampled at vertex k, or NOT_DELTA
        self.light_em = field(slots, ti.i32)  # emitter sampled at vertex k, or NO_LIGHT
        self.light_tri = field(slots, ti.i32)
        self.light_pos = field(slots, real, 3)  # barycentrics or direction
        self.light_q = field(slots, real)  # density of the emitter sample
        self.light_mis = field(slots, real)  # MIS weight of the emitter sample
        # the replay's state (replay.py): what vertex k adds to the sample's radiance, and
        # what the kernel of vertex k - 1 leaves for it: the throughput into it, its position
        # and unnormalised normal, and vertex k - 1's position. Trace writes the last four
        # (their values at the recorded parameters), so reverse mode needs no primal replay;
        # the shadow terms read the throughput.
        self.emitted = field(slots, real, 3, differentiable=True)
        self.throughput = field(slots, real, 3, differentiable=True)
        self.position = field(slots, real, 3, differentiable=True)
        self.normal = field(slots, real, 3, differentiable=True)
        self.previous = field(slots, real, 3, differentiable=True)
        self.info = field(2, ti.i32)  # INFO_MAX_VERTICES, INFO_OVERFLOW of the last trace
        self._tree = fb.finalize()

    def destroy(self) -> None:
        self._tree.destroy()

    @ti.kernel
    def reset_info(self):
        for j in range(2):
            self.info[j] = 0

    @ti.kernel
    def read(self, info: ti.types.ndarray(), film: ti.types.ndarray()):
        """The last trace's info and the film points of its first film.shape[0] samples."""
        for j in range(2):
            info[j] = self.info[j]
        for i in range(film.shape[0]):
            film[i, 0] = self.film[i][0]
            film[i, 1] = self.film[i][1]


class NoRecords:
    """Stands in for ``Records`` when the trace kernel only renders."""
