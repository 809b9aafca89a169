"""Partially symmetric networks (η = corr(J_ij, J_ji) ≠ 0): the sampling DMFT against simulation.

For each (η, g): nd.dmft.sampling (Δ(τ) with its standard error over replicas) and
``seeds`` networks nd.Network.random(N, g, symmetry=η, seed=s) simulated with nd.simulate
(transient discarded), Δ(τ) by nd.autocorrelation (tanh is odd: the mean is 0); the seeds give
a mean and a standard error; z = (simulation − theory)/√(se_sim² + se_theory²) at a few lags.
Writes a JSON file with every number (the stored run) and prints one line per point.

    PYTHONPATH=src python scripts/sampling_vs_simulation.py --N 2000 --seeds 4 \
        --out benchmarks/sampling_vs_simulation.json
"""

import argparse
import json
import math
import os
import time

import numpy as np

import neurodyn as nd

LAGS = (0.0, 1.0, 2.0, 4.0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--N", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--t1", type=float, default=200.0)
    parser.add_argument("--transient", type=float, default=100.0)
    parser.add_argument("--points", type=str, default="-0.5:3.0,-0.5:4.0,0.5:1.0,0.5:1.5")
    parser.add_argument("--out", type=str, default=None)
    args = parser.parse_args()
    records = []
    for point in args.points.split(","):
        eta, g = map(float, point.split(":"))
        start = time.perf_counter()
        theory = nd.dmft.sampling(g=g, symmetry=eta)
        theory_seconds = time.perf_counter() - start
        curves = []
        start = time.perf_counter()
        for seed in range(args.seeds):
            net = nd.Network.random(N=args.N, g=g, symmetry=eta, seed=seed)
            run = nd.simulate(net, t1=args.t1, dt_save=0.1, transient=args.transient, seed=seed)
            ac = nd.autocorrelation(run, max_lag=max(LAGS))
            curves.append([float(ac.sel(lag=lag, method="nearest")) for lag in LAGS])
        simulation_seconds = time.perf_counter() - start
        curves = np.asarray(curves)
        sim, sim_se = curves.mean(0), curves.std(0, ddof=1) / math.sqrt(len(curves))
        th = np.array([float(theory.delta.sel(tau=lag, method="nearest")) for lag in LAGS])
        th_se = np.array([float(theory.delta_sem.sel(tau=lag, method="nearest")) for lag in LAGS])
        z = (sim - th) / np.sqrt(sim_se**2 + th_se**2)
        record = {"eta": eta, "g": g, "N": args.N, "seeds": args.seeds, "lags": list(LAGS),
                  "simulation": sim.tolist(), "simulation_se": sim_se.tolist(),
                  "theory": th.tolist(), "theory_se": th_se.tolist(), "z": z.tolist(),
                  "theory_phase": theory.attrs["phase"],
                  "tau_corr": float(theory.tau_corr), "tau_corr_sem": float(theory.tau_corr_sem),
                  "theory_seconds": theory_seconds, "simulation_seconds": simulation_seconds,
                  "load": os.getloadavg()[0]}
        records.append(record)
        print(json.dumps(record), flush=True)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(records, handle, indent=1)


if __name__ == "__main__":
    main()
