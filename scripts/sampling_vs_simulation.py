"""Partially symmetric networks (η = corr(J_ij, J_ji) ≠ 0): the sampling DMFT against simulation.

For each (η, g): ``seeds`` networks nd.Network.random(N, g, symmetry=η, seed=s) simulated with
nd.simulate (transient discarded), Δ(τ) by nd.autocorrelation (raw second moment: tanh is odd
and there are no biases, so the mean is 0), one curve per seed; the seeds give a mean and a
standard error. The theory is nd.dmft.sampling (Δ(τ) with its standard error over replicas);
z = (simulation − theory)/√(se_sim² + se_theory²) at a few lags.

Correlation time, the same definition on both sides (that of nd.dmft.sampling):
τ_corr = ∫₀^{τ_max} (Δ(τ) − Δ∞) dτ / (Δ0 − Δ∞), Δ∞ the mean of Δ over the last quarter of the
lags ≤ τ_max, with the theory's τ_max (the simulation's curve is cut there); per seed, then
mean ± standard error. Also the half-decay lag τ_½ (first lag where Δ − Δ∞ ≤ (Δ0 − Δ∞)/2,
linearly interpolated) of the seed-mean curve and of the theory.

The simulations are cached in ``--cache`` (keyed by η, g, N, seeds, t1, transient), so the
theory can be re-run without re-simulating. Writes every number to the 'points' of the JSON
file ``--out`` (the stored run; its other keys and points not recomputed are kept) and prints
one line per point.

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
MAX_LAG = 30.0  # the simulated curve is kept to here; the theory's tau_max cuts it


def tau_integral(curve, dt, n_lags):
    """τ_corr of one Δ curve on lags 0 … n_lags−1 (spacing dt), the definition of the module."""
    d = np.asarray(curve[:n_lags])
    tail = max(1, n_lags // 4)
    floor = d[-tail:].mean()
    return float(np.trapezoid(d - floor, dx=dt) / (d[0] - floor))


def tau_half(curve, dt, n_lags):
    d = np.asarray(curve[:n_lags])
    tail = max(1, n_lags // 4)
    floor = d[-tail:].mean()
    x = (d - floor) / (d[0] - floor)
    k = int(np.argmax(x <= 0.5))
    return float(dt * (k - 1 + (x[k - 1] - 0.5) / (x[k - 1] - x[k])))


def simulate_point(eta, g, args):
    curves = []
    start = time.perf_counter()
    for seed in range(args.seeds):
        net = nd.Network.random(N=args.N, g=g, symmetry=eta, seed=seed)
        run = nd.simulate(net, t1=args.t1, dt_save=0.1, transient=args.transient, seed=seed)
        curves.append(np.asarray(nd.autocorrelation(run, max_lag=MAX_LAG)).tolist())
    return {"curves": curves, "seconds": time.perf_counter() - start,
            "load": os.getloadavg()[0]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--N", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--t1", type=float, default=200.0)
    parser.add_argument("--transient", type=float, default=100.0)
    parser.add_argument("--points", type=str, default="-0.5:3.0,-0.5:4.0,0.5:1.0,0.5:1.5")
    parser.add_argument("--theory", type=str, default="{}",
                        help="JSON of extra keywords of nd.dmft.sampling")
    parser.add_argument("--cache", type=str, default="runs/sampling_vs_simulation_cache.json")
    parser.add_argument("--simulate-only", action="store_true")
    parser.add_argument("--out", type=str, default=None)
    args = parser.parse_args()
    theory_kwargs = json.loads(args.theory)
    cache = {}
    if os.path.exists(args.cache):
        with open(args.cache) as handle:
            cache = json.load(handle)
    records = []
    for point in args.points.split(","):
        eta, g = map(float, point.split(":"))
        name = f"eta={eta},g={g},N={args.N},seeds={args.seeds},t1={args.t1},tr={args.transient}"
        if name not in cache:
            cache[name] = simulate_point(eta, g, args)
            os.makedirs(os.path.dirname(args.cache) or ".", exist_ok=True)
            with open(args.cache, "w") as handle:
                json.dump(cache, handle)
        simulated = cache[name]
        curves = np.asarray(simulated["curves"])
        if args.simulate_only:
            print(f"{name}: simulated in {simulated['seconds']:.0f} s, D0 "
                  f"{curves[:, 0].mean():.4f}", flush=True)
            continue
        start = time.perf_counter()
        theory = nd.dmft.sampling(g=g, symmetry=eta, **theory_kwargs)
        theory_seconds = time.perf_counter() - start
        dt = 0.1
        n_lags = min(theory.sizes["tau"], curves.shape[1])
        index = [int(round(lag / dt)) for lag in LAGS]
        sim = curves[:, index].mean(0)
        sim_se = curves[:, index].std(0, ddof=1) / math.sqrt(len(curves))
        th = np.asarray(theory.delta)[index]
        th_se = np.asarray(theory.delta_sem)[index]
        z = (sim - th) / np.sqrt(sim_se**2 + th_se**2)
        taus = np.array([tau_integral(c, dt, n_lags) for c in curves])
        mean_curve = curves.mean(0)
        record = {
            "eta": eta, "g": g, "g_times_1_plus_eta": g * (1 + eta), "N": args.N,
            "seeds": args.seeds, "t1": args.t1, "transient": args.transient,
            "lags": list(LAGS), "simulation": sim.tolist(), "simulation_se": sim_se.tolist(),
            "theory": th.tolist(), "theory_se": th_se.tolist(), "z": z.tolist(),
            "theory_phase": theory.attrs["phase"], "theory_kwargs": theory_kwargs,
            "theory_t1": theory.attrs["t1"], "theory_transient": theory.attrs["transient"],
            "tau_max": float(theory.tau[n_lags - 1]),
            "tau_corr_theory": float(theory.tau_corr),
            "tau_corr_theory_se": float(theory.tau_corr_sem),
            "tau_corr_simulation": float(taus.mean()),
            "tau_corr_simulation_se": float(taus.std(ddof=1) / math.sqrt(len(taus))),
            "tau_half_theory": tau_half(np.asarray(theory.delta), dt, n_lags),
            "tau_half_simulation": tau_half(mean_curve, dt, n_lags),
            "delta_inf_theory": float(theory.delta_inf),
            # the curves every 0.5 τ up to tau_max, for the README's figure (scripts/eta_figure.py)
            "curve_lags": (np.arange(0, n_lags, 5) * dt).tolist(),
            "simulation_curve": curves[:, :n_lags:5].mean(0).tolist(),
            "simulation_curve_se": (curves[:, :n_lags:5].std(0, ddof=1)
                                    / math.sqrt(len(curves))).tolist(),
            "theory_curve": np.asarray(theory.delta)[:n_lags:5].tolist(),
            "theory_curve_se": np.asarray(theory.delta_sem)[:n_lags:5].tolist(),
            "response_tail": theory.attrs["response_tail"],
            "response_tail_share": theory.attrs["response_tail_share"],
            "response_decay_time": theory.attrs["response_decay_time"],
            "theory_iterations": int(theory.iterations),
            # the bracket: each half's reading at the lags, and the gap net of noise
            "theory_gap": float(theory.gap),
            "theory_by_guess": {f"{tau:g}": np.asarray(row)[index].tolist()
                                for tau, row in zip(theory.guess.values,
                                                    theory.delta_guess.values, strict=True)},
            "theory_seconds": theory_seconds, "simulation_seconds": simulated["seconds"],
            "load": os.getloadavg()[0]}
        records.append(record)
        print(json.dumps(record), flush=True)
    if args.out and records:
        # the stored run is a dict whose 'points' this script owns; its other keys (notes and
        # side measurements) are kept. A point of an earlier run not recomputed here is kept.
        stored = {}
        if os.path.exists(args.out):
            with open(args.out) as handle:
                stored = json.load(handle)
            if isinstance(stored, list):
                stored = {"points": stored}
        fresh = {(r["eta"], r["g"]) for r in records}
        kept = [p for p in stored.get("points", []) if (p["eta"], p["g"]) not in fresh]
        stored["points"] = sorted(kept + records, key=lambda p: (p["eta"], p["g"]))
        with open(args.out, "w") as handle:
            json.dump(stored, handle, indent=1)


if __name__ == "__main__":
    main()
