"""neurodyn against its peers on the same network, at equal accuracy, in one process.

Peers: SciPy ``solve_ivp`` (RK45, DOP853), a hand-written NumPy RK4 loop, NEST's
``tanh_rate_ipn`` (if importable), and for the SDE a hand-written NumPy Euler–Maruyama loop.

Equal accuracy: each tool's tolerance (or step) is the loosest of a ladder whose error over a
short window (t ≤ 10, N of the case, 1 trial) against a tight float64 reference (SciPy DOP853,
rtol = atol = 1e-12) is ≤ 1e-4 (chaos makes longer-window trajectory errors meaningless). Then
each tool integrates the case window; wall time = median of warm runs, compile time (neurodyn:
first call − median) separately, right-hand-side evaluations counted. Roofline in the same
process: bandwidth of the J·φ products vs a bare matrix–vector product (1 trial), FLOP/s vs a
bare GEMM of the same shape (64 trials). Scaling: time per simulated unit time vs N.

    python benchmarks/bench_peers.py [--quick] [--full] [--repeats 5] [--no-nest] [--no-write]

Writes the section "bench_peers" of benchmarks/RESULTS.md and runs/bench_peers.zarr.
"""

from __future__ import annotations

import os

# NumPy/SciPy get every core, like XLA: OpenBLAS's default. On the idle 2-core VM, 2 threads
# beat 1 in the same process as JAX (1000² matvec 0.047 vs 0.095 ms, (64, 1000) GEMM 1.4 vs
# 2.4 ms). (An earlier round pinned 1 thread after 2 threads measured erratic — 3–28 ms per
# matvec — while other jobs loaded the machine; that handicapped the peers on an idle one.)
# Override from the shell to compare.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(os.cpu_count() or 1))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import time  # noqa: E402

import numpy as np
import xarray as xr
from _common import (
    bare_gemm,
    bare_matvec,
    loglog_slope,
    publish,
    table,
    timed,
    warm_median,
)
from peers import (
    BrainpyRk4,
    brian2_rate,
    nest_available,
    nest_tanh_rate_isolated,
    numpy_euler_maruyama,
    numpy_rk4,
    peer_versions,
    scipy_ivp,
    torch_rk4,
    torchdiffeq_ode,
)

import neurodyn as nd
from neurodyn.simulate import initial_condition

G = 2.0
TARGET = 1e-4
WINDOW = 10.0
TOLERANCES = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7)
STEPS = (0.2, 0.1, 0.05, 0.025, 0.0125)
DT_SAVE = 5.0


def save_spacing(t1):
    """Saved-time spacing of a run of length t1: every DT_SAVE for case runs, every 1 τ for the
    calibration window (and runs no longer than it)."""
    return DT_SAVE if t1 > WINDOW else 1.0


class Tool:
    """One integrator configuration: ``run(h0, t1, knob) -> (saved (time, trial, neuron), evals)``
    with ``knob`` a tolerance (adaptive) or a step (fixed); ``ladder`` loosest first."""

    def __init__(self, name, dtype, ladder, run, jitted=False):
        self.name, self.dtype, self.ladder, self.run, self.jitted = name, dtype, ladder, run, jitted


