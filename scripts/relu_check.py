"""relu with a bias (issue 15, item 4): the stationary DMFT against simulated networks.

At a static and a chaotic point of relu with J_mean = −1, θm = 1 (the chaotic window opens at
g = √2) it simulates ``--seeds`` networks of ``--N`` neurons, measures per network the
connected variance Δ0 of h over neurons and time and the mean rate ⟨g relu(h)⟩, and prints the
z-score of the mean over seeds against the theory (standard error over seeds). The per-seed
values, the theory and the settings are stored as a Dataset (zarr) at ``--out``.

    PYTHONPATH=src python scripts/relu_check.py --N 2000 --seeds 6 --out runs/relu_check.zarr
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import xarray as xr

import neurodyn as nd

BIAS = {"J_mean": -1.0, "theta_mean": 1.0}
GAINS = (1.0, 1.7)
WINDOW = {"t1": 200.0, "dt_save": 0.5, "transient": 100.0}


def theory_rate(M: float, d0: float, g: float) -> float:
    """⟨g relu(h)⟩ for h ~ N(M, Δ0), in closed form."""
    mu, s = g * M, g * math.sqrt(d0)
    a = mu / s
    return mu * 0.5 * math.erfc(-a / math.sqrt(2)) + s * math.exp(-a * a / 2) / math.sqrt(
        2 * math.pi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--out", default="runs/relu_check.zarr")
    parser.add_argument("--json", default="benchmarks/relu_check.json",
                        help="the z-scores and per-seed values, kept in git")
    args = parser.parse_args()
    rows, summary = [], []
    for g in GAINS:
        theory = nd.dmft.stationary(g=g, phi="relu", **BIAS, critical_gain=False)
        M, d0 = float(theory["mean"]), float(theory.delta0)
        rate = theory_rate(M, d0, g)
        delta0s, rates = [], []
        for seed in range(args.seeds):
            started = time.perf_counter()
            net = nd.Network.random(N=args.N, g=g, phi="relu", **BIAS, seed=seed)
            h = nd.simulate(net, **WINDOW, seed=seed).h.values[0]
            delta0s.append(float(np.mean((h - h.mean()) ** 2)))
            rates.append(float(np.mean(g * np.maximum(h, 0.0))))
            print(f"g={g} seed={seed}: Delta0={delta0s[-1]:.4g} rate={rates[-1]:.4g} "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
        zs = {}
        for name, values, target in (("delta0", delta0s, d0), ("rate", rates, rate)):
            error = np.std(values, ddof=1) / math.sqrt(len(values))
            z = (np.mean(values) - target) / error
            zs[name] = float(z)
            print(f"g={g} ({theory.attrs['phase']}): {name} simulated {np.mean(values):.4g} "
                  f"+- {error:.2g}, theory {target:.4g}, z = {z:+.2f}")
        rows.append((g, theory.attrs["phase"], d0, rate, delta0s, rates))
        summary.append({"g": g, "phase": theory.attrs["phase"], "N": args.N,
                        "seeds": args.seeds, **BIAS, **WINDOW,
                        "theory_delta0": d0, "theory_rate": rate,
                        "delta0_per_seed": delta0s, "rate_per_seed": rates, "z": zs})
    ds = xr.Dataset(
        {"delta0": (("g", "seed"), np.array([r[4] for r in rows])),
         "rate": (("g", "seed"), np.array([r[5] for r in rows])),
         "theory_delta0": ("g", np.array([r[2] for r in rows])),
         "theory_rate": ("g", np.array([r[3] for r in rows]))},
        coords={"g": list(GAINS), "seed": np.arange(args.seeds)},
        attrs={"N": args.N, "phi": "relu", **BIAS, **WINDOW,
               "phase": [r[1] for r in rows]})
    ds.to_zarr(args.out, mode="w")
    with open(args.json, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"stored {args.out} and {args.json}")


if __name__ == "__main__":
    main()
