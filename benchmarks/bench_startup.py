"""Start-up of the command line: a first and a repeated call of each command, each in a new
process, with a fresh persistent compilation cache (issue 13 item 5).

Every call is a new ``python -m neurodyn.cli``-equivalent process (the installed ``neurodyn``
script), so what is measured is what a user pays: interpreter start, imports, tracing, compiling
(or loading from the cache) and the work itself. The first call fills the cache in a temporary
directory (``NEURODYN_CACHE_DIR``); the repeats find it there. Wall and CPU seconds (user + sys of
the child) are printed; the machine's load average is printed too, since wall time on a shared
machine is not CPU time. A last process, with the filled cache, splits a repeated
``dmft --g 2`` into what bounds it: interpreter start, imports, loading the DMFT's compiled
executables from the cache, and the solve itself.

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


# A repeated `neurodyn dmft --g 2` in phases, timed inside the child (the CLI's own steps: enable
# the cache, import, solve); the executables' loading is timed by wrapping the cache's loader.
_PHASES = r"""
import json, time
wall, cpu = time.perf_counter(), time.process_time()
from neurodyn import cli
cli.enable_compilation_cache()
from neurodyn import dmft
from neurodyn.dmft import _executables
from neurodyn.mean_field import MeanFieldModel
imports = (time.perf_counter() - wall, time.process_time() - cpu)
loading = [0.0, 0.0]
load = _executables._load
def timed(path):
    w, c = time.perf_counter(), time.process_time()
    try:
        return load(path)
    finally:
        loading[0] += time.perf_counter() - w
        loading[1] += time.process_time() - c
_executables._load = timed
w, c = time.perf_counter(), time.process_time()
dmft.stationary_arrays(model=MeanFieldModel(g=2.0))
solve = (time.perf_counter() - w - loading[0], time.process_time() - c - loading[1])
print(json.dumps({"imports": imports, "executable load": loading, "solve": solve}), flush=True)
import os
os._exit(0)  # as the neurodyn script leaves (neurodyn.cli.run): no interpreter teardown
"""


def _phases(env: dict[str, str]) -> None:
    import json

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PHASES], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    phases = json.loads(out.splitlines()[-1])
    inside = [sum(value[k] for value in phases.values()) for k in (0, 1)]
    phases = {"interpreter": (wall - inside[0], cpu - inside[1]), **phases}
    print(f"dmft --g 2 again, by phase (wall s / cpu s; total {wall:.2f} / {cpu:.2f}):")
    for name, (w, c) in phases.items():
        print(f"  {name:26s} {w:8.2f} {c:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeated calls (default 3)")
    parser.add_argument("--only", choices=sorted(COMMANDS), help="one command only")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':28s} {'call':>6s} {'wall s':>8s} {'cpu s':>8s}")
    for label, argv in COMMANDS.items():
        if args.only and label != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "NEURODYN_CACHE_DIR": str(Path(tmp) / "cache")}
            argv = [a.format(tmp=tmp) for a in argv]
            for call in range(1 + args.repeats):
                wall, cpu = _run(argv, env)
                name = "first" if call == 0 else f"#{call + 1}"
                print(f"{label:28s} {name:>6s} {wall:8.2f} {cpu:8.2f}", flush=True)
            if label.startswith("dmft"):
                _phases(env)
            env_off = {**os.environ, "NEURODYN_CACHE_DIR": "off"}
            wall, cpu = _run(argv, env_off)
            print(f"{label:28s} {'no cache':>6s} {wall:8.2f} {cpu:8.2f}", flush=True)


if __name__ == "__main__":
    main()
