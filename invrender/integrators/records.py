"""Per-sample, per-vertex records that ``trace`` writes and ``replay`` reads.

Path vertex k of sample i is stored at [i, k]. Vertex 0 is where the camera ray lands;
vertices k >= 1 are parametrised by (triangle, barycentrics), so they move with the mesh,
and each segment into them carries ``q``, the density with which trace sampled those
barycentrics (solid-angle pdf times the barycentric-to-direction Jacobian), held fixed in
the replay. Emitter samples are stored the same way. MIS weights and Russian roulette
factors are constants of the replay (DESIGN §2, BOUNDARY §3 "MIS").
"""

import taichi as ti

from invrender import runtime

END = -2  # the path has no vertex k
ESCAPED = -1  # the segment into vertex k left the scene (environment)
NO_LIGHT = -2  # no emitter sample at vertex k
ENV_LIGHT = -1  # the emitter sample at vertex k is a direction to the environment


@ti.data_oriented
class Records:
    """Fields for ``capacity`` samples of up to ``depth`` vertices each."""

    enabled = True

    def __init__(self, capacity: int, depth: int):
        real = runtime.current().real
        self.capacity, self.depth = capacity, depth
        shape = (capacity, depth)
        self.cam_dir = ti.Vector.field(3, real, shape=capacity)
        self.pixel = ti.field(ti.i32, shape=capacity)
        self.tri = ti.field(ti.i32, shape=shape)  # triangle of vertex k, ESCAPED or END
        self.bary = ti.Vector.field(2, real, shape=shape)  # barycentrics of vertex k
        self.dir = ti.Vector.field(3, real, shape=shape)  # direction into vertex k (escapes)
        self.beta = ti.Vector.field(3, real, shape=shape)  # throughput into vertex k
        self.q = ti.field(real, shape=shape)  # density of the sample of vertex k (k >= 1)
        self.mis = ti.field(real, shape=shape)  # MIS weight of emission found at vertex k
        self.rr = ti.field(real, shape=shape)  # 1 / survival probability after vertex k
        self.light_tri = ti.field(ti.i32, shape=shape)  # emitter sample: triangle or ENV/NO
        self.light_pos = ti.Vector.field(3, real, shape=shape)  # barycentrics or direction
        self.light_q = ti.field(real, shape=shape)  # density of the emitter sample
        self.light_mis = ti.field(real, shape=shape)  # MIS weight of the emitter sample


class NoRecords:
    """Stands in for ``Records`` when the trace kernel only renders."""

    enabled = False
