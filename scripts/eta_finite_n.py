"""Finite-N series of partially symmetric networks against the sampling DMFT (issue 15).

For each N and network seed: nd.Network.random(N, g, symmetry=η, seed) simulated with
``trials`` initial conditions at once (nd.simulate, t1 200 after a transient of 100), Δ(τ) per
trial by nd.autocorrelation (raw second moment; tanh is odd and unbiased, so the mean is 0),
every 0.5 τ up to 30 τ. Trials of one network agree with each other far better than networks
do, so the seed is the unit of the error: per N, the mean over seeds of the trial-averaged
Δ(τ) with its standard error over seeds, and a weighted fit Δ(N) = Δ∞ + b/N (finite-size
corrections of a self-averaging quantity are O(1/N)) extrapolated to N = ∞.

Each network is also classified by what its Δ(τ) does at long lags: ``tail`` = max |Δ| over
lags 20-30 τ relative to Δ0 (the DMFT's chaotic Δ has decayed to < 1e-3 of Δ0 there). A
network whose trials all keep tail > 0.5 is on a fixed point or a periodic orbit, not on the
chaotic attractor the theory describes; the summary counts them and gives the statistics
with and without them.

The per-network records are cached (one JSON line each, ``--cache``), so the series can be
extended seed by seed; the summary goes to ``--out``.

    PYTHONPATH=src python scripts/eta_finite_n.py --eta -0.5 --g 3 --N 1000 2000 4000 \
        --seeds 8 --trials 4 --out benchmarks/eta_finite_n.json
"""

import argparse
import json
import math
import os
import time

import numpy as np

import neurodyn as nd

STEP = 0.5  # τ between the stored lags
MAX_LAG = 30.0
LAGS = (0.0, 1.0, 2.0, 4.0)
TAIL = (20.0, 30.0)  # lags (τ) where the chaotic Δ has decayed
ORDERED = 0.5  # tail/Δ0 above this in every trial: a fixed point or a periodic orbit


def simulate_network(eta, g, N, seed, trials):
    start = time.perf_counter()
    net = nd.Network.random(N=N, g=g, symmetry=eta, seed=seed)
    run = nd.simulate(net, t1=200.0, dt_save=0.1, transient=100.0, seed=seed, trials=trials)
    stride = int(round(STEP / 0.1))
    curves = [np.asarray(nd.autocorrelation(run.isel(trial=[k]), max_lag=MAX_LAG))[::stride]
              for k in range(trials)]
    return {"eta": eta, "g": g, "N": N, "seed": seed, "trials": trials,
            "delta": [c.tolist() for c in curves], "seconds": time.perf_counter() - start,
            "load": os.getloadavg()[0]}


def tail_ratio(curve):
    curve = np.asarray(curve)
    lo, hi = (int(round(x / STEP)) for x in TAIL)
    return float(np.abs(curve[lo:hi + 1]).max() / curve[0])


def mean_se(values):
    values = np.asarray(values)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def fit_inverse_n(ns, means, ses):
    """Weighted least squares of mean = a + b/N; returns (a, se_a)."""
    x = 1.0 / np.asarray(ns, dtype=float)
    w = 1.0 / np.asarray(ses) ** 2
    design = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(design.T @ (design * w[:, None]))
    coef = cov @ design.T @ (w * np.asarray(means))
    return float(coef[0]), float(math.sqrt(cov[0, 0]))


def summarise(records, eta, g):
    index = [int(round(lag / STEP)) for lag in LAGS]
    by_n = {}
    for r in records:
        by_n.setdefault(r["N"], []).append(r)
    rows = []
    for N in sorted(by_n):
        nets = sorted(by_n[N], key=lambda r: r["seed"])
        per_net = np.array([np.mean(r["delta"], axis=0)[index] for r in nets])
        ordered = [all(tail_ratio(c) > ORDERED for c in r["delta"]) for r in nets]
        chaotic = per_net[~np.array(ordered)]
        row = {"N": N, "seeds": len(nets), "trials": nets[0]["trials"],
               "ordered_seeds": [r["seed"] for r, o in zip(nets, ordered, strict=True) if o],
               "tail_ratio_median": float(np.median([tail_ratio(c) for r in nets
                                                     for c in r["delta"]])),
               "delta_by_seed": per_net[:, 0].tolist(),
               "all": [mean_se(per_net[:, k]) for k in range(len(LAGS))],
               "chaotic": ([mean_se(chaotic[:, k]) for k in range(len(LAGS))]
                           if len(chaotic) > 1 else None),
               "trial_sd_over_seed_sd": float(
                   np.mean([np.std(np.asarray(r["delta"])[:, 0], ddof=1) for r in nets])
                   / np.std(per_net[:, 0], ddof=1)),
               "seconds": float(sum(r["seconds"] for r in nets))}
        rows.append(row)
    summary = {"eta": eta, "g": g, "lags": list(LAGS), "by_N": rows}
    if len(rows) >= 2:
        for which in ("all", "chaotic"):
            usable = [r for r in rows if r[which] is not None]
            if len(usable) >= 2:
                summary[f"n_infinity_{which}"] = [
                    fit_inverse_n([r["N"] for r in usable], [r[which][k][0] for r in usable],
                                  [r[which][k][1] for r in usable]) for k in range(len(LAGS))]
    return summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eta", type=float, default=-0.5)
    parser.add_argument("--g", type=float, default=3.0)
    parser.add_argument("--N", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--cache", type=str, default="runs/eta_finite_n.jsonl")
    parser.add_argument("--theory", type=str, default="benchmarks/sampling_vs_simulation.json",
                        help="stored sampling-DMFT comparison whose theory values are quoted")
    parser.add_argument("--out", type=str, default=None)
    args = parser.parse_args()
    records = []
    if os.path.exists(args.cache):
        with open(args.cache) as handle:
            records = [json.loads(line) for line in handle if line.strip()]
    records = [r for r in records if r["eta"] == args.eta and r["g"] == args.g]
    have = {(r["N"], r["seed"]) for r in records}
    for N in args.N:
        for seed in range(args.seeds):
            if (N, seed) in have:
                continue
            record = simulate_network(args.eta, args.g, N, seed, args.trials)
            os.makedirs(os.path.dirname(args.cache) or ".", exist_ok=True)
            with open(args.cache, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            records.append(record)
            print(f"N={N} seed={seed}: Δ0 per trial "
                  f"{[round(c[0], 4) for c in record['delta']]} ({record['seconds']:.0f} s)",
                  flush=True)
    records = [r for r in records if r["N"] in args.N and r["seed"] < args.seeds]
    summary = summarise(records, args.eta, args.g)
    if os.path.exists(args.theory):
        stored = json.load(open(args.theory))
        for p in stored["points"] if isinstance(stored, dict) else stored:
            if p["eta"] == args.eta and p["g"] == args.g:
                summary["theory"] = {"source": args.theory, "delta": p["theory"],
                                     "delta_se": p["theory_se"]}
    print(json.dumps({k: v for k, v in summary.items() if k != "by_N"}, indent=1))
    for row in summary["by_N"]:
        print(row["N"], row["seeds"], "ordered", row["ordered_seeds"], "all",
              [f"{m:.4f}±{s:.4f}" for m, s in row["all"]], "trial/seed sd",
              round(row["trial_sd_over_seed_sd"], 2))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(summary, handle, indent=1)


if __name__ == "__main__":
    main()
