"""Measure the sampling DMFT (neurodyn.dmft.sampling) against the analytic stationary solver.

At the sampling solver's default settings (t1 adapted to the model, dt 0.1, 4096 paths in 8
replicas): tanh, η = 0, at g ∈ {1.5, 2, 3}, and relu with J_mean = −1, θ_mean = 1 at g ∈
{1.0, 1.7} (a static and a chaotic point, those of scripts/relu_check.py). For each: Δ0, its
reported standard error (relative to Δ0), Δ(1), Δ(3), the difference from nd.dmft.stationary in
standard errors (z), the wall time and the load. With --dt-bias also the discretisation bias at
dt = 0.2 and 0.1 with many paths. Prints one line per solve and writes every number to --out.

    PYTHONPATH=src python scripts/sampling_dmft_check.py --out benchmarks/sampling_dmft_check.json
"""

import argparse
import json
import os
import time

import neurodyn as nd

RELU = {"phi": "relu", "J_mean": -1.0, "theta_mean": 1.0}


def one(g, model=None, **kwargs):
    model = model or {}
    start = time.perf_counter()
    ds = nd.dmft.sampling(g=g, **model, **kwargs)
    seconds = time.perf_counter() - start
    theory = nd.dmft.stationary(g=g, **model, tau_max=40.0, dtau=ds.attrs["dt"],
                                critical_gain=False)
    d0, sem, want = float(ds.delta0), float(ds.delta0_sem), float(theory.delta0)
    record = {"g": g, **model, **kwargs, "t1": ds.attrs["t1"], "transient": ds.attrs["transient"],
              "paths": ds.attrs["paths"], "phase": ds.attrs["phase"],
              "theory_phase": theory.attrs["phase"], "delta0": d0, "delta0_sem": sem,
              "sem_over_delta0": sem / d0, "delta0_stationary": want,
              "rel_diff": (d0 - want) / want, "z_delta0": (d0 - want) / sem, "lags": {},
              "tau_corr": float(ds.tau_corr), "tau_corr_sem": float(ds.tau_corr_sem),
              "tau_corr_stationary": float(theory.tau_corr),
              "iterations": int(ds.iterations), "residual": float(ds.residual),
              "gap": float(ds.gap),
              "delta0_by_guess": dict(zip((f"{v:g}" for v in ds.guess.values),
                                          ds.delta_guess.isel(tau=0).values.tolist(), strict=True)),
              "seconds": seconds, "load": os.getloadavg()[0]}
    for lag in (1.0, 3.0):
        got = float(ds.delta.sel(tau=lag, method="nearest"))
        ref = float(theory.delta.sel(tau=lag, method="nearest"))
        se = float(ds.delta_sem.sel(tau=lag, method="nearest"))
        record["lags"][str(lag)] = {"sampling": got, "sem": se, "stationary": ref,
                                    "diff_over_delta0": (got - ref) / want, "z": (got - ref) / se}
    print(json.dumps(record), flush=True)
    return record


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dt-bias", action="store_true")
    parser.add_argument("--paths", type=int, default=None)
    parser.add_argument("--g", type=float, nargs="*", default=[1.5, 2.0, 3.0])
    parser.add_argument("--relu-g", type=float, nargs="*", default=[1.0, 1.7])
    parser.add_argument("--out", type=str, default=None)
    args = parser.parse_args()
    records = []
    for g in args.g:
        extra = {} if args.paths is None else {"paths": args.paths}
        if args.dt_bias:
            for dt in (0.2, 0.1):
                records.append(one(g, t1=40.0, dt=dt, paths=args.paths or 16384, batches=16))
        else:
            records.append(one(g, **extra))
    for g in args.relu_g:
        records.append(one(g, model=RELU))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(records, handle, indent=1)


if __name__ == "__main__":
    main()
