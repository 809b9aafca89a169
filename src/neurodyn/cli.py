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
