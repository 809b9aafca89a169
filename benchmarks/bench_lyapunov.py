"""Speed of the Lyapunov spectrum: the leading k exponents at N = 1000 by the QR method.

Every alternative integrates the same network from the same h(0) and tangent basis, and is
judged by its error against a tight reference on a short window (tsit5, rtol = atol = 1e-10, QR
every τ) versus its wall time per τ (warm: the second call of the same compiled scan):

- tsit5 at rtol = atol 1e-7 (the former default, with LAPACK's Householder QR), 1e-5, 1e-4;
  tangents as a vmapped jvp or one GEMM −Q + J (φ′·Q); CholeskyQR2 unless stated;
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
import importlib
import os
import time

import jax
import numpy as np
from _common import bare_gemm, publish, table

import neurodyn as nd

REFERENCE = dict(solver="tsit5", rtol=1e-10, atol=1e-10)

CASES = [
    ("tsit5 rtol 1e-7, jvp tangents, Householder QR (former default)",
     dict(solver="tsit5", rtol=1e-7, atol=1e-7, tangents="jvp", qr="householder")),
    ("tsit5 rtol 1e-7, jvp tangents", dict(solver="tsit5", rtol=1e-7, atol=1e-7,
                                           tangents="jvp")),
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
    module = importlib.import_module("neurodyn.lyapunov")  # nd.lyapunov is the function
    default, module.QR_METHOD = module.QR_METHOD, kwargs.pop("qr", module.QR_METHOD)
    try:
        start = time.perf_counter()
        lam = nd.lyapunov(net, t1=t1, k=k, transient=transient, seed=seed, **kwargs)
        return lam, time.perf_counter() - start
    finally:
        module.QR_METHOD = default


def critical_gains(sigmas, N, seeds, t1) -> None:
    """g_c(σ): the root of the DMFT's λ_max(g, σ) (brentq on nd.dmft.stationary) and where the
    simulated conditional exponent (mean over ``seeds`` networks of N neurons, t1 after 20 τ)
    crosses 0, from a straight line through the means at g_c,theory ± 0.2 and g_c,theory,
    weighted by their standard errors (the crossing's error propagated from the fit)."""
    from scipy import optimize

    def theory(g, sigma):
        return float(nd.dmft.stationary(g=g, noise=sigma, critical_gain=False).lambda_max)

    rows = []
    for sigma in sigmas:
        hi = 1.2
        while theory(hi, sigma) < 0:
            hi += 0.5
        g_theory = optimize.brentq(theory, 1.0, hi, args=(sigma,), xtol=1e-3)
        gs = np.array([g_theory - 0.2, g_theory, g_theory + 0.2])
        means, sems = [], []
        for g in gs:
            values = [float(nd.lyapunov(nd.Network.random(N=N, g=g, seed=s), t1=t1,
                                        transient=20.0, noise=sigma, seed=s)[0])
                      for s in range(seeds)]
            means.append(np.mean(values))
            sems.append(np.std(values, ddof=1) / np.sqrt(seeds))
        (slope, intercept), cov = np.polyfit(gs, means, 1, w=1 / np.asarray(sems), cov="unscaled")
        g_sim = -intercept / slope
        grad = np.array([intercept / slope**2, -1 / slope])  # d g_sim / d(slope, intercept)
        g_err = float(np.sqrt(grad @ cov @ grad))
        rows.append([sigma, g_theory, g_sim, g_err, (g_sim - g_theory) / g_err,
                     ", ".join(f"{m:+.4f} ± {e:.4f}" for m, e in zip(means, sems, strict=True))])
        print(rows[-1], flush=True)
    return table(["σ", "g_c theory (λ_max = 0)", "g_c simulated", "± (fit)", "z",
                  f"conditional λ at g_c,th − 0.2, g_c,th, + 0.2 (N = {N}, {seeds} networks, "
                  f"t1 = {t1:g})"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=1000)
    parser.add_argument("--k", type=int, default=125)
    parser.add_argument("--g", type=float, default=2.0)
    parser.add_argument("--t1", type=float, default=10.0, help="short window of the comparison")
    parser.add_argument("--transient", type=float, default=5.0)
    parser.add_argument("--cases", type=str, default="",
                        help="comma-separated indices of CASES to run (default all; 'none')")
    parser.add_argument("--full", type=str, default="rk4 dt 0.25",
                        help="label of the case run over the full window ('' to skip)")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--critical", action="store_true",
                        help="instead: g_c(σ) of the noise-shifted transition, theory vs simulation")
    args = parser.parse_args()
    if args.critical:
        text = critical_gains((0.3, 0.5), N=400, seeds=6, t1=60.0)
        publish("bench_lyapunov_noise", "## The noise-shifted transition g_c(σ) "
                "(bench_lyapunov.py --critical)\n\n" + text, args.write)
        return
    N, k = args.N, args.k
    print(f"N={N} k={k} g={args.g}; load average at start {os.getloadavg()[0]:.1f}", flush=True)
    net64 = nd.Network.random(N=N, g=args.g, seed=0)
    net32 = nd.Network.random(N=N, g=args.g, seed=0, dtype="float32")
    gemm = bare_gemm(np.asarray(net64.J), k)
    ref, ref_time = (run(net32, net64, k, args.t1, args.transient, **REFERENCE)
                     if args.cases != "none" else (None, 0.0))
    if ref is not None:
        print(f"reference ({ref_time:.1f} s, {ref.attrs['rhs_evaluations']} evaluations): "
              f"λ1 = {float(ref[0]):.5f}, trace mean {ref.attrs['jacobian_trace_mean']:.3f}",
              flush=True)
    rows = []
    cases = (CASES if not args.cases else [] if args.cases == "none"
             else [CASES[int(i)] for i in args.cases.split(",")])
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
    body = [] if ref is None else [
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
    main()
