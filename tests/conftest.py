"""Shared test helpers."""

import hashlib
import math
import os
import shutil
import tempfile
import uuid
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, optimize

# XLA compilation is over half of the suite's CPU time (measured with jax.monitoring: 1074 s of
# backend compilation in 2018 s of tests, 2026-12-03), and XLA's newer CPU fusion emitters make
# it slower here without making these kernels faster: with them off the whole suite took 783 s
# instead of 1048 s (757 passed, same checkout, 2 workers on 2 cores) and every file was faster,
# the compute-bound DMFT and spectrum files too (0.72-0.94 of their time). Tried and rejected:
# adding --xla_backend_optimization_level=0 (924 s: compiles halve, but the DMFT files run at
# 1.4-2.1 times their time). Set before JAX starts (XLA reads the flags once, at backend
# start-up) and inherited by the CLI subprocesses and dask workers. Only on the jaxlib it was
# measured on: an XLA flag that a jaxlib does not know aborts the process.
FAST_COMPILE_FLAG = "--xla_cpu_use_fusion_emitters=false"
JAXLIB = tuple(int(part) for part in version("jaxlib").split(".")[:2])
if JAXLIB >= (0, 10) and "xla_cpu_use_fusion_emitters" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {FAST_COMPILE_FLAG}".strip()

from neurodyn.cli import enable_compilation_cache  # noqa: E402  (after XLA_FLAGS)

