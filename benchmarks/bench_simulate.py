"""Timing of ``neurodyn.simulate`` (foundation issue): N ∈ {500, 1000, 2000}, trials ∈ {1, 16}.

Reports right-hand-side evaluations per second and the effective memory bandwidth of the J·φ
products — bytes of J streamed per evaluation (one product per evaluation: trials are batched
into one GEMM) over the time per evaluation — next to a bare NumPy and a bare jitted JAX
matrix–vector product of the same J, measured in the same process.

    python benchmarks/bench_simulate.py [--quick] [--repeats 5] [--t1 50]

Writes the section "bench_simulate" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import os

# The bare NumPy baseline gets every core, like XLA (see bench_peers.py).
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(os.cpu_count() or 1))

import argparse  # noqa: E402

import numpy as np  # noqa: E402
from _common import bare_matvec, machine_markdown, table, warm_median, write_section

import neurodyn as nd


def run(sizes, trial_counts, t1, repeats, solver, rtol):
    rows = []
    for N in sizes:
        net = nd.Network.random(N=N, g=2.0, seed=0)
        J = np.asarray(net.J)
        limit = bare_matvec(J, repeats)
        nbytes = J.size * J.itemsize
        for trials in trial_counts:
            datasets = []

            def call(net=net, trials=trials, datasets=datasets):
                datasets.append(nd.simulate(net, t1=t1, dt_save=1.0, trials=trials,
                                            solver=solver, rtol=rtol, atol=rtol, seed=1))
            first, median, _ = warm_median(call, repeats)
            evaluations = datasets[-1].attrs["rhs_evaluations"]
            per_eval = median / evaluations
            bandwidth = nbytes / per_eval / 1e9
            row = [N, trials, median, first - median, evaluations, evaluations / median,
                   bandwidth, limit["numpy_GBps"], limit["jax_GBps"],
                   f"{bandwidth / limit['numpy_GBps']:.2f}"]
            rows.append(row)
            print(dict(zip(HEADER, row, strict=True)), flush=True)
    return rows


HEADER = ["N", "trials", "wall s (median)", "compile s", "RHS evals", "RHS evals/s",
          "J·φ GB/s", "numpy J·x GB/s", "jax J·x GB/s", "J·φ / numpy"]


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
    text = (
        "## simulate: RHS evaluations per second and J·φ bandwidth (bench_simulate.py)\n\n"
        f"g = 2, tanh, float64, {solver} rtol = atol = {rtol:g}, T = {t1:g} τ, dt_save = 1, "
        f"wall = median of {repeats} warm calls of `nd.simulate` (the whole public call: "
        "validation, solve, Dataset). Bandwidth = N²·8 bytes per RHS evaluation / time per "
        "evaluation; the bare products are measured in the same process.\n\n"
        + table(HEADER, rows) + "\n\nMachine:\n\n" + machine_markdown() + "\n")
    if not args.no_write:
        write_section("bench_simulate", text)
    print(text)


if __name__ == "__main__":
    main()
