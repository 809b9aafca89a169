"""Gradient flossing vs plain BPTT on a long horizon of a chaotic network → benchmarks/flossing.json.

Usage::

    python scripts/flossing_demo.py [--out benchmarks/flossing.json] [--iterations 1000]

The sine-generation task (:func:`neurodyn.learning.sine_generation`) on an SCS network with
g = 3 (strongly chaotic when untrained), n = 64, period 10 τ, over a horizon of T = 100 τ; all
four groups trained with Adam through the fixed-step rk4 scan (BPTT-scan), either plain (β = 0,
learning rates 0.003, 0.01, 0.03; and at 0.01 with the gradient clipped to norm 1, the common
remedy) or with gradient flossing at learning rate 0.01
(:func:`neurodyn.learning.flossing.train_flossing`: β Σ_{i<4} λ_i², 50 iterations of flossing
alone first, then the combined loss). The plain runs get the same total number of Adam steps.
A short-horizon control (T = 20 τ, plain BPTT) shows that the failure is the horizon's.

Recorded per run: the normalised loss (NMSE = L / L of the zero output) before training, its
minimum and after training, the QR estimate of the 4 leading exponents along the training
trajectory before and after, and, as an independent second measurement of the trained network,
:func:`neurodyn.lyapunov` (adaptive Tsit5 tangent solve, other initial state, t1 = 200 τ after a
transient of 50 τ) of its autonomous dynamics. Cost: ~15–20 min on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CONFIG = {"n": 64, "g": 3.0, "duration": 100.0, "period": 10.0, "dt_sample": 0.2, "dt": 0.1,
          "k": 4, "beta": 30.0, "pre_iterations": 50, "learning_rate": 0.01,
          "bptt_learning_rates": (0.003, 0.01, 0.03), "seed": 0,
          "control_duration": 20.0, "lyapunov_t1": 200.0, "lyapunov_transient": 50.0}


def run(name, iterations, duration, beta, pre, clip=None, learning_rate=None):
    import neurodyn as nd
    from neurodyn.learning import sine_generation
    from neurodyn.learning.flossing import train_flossing

    c = CONFIG
    params, task = sine_generation(n=c["n"], g=c["g"], duration=duration, period=c["period"],
                                   dt_sample=c["dt_sample"], seed=c["seed"])
    power = float(np.sum(np.asarray(task.quadrature) * 0.5 * np.asarray(task.targets[:, 0]) ** 2))
    started = time.perf_counter()
    trained, ds = train_flossing(params, task, k=c["k"], beta=beta, iterations=iterations,
                                 pre_iterations=pre,
                                 learning_rate=learning_rate or c["learning_rate"],
                                 dt=c["dt"], seed=c["seed"], clip=clip)
    wall = time.perf_counter() - started
    nmse = ds.loss.values / power
    exponents = nd.lyapunov(trained.net, t1=c["lyapunov_t1"], k=c["k"],
                            transient=c["lyapunov_transient"], seed=1)
    record = {
        "name": name, "duration": duration, "beta": beta, "pre_iterations": pre,
        "learning_rate": learning_rate or c["learning_rate"],
        "iterations": iterations, "clip": clip, "wall_time_s": wall,
        "nmse_initial": float(nmse[0]), "nmse_min": float(min(nmse.min(),
                                                             ds.attrs["final_loss"] / power)),
        "nmse_final": ds.attrs["final_loss"] / power,
        "nmse_curve_every_50": [float(x) for x in nmse[::50]],
        "qr_lyapunov_initial": [float(x) for x in ds.lyapunov.values[0]],
        "qr_lyapunov_final": ds.attrs["final_lyapunov"],
        "lyapunov_trained_network": [float(x) for x in exponents.values],
    }
    print(f"{name}: NMSE {record['nmse_initial']:.3g} -> {record['nmse_final']:.3g} "
          f"(min {record['nmse_min']:.3g}); QR λ {np.round(record['qr_lyapunov_initial'], 3)} -> "
          f"{np.round(record['qr_lyapunov_final'], 3)}; nd.lyapunov of the trained network "
          f"{np.round(record['lyapunov_trained_network'], 3)} ({wall:.0f} s)", flush=True)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "flossing.json"))
    parser.add_argument("--iterations", type=int, default=800,
                        help="Adam steps on the combined loss (plain runs: + pre_iterations)")
    args = parser.parse_args(argv)
    from neurodyn.provenance import provenance

    c = CONFIG
    total = args.iterations + c["pre_iterations"]
    started = time.perf_counter()
    runs = [run("bptt_short_horizon", total, c["control_duration"], 0.0, 0)]
    runs += [run(f"bptt_lr{rate:g}", total, c["duration"], 0.0, 0, learning_rate=rate)
             for rate in c["bptt_learning_rates"]]
    runs.append(run("bptt_clipped", total, c["duration"], 0.0, 0, clip=1.0))
    runs.append(run("flossing", args.iterations, c["duration"], c["beta"], c["pre_iterations"]))
    by_name = {r["name"]: r for r in runs}
    plain = [r for r in runs if r["name"].startswith("bptt") and r["duration"] == c["duration"]]
    best = min(plain, key=lambda r: r["nmse_final"])
    ratio = best["nmse_final"] / by_name["flossing"]["nmse_final"]
    result = {
        "config": c, "iterations": args.iterations, "runs": runs,
        "best_plain_run": best["name"],
        "best_plain_over_flossing_final_nmse": ratio,
        "best_plain_reduction": best["nmse_initial"] / best["nmse_final"],
        "flossing_reduction": (by_name["flossing"]["nmse_initial"]
                               / by_name["flossing"]["nmse_final"]),
        "wall_time_s": time.perf_counter() - started, "provenance": provenance(),
    }
    Path(args.out).write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"final NMSE best plain BPTT ({best['name']}) / flossing = {ratio:.3g}; flossing "
          f"reduced its NMSE {result['flossing_reduction']:.3g}x; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
