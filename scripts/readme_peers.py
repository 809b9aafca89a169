"""The README's table of the optional peers (torch, torchdiffeq, BrainPy, Brian2) from the
stored bench_peers run.

    python scripts/readme_peers.py [runs/bench_peers.zarr]

Reads the run ``benchmarks/bench_peers.py`` stores (seconds per trajectory and unit time per
tool and case), the script's total time from its RESULTS.md section and, if present,
``benchmarks/make_bench.json`` (the wall time of the last ``make bench``, written by the
Makefile). Rewrites the README block between ``<!-- peers:begin -->`` and ``<!-- peers:end -->``:
per case and dtype, the fastest optional peer's time over neurodyn's fastest configuration.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("torch", "brainpy", "brian2")


def table(ds) -> list[str]:
    tools = [str(t) for t in ds.tool.values]
    seconds = np.asarray(ds.seconds_per_trajectory_tau.values, float)
    N, trials = np.asarray(ds.N.values), np.asarray(ds.trials.values)
    lines = ["| case | float64 | float32 |", "|---|---|---|"]
    for n, k in sorted({(int(a), int(b)) for a, b in zip(N, trials, strict=True)}):
        cells = []
        for dtype in ("float64", "float32"):
            rows = [i for i in range(len(tools)) if N[i] == n and trials[i] == k
                    and tools[i].endswith(dtype)]
            mine = [i for i in rows if tools[i].startswith("neurodyn")]
            peers = [i for i in rows if tools[i].startswith(OPTIONAL)]
            if not mine or not peers:
                cells.append("—")
                continue
            best = min(mine, key=lambda i: seconds[i])
            peer = min(peers, key=lambda i: seconds[i])
            name = tools[peer].rsplit(" ", 1)[0]
            cells.append(f"{seconds[peer] / seconds[best]:.1f}× slower ({name})")
        lines.append(f"| N = {n}, {k} trial{'s' if k > 1 else ''} | {cells[0]} | {cells[1]} |")
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    import neurodyn as nd

    store = Path(argv[0]) if argv else ROOT / "runs" / "bench_peers.zarr"
    ds = nd.open_run(store)
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text()
    section = results[results.index("## Peers, roofline and scaling (bench_peers.py)"):]
    minutes = re.search(r"Total script time ([0-9.]+) min", section).group(1)
    machine = re.search(r"- date: (.*)", section).group(1)
    load = re.search(r"- load average \(1, 5, 15 min\) at the end: (.*)", section).group(1)
    lines = [f"From the bench_peers run of {machine} (load average at its end {load}; "
             f"written by scripts/readme_peers.py): peer time / neurodyn time at equal accuracy, "
             "per trajectory and unit time, the fastest optional peer of the same dtype against "
             "neurodyn's fastest configuration:", "", *table(ds), "",
             f"`bench_peers.py` took {minutes} min."]
    timing = ROOT / "benchmarks" / "make_bench.json"
    if timing.exists():
        record = json.loads(timing.read_text())
        lines[-1] += (f" The whole `make bench` took {record['minutes']:.1f} min "
                      f"({record['date']}).")
    readme = ROOT / "README.md"
    text = readme.read_text()
    new, count = re.subn(r"(<!-- peers:begin -->\n).*?(<!-- peers:end -->)",
                         lambda m: m.group(1) + "\n".join(lines) + "\n" + m.group(2), text,
                         flags=re.S)
    if count != 1:
        raise SystemExit("README.md has no <!-- peers:begin --> … <!-- peers:end --> block")
    readme.write_text(new)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
