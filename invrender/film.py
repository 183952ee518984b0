"""The film: samples splatted into pixels through the sensor's reconstruction filter.

As Mitsuba's ``hdrfilm``: a sample at film point x adds w(c - x) L to each pixel with
centre c within the filter radius and w(c - x) to that pixel's weight, and the image is the
ratio (``filters/base.py``). Every kernel here gathers: a pixel sums the samples of its
neighbourhood in a fixed order, so images are the same bit for bit on every run (a scatter
would add in thread order). Film points are recomputed from the sample keys, as the path
kernel drew them.

The derivative passes divide by the weights of their own samples, known before the first
pass (``weights``, pass by pass): ``splat`` adds a pass's sample values to the replay image and
``splat_transpose`` is its exact transpose, which reverse mode runs on the image gradient.
"""

import taichi as ti

from invrender import sampler
from invrender.filters import registry as filters
from invrender.integrators.path import film_point
from invrender.state import FILTER_TAPS

vec3 = ti.math.vec3


@ti.func
def sample_weight(g: ti.template(), sensor: ti.i32, seed: ti.u32, px: ti.i32, py: ti.i32,
                  qx: ti.i32, qy: ti.i32, width: ti.i32, s: ti.i32):
    """Weight in pixel (px, py) of sample s of pixel (qx, qy), for a filter that reaches
    beyond its own pixel."""
    key = sampler.sample_key(seed, ti.u32(qy * width + qx), ti.u32(s))
    fx, fy = film_point(key, qx, qy)
    return filters.weight(g, sensor, px + 0.5 - fx, py + 0.5 - fy)


TAPS = FILTER_TAPS  # per sample: the filter's x weights, then its y weights
TAP_SIDE = TAPS // 2
MAX_TAP_RADIUS = (TAP_SIDE - 1) // 2  # footprints up to this (tent, the default gaussian)


@ti.func
def compute_taps(g: ti.template(), sensor: ti.i32, width: ti.i32, seed: ti.u32,
                 first: ti.i32, count: ti.i32, row0: ti.i32, n: ti.i32, r: ti.i32):
    """``sample_taps``: the 1D filter weights of each of the pass's n samples towards the
    pixel columns and rows it reaches, computed once instead of once per pixel (a kernel's
    first loop; none when the footprint is 0 or too large for the taps)."""
    for j in range(ti.select(0 < r <= MAX_TAP_RADIUS, n, 0)):
        pixel = row0 * width + j // count
        qx = pixel % width
        qy = pixel // width
        key = sampler.sample_key(seed, ti.u32(pixel), ti.u32(first + j % count))
        fx, fy = film_point(key, qx, qy)
        for k in ti.static(range(TAP_SIDE)):
            if k <= 2 * r:
                g.sample_taps[TAPS * j + k] = filters.weight_1d(g, sensor,
                                                                qx - r + k + 0.5 - fx)
                g.sample_taps[TAPS * j + TAP_SIDE + k] = filters.weight_1d(
                    g, sensor, qy - r + k + 0.5 - fy)


@ti.func
def pass_weight(g: ti.template(), sensor: ti.i32, seed: ti.u32, px: ti.i32, py: ti.i32,
                qx: ti.i32, qy: ti.i32, width: ti.i32, s: ti.i32, j: ti.i32, r: ti.i32):
    """``sample_weight`` of the pass's sample j (sample s of pixel (qx, qy)), from its taps
    where ``compute_taps`` wrote them."""
    w = 1.0
    if 0 < r <= MAX_TAP_RADIUS:
        w = (g.sample_taps[TAPS * j + px - qx + r]
             * g.sample_taps[TAPS * j + TAP_SIDE + py - qy + r])
    elif r > 0:
        w = sample_weight(g, sensor, seed, px, py, qx, qy, width, s)
    return w


