"""Parameter sweeps on dask.distributed that survive being killed.

A sweep (see :mod:`neurodyn.sweep_config` for the TOML format) is a grid of parameter points and
a list of quantities to compute at each. All results live in one zarr v3 store whose sweep
dimensions (the grid keys, or ``point`` for a zipped list) are coordinates. Every array is
chunked with one chunk per point along the sweep dimensions, so each point is written by exactly
one task and no two workers ever write the same chunk (zarr's local store writes each chunk to a
temporary file and renames it, so a chunk is either old or new, never torn).

Nothing is lost:

- The store is created (metadata, coordinates, config, provenance) under a temporary name and
  renamed into place, so it either exists whole or not at all.
- A point writes its data first, then its bookkeeping (``point_error``, ``point_seconds``,
  ``point_computations``), and last its completion marker ``point_status`` (0 pending, 1 done,
  2 failed). A point killed before the marker is pending and is computed again on resume; a
  point with a marker is not recomputed unless its stored data are damaged (last item;
  ``point_computations`` counts completed computations of each point, so a test can check that
  every point was computed once).
- A failing point (divergence, bad parameter combination) is marked failed with its error; the
  others finish. Failed points are retried only with ``retry_failed``.
- A task whose worker dies is rescheduled by dask on another worker; exceptions outside the
  point's own failure handling (e.g. an I/O error) are retried ``TASK_RETRIES`` times.
- A store made by a different config (fingerprint of the canonical config) is refused.
- Every array carries zarr's CRC32C checksum and the store a manifest (:mod:`neurodyn.storage`).
  A resume first reads and checksums every chunk of the points marked done and recomputes those
  whose data are missing or damaged (the session record says how many).
- One process at a time works on a store: :func:`run_sweep` holds a lock file next to it
  (:mod:`neurodyn.lock`) for the whole session, so a second sweep on the same store is refused
  with the holder's host and pid instead of computing the same points twice; the lock of a
  killed sweep is replaced when its process is provably gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import dmft, storage, validation
from .errors import CorruptRunError, NeurodynError, RunError
from .lock import store_lock
from .mean_field import MeanFieldModel
from .provenance import now, provenance
from .run_paths import check_output_path
from .sweep_config import SweepConfig, load_config

SCHEDULER_ENV = "NEURODYN_SCHEDULER"
"""Environment variable with the address of an existing dask scheduler (like ``--scheduler``)."""

TASK_RETRIES = 2
"""dask ``retries=`` for a point task that raises outside its own failure handling."""

PENDING, DONE, FAILED = 0, 1, 2
STATUS_NAMES = {PENDING: "pending", DONE: "done", FAILED: "failed"}
BOOKKEEPING = ("point_status", "point_computations", "point_seconds", "point_error")

_SUMMARY = ("second_moment", "variance", "mean_abs", "mean")
_DMFT_SCALARS = ("delta0", "delta_inf", "lambda_max", "tau_corr")


def _defaults(function) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


# --- what one point computes ------------------------------------------------------------------

def point_settings(config: SweepConfig, point: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of Network.random, simulate, lyapunov, autocorrelation and
    dmft.stationary at one grid point (fixed tables overlaid with the point's values), and,
    when the sweep computes ``dmft``, the point's ``model`` (a MeanFieldModel of the network and
    the noise: what ``dmft.stationary(model=..., **settings["dmft"])`` solves)."""
    network = config.table("network")
    simulate = config.table("simulate")
    for key, value in point.items():
        if key == "network_seed":
            network["seed"] = value
        elif key == "seed":
            simulate["seed"] = value
        elif key in ("noise", "trials", "transient", "solver", "rtol", "atol", "dt", "h0_std"):
            simulate[key] = value
        else:
            network[key] = value
    simulate.setdefault("seed", 0)
    network.setdefault("seed", simulate["seed"])
    lyapunov = {"seed": simulate["seed"], **config.table("lyapunov")}
    theory = {"critical_gain": False, **config.table("dmft")}
    settings = {"network": network, "simulate": simulate, "lyapunov": lyapunov,
                "autocorrelation": config.table("autocorrelation"), "dmft": theory}
    if "dmft" in config.quantities:
        settings["model"] = MeanFieldModel.from_description(network, simulate.get("noise", 0.0))
    return settings


