"""The ``neurodyn`` command: a thin layer over the public API.

Each subcommand is a triple ``_add_<name>_parser(subparsers)`` / ``_check_<name>(args)`` /
``_run_<name>(args)`` registered in :func:`build_parser`. Every argument and every output path
is checked by ``_check_<name>`` before anything is computed, and before JAX is imported (the
checks use only the standard library and neurodyn's own light modules: validation, resources,
solvers, run_paths, plots), so a user's mistake costs a fraction of a second and nothing is
written. User mistakes (any :class:`~neurodyn.errors.NeurodynError` or ``ValueError``, and
argparse's own errors) print one line to stderr and exit with code 2.

JAX's persistent compilation cache is on for every command (:func:`enable_compilation_cache`):
a second ``neurodyn dmft --g 2`` in a new process loads the compiled solver instead of
compiling it again.

The jobs (chaos, deep) return Datasets; saving the run and drawing its figure happen here, at
the edge (:func:`_save_run_and_figure`), with the same :func:`neurodyn.plots.plot` that
``neurodyn plot PATH`` uses to redraw a saved run.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
from pathlib import Path

from . import nonlinearity_names

EXIT_USER_ERROR = 2

CACHE_ENV = "NEURODYN_CACHE_DIR"
"""Environment variable: the directory of the compilation cache of the command line; empty or
``off`` turns the cache off (the tests do, so that their compile counts see every compile)."""


def compilation_cache_dir() -> Path | None:
    """Where the command line keeps JAX's persistent compilation cache, or None (off).

    ``$NEURODYN_CACHE_DIR`` if set (empty or ``off``: no cache), else
    ``$XDG_CACHE_HOME/neurodyn/jax``, else ``~/.cache/neurodyn/jax``.
    """
    value = os.environ.get(CACHE_ENV)
    if value is not None:
        return None if value.strip().lower() in ("", "off") else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neurodyn" / "jax"


def enable_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`compilation_cache_dir` for this
    process and the processes it starts (dask workers of a sweep inherit the environment).

    Every compiled function is cached, however short its compile (JAX's default skips those
    under 1 s, which would skip most of the DMFT's pieces). Set through JAX's environment
    variables before JAX is imported (the command line imports it only after its checks), or
    through ``jax.config`` if it is imported already. A directory that cannot be created turns
    the cache off silently: it only saves time. Returns the directory used, or None.
    """
    directory = compilation_cache_dir()
    if directory is None:
        return None
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    settings = {"jax_compilation_cache_dir": str(directory),
                "jax_persistent_cache_min_compile_time_secs": 0.0,
                "jax_persistent_cache_min_entry_size_bytes": 0}
    if "jax" in sys.modules:
        for name, value in settings.items():
            sys.modules["jax"].config.update(name, value)
    else:
        for name, value in settings.items():
            os.environ[name.upper()] = str(value)
    return directory


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and negative numbers as values.

    argparse reads ``--atol -1e-6`` as two options because its test for a negative number
    (``_negative_number_matcher``, Python 3.11–3.13) knows no exponent; our flags never start with
    a digit, so every token that parses as a number is a value. (Checked: argparse has no public
    setting for either; a test pins both behaviours.)
    """

    _negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|nan)$")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _Parser._negative_number_matcher

    def error(self, message: str):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


def _number(text: str) -> int | float:
    """An int where the text is one, else a float; ranges are checked by ``_check_<name>``, so
    ``--N 1.5`` gets the same message as ``N=1.5`` in the API rather than argparse's."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _flag(dest: str) -> str:
    """The flag of an argparse destination: ``J_mean`` → ``--J-mean``."""
    return "--" + dest.replace("_", "-")


def _apply(args, checks) -> None:
    """Check each ``dest: validator`` of ``checks`` on ``args`` (None = not given, skipped);
    the validator's message names the flag and its value. Values are replaced by the checked."""
    for dest, check in checks.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if isinstance(value, list):
            setattr(args, dest, [check(_flag(dest), item) for item in value])
        else:
            setattr(args, dest, check(_flag(dest), value))


def _network_checks() -> dict:
    from . import model_parameters, resources, validation

    return {
        "N": validation.positive_int, "g": model_parameters.g, "phi": model_parameters.phi,
        "J_mean": model_parameters.J_mean, "symmetry": model_parameters.symmetry,
        "theta_mean": model_parameters.theta_mean, "theta_std": model_parameters.theta_std,
        "network_seed": validation.seed,
        "dtype": lambda name, value: validation.choice(name, value, resources.FLOAT_DTYPES),
    }


def _check_network(args, memory: bool = True) -> None:
    """The network flags; with ``memory``, also whether building J fits (a caller that adds
    other arrays to the estimate checks the total itself)."""
    from . import resources

    _apply(args, _network_checks())
    K = getattr(args, "K", None)
    if K is not None:
        from .errors import ParameterError

        if isinstance(K, bool) or K != int(K) or not 1 <= K <= args.N:
            raise ParameterError(f"--K={K!r} must be an integer in [1, --N={args.N}] (the "
                                 "in-degree)")
        args.K = K = int(K)
    if not memory:
        return
    if K is None:
        resources.check_memory(f"--N={args.N} with --dtype={args.dtype}",
                               resources.network_bytes(args.N, args.dtype), hint="reduce --N")
        return
    resources.check_memory(f"--N={args.N}, --K={args.K} with --dtype={args.dtype}",
                           resources.sparse_network_bytes(args.N, args.K, args.dtype),
                           hint="reduce --N or --K")


