"""End to end: the chaos-transition data (Δ0 and λ_max at 6 gains × 4 seeds, N = 1000) by
neurodyn's chaos job and by a PyTorch script of the same purpose (benchmarks/chaos_torch.py),
in one process (issue 17 item 3).

neurodyn: ``nd.chaos(...)`` in-process (no store), which also solves the DMFT per gain and
measures Δ(τ) and τ_corr: more work than the peer does. Its first call includes tracing and
compiling; a second call in the same process is what a user pays on a tenth run of a session.
The peer runs the same gains, network size and windows with its own networks (torch's RNG),
so the two agree only statistically: per gain, the seed means are compared by z = difference
/ √(sem² + sem²). BrainPy and Brian2 have no Lyapunov machinery of their own (a tangent
integration would be our code, not theirs), so they have no end-to-end row.

    python benchmarks/bench_chaos_peers.py [--seeds 4] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _common import publish, table

import neurodyn as nd

GAINS = tuple(float(g) for g in np.linspace(0.5, 3.0, 6))
WINDOWS = dict(N=1000, t1=100.0, transient=20.0, lyapunov_t1=50.0)


def seed_stats(values):
    values = np.asarray(values, float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: N = 200, 2 seeds, short windows (numbers meaningless)")
    args = parser.parse_args(argv)
    seeds = tuple(range(2 if args.quick else args.seeds))
    if args.quick:
        WINDOWS.update(N=200, t1=30.0, transient=5.0, lyapunov_t1=10.0)
    kwargs = dict(g=GAINS, seeds=seeds, workers=1, **WINDOWS)
    start = time.perf_counter()
    ds = nd.chaos(**kwargs)
    first = time.perf_counter() - start
    start = time.perf_counter()
    ds = nd.chaos(**kwargs)
    again = time.perf_counter() - start
    print(f"neurodyn chaos: first {first:.1f} s, again {again:.1f} s", flush=True)

    rows, timing = [], [["neurodyn chaos (tsit5, DMFT included)", first, again]]
    try:
        import torch  # noqa: F401 - only to skip the row when torch is absent
        from chaos_torch import chaos_torch
    except Exception as error:  # noqa: BLE001 - optional peer
        print(f"torch: skipped ({error})")
        chaos_torch = None
    if chaos_torch is not None:
        start = time.perf_counter()
        peer = chaos_torch(GAINS, seeds, **WINDOWS)
        seconds = time.perf_counter() - start
        timing.append(["torch RK4 script (dt = 0.1)", seconds, None])
        print(f"torch script: {seconds:.1f} s", flush=True)
        for g in GAINS:
            mine = ds.sel(g=g)
            row = [g]
            for k, name in enumerate(("delta0", "lambda")):
                m, s = float(mine[f"{name}_mean"]), float(mine[f"{name}_sem"])
                p, ps = seed_stats([peer[(g, seed)][k] for seed in seeds])
                z = (m - p) / math.hypot(s, ps) if math.hypot(s, ps) > 0 else float("nan")
                row += [f"{m:.4f} ± {s:.4f}", f"{p:.4f} ± {ps:.4f}", z]
            rows.append(row)
            print(rows[-1], flush=True)
    text = "\n".join([
        "## End to end: chaos-transition data (bench_chaos_peers.py)",
        "",
        f"Δ0 and λ_max at {len(GAINS)} gains × {len(seeds)} seeds, N = {WINDOWS['N']}, window "
        f"{WINDOWS['t1']:g} τ after a {WINDOWS['transient']:g} τ transient, λ over "
        f"{WINDOWS['lyapunov_t1']:g} τ, tanh, θ = 0. neurodyn: `nd.chaos` in-process, which also "
        "solves the DMFT and measures Δ(τ) and τ_corr. Peer: benchmarks/chaos_torch.py (RK4 at "
        "dt = 0.1, Benettin tangent renormalised every τ), its own networks: the two agree in "
        "seed means (z = difference / combined sem).",
        "",
        table(["tool", "first call s", "second call s (same process)"], timing),
        "",
        table(["g", "Δ0 neurodyn", "Δ0 torch", "z", "λ neurodyn", "λ torch", "z"], rows),
    ])
    publish("bench_chaos_peers", text, not args.no_write)


if __name__ == "__main__":
    main()