def compute_point(config: SweepConfig, point: dict[str, Any]) -> dict[str, np.ndarray]:
    """Compute the config's quantities at one point; returns arrays without the sweep dims.

    Raises whatever the API raises (ParameterError, DivergenceError, ConvergenceError, …).
    """
    import neurodyn as nd

    settings = point_settings(config, point)
    quantities = config.quantities
    out: dict[str, np.ndarray] = {}
    if {"simulate", "summary", "autocorrelation", "lyapunov"} & set(quantities):
        net = nd.Network.random(**settings["network"])
    if {"simulate", "summary", "autocorrelation"} & set(quantities):
        ds = nd.simulate(net, **settings["simulate"])
        if "simulate" in quantities:
            out["h"] = ds["h"].values
        if "summary" in quantities:
            out.update({name: np.asarray(value) for name, value in nd.summary(ds).items()})
        if "autocorrelation" in quantities:
            out["autocorrelation"] = nd.autocorrelation(ds, **settings["autocorrelation"]).values
    if "lyapunov" in quantities:
        out["lyapunov"] = nd.lyapunov(net, **settings["lyapunov"]).values
    if "dmft" in quantities:
        theory = dmft.stationary(model=settings["model"], **settings["dmft"])
        out["dmft_delta"] = theory["delta"].values
        out.update({f"dmft_{name}": np.asarray(theory[name].values) for name in _DMFT_SCALARS})
    return out


@dataclasses.dataclass(frozen=True)
class _Variable:
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    attrs: dict[str, Any]


def layout(config: SweepConfig) -> tuple[dict[str, _Variable], dict[str, tuple]]:
    """The stored variables (inner dims, shapes, dtypes) and inner coordinates, known before
    anything is computed so the store can be created up front."""
    import neurodyn as nd

    simulate = {**_defaults(nd.simulate), **config.table("simulate")}
    network = {**_defaults(nd.Network.random), **config.table("network")}
    lyapunov = {**_defaults(nd.lyapunov), **config.table("lyapunov")}
    n_time = int(np.floor(simulate["t1"] / simulate["dt_save"] + 1e-9)) + 1
    times = simulate["transient"] + simulate["dt_save"] * np.arange(n_time, dtype=np.float64)
    tau_units = {"units": "tau (membrane time constant)"}
    variables: dict[str, _Variable] = {}
    coords: dict[str, tuple] = {}
    if "simulate" in config.quantities:
        variables["h"] = _Variable(("trial", "time", "neuron"),
                                   (simulate["trials"], n_time, network["N"]), network["dtype"],
                                   {"long_name": "state h", "units": "1"})
        coords["trial"] = (np.arange(simulate["trials"]), {"long_name": "trial index"})
        coords["time"] = (times, tau_units)
        coords["neuron"] = (np.arange(network["N"]), {"long_name": "neuron index"})
    if "summary" in config.quantities:
        for name in _SUMMARY:
            variables[name] = _Variable((), (), "float64", {
                "long_name": f"{name.replace('_', ' ')} of h over trial, time and neuron"})
    if "autocorrelation" in config.quantities:
        # the lag grid of a zero run on the same time axis: the analysis function decides it
        probe = xr.Dataset({"h": (("trial", "time", "neuron"), np.zeros((1, n_time, 1)))},
                           coords={"time": times})
        lag = nd.autocorrelation(probe, **config.table("autocorrelation"))
        variables["autocorrelation"] = _Variable(("lag",), lag.shape, "float64", dict(lag.attrs))
        coords["lag"] = (lag["lag"].values, tau_units)
    if "lyapunov" in config.quantities:
        variables["lyapunov"] = _Variable(("exponent",), (lyapunov["k"],), "float64",
                                          {"long_name": "Lyapunov exponents", "units": "1/tau"})
        coords["exponent"] = (np.arange(lyapunov["k"]), {"long_name": "0 = largest"})
    if "dmft" in config.quantities:
        settings = {**_defaults(dmft.stationary), **config.table("dmft")}
        # stationary() puts Delta on tau = k dtau, k = 0 .. round(tau_max/dtau); checked on write
        n_tau = int(round(settings["tau_max"] / settings["dtau"])) + 1
        variables["dmft_delta"] = _Variable(("tau",), (n_tau,), "float64", {
            "long_name": "DMFT connected autocorrelation Delta(tau)", "units": "h^2"})
        coords["tau"] = (np.round(np.arange(n_tau) * settings["dtau"], 12), tau_units)
        for name in _DMFT_SCALARS:
            variables[f"dmft_{name}"] = _Variable((), (), "float64", {
                "long_name": f"DMFT {name}",
                "units": "1/tau" if name == "lambda_max" else "tau" if name == "tau_corr" else "h^2"})
    return variables, coords