def _network_bytes(args) -> int:
    """Memory of the network during a run: J (dense) or the (N, K) arrays (sparse)."""
    from . import resources

    K = getattr(args, "K", None)
    if K is None:
        return resources.network_bytes(args.N, args.dtype)
    return resources.sparse_run_bytes(args.trials, args.N, K, args.dtype)


def _check_outputs(args) -> None:
    """--out (and --figure) are checked before any work: nothing computed is lost to a path
    that cannot be written, and --overwrite replaces only a neurodyn run."""
    from .run_paths import check_output_path

    check_output_path(args.out, args.overwrite, flag="--out")
    figure = getattr(args, "figure", None)
    if figure is not None:
        _check_figure(figure, args.overwrite)


def _check_figure(path: Path, overwrite: bool) -> None:
    import os

    from .errors import RunError

    if path.suffix.lower() != ".png":
        raise RunError(f"--figure={str(path)!r} must be a .png path")
    if path.is_symlink() or path.is_dir():
        raise RunError(f"--figure={str(path)!r} is a directory or a symlink; give a .png file path")
    if path.exists() and not overwrite:
        raise RunError(f"--figure={str(path)!r} exists; pass --overwrite to replace it")
    parent = path.parent
    if not parent.is_dir():
        raise RunError(f"--figure={str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise RunError(f"--figure={str(path)!r}: directory {str(parent)!r} is not writable")


def _add_network_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--N", type=_number, default=1000, help="number of neurons (default 1000)")
    group.add_argument("--g", type=_number, default=2.0, help="gain inside phi, >= 0 (default 2.0)")
    group.add_argument("--phi", default="tanh",
                       help=f"nonlinearity: {', '.join(nonlinearity_names.NAMES)} (default tanh)")
    group.add_argument("--J-mean", type=_number, default=0.0, help="mean coupling times N")
    group.add_argument("--symmetry", type=_number, default=0.0,
                       help="corr(J_ij, J_ji) in [-1, 1] (default 0)")
    group.add_argument("--theta-mean", type=_number, default=0.0, help="mean bias")
    group.add_argument("--theta-std", type=_number, default=0.0, help="std of the biases")
    group.add_argument("--network-seed", type=_number, default=None,
                       help="seed of J and theta (default: --seed)")
    group.add_argument("--dtype", default="float64", help="float64 (default) or float32")


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None, help="write the run to this .zarr path")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing neurodyn run at --out (nothing else is ever "
                             "replaced)")


def _add_job_output_flags(parser: argparse.ArgumentParser, default_out: str) -> None:
    """--out, --overwrite and --figure of a job that writes a run and a figure."""
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help=f"zarr path (default {default_out})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing neurodyn run at --out and its figure")
    parser.add_argument("--figure", type=Path, default=None,
                        help="PNG path (default: --out with .png)")


def _default_figure(args) -> None:
    if args.figure is None:
        args.figure = args.out.with_suffix(".png")


def _save_run_and_figure(ds, args) -> None:
    """The edge of a job: its Dataset saved at --out (atomically), then its figure drawn from
    that Dataset at --figure, the same figure ``neurodyn plot`` redraws from the saved run."""
    import neurodyn as nd

    from . import plots

    nd.save_run(ds, args.out, overwrite=args.overwrite)
    plots.plot(ds, args.figure)


def saved_message(args, started: float) -> str:
    """The closing line of a job: where its run and figure are, and how long it took."""
    return f"Saved to {args.out}, figure {args.figure} ({time.perf_counter() - started:.0f} s)"


def progress_enabled() -> bool:
    """Progress bars only on a terminal."""
    return sys.stderr.isatty()


# --- simulate ---------------------------------------------------------------------------------

def _solver_help() -> str:
    """The --solver help, from the one list of solver names (neurodyn.solvers)."""
    from . import solvers

    def listing(table, default):
        return ", ".join(f"{name} (default)" if name == default else name for name in table)

    return (f"{listing(solvers.ODE_SOLVERS, solvers.DEFAULT_ODE_SOLVER)}; SDE: "
            f"{listing(solvers.SDE_SOLVERS, solvers.DEFAULT_SDE_SOLVER)}")


def _add_simulate_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate", help="integrate one SCS network and print a summary",
        description="Integrate dh = (-h + J phi(g h) + theta) dt + noise dW and summarise h.",
    )
    _add_network_flags(parser)
    parser.add_argument("--K", type=_number, default=None,
                        help="in-degree of a sparse network: K partners per neuron, weights "
                             "N(J_mean/K, 1/K) (default: dense)")
    group = parser.add_argument_group("integration")
    group.add_argument("--t1", type=_number, default=100.0, help="saved window (tau units)")
    group.add_argument("--dt-save", type=_number, default=0.1, help="spacing of saved times")
    group.add_argument("--transient", type=_number, default=50.0, help="discarded transient")
    group.add_argument("--trials", type=_number, default=1, help="independent initial conditions")
    group.add_argument("--noise", type=_number, default=0.0, help="additive noise sigma (SDE)")
    group.add_argument("--seed", type=_number, default=0, help="seed of h(0) and the noise")
    group.add_argument("--solver", default=None, help=_solver_help())
    group.add_argument("--rtol", type=_number, default=None,
                       help="relative tolerance of the adaptive solvers (default 1e-6)")
    group.add_argument("--atol", type=_number, default=None,
                       help="absolute tolerance of the adaptive solvers (default 1e-6)")
    group.add_argument("--dt", type=_number, default=None,
                       help="step of the fixed-step and SDE solvers (default 0.01)")
    group.add_argument("--h0-std", type=_number, default=1.0, help="std of h(0)")
    _add_output_flags(parser)
    parser.set_defaults(run=_run_simulate, check=_check_simulate)


