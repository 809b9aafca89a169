"""Where a chaos job's time goes: per point (simulation, Lyapunov) and per g (DMFT), each
timed cold (first call in this process: tracing + XLA compilation + run) and warm (the same
shapes again: run only), with the load average. Prints one line per piece and the estimate
for a whole job of G gains x S seeds on W workers.

    python scripts/chaos_time_breakdown.py --N 2000 --t1 300 --transient 100 --lyapunov-t1 300 \
        --gains 7 --seeds 2 --workers 2

The compilation cache is off here (NEURODYN_CACHE_DIR is not read: plain API calls), so the
cold numbers include compiling.
"""

from __future__ import annotations

import argparse
import os
import time


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--N", type=int, default=500)
    parser.add_argument("--t1", type=float, default=200.0)
    parser.add_argument("--transient", type=float, default=50.0)
    parser.add_argument("--lyapunov-t1", type=float, default=None)
    parser.add_argument("--g", type=float, default=2.0)
    parser.add_argument("--gains", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    lyapunov_t1 = args.lyapunov_t1 or args.t1
    print(f"load average at start {os.getloadavg()}")
    import_s, nd = timed(__import__, "neurodyn")
    from neurodyn.dmft.stationary import stationary
    from neurodyn.mean_field import MeanFieldModel

    rows = {}
    for label, seed in (("cold", 0), ("warm", 1)):
        net = nd.Network.random(N=args.N, g=args.g, seed=seed)
        rows[f"simulate {label}"], run = timed(nd.simulate, net, t1=args.t1, dt_save=0.1,
                                               transient=args.transient, seed=seed)
        rows[f"autocorrelation {label}"], _ = timed(nd.autocorrelation, run, max_lag=15.0)
        rows[f"lyapunov {label}"], _ = timed(nd.lyapunov, net, t1=lyapunov_t1, seed=seed,
                                             transient=args.transient)
    for label, gain in (("cold", args.g), ("warm", args.g + 0.5)):
        rows[f"dmft {label}"], _ = timed(stationary, model=MeanFieldModel(g=gain), tau_max=40.0,
                                         dtau=0.02, critical_gain=False)
    print(f"import neurodyn {import_s:.1f} s")
    for name, seconds in rows.items():
        print(f"{name:>22}: {seconds:7.2f} s")
    point = rows["simulate warm"] + rows["autocorrelation warm"] + rows["lyapunov warm"]
    compile_point = (rows["simulate cold"] + rows["lyapunov cold"]
                     - rows["simulate warm"] - rows["lyapunov warm"])
    points = args.gains * args.seeds
    estimate = (points * point / args.workers + compile_point
                + rows["dmft cold"] + (args.gains - 1) * rows["dmft warm"])
    print(f"warm point {point:.1f} s (simulate {rows['simulate warm']:.1f}, lyapunov "
          f"{rows['lyapunov warm']:.1f}); compile per worker {compile_point:.1f} s; DMFT "
          f"{rows['dmft cold']:.1f} s cold, {rows['dmft warm']:.1f} s warm per g")
    print(f"estimate for {args.gains} g x {args.seeds} seeds on {args.workers} workers: "
          f"{estimate / 60:.1f} min (points at g={args.g:g}; quiescent g are cheaper)")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