# --- the store --------------------------------------------------------------------------------

def _values(values: tuple[Any, ...]) -> np.ndarray:
    # strings as variable-length (zarr v3 "string"; fixed-width unicode has no v3 spec yet)
    if all(isinstance(value, str) for value in values):
        return np.asarray(values, dtype=object)
    return np.asarray(values)


def sweep_coords(config: SweepConfig) -> dict[str, Any]:
    """The store's coordinates of the swept dimensions ({name: (dim, values, attrs)}), as
    :func:`create_store` writes them (public: the chaos job builds its in-memory result on the
    same coordinates)."""
    if config.grid_mode == "product":
        return {key: (key, _values(values), {"long_name": f"swept {key}"})
                for key, values in config.grid}
    coords: dict[str, Any] = {"point": ("point", np.arange(config.shape[0]))}
    coords.update({key: ("point", _values(values), {"long_name": f"swept {key}"})
                   for key, values in config.grid})
    return coords


def _read_attrs(store: Path) -> dict[str, Any]:
    try:
        return json.loads((store / "zarr.json").read_text()).get("attributes", {})
    except (OSError, ValueError) as error:
        raise RunError(f"{str(store)!r} is not a readable zarr v3 store: {error}") from None


def _write_attrs(store: Path, attrs: dict[str, Any]) -> None:
    """Replace the group attrs atomically (write a temporary zarr.json, rename it over)."""
    metadata = json.loads((store / "zarr.json").read_text())
    metadata["attributes"] = storage.json_ready(attrs)
    temporary = store / f".zarr.json.{uuid.uuid4().hex[:8]}"
    temporary.write_text(json.dumps(metadata, indent=2))
    os.replace(temporary, store / "zarr.json")
    storage.write_run_toml(store, metadata["attributes"])


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    keys = sorted(set(old) | set(new))
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}")
    return out


def check_store(store: Path, config: SweepConfig) -> None:
    """Refuse to resume a store that is not a sweep or was made by another config."""
    if not (store / "zarr.json").is_file():
        raise RunError(f"{str(store)!r} exists but is not a zarr v3 store; choose another out path")
    attrs = _read_attrs(store)
    if attrs.get("kind") != "sweep":
        raise RunError(f"{str(store)!r} is a {attrs.get('kind', 'unknown')!r} store, not a sweep; "
                       "choose another out path")
    stored = attrs.get("sweep", {})
    if stored.get("fingerprint") != config.fingerprint():
        differ = _differences(stored.get("config", {}), config.as_dict())
        raise RunError(f"{str(store)!r} was created by another sweep config (differs in "
                       f"{', '.join(differ) or 'fingerprint'}); refusing to mix results — use "
                       "another out path")


