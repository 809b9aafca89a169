"""Dense networks at scale (issue 18): time per τ and peak memory vs N in float64 and float32,
the bandwidth the simulation's J·φ products reach against a bare J @ r of the same shape in the
same process, the machine's memory bandwidth (a large NumPy copy: the physical limit), and the
layout of the state h on 2 forced CPU devices with J sharded by rows (neurodyn.sharding).

Each (dtype, N) case runs in its own subprocess, so ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
is that case's peak resident memory (after building J, and at the end). Linux carries
ru_maxrss over a fork and exec, so the parent process stays small: it imports no JAX and
allocates nothing before its children finish (the copy measurement runs in a child too). A case simulates
``nd.simulate(net, t1=T, dt_save=T)`` for g = 2, tanh, one trial, tsit5 at the default
tolerances, after a first call of the same shapes (t1 = dt_save = 0.1) that compiles; time
per τ is the second call's wall time / T, time per evaluation its wall time / right-hand
sides. Bytes streamed per evaluation are N² × itemsize (J is read once per product; the state
vectors are N-sized). The bare product is a jitted ``fori_loop`` of 10 dependent
``tanh(J @ v)`` (the best of 3 runs): the best XLA streams J here.

Construction: Network.random when its estimated peak (resources.network_bytes: a float64 draw
and temporaries) stays under 8 GB; above that (the largest N) J is drawn with NumPy directly in
the target dtype and scaled in place, then handed to Network.from_arrays: the same
distribution, not the same network, and much less memory while building.

    nice -n 10 python benchmarks/bench_scale.py [--quick] [--no-write]

Writes benchmarks/bench_scale.json and the section "bench_scale" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "bench_scale.json"
FULL = {"float64": [1000, 4000, 10000, 20000], "float32": [1000, 4000, 10000, 20000, 30000]}
QUICK = {"float64": [500, 1000], "float32": [500, 1000]}
RANDOM_LIMIT = 8e9
"""Largest estimated construction peak (bytes) for which a case uses Network.random."""


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def case(dtype: str, N: int, t1: float) -> dict:
    """One (dtype, N) case, in this (fresh) process."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import neurodyn as nd
    from neurodyn import resources

    started = time.perf_counter()
    if resources.network_bytes(N, dtype) <= RANDOM_LIMIT:
        net, built = nd.Network.random(N=N, g=2.0, seed=0, dtype=dtype), "Network.random"
    else:
        X = np.random.default_rng(0).standard_normal((N, N), dtype=np.dtype(dtype))
        X *= np.asarray(1.0 / np.sqrt(N), dtype)
        J = jnp.asarray(X)
        del X
        net, built = nd.Network.from_arrays(J, g=2.0), "numpy draw + Network.from_arrays"
        del J
    jax.block_until_ready(net.J)
    build_s = time.perf_counter() - started
    rss_built = _maxrss_bytes()

    started = time.perf_counter()
    nd.simulate(net, t1=0.1, dt_save=0.1, transient=0.0, seed=1)  # same shapes: compiles
    first_s = time.perf_counter() - started
    ds = nd.simulate(net, t1=t1, dt_save=t1, transient=0.0, seed=1)
    wall = ds.attrs["wall_time_s"]
    evaluations = ds.attrs["rhs_evaluations"]
    per_eval = wall / evaluations

    loops = 10

    @jax.jit
    def chain(J, v):
        return jax.lax.fori_loop(0, loops, lambda i, v: jnp.tanh(J @ v), v)

    v = jnp.ones(N, dtype)
    jax.block_until_ready(chain(net.J, v))
    bare = []
    for _ in range(3):
        t = time.perf_counter()
        jax.block_until_ready(chain(net.J, v))
        bare.append((time.perf_counter() - t) / loops)
    bare_s = min(bare)
    nbytes = N * N * np.dtype(dtype).itemsize
    return {
        "dtype": dtype, "N": N, "construction": built, "build_s": build_s,
        "first_call_s": first_s, "t1": t1, "wall_s": wall, "time_per_tau_s": wall / t1,
        "rhs_evaluations": evaluations, "num_steps": ds.attrs["num_steps"],
        "time_per_evaluation_s": per_eval, "J_bytes": nbytes,
        "simulate_GBps": nbytes / per_eval / 1e9,
        "bare_matvec_s": bare_s, "bare_GBps": nbytes / bare_s / 1e9,
        "fraction_of_bare": bare_s / per_eval,
        "peak_rss_after_build_bytes": rss_built, "peak_rss_bytes": _maxrss_bytes(),
        "network_bytes_estimate": resources.network_bytes(N, dtype),
    }