def tools(net64, net32, versions):
    """Every configuration timed: neurodyn's, SciPy's, NumPy's and the optional peers present in
    ``versions`` (peers.peer_versions; Brian2 and NEST are run apart, as fixed-step rows)."""
    J64, theta = np.asarray(net64.J), np.asarray(net64.theta)
    J32 = np.asarray(net32.J)

    def saves(t1):
        return np.arange(0.0, t1 + 1e-9, save_spacing(t1))

    def neurodyn(net, solver):
        def run(h0, t1, knob):
            kwargs = dict(dt=knob) if solver == "rk4" else dict(rtol=knob, atol=knob)
            ds = nd.simulate(net, t1=t1, dt_save=save_spacing(t1), trials=h0.shape[0], h0=h0,
                             solver=solver, **kwargs)
            return np.moveaxis(ds.h.values, 1, 0), ds.attrs["rhs_evaluations"]
        return run

    def scipy(method):
        def run(h0, t1, knob):
            return scipy_ivp(J64, theta, G, h0, t1, saves(t1), method, knob, knob)
        return run

    def rk4(J):
        def run(h0, t1, knob):
            every = int(round(save_spacing(t1) / knob))
            return numpy_rk4(J, theta, G, h0, t1, every, knob)
        return run

    def torch_loop(dtype):
        def run(h0, t1, knob):
            every = int(round(save_spacing(t1) / knob))
            return torch_rk4(J64, theta, G, h0, t1, every, knob, dtype)
        return run

    def torch_adaptive(dtype):
        def run(h0, t1, knob):
            return torchdiffeq_ode(J64, theta, G, h0, saves(t1), knob, knob, "dopri5", dtype)
        return run

    def brainpy(dtype):
        integrator = BrainpyRk4(J64, theta, G, dtype)

        def run(h0, t1, knob):
            return integrator.run(h0, t1, int(round(save_spacing(t1) / knob)), knob)
        return run

    optional = []
    if versions.get("torch"):
        optional += [Tool("torch RK4", dtype, STEPS, torch_loop(dtype))
                     for dtype in ("float64", "float32")]
    if versions.get("torch") and versions.get("torchdiffeq"):
        optional += [Tool("torchdiffeq dopri5", dtype, TOLERANCES, torch_adaptive(dtype))
                     for dtype in ("float64", "float32")]
    if versions.get("brainpy"):
        # jitted: its first call (trace + XLA compile) is timed apart from the warm runs.
        optional += [Tool("brainpy rk4", dtype, STEPS, brainpy(dtype), True)
                     for dtype in ("float64", "float32")]
    return [
        Tool("neurodyn tsit5", "float64", TOLERANCES, neurodyn(net64, "tsit5"), True),
        Tool("neurodyn rk4", "float64", STEPS, neurodyn(net64, "rk4"), True),
        Tool("neurodyn tsit5", "float32", TOLERANCES, neurodyn(net32, "tsit5"), True),
        # dopri8 is the 8th-order alternative: with PI step control it needs about as many
        # evaluations as tsit5 at the 1e-4 target (N = 1000: 1717 vs 1657 over T = 200) and
        # was the fastest configuration in some 64-trial float32 cases.
        Tool("neurodyn dopri8", "float64", TOLERANCES, neurodyn(net64, "dopri8"), True),
        Tool("neurodyn dopri8", "float32", TOLERANCES, neurodyn(net32, "dopri8"), True),
        Tool("scipy RK45", "float64", TOLERANCES, scipy("RK45")),
        Tool("scipy DOP853", "float64", TOLERANCES, scipy("DOP853")),
        Tool("numpy RK4", "float64", STEPS, rk4(J64)),
        Tool("numpy RK4", "float32", STEPS, rk4(J32)),
        *optional,  # last in each case, so their thread pools never run before neurodyn's timing
    ]


PHASES: list[list] = []
"""[phase, N, seconds] of this script's run, in order: where `make bench`'s time goes."""


@contextlib.contextmanager
def phase(name, N=None):
    """Record the wall time of a block of this script as one row of PHASES."""
    start = time.perf_counter()
    try:
        yield
    finally:
        PHASES.append([name, N, time.perf_counter() - start])


def phase_summary():
    """PHASES summed by phase name (calibration and timed runs summed over tools), largest
    first, with each one's share of the total."""
    totals = {}
    for name, N, seconds in PHASES:
        key = (name.split(": ")[0], N)
        totals[key] = totals.get(key, 0.0) + seconds
    total = sum(totals.values())
    return [[name, "—" if N is None else N, seconds, 100 * seconds / total]
            for (name, N), seconds in sorted(totals.items(), key=lambda item: -item[1])]


def calibrate(tool, h0, reference):
    """Loosest knob of the ladder with short-window max error ≤ TARGET: (knob, error)."""
    h0 = h0.astype(tool.dtype)
    for knob in tool.ladder:
        saved, _ = tool.run(h0, WINDOW, knob)
        error = float(np.max(np.abs(saved.astype(np.float64) - reference)))
        if error <= TARGET:
            return knob, error
    return None, error