@ti.data_oriented
class Film:
    """The film kernels over one ``Program``; a pass covers rows [row0, row0 + rows) and
    samples [first, first + count) of each of their pixels (sample j of the pass belongs to
    pixel row0 * width + j // count, as in the path kernel)."""

    def __init__(self, g):
        self.g = g

    @ti.kernel
    def develop(self, sensor: ti.i32, width: ti.i32, height: ti.i32, seed: ti.u32,
                first: ti.i32, count: ti.i32, row0: ti.i32, rows: ti.i32):
        """Add the pass's ``sample_radiance`` to ``film_sum`` and its weights to
        ``film_weight``."""
        g = self.g
        r = filters.footprint(g, sensor)
        compute_taps(g, sensor, width, seed, first, count, row0, rows * width * count, r)
        y_lo = ti.max(row0 - r, 0)
        y_hi = ti.min(row0 + rows + r, height)
        for p in range((y_hi - y_lo) * width):
            py = y_lo + p // width
            px = p % width
            acc = vec3(0.0)
            weight = 0.0
            for qy in range(ti.max(py - r, row0), ti.min(py + r + 1, row0 + rows)):
                for qx in range(ti.max(px - r, 0), ti.min(px + r + 1, width)):
                    base = ((qy - row0) * width + qx) * count
                    for s in range(count):
                        w = pass_weight(g, sensor, seed, px, py, qx, qy, width, first + s,
                                        base + s, r)
                        j = 3 * (base + s)
                        acc += w * vec3(g.sample_radiance[j], g.sample_radiance[j + 1],
                                        g.sample_radiance[j + 2])
                        weight += w
            pixel = py * width + px
            for c in ti.static(range(3)):
                g.film_sum[3 * pixel + c] += acc[c]
            g.film_weight[pixel] += weight

    @ti.kernel
    def weights(self, sensor: ti.i32, width: ti.i32, height: ti.i32, seed: ti.u32,
                first: ti.i32, count: ti.i32, row0: ti.i32, rows: ti.i32, finish: ti.i32):
        """Add the weights of a pass's samples to ``inv_weight`` (the first pass, first and
        row0 0, clears it); ``finish`` then turns the sums into 1 / weight (0 where none)."""
        g = self.g
        r = filters.footprint(g, sensor)
        for p in range(ti.select(first == 0 and row0 == 0, width * height, 0)):
            g.inv_weight[p] = 0.0
        compute_taps(g, sensor, width, seed, first, count, row0, rows * width * count, r)
        y_lo = ti.max(row0 - r, 0)
        y_hi = ti.min(row0 + rows + r, height)
        for p in range((y_hi - y_lo) * width):
            py = y_lo + p // width
            px = p % width
            weight = 0.0
            for qy in range(ti.max(py - r, row0), ti.min(py + r + 1, row0 + rows)):
                for qx in range(ti.max(px - r, 0), ti.min(px + r + 1, width)):
                    base = ((qy - row0) * width + qx) * count
                    for s in range(count):
                        weight += pass_weight(g, sensor, seed, px, py, qx, qy, width,
                                              first + s, base + s, r)
            g.inv_weight[py * width + px] += weight
        for p in range(ti.select(finish, width * height, 0)):
            w = g.inv_weight[p]
            g.inv_weight[p] = 1.0 / w if w > 0.0 else 0.0

    @ti.kernel
    def splat(self, src: ti.template(), dst: ti.template(), sensor: ti.i32, width: ti.i32,
              height: ti.i32, seed: ti.u32, first: ti.i32, count: ti.i32, row0: ti.i32,
              rows: ti.i32):
        """dst[pixel] += inv_weight[pixel] * sum of w * L over the pass's samples, L the
        sum over its path vertices of src (the replay's ``emitted`` or its dual; dst: the
        image or its dual)."""
        g = self.g
        r = filters.footprint(g, sensor)
        n = rows * width * count
        compute_taps(g, sensor, width, seed, first, count, row0, n, r)
        y_lo = ti.max(row0 - r, 0)
        y_hi = ti.min(row0 + rows + r, height)
        for p in range((y_hi - y_lo) * width):
            py = y_lo + p // width
            px = p % width
            acc = vec3(0.0)
            for qy in range(ti.max(py - r, row0), ti.min(py + r + 1, row0 + rows)):
                for qx in range(ti.max(px - r, 0), ti.min(px + r + 1, width)):
                    base = ((qy - row0) * width + qx) * count
                    for s in range(count):
                        j = base + s
                        w = pass_weight(g, sensor, seed, px, py, qx, qy, width, first + s,
                                        j, r)
                        radiance = vec3(0.0)
                        for k in range(g.rec.length[j]):
                            radiance += src[k * n + j]
                        acc += w * radiance
            pixel = py * width + px
            for c in ti.static(range(3)):
                dst[3 * pixel + c] += g.inv_weight[pixel] * acc[c]

    @ti.kernel
    def splat_transpose(self, src: ti.template(), dst: ti.template(), sensor: ti.i32,
                        width: ti.i32, height: ti.i32, seed: ti.u32, first: ti.i32,
                        count: ti.i32, row0: ti.i32, rows: ti.i32):
        """dst[slot of each path vertex of a sample] = sum over the sample's pixels of
        w * inv_weight * src[pixel]: the transpose of ``splat`` (src: the image gradient;
        dst: the gradient of the replay's ``emitted``)."""
        g = self.g
        r = filters.footprint(g, sensor)
        n = rows * width * count
        compute_taps(g, sensor, width, seed, first, count, row0, n, r)
        for j in range(n):
            pixel = row0 * width + j // count
            qx = pixel % width
            qy = pixel // width
            acc = vec3(0.0)
            for py in range(ti.max(qy - r, 0), ti.min(qy + r + 1, height)):
                for px in range(ti.max(qx - r, 0), ti.min(qx + r + 1, width)):
                    w = pass_weight(g, sensor, seed, px, py, qx, qy, width,
                                    first + j % count, j, r)
                    p = py * width + px
                    acc += (w * g.inv_weight[p]) * vec3(src[3 * p], src[3 * p + 1],
                                                        src[3 * p + 2])
            for k in range(g.rec.length[j]):
                dst[k * n + j] = acc

    @ti.kernel
    def footprints(self, sensor: ti.i32, width: ti.i32, height: ti.i32,
                   points: ti.types.ndarray(), pixels: ti.types.ndarray(),
                   out: ti.types.ndarray()):
        """For film points (S, 2): the pixels (S, F) of their footprints (-1 past the
        image) and their weights (S, F), F = (2 r + 1)^2; boundary samples splat with these."""
        g = self.g
        r = filters.footprint(g, sensor)
        box = ti.select(r == 0, 1, 0)
        side = 2 * r + 1
        for i in range(points.shape[0]):
            fx = points[i, 0]
            fy = points[i, 1]
            qx = ti.cast(ti.floor(fx), ti.i32)
            qy = ti.cast(ti.floor(fy), ti.i32)
            for f in range(side * side):
                px = qx - r + f % side
                py = qy - r + f // side
                pixels[i, f] = -1
                out[i, f] = 0.0
                if 0 <= px < width and 0 <= py < height:
                    w = 1.0
                    if not box:
                        w = filters.weight(g, sensor, px + 0.5 - fx, py + 0.5 - fy)
                    pixels[i, f] = py * width + px
                    out[i, f] = w
