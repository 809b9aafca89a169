"""What a user pays for a first and for a tenth run, per tool: start-up and compilation apart
from the warm run (issue 17, item 2).

Each tool integrates the same network (N = 1000, g = 2, tanh, 1 trial, float64, 10 τ, at the
equal-accuracy setting bench_peers.py found: neurodyn tsit5 rtol = atol = 1e-4, SciPy DOP853
3e-5, NumPy/torch/BrainPy RK4 dt = 0.1, torchdiffeq dopri5 3e-6; Brian2 at dt = 0.01, first
order and not at equal accuracy: its code generation, not its 10⁴ steps of dt = 0.001, is what
this measures) in a new Python process, ``--processes`` times in a row. Inside
each process three phases are timed: the imports, the first call (tracing and compiling for
JAX-based tools, code generation for Brian2) and a second, warm call of the same run; the
parent times the whole process (interpreter start included).

Caches: neurodyn's persistent compilation cache (``NEURODYN_CACHE_DIR``, what the command line
enables) starts empty in a temporary directory before process 1, so process 1 is a first run
ever and process 10 finds the cache filled, as a user's tenth run does (every process after
the first finds the same cache, so a shorter series, ``--processes 4``, measures the same
"tenth run" with fewer samples). BrainPy, torch and
SciPy keep no compilation cache between processes by default, so their first and tenth runs
differ only by the operating system's file cache. Brian2 runs in its own venv
(benchmarks/setup_peers.py).

    python benchmarks/bench_peer_startup.py [--processes 10] [--no-write]

Writes the section "bench_peer_startup" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import publish, table
from peers import brian2_python, peer_versions

HERE = Path(__file__).resolve().parent
N, G, T1 = 1000, 2.0, 10.0

# One child program per tool. {data} is the npz with J, theta, h0; each prints one JSON line.
_PRELUDE = """
import json, sys, time
start = time.perf_counter()
sys.path.insert(0, {here!r})
"""
_TOOLS = {
    "neurodyn tsit5": """
import numpy as np
import neurodyn as nd
from neurodyn import cli
cli.enable_compilation_cache()
imports = time.perf_counter() - start
d = np.load({data!r})
net = nd.Network.from_arrays(d["J"], d["theta"], g={g}, phi="tanh")
def call():
    ds = nd.simulate(net, t1={t1}, dt_save=1.0, h0=d["h0"][None], rtol=1e-4, atol=1e-4)
    return float(ds.h.values[0, -1, 0])
""",
    "scipy DOP853": """
import numpy as np
import scipy.integrate
from peers import scipy_ivp
imports = time.perf_counter() - start
d = np.load({data!r})
def call():
    out, _ = scipy_ivp(d["J"], d["theta"], {g}, d["h0"][None], {t1}, np.arange(0.0, {t1} + 1e-9),
                       "DOP853", 3e-5, 3e-5)
    return float(out[-1, 0, 0])
""",
    "numpy RK4": """
import numpy as np
from peers import numpy_rk4
imports = time.perf_counter() - start
d = np.load({data!r})
def call():
    out, _ = numpy_rk4(d["J"], d["theta"], {g}, d["h0"][None], {t1}, 10, 0.1)
    return float(out[-1, 0, 0])
""",
    "torch RK4": """
import numpy as np
import torch
from peers import torch_rk4
imports = time.perf_counter() - start
d = np.load({data!r})
def call():
    out, _ = torch_rk4(d["J"], d["theta"], {g}, d["h0"][None], {t1}, 10, 0.1)
    return float(out[-1, 0, 0])
""",
    "torchdiffeq dopri5": """
import numpy as np
import torch, torchdiffeq
from peers import torchdiffeq_ode
imports = time.perf_counter() - start
d = np.load({data!r})
def call():
    out, _ = torchdiffeq_ode(d["J"], d["theta"], {g}, d["h0"][None], np.arange(0.0, {t1} + 1e-9),
                             3e-6, 3e-6)
    return float(out[-1, 0, 0])
""",
    "brainpy rk4": """
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from peers import BrainpyRk4, import_brainpy
import_brainpy()
imports = time.perf_counter() - start
d = np.load({data!r})
def call():
    # a user's script builds its integrator once per run: construction is part of the first call
    out, _ = BrainpyRk4(d["J"], d["theta"], {g}).run(d["h0"][None], {t1}, 10, 0.1)
    return float(out[-1, 0, 0])