def create_store(store: Path, config: SweepConfig, extra: xr.Dataset | None = None,
                 attrs: dict[str, Any] | None = None) -> None:
    """Create the empty sweep store atomically: metadata, coordinates, attrs, no point data.

    ``extra`` (optional): arrays known before any point is computed (a job's theory per value
    of a sweep dim, e.g. the chaos job's DMFT per g), over the sweep dims and the inner
    coordinates; they are written whole at creation, so a resume never recomputes them, and
    the manifest lists them as ordinary (not per-point) arrays. ``attrs``: extra root attrs
    (a job's name and settings), merged over the sweep's own.
    """
    import dask.array as da

    if not store.parent.is_dir():
        raise RunError(f"output directory {str(store.parent)!r} does not exist")
    variables, inner_coords = layout(config)
    dims, shape = config.dims, config.shape
    data_vars: dict[str, Any] = {}
    encoding: dict[str, Any] = {}
    for name, var in variables.items():
        inner_chunks = tuple(storage.chunk_sizes(_Shape(var)).values())
        chunks = (1,) * len(dims) + inner_chunks
        data_vars[name] = (dims + var.dims, da.full(shape + var.shape, np.nan, dtype=var.dtype,
                                                   chunks=chunks), var.attrs)
        encoding[name] = {"chunks": chunks, "fill_value": np.nan}
    one = (1,) * len(dims)
    data_vars["point_status"] = (dims, da.zeros(shape, dtype="int8", chunks=one), {
        "long_name": "completion marker, written after the point's data",
        "flag_values": [PENDING, DONE, FAILED], "flag_meanings": "pending done failed"})
    data_vars["point_computations"] = (dims, da.zeros(shape, dtype="int32", chunks=one), {
        "long_name": "number of completed computations of the point (1 when nothing was redone)"})
    data_vars["point_seconds"] = (dims, da.full(shape, np.nan, chunks=one), {
        "long_name": "wall time of the point's computation", "units": "s"})
    data_vars["point_error"] = (dims, np.full(shape, "", dtype=object), {
        "long_name": "error message of a failed point"})
    encoding.update({"point_status": {"chunks": one, "fill_value": 0},
                     "point_computations": {"chunks": one, "fill_value": 0},
                     "point_seconds": {"chunks": one, "fill_value": np.nan},
                     "point_error": {"chunks": one}})
    coords = sweep_coords(config)
    coords.update({name: (name, values, attrs) for name, (values, attrs) in inner_coords.items()})
    for name, variable in (extra.data_vars.items() if extra is not None else ()):
        data_vars[str(name)] = (variable.dims, np.asarray(variable.values), dict(variable.attrs))
        encoding[str(name)] = {"chunks": variable.shape}
    for name in [*data_vars, *coords]:  # every array checksummed (CRC32C after zstd)
        encoding.setdefault(name, {})["compressors"] = storage.compressors()
    network = config.table("network")
    network.update({key: list(values) for key, values in config.grid
                    if key in ("N", "g", "phi")})
    job_attrs = attrs or {}
    attrs = {
        "kind": "sweep",
        "description": "SCS network parameter sweep: one chunk per point along the sweep dims",
        "status": "partial",
        "sweep": {"config": config.as_dict(), "fingerprint": config.fingerprint(),
                  "dims": list(dims), "shape": list(shape), "points": int(np.prod(shape)),
                  "quantities": list(config.quantities)},
        "network": network,
        "provenance": provenance(),
        "sessions": [],
        **job_attrs,
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs=storage.json_ready(attrs))
    temporary = store.parent / f".{store.name}.partial-{uuid.uuid4().hex[:8]}"
    points = {"dims": list(dims), "arrays": {**{name: "done" for name in variables},
                                             **{name: "marked" for name in BOOKKEEPING}}}
    try:
        # compute=False writes metadata and the (numpy) coordinates only: a point's chunks
        # appear when run_point writes it; write_empty_chunks for the same reason as save_run
        ds.to_zarr(temporary, mode="w-", compute=False, zarr_format=3, consolidated=False,
                   encoding=encoding, write_empty_chunks=True)
        storage.write_run_toml(temporary, storage.write_manifest(temporary, points))
        try:
            os.rename(temporary, store)
        except OSError:  # another driver created it first: resume theirs if it is ours
            check_store(store, config)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


