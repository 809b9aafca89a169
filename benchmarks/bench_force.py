"""Cost per integration step of the online rules (FORCE, its internal variant, full-FORCE) vs N.

Each step is rk4 on the n × n network (4 products J φ; full-FORCE integrates two networks
while learning) and, every ``update_every`` = 2 steps, one RLS update (P r and the rank-one
update of P: 2 n² multiply-adds, plus n² each for the error and the correction of J where J is
learned). Everything is O(n²) per step, so the fitted exponent of time per step vs n should
approach 2 once the O(n²) work dominates the per-step overhead of the scan (small n pull it
below 2; matrices that no longer fit in the cache push it above: on the 2-core VM a bare
J @ h took 18× longer at n = 1600 than at 800).

Task: a g = 1.5 network and a sum of three sines of period 20 τ, samples every 0.5 τ, learning
for 36 of the 40 τ (the steps of the test phase are cheaper, so nearly all are learning steps).
Timing: :func:`neurodyn.learning.force.measure`, the measurement learn-bench makes of a gradient
(the compiled run alone; median of warm calls; XLA's temp + output bytes).

    python benchmarks/bench_force.py [--quick] [--repeats 3] [--write]

Prints a table and the fitted exponents; ``--write`` writes the section "bench_force" of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from _common import loglog_slope, publish, table

import neurodyn.learning as L
from neurodyn.learning.force import measure

PERIOD, DT_SAMPLE, DURATION, LEARN = 20.0, 0.5, 40.0, 36.0
RULES = {"force": L.Force(), "force internal": L.Force(internal=True),
         "full_force": L.FullForce()}


def problem(n: int, seed: int = 0):
    times = np.arange(0.0, DURATION + DT_SAMPLE / 2, DT_SAMPLE)
    omega = 2 * np.pi / PERIOD
    target = (0.8 * np.sin(omega * times) + 0.4 * np.sin(2 * omega * times + 1.0)
              + 0.2 * np.sin(3 * omega * times + 2.0))
    params = L.Params.random(n, g=1.5, seed=seed)
    h0 = 0.5 * np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (n,), jnp.float64))
    return params, L.TrajectoryTask.create(times, np.zeros_like(times), target, h0=h0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N ∈ {100, 200, 400}")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs (median reported)")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    args = parser.parse_args()
    sizes = (100, 200, 400) if args.quick else (200, 400, 800, 1600)
    rows, exponents = [], {}
    for name, rule in RULES.items():
        per_step = []
        for n in sizes:
            params, task = problem(n)
            cost = measure(rule, params, task, jax.random.PRNGKey(0), LEARN, args.repeats)
            per_step.append(cost["time_per_step_s"])
            rows.append([name, n, cost["steps"], cost["updates"], cost["time_s"],
                         cost["time_per_step_s"] * 1e6, cost["peak_bytes"] / 2**20])
            print(f"{name:>15} n={n:5d}: {cost['time_per_step_s'] * 1e6:9.1f} us/step, "
                  f"{cost['peak_bytes'] / 2**20:8.1f} MiB", flush=True)
        exponents[name] = loglog_slope(sizes, per_step)
    text = table(["rule", "n", "steps", "RLS updates", "time (s)", "time/step (us)",
                  "peak (MiB)"], rows)
    text += "\n\nFitted exponent of time per step vs n (theory 2):\n\n" + table(
        ["rule", "exponent"], [[name, slope] for name, slope in exponents.items()])
    publish("bench_force", "## Online rules: cost per step vs n (bench_force.py)\n\n" + text,
            args.write)


if __name__ == "__main__":
    main()