""",
    "brian2 numpy": """
import numpy as np
import brian2 as b2
imports = time.perf_counter() - start
d = np.load({data!r})
b2.prefs.codegen.target = "numpy"
def call():
    b2.start_scope()
    b2.defaultclock.dt = 0.01 * b2.ms
    tau = 1 * b2.ms
    group = b2.NeuronGroup(len(d["h0"]), "dh/dt = (-h + I + theta)/tau : 1\\nI : 1\\ntheta : 1",
                           method="rk4")
    group.h = d["h0"]
    group.theta = d["theta"]
    J = d["J"]
    @b2.network_operation(when="start")
    def couple():
        group.I_ = J @ np.tanh({g} * group.h_)
    net = b2.Network(group, couple)
    net.run({t1} * b2.ms)
    return float(group.h_[0])
""",
}
_CALLS = """
w = time.perf_counter(); call(); first = time.perf_counter() - w
w = time.perf_counter(); call(); warm = time.perf_counter() - w
print(json.dumps({{"imports": imports, "first": first, "warm": warm}}), flush=True)
"""


def _child(tool: str, data: Path) -> str:
    fields = {"here": str(HERE), "data": str(data), "g": G, "t1": T1}
    return (_PRELUDE + _TOOLS[tool] + _CALLS).format(**fields)


def _process(python: str, code: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process"] = wall
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    import neurodyn as nd
    from neurodyn.simulate import initial_condition

    versions = peer_versions()
    net = nd.Network.random(N=N, g=G, seed=0)
    rows, skipped = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "network.npz"
        np.savez(data, J=np.asarray(net.J), theta=np.asarray(net.theta),
                 h0=np.asarray(initial_condition(N, 1, 1, 1.0, "float64"))[0])
        available = {"torch RK4": versions.get("torch"),
                     "torchdiffeq dopri5": versions.get("torchdiffeq"),
                     "brainpy rk4": versions.get("brainpy"), "brian2 numpy": versions.get("brian2")}
        for tool in _TOOLS:
            if tool in available and not available[tool]:
                skipped.append(tool)
                print(f"{tool}: not installed (benchmarks/setup_peers.py), skipped", flush=True)
                continue
            python = str(brian2_python()) if tool == "brian2 numpy" else sys.executable
            cache = Path(tmp) / f"cache-{tool.split()[0]}"
            env = {**os.environ, "NEURODYN_CACHE_DIR": str(cache), "OMP_NUM_THREADS":
                   str(os.cpu_count() or 1)}
            runs = []
            for k in range(args.processes):
                runs.append(_process(python, _child(tool, data), env))
                print(tool, k + 1, {key: round(v, 3) for key, v in runs[-1].items()}, flush=True)
            first, last = runs[0], runs[-1]
            later = runs[1:]
            rows.append([tool, first["process"], first["imports"], first["first"],
                         first["warm"], last["process"], last["imports"], last["first"],
                         last["warm"], statistics.median(r["process"] for r in later),
                         first["first"] - first["warm"], last["first"] - last["warm"]])
    elapsed = time.perf_counter() - started
    load = os.getloadavg()
    text = "\n".join([
        "## Start-up: a first and a tenth run per tool (bench_peer_startup.py)",
        "",
        f"N = {N}, g = {G}, 1 trial, float64, {T1:g} τ, each tool at its equal-accuracy setting "
        "(Brian2 dt = 0.01, first order); a new process per run, "
        f"{args.processes} in a row. Process = the whole process as the parent timed it "
        "(interpreter start, imports, both calls, exit); first call = imports done, the run "
        "once (compiling for JAX, code generation for Brian2); warm = the same run again in "
        "that process; compile = first call − warm. neurodyn's persistent compilation cache "
        "starts empty before run 1 (what the command line uses); the other tools keep no "
        "compiled code between processes. Script time "
        f"{elapsed / 60:.1f} min; load average at the end {load[0]:.2f}, {load[1]:.2f}."
        + (f" Skipped (not installed): {', '.join(skipped)}." if skipped else ""),
        "",
        table(["tool", "run 1: process s", "imports s", "first call s", "warm s",
               f"run {args.processes}: process s", "imports s", "first call s", "warm s",
               "median process s, runs 2+", "compile s, run 1",
               f"compile s, run {args.processes}"], rows),
    ])
    publish("bench_peer_startup", text, not args.no_write)


if __name__ == "__main__":
    main()