def _check_simulate(args) -> None:
    from . import model_parameters, resources, solvers, validation
    from .errors import ParameterError

    _check_network(args, memory=False)  # J and the trajectory are checked together below
    _apply(args, {
        "t1": validation.positive, "dt_save": validation.positive,
        "transient": validation.non_negative, "trials": validation.positive_int,
        "noise": model_parameters.noise, "seed": validation.seed, "rtol": validation.positive,
        "atol": validation.positive, "dt": validation.positive, "h0_std": validation.non_negative,
    })
    if args.dt_save > args.t1:
        raise ParameterError(f"--dt-save={args.dt_save!r} is larger than --t1={args.t1!r}; "
                             "need --dt-save <= --t1")
    spec = solvers.resolve(args.solver, noisy=args.noise > 0, noise=args.noise)
    solvers.check_step_settings(spec, rtol=args.rtol, atol=args.atol, dt=args.dt)
    n_save = math.floor(args.t1 / args.dt_save + 1e-9) + 1
    # One estimate, J's construction and the saved trajectory, named by every flag that sets
    # it; refused before JAX is imported or anything is written.
    resources.check_memory(
        f"--N={args.N}{'' if args.K is None else f', --K={args.K}'} with "
        f"--dtype={args.dtype}, --trials={args.trials} x {n_save} saved "
        f"times (--t1={args.t1}, --dt-save={args.dt_save})",
        resources.trajectory_bytes(args.trials, n_save, args.N, args.dtype)
        + _network_bytes(args),
        hint="reduce --N, --trials or --t1, raise --dt-save, or use --dtype float32 (half the "
             "bytes of J and of the trajectory once built)")
    _check_outputs(args)


def _run_simulate(args) -> int:
    import neurodyn as nd

    net = nd.Network.random(
        N=args.N, g=args.g, phi=args.phi, J_mean=args.J_mean, symmetry=args.symmetry,
        theta_mean=args.theta_mean, theta_std=args.theta_std,
        seed=args.seed if args.network_seed is None else args.network_seed, dtype=args.dtype,
        K=args.K,
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
        f"Simulated N={net.N}{'' if args.K is None else f', K={args.K}'} {net.phi.name} "
        f"network, g={args.g}, {args.trials} trial(s), "
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

EXIT_DAMAGED = 1
"""Exit code of ``runs verify`` when the store has missing or corrupt data."""


def _add_runs_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs", help="list saved runs; runs show PATH; runs verify PATH",
        description="List the runs and sweeps saved in a directory (kind, status, size, key "
                    "parameters); `runs show PATH` prints one run or sweep in full; `runs verify "
                    "PATH` reads every chunk of a run or sweep, checks its checksum against the "
                    "store's manifest and lists what is missing or corrupt (exit code 0 when "
                    "intact, 1 when damaged, 2 on a user error).")
    parser.add_argument("directory", nargs="?", type=Path, default=Path("runs"),
                        help="directory holding runs (default runs/), or the word show / verify")
    parser.add_argument("path", nargs="?", type=Path, default=None,
                        help="with show or verify: the run or sweep store")
    parser.set_defaults(run=_run_runs, check=_check_runs)


_RUNS_ACTIONS = ("show", "verify")


def _check_runs(args) -> None:
    from .errors import RunError

    action = str(args.directory)
    if args.path is None:
        if action in _RUNS_ACTIONS:
            raise RunError(f"`neurodyn runs {action}` needs the PATH of a run or sweep store")
        if not args.directory.is_dir():
            raise RunError(f"runs directory {action!r} does not exist or is not a directory")
        return
    if action not in _RUNS_ACTIONS:
        raise RunError(f"unexpected argument {str(args.path)!r}; use `neurodyn runs [DIR]`, "
                       "`neurodyn runs show PATH` or `neurodyn runs verify PATH`")
    if not args.path.exists():
        raise RunError(f"no run at {str(args.path)!r}")


def _run_runs(args) -> int:
    from . import storage

    if args.path is not None and str(args.directory) == "verify":
        report = storage.verify_run(args.path)
        print(report)
        return 0 if report.ok else EXIT_DAMAGED
    if args.path is not None:
        print(storage.show_run(args.path))
        return 0
    records = storage.list_runs(args.directory)
    if not records:
        print(f"no runs in {args.directory}")
        return 0
    width = max(9, *(len(record["status"]) for record in records))  # "damaged (…)" is long
    print(f"{'path':40s} {'kind':12s} {'status':{width}s} {'size':>9s}  parameters")
    for record in records:
        size = f"{record['size_bytes'] / 2**20:.1f}M"
        print(f"{record['path']:40s} {record['kind']:12s} {record['status']:{width}s} "
              f"{size:>9s}  {record['parameters']}")
    return 0


# --- sweep ------------------------------------------------------------------------------------

EXIT_POINTS_FAILED = 1
"""Exit code of a sweep that finished with failed points (or, after errors, pending ones)."""


