"""Runs as data: atomic zarr v3 writes of xarray Datasets, lazy reads, and the run catalog.

A run is written under a hidden temporary name next to its destination and renamed into place
only after every byte is on disk (a rename within one directory is atomic on POSIX), so a crash
never leaves a store at the final path that looks complete. Stores are chunked along time and
trial and compressed with zarr v3's default codec (zstd).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import RunError

TARGET_CHUNK_BYTES = 16 * 2**20
"""Aim for chunks of about 16 MiB (zarr and dask both work well in the 1–100 MiB range)."""


def _json_ready(value: Any) -> Any:
    """Attrs must survive a zarr (JSON) round trip unchanged: tuples → lists, numpy → python."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _chunks(variable: xr.Variable) -> dict[str, int]:
    """Chunk sizes: one trial per chunk, whole neuron axis, as many times as fit the target."""
    sizes = dict(variable.sizes)
    chunks = {dim: size for dim, size in sizes.items()}
    if "trial" in chunks:
        chunks["trial"] = 1
    if "time" in chunks:
        row_bytes = variable.dtype.itemsize * int(np.prod(
            [size for dim, size in chunks.items() if dim != "time"]))
        chunks["time"] = int(max(1, min(sizes["time"], TARGET_CHUNK_BYTES // max(row_bytes, 1))))
    return chunks


def save_run(ds: xr.Dataset, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``ds`` to a zarr v3 store at ``path`` atomically; return the path.

    Raises :class:`RunError` if ``path`` exists and ``overwrite`` is False (nothing is written).
    With ``overwrite`` the old store is replaced only after the new one is complete.
    """
    if not isinstance(ds, xr.Dataset):
        raise RunError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise RunError(f"output path {str(path)!r} exists; choose another path or pass overwrite")
    if not path.parent.exists():
        raise RunError(f"output directory {str(path.parent)!r} does not exist")
    temporary = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    out = ds.copy()
    out.attrs = _json_ready(dict(ds.attrs))
    for name in out.variables:
        out[name].attrs = _json_ready(dict(out[name].attrs))
        out[name].encoding = {}
    encoding = {name: {"chunks": tuple(_chunks(out[name].variable).values())}
                for name in out.data_vars if out[name].ndim > 0}
    try:
        out.to_zarr(temporary, mode="w-", zarr_format=3, consolidated=False, encoding=encoding)
        write_run_toml(temporary, out.attrs)
        if path.exists():
            trash = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(path, trash)
            os.rename(temporary, path)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def open_run(path: str | os.PathLike) -> xr.Dataset:
    """Open a saved run lazily (dask-backed); raises :class:`RunError` if it is missing,
    partial (a temporary store of an interrupted write) or not a readable zarr store."""
    path = Path(path)
    if ".partial-" in path.name:
        raise RunError(f"{str(path)!r} is a partial store left by an interrupted write")
    if not path.exists():
        raise RunError(f"no run at {str(path)!r}")
    if not (path / "zarr.json").is_file():
        raise RunError(f"{str(path)!r} is not a zarr v3 store (no zarr.json): partial or foreign")
    try:
        ds = xr.open_zarr(path, consolidated=False, chunks={})
    except Exception as error:  # zarr/xarray raise many types for corrupt stores
        raise RunError(f"cannot read run {str(path)!r}: {error}") from None
    for name in ds.data_vars:
        ds[name].encoding.pop("chunks", None)
        ds[name].encoding.pop("preferred_chunks", None)
    return ds


def list_runs(directory: str | os.PathLike = "runs") -> list[dict[str, Any]]:
    """One record per run in ``directory``: path, kind, key parameters, size on disk, status."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RunError(f"runs directory {str(directory)!r} does not exist")
    records = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_dir():
            continue
        if not ((path / "zarr.json").exists() or path.suffix == ".zarr"):
            continue  # not a run: neurodyn writes runs as *.zarr stores
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        record: dict[str, Any] = {"path": str(path), "size_bytes": size}
        try:
            attrs = json.loads((path / "zarr.json").read_text()).get("attributes", {})
            record["kind"] = attrs.get("kind", "unknown")
            record["status"] = attrs.get("status", "complete")
            record["parameters"] = _key_parameters(attrs)
            record["created"] = attrs.get("provenance", {}).get("created", "")
        except (OSError, ValueError):
            record.update(kind="unreadable", status="unreadable", parameters="", created="")
        records.append(record)
    return records


def _key_parameters(attrs: dict[str, Any]) -> str:
    network = attrs.get("network", {})
    fields = {key: network[key] for key in ("N", "g", "phi") if key in network}
    for key in ("t1", "trials", "noise", "solver"):
        if key in attrs:
            fields[key] = attrs[key]
    return " ".join(f"{key}={value}" for key, value in fields.items())


# --- human-readable description, sweeps, status -----------------------------------------------

RUN_TOML = "about/run.toml"
"""Where a store keeps its human-readable description. It sits in an empty zarr subgroup
(``about/``) because zarr warns about stray files in a group but ignores subgroups, and
xarray's ``open_zarr`` reads only the arrays of the root group."""


def write_run_toml(store: str | os.PathLike, attrs: dict[str, Any]) -> Path:
    """Write ``attrs`` (config, parameters, provenance, status) as TOML to ``store/about/run.toml``.

    The file is for people (``cat runs/x.zarr/about/run.toml``); the zarr attrs stay the source
    of truth. Written to a temporary file and renamed, so it is never half-written.
    """
    about = Path(store) / "about"
    about.mkdir(exist_ok=True)
    group = about / "zarr.json"
    if not group.exists():
        group.write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {
            "description": "run.toml here is a human-readable copy of the root attrs"}}))
    header = ("# neurodyn run description (human-readable copy of the zarr attrs of the store\n"
              "# that contains this directory; the attrs are the source of truth)\n")
    temporary = about / f".run.toml.{uuid.uuid4().hex[:8]}"
    temporary.write_text(header + _to_toml(_json_ready(dict(attrs))))
    os.replace(temporary, about / "run.toml")
    return about / "run.toml"


def _to_toml(document: dict[str, Any]) -> str:
    """A small TOML writer for JSON-like dicts (scalars, lists, nested tables); None is skipped.
    ``tomllib`` reads the result back to the same values."""
    lines: list[str] = []

    def key_text(key: Any) -> str:
        key = str(key)
        if key and all(c.isalnum() or c in "_-" for c in key):
            return key
        return json.dumps(key)

    def scalar(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if value != value:
                return "nan"
            if value in (float("inf"), float("-inf")):
                return "inf" if value > 0 else "-inf"
            return repr(value)
        if isinstance(value, list | tuple):
            return "[" + ", ".join(scalar(v) for v in value if v is not None) + "]"
        if isinstance(value, dict):
            inner = ", ".join(f"{key_text(k)} = {scalar(v)}" for k, v in value.items()
                              if v is not None)
            return "{" + inner + "}"
        return json.dumps(str(value), ensure_ascii=False)

    def emit(table: dict[str, Any], prefix: str) -> None:
        simple = {k: v for k, v in table.items() if not isinstance(v, dict) and v is not None}
        nested = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (simple or not nested):
            lines.append(f"\n[{prefix}]")
        for key, value in simple.items():
            lines.append(f"{key_text(key)} = {scalar(value)}")
        for key, value in nested.items():
            emit(value, f"{prefix}.{key_text(key)}" if prefix else key_text(key))

    emit(document, "")
    return "\n".join(lines).lstrip("\n") + "\n"


def open_sweep(path: str | os.PathLike, only_done: bool = False) -> xr.Dataset:
    """Open a sweep store lazily: one Dataset whose sweep dims (the grid keys, or ``point``)
    are coordinates, with every point's results and its ``point_status`` (0 pending, 1 done,
    2 failed), ``point_error``, ``point_seconds`` and ``point_computations``.

    Points not done hold NaN. With ``only_done`` every result variable is masked (NaN) where
    ``point_status`` is not done, so a half-written pending point can never be mistaken for data.
    Raises :class:`RunError` if ``path`` is not a sweep store.
    """
    ds = open_run(path)
    if ds.attrs.get("kind") != "sweep":
        raise RunError(f"{str(path)!r} is a {ds.attrs.get('kind', 'unknown')!r} store, not a sweep")
    if only_done:
        done = ds["point_status"] == 1
        for name in ds.data_vars:
            if not name.startswith("point_"):
                ds[name] = ds[name].where(done)
    return ds


def run_status(path: str | os.PathLike) -> dict[str, Any]:
    """Kind, status and (for sweeps) point counts of a store, read from its metadata and markers."""
    path = Path(path)
    ds = open_run(path)
    record: dict[str, Any] = {"path": str(path), "kind": ds.attrs.get("kind", "unknown"),
                              "status": ds.attrs.get("status", "complete")}
    if record["kind"] == "sweep":
        status = np.asarray(ds["point_status"].values)
        counts = {"done": int((status == 1).sum()), "failed": int((status == 2).sum()),
                  "pending": int((status == 0).sum())}
        record.update(points=int(status.size), **counts)
        record["status"] = ("partial" if counts["pending"] else
                            "failed" if counts["failed"] else "complete")
        errors = np.asarray(ds["point_error"].values)
        dims = list(ds["point_status"].dims)
        record["errors"] = [
            (" ".join(f"{dim}={ds[dim].values[i].item()}" for dim, i in zip(dims, index,
                                                                           strict=True)),
             str(errors[index]))
            for index in zip(*np.nonzero(status == 2), strict=True)]
        record["computations"] = int(np.asarray(ds["point_computations"].values).sum())
    return record


def show_run(path: str | os.PathLike) -> str:
    """A human-readable description of one run or sweep: what it is, its status, its
    dimensions and variables, its parameters and provenance."""
    path = Path(path)
    ds = open_run(path)
    record = run_status(path)
    attrs = dict(ds.attrs)
    lines = [f"{path}: {record['kind']}, {record['status']}"]
    if record["kind"] == "sweep":
        sweep = attrs.get("sweep", {})
        lines.append(f"  points: {record['points']} ({record['done']} done, {record['failed']} "
                     f"failed, {record['pending']} pending; {record['computations']} computations)")
        lines.append(f"  grid ({sweep.get('config', {}).get('grid_mode', 'product')}): " + ", ".join(
            f"{key}={values}" for key, values in sweep.get("config", {}).get("grid", {}).items()))
        lines.append(f"  quantities: {', '.join(sweep.get('quantities', []))}")
        for label, error in record["errors"][:20]:
            lines.append(f"  failed {label}: {error}")
    lines.append("  dims: " + ", ".join(f"{dim}={size}" for dim, size in ds.sizes.items()))
    lines.append("  variables: " + ", ".join(
        f"{name}({', '.join(map(str, ds[name].dims))})" for name in ds.data_vars))
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    lines.append(f"  size on disk: {size / 2**20:.2f} MiB")
    skip = {"provenance", "sweep", "sessions", "description"}
    parameters = {key: value for key, value in attrs.items() if key not in skip}
    if parameters:
        lines.append("  parameters: " + json.dumps(parameters, default=str))
    prov = attrs.get("provenance", {})
    if prov:
        lines.append(f"  created {prov.get('created', '?')} on {prov.get('host', '?')}, git "
                     f"{prov.get('git_revision', '?')[:12]}, command: {prov.get('command', '')}")
    for session in attrs.get("sessions", []):
        lines.append(f"  session {session.get('started')} -> {session.get('finished')}: "
                     f"computed {session.get('computed')} on {session.get('scheduler')}")
    return "\n".join(lines)
