"""The ``neurodyn`` command: a thin layer over the public API.

Each subcommand is a pair ``_add_<name>_parser(subparsers)`` / ``_run_<name>(args)`` registered
in :func:`build_parser`. User mistakes (any :class:`~neurodyn.errors.NeurodynError` or
``ValueError`` raised by the API) print one line to stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_USER_ERROR = 2


def _add_network_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--N", type=int, default=1000, help="number of neurons (default 1000)")
    group.add_argument("--g", type=float, default=2.0, help="gain inside phi (default 2.0)")
    group.add_argument("--phi", default="tanh", help="nonlinearity: tanh, erf, relu")
    group.add_argument("--J-mean", type=float, default=0.0, help="mean coupling times N")
    group.add_argument("--symmetry", type=float, default=0.0,
                       help="corr(J_ij, J_ji) in [-1, 1] (default 0)")
    group.add_argument("--theta-mean", type=float, default=0.0, help="mean bias")
    group.add_argument("--theta-std", type=float, default=0.0, help="std of the biases")
    group.add_argument("--network-seed", type=int, default=None,
                       help="seed of J and theta (default: --seed)")
    group.add_argument("--dtype", default="float64", help="float64 (default) or float32")


def _add_output_flags(parser: argparse.ArgumentParser, default_hint: str = "") -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help=f"write the run to this .zarr path{default_hint}")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing run at --out")


def _add_job_output_flags(parser: argparse.ArgumentParser, default_out: str) -> None:
    """--out, --overwrite and --figure of a job that writes a run and a figure."""
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help=f"zarr path (default {default_out})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument("--figure", type=Path, default=None,
                        help="PNG path (default: --out with .png)")


def job_outputs(args) -> Path:
    """Check --out before any work is done; return the figure path (--out with .png if unset)."""
    check_output_path(args.out, args.overwrite)
    return args.figure if args.figure is not None else args.out.with_suffix(".png")


def saved_message(args, figure: Path, started: float) -> str:
    """The closing line of a job: where its run and figure are, and how long it took."""
    return f"Saved to {args.out}, figure {figure} ({time.perf_counter() - started:.0f} s)"


def check_output_path(path: Path | None, overwrite: bool) -> None:
    """Refuse an existing output path before any work is done (so nothing is wasted or lost)."""
    from .errors import RunError

    if path is None:
        return
    if path.exists() and not overwrite:
        raise RunError(f"output path {str(path)!r} exists; pass --overwrite to replace it")
    if not path.parent.exists():
        raise RunError(f"output directory {str(path.parent)!r} does not exist")


def progress_enabled() -> bool:
    """Progress bars only on a terminal."""
    return sys.stderr.isatty()


# --- simulate ---------------------------------------------------------------------------------

def _add_simulate_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help="integrate one SCS network and print a summary",
        description="Integrate dh = (-h + J phi(g h) + theta) dt + noise dW and summarise h.",
    )
    _add_network_flags(parser)
    group = parser.add_argument_group("integration")
    group.add_argument("--t1", type=float, default=100.0, help="saved window (tau units)")
    group.add_argument("--dt-save", type=float, default=0.1, help="spacing of saved times")
    group.add_argument("--transient", type=float, default=50.0, help="discarded transient")
    group.add_argument("--trials", type=int, default=1, help="independent initial conditions")
    group.add_argument("--noise", type=float, default=0.0, help="additive noise sigma (SDE)")
    group.add_argument("--seed", type=int, default=0, help="seed of h(0) and the noise")
    group.add_argument("--solver", default=None,
                       help="tsit5 (default), dopri5, dopri8, euler, heun, rk4; SDE: shark "
                            "(default), sra1, euler")
    group.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (adaptive)")
    group.add_argument("--atol", type=float, default=1e-6, help="absolute tolerance (adaptive)")
    group.add_argument("--dt", type=float, default=None, help="fixed step (fixed-step solvers)")
    group.add_argument("--h0-std", type=float, default=1.0, help="std of h(0)")
    _add_output_flags(parser)
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args) -> int:
    import neurodyn as nd

    check_output_path(args.out, args.overwrite)
    net = nd.Network.random(
        N=args.N, g=args.g, phi=args.phi, J_mean=args.J_mean, symmetry=args.symmetry,
        theta_mean=args.theta_mean, theta_std=args.theta_std,
        seed=args.seed if args.network_seed is None else args.network_seed, dtype=args.dtype,
    )
    started = time.perf_counter()
    ds = nd.simulate(
        net, t1=args.t1, dt_save=args.dt_save, transient=args.transient, trials=args.trials,
        noise=args.noise, seed=args.seed, solver=args.solver, rtol=args.rtol, atol=args.atol,
        dt=args.dt, h0_std=args.h0_std, progress=progress_enabled(),
    )
    wall = time.perf_counter() - started
    stats = nd.summary(ds)
    print(
        f"Simulated N={net.N} {net.phi} network, g={args.g}, {args.trials} trial(s), "
        f"window {args.t1} tau after a {args.transient} tau transient, solver "
        f"{ds.attrs['solver']}{' noise ' + str(args.noise) if args.noise else ''}: "
        f"variance of h {stats['variance']:.4g}, second moment <h^2> "
        f"{stats['second_moment']:.4g}, mean |h| {stats['mean_abs']:.4g}; "
        f"{ds.attrs['num_steps']} steps ({ds.attrs['rhs_evaluations']} right-hand sides), "
        f"wall time {wall:.2f} s (including compilation)."
    )
    if args.out is not None:
        nd.save_run(ds, args.out, overwrite=args.overwrite)
        print(f"Saved to {args.out}")
    return 0


# --- runs -------------------------------------------------------------------------------------

def _add_runs_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs", help="list saved runs, or show one (runs show PATH)",
        description="List the runs and sweeps saved in a directory (kind, status, size, key "
                    "parameters), or `runs show PATH` to print one run or sweep in full.")
    parser.add_argument("directory", nargs="?", type=Path, default=Path("runs"),
                        help="directory holding runs (default runs/), or the word show")
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="with show: the run or sweep store to describe")
    parser.set_defaults(run=_run_runs)


def _run_runs(args) -> int:
    import neurodyn as nd

    if args.path is not None:
        if str(args.directory) != "show":
            raise ValueError(f"unexpected argument {str(args.path)!r}; use `neurodyn runs [DIR]` "
                             "or `neurodyn runs show PATH`")
        from .storage import show_run

        print(show_run(args.path))
        return 0
    records = nd.list_runs(args.directory)
    if not records:
        print(f"no runs in {args.directory}")
        return 0
    header = f"{'path':40s} {'kind':12s} {'status':9s} {'size':>9s}  parameters"
    print(header)
    for record in records:
        size = f"{record['size_bytes'] / 2**20:.1f}M"
        print(f"{record['path']:40s} {record['kind']:12s} {record['status']:9s} {size:>9s}  "
              f"{record['parameters']}")
    return 0


# --- sweep ------------------------------------------------------------------------------------

EXIT_POINTS_FAILED = 1
"""Exit code of a sweep that finished with failed points (or, after errors, pending ones)."""


def _add_sweep_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run or resume a parameter sweep on dask.distributed",
        description="Run the sweep described by CONFIG.toml ([grid] parameter lists, [compute] "
                    "quantities, [network]/[simulate] fixed settings, out path) into one zarr "
                    "store. Run the same command again to resume: finished points are kept. "
                    "Exit code 0 when every point is done, 1 when some failed, 2 on a user error.")
    parser.add_argument("config", type=Path, help="the sweep config (TOML)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (default $NEURODYN_SCHEDULER; "
                             "otherwise a LocalCluster is started)")
    parser.add_argument("--workers", type=int, default=None,
                        help="LocalCluster worker processes (default: one per CPU); 1 computes "
                             "in this process without dask")
    parser.add_argument("--out", type=Path, default=None, help="store path (overrides out)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="recompute points that failed in an earlier session")
    parser.set_defaults(run=_run_sweep)


def _run_sweep(args) -> int:
    from .sweep import describe_result, run_sweep

    result = run_sweep(args.config, scheduler=args.scheduler, workers=args.workers,
                       retry_failed=args.retry_failed, out=args.out, progress=progress_enabled())
    print(describe_result(result))
    return 0 if result.ok else EXIT_POINTS_FAILED


# --- dmft -------------------------------------------------------------------------------------

def _add_dmft_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "dmft", help="solve the stationary (and optionally two-time) mean-field theory",
        description="Solve the stationary DMFT of an SCS network (variance Delta0, "
                    "autocorrelation Delta(tau), static mean, lambda_max) and optionally march the "
                    "two-time C(t, t') from h(0) ~ N(0, q0). Prints a summary; --out saves it.")
    parser.add_argument("--g", type=float, default=2.0, help="gain inside phi (default 2.0)")
    parser.add_argument("--phi", default="tanh", help="tanh (default) or erf")
    parser.add_argument("--J-mean", type=float, default=0.0, help="mean coupling times N")
    parser.add_argument("--theta-mean", type=float, default=0.0, help="mean bias")
    parser.add_argument("--theta-std", type=float, default=0.0, help="std of the biases")
    parser.add_argument("--noise", type=float, default=0.0, help="sigma of additive white noise")
    parser.add_argument("--tau-max", type=float, default=40.0, help="largest lag (default 40)")
    parser.add_argument("--dtau", type=float, default=0.02, help="lag step (default 0.02)")
    parser.add_argument("--two-time", type=float, default=None, metavar="T1",
                        help="also march the two-time DMFT up to T1 (theta = J_mean = 0 only)")
    parser.add_argument("--q0", type=float, default=1.0, help="two-time: variance of h(0)")
    parser.add_argument("--dt", type=float, default=0.05, help="two-time: time step")
    parser.add_argument("--window", type=float, default=None,
                        help="two-time: keep only lags <= WINDOW (default: full square)")
    _add_output_flags(parser)
    parser.set_defaults(run=_run_dmft)


def _run_dmft(args) -> int:
    import neurodyn as nd

    check_output_path(args.out, args.overwrite)
    ds = nd.dmft.stationary(g=args.g, phi=args.phi, J_mean=args.J_mean,
                            theta_mean=args.theta_mean, theta_std=args.theta_std,
                            noise=args.noise, tau_max=args.tau_max, dtau=args.dtau)
    print(f"DMFT g={args.g} {args.phi}: phase {ds.attrs['phase']}, Delta0 "
          f"{float(ds.delta0):.6g}, static variance {float(ds.delta_inf):.6g}, mean "
          f"{float(ds['mean']):.6g}, lambda_max {float(ds.lambda_max):.6g}, tau_corr "
          f"{float(ds.tau_corr):.4g}, g_c {float(ds.g_critical):.6g}, residual "
          f"{float(ds.residual):.2e}")
    if args.two_time is not None:
        if args.J_mean or args.theta_mean or args.theta_std:
            raise ValueError("--two-time supports theta = J_mean = 0 only")
        tt = nd.dmft.two_time(g=args.g, t1=args.two_time, dt=args.dt, q0=args.q0,
                              noise=args.noise, phi=args.phi, window=args.window)
        ds = _merge_two_time(ds, tt)
        print(f"two-time: C(t,t) from {args.q0:g} to {float(tt.variance[-1]):.6g} at "
              f"t={args.two_time:g}")
    if args.out is not None:
        nd.save_run(ds, args.out, overwrite=args.overwrite)
        print(f"Saved to {args.out}")
    return 0


def _merge_two_time(stationary_ds, two_time_ds):
    """One Dataset holding both solutions (two-time attrs kept under ``two_time``)."""
    import xarray as xr

    merged = xr.merge([stationary_ds, two_time_ds.drop_attrs()], combine_attrs="override")
    merged.attrs["two_time"] = {k: v for k, v in two_time_ds.attrs.items() if k != "provenance"}
    return merged


# --- chaos ------------------------------------------------------------------------------------

def _add_chaos_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "chaos", help="the order-to-chaos job: simulation vs DMFT over a grid of g",
        description="Sweep g x seeds: simulate, measure variance, autocorrelation, "
                    "autocorrelation time and the largest Lyapunov exponent, solve the DMFT for "
                    "the same g; save one zarr run, draw a 4-panel PNG and print the table.")
    parser.add_argument("--g", type=float, nargs="+", default=None,
                        help="explicit list of gains (overrides --g-min/--g-max/--g-num)")
    parser.add_argument("--g-min", type=float, default=0.5, help="smallest gain (default 0.5)")
    parser.add_argument("--g-max", type=float, default=3.0, help="largest gain (default 3.0)")
    parser.add_argument("--g-num", type=int, default=6, help="number of gains (default 6)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1],
                        help="seeds (default 0 1)")
    parser.add_argument("--N", type=int, default=500, help="neurons (default 500)")
    parser.add_argument("--t1", type=float, default=200.0, help="saved window (default 200)")
    parser.add_argument("--transient", type=float, default=50.0,
                        help="discarded transient (default 50)")
    parser.add_argument("--max-lag", type=float, default=15.0, help="largest lag (default 15)")
    parser.add_argument("--phi", default="tanh", help="tanh (default) or erf")
    _add_job_output_flags(parser, "runs/chaos.zarr")
    parser.set_defaults(run=_run_chaos)


def _run_chaos(args) -> int:
    from .chaos import chaos, table

    figure = job_outputs(args)
    started = time.perf_counter()
    ds = chaos(g=args.g, g_min=args.g_min, g_max=args.g_max, g_num=args.g_num, seeds=args.seeds,
               N=args.N, t1=args.t1, transient=args.transient, phi=args.phi,
               max_lag=args.max_lag, out=args.out, overwrite=args.overwrite, figure=figure,
               verbose=progress_enabled())
    print(table(ds))
    print(saved_message(args, figure, started))
    return 0


# --- learn-bench ------------------------------------------------------------------------------

def _add_learn_bench_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "learn-bench", help="cost of the learning rules: time, memory, gradient error vs n and T",
        description="For each learning rule (BPTT-scan, discrete RTRL, continuous adjoint, RFLO), "
                    "network size n and horizon T: warm median time per gradient, peak memory "
                    "from XLA's memory analysis and gradient error vs a float64 reference; fits "
                    "the scaling exponents against theory; saves a zarr run and a log-log PNG.")
    parser.add_argument("--quick", action="store_true",
                        help="reduced grid (under a minute) instead of the default (< 10 min)")
    parser.add_argument("--repeats", type=int, default=3, help="warm calls per cell (median)")
    parser.add_argument("--seed", type=int, default=0, help="network seed (default 0)")
    _add_job_output_flags(parser, "runs/learn_bench.zarr")
    parser.set_defaults(run=_run_learn_bench)


def _run_learn_bench(args) -> int:
    from .learn_bench import learn_bench, table

    figure = job_outputs(args)
    started = time.perf_counter()
    ds = learn_bench(grid="quick" if args.quick else "default", repeats=args.repeats,
                     seed=args.seed, out=args.out, overwrite=args.overwrite, figure=figure,
                     verbose=progress_enabled())
    print(table(ds))
    print(saved_message(args, figure, started))
    return 0


# --- deep -------------------------------------------------------------------------------------

def _add_deep_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "deep", help="deep mean-field theory (q-map, c-map, chi1) vs random deep networks",
        description="Compute the (sigma_w, sigma_b) phase diagram (q*, c*, chi1, depth scales), "
                    "simulate random deep networks at --sim-sigma-w and --sim-sigma-b, compare "
                    "q^l and c^l with the maps; save one zarr run and draw a 4-panel PNG.")
    parser.add_argument("--sigma-w", type=float, nargs=3, default=[0.5, 4.5, 41],
                        metavar=("MIN", "MAX", "NUM"),
                        help="phase-diagram sigma_w grid (default 0.5 4.5 41)")
    parser.add_argument("--sigma-b", type=float, nargs=3, default=[0.0, 1.0, 21],
                        metavar=("MIN", "MAX", "NUM"),
                        help="phase-diagram sigma_b grid (default 0 1 21)")
    parser.add_argument("--sim-sigma-w", type=float, nargs="+", default=[1.3, 2.5, 4.0],
                        help="sigma_w of the simulated networks (default 1.3 2.5 4.0)")
    parser.add_argument("--sim-sigma-b", type=float, default=0.3,
                        help="sigma_b of the simulated networks (default 0.3)")
    parser.add_argument("--depth", type=int, default=20, help="layers (default 20)")
    parser.add_argument("--width", type=int, default=1000, help="neurons per layer (default 1000)")
    parser.add_argument("--phi", default="tanh", help="tanh (default), erf or relu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="network seeds (default 0 1 2)")
    _add_job_output_flags(parser, "runs/deep.zarr")
    parser.set_defaults(run=_run_deep)


def _grid(name: str, values) -> list[float]:
    from .errors import ParameterError

    low, high, num = values
    if num != int(num) or num < 1:
        raise ParameterError(f"{name} NUM={num} must be a positive integer")
    step = (high - low) / max(int(num) - 1, 1)
    return [low + k * step for k in range(int(num))]


def _run_deep(args) -> int:
    from .deep import job

    figure = job_outputs(args)
    started = time.perf_counter()
    ds = job(sigma_w_grid=_grid("--sigma-w", args.sigma_w),
             sigma_b_grid=_grid("--sigma-b", args.sigma_b), sim_sigma_w=args.sim_sigma_w,
             sim_sigma_b=args.sim_sigma_b, depth=args.depth, width=args.width, phi=args.phi,
             seeds=args.seeds, out=args.out, overwrite=args.overwrite, figure=figure)
    err_q = abs(ds.q_sim.mean("seed") / ds.q_theory - 1).max().item()
    err_c = abs(ds.c_sim.mean("seed") - ds.c_theory).max().item()
    print(f"max |q_sim/q_map - 1| = {err_q:.3g}, max |c_sim - c_map| = {err_c:.3g} "
          f"(seed means, width {args.width})")
    print(saved_message(args, figure, started))
    return 0


# --- entry point ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurodyn",
        description="Dynamics and mean-field theory of Sompolinsky-Crisanti-Sommers networks.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_simulate_parser(subparsers)
    _add_runs_parser(subparsers)
    _add_sweep_parser(subparsers)
    _add_dmft_parser(subparsers)
    _add_chaos_parser(subparsers)
    _add_deep_parser(subparsers)
    _add_learn_bench_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .errors import NeurodynError

    try:
        return args.run(args)
    except (NeurodynError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"neurodyn {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