def _add_sweep_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep", help="run or resume a parameter sweep on dask.distributed",
        description="Run the sweep described by CONFIG.toml ([grid] parameter lists, [compute] "
                    "quantities, [network]/[simulate] fixed settings, out path) into one zarr "
                    "store. Run the same command again to resume: finished points are kept, "
                    "after their data are verified. One process at a time works on a store (a "
                    "lock file next to it). Exit code 0 when every point is done, 1 when some "
                    "failed, 2 on a user error.")
    parser.add_argument("config", type=Path, help="the sweep config (TOML)")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (default $NEURODYN_SCHEDULER; "
                             "otherwise a LocalCluster is started)")
    parser.add_argument("--workers", type=_number, default=None,
                        help="LocalCluster worker processes (default: one per CPU); 1 computes "
                             "in this process without dask")
    parser.add_argument("--out", type=Path, default=None, help="store path (overrides out)")
    parser.add_argument("--retry-failed", action="store_true",
                        help="recompute points that failed in an earlier session")
    parser.set_defaults(run=_run_sweep, check=_check_sweep)


def _check_sweep(args) -> None:
    import os

    from . import validation
    from .errors import RunError
    from .lock import check_unlocked
    from .sweep_config import load_config

    _apply(args, {"workers": validation.positive_int})
    args.config_checked = load_config(args.config)
    _check_sweep_memory(args.config_checked)
    store = Path(args.out if args.out is not None else args.config_checked.out)
    if not store.parent.is_dir():
        raise RunError(f"output directory {str(store.parent)!r} of the sweep store does not exist")
    if not os.access(store.parent, os.W_OK | os.X_OK):
        raise RunError(f"output directory {str(store.parent)!r} of the sweep store is not writable")
    check_unlocked(store)  # another sweep on this store: refused before JAX or dask start


def _check_sweep_memory(config) -> None:
    """Refuse a sweep whose largest point cannot fit in this machine's memory (J's construction
    and, when a simulation runs, its saved trajectory), before the store is created: otherwise
    every point would fail on its worker. Only sizes the config gives are checked (the defaults,
    N = 1000 and one trial, fit anywhere); a dask worker on another machine has its own memory,
    which its point's own check (Network.random, simulate) meets again there."""
    from . import resources

    grid, network, simulate = dict(config.grid), config.table("network"), config.table("simulate")
    sizes = grid.get("N", (network["N"],) if "N" in network else ())
    if not sizes:
        return
    N, dtype = max(sizes), network.get("dtype", "float64")
    trials = max(grid.get("trials", (simulate.get("trials", 1),)))
    needed = resources.network_bytes(N, dtype)
    what = f"sweep point with N={N}, dtype={dtype}"
    if {"simulate", "summary", "autocorrelation"} & set(config.quantities):
        # the defaults of simulate() (sweep_config checks dt_save <= t1 with the same ones)
        t1, dt_save = simulate.get("t1", 200.0), simulate.get("dt_save", 0.1)
        n_save = math.floor(t1 / dt_save + 1e-9) + 1
        needed += resources.trajectory_bytes(trials, n_save, N, dtype)
        what += f", trials={trials} x {n_save} saved times (t1={t1:g}, dt_save={dt_save:g})"
    resources.check_memory(what, needed, hint="reduce N or trials, or use [network] dtype = "
                                              "\"float32\"")


def _run_sweep(args) -> int:
    from .sweep import describe_result, run_sweep

    result = run_sweep(args.config_checked, scheduler=args.scheduler, workers=args.workers,
                       retry_failed=args.retry_failed, out=args.out, progress=progress_enabled())
    print(describe_result(result))
    return 0 if result.ok else EXIT_POINTS_FAILED


# --- dmft -------------------------------------------------------------------------------------


def _theory_checks() -> dict:
    """The shared parameters of the dmft and chaos commands, by the rules of
    :mod:`neurodyn.model_parameters` (φ: a bounded one, from the capability table, before JAX)."""
    from . import model_parameters

    return {"g": model_parameters.g, "phi": model_parameters.theory_phi,
            "J_mean": model_parameters.J_mean, "theta_mean": model_parameters.theta_mean,
            "theta_std": model_parameters.theta_std, "noise": model_parameters.noise}


_DMFT_PHI_HELP = (f"nonlinearity: {', '.join(nonlinearity_names.NAMES)} (default tanh); the "
                  "stationary DMFT takes an unbounded one (relu) and reports a divergent "
                  "network as such; --two-time needs a bounded one: "
                  f"{', '.join(nonlinearity_names.names_with(bounded=True))}")


def _unbounded_theory_phi(name, value):
    """φ for the stationary and sampling DMFT: bounded or not (relu)."""
    from . import model_parameters

    return model_parameters.theory_phi(name, value, unbounded=True)