def layout(N: int, t1: float, repeats: int) -> dict:
    """On 2 forced CPU devices (this process must start with XLA_FLAGS set): the compiled solve
    with J row-sharded and h(0) replicated or sharded by neuron, against one device."""
    import importlib
    import re

    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    import neurodyn as nd
    from neurodyn import sharding, solvers

    simulate_module = importlib.import_module("neurodyn.simulate")
    dtype = "float64"
    net = nd.Network.random(N=N, g=2.0, seed=0, dtype=dtype).without_metadata()
    sharded = sharding.shard_network(net, 2)
    mesh = sharding.network_mesh(sharded)
    spec = solvers.resolve(None, noisy=False, noise=0.0)
    times = jnp.asarray([0.0, t1], dtype)
    rows = []
    for trials in (1, 8):
        h0 = simulate_module.initial_condition(N, trials, 0, 1.0, dtype)
        cases = {
            "one device": (net, h0),
            "h replicated": (sharded, jax.device_put(h0, NamedSharding(mesh, P()))),
            "h sharded by neuron": (sharded, jax.device_put(h0, NamedSharding(mesh,
                                                                              P(None, "neuron")))),
        }
        reference = None
        for name, (network, state) in cases.items():
            args = (network, state, times, simulate_module.simulation_key(0, 1),
                    jnp.asarray(0.0, dtype), jnp.asarray(0.01, dtype), jnp.asarray(1e-6, dtype),
                    jnp.asarray(1e-6, dtype), simulate_module._Input(dtype=dtype),
                    jnp.asarray(0.0, dtype), spec, 10**7, False)
            text = simulate_module._integrate.lower(*args).compile().compiled.as_text()
            collectives = {kind: len(re.findall(rf"\b{kind}\(", text))
                           for kind in ("all-gather", "all-reduce", "all-to-all",
                                        "collective-permute", "reduce-scatter")}
            jax.block_until_ready(simulate_module._integrate(*args))
            walls = []
            for _ in range(repeats):
                t = time.perf_counter()
                out = jax.block_until_ready(simulate_module._integrate(*args))
                walls.append(time.perf_counter() - t)
            ys = np.asarray(out[0])
            reference = ys if reference is None else reference
            steps = int(out[2]["num_steps"])
            rows.append({
                "trials": trials, "layout": name, "best_s": min(walls), "walls_s": walls,
                "num_steps": steps, "time_per_evaluation_s": min(walls) / spec.rhs_evaluations(steps),
                "max_diff_vs_one_device": float(np.max(np.abs(ys - reference))),
                "collectives": collectives, "saved_sharding": str(out[0].sharding.spec)
                if hasattr(out[0].sharding, "spec") else "one device",
            })
    return {"N": N, "dtype": dtype, "t1": t1, "devices": len(jax.devices()), "rows": rows}


def copy_bandwidth(gigabytes: float = 1.0, repeats: int = 5) -> dict:
    """Memory bandwidth of a large NumPy copy (read + write = 2 × size per copy), one thread and
    two threads each copying one half (numpy releases the GIL in copyto); best of ``repeats``."""
    import numpy as np

    n = int(gigabytes * 1e9 / 8)
    src = np.ones(n)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    one = []
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        one.append(time.perf_counter() - t)
    half = n // 2
    pieces = [(dst[:half], src[:half]), (dst[half:], src[half:])]
    two = []
    with ThreadPoolExecutor(2) as pool:
        for _ in range(repeats):
            t = time.perf_counter()
            list(pool.map(lambda p: np.copyto(*p), pieces))
            two.append(time.perf_counter() - t)
    moved = 2 * src.nbytes
    return {"bytes_per_copy": moved, "one_thread_GBps": moved / min(one) / 1e9,
            "two_threads_GBps": moved / min(two) / 1e9}


