"""Sweep throughput (points per minute) with 1 and 2 dask worker processes, and the parallel
efficiency E = rate(2) / (2 · rate(1)).

Each configuration runs on a fresh LocalCluster whose workers are warmed first (every worker
computes one point, so JIT compilation is not timed), then the whole sweep is timed end to end
through ``run_sweep`` (task submission, computation, region writes, completion markers). The
in-process path (``workers=1``, no dask) is timed too, as the zero-overhead reference.

    .venv/bin/python benchmarks/bench_sweep.py [--N 300] [--points 16] [--t1 100]

Point work is one SCS simulation (tsit5) plus its summary statistics; per-point cost grows with
N² (the J·φ product) times the number of steps.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

CONFIG = """
out = "{out}"
[grid]
seed = {seeds}
[compute]
quantities = ["summary"]
[network]
N = {N}
g = 2.0
[simulate]
t1 = {t1}
dt_save = 0.5
transient = 0.0
"""


def _warm(config) -> float:
    """Compile on this worker: compute one point (not stored)."""
    from neurodyn import sweep

    started = time.perf_counter()
    sweep.compute_point(config, config.point((0,)))
    return time.perf_counter() - started


def measure(workers: int | None, config_text: str, directory: Path, label: str) -> float:
    import tomllib

    from neurodyn import sweep
    from neurodyn.sweep_config import parse_config

    out = directory / f"{label}.zarr"
    config = parse_config(tomllib.loads(config_text.replace("{out}", str(out))))
    if workers is None:  # in-process reference
        _warm(config)
        started = time.perf_counter()
        result = sweep.run_sweep(config, workers=1)
    else:
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=40) as cluster, \
                Client(cluster) as client:
            compile_s = client.run(_warm, config)
            print(f"  {label}: warm-up (compile) per worker: "
                  + ", ".join(f"{value:.1f} s" for value in compile_s.values()))
            started = time.perf_counter()
            result = sweep.run_sweep(config, scheduler=cluster.scheduler_address)
    elapsed = time.perf_counter() - started
    assert result.ok, result
    rate = result.computed / elapsed * 60
    print(f"  {label}: {result.computed} points in {elapsed:.2f} s = {rate:.1f} points/min")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=300)
    parser.add_argument("--points", type=int, default=16)
    parser.add_argument("--t1", type=float, default=100.0)
    args = parser.parse_args()
    text = CONFIG.replace("{seeds}", str(list(range(args.points)))).replace(
        "{N}", str(args.N)).replace("{t1}", str(args.t1))
    load = os.getloadavg()[0]
    print(f"sweep throughput: {args.points} points, N={args.N}, t1={args.t1}, "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at start")
    if load > 0.5 * (os.cpu_count() or 1):
        print("  WARNING: the machine is busy; rates and efficiency are not representative")
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        in_process = measure(None, text, directory, "in-process")
        one = measure(1, text, directory, "1 worker")
        two = measure(2, text, directory, "2 workers")
    print(f"parallel efficiency rate(2)/(2 rate(1)) = {two / (2 * one):.2f}; "
          f"speed-up {two / one:.2f}x; dask overhead at 1 worker "
          f"{(in_process / one - 1) * 100:+.0f}% vs in-process")


if __name__ == "__main__":
    main()