# One persistent JAX compilation cache per test run, shared by its processes: the pytest-xdist
# workers, the CLI run in-process and the CLI subprocesses (they inherit $NEURODYN_CACHE_DIR).
# Many files compile the same functions with the same shapes (the stationary DMFT's core alone
# is ~10 s of XLA per process); with the cache the first process compiles and the others load.
# The executables are the ones jax.jit would build, so the numbers do not change. Per run, so no
# timing depends on an earlier run; removed when the run ends. A worker's run id is the one
# pytest-xdist gives it; the controller (or a run without xdist) draws it and hands it down.
RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
RUN_CACHE = Path(tempfile.gettempdir()) / f"neurodyn-test-cache-{RUN_ID}"
os.environ["NEURODYN_CACHE_DIR"] = str(RUN_CACHE)
enable_compilation_cache()
# ... and for the other processes the tests start (dask workers), whether or not JAX is imported
os.environ.update(JAX_COMPILATION_CACHE_DIR=str(RUN_CACHE),
                  JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                  JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")


@pytest.fixture
def without_compilation_cache():
    """This test with the persistent cache off (tests that count compiles: a hit hides one)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    # JAX decides once per process whether the cache is used: reset makes it decide again
    previous = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    compilation_cache.reset_cache()
    yield
    jax.config.update("jax_compilation_cache_dir", previous)
    compilation_cache.reset_cache()


def scs_delta0_energy_condition(g: float) -> float:
    """Δ0 of h for φ = tanh from the SCS energy condition, by scipy quadrature and brentq.

    Independent of neurodyn's own Gaussian averages: Δ0²/2 = (⟨Φ(x)²⟩ − ⟨Φ(x)⟩²)/g² with
    x ~ N(0, g²Δ0) and Φ = log cosh (Sompolinsky, Crisanti & Sommers 1988, in h units).
    """

    def average(f, variance):
        std = math.sqrt(variance)
        return integrate.quad(
            lambda z: f(std * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
            -12, 12, epsabs=1e-14, epsrel=1e-12, limit=200,
        )[0]

    def log_cosh(x):
        return float(np.logaddexp(x, -x) - math.log(2.0))

    def condition(delta0):
        variance = g * g * delta0
        spread = average(lambda x: log_cosh(x) ** 2, variance) - average(log_cosh, variance) ** 2
        return delta0**2 / 2 - spread / g**2

    return optimize.brentq(condition, 1e-9, 100.0, xtol=1e-14)


def snapshot(directory: Path) -> dict[str, str]:
    """Every entry below ``directory`` (hidden ones too): files by md5, directories and
    symlinks by what they are, so any change, addition or removal shows."""
    entries = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            full = Path(root) / name
            key = str(full.relative_to(directory))
            if full.is_symlink():
                entries[key] = "symlink -> " + os.readlink(full)
            elif full.is_dir():
                entries[key] = "dir"
            else:
                entries[key] = hashlib.md5(full.read_bytes()).hexdigest()
    return entries


DAMAGE = {"delete": "missing chunk", "truncate": "corrupt chunk", "empty": "empty chunk",
          "flip": "corrupt chunk"}
"""Ways of damaging a stored chunk file → the kind of problem neurodyn.storage.verify_run
reports for it."""


def damage(path: Path, how: str, bit: int = 0x04) -> None:
    """Damage one chunk file: delete it, cut it in half, empty it, or flip ``bit`` of its
    middle byte (how ∈ DAMAGE)."""
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= bit
        path.write_bytes(bytes(data))
    else:
        raise AssertionError(how)


def fail_at(solver: str):
    """neurodyn.sweep.compute_point, except that the point with ``solver`` raises a
    ParameterError: a point failing at run time, injected (a sweep config can no longer hold a
    combination that simulate refuses: sweep_config rejects it at parse time)."""
    from neurodyn import sweep
    from neurodyn.errors import ParameterError

    compute = sweep.compute_point

    def compute_or_fail(config, point):
        if point.get("solver") == solver:
            raise ParameterError(f"injected failure at solver={solver!r}")
        return compute(config, point)

    return compute_or_fail


# `make test` runs pytest-xdist with --dist loadfile: each file (or unit of files, SHARED_PROCESS
# below) goes whole to the next free worker, in collection order. Collected alphabetically, the
# long files (test_sweep.py's dask clusters, test_simulate.py) came last and one worker ran them
# alone while the other idled. The longest files go first (longest-processing-time-first
# scheduling); the order of the tests inside a file, and what any test checks, is unchanged.
# Order: each file's test time in its worker (setup, call and teardown, subprocesses waited
# for; 2 workers, persistent cache on), measured 2026-12-04 with jax.monitoring's per-test
# timer: test_chaos.py 102 s; test_learning_trajectory.py 39, with test_learning_registry.py
# and test_learning_fixed_point.py 65 as one unit; test_simulate.py 66, test_dmft_sampling.py
# 54, test_sparse.py 45, test_dmft_relu.py 39, test_sweep.py 32, test_lyapunov.py 26,
# test_dmft_reliability.py 22, test_dmft_stationary.py 21, test_custom_nonlinearity.py 20,
# test_learn_bench.py 17, test_notebooks.py 17, test_divergence.py 16, test_learn_race.py 14,
# test_deep.py 14, test_sharding.py 12, test_spectrum.py 10; the rest ≤ 10 s each. Before
# this list was refreshed, three long files written after it (test_dmft_sampling.py,
# test_sparse.py, test_dmft_relu.py) went out in alphabetical order, and one worker ran
# test_sparse.py alone for the last ~29 s of a 387 s run.
LONGEST_FIRST = (
    "test_chaos.py", "test_learning_trajectory.py", "test_simulate.py", "test_dmft_sampling.py",
    "test_sparse.py", "test_dmft_relu.py", "test_sweep.py", "test_lyapunov.py",
    "test_dmft_reliability.py", "test_dmft_stationary.py", "test_custom_nonlinearity.py",
    "test_learn_bench.py", "test_notebooks.py", "test_divergence.py", "test_learn_race.py",
    "test_deep.py", "test_sharding.py", "test_spectrum.py",
)


def pytest_configure(config):
    # pytest-xdist (3.x) re-sorts loadfile/loadscope work units by their number of tests,
    # largest first, unless told not to (--loadscope-reorder is on by default): the order set
    # below was discarded, and the few-test long files (test_chaos.py: 9 tests,
    # test_notebooks.py: 5) went out after the many-test quick ones (test_cli_errors.py: 64),
    # leaving one worker alone with them at the end. Checked on a two-file project: with this,
    # the file listed first runs first; without it, the file with more tests does.
    if hasattr(config.option, "loadscopereorder"):  # only with pytest-xdist installed
        config.option.loadscopereorder = False
    if getattr(config.option, "testrunuid", "") is None:  # the controller: its workers share
        config.option.testrunuid = RUN_ID  # RUN_CACHE (pytest-xdist reads this option)


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):  # the controller, or a run without pytest-xdist
        shutil.rmtree(RUN_CACHE, ignore_errors=True)


SHARED_PROCESS = {
    "test_learning_registry.py": "test_learning_trajectory.py",
    "test_learning_fixed_point.py": "test_learning_trajectory.py",
}
"""Files that run in the worker process of another file (``--dist loadfile``, see
pytest_xdist_make_scheduler). test_learning_registry.py checks every rule on the networks and
tasks of test_learning_trajectory.py and test_learning_fixed_point.py, with the same shapes and
static options: in one process each rule compiles once for the three files, in three processes
once per file."""


def unit(name: str) -> str:
    """The file whose worker runs the tests of file ``name``."""
    return SHARED_PROCESS.get(name, name)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    # stable: files stay whole, a unit's other files follow its own, the rest alphabetical
    items.sort(key=lambda item: (rank.get(unit(item.path.name), len(rank)),
                                 unit(item.path.name), item.path.name != unit(item.path.name)))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """--dist loadfile, with the files of SHARED_PROCESS sent to the worker of their unit's file.
    (xdist's own grouping, --dist loadgroup, marks the node id in a way pytest 9 ignores:
    checked, the marked tests were spread over both workers.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SharedProcessScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = Path(super()._split_scope(nodeid))
            return str(path.with_name(unit(path.name)))

    return SharedProcessScheduling(config, log)


def _keywords(function) -> set[str]:
    import inspect

    return {name for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL)
            and name != "self"}


def xarray_keywords() -> set[str]:
    """The named parameters of xarray's methods that also take dimension names as keywords
    (``ds.sel(g=2.0)``) and of its plot functions: a dimension, coordinate or variable of one
    of these names is silently taken for the parameter (``ds.sel(method="bptt")`` is a
    nearest-neighbour lookup of nothing, and returns every entry)."""
    import xarray as xr
    from xarray.plot import dataarray_plot

    names: set[str] = set()
    for cls in (xr.Dataset, xr.DataArray):
        for method in ("sel", "isel", "interp", "reindex", "head", "tail", "thin", "drop_sel",
                       "drop_isel", "shift", "roll", "pad", "rolling", "coarsen", "resample",
                       "expand_dims", "squeeze", "sortby", "assign_coords"):
            names |= _keywords(getattr(cls, method))
    for plot in ("plot", "line", "hist", "step", "imshow", "pcolormesh", "contourf", "scatter"):
        names |= _keywords(getattr(dataarray_plot, plot))
    return names - {"darray", "indexers", "coords"}


def keyword_clashes(ds) -> set[str]:
    """Dimensions, coordinates and data variables of ``ds`` named like an xarray keyword."""
    return (set(map(str, ds.dims)) | set(map(str, ds.variables))) & xarray_keywords()