ASSUMED_DEVICES = {
    "GPU, A100 80 GB (HBM2e)": {"GBps": 2000.0, "link_GBps": 300.0, "link": "NVLink 3"},
    "GPU, H100 SXM 80 GB (HBM3)": {"GBps": 3350.0, "link_GBps": 450.0, "link": "NVLink 4"},
    "CPU node, 2 sockets x 8 DDR4-3200 channels": {"GBps": 400.0, "link_GBps": 25.0,
                                                   "link": "InfiniBand HDR 200 Gb/s"},
}
"""Vendor peak figures, ASSUMED (not measured here): memory bandwidth of one device (a whole
node for the CPU row) and of the link between devices (hosts for the CPU row)."""
COLLECTIVE_LATENCY_S = 20e-6
"""Assumed latency of one small collective (all-gather of φ, all-reduce of the error norm)."""


def projection(results: dict, N: int = 100_000, dtype: str = "float32", trials: int = 1) -> dict:
    """On paper: time per τ of ``simulate`` for a dense N = 1e5 float32 network on the
    ASSUMED_DEVICES, from what was measured here: tsit5's right-hand sides and steps per τ
    (g = 2, largest measured N of ``dtype``: N-independent statistics of the SCS dynamics) and
    the fraction of the bare product's bandwidth that simulate reaches (the same number there,
    assumed). Per right-hand side: N² itemsize / (d × B × fraction) to stream J, plus an
    all-gather of φ (trials × N × itemsize × (d − 1)/d over the link + one latency) when d > 1;
    per step one all-reduce latency (the error norm) when d > 1."""
    import statistics

    itemsize = {"float64": 8, "float32": 4}[dtype]
    # the longest window (then the largest N): the start-up steps from h(0) weigh least there
    measured = max((c for c in results["cases"] if c["dtype"] == dtype),
                   key=lambda c: (c["t1"], c["N"]))
    rhs_per_tau = measured["rhs_evaluations"] / measured["t1"]
    steps_per_tau = measured["num_steps"] / measured["t1"]
    # J beyond the caches (>= 100 MB); capped at 1: above it is timing noise of a loaded VM
    fraction = min(1.0, statistics.median(c["fraction_of_bare"] for c in results["cases"]
                                          if c["J_bytes"] >= 1e8))
    rows = []
    for name, device in ASSUMED_DEVICES.items():
        for d in (1, 8):
            per_device = N * N * itemsize / d
            if name.startswith("GPU") and per_device > 0.9 * 80e9:
                continue
            stream = per_device / (device["GBps"] * 1e9 * fraction)
            gather = 0.0 if d == 1 else (trials * N * itemsize * (d - 1) / d
                                         / (device["link_GBps"] * 1e9) + COLLECTIVE_LATENCY_S)
            reduce = 0.0 if d == 1 else COLLECTIVE_LATENCY_S
            per_tau = rhs_per_tau * (stream + gather) + steps_per_tau * reduce
            rows.append({"device": name, "devices": d, "J_per_device_GB": per_device / 1e9,
                         "stream_ms_per_rhs": stream * 1e3, "gather_ms_per_rhs": gather * 1e3,
                         "s_per_tau": per_tau, "link": device["link"]})
    return {"N": N, "dtype": dtype, "trials": trials, "rhs_per_tau": rhs_per_tau,
            "steps_per_tau": steps_per_tau, "fraction_of_bare": fraction,
            "measured_at_N": measured["N"], "collective_latency_s": COLLECTIVE_LATENCY_S,
            "assumed_devices": ASSUMED_DEVICES, "rows": rows}