def _add_dmft_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "dmft", help="solve the stationary (and optionally two-time) mean-field theory",
        description="Solve the stationary DMFT of an SCS network (variance Delta0, "
                    "autocorrelation Delta(tau), static mean, lambda_max) and optionally march the "
                    "two-time C(t, t') from h(0) ~ N(0, q0). Prints a summary; --out saves it.")
    parser.add_argument("--g", type=_number, default=2.0, help="gain inside phi, >= 0 (default 2.0)")
    parser.add_argument("--phi", default="tanh", help=_DMFT_PHI_HELP)
    parser.add_argument("--J-mean", type=_number, default=0.0, help="mean coupling times N")
    parser.add_argument("--theta-mean", type=_number, default=0.0, help="mean bias")
    parser.add_argument("--theta-std", type=_number, default=0.0, help="std of the biases")
    parser.add_argument("--noise", type=_number, default=0.0,
                        help="sigma of additive white noise")
    parser.add_argument("--tau-max", type=_number, default=40.0, help="largest lag (default 40)")
    parser.add_argument("--dtau", type=_number, default=0.02, help="lag step (default 0.02)")
    parser.add_argument("--two-time", type=_number, default=None, metavar="T1",
                        help="also march the two-time DMFT up to T1 (theta = J_mean = 0 only)")
    parser.add_argument("--q0", type=_number, default=1.0, help="two-time: variance of h(0)")
    parser.add_argument("--dt", type=_number, default=0.05, help="two-time: time step")
    parser.add_argument("--window", type=_number, default=None,
                        help="two-time: keep only lags <= WINDOW (default: full square)")
    _add_output_flags(parser)
    parser.set_defaults(run=_run_dmft, check=_check_dmft)


def _check_dmft(args) -> None:
    from . import validation
    from .errors import ParameterError

    _apply(args, {
        **_theory_checks(), "phi": _unbounded_theory_phi,
        "tau_max": validation.positive, "dtau": validation.positive,
        "two_time": validation.positive, "q0": validation.non_negative, "dt": validation.positive,
        "window": validation.positive,
    })
    if args.dtau > args.tau_max:
        raise ParameterError(f"--dtau={args.dtau!r} is larger than --tau-max={args.tau_max!r}")
    if args.two_time is not None:
        from . import model_parameters

        model_parameters.theory_phi("--phi", args.phi)  # the two-time march: bounded φ only
        if args.J_mean or args.theta_mean or args.theta_std:
            raise ParameterError(
                f"--two-time supports --J-mean = --theta-mean = --theta-std = 0 only; got "
                f"{args.J_mean!r}, {args.theta_mean!r}, {args.theta_std!r}")
        if args.dt > args.two_time / 4:
            raise ParameterError(f"--dt={args.dt!r} must be <= --two-time/4 = {args.two_time / 4!r}")
    else:
        given = [flag for flag, value, default in (("--q0", args.q0, 1.0), ("--dt", args.dt, 0.05),
                                                   ("--window", args.window, None))
                 if value != default]
        if given:
            raise ParameterError(f"{', '.join(given)} given without --two-time T1: they set the "
                                 "two-time solve only; add --two-time or drop them")
    _check_outputs(args)


def _run_dmft(args) -> int:
    from . import dmft
    from .mean_field import MeanFieldModel

    model = MeanFieldModel(g=args.g, phi=args.phi, J_mean=args.J_mean,
                           theta_mean=args.theta_mean, theta_std=args.theta_std, noise=args.noise)
    if args.two_time is not None:  # its size and settings are checked before any solve
        two_time_plan = {"model": model, "t1": args.two_time, "dt": args.dt, "q0": args.q0,
                         "window": args.window}
        dmft.check_two_time_plan(**two_time_plan)  # memory and run time, before any solve
    # plain values: printing them needs no xarray (its import and first Dataset cost ~2 s)
    values = dmft.stationary_arrays(model=model, tau_max=args.tau_max, dtau=args.dtau)
    print(f"DMFT g={args.g} {args.phi}: phase {values['attrs']['phase']}, Delta0 "
          f"{values['delta0']:.6g}, static variance {values['delta_inf']:.6g}, mean "
          f"{values['mean']:.6g}, lambda_max {values['lambda_max']:.6g}, tau_corr "
          f"{values['tau_corr']:.4g}, g_c {values['g_critical']:.6g}, residual "
          f"{values['residual']:.2e}")
    if args.out is None and args.two_time is None:
        return 0
    ds = dmft.stationary_dataset(values)
    if args.two_time is not None:
        tt = dmft.two_time(**two_time_plan)
        ds = _merge_two_time(ds, tt)
        print(f"two-time: C(t,t) from {args.q0:g} to {float(tt.variance[-1]):.6g} at "
              f"t={args.two_time:g}")
    if args.out is not None:
        from .storage import save_run

        save_run(ds, args.out, overwrite=args.overwrite)
        print(f"Saved to {args.out}")
    return 0


def _merge_two_time(stationary_ds, two_time_ds):
    """One Dataset holding both solutions (two-time attrs kept under ``two_time``)."""
    import xarray as xr

    merged = xr.merge([stationary_ds, two_time_ds.drop_attrs()], combine_attrs="override")
    merged.attrs["two_time"] = {k: v for k, v in two_time_ds.attrs.items() if k != "provenance"}
    return merged


# --- chaos ------------------------------------------------------------------------------------

_CHAOS_PHI_HELP = (f"nonlinearity: {', '.join(nonlinearity_names.NAMES)} (default tanh); an "
                   "unbounded one (relu) gets the stationary DMFT, which reports a divergent "
                   "network as such")