def statistics(saved, t1):
    """Long-window accuracy, where chaos makes trajectory errors meaningless: the variance <h²>
    and the autocorrelation C(DT_SAVE)/C(0) over saves at t ≥ t1/4 (past the transient from
    h(0)). ``saved``: (time, trial, neuron) at every DT_SAVE (every 1 τ if t1 ≤ WINDOW)."""
    spacing = save_spacing(t1)
    lag = int(round(DT_SAVE / spacing))
    h = np.asarray(saved, np.float64)[int(np.ceil(t1 / 4 / spacing)):]
    variance = float(np.mean(h**2))
    lagged = float(np.mean(h[lag:] * h[:-lag])) / variance if len(h) > lag else None
    return variance, lagged


# Brian2's steps: its coupling is held over each step (first order), so 1e-4 would need
# dt ≈ 2e-5 (the error fell 0.048 → 0.0048 from dt = 0.01 to 0.001 at N = 1000: ~3 min per 10 τ);
# its row is at the finest of these, with the error it reaches, like NEST's.
BRIAN2_STEPS = (0.01, 0.001)


def ode_cases(sizes, trial_counts, t1_of, repeats, nest_version, rows, roof, calib_rows,
              versions, nest_max_N=1000):
    for N in sizes:
        net64 = nd.Network.random(N=N, g=G, seed=0)
        net32 = nd.Network.random(N=N, g=G, seed=0, dtype="float32")
        J, theta = np.asarray(net64.J), np.asarray(net64.theta)
        h0_1 = np.asarray(initial_condition(N, 1, 1, 1.0, "float64"))
        start = time.perf_counter()
        with phase("reference (SciPy DOP853 + neurodyn dopri8 at 1e-12)", N):
            reference, _ = scipy_ivp(J, theta, G, h0_1, WINDOW,
                                     np.arange(0.0, WINDOW + 1e-9, 1.0), "DOP853", 1e-12, 1e-12)
            check = nd.simulate(net64, t1=WINDOW, dt_save=1.0, h0=h0_1, solver="dopri8",
                                rtol=1e-12, atol=1e-12).h.values[0]
        print(f"N={N}: reference {time.perf_counter() - start:.1f} s; |DOP853 − neurodyn dopri8| "
              f"= {np.max(np.abs(check - reference[:, 0])):.1e}", flush=True)
        chosen = []
        for tool in tools(net64, net32, versions):
            with phase(f"calibration: {tool.name} {tool.dtype}", N):
                knob, error = calibrate(tool, h0_1, reference)
            calib_rows.append([N, tool.name, tool.dtype, knob if knob else "none ≤ 1e-4", error])
            print(calib_rows[-1], flush=True)
            if knob is not None:
                chosen.append((tool, knob))
        nest_here = bool(nest_version) and N <= nest_max_N
        if nest_here:
            with phase("NEST (calibration = timed run)", N):
                out, wall, build = nest_tanh_rate_isolated(J, theta, G, h0_1, 2.0, 0.01,
                                                           interval=1.0)
            error = float(np.max(np.abs(out[:, 0] - reference[1:1 + len(out), 0])))
            calib_rows.append([N, "NEST tanh_rate_ipn", "float64", "dt = 0.01 (fixed)", error])
            nest_per_tau = wall / 2.0
            print(calib_rows[-1], nest_per_tau, flush=True)
        brian2_row = None
        if versions.get("brian2"):
            # One trial, in its own venv and process; the calibration window is the timed run.
            for dt in BRIAN2_STEPS:
                with phase("Brian2 (calibration = timed run)", N):
                    out, wall, build = brian2_rate(J, theta, G, h0_1, WINDOW, dt)
                error = float(np.max(np.abs(out[:, 0] - reference[:len(out), 0])))
                calib_rows.append([N, "brian2 numpy", "float64", f"dt = {dt:g} (fixed)", error])
                print(calib_rows[-1], wall, build, flush=True)
            brian2_row = [N, 1, WINDOW, "brian2 numpy", "float64", f"dt={dt:g}", wall, build,
                          int(round(WINDOW / dt)), wall / WINDOW, *statistics(out, WINDOW)]
        for trials in trial_counts:
            t1 = t1_of(N, trials)
            h0 = np.asarray(initial_condition(N, trials, 1, 1.0, "float64"))
            case = []
            for tool, knob in chosen:
                if tool.name == "neurodyn rk4" and trials > 1:
                    continue
                h0_t = h0.astype(tool.dtype)
                evaluations, last = [], {}

                def call(tool=tool, knob=knob, h0_t=h0_t, t1=t1, evaluations=evaluations,
                         last=last):
                    last["saved"], count = tool.run(h0_t, t1, knob)
                    evaluations.append(count)
                with phase(f"timed runs, {trials} trial(s): {tool.name} {tool.dtype}", N):
                    if tool.jitted:
                        first, median, _ = warm_median(call, repeats)
                    else:
                        # Peers are warm from calibration. Only --full's N = 4000, 64-trial,
                        # T = 200 runs (minutes each) are timed once; every default case gets
                        # `repeats`.
                        work = t1 * N * N * trials
                        times = [timed(call) for _ in range(repeats if work < 2e10 else 1)]
                        first, median = None, float(np.median(times))
                per_traj_tau = median / t1 / trials
                case.append([N, trials, t1, tool.name, tool.dtype, knob, median,
                             None if first is None else first - median, evaluations[-1],
                             per_traj_tau, *statistics(last["saved"], t1)])
                print(case[-1], flush=True)
                if tool.name.startswith("neurodyn"):
                    nbytes = J.size * np.dtype(tool.dtype).itemsize
                    per_eval = median / evaluations[-1]
                    Jd = J.astype(tool.dtype)
                    with phase("roofline (bare products)", N):
                        limit = bare_matvec(Jd) if trials == 1 else bare_gemm(Jd, trials)
                    if trials == 1:
                        achieved = nbytes / per_eval / 1e9
                        roof.append([N, trials, tool.name, tool.dtype, "GB/s (J·φ)", achieved,
                                     limit["numpy_GBps"], limit["jax_GBps"],
                                     achieved / max(limit["numpy_GBps"], limit["jax_GBps"])])
                    else:
                        achieved = 2.0 * trials * N * N / per_eval / 1e9
                        roof.append([N, trials, tool.name, tool.dtype, "GFLOP/s", achieved,
                                     limit["numpy_GFLOPs"], limit["jax_GFLOPs"],
                                     achieved / max(limit["numpy_GFLOPs"], limit["jax_GFLOPs"])])
                    print(roof[-1], flush=True)
            if nest_here and trials == 1:
                case.append([N, trials, 2.0, "NEST tanh_rate_ipn", "float64", "dt=0.01",
                             nest_per_tau * 2.0, None, "—", nest_per_tau, None, None])
            if brian2_row and trials == 1:
                case.append(brian2_row)
            rows.extend(case)