class _Shape:
    """A stand-in with ``sizes`` and ``dtype`` for :func:`storage.chunk_sizes` (no data)."""

    def __init__(self, var: _Variable):
        self.sizes = dict(zip(var.dims, var.shape, strict=True))
        self.dtype = np.dtype(var.dtype)


def _array(store: Path, name: str, mode: str = "r"):
    import zarr

    array = zarr.open_array(str(store / name), mode=mode, zarr_format=3)
    # every chunk written, even one equal to the fill value ("" error, status 0): a missing
    # chunk file of a marked point then always means lost data
    return array if mode == "r" else array.with_config({"write_empty_chunks": True})


def point_status(store: Path) -> np.ndarray:
    """The completion markers of every point (0 pending, 1 done, 2 failed), sweep-dims shaped."""
    return np.asarray(_array(store, "point_status")[...])


def run_point(config: SweepConfig, store: str, index: tuple[int, ...],
              retry_failed: bool = False) -> dict[str, Any]:
    """Compute one point and write it to its region of the store; the dask task.

    Writes data, then bookkeeping, then the completion marker. A point already marked done (a
    task retried after its worker died having finished) is not computed again.
    """
    store_path = Path(store)
    status = _array(store_path, "point_status")
    current = int(status[index])
    if current == DONE or (current == FAILED and not retry_failed):
        return {"index": index, "status": "skipped"}
    point = config.point(index)
    started = time.perf_counter()
    error = ""
    try:
        results = compute_point(config, point)
    except (NeurodynError, ValueError, ArithmeticError) as failure:
        results = {}
        message = str(failure).splitlines()[0] if str(failure) else ""
        error = f"{type(failure).__name__}: {message}"
    seconds = time.perf_counter() - started
    if not error:
        variables, _ = layout(config)
        for name, value in results.items():
            if value.shape != variables[name].shape:
                raise RunError(f"point {point}: {name} has shape {value.shape}, the store expects "
                               f"{variables[name].shape}")
            _array(store_path, name, "r+")[index] = value.astype(variables[name].dtype)
    _write_marker(store_path, index, FAILED if error else DONE, error, seconds)
    return {"index": index, "status": "failed" if error else "done", "error": error,
            "seconds": seconds}


def _write_marker(store: Path, index: tuple[int, ...], status: int, error: str,
                  seconds: float) -> None:
    counter = _array(store, "point_computations", "r+")
    counter[index] = int(counter[index]) + 1
    _array(store, "point_seconds", "r+")[index] = seconds
    _array(store, "point_error", "r+")[index] = error
    _array(store, "point_status", "r+")[index] = status  # last: the completion marker


def reset_damaged_points(store: Path) -> int:
    """Re-verify a store before resuming it: read and checksum every chunk
    (:func:`storage.verify_run`), reset each marked point whose chunks are missing, empty or
    corrupt to pending so that this session recomputes it, and return how many were reset.

    Raises :class:`CorruptRunError` if the damage is outside the points (a coordinate, an
    array's metadata): recomputing points cannot repair that.
    """
    report = storage.verify_run(store)
    outside = [problem for problem in report.problems
               if problem.point is None and problem.kind != "unexpected array"]
    if outside:
        raise CorruptRunError(
            f"sweep store {str(store)!r} is damaged outside its points ({outside[0]}); resuming "
            f"cannot repair that — see `neurodyn runs verify {store}`, move the store away and "
            "run the sweep again", path=str(store), variable=outside[0].variable,
            chunk=outside[0].chunk)
    status = _array(store, "point_status", "r+")
    counter = _array(store, "point_computations", "r+")
    reset = 0
    for point in sorted(report.damaged_points()):
        try:
            current = int(status[point])
        except Exception:  # the marker itself is damaged: treat the point as unknown
            current = -1
        if current == PENDING:
            continue  # computed in this session anyway (a partial write of a killed point)
        status[point] = PENDING  # first: a crash from here on leaves the point pending
        try:
            int(counter[point])
        except Exception:  # a damaged counter restarts; the recomputation counts 1
            counter[point] = 0
        reset += 1
    return reset


