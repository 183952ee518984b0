"""What the visibility boundary terms cost per view as meshes grow (10k to 100k triangles).

Scene ``scenes/shape_blob.xml`` (a diffuse closed mesh under the envmap
``scenes/assets/env_recovery_sky.exr``, integrator ``direct_projective``, so max_depth 2:
the boundary terms are the camera's silhouettes/creases and the shadow edges at the first
vertex; the indirect-segment term is empty), one perspective view (the scene's) at
``--res`` x ``--res`` and ``--spp``. Per mesh it times one gradient of
``shape.vertex_positions`` as the multi-view shape recipes take it per view per iteration
(``invrender.render_grad``, L1 loss against a constant target, the primal render
included) with ``boundary=True`` and ``boundary=False``, and splits the boundary part by
wrapping, in this script only, the package's functions with a ``time.perf_counter`` timer:

* ``silhouette``: ``PrimaryBoundary.sample`` minus its ``Tracer.radiance_at`` call (the
  host work of the camera term: ``discontinuity_edges`` over every welded edge, the
  projection/clipping of the candidates, the length CDF and the per-sample numpy), with
  ``detect`` = ``discontinuity_edges`` alone and ``radiance`` = the two side paths per
  sample (a kernel);
* ``edge_pool``: ``ShadowBoundary.edge_pool`` (host: ``shadow_edges`` over every edge, the
  lengths); ``shadow kernel``: ``ShadowKernel.sample`` (one edge drawn from the CDF per path
  vertex, binary search); ``shadow`` = all of ``ShadowBoundary.sample``;
* ``splat`` (``DiffRenderer.splat``: filter footprints of the boundary samples) and
  ``reverse`` (``BoundarySamples.reverse``: numpy gather/scatter into the vertices);
* ``interior``: ``DiffRenderer.backward`` minus the boundary parts; ``primal``: the render.

Also the candidate edges per view: silhouette/crease candidates of ``discontinuity_edges``
(split into true silhouettes, visible creases and open-boundary edges) and shadow candidate
edges of ``edge_pool``, out of all welded edges, and how many boundary samples come back
non-zero. ``build_edges`` (once per topology, cached on the engine) and ``build_bvh`` (the
BVH is rebuilt when the vertices move, i.e. once per iteration for all views) are timed
once per mesh for context. The first call per mesh (kernel compilation, edge welding) is
reported apart (kernels compile again whenever the render state grows for a larger mesh,
loaded from Taichi's offline cache when it holds them; ``--cold`` starts from an empty
cache); then the median of ``--repeats`` calls (the fastest too, in the JSON). For the
largest mesh the boundary parts are also timed at spp 1, 4 and 16 (``--spp-sweep``), with a
linear fit per part (ms = per view + per spp x spp), which separates per-view host work
(flat in spp) from per-sample work (linear in spp).

Meshes: geodesic spheres (each icosahedron face cut into f^2 triangles: 20 f^2 faces, f =
22, 45, 71 -> 9680, 40500, 100820) displaced along the radius by a sum of sines at four
scales (so silhouettes and folds at many scales), closed and welded, written as binary PLY
to a temporary folder; ``--extra`` adds /work/tutorials/scenes/meshes/{suzanne,bunny}.ply
rescaled to the blob's size (when present).

    .venv/bin/python bench/boundary_scale.py              # ~1 minute on 2 CPU cores
    .venv/bin/python bench/boundary_scale.py --extra      # + suzanne, bunny
    .venv/bin/python bench/boundary_scale.py --freqs 22 --repeats 1 --no-sweep   # quick

Writes ``bench/results_boundary_scale.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SCENE = ROOT / "scenes" / "shape_blob.xml"
OUT = ROOT / "bench" / "results_boundary_scale.json"
PARAM = "shape.vertex_positions"
EXTRA = {"suzanne": Path("/work/tutorials/scenes/meshes/suzanne.ply"),
         "bunny": Path("/work/tutorials/scenes/meshes/bunny.ply")}


# ---- meshes ----
def geodesic_sphere(freq: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere: each icosahedron face cut into freq^2 triangles, welded (20 freq^2
    faces, 10 freq^2 + 2 vertices), outward winding."""
    import trimesh

    ico = trimesh.creation.icosahedron()
    iv, ifc = ico.vertices, ico.faces
    ij = [(i, j) for i in range(freq + 1) for j in range(freq + 1 - i)]
    index = {p: k for k, p in enumerate(ij)}
    tris = []
    for i in range(freq):
        for j in range(freq - i):
            tris.append((index[i, j], index[i + 1, j], index[i, j + 1]))
            if i + j < freq - 1:
                tris.append((index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]))
    ij, tris = np.array(ij, np.float64) / freq, np.array(tris)
    points, faces = [], []
    for f, (a, b, c) in enumerate(ifc):
        pa, pb, pc = iv[a], iv[b], iv[c]
        p = pa + ij[:, :1] * (pb - pa) + ij[:, 1:] * (pc - pa)
        points.append(p / np.linalg.norm(p, axis=1, keepdims=True))
        faces.append(tris + f * len(ij))
    points, faces = np.concatenate(points), np.concatenate(faces)
    _, first, inverse = np.unique(np.round(points, 9), axis=0, return_index=True,
                                  return_inverse=True)
    order = np.argsort(first)  # keep the first-seen order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    faces = rank[inverse.reshape(-1)][faces]
    points = points[first[order]]
    # outward winding (trimesh's icosahedron has it; checked anyway)
    tri = points[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if np.einsum("ij,ij->i", n, tri[:, 0]).mean() < 0:
        faces = faces[:, ::-1]
    return points, faces


def bumpy(points: np.ndarray) -> np.ndarray:
    """Radial displacement by sines at four scales (wavelengths ~2.5 down to ~0.3)."""
    rng = np.random.default_rng(7)
    r = np.ones(len(points))
    for octave in range(4):
        freq, amp = 2.5 * 2 ** octave, 0.10 / 2 ** octave
        for _ in range(3):
            d = rng.normal(size=3)
            d /= np.linalg.norm(d)
            r += amp / 3 * np.sin(freq * points @ d + rng.uniform(0, 2 * np.pi))
    return points * r[:, None]


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    mesh.export(path, encoding="binary", include_attributes=False)


def normalized(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A tutorial mesh centred and scaled to the blob's size (bounding radius 1.1)."""
    import trimesh

    mesh = trimesh.load(path, process=False, force="mesh")
    v = np.asarray(mesh.vertices, np.float64)
    v = v - 0.5 * (v.min(0) + v.max(0))
    v *= 1.1 / np.linalg.norm(v, axis=1).max()
    return v, np.asarray(mesh.faces)


# ---- timers ----
class Timers:
    """Wrap functions with perf_counter timers; samples per label, reset per call."""

    def __init__(self):
        self.t = defaultdict(float)
        self.counts = defaultdict(int)
        self.info = {}
        self._undo = []

    def reset(self):
        self.t.clear()
        self.counts.clear()
        self.info = {}

    def wrap(self, owner, name: str, label: str, sync: bool = False, after=None):
        import taichi as ti

        orig = getattr(owner, name)
        timers = self
        # a @ti.kernel method of a @ti.data_oriented class is called through its _primal
        # (data_oriented's __getattribute__ binds it): time that
        kernel_method = getattr(orig, "_is_classkernel", False)
        inner = orig._primal if kernel_method else orig

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = inner(*args, **kwargs)
            if sync:
                ti.sync()
            timers.t[label] += time.perf_counter() - t0
            timers.counts[label] += 1
            if after is not None:
                after(timers, args, out)
            return out

        if kernel_method:
            orig._primal = timed
            self._undo.append((orig, "_primal", inner))
        else:
            setattr(owner, name, functools.wraps(orig)(timed))
            self._undo.append((owner, name, orig))

    def restore(self):
        for owner, name, orig in reversed(self._undo):
            setattr(owner, name, orig)
        self._undo = []


def install(timers: Timers):
    from invrender import autodiff, gradients
    from invrender.integrators import boundary, path, shadow

    # after() only keeps references (it runs inside the enclosing timers); ``summary``
    # derives the counts once the call is over
    def keep(label):
        def after(tm, args, out):
            tm.info.setdefault(label, []).append((args, out))
        return after

    timers.wrap(gradients, "render", "primal")
    timers.wrap(autodiff.DiffRenderer, "backward", "backward")
    timers.wrap(autodiff.DiffRenderer, "boundary_samples", "boundary_samples")
    timers.wrap(autodiff.DiffRenderer, "splat", "splat")
    timers.wrap(boundary.BoundarySamples, "reverse", "reverse")
    timers.wrap(boundary.PrimaryBoundary, "sample", "primary", after=keep("primary"))
    timers.wrap(boundary.PrimaryBoundary, "edges", "edges")
    timers.wrap(boundary, "discontinuity_edges", "detect", after=keep("detect"))
    timers.wrap(path.Tracer, "radiance_at", "radiance", sync=True)
    timers.wrap(shadow.ShadowBoundary, "sample", "shadow", after=keep("shadow"))
    timers.wrap(shadow.ShadowBoundary, "edge_pool", "edge_pool", after=keep("edge_pool"))
    timers.wrap(shadow.ShadowKernel, "sample", "shadow_kernel", sync=True)


def summary(info: dict) -> dict:
    """Counts of one view from the references the wrappers kept."""
    from invrender.geometry.edges import FLAT_COS, face_normals

    out, sil_keys = {}, None
    for (edges, vertices, faces, eye, *_), ids in info.get("detect", []):
        fn = face_normals(vertices, faces, edges.faces)
        facing = np.einsum("eij,ej->ei", fn, eye - vertices[edges.v[:, 0]]) > 0
        open_ = edges.faces[:, 1] < 0
        nn = fn / np.maximum(np.linalg.norm(fn, axis=2, keepdims=True), 1e-300)
        flat = np.einsum("ej,ej->e", nn[:, 0], nn[:, 1]) > FLAT_COS
        silhouette = ~open_ & (facing[:, 0] != facing[:, 1])
        out.update(edges=int(len(edges)), candidates=int(len(ids)),
                   silhouettes=int(silhouette.sum()),
                   creases=int((~open_ & facing[:, 0] & facing[:, 1] & ~flat).sum()),
                   open=int(open_.sum()))
        pairs = np.sort(edges.v[open_ | silhouette], 1)
        sil_keys = pairs[:, 0] * (1 << 32) + pairs[:, 1]
    for _args, pool in info.get("edge_pool", []):
        out["shadow_candidates"] = 0 if pool is None else int(len(pool[0]))
    for args, b in info.get("primary", []):  # (self, meshes, n, ...)
        out["primary_samples"] = int(args[2])
        out["primary_kept"] = 0 if b is None else int(len(b.film))  # inside the film
        if b is not None and sil_keys is not None:  # on a true silhouette / open edge
            pairs = np.sort(b.v[:, :2], 1)
            on = np.isin(pairs[:, 0] * (1 << 32) + pairs[:, 1], sil_keys)
            w = np.abs(b.weight).sum(1)
            out["primary_on_silhouette"] = int(on.sum())
            # mean |L_in - L_out| weight on silhouettes and on the other candidates
            # (visible creases of a smooth-shaded mesh), and the silhouettes' share of sum |w|
            out["primary_mean_w_silhouette"] = float(w[on].mean()) if on.any() else 0.0
            out["primary_mean_w_other"] = float(w[~on].mean()) if (~on).any() else 0.0
            out["primary_w_share_silhouette"] = float(w[on].sum() / max(w.sum(), 1e-300))
    for args, b in info.get("shadow", []):  # (self, meshes, n, seed, spp, n_vertices, ...)
        if len(args) > 6 and args[6]:  # the indirect-segment call (empty at max_depth 2)
            continue
        n_vertices = args[5] if len(args) > 5 else 1
        out["shadow_samples"] = int(args[2]) * int(n_vertices)
        out["shadow_nonzero"] = 0 if b is None else int(len(b.film))
    return out


# ---- measurement ----
def one_view(invrender, scene, target, spp: int, boundary: bool, timers: Timers) -> dict:
    timers.reset()
    t0 = time.perf_counter()
    invrender.render_grad(scene, PARAM, loss="l1", target=target, spp=spp, seed=0,
                          boundary=boundary)
    total = time.perf_counter() - t0
    t = dict(timers.t)
    out = {"total": total, **{k: t.get(k, 0.0) for k in (
        "primal", "backward", "boundary_samples", "splat", "reverse", "primary", "edges",
        "detect", "radiance", "shadow", "edge_pool", "shadow_kernel")}}
    out["silhouette"] = out["primary"] - out["radiance"]  # host part of the camera term
    out["boundary"] = out["boundary_samples"] + out["splat"] + out["reverse"]
    out["interior"] = out["backward"] - out["boundary"]
    out["shadow_host_other"] = out["shadow"] - out["edge_pool"] - out["shadow_kernel"]
    return out, summary(timers.info)


def median_runs(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def ms(d: dict) -> dict:
    return {k: round(1e3 * v, 2) for k, v in d.items()}


def measure_mesh(invrender, name, ply: Path, args, timers: Timers, sweep: bool) -> dict:
    from invrender.geometry.bvh import build_bvh
    from invrender.geometry.edges import build_edges

    scene = invrender.load_scene(str(SCENE), res=args.res, spp=args.spp, mesh=str(ply))
    mesh = scene.meshes[0]
    n_tri, n_vtx = len(mesh.faces), len(mesh.vertices)
    target = np.full((args.res, args.res, 3), 0.5)
    row = {"mesh": name, "triangles": int(n_tri), "vertices": int(n_vtx)}

    t0 = time.perf_counter()
    first, info = one_view(invrender, scene, target, args.spp, True, timers)
    first_nb, _ = one_view(invrender, scene, target, args.spp, False, timers)
    row["first_call_s"] = round(time.perf_counter() - t0, 2)
    row["first_call_boundary_s"] = round(first["total"], 2)
    row["first_call_no_boundary_s"] = round(first_nb["total"], 2)
    row["first_call_edges_ms"] = round(1e3 * first["edges"], 1)  # build_edges, uncached

    v, f = np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces)
    t0 = time.perf_counter()
    build_edges(v, f, [0, len(v)], (0,))
    row["build_edges_ms"] = round(1e3 * (time.perf_counter() - t0), 1)
    t0 = time.perf_counter()
    build_bvh(v, f)
    row["build_bvh_ms"] = round(1e3 * (time.perf_counter() - t0), 1)

    with_b, without = [], []
    for _ in range(args.repeats):
        r, info = one_view(invrender, scene, target, args.spp, True, timers)
        with_b.append(r)
        r, _ = one_view(invrender, scene, target, args.spp, False, timers)
        without.append(r)
    row.update(info)
    row["with_boundary_ms"] = ms(median_runs(with_b))
    row["without_boundary_ms"] = ms(median_runs(without))
    # the fastest repeat too: on shared cores the median can carry other jobs' load
    row["with_boundary_min_ms"] = ms({k: min(r[k] for r in with_b) for k in with_b[0]})
    row["without_boundary_min_ms"] = ms({k: min(r[k] for r in without) for k in without[0]})

    if sweep:
        row["spp_sweep"] = {}
        for spp in args.spp_sweep:
            runs = [one_view(invrender, scene, target, spp, True, timers)[0]
                    for _ in range(args.repeats)]
            runs_nb = [one_view(invrender, scene, target, spp, False, timers)[0]
                       for _ in range(max(1, args.repeats - 1))]
            row["spp_sweep"][spp] = {"with_boundary_ms": ms(median_runs(runs)),
                                     "without_boundary_ms": ms(median_runs(runs_nb))}
        row["sweep_fit"] = sweep_fit(row)
    return row


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def print_table(rows: list[dict]) -> None:
    head = (f"{'mesh':9s} {'tris':>6s} {'edges':>6s} {'sil':>5s} {'crease':>6s} {'cand':>6s}"
            f" {'shadow':>6s} {'no-bd':>7s} {'bd':>7s} {'share':>5s} {'silh':>6s}"
            f" {'detect':>6s} {'radnc':>6s} {'pool':>6s} {'sh-krn':>6s} {'splat':>6s}"
            f" {'rev':>5s} {'first s':>7s}")
    print(head)
    for r in rows:
        w, n = r["with_boundary_ms"], r["without_boundary_ms"]
        share = (w["total"] - n["total"]) / w["total"]
        print(f"{r['mesh']:9s} {r['triangles']:6d} {r['edges']:6d} {r['silhouettes']:5d}"
              f" {r['creases']:6d} {r['candidates']:6d} {r['shadow_candidates']:6d}"
              f" {n['total']:7.1f} {w['total']:7.1f} {share:5.0%} {w['silhouette']:6.1f}"
              f" {w['detect']:6.1f} {w['radiance']:6.1f} {w['edge_pool']:6.1f}"
              f" {w['shadow_kernel']:6.1f} {w['splat']:6.1f} {w['reverse']:5.1f}"
              f" {r['first_call_s']:7.1f}")
    print("(ms per view, medians; sil = true silhouettes, crease = visible creases, cand ="
          " discontinuity_edges candidates incl. open edges, shadow = edge_pool candidates;"
          " silh = PrimaryBoundary.sample - radiance_at; detect = discontinuity_edges;"
          " radnc = radiance_at; pool = edge_pool; sh-krn = ShadowKernel.sample)")


def print_samples(rows: list[dict]) -> None:
    print(f"\n{'mesh':9s} {'prim n':>7s} {'on sil':>7s} {'|w| sil':>8s} {'|w| other':>9s}"
          f" {'sil share':>9s} {'shadow n':>8s} {'nonzero':>7s}")
    for r in rows:
        print(f"{r['mesh']:9s} {r['primary_samples']:7d} {r['primary_on_silhouette']:7d}"
              f" {r['primary_mean_w_silhouette']:8.2e} {r['primary_mean_w_other']:9.2e}"
              f" {r['primary_w_share_silhouette']:9.1%} {r['shadow_samples']:8d}"
              f" {r['shadow_nonzero']:7d}")
    print("(camera-term samples on true silhouettes/open edges vs on the other candidates,"
          " mean |weight| of each and the silhouettes' share of sum |weight|; shadow-term"
          " samples drawn and returned non-zero)")


SWEEP_PARTS = {"total - no-bd": None, "silhouette host": ("silhouette",),
               "radiance_at": ("radiance",), "edge_pool": ("edge_pool",),
               "shadow kernel+other": ("shadow_kernel", "shadow_host_other"),
               "splat+reverse": ("splat", "reverse")}


def sweep_fit(row: dict) -> dict:
    """Least-squares time = per_view + per_spp * spp for each boundary part (ms)."""
    spps = np.array([float(k) for k in row["spp_sweep"]])
    fit = {}
    for name, keys in SWEEP_PARTS.items():
        ys = []
        for s in row["spp_sweep"].values():
            w, n = s["with_boundary_ms"], s["without_boundary_ms"]
            ys.append(w["total"] - n["total"] if keys is None else sum(w[k] for k in keys))
        slope, intercept = np.polyfit(spps, np.array(ys), 1)
        fit[name] = {"per_view_ms": round(float(intercept), 1),
                     "per_spp_ms": round(float(slope), 1)}
    return fit


def print_sweep(row: dict) -> None:
    print(f"\nspp sweep on {row['mesh']} ({row['triangles']} triangles), ms per view:")
    print(f"{'spp':>4s} {'no-bd':>7s} {'bd':>7s} {'bd-nobd':>7s} {'silh':>6s} {'detect':>6s}"
          f" {'radnc':>6s} {'pool':>6s} {'sh-krn':>6s} {'sh-oth':>6s} {'splat':>6s}"
          f" {'rev':>5s} {'interior':>8s} {'primal':>7s}")
    for spp, s in row["spp_sweep"].items():
        w, n = s["with_boundary_ms"], s["without_boundary_ms"]
        print(f"{spp:>4} {n['total']:7.1f} {w['total']:7.1f} {w['total'] - n['total']:7.1f}"
              f" {w['silhouette']:6.1f} {w['detect']:6.1f} {w['radiance']:6.1f}"
              f" {w['edge_pool']:6.1f} {w['shadow_kernel']:6.1f}"
              f" {w['shadow_host_other']:6.1f} {w['splat']:6.1f} {w['reverse']:5.1f}"
              f" {w['interior']:8.1f} {w['primal']:7.1f}")
    print("linear fit over spp (ms = per view + per spp x spp): " + "; ".join(
        f"{k} {v['per_view_ms']:.0f} + {v['per_spp_ms']:.1f}/spp"
        for k, v in row["sweep_fit"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=int, default=128)
    ap.add_argument("--spp", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--freqs", default="22,45,71",
                    help="geodesic frequencies f (20 f^2 triangles each)")
    ap.add_argument("--extra", action="store_true", help="also suzanne.ply and bunny.ply")
    ap.add_argument("--spp-sweep", default="1,4,16")
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--arch", default="cpu")
    ap.add_argument("--cold", action="store_true",
                    help="an empty Taichi offline cache (a temporary folder): the first call "
                         "then shows the full kernel compilation, not a cache load")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    args.spp_sweep = [int(s) for s in args.spp_sweep.split(",")]
    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]  # other jobs on shared cores move the kernel timings

    cold = tempfile.TemporaryDirectory() if args.cold else None
    if cold is not None:  # read by ti.init
        os.environ["TI_OFFLINE_CACHE_FILE_PATH"] = cold.name

    import invrender

    invrender.init(args.arch)
    timers = Timers()
    install(timers)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        meshes = []
        for f in (int(s) for s in args.freqs.split(",")):
            v, fc = geodesic_sphere(f)
            meshes.append((f"geo{f}", bumpy(v), fc))
        if args.extra:
            meshes += [(k, *normalized(p)) for k, p in EXTRA.items() if p.exists()]
        largest = max(range(len(meshes)), key=lambda i: len(meshes[i][2]))
        for i, (name, v, fc) in enumerate(meshes):
            ply = Path(tmp) / f"{name}.ply"
            write_ply(ply, v, fc)
            row = measure_mesh(invrender, name, ply, args, timers,
                               sweep=(i == largest and not args.no_sweep))
            print(f"  {name}: {row['triangles']} triangles, first call {row['first_call_s']}"
                  f" s, {time.perf_counter() - t_start:.0f} s so far", flush=True)
            rows.append(row)
    timers.restore()

    cpu = cpu_name()
    load = (round(load_start, 2), round(os.getloadavg()[0], 2))
    print(f"\nCPU: {cpu} ({os.cpu_count()} cores, 1-min load {load[0]} at start, {load[1]}"
          f" at end); arch {args.arch}; {args.res}x{args.res}, spp {args.spp}, "
          f"median of {args.repeats}\n")
    print_table(rows)
    print_samples(rows)
    for r in rows:
        if "spp_sweep" in r:
            print_sweep(r)
    print("\nfirst call per mesh (compile + edge welding), s: "
          + ", ".join(f"{r['mesh']} {r['first_call_boundary_s']} (+{r['first_call_no_boundary_s']}"
                      f" without boundary)" for r in rows))
    print("per-topology build_edges ms / per-iteration build_bvh ms: "
          + ", ".join(f"{r['mesh']} {r['build_edges_ms']}/{r['build_bvh_ms']}" for r in rows))
    total = time.perf_counter() - t_start
    print(f"total {total:.0f} s")
    Path(args.out).write_text(json.dumps(
        {"cpu": cpu, "arch": args.arch, "res": args.res, "spp": args.spp,
         "cold_cache": args.cold, "cores": os.cpu_count(), "load_avg_1min": load,
         "repeats": args.repeats, "total_s": round(total, 1), "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    if cold is not None:
        cold.cleanup()


if __name__ == "__main__":
    main()
