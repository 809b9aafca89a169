"""Timing of ``neurodyn.simulate`` (foundation issue): N ∈ {500, 1000, 2000}, trials ∈ {1, 16}.

Reports right-hand-side evaluations per second and the rate of the J·φ products against the
bare product of the same shape measured in the same process (NumPy and a jitted JAX loop): one
trial is memory-bound, so bytes of J streamed per evaluation over the time per evaluation vs a
bare matrix–vector product; several trials are one GEMM per evaluation, compute-bound, so
2·trials·N² FLOP per evaluation vs a bare (trials, N) @ (N, N) product.

    python benchmarks/bench_simulate.py [--quick] [--repeats 5] [--t1 50]

Writes the section "bench_simulate" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os

# The bare NumPy baseline gets every core, like XLA (see bench_peers.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(os.cpu_count() or 1))

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _common import bare_gemm, bare_matvec, publish, table, warm_median

import neurodyn as nd


def run(sizes, trial_counts, t1, repeats, solver, rtol):
    rows = []
    for N in sizes:
        net = nd.Network.random(N=N, g=2.0, seed=0)
        J = np.asarray(net.J)
        for trials in trial_counts:
            datasets = []

            def call(net=net, trials=trials, datasets=datasets):
                datasets.append(nd.simulate(net, t1=t1, dt_save=1.0, trials=trials,
                                            solver=solver, rtol=rtol, atol=rtol, seed=1))
            first, median, _ = warm_median(call, repeats)
            evaluations = datasets[-1].attrs["rhs_evaluations"]
            per_eval = median / evaluations
            if trials == 1:
                unit, limit = "GB/s", bare_matvec(J)
                achieved = J.size * J.itemsize / per_eval / 1e9
                bare = limit["numpy_GBps"], limit["jax_GBps"]
            else:
                unit, limit = "GFLOP/s", bare_gemm(J, trials)
                achieved = 2.0 * trials * N * N / per_eval / 1e9
                bare = limit["numpy_GFLOPs"], limit["jax_GFLOPs"]
            row = [N, trials, median, first - median, evaluations, evaluations / median,
                   unit, achieved, *bare, f"{achieved / max(bare):.2f}"]
            rows.append(row)
            print(dict(zip(HEADER, row, strict=True)), flush=True)
    return rows


HEADER = ["N", "trials", "wall s (median)", "compile s", "RHS evals", "RHS evals/s", "unit",
          "J·φ rate", "bare NumPy", "bare JAX", "fraction of best bare"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N ≤ 1000, t1 = 10, 3 repeats")
    parser.add_argument("--repeats", type=int, default=5, help="warm runs (median reported)")
    parser.add_argument("--t1", type=float, default=50.0, help="simulated time window (τ)")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    sizes, t1, repeats = (500, 1000, 2000), args.t1, args.repeats
    if args.quick:
        sizes, t1, repeats = (500, 1000), 10.0, 3
    solver, rtol = "tsit5", 1e-6
    rows = run(sizes, (1, 16), t1, repeats, solver, rtol)
    publish("bench_simulate", (
        "## simulate: RHS evaluations per second and the J·φ rate vs bare products "
        "(bench_simulate.py)\n\n"
        f"g = 2, tanh, float64, {solver} rtol = atol = {rtol:g}, T = {t1:g} τ, dt_save = 1, "
        f"wall = median of {repeats} warm calls of `nd.simulate` (the whole public call: "
        "validation, solve, Dataset). 1 trial: GB/s = N²·8 bytes of J per RHS evaluation / time "
        "per evaluation vs a bare J @ x; 16 trials: GFLOP/s = 2·16·N² per evaluation vs a bare "
        "(16, N) @ (N, N); both bare products measured in the same process.\n\n"
        + table(HEADER, rows)), not args.no_write)


if __name__ == "__main__":
    main()