def _add_chaos_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "chaos", help="the order-to-chaos job: simulation vs DMFT over a grid of g",
        description="Sweep g x N x seeds: simulate, measure variance, autocorrelation, "
                    "autocorrelation time and the largest Lyapunov exponent(s), solve the DMFT "
                    "once per g; report seed means with standard errors and z-scores against "
                    "the theory (and, with several N, the 1/N extrapolation). The points run as "
                    "a resumable sweep into one zarr store (a dask LocalCluster by default): "
                    "re-run the same command after a kill to resume it. Draws a PNG and prints "
                    "the table and the wall time.")
    parser.add_argument("--g", type=_number, nargs="+", default=None,
                        help="explicit list of gains (overrides --g-min/--g-max/--g-num)")
    parser.add_argument("--g-min", type=_number, default=0.5, help="smallest gain (default 0.5)")
    parser.add_argument("--g-max", type=_number, default=3.0, help="largest gain (default 3.0)")
    parser.add_argument("--g-num", type=_number, default=6, help="number of gains (default 6)")
    parser.add_argument("--seeds", type=_number, nargs="+", default=[0, 1, 2, 3, 4, 5],
                        help="network seeds, >= 2 for a standard error (default 0 1 2 3 4 5)")
    parser.add_argument("--N", type=_number, nargs="+", default=[500],
                        help="neurons; several sizes add the 1/N extrapolation (default 500)")
    parser.add_argument("--t1", type=_number, default=200.0, help="saved window (default 200)")
    parser.add_argument("--transient", type=_number, default=50.0,
                        help="discarded transient (default 50)")
    parser.add_argument("--max-lag", type=_number, default=15.0, help="largest lag (default 15)")
    parser.add_argument("--lyapunov-t1", type=_number, default=None,
                        help="length of the Lyapunov average (default: --t1 or 100, the shorter)")
    parser.add_argument("--spectrum", type=_number, default=None, metavar="K",
                        help="compute the K leading Lyapunov exponents per point, with D_KY/N "
                             "and h_KS/N (default: the largest only)")
    parser.add_argument("--noise", type=_number, default=0.0,
                        help="sigma of additive white noise, simulation and DMFT (default 0)")
    parser.add_argument("--phi", default="tanh", help=_CHAOS_PHI_HELP)
    parser.add_argument("--symmetry", type=_number, default=0.0,
                        help="corr(J_ij, J_ji) in [-1, 1] (default 0); != 0 draws the theory "
                             "from the sampling DMFT (slower: ~20-60 s CPU per gain, no "
                             "lambda_max)")
    parser.add_argument("--dtype", default="float64", choices=("float64", "float32"),
                        help="float dtype of the networks: simulation and tangent dynamics "
                             "(default float64; float32 is the faster option)")
    parser.add_argument("--workers", type=_number, default=None,
                        help="LocalCluster worker processes (default: one per CPU); 1 computes "
                             "in this process without dask")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running dask scheduler (default $NEURODYN_SCHEDULER)")
    _add_job_output_flags(parser, "runs/chaos.zarr")
    parser.set_defaults(run=_run_chaos, check=_check_chaos)


def _check_chaos(args) -> None:
    from . import resources, validation
    from .chaos_plan import chaos_config, store_matches
    from .errors import ParameterError, RunError

    theory = _theory_checks()
    _apply(args, {
        "g": theory["g"], "g_min": theory["g"], "g_max": theory["g"],
        "phi": _unbounded_theory_phi, "symmetry": _network_checks()["symmetry"],
        "g_num": validation.positive_int, "seeds": validation.seed, "N": validation.positive_int,
        "t1": validation.positive, "transient": validation.non_negative,
        "max_lag": validation.positive, "lyapunov_t1": validation.positive,
        "spectrum": validation.positive_int, "noise": theory["noise"],
        "workers": validation.positive_int,
    })
    if args.g is None and args.g_max < args.g_min:
        raise ParameterError(f"--g-max={args.g_max!r} must be >= --g-min={args.g_min!r}")
    if args.max_lag > args.t1 / 2:
        raise ParameterError(f"--max-lag={args.max_lag!r} must be <= --t1/2 = {args.t1 / 2!r}")
    resources.check_memory(f"--N={max(args.N)} with --dtype={args.dtype}",
                           resources.network_bytes(max(args.N), args.dtype),
                           hint="reduce --N" + (" or use --dtype float32" if args.dtype == "float64"
                                                else ""))
    # the plan is the sweep the job runs; its checks name the flags' values
    args.config_checked, _ = _flagged(lambda: chaos_config(
        g=args.g, g_min=args.g_min, g_max=args.g_max, g_num=args.g_num, seeds=args.seeds,
        N=args.N, t1=args.t1, transient=args.transient, phi=args.phi, max_lag=args.max_lag,
        lyapunov_t1=args.lyapunov_t1, noise=args.noise, spectrum=args.spectrum, out=args.out,
        symmetry=args.symmetry, dtype=args.dtype))
    _default_figure(args)
    try:
        args.resume = store_matches(args.out, args.config_checked)
    except RunError:
        if not args.overwrite:
            raise
        args.resume = False
    if args.resume:  # the same command again: resume the store, redraw its figure
        _check_figure(args.figure, overwrite=True)
    else:
        _check_outputs(args)


def _flagged(build):
    """Call ``build``; a ParameterError's ``name=`` becomes ``--name=`` (the flag)."""
    from .errors import ParameterError

    try:
        return build()
    except ParameterError as error:
        text = re.sub(r"^seed=", "seeds=", str(error))  # the sweep's grid key is 'seed'
        text = re.sub(r"^(g_min|g_max|g_num|max_lag|lyapunov_t1|seeds|spectrum|t1|N|g|noise|"
                      r"symmetry)=",
                      lambda m: f"--{m.group(1).replace('_', '-')}=", text)
        raise ParameterError(text) from None