# --- the driver -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SweepResult:
    """Outcome of :func:`run_sweep`: counts over all points of the store after this session."""

    path: Path
    total: int
    done: int
    failed: int
    pending: int
    computed: int
    skipped: int
    wall_time_s: float
    errors: dict[str, str]
    recomputed: int = 0
    """Points marked done (or failed) whose stored data were damaged, reset and recomputed."""

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.pending == 0


def run_sweep(
    config: SweepConfig | str | os.PathLike,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    retry_failed: bool = False,
    out: str | os.PathLike | None = None,
    progress: bool | None = None,
    extra: Callable[[], xr.Dataset] | None = None,
    attrs: dict[str, Any] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep and return its :class:`SweepResult`.

    **Arguments:**
    - ``config``: a :class:`SweepConfig` or the path of a TOML config.
    - ``scheduler``: address of a running dask scheduler (e.g. ``tcp://10.0.0.1:8786``);
      default ``$NEURODYN_SCHEDULER``; without either a ``LocalCluster`` of ``workers``
      processes (default: one per CPU) is started and stopped.
    - ``workers``: ``1`` computes in this process without dask (for debugging; it ignores
      ``$NEURODYN_SCHEDULER``); with ``scheduler`` the cluster's own workers are used.
    - ``retry_failed``: recompute points marked failed (default: keep their recorded error).
    - ``out``: store path, overriding the config's ``out``.
    - ``progress``: tqdm bar of points done / total with time left; default: on a terminal.
    - ``extra``, ``attrs``: a job's arrays known before the points (called only when the store
      is created, so a resume does not recompute them) and root attrs; see :func:`create_store`.

    Points already done in the store are skipped, after their chunks are re-verified: a point
    whose data are damaged is recomputed (:func:`reset_damaged_points`). Raises
    ParameterError/RunError before writing anything if the config is bad or the store belongs
    to another config.
    """
    if not isinstance(config, SweepConfig):
        config = load_config(config)
    if workers is not None:
        workers = validation.positive_int("workers", workers)
    if scheduler is None and workers != 1:  # an explicit --workers 1 wins over the environment
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    store = Path(out if out is not None else config.out).absolute()
    # One process at a time works on a store: the lock (next to the store, so it also guards
    # the store's creation) is taken before the cluster starts, so a second sweep is refused
    # at once with the holder named; a stale lock of a dead process is replaced.
    with store_lock(store, purpose="sweep") as lock:
        if store.exists():  # checked before connecting, and again (cheaply) after
            check_store(store, config)
        else:
            check_output_path(store, overwrite=False, flag="out")
        started_at, started = now(), time.perf_counter()
        computed = skipped = 0
        # connect first: an unreachable scheduler is an error before anything is written
        with _connect(scheduler, workers) as client:
            if store.exists():
                check_store(store, config)
                recomputed = reset_damaged_points(store)
            else:
                create_store(store, config, extra() if extra is not None else None, attrs)
                recomputed = 0
            status = point_status(store)
            todo = [index for index, value in np.ndenumerate(status)
                    if value == PENDING or (retry_failed and value == FAILED)]
            total = status.size
            show = sys.stderr.isatty() if progress is None else bool(progress)
            with _progress(total, total - len(todo), show) as bar:
                for outcome in _execute(config, store, todo, client, retry_failed):
                    if outcome["status"] == "skipped":
                        skipped += 1
                    else:
                        computed += 1
                    bar.update(1)
        final = point_status(store)
        counts = {name: int(np.sum(final == code)) for code, name in STATUS_NAMES.items()}
        error_array = _array(store, "point_error")[...]
        errors = {_point_label(config, index): str(error_array[index])
                  for index, value in np.ndenumerate(final) if value == FAILED}
        attrs = _read_attrs(store)
        attrs["status"] = ("partial" if counts["pending"] else "failed" if counts["failed"]
                           else "complete")
        attrs["points_done"], attrs["points_failed"] = counts["done"], counts["failed"]
        attrs.setdefault("sessions", []).append({
            "started": started_at, "finished": now(), "computed": computed,
            "command": " ".join(sys.argv), "host": provenance()["host"],
            "scheduler": scheduler or ("in-process" if workers == 1 else "LocalCluster"),
            "recomputed_damaged": recomputed,
            "stale_lock_replaced": lock.replaced,
        })
        _write_attrs(store, attrs)
        return SweepResult(path=store, total=total, done=counts["done"], failed=counts["failed"],
                           pending=counts["pending"], computed=computed, skipped=skipped,
                           wall_time_s=time.perf_counter() - started, errors=errors,
                           recomputed=recomputed)


def _point_label(config: SweepConfig, index: tuple[int, ...]) -> str:
    point = config.point(index)
    return " ".join(f"{key}={value}" for key, value in point.items())


class _progress:
    def __init__(self, total: int, initial: int, show: bool):
        self.bar = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="point", desc="sweep",
                            file=sys.stderr, dynamic_ncols=True)

    def __enter__(self):
        return self

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def _connect(scheduler: str | None, workers: int | None):
    """A dask Client on ``scheduler``, or on a new LocalCluster of ``workers`` processes; None
    (compute in this process) for ``workers == 1`` without a scheduler."""
    if workers == 1 and scheduler is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as error:
            raise RunError(f"cannot reach the dask scheduler at {scheduler!r}: {error}") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                      processes=True, dashboard_address=None, silence_logs=40) as cluster, \
            Client(cluster) as client:
        yield client


def _execute(config, store, todo, client, retry_failed):
    """Yield one outcome dict per point in ``todo`` as points finish."""
    if not todo:
        return
    if client is None:
        for index in todo:
            yield run_point(config, str(store), index, retry_failed)
        return
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {}
    for index in todo:
        flat = int(np.ravel_multi_index(index, config.shape))
        future = client.submit(run_point, config, str(store), index, retry_failed,
                               key=f"neurodyn-point-{flat}-{token}", retries=TASK_RETRIES)
        futures[future] = index
    try:
        for future in as_completed(futures):
            index = futures[future]
            try:
                yield future.result()
            except Exception as error:  # the task failed for good (e.g. KilledWorker)
                text = str(error).splitlines()[0] if str(error) else ""
                message = f"{type(error).__name__}: {text}"
                if int(point_status(store)[index]) != DONE:
                    _write_marker(store, index, FAILED, message, float("nan"))
                yield {"index": index, "status": "failed", "error": message}
    finally:
        client.cancel(list(futures))  # on an exception or interrupt: stop this sweep's tasks


def describe_result(result: SweepResult) -> str:
    """One paragraph for the command line."""
    text = (f"Sweep {result.path}: {result.done} of {result.total} points done, "
            f"{result.failed} failed, {result.pending} pending; computed {result.computed} in "
            f"this session ({result.skipped} were already done), {result.wall_time_s:.1f} s.")
    if result.recomputed:
        one = result.recomputed == 1
        text += (f"\n  {result.recomputed} {'point' if one else 'points'} marked done "
                 f"{'was' if one else 'were'} damaged (missing or corrupt chunks) and "
                 f"{'was' if one else 'were'} recomputed.")
    for label, error in list(result.errors.items())[:10]:
        text += f"\n  failed {label}: {error}"
    if len(result.errors) > 10:
        text += f"\n  … and {len(result.errors) - 10} more (neurodyn runs show {result.path})"
    return text


__all__ = ["SCHEDULER_ENV", "SweepConfig", "SweepResult", "check_store", "compute_point",
           "create_store", "describe_result", "layout", "load_config", "point_status",
           "reset_damaged_points", "run_point", "run_sweep"]
