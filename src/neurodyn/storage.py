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