def _run_chaos(args) -> int:
    from . import plots
    from .chaos import chaos, table

    started = time.perf_counter()
    ds = chaos(g=args.g, g_min=args.g_min, g_max=args.g_max, g_num=args.g_num, seeds=args.seeds,
               N=args.N if len(args.N) > 1 else args.N[0], t1=args.t1, transient=args.transient,
               phi=args.phi, max_lag=args.max_lag, lyapunov_t1=args.lyapunov_t1,
               noise=args.noise, spectrum=args.spectrum, out=args.out, workers=args.workers,
               scheduler=args.scheduler, overwrite=args.overwrite, verbose=progress_enabled(),
               symmetry=args.symmetry, dtype=args.dtype)
    plots.plot(args.out, args.figure)  # drawn from the store, as `neurodyn plot` does
    print(table(ds))
    computed, points = ds.attrs["sweep_computed"], ds.attrs["sweep_points"]
    print(f"{computed} of {points} points computed in this session ({points - computed} were "
          f"already done); job wall time {ds.attrs['wall_time_s']:.1f} s")
    print(saved_message(args, started))
    return 0


# --- learn-bench ------------------------------------------------------------------------------

def _add_learn_bench_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "learn-bench", help="cost of the learning rules: time, memory, gradient error vs n and T",
        description="For each learning rule of the registry (exact gradients, RTRL "
                    "approximations, fixed-point rules) and the online FORCE rules, network size n "
                    "and horizon T: warm median time per gradient (per run for FORCE), peak memory "
                    "from XLA's memory analysis, gradient error and alignment vs a float64 "
                    "reference; fits "
                    "the scaling exponents against theory; saves a zarr run and a log-log PNG.")
    parser.add_argument("--quick", action="store_true",
                        help="reduced grid (under a minute) instead of the default (< 10 min)")
    parser.add_argument("--repeats", type=_number, default=3,
                        help="warm calls per cell (median)")
    parser.add_argument("--seed", type=_number, default=0, help="network seed (default 0)")
    _add_job_output_flags(parser, "runs/learn_bench.zarr")
    parser.set_defaults(run=_run_learn_bench, check=_check_learn_bench)


def _check_learn_bench(args) -> None:
    from . import validation

    _apply(args, {"repeats": validation.positive_int, "seed": validation.seed})
    _default_figure(args)
    _check_outputs(args)


def _run_learn_bench(args) -> int:
    from .learn_bench import learn_bench, table

    started = time.perf_counter()
    ds = learn_bench(grid="quick" if args.quick else "default", repeats=args.repeats,
                     seed=args.seed, verbose=progress_enabled())
    _save_run_and_figure(ds, args)
    print(table(ds))
    print(saved_message(args, started))
    return 0


# --- learn-race -------------------------------------------------------------------------------

def _add_learn_race_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "learn-race", help="cost to criterion of the learning rules: time, memory, trials, loss",
        description="Every rule that can train a trajectory task (the gradient rules with Adam, "
                    "FORCE and full-FORCE online) trains the same networks on sine generation "
                    "(g = 1.5) and a 3-bit flip-flop from the same initial weights, with a "
                    "learning rate (or RLS alpha) tuned per rule, until the held-out NMSE "
                    "reaches the criterion or the budget runs out; saves a zarr run and the "
                    "Pareto PNG (cost vs final loss).")
    parser.add_argument("--quick", action="store_true",
                        help="tiny grid (two rules, n = 8, one seed) instead of the default")
    _add_job_output_flags(parser, "runs/learn_race.zarr")
    parser.set_defaults(run=_run_learn_race, check=_check_learn_race)


def _check_learn_race(args) -> None:
    _default_figure(args)
    _check_outputs(args)


def _run_learn_race(args) -> int:
    from .learn_race import learn_race, table

    started = time.perf_counter()
    ds = learn_race(grid="quick" if args.quick else "default", verbose=progress_enabled())
    _save_run_and_figure(ds, args)
    print(table(ds))
    print(saved_message(args, started))
    return 0


# --- deep -------------------------------------------------------------------------------------

def _add_deep_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "deep", help="deep mean-field theory (q-map, c-map, chi1) vs random deep networks",
        description="Compute the (sigma_w, sigma_b) phase diagram (q*, c*, chi1, depth scales), "
                    "simulate random deep networks at --sim-sigma-w and --sim-sigma-b, compare "
                    "q^l and c^l with the maps; save one zarr run and draw a 4-panel PNG.")
    parser.add_argument("--sigma-w", type=_number, nargs=3, default=[0.5, 4.5, 41],
                        metavar=("MIN", "MAX", "NUM"),
                        help="phase-diagram sigma_w grid (default 0.5 4.5 41)")
    parser.add_argument("--sigma-b", type=_number, nargs=3, default=[0.0, 1.0, 21],
                        metavar=("MIN", "MAX", "NUM"),
                        help="phase-diagram sigma_b grid (default 0 1 21)")
    parser.add_argument("--sim-sigma-w", type=_number, nargs="+", default=[1.3, 2.5, 4.0],
                        help="sigma_w of the simulated networks (default 1.3 2.5 4.0)")
    parser.add_argument("--sim-sigma-b", type=_number, default=0.3,
                        help="sigma_b of the simulated networks (default 0.3)")
    parser.add_argument("--depth", type=_number, default=20, help="layers (default 20)")
    parser.add_argument("--width", type=_number, default=1000,
                        help="neurons per layer (default 1000)")
    parser.add_argument("--phi", default="tanh",
                        help=f"{', '.join(nonlinearity_names.NAMES)} (default tanh)")
    parser.add_argument("--seeds", type=_number, nargs="+", default=[0, 1, 2],
                        help="network seeds (default 0 1 2)")
    _add_job_output_flags(parser, "runs/deep.zarr")
    parser.set_defaults(run=_run_deep, check=_check_deep)