# The performance issue's ratio targets over the fastest SciPy method (N = 1000, T = 200).
TARGETS = {(1000, 1, "float64"): 1.5, (1000, 1, "float32"): 3.0, (1000, 64, "float64"): 5.0,
           (1000, 64, "float32"): 5.0}


OPTIONAL = ("torch", "brainpy", "brian2")
"""Name prefixes of the optional peers' rows (torchdiffeq's start with "torch")."""


def ratios(rows, roof):
    """neurodyn / peer time ratios per case, on time per trajectory per unit simulated time.

    "at 100 % of bare" is the SciPy ratio neurodyn would reach if every right-hand side ran at
    the best bare product's rate (measured in this process) with neurodyn's own evaluation
    count: the bound on what less overhead can buy; only fewer evaluations go beyond it."""
    out = []
    cases = sorted({(r[0], r[1]) for r in rows})
    for N, trials in cases:
        case = [r for r in rows if (r[0], r[1]) == (N, trials)]
        peers = [r for r in case if not r[3].startswith("neurodyn")]
        for dtype in ("float64", "float32"):
            mine = [r for r in case if r[3].startswith("neurodyn") and r[4] == dtype]
            if not mine:
                continue
            best = min(mine, key=lambda r: r[9])
            fraction = next(r[8] for r in roof if r[:4] == [N, trials, best[3], dtype])
            scipy = [r for r in peers if r[3].startswith("scipy")]
            row = [N, trials, dtype, f"{best[3]} ({best[5]})", best[9]]
            for _label, group in (("fastest SciPy", scipy),
                                 ("NumPy RK4 same dtype",
                                  [r for r in peers if r[3] == "numpy RK4" and r[4] == dtype]),
                                 ("NEST", [r for r in peers if r[3].startswith("NEST")]),
                                 ("fastest optional peer, same dtype",
                                  [r for r in peers if r[3].startswith(OPTIONAL)
                                   and r[4] == dtype])):
                if group:
                    peer = min(group, key=lambda r: r[9])
                    row.append(f"{peer[9] / best[9]:.1f}× ({peer[3]})")
                else:
                    row.append("—")
            fastest_scipy = min(r[9] for r in scipy)
            row.append(f"{fastest_scipy / (best[9] * fraction):.2f}×")
            target = TARGETS.get((N, trials, dtype))
            row.append(f"≥ {target:g}×" if target else "—")
            out.append(row)
    return out


