"""Timing of the DMFT solvers vs grid size (issue 3). Prints tables; asserts nothing.

- ``neurodyn.dmft.stationary`` (tanh, g = 2): lag grids dtau ∈ {0.05, 0.02, 0.01} on [0, 40]
  and pair quadrature orders; first call (includes jit compilation) and warm median.
- ``neurodyn.dmft.two_time`` (g = 2, q0 = 1): steps n = t1/dt, full square vs a band of lags,
  tanh (quadrature, order 16) and erf (closed form). The cost is O(n · width) pair averages.
- ``neurodyn.dmft.stationary`` for relu with a bias (J_mean = −1, θ_mean = 1, g = 1.7) on the
  same lag grids.
- ``neurodyn.dmft.sampling`` (tanh, g = 2): seconds per iteration vs grid points n = t1/dt + 1
  and vs paths, without the memory term (η = 0: one Toeplitz product per replica) and with it
  (η = 0.5: a scan per path plus the response tangents, S = probe_span/dt probes on
  response_paths paths). A fixed number of iterations is timed (tol = 1, so no convergence test
  stops it early): a first call (compiling) and a second, warm one.

    python benchmarks/bench_dmft.py [--quick] [--repeats 3] [--write]

``--write`` replaces the section "bench_dmft" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse

from _common import loglog_slope, publish, table, warm_median

import neurodyn as nd


def bench_stationary(dtaus, orders, repeats):
    rows = []
    for order in orders:
        for dtau in dtaus:
            def call(dtau=dtau, order=order):
                return nd.dmft.stationary(g=2.0, dtau=dtau, tau_max=40.0, pair_order=order,
                                          critical_gain=False).delta.values
            first, median, _ = warm_median(call, repeats)
            rows.append([order, dtau, int(round(40.0 / dtau)) + 1, first, median])
    slopes = ", ".join(f"pair order {order}: {_slope(rows, 0, order, 2, 4):.2f}" for order in orders)
    return (table(["pair order", "dtau", "lags", "first call s", "warm median s"], rows)
            + f"\n\nlog–log slope of warm time vs lags: {slopes}.")


def bench_relu(dtaus, repeats):
    rows = []
    for dtau in dtaus:
        def call(dtau=dtau):
            return nd.dmft.stationary(g=1.7, phi="relu", J_mean=-1.0, theta_mean=1.0, dtau=dtau,
                                      tau_max=40.0, critical_gain=False).delta.values
        first, median, _ = warm_median(call, repeats)
        rows.append([dtau, int(round(40.0 / dtau)) + 1, first, median])
    return table(["dtau", "lags", "first call s", "warm median s"], rows)


SAMPLING_ITERATIONS = 6  # timed iterations (+ 2 averaged ones): enough for a per-iteration cost


def bench_sampling(cases):
    import time

    rows = []
    for eta, t1, paths, response_paths in cases:
        kwargs = dict(g=2.0, symmetry=eta, t1=t1, dt=0.1, paths=paths, batches=8, tol=1.0,
                      iterations=SAMPLING_ITERATIONS, min_iterations=SAMPLING_ITERATIONS,
                      average=2, seed=1)
        if eta:
            kwargs.update(response_paths=response_paths, probe_span=6.0)
        times = []
        for _ in range(2):
            start = time.perf_counter()
            nd.dmft.sampling(**kwargs)
            times.append(time.perf_counter() - start)
        per_iteration = times[1] / (SAMPLING_ITERATIONS + 2)
        rows.append([eta, t1, int(round(t1 / 0.1)) + 1, paths, response_paths if eta else "—",
                     times[0], times[1], per_iteration])
    return table(["eta", "t1", "grid points n", "paths", "response paths", "first call s",
                  "warm call s", "s per iteration (warm)"], rows)


def _slope(rows, key_column, key, x_column, y_column) -> float:
    """Log–log slope of row[y] vs row[x] over the rows with row[key_column] == key."""
    chosen = [r for r in rows if r[key_column] == key]
    return loglog_slope([r[x_column] for r in chosen], [r[y_column] for r in chosen])


def bench_two_time(cases, repeats):
    rows = []
    for phi, t1, dt, window in cases:
        def call(phi=phi, t1=t1, dt=dt, window=window):
            return nd.dmft.two_time(g=2.0, t1=t1, dt=dt, q0=1.0, phi=phi,
                                    window=window).C_band.values
        first, median, _ = warm_median(call, repeats)
        steps = int(round(t1 / dt))
        width = steps if window is None else int(round(window / dt))
        entries = steps * (width + 1)
        rows.append([phi, t1, dt, "full" if window is None else window, steps, width, entries,
                     first, median, median / entries * 1e6])
    phis = sorted({r[0] for r in rows})
    slopes = ", ".join(f"{phi}: {_slope(rows, 0, phi, 6, 8):.2f}" for phi in phis)
    return (table(["phi", "t1", "dt", "window", "steps", "band width", "C entries",
                   "first call s", "warm median s", "us per C entry"], rows)
            + f"\n\nlog–log slope of warm time vs C entries (1 = linear in the grid): {slopes}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grids")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()
    if args.quick:
        dtaus, orders = (0.05, 0.02), (48,)
        cases = [("erf", 20.0, 0.1, None), ("tanh", 20.0, 0.1, 10.0)]
    else:
        dtaus, orders = (0.05, 0.02, 0.01), (32, 48)
        cases = [("erf", 20.0, 0.1, None), ("erf", 40.0, 0.05, None), ("erf", 80.0, 0.05, 20.0),
                 ("tanh", 20.0, 0.1, None), ("tanh", 40.0, 0.05, 20.0)]
    if args.quick:
        sampling_cases = [(0.0, 20.0, 1024, 0), (0.5, 20.0, 1024, 64)]
    else:
        sampling_cases = [(0.0, 20.0, 4096, 0), (0.0, 40.0, 4096, 0), (0.0, 80.0, 4096, 0),
                          (0.0, 40.0, 1024, 0), (0.0, 40.0, 16384, 0),
                          (0.5, 20.0, 1024, 256), (0.5, 40.0, 1024, 256),
                          (0.5, 20.0, 4096, 256), (0.5, 20.0, 4096, 64)]
    stationary = bench_stationary(dtaus, orders, args.repeats)
    relu = bench_relu(dtaus, args.repeats)
    two_time = bench_two_time(cases, args.repeats)
    sampling = bench_sampling(sampling_cases)
    publish("bench_dmft", "## bench_dmft\n\n### stationary DMFT (tanh, g = 2, tau_max = 40)\n\n"
            + stationary
            + "\n\n### stationary DMFT, relu with a bias (J_mean = −1, θ_mean = 1, g = 1.7)\n\n"
            + relu + "\n\n### two-time DMFT (g = 2, q0 = 1)\n\n" + two_time
            + "\n\n### sampling DMFT (tanh, g = 2, dt = 0.1, 8 replicas, probe_span 6 for "
            "η = 0.5)\n\n" + sampling, args.write)


if __name__ == "__main__":
    main()