def _grid(flag: str, values) -> list[float]:
    """MIN MAX NUM → NUM evenly spaced values on [MIN, MAX]."""
    from . import validation
    from .errors import ParameterError

    low = validation.finite(f"{flag} MIN", values[0])
    high = validation.finite(f"{flag} MAX", values[1])
    num = validation.positive_int(f"{flag} NUM", values[2])
    if high < low:
        raise ParameterError(f"{flag} MAX={high!r} must be >= MIN={low!r}")
    step = (high - low) / max(num - 1, 1)
    return [low + k * step for k in range(num)]


def _check_deep(args) -> None:
    from . import validation
    from .errors import ParameterError

    args.sigma_w_grid = _grid("--sigma-w", args.sigma_w)
    args.sigma_b_grid = _grid("--sigma-b", args.sigma_b)
    _apply(args, {
        "sim_sigma_w": validation.positive, "sim_sigma_b": validation.non_negative,
        "depth": validation.positive_int, "width": validation.positive_int,
        "seeds": validation.seed,
        "phi": lambda name, value: validation.choice(name, value, nonlinearity_names.NAMES),
    })
    if min(args.sigma_w_grid) <= 0:
        raise ParameterError(f"--sigma-w MIN={args.sigma_w[0]!r} must be > 0 (a standard deviation)")
    if min(args.sigma_b_grid) < 0:
        raise ParameterError(f"--sigma-b MIN={args.sigma_b[0]!r} must be >= 0 (a standard deviation)")
    _default_figure(args)
    _check_outputs(args)


def _run_deep(args) -> int:
    from .deep import job

    started = time.perf_counter()
    ds = job(sigma_w_grid=args.sigma_w_grid, sigma_b_grid=args.sigma_b_grid,
             sim_sigma_w=args.sim_sigma_w, sim_sigma_b=args.sim_sigma_b, depth=args.depth,
             width=args.width, phi=args.phi, seeds=args.seeds)
    _save_run_and_figure(ds, args)
    err_q = abs(ds.q_sim.mean("seed") / ds.q_theory - 1).max().item()
    err_c = abs(ds.c_sim.mean("seed") - ds.c_theory).max().item()
    print(f"max |q_sim/q_map - 1| = {err_q:.3g}, max |c_sim - c_map| = {err_c:.3g} "
          f"(seed means, width {args.width})")
    print(saved_message(args, started))
    return 0


# --- plot -------------------------------------------------------------------------------------

def _add_plot_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot", help="redraw the figure of a saved chaos, deep, learn-bench or training run",
        description="Open the run saved at PATH and draw its job's figure from the stored data "
                    "(nothing is recomputed). Runs of kinds without a figure (a simulation, a "
                    "sweep) are refused.")
    parser.add_argument("path", type=Path, metavar="PATH", help="the saved run (.zarr)")
    parser.add_argument("--figure", type=Path, default=None,
                        help="PNG path (default: PATH with .png)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing figure")
    parser.set_defaults(run=_run_plot, check=_check_plot)


def _check_plot(args) -> None:
    from . import plots
    from .errors import RunError
    from .run_paths import root_attributes

    shown = str(args.path)
    if not args.path.exists():
        raise RunError(f"no run at {shown!r}")
    attributes = root_attributes(args.path)
    if attributes is None:
        raise RunError(f"{shown!r} is not a saved run (no readable zarr.json of a zarr group)")
    plots.check_kind(plots.figure_kind(attributes), source=repr(shown))
    if args.figure is None:
        args.figure = args.path.with_suffix(".png")
    _check_figure(args.figure, args.overwrite)


def _run_plot(args) -> int:
    from . import plots

    started = time.perf_counter()
    plots.plot(args.path, args.figure)
    print(f"Figure {args.figure} drawn from {args.path} ({time.perf_counter() - started:.1f} s)")
    return 0


# --- entry point ------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
    _add_learn_race_parser(subparsers)
    _add_plot_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, check every argument and output path, then run; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        if not exit_.code:  # --help: argparse's own exit with code 0
            raise
        return int(exit_.code)  # argparse's errors, already printed as one line
    from .errors import NeurodynError

    try:
        args.check(args)
        enable_compilation_cache()
        return args.run(args)
    except (NeurodynError, ValueError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"neurodyn {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"neurodyn {args.command}: interrupted; nothing half-written is left at the "
              "output path (runs are written atomically)", file=sys.stderr)
        return 130


def run() -> None:
    """The ``neurodyn`` script and ``python -m neurodyn``: :func:`main`, then leave at once.

    After a command that used JAX, Python's own shutdown takes ~0.5 s (XLA's client and its
    thread pools are torn down object by object: measured 0.56 s after a 1.7 s ``import
    neurodyn.dmft`` and one JAX call, 2026-12-01), a sixth of a repeated ``neurodyn dmft``.
    Everything a command writes is on disk when :func:`main` returns (runs are written and
    renamed synchronously, both compilation caches write when they compile, dask clusters close
    in their context managers), so the streams and logging are flushed and the process exits
    with ``os._exit``, skipping that teardown. Tests call :func:`main`, which returns.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    run()
