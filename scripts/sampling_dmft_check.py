"""Measure the sampling DMFT (neurodyn.dmft.sampling) against the stationary solver.

For tanh, η = 0, at g ∈ {1.5, 2, 3}: the default settings' Δ0, its reported standard error
(relative to Δ0), the wall time, and the difference from nd.dmft.stationary in standard errors;
with --dt-bias also the discretisation bias at dt = 0.2 and 0.1 with many paths. Prints one
line per solve (and the load average), so numbers quoted elsewhere come from here.

    PYTHONPATH=src python scripts/sampling_dmft_check.py [--dt-bias] [--paths N]
"""

import argparse
import os
import time

import neurodyn as nd


def one(g, **kwargs):
    start = time.perf_counter()
    ds = nd.dmft.sampling(g=g, **kwargs)
    seconds = time.perf_counter() - start
    theory = nd.dmft.stationary(g=g, tau_max=10.0, dtau=kwargs.get("dt", 0.1))
    d0, sem, want = float(ds.delta0), float(ds.delta0_sem), float(theory.delta0)
    lags = []
    for lag in (1.0, 3.0):
        got = float(ds.delta.sel(tau=lag, method="nearest"))
        ref = float(theory.delta.sel(tau=lag, method="nearest"))
        lags.append(f"D({lag:g}) {got:.5f} vs {ref:.5f} ({(got - ref) / want:+.4f} of D0, "
                    f"z {(got - ref) / float(ds.delta_sem.sel(tau=lag, method='nearest')):+.2f})")
    print(f"g={g} {kwargs}: D0 {d0:.5f} +- {sem:.5f} ({sem / d0:.4%}), stationary {want:.5f}, "
          f"rel diff {(d0 - want) / want:+.4f}, z {(d0 - want) / sem:+.2f}; "
          f"{'; '.join(lags)}; iterations {int(ds.iterations)}, residual "
          f"{float(ds.residual):.3g}, noise {float(ds.noise):.3g}; {seconds:.1f} s "
          f"(load {os.getloadavg()[0]:.2f})", flush=True)
    return ds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dt-bias", action="store_true")
    parser.add_argument("--paths", type=int, default=None)
    parser.add_argument("--g", type=float, nargs="*", default=[1.5, 2.0, 3.0])
    args = parser.parse_args()
    for g in args.g:
        extra = {} if args.paths is None else {"paths": args.paths}
        if args.dt_bias:
            for dt in (0.2, 0.1):
                one(g, t1=40.0, dt=dt, paths=args.paths or 16384, batches=16)
        else:
            one(g, **extra)


if __name__ == "__main__":
    main()
