"""Sparse SCS networks against the dense dynamic mean-field theory (issue 18).

Fixed in-degree K = 500 at N = 20 000 (float32, fixed-step rk4, dt = 0.25): for g ∈ {1.5, 2, 3}
and network seeds 0 … SEEDS−1, the simulated Δ(τ) = ⟨h_i(t) h_i(t+τ)⟩ (nd.autocorrelation, one
trial per network, averaged over neurons and time after a transient) at a few lags against
``nd.dmft.stationary(g, "tanh")`` (dense theory, no finite-K correction), as z-scores in standard
errors over network seeds; and the transition: ⟨h²⟩ at late times for g = 0.8 (quiescent) and
g = 1.2 (chaotic).

    nice -n 10 python scripts/sparse_theory_check.py [--seeds 4] [--t1 15] [--transient 15]

Writes benchmarks/sparse_theory_check.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import neurodyn as nd

OUT = Path(__file__).resolve().parents[1] / "benchmarks" / "sparse_theory_check.json"
LAGS = (0.0, 1.0, 2.0, 4.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=20_000)
    parser.add_argument("--K", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--gains", type=float, nargs="*", default=[2.0, 3.0, 1.5])
    parser.add_argument("--t1", type=float, default=15.0)
    parser.add_argument("--transient", type=float, default=15.0)
    parser.add_argument("--dt", type=float, default=0.25)
    parser.add_argument("--skip-transition", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    rows, transition = [], []
    if not args.gains and OUT.exists():
        # transition only (--gains with no values): keep the stored comparison
        rows = json.loads(OUT.read_text())["gains"]

    def write():
        # after every gain, so a run cut short keeps what it measured
        OUT.write_text(json.dumps({
            "N": args.N, "K": args.K, "dtype": "float32", "solver": "rk4", "dt": args.dt,
            "t1": args.t1, "transient": args.transient, "seeds": args.seeds, "trials": 1,
            "finite_K_correction": "none (dense DMFT as is)",
            "gains": rows, "transition": transition,
            "wall_time_s": time.perf_counter() - started}, indent=1))

    for g in args.gains:
        theory = nd.dmft.stationary(g=g, phi="tanh", tau_max=20.0, dtau=0.02)
        predicted = np.interp(LAGS, theory["tau"].values, theory["delta"].values)
        samples = []
        for seed in range(args.seeds):
            net = nd.Network.random(N=args.N, K=args.K, g=g, seed=seed, dtype="float32")
            ds = nd.simulate(net, t1=args.t1, transient=args.transient, dt_save=0.5,
                             solver="rk4", dt=args.dt, seed=100 + seed)
            ac = nd.autocorrelation(ds, max_lag=max(LAGS))
            samples.append(np.interp(LAGS, ac["lag"].values, ac.values))
            print(f"g={g} seed={seed}: Delta={np.round(samples[-1], 4)} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
        samples = np.asarray(samples)
        mean = samples.mean(0)
        se = samples.std(0, ddof=1) / np.sqrt(len(samples))
        rows.append({"g": g, "lags": list(LAGS), "simulated_mean": mean.tolist(),
                     "standard_error": se.tolist(), "theory": predicted.tolist(),
                     "z": ((mean - predicted) / se).tolist(),
                     "relative_difference": ((mean - predicted) / predicted).tolist(),
                     "per_seed": samples.tolist()})
        write()
    for g in () if args.skip_transition else (0.8, 1.2):
        net = nd.Network.random(N=args.N, K=args.K, g=g, seed=0, dtype="float32")
        # g = 1.2 is slow near the transition (Δ0 ≈ 0.03 in the DMFT): a longer transient
        ds = nd.simulate(net, t1=5.0, transient=40.0, dt_save=1.0, solver="rk4", dt=args.dt,
                         seed=100)
        delta0 = float(nd.dmft.stationary(g=g, phi="tanh")["delta0"])
        transition.append({"g": g, "late_second_moment": float((ds.h ** 2).mean()),
                           "theory_delta0": delta0})
        print(transition[-1], flush=True)
        write()


if __name__ == "__main__":
    main()