def _child(args: list[str], env: dict | None = None) -> dict:
    run = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env)
    if run.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def markdown(results: dict) -> str:
    sys.path.insert(0, str(HERE))
    from _common import table

    copy = results["memory_bandwidth"]
    peak = max(copy["one_thread_GBps"], copy["two_threads_GBps"])
    lines = [
        "## Dense networks at scale (bench_scale.py)",
        "",
        "g = 2, tanh, 1 trial, tsit5 (rtol = atol = 1e-6), window T from t = 0 after a "
        "compiling call (s per τ over T = 0.5 includes more of the start-up steps from h(0): "
        "compare ms per rhs across rows). "
        "Bandwidth = N² × itemsize bytes of J per right-hand side / time per right-hand side; "
        "bare = jitted `tanh(J @ v)` loop on the same J in the same process; limit = a 1 GB "
        f"NumPy copy (read + write): {copy['one_thread_GBps']:.3g} GB/s on one thread, "
        f"{copy['two_threads_GBps']:.3g} GB/s on two (limit = the larger). Peak memory = "
        "ru_maxrss of the case's own process.",
        "",
    ]
    rows = [[c["dtype"], c["N"], c["t1"], c["time_per_tau_s"], c["time_per_evaluation_s"] * 1e3,
             c["simulate_GBps"], c["bare_GBps"], c["fraction_of_bare"],
             c["simulate_GBps"] / peak, c["peak_rss_bytes"] / 2**30, c["J_bytes"] / 2**30,
             c["construction"]] for c in results["cases"]]
    lines.append(table(["dtype", "N", "T (τ)", "s per τ", "ms per rhs", "GB/s", "bare GB/s",
                        "of bare", "of copy limit", "peak GiB", "J GiB", "built by"], rows))
    lay = results.get("layout")
    if lay:
        lines += ["", f"Layout on {lay['devices']} forced CPU devices, N = {lay['N']} "
                  f"{lay['dtype']}, T = {lay['t1']} τ, best of the repeats (J row-sharded "
                  "in both sharded layouts):", ""]
        lines.append(table(
            ["trials", "layout", "best s", "ms per rhs", "max |Δh| vs one device",
             "all-gather", "all-reduce", "saved h sharding"],
            [[r["trials"], r["layout"], r["best_s"], r["time_per_evaluation_s"] * 1e3,
              r["max_diff_vs_one_device"], r["collectives"]["all-gather"],
              r["collectives"]["all-reduce"], r["saved_sharding"]] for r in lay["rows"]]))
    plan = results.get("projection")
    if plan:
        lines += ["", f"**On paper** (not measured: vendor bandwidths assumed, see "
                  f"ASSUMED_DEVICES in the script): N = {plan['N']:,} {plan['dtype']}, "
                  f"{plan['trials']} trial, J row-sharded over d devices, with this machine's "
                  f"{plan['rhs_per_tau']:.3g} right-hand sides and {plan['steps_per_tau']:.3g} "
                  f"steps per τ (measured at N = {plan['measured_at_N']}) and simulate at "
                  f"{plan['fraction_of_bare']:.2f} of the bare product (median over J ≥ 100 MB, "
                  "capped at 1), "
                  f"{plan['collective_latency_s'] * 1e6:g} µs per collective:", ""]
        lines.append(table(
            ["device", "d", "J per device GB", "stream ms/rhs", "all-gather ms/rhs", "s per τ"],
            [[r["device"], r["devices"], r["J_per_device_GB"], r["stream_ms_per_rhs"],
              r["gather_ms_per_rhs"], r["s_per_tau"]] for r in plan["rows"]]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=2, metavar=("DTYPE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--layout", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--copy", type=float, metavar="GB", help=argparse.SUPPRESS)
    parser.add_argument("--t1", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--render", action="store_true",
                        help="recompute the projection and the section from bench_scale.json "
                             "without measuring")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case[0], int(args.case[1]), args.t1)))
        return
    if args.copy:
        print(json.dumps(copy_bandwidth(args.copy)))
        return
    if args.layout:
        print(json.dumps(layout(args.layout, args.t1, args.repeats)))
        return

    if args.render:
        results = json.loads(OUT.read_text())
        results["projection"] = projection(results)
        OUT.write_text(json.dumps(results, indent=1) + "\n")
        sys.path.insert(0, str(HERE))
        from _common import write_section

        text = markdown(results)
        machine = "\n".join(f"- {k}: {v}" for k, v in results["machine"].items())
        write_section("bench_scale", text + "\n\nMachine (of the measurement):\n\n" + machine + "\n")
        print(text)
        return
    sizes = QUICK if args.quick else FULL
    results = {"memory_bandwidth": _child(["--copy", "0.2" if args.quick else "1.0"]),
               "cases": []}
    for dtype, Ns in sizes.items():
        for N in Ns:
            t1 = args.t1 if N <= 10000 else min(args.t1, 0.5)
            found = _child(["--case", dtype, str(N), "--t1", str(t1)])
            print(json.dumps(found), flush=True)
            results["cases"].append(found)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    results["layout"] = _child(["--layout", "500" if args.quick else "4000", "--t1",
                                "1.0" if args.quick else "2.0", "--repeats", str(args.repeats)],
                               env=env)
    sys.path.insert(0, str(HERE))
    from _common import machine, publish

    results["machine"] = machine()
    results["projection"] = projection(results)
    text = markdown(results)
    if not args.no_write:
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    publish("bench_scale", text, write=not args.no_write)


if __name__ == "__main__":
    main()
