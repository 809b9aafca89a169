"""Sparse fixed-in-degree networks (issue 18): construction time, drift bandwidth, time per τ
and peak memory vs N for K ∈ {100, 1000}, float32, one trial.

Each case runs in its own subprocess, so its peak resident memory (``resource.getrusage``
maxrss of that process) is the case's own. Per case:

- ``build_s``: ``Network.random(N=..., K=..., dtype="float32")`` (compiles the block filler).
- ``drift_s``: one jitted ``neurodyn.drift`` on a (N,) state (median of repeats), against
  ``bare_s``: a bare jitted gather-and-sum ``(w * r[idx]).sum(-1)`` of the same arrays in the
  same process. Bytes moved per evaluation: the weights and the int32 index once, and one
  gathered rate per entry: N·K·(4 + 4 + 4) in float32 (the bandwidths are these bytes over the
  times; their ratio is the ratio of times).
- ``per_tau_s``: ``nd.simulate`` with fixed-step rk4 (4 drift evaluations per step), ``dt``
  and ``t1`` as recorded, wall time of the compiled solve per τ (``ds.attrs['wall_time_s']``,
  which includes compilation: for the short cases the solve is run twice and the second timed).

    nice -n 10 python benchmarks/bench_sparse.py [--quick] [--big-t1 50] [--big-dt 0.5]

Writes benchmarks/bench_sparse.json; ``--report`` writes the section "bench_sparse" of
benchmarks/RESULTS.md from it and benchmarks/sparse_theory_check.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "bench_sparse.json"


def case(N: int, K: int, t1: float, dt: float, repeats: int, twice: bool) -> dict:
    """One case, in this process (called in a subprocess by :func:`main`)."""
    import resource
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    import neurodyn as nd

    def rss_gib():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    row = {"N": N, "K": K, "dtype": "float32", "trials": 1}
    start = time.perf_counter()
    net = nd.Network.random(N=N, K=K, g=2.0, seed=0, dtype="float32")
    jax.block_until_ready(net.weights)
    row["build_s"] = time.perf_counter() - start
    row["rss_after_build_gib"] = rss_gib()
    core = net.without_metadata()
    r = jnp.tanh(jax.random.normal(jax.random.PRNGKey(1), (N,), jnp.float32))
    drift = jax.jit(nd.drift)
    bare = jax.jit(lambda w, idx, r: (w * r[idx]).sum(-1))

    def median(fn, *args):
        jax.block_until_ready(fn(*args))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times.append(time.perf_counter() - start)
        return float(np.median(times))

    row["drift_s"] = median(drift, r, core)
    row["bare_s"] = median(bare, core.weights, core.index, r)
    moved = N * K * (4 + 4 + 4)
    row["bytes_per_evaluation"] = moved
    row["drift_GBps"] = moved / row["drift_s"] / 1e9
    row["bare_GBps"] = moved / row["bare_s"] / 1e9
    row["drift_over_bare"] = row["bare_s"] / row["drift_s"]
    row["rss_after_drift_gib"] = rss_gib()
    for _ in range(2 if twice else 1):
        ds = nd.simulate(net, t1=t1, dt_save=1.0, solver="rk4", dt=dt, seed=1)
    row.update(solver="rk4", dt=dt, t1=t1, simulate_s=ds.attrs["wall_time_s"],
               rhs_evaluations=ds.attrs["rhs_evaluations"],
               per_tau_s=ds.attrs["wall_time_s"] / t1,
               per_evaluation_s=ds.attrs["wall_time_s"] / ds.attrs["rhs_evaluations"],
               var_h_last=float(ds.h.isel(time=-1).var()),
               compile_included=not twice)
    row["peak_rss_gib"] = rss_gib()
    return row


def report() -> str:
    """The RESULTS.md section from the stored JSON (this script's and
    scripts/sparse_theory_check.py's), written by ``--report``."""
    sys.path.insert(0, str(HERE))
    from _common import table, write_section

    data = json.loads(OUT.read_text())
    rows = [[r["N"], r["K"], r["build_s"], r["drift_s"] * 1e3, r["bare_s"] * 1e3,
             r["drift_GBps"], r["bare_GBps"], r["drift_over_bare"], f"rk4 dt={r['dt']}",
             r["t1"], r["per_tau_s"], r["peak_rss_gib"],
             "yes" if r["compile_included"] else "no"] for r in data["cases"]]
    text = ["## Sparse networks (bench_sparse.py)", "",
            "Fixed in-degree K, float32, one trial, g = 2, tanh. drift = one jitted "
            "`nd.drift`, bare = `(w * r[idx]).sum(-1)` on the same arrays in the same process; "
            "bytes per evaluation N·K·12 (weight, int32 index, gathered rate). Time per τ: "
            "`nd.simulate` wall time / t1 with fixed-step rk4 (4 evaluations per step). Peak "
            "memory: maxrss of the case's own subprocess (it includes the bare gather's "
            "(N, K) temporaries, which the drift itself does not allocate).", "",
            table(["N", "K", "build s", "drift ms", "bare ms", "drift GB/s", "bare GB/s",
                   "drift/bare", "solver", "t1 τ", "s per τ", "peak GiB",
                   "compile in time"], rows), ""]
    machine = data.get("machine", {})
    text.append(f"Machine: {machine.get('cpu')}, {machine.get('cores')} cores, jax "
                f"{machine.get('jax')}, {machine.get('date')}, load average "
                f"{machine.get('load average (1, 5, 15 min) at the end')} (shared VM: other "
                "jobs ran at the same time, so absolute times are inflated).")
    theory_path = HERE / "sparse_theory_check.json"
    if theory_path.exists():
        theory = json.loads(theory_path.read_text())
        text += ["", "### Sparse SCS vs dense DMFT (scripts/sparse_theory_check.py)", "",
                 f"N = {theory['N']}, K = {theory['K']}, {theory['seeds']} network seeds, "
                 f"{theory['solver']} dt = {theory['dt']}, {theory['t1']} τ after "
                 f"{theory['transient']} τ, {theory['dtype']}; finite-K correction: "
                 f"{theory['finite_K_correction']}. z = (seed mean − theory) / SE over seeds.", ""]
        trows = []
        for row in theory["gains"]:
            for lag, m, se, th, z in zip(row["lags"], row["simulated_mean"],
                                         row["standard_error"], row["theory"], row["z"], strict=True):
                trows.append([row["g"], lag, m, se, th, z, (m - th) / th])
        text.append(table(["g", "lag τ", "simulated Δ", "SE", "DMFT Δ", "z", "rel. diff"],
                          trows))
        if theory["transition"]:
            text += ["", table(["g", "⟨h²⟩ late (one seed)", "DMFT Δ0"],
                               [[t["g"], t["late_second_moment"], t["theory_delta0"]]
                                for t in theory["transition"]])]
    markdown = "\n".join(text)
    write_section("bench_sparse", markdown)
    return markdown


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N up to 10⁵ only")
    parser.add_argument("--big-t1", type=float, default=50.0)
    parser.add_argument("--big-dt", type=float, default=0.5)
    parser.add_argument("--only-big", action="store_true")
    parser.add_argument("--report", action="store_true",
                        help="only write the RESULTS.md section from the stored JSON")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.report:
        print(report())
        return
    if args.case:
        print(json.dumps(case(**json.loads(args.case))))
        return
    plan = [] if args.only_big else [
        dict(N=N, K=K, t1=5.0, dt=0.25, repeats=5, twice=True)
        for K in (100, 1000) for N in (10_000, 100_000) if K < N]
    if not args.quick and not args.only_big:
        plan.append(dict(N=1_000_000, K=100, t1=5.0, dt=0.25, repeats=3, twice=True))
    if not args.quick:
        plan.append(dict(N=1_000_000, K=1000, t1=args.big_t1, dt=args.big_dt, repeats=3,
                         twice=False))
    rows = json.loads(OUT.read_text())["cases"] if OUT.exists() else []
    for spec in plan:
        done = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"case {spec} failed")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        print(row, flush=True)
        rows = [r for r in rows if (r["N"], r["K"]) != (row["N"], row["K"])] + [row]
        rows.sort(key=lambda r: (r["K"], r["N"]))
        sys.path.insert(0, str(HERE))
        from _common import machine

        OUT.write_text(json.dumps({"cases": rows, "machine": machine()}, indent=1))


if __name__ == "__main__":
    main()