def optional_line(versions):
    """What the optional peers were and how each was run (README of the RESULTS section)."""
    if not versions:
        return "Optional peers (torch, torchdiffeq, BrainPy, Brian2): skipped (--no-optional)."
    found = ", ".join(f"{name} {version}" for name, version in versions.items() if version)
    missing = [name for name, version in versions.items() if not version]
    return (
        f"Optional peers (benchmarks/setup_peers.py; not project dependencies): {found or 'none'}"
        + (f"; not available, rows absent: {', '.join(missing)}" if missing else "") + ". "
        "torch RK4: a plain loop under no_grad, all cores; torchdiffeq: odeint dopri5 with "
        "rtol = atol; BrainPy: brainpy.odeint(method='rk4') stepped in one jitted lax.scan "
        "(its adaptive integrators need a host loop), compile time apart; Brian2: numpy target, "
        "dh/dt = (−h + I + θ)/τ with I = J tanh(g h) set by a network_operation each step (one "
        "BLAS matvec, the fastest dense formulation we found; summed-variable Synapses over N² "
        "synapses is slower), in its own venv (Brian2 2.9 needs NumPy < 2.4); its coupling is "
        "held over a step, so it is first order and its row (dt = 0.001, 10 τ, 1 trial) is not "
        "at equal accuracy: its ratio is a lower bound, as NEST's.")


