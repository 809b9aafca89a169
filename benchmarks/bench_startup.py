"""Start-up of the command line: a first and a repeated call of each command, each in a new
process, with a fresh persistent compilation cache (issue 13 item 5).

Every call is a new ``python -m neurodyn.cli``-equivalent process (the installed ``neurodyn``
script), so what is measured is what a user pays: interpreter start, imports, tracing, compiling
(or loading from the cache) and the work itself. The first call fills the cache in a temporary
directory (``NEURODYN_CACHE_DIR``); the repeats find it there. Wall and CPU seconds (user + sys of
the child) are printed; the machine's load average is printed too, since wall time on a shared
machine is not CPU time.

    python benchmarks/bench_startup.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = {
    "dmft --g 2": ["dmft", "--g", "2"],
    "simulate --N 200 --t1 20": ["simulate", "--N", "200", "--t1", "20", "--out", "{tmp}/sim.zarr",
                                 "--overwrite"],
}


def _neurodyn() -> str:
    script = Path(sys.executable).with_name("neurodyn")
    return str(script) if script.exists() else shutil.which("neurodyn") or "neurodyn"


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([_neurodyn(), *argv], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeated calls (default 3)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':28s} {'call':>6s} {'wall s':>8s} {'cpu s':>8s}")
    for label, argv in COMMANDS.items():
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "NEURODYN_CACHE_DIR": str(Path(tmp) / "cache")}
            argv = [a.format(tmp=tmp) for a in argv]
            for call in range(1 + args.repeats):
                wall, cpu = _run(argv, env)
                name = "first" if call == 0 else f"#{call + 1}"
                print(f"{label:28s} {name:>6s} {wall:8.2f} {cpu:8.2f}", flush=True)
            env_off = {**os.environ, "NEURODYN_CACHE_DIR": "off"}
            wall, cpu = _run(argv, env_off)
            print(f"{label:28s} {'no cache':>6s} {wall:8.2f} {cpu:8.2f}", flush=True)


if __name__ == "__main__":
    main()
