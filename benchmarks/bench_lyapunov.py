"""Speed of the Lyapunov spectrum: the leading k exponents at N = 1000 by the QR method.

Every alternative integrates the same network from the same h(0) and tangent basis, and is
judged by its error against a tight reference on a short window (tsit5, rtol = atol = 1e-10, QR
every τ) versus its wall time per τ (warm: the second call of the same compiled scan):

- tsit5 at rtol = atol 1e-7 (the former default), 1e-5, 1e-4; tangents as a vmapped jvp or one
  GEMM −Q + J (φ′·Q);
- fixed-step rk4 at dt = 0.1 … 0.5 (QR every τ), and with QR every 2 or 5 τ;
- float32 throughout (a float32 network) with rk4.

Error: max and rms over the k exponents of |λ_i − λ_i,ref|, in 1/τ. The statistical error it is
compared against is the spread of the exponents over network seeds at the full window
(``--full``: t1 = 250, transient 50, ``--seeds`` networks with the chosen method), whose wall
times (compilation included, the whole public call) are the goal's measure.

    python benchmarks/bench_lyapunov.py [--write]      (~15 min on 2 idle cores)
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

import neurodyn as nd
from _common import bare_gemm, publish, table

REFERENCE = dict(solver="tsit5", rtol=1e-10, atol=1e-10)

CASES = [
    ("tsit5 rtol 1e-7, jvp tangents (former default)", dict(solver="tsit5", rtol=1e-7,
                                                            atol=1e-7, tangents="jvp")),
    ("tsit5 rtol 1e-7, GEMM tangents", dict(solver="tsit5", rtol=1e-7, atol=1e-7)),
    ("tsit5 rtol 1e-5", dict(solver="tsit5", rtol=1e-5, atol=1e-5)),
    ("tsit5 rtol 1e-4", dict(solver="tsit5", rtol=1e-4, atol=1e-4)),
    ("rk4 dt 0.1", dict(solver="rk4", dt=0.1)),
    ("rk4 dt 0.25", dict(solver="rk4", dt=0.25)),
    ("rk4 dt 0.5", dict(solver="rk4", dt=0.5)),
    ("rk4 dt 0.25, QR every 2", dict(solver="rk4", dt=0.25, interval=2.0)),
    ("rk4 dt 0.25, QR every 5", dict(solver="rk4", dt=0.25, interval=5.0)),
    ("rk4 dt 0.25, float32", dict(solver="rk4", dt=0.25, dtype="float32")),
    ("rk4 dt 0.5, float32", dict(solver="rk4", dt=0.5, dtype="float32")),
]


def run(net32, net64, k, t1, transient, seed=0, **kwargs):
    kwargs = dict(kwargs)
    net = net32 if kwargs.pop("dtype", "float64") == "float32" else net64
    start = time.perf_counter()
    lam = nd.lyapunov(net, t1=t1, k=k, transient=transient, seed=seed, **kwargs)
    return lam, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=1000)
    parser.add_argument("--k", type=int, default=125)
    parser.add_argument("--g", type=float, default=2.0)
    parser.add_argument("--t1", type=float, default=10.0, help="short window of the comparison")
    parser.add_argument("--transient", type=float, default=5.0)
    parser.add_argument("--cases", type=str, default="",
                        help="comma-separated indices of CASES to run (default all)")
    parser.add_argument("--full", type=str, default="rk4 dt 0.25",
                        help="label of the case run over the full window ('' to skip)")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    N, k = args.N, args.k
    print(f"N={N} k={k} g={args.g}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    net64 = nd.Network.random(N=N, g=args.g, seed=0)
    net32 = nd.Network.random(N=N, g=args.g, seed=0, dtype="float32")
    gemm = bare_gemm(np.asarray(net64.J), k)
    ref, ref_time = run(net32, net64, k, args.t1, args.transient, **REFERENCE)
    print(f"reference ({ref_time:.1f} s, {ref.attrs['rhs_evaluations']} evaluations): "
          f"λ1 = {float(ref[0]):.5f}, trace mean {ref.attrs['jacobian_trace_mean']:.3f}",
          flush=True)
    rows = []
    cases = CASES if not args.cases else [CASES[int(i)] for i in args.cases.split(",")]
    span = args.t1 + args.transient
    for label, kwargs in cases:
        _, first = run(net32, net64, k, args.t1, args.transient, **kwargs)
        lam, warm = run(net32, net64, k, args.t1, args.transient, **kwargs)
        err = np.abs(lam.values - ref.values)
        evaluations = lam.attrs["rhs_evaluations"]
        per_eval = warm / evaluations
        rows.append([label, evaluations / span, float(err.max()), float(np.sqrt(np.mean(err**2))),
                     first - warm, warm / span, 1e3 * per_eval,
                     2.0 * N * N * k / per_eval / 1e9,
                     warm / span * 300.0])
        print(rows[-1], flush=True)
    body = [
        f"N = {N}, k = {k}, g = {args.g}, tanh, network seed 0; every case from the same h(0) and "
        f"tangent basis over a short window (transient {args.transient:g} τ + t1 = {args.t1:g} τ, "
        "QR every τ unless stated). Error: |λ_i − λ_i,ref| against tsit5 at rtol = atol = 1e-10 "
        f"(λ1,ref = {float(ref[0]):.4f}). Wall times warm (second call; compile = first − "
        "second); 'for 300 τ' extrapolates the warm time per τ to the goal's window "
        "(250 τ + 50 τ transient). Bare GEMM (N, N) @ (N, k) in the same process: "
        f"{gemm['jax_GFLOPs']:.0f} GFLOP/s float64.",
        "",
        table(["case", "evaluations / τ", "max error", "rms error", "compile (s)", "s / τ",
               "ms / evaluation", "GFLOP/s of the tangent GEMM", "s for 300 τ"], rows),
    ]
    if args.full:
        kwargs = dict(next(kw for label, kw in CASES if label == args.full))
        full_rows, values = [], []
        for seed in range(args.seeds):
            net = nd.Network.random(N=N, g=args.g, seed=seed)
            net32 = nd.Network.random(N=N, g=args.g, seed=seed, dtype="float32")
            lam, wall = run(net32, net, k, 250.0, 50.0, **kwargs)
            values.append(lam.values)
            full_rows.append([seed, wall, float(lam[0]), float(lam[k - 1]),
                              float(lam.sum()), lam.attrs["rhs_evaluations"]])
            print(full_rows[-1], flush=True)
        values = np.asarray(values)
        spread = values.std(axis=0, ddof=1)
        body += [
            "",
            f"Full window with '{args.full}': t1 = 250 τ after a 50 τ transient, one network "
            "per seed (h(0) and Q(0) from the same seed); wall time of the whole public call, "
            "compilation included (the first call compiles, later seeds reuse it).",
            "",
            table(["seed", "wall (s)", "λ1", f"λ{k}", f"Σ λ1..{k}", "evaluations"], full_rows),
            "",
            f"Spread over the {args.seeds} networks (standard deviation per exponent): "
            f"λ1 {spread[0]:.4f}, median over i {np.median(spread):.4f}, min {spread.min():.4f}; "
            f"standard error of the mean λ_i: median {np.median(spread) / np.sqrt(args.seeds):.4f}.",
        ]
    body.append(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
    publish("bench_lyapunov", "## Lyapunov spectrum speed (bench_lyapunov.py)\n\n"
            + "\n".join(body), args.write)


if __name__ == "__main__":
    jax.config.update("jax_enable_x64", True)
    _ = jnp
    main()