def sde_case(N, t1, trials, repeats, rows, nest_version=None):
    """Additive noise σ = 0.5, Euler–Maruyama dt = 0.01 in neurodyn and in NumPy: the same
    scheme and step, so the same strong/weak accuracy; the stationary <h²> is compared. NEST
    (1 trial, its own noise, same dt) integrates only 2 τ — at ~10 s per τ a stationary <h²>
    is out of the budget, so its row has time only."""
    sigma, dt = 0.5, 0.01
    net = nd.Network.random(N=N, g=G, seed=0)
    J, theta = np.asarray(net.J), np.asarray(net.theta)
    h0 = np.asarray(initial_condition(N, trials, 1, 1.0, "float64"))
    results = {}
    for solver in ("euler", "shark"):
        datasets = []

        def call(solver=solver, datasets=datasets):
            datasets.append(nd.simulate(net, t1=t1, dt_save=1.0, trials=trials, h0=h0,
                                        noise=sigma, solver=solver, dt=dt))
        first, median, _ = warm_median(call, repeats)
        moment = float((datasets[-1].h.values[:, t1 // 4:] ** 2).mean())
        results[solver] = median
        rows.append([N, trials, t1, f"neurodyn {solver}", dt, median, first - median,
                     datasets[-1].attrs["num_steps"], median / t1 / trials, moment])
        print(rows[-1], flush=True)
    saved = []

    def em():
        saved.append(numpy_euler_maruyama(J, theta, G, h0, t1, int(round(1.0 / dt)), dt, sigma, 7))
    times = [timed(em) for _ in range(3)]
    median = float(np.median(times))
    moment = float((saved[-1][0][int(t1) // 4:] ** 2).mean())
    rows.append([N, trials, t1, "numpy Euler–Maruyama", dt, median, None, saved[-1][1],
                 median / t1 / trials, moment])
    print(rows[-1], flush=True)
    if nest_version and trials == 1:
        nest_t1 = 2.0
        _, wall, _ = nest_tanh_rate_isolated(J, theta, G, h0[:1], nest_t1, dt, sigma=sigma)
        rows.append([N, 1, nest_t1, "NEST tanh_rate_ipn", dt, wall, None,
                     int(round(nest_t1 / dt)), wall / nest_t1, None])
        print(rows[-1], flush=True)


def scaling(sizes, t1, repeats, rtol):
    """Time per simulated unit time of tsit5 (1 trial, float64) vs N; log–log slope."""
    rows = []
    for N in sizes:
        net = nd.Network.random(N=N, g=G, seed=0)
        datasets = []

        def call(net=net, datasets=datasets):
            datasets.append(nd.simulate(net, t1=t1, dt_save=DT_SAVE, rtol=rtol, atol=rtol))
        _, median, _ = warm_median(call, repeats)
        evaluations = datasets[-1].attrs["rhs_evaluations"]
        rows.append([N, median / t1, evaluations / t1, median / evaluations])
        print(rows[-1], flush=True)
    slope_all = loglog_slope([r[0] for r in rows], [r[1] for r in rows])
    large = [r for r in rows if r[0] >= 1000]
    slope_large = loglog_slope([r[0] for r in large], [r[1] for r in large])
    return rows, slope_all, slope_large


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="N = 1000 only, T = 50, 3 repeats, short scaling (~3 min)")
    parser.add_argument("--full", action="store_true",
                        help="T = 200 for every case and NEST at N = 4000 too (default: T = 200 / 100 "
                        "for N = 1000 and 20 / 5 for N = 4000 with 1 / 64 trials, NEST at "
                        "N = 1000 only)")
    # 3 warm repeats, not 5: with seven tools the timed runs at 5 repeats made this script alone
    # 18.7 min (2026-12-01) and `make bench` must stay ≤ 15 min
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-nest", action="store_true")
    parser.add_argument("--no-optional", action="store_true",
                        help="skip torch, torchdiffeq, BrainPy and Brian2 (installed by "
                        "benchmarks/setup_peers.py)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    repeats = args.repeats
    sizes, scaling_sizes, scaling_t1, sde_t1 = (1000, 4000), (100, 200, 500, 1000, 2000, 4000,
                                                                8000), 20.0, 200
    if args.quick:
        sizes, scaling_sizes, scaling_t1, sde_t1, repeats = (1000,), (100, 500, 2000), 10.0, 40, 3

    def t1_of(N, trials):
        if args.quick:
            return 50.0
        if args.full:
            return 200.0
        if N <= 1000:
            # 64 trials × 200 τ was 45 % of the script's time with seven tools; per-τ costs at
            # T = 100 include the same adaptive-step settling (the step size settles in < 5 τ)
            return 200.0 if trials == 1 else 100.0
        return 20.0 if trials == 1 else 5.0

    nest_version = None if args.no_nest else nest_available()
    rows, roof, calib = [], [], []
    # NEST at N = 4000 (16 M connections, ~75 s per τ) only with --full: budget of `make bench`.
    versions = {} if args.no_optional else peer_versions()
    print("optional peers:", versions, flush=True)
    ode_cases(sizes, (1, 64), t1_of, repeats, nest_version, rows, roof, calib, versions,
              nest_max_N=10**9 if args.full else 1000)
    sde_rows = []
    with phase("SDE, 1 trial", 1000):
        sde_case(1000, sde_t1, 1, repeats, sde_rows, nest_version)
    with phase("SDE, 64 trials", 1000):
        sde_case(1000, sde_t1 // 10, 64, 3, sde_rows)
    with phase("scaling (tsit5, N = " + ", ".join(map(str, scaling_sizes)) + ")"):
        scale_rows, slope_all, slope_large = scaling(scaling_sizes, scaling_t1, 3, 1e-5)
    elapsed = time.perf_counter() - started

    ds = xr.Dataset(
        {"seconds_per_trajectory_tau": (("run",), np.array([r[9] for r in rows], float)),
         "wall_s": (("run",), np.array([r[6] for r in rows], float))},
        coords={"N": ("run", [r[0] for r in rows]), "trials": ("run", [r[1] for r in rows]),
                "tool": ("run", [f"{r[3]} {r[4]}" for r in rows])},
        attrs={"kind": "benchmark", "target_error": TARGET, "window": WINDOW},
    )
    try:
        nd.save_run(ds, "runs/bench_peers.zarr", overwrite=True)
    except Exception as error:  # noqa: BLE001 - the table below is the primary output
        print(f"could not write runs/bench_peers.zarr: {error}")

    nest_line = (f"NEST {nest_version} (pip install nest-simulator into the venv; not a "
                 "project dependency)" if nest_version else
                 "NEST: not importable in this environment (`pip install nest-simulator` "
                 "failed or was skipped with --no-nest); NEST rows are absent.")
    text = "\n".join([
        "## Peers, roofline and scaling (bench_peers.py)",
        "",
        f"Model g = {G}, tanh, θ = 0, same J, θ, h0 in every tool. Equal accuracy: loosest "
        f"tolerance/step with max error ≤ {TARGET:g} over t ∈ [0, {WINDOW:g}] (1 trial) vs "
        "SciPy DOP853 at rtol = atol = 1e-12. Wall = median of warm runs "
        f"({repeats} for neurodyn and for NumPy/SciPy when T·N²·trials < 2e10, else 1 run); "
        f"saves every {DT_SAVE:g} τ. Total script time {elapsed / 60:.1f} min. {nest_line}",
        "",
        optional_line(versions),
        "",
        "### Ratios at equal accuracy (peer time / neurodyn time, per trajectory and unit time)",
        "",
        "The last two columns: the SciPy ratio at 100 % of the best bare product (J·x or GEMM, "
        "roofline below) with neurodyn's own evaluation count — what removing all overhead "
        "would give — and the performance issue's target.",
        "",
        table(["N", "trials", "dtype", "neurodyn (knob)", "neurodyn s/(traj·τ)",
               "fastest SciPy", "NumPy RK4", "NEST", "fastest of torch/BrainPy/Brian2",
               "SciPy ratio at 100 % of bare",
               "target"], ratios(rows, roof)),
        "",
        "### Cases",
        "",
        "Statistics of the last run over saves at t ≥ T/4: all tools should agree within "
        "sampling error (1-trial rows follow different chaotic trajectories and scatter as "
        "single samples; 64-trial rows agree closely).",
        "",
        table(["N", "trials", "T", "tool", "dtype", "rtol or dt", "wall s", "compile s",
               "RHS evals", "s/(traj·τ)", "<h²>", f"C({DT_SAVE:g} τ)/C(0)"], rows),
        "",
        "### Calibration (short-window error vs the reference)",
        "",
        table(["N", "tool", "dtype", "chosen", "max error"], calib),
        "",
        "### Roofline (same process): achieved rate per RHS evaluation vs bare products",
        "",
        "1 trial: bytes of J per evaluation / time per evaluation vs bare `J @ x` (NumPy, and a "
        "jitted JAX loop of dependent products). 64 trials: 2·64·N² FLOP per evaluation vs bare "
        "(64, N) @ (N, N).",
        "",
        table(["N", "trials", "tool", "dtype", "unit", "neurodyn", "bare NumPy", "bare JAX",
               "fraction of best bare"], roof),
        "",
        "### SDE: σ = 0.5, Euler–Maruyama dt = 0.01 (same scheme and step in both)",
        "",
        "NEST (if present) integrates the linear part of its rate equation exactly and adds the "
        "noise per step at the same dt; its row covers 2 τ from h(0) (time only, no <h²>).",
        "",
        table(["N", "trials", "T", "tool", "dt", "wall s", "compile s", "steps",
               "s/(traj·τ)", "<h²> (t > T/4)"], sde_rows),
        "",
        f"### Scaling: tsit5 rtol = 1e-5, 1 trial, float64, T = {scaling_t1:g}",
        "",
        table(["N", "s per τ", "RHS evals per τ", "s per RHS eval"], scale_rows),
        "",
        f"log–log slope of time per τ vs N: {slope_all:.2f} over all N, {slope_large:.2f} for "
        "N ≥ 1000 (2 = streaming J, N² bytes per evaluation).",
        "",
        "### Where this script's time goes",
        "",
        "Wall time of each phase (calibration and timed runs summed over tools and dtypes; "
        "network construction and imports are the remainder of the total).",
        "",
        table(["phase", "N", "s", "% of phases"], phase_summary()),
        "",
        "The slowest single phases:",
        "",
        table(["phase", "N", "s"], [[name, "—" if N is None else N, seconds] for name, N, seconds
                                     in sorted(PHASES, key=lambda row: -row[2])[:12]]),
    ])
    publish("bench_peers", text, not args.no_write)


if __name__ == "__main__":
    main()
