"""Runs as data: atomic, checksummed zarr v3 writes of xarray Datasets, lazy guarded reads,
verification, and the run catalog.

Writing. A run is written under a hidden temporary name next to its destination and renamed
into place only after every byte is on disk (a rename within one directory is atomic on POSIX),
so a crash never leaves a store at the final path that looks complete. An existing path is
replaced only if it is a neurodyn run (:func:`neurodyn.run_paths.check_output_path`). Every
array, data variable and coordinate, is chunked (along time and trial for trajectories),
compressed with zstd and carries zarr v3's CRC32C checksum codec, and every chunk is written
even where it equals the fill value, so that a missing chunk file always means lost data.

Integrity. The root attrs hold neurodyn's marker (``neurodyn_store``) and a manifest
(``integrity``): for every array its dims, shape, chunk shape, number of chunks and dtype; for a
sweep also which arrays hold one chunk per point and when those chunks must exist (a pending
point has none). :func:`verify_run` reads every chunk against it; :func:`open_run` checks the
structure cheaply (arrays and chunk files present, none empty) and stays lazy, and each chunk it
later reads turns a checksum or decode failure into a :class:`CorruptRunError` naming the
variable and chunk. Neither attr is part of the Dataset's ``attrs``: they describe the store
(they are kept in ``ds.encoding``).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import shutil
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .errors import CorruptRunError, RunError
from .run_paths import STORE_MARKER, check_output_path, is_neurodyn_run, store_marker

TARGET_CHUNK_BYTES = 16 * 2**20
"""Aim for chunks of about 16 MiB (zarr and dask both work well in the 1–100 MiB range)."""

INTEGRITY = "integrity"
"""Root attribute holding the manifest of what the store must contain."""

STORE_ATTRS = (STORE_MARKER, INTEGRITY)
"""Root attrs that describe the store rather than the data (kept out of ``Dataset.attrs``)."""

POINT_STATUS, POINT_DONE = "point_status", 1
"""A sweep's completion-marker array and its value for a finished point."""


def json_ready(value: Any) -> Any:
    """Attrs must survive a zarr (JSON) round trip unchanged: tuples → lists, numpy → python."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def chunk_sizes(variable: Any) -> dict[str, int]:
    """Chunk sizes of a variable (anything with ``sizes`` and ``dtype``): one trial per chunk,
    the whole neuron axis, as many times as fit :data:`TARGET_CHUNK_BYTES`."""
    sizes = dict(variable.sizes)
    chunks = {dim: size for dim, size in sizes.items()}
    if "trial" in chunks:
        chunks["trial"] = 1
    if "time" in chunks:
        row_bytes = variable.dtype.itemsize * int(np.prod(
            [size for dim, size in chunks.items() if dim != "time"]))
        chunks["time"] = int(max(1, min(sizes["time"], TARGET_CHUNK_BYTES // max(row_bytes, 1))))
    return chunks


def compressors() -> tuple[Any, ...]:
    """The bytes-to-bytes codecs of every array neurodyn writes: zstd (zarr v3's default
    compressor), then zarr's CRC32C checksum of the compressed bytes, so any damaged byte of a
    chunk fails its read. xarray passes ``encoding["compressors"]`` on to zarr unchanged."""
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return (ZstdCodec(), Crc32cCodec())


def _store_encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    encoding: dict[str, dict[str, Any]] = {}
    for name, variable in ds.variables.items():
        entry: dict[str, Any] = {"compressors": compressors()}
        if variable.ndim > 0:
            # a dimension coordinate (read whole at open) in chunks of the target size, not one
            # per trial; every other variable as chunk_sizes says
            chunks = ((min(variable.size, TARGET_CHUNK_BYTES // variable.dtype.itemsize),)
                      if name in ds.dims else tuple(chunk_sizes(variable).values()))
            entry["chunks"] = tuple(max(1, int(size)) for size in chunks)
        encoding[str(name)] = entry
    return encoding


def write_manifest(store: str | os.PathLike,
                   points: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record in the root attrs of ``store`` neurodyn's marker and what the store contains
    (read back from zarr's own array metadata); return the new root attrs.

    ``points`` (sweeps only): ``{"dims": [...], "arrays": {name: "done" | "marked"}}`` — arrays
    with one chunk per point along the sweep dims, whose chunks must exist once the point is
    done (``"done"``) or has any marker, done or failed (``"marked"``).
    """
    import zarr

    group = zarr.open_group(str(store), mode="r+", zarr_format=3)
    arrays = {}
    for name, array in sorted(group.arrays()):
        metadata = array.metadata
        arrays[name] = {
            "dims": list(metadata.dimension_names or ()), "shape": list(array.shape),
            "chunks": list(array.chunks), "nchunks": int(array.nchunks),
            "dtype": metadata.to_dict()["data_type"],
            "checksum": "crc32c" in [codec.to_dict()["name"] for codec in metadata.codecs]}
    manifest: dict[str, Any] = {"format": 1, "checksum": "crc32c", "arrays": arrays}
    if points is not None:
        manifest["points"] = json_ready(points)
    group.attrs.update({STORE_MARKER: store_marker(), INTEGRITY: manifest})
    return dict(group.attrs)


_VARIABLE_LENGTH_STR: Any = getattr(np.dtypes, "StringDType", lambda: object)()
"""NumPy's variable-length str dtype (NumPy ≥ 2; object arrays of str before it)."""


def _variable_length_strings(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its fixed-width unicode variables (NumPy ``<U``: what xarray makes of a list
    of str, e.g. learn-bench's ``method`` and ``task`` coordinates) as variable-length strings.

    Why: zarr-python 3.1 stores ``<U`` as ``fixed_length_utf32`` and warns on every write and
    read that this data type has no Zarr v3 specification (UnstableSpecificationWarning).
    Variable-length strings are stored as zarr's ``string`` data type (UTF-8, the ``vlen-utf8``
    codec), which the zarr-extensions data-type registry specifies; xarray's zarr guide
    recommends this conversion. :func:`open_run` gives back the same strings, as NumPy
    ``StringDType`` arrays (selection, comparison and ``identical`` behave as with ``<U``).
    Byte strings (``S``) are left as they are.
    """
    names = [name for name, variable in ds.variables.items() if variable.dtype.kind == "U"]
    for name in names:
        converted = ds[name].astype(_VARIABLE_LENGTH_STR)
        ds = ds.assign_coords({name: converted}) if name in ds.coords else ds.assign({name: converted})
    return ds


def save_run(ds: xr.Dataset, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``ds`` to a zarr v3 store at ``path`` atomically; return the path.

    Raises :class:`RunError` before writing anything if ``path`` exists and ``overwrite`` is
    False, if ``path`` exists and is not a neurodyn run (``overwrite`` never replaces anything
    else), or if its directory is missing or not writable. With ``overwrite`` the old run is
    replaced only after the new one is complete: it is renamed aside, the new one renamed in,
    then the old one removed (and renamed back if the second rename fails).
    """
    if not isinstance(ds, xr.Dataset):
        raise RunError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if not isinstance(path, str | os.PathLike):
        raise RunError(f"path must be a str or path, got {type(path).__name__}")
    check_output_path(path, overwrite, flag="path")
    path = Path(path)
    temporary = path.parent / f".{path.name}.partial-{uuid.uuid4().hex[:8]}"
    out = _variable_length_strings(ds.copy())
    out.attrs = json_ready({k: v for k, v in ds.attrs.items() if k not in STORE_ATTRS})
    for name in out.variables:
        out[name].attrs = json_ready(dict(out[name].attrs))
        out[name].encoding = {}
    try:
        # write_empty_chunks: a chunk equal to the fill value is written too, so that a missing
        # chunk file can only mean lost data
        out.to_zarr(temporary, mode="w-", zarr_format=3, consolidated=False,
                    encoding=_store_encoding(out), write_empty_chunks=True)
        write_run_toml(temporary, write_manifest(temporary))
        if os.path.lexists(path):
            replace_run(temporary, path)
        else:
            os.rename(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return path


def replace_run(new: str | os.PathLike, path: str | os.PathLike) -> None:
    """Put the complete store ``new`` at ``path`` in place of the neurodyn run there.

    The old run is renamed aside, ``new`` renamed in, then the old run removed (renamed back if
    the second rename fails), so at every moment ``path`` holds one complete run. Raises
    RunError, touching nothing, if ``path`` is not a neurodyn run. Callers that may race with
    another writer hold :func:`neurodyn.lock.store_lock` on ``path``."""
    new, path = Path(new), Path(path)
    if not is_neurodyn_run(path):  # checked again: the path may have changed since
        raise RunError(f"path {str(path)!r} is no longer a neurodyn run; refusing to replace it")
    trash = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
    os.rename(path, trash)
    try:
        os.rename(new, path)
    except BaseException:
        os.rename(trash, path)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    if os.path.lexists(trash):
        warnings.warn(f"replaced {str(path)!r}, but the old run could not be removed from "
                      f"{str(trash)!r}; delete it by hand", RuntimeWarning, stacklevel=3)


# --- integrity: the manifest, structural checks, reading every chunk ---------------------------

@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a store.

    ``kind`` is one of ``"missing array"`` (an array's ``zarr.json`` is gone), ``"unexpected
    array"`` (an array the manifest does not list), ``"metadata mismatch"`` (shape, chunks or
    dtype differ from the manifest), ``"missing chunk"``, ``"empty chunk"`` (a 0-byte file),
    ``"corrupt chunk"`` (checksum or decode failure); ``chunk`` is the chunk index, ``point`` (in
    a sweep) the point index, i.e. the chunk index along the sweep dims.
    """

    variable: str | None
    chunk: tuple[int, ...] | None
    kind: str
    message: str
    point: tuple[int, ...] | None = None

    def __str__(self) -> str:
        where = self.variable or "store"
        if self.chunk is not None:
            where += f" chunk {self.chunk}"
        if self.point is not None:
            where += f" (point {self.point})"
        return f"{where}: {self.kind}: {self.message}"


@dataclasses.dataclass
class VerifyReport:
    """What :func:`verify_run` found. ``ok`` is True when no problem was found; ``manifest``
    says whether the store records what it must contain (stores of older neurodyn versions do
    not, and then missing chunks cannot be told from chunks never written); ``notes`` lists
    such limits of the check."""

    path: Path
    problems: list[Problem]
    arrays: int
    chunks_read: int
    manifest: bool
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def damaged_points(self) -> set[tuple[int, ...]]:
        """Sweep points with at least one damaged chunk."""
        return {problem.point for problem in self.problems if problem.point is not None}

    def __str__(self) -> str:
        verdict = "ok" if self.ok else f"DAMAGED, {_count_text(self.problems)}"
        lines = [f"{self.path}: {verdict} ({self.arrays} arrays, {self.chunks_read} chunks read "
                 f"and checksummed)"]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def _count_text(problems: list[Problem]) -> str:
    counts = Counter(problem.kind for problem in problems)
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(counts.items()))


@dataclasses.dataclass
class _Store:
    """What the structural check learnt about a store, reused by the lazy reads."""

    path: Path
    attrs: dict[str, Any]
    manifest: dict[str, Any] | None
    arrays: dict[str, Any]            # name -> zarr.Array (metadata readable)
    files: dict[str, dict[str, int]]  # name -> chunk key -> size in bytes
    status: np.ndarray | None         # a sweep's point_status, -1 where unreadable
    problems: list[Problem]

    def points(self, name: str) -> tuple[int, str | None]:
        """(number of sweep dims, "done"/"marked") for a per-point array, else (0, None)."""
        points = (self.manifest or {}).get("points") or {}
        role = points.get("arrays", {}).get(name)
        return (len(points.get("dims", [])), role) if role else (0, None)

    def required(self, name: str, chunk: tuple[int, ...]) -> bool:
        """Whether the chunk file must exist (always in a run with a manifest; in a sweep, for
        per-point arrays only once their point is done or marked)."""
        if self.manifest is None or name not in self.manifest["arrays"]:
            return False
        k, role = self.points(name)
        if role is None:
            return True
        if self.status is None:
            return False
        value = int(self.status[chunk[:k]])
        return value == POINT_DONE if role == "done" else value > 0

    def point_of(self, name: str, chunk: tuple[int, ...] | None) -> tuple[int, ...] | None:
        k, role = self.points(name)
        return None if role is None or chunk is None else tuple(chunk[:k])


def _grid(array: Any) -> tuple[int, ...]:
    return tuple(-(-size // chunk) for size, chunk in zip(array.shape, array.chunks, strict=True))


def _chunk_region(array: Any, chunk: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(i * c, min((i + 1) * c, s))
                 for i, c, s in zip(chunk, array.chunks, array.shape, strict=True))


def _chunk_files(directory: Path) -> dict[str, int]:
    """Every file below an array's directory except its metadata: key relative to it → size."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            full = Path(root) / name
            key = full.relative_to(directory).as_posix()
            if key != "zarr.json":
                files[key] = full.stat().st_size
    return files


def _one_line(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    if "checksum do not match" in text:  # zarr's Crc32cCodec; its bytes add nothing for a user
        return "CRC32C checksum mismatch: the chunk's bytes changed (truncated or bit-flipped)"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _store_problem(store: _Store, name: str, chunk: tuple[int, ...] | None, kind: str,
                   message: str) -> Problem:
    return Problem(name, chunk, kind, message, store.point_of(name, chunk))


def _check_path(path: Any) -> Path:
    if not isinstance(path, str | os.PathLike):
        raise RunError(f"path must be a str or path to a run, got {type(path).__name__}")
    path = Path(path)
    if ".partial-" in path.name:
        raise RunError(f"{str(path)!r} is a partial store left by an interrupted write")
    if not path.exists():
        raise RunError(f"no run at {str(path)!r}")
    if not (path / "zarr.json").is_file():
        raise RunError(f"{str(path)!r} is not a zarr v3 store (no zarr.json): partial or foreign")
    return path


def _inspect(path: Path) -> _Store:
    """The cheap structural check: every array of the manifest present with the recorded
    metadata, every required chunk file present and non-empty, no unlisted array, a sweep's
    completion markers readable. Reads metadata and file sizes, and only ``point_status``'s
    data."""
    import zarr

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zarr warns about directories without zarr.json
            group = zarr.open_group(str(path), mode="r", zarr_format=3)
            arrays = dict(group.arrays())
            attrs = dict(group.attrs)
    except Exception as error:  # zarr raises many types for a damaged root
        raise RunError(f"cannot read run {str(path)!r}: {_one_line(error)}") from None
    manifest = attrs.get(INTEGRITY) if isinstance(attrs.get(INTEGRITY), dict) else None
    store = _Store(path, attrs, manifest, arrays, {}, None, [])
    if POINT_STATUS in arrays and store.points(POINT_STATUS)[1] is not None:
        # markers first, chunk files after: a running sweep writes a point's data before its
        # marker, so every point seen done here has its chunks on disk when they are listed
        store.status = _read_status(store)
    listed = set(manifest["arrays"]) if manifest else set(arrays)
    for child in sorted(path.iterdir()):
        if child.is_dir() and child.name not in arrays and (child / "c").exists():
            listed.add(child.name)  # chunks without metadata: an array whose zarr.json is gone
    for name in sorted(listed):
        if name not in arrays:
            store.problems.append(_store_problem(store, name, None, "missing array", (
                f"{name}/zarr.json is missing, so the array cannot be read")))
            continue
        store.files[name] = _chunk_files(path / name)
        if manifest is not None:
            expected = manifest["arrays"][name]
            array = arrays[name]
            found = {"shape": list(array.shape), "chunks": list(array.chunks),
                     "dtype": array.metadata.to_dict()["data_type"]}
            differ = [key for key, value in found.items() if expected.get(key) != value]
            if differ:
                store.problems.append(_store_problem(store, name, None, "metadata mismatch", (
                    "; ".join(f"{key} is {found[key]}, the manifest says {expected.get(key)}"
                              for key in differ))))
                del arrays[name]
    for name in sorted(set(arrays) - listed):
        store.problems.append(_store_problem(store, name, None, "unexpected array",
                                             "an array the manifest does not list"))
    for name, array in arrays.items():
        if name not in store.files:
            continue
        files = store.files[name]
        reported = {p.chunk for p in store.problems if p.variable == name}
        for chunk in np.ndindex(*_grid(array)):
            size = files.get(array.metadata.encode_chunk_key(chunk))
            if size == 0 and chunk not in reported:
                store.problems.append(_store_problem(store, name, chunk, "empty chunk",
                                                     "the chunk file has 0 bytes"))
            elif size is None and store.required(name, chunk):
                store.problems.append(_store_problem(store, name, chunk, "missing chunk", (
                    f"{name}/{array.metadata.encode_chunk_key(chunk)} is missing")))
    return store


def _read_status(store: _Store) -> np.ndarray:
    """A sweep's completion markers; a chunk that cannot be read is a problem and reads -1
    (unknown: its point's chunks are not required, a resume recomputes the point)."""
    array = store.arrays[POINT_STATUS]
    try:
        return np.asarray(array[...], dtype=np.int64)
    except Exception:  # find the damaged chunks one by one
        status = np.full(array.shape, -1, dtype=np.int64)
        for chunk in np.ndindex(*_grid(array)):
            region = _chunk_region(array, chunk)
            try:
                status[region] = array[region]
            except Exception as error:
                file = store.path / POINT_STATUS / array.metadata.encode_chunk_key(chunk)
                empty = file.is_file() and file.stat().st_size == 0
                kind, text = (("empty chunk", "the chunk file has 0 bytes") if empty else
                              ("corrupt chunk", _one_line(error)))
                store.problems.append(_store_problem(store, POINT_STATUS, chunk, kind, text))
        return status


def verify_run(path: str | os.PathLike) -> VerifyReport:
    """Check a run or sweep store against its manifest, reading every chunk.

    Finds missing arrays (a deleted ``X/zarr.json``), arrays the manifest does not list or whose
    metadata differ from it, missing and empty (0-byte) chunk files, and chunks that fail
    zarr's CRC32C checksum or do not decode (truncated, bit-flipped). In a sweep, a point's
    chunks are required once it is done (its bookkeeping once it is done or failed); problems
    carry the point index. A store without a manifest (older neurodyn) is checked as far as
    possible and the report says the manifest is absent. Raises :class:`RunError` if ``path``
    is not a zarr store at all.
    """
    path = _check_path(path)
    store = _inspect(path)
    notes = []
    if store.manifest is None:
        notes.append("no integrity manifest (written by an older neurodyn): missing chunks and "
                     "arrays cannot be told from chunks never written")
    unchecked = sorted(name for name, array in store.arrays.items()
                       if "crc32c" not in [c.to_dict()["name"] for c in array.metadata.codecs])
    if unchecked:
        notes.append(f"no checksum on {', '.join(unchecked)}: only chunks that fail to decode "
                     "are found")
    reported = {(p.variable, p.chunk) for p in store.problems}
    read = 0
    for name, array in sorted(store.arrays.items()):
        files = store.files.get(name, {})
        for chunk in np.ndindex(*_grid(array)):
            if not files.get(array.metadata.encode_chunk_key(chunk)) or (name, chunk) in reported:
                continue  # absent or empty: reported (or allowed) by the structural check
            read += 1
            try:
                array[_chunk_region(array, chunk)]
            except Exception as error:  # zarr and its codecs raise many types for bad bytes
                store.problems.append(_store_problem(store, name, chunk, "corrupt chunk",
                                                     _one_line(error)))
    return VerifyReport(path, store.problems, len(store.arrays), read, store.manifest is not None,
                        notes)


def _corrupt(path: Path, problems: list[Problem]) -> CorruptRunError:
    first = problems[0]
    extra = len(problems) - 1
    more = f" and {extra} more problem{'' if extra == 1 else 's'}" if extra else ""
    return CorruptRunError(
        f"run {str(path)!r} is damaged: {first}{more}; run `neurodyn runs verify {path}` for a "
        "full report", path=str(path), variable=first.variable, chunk=first.chunk)


class _GuardedChunks:
    """The array :func:`open_run` hands to ``dask.array.from_array``: each block is one zarr
    chunk read through xarray's lazy (decoding) backend array; a required chunk file that is
    gone, or bytes that fail zarr's checksum or do not decode, raise :class:`CorruptRunError`
    naming the variable and chunk instead of returning the fill value (NaN) or zarr's raw error.

    (Checked first: dask's ``from_array(getitem=...)`` gets only the backend array and the key,
    so it cannot name the variable; zarr 3.1.6 has no option to fail on a missing chunk — the
    ``MissingChunkError`` setting of zarr-python PR #3748 comes in a later release — and
    xarray leaves that to zarr, pydata/xarray#9701.)
    """

    def __init__(self, store: _Store, name: str, lazy: xr.Variable, chunks: tuple[int, ...]):
        self.path, self.name, self.lazy, self.chunks = str(store.path), name, lazy, chunks
        self.shape, self.dtype, self.ndim = lazy.shape, lazy.dtype, lazy.ndim
        array = store.arrays[name]
        self.metadata = array.metadata
        grid = _grid(array)
        self.required = np.zeros(grid, dtype=bool)
        for chunk in np.ndindex(*grid):
            self.required[chunk] = store.required(name, chunk)

    def _chunks_of(self, key: tuple[Any, ...]) -> Iterator[tuple[int, ...]]:
        ranges = []
        for item, size, chunk in zip(key, self.shape, self.chunks, strict=True):
            if isinstance(item, slice):
                indices = range(*item.indices(size))
                if not indices:
                    return
                first, last = min(indices[0], indices[-1]), max(indices[0], indices[-1])
            else:
                first = last = int(item) % size
            ranges.append(range(first // chunk, last // chunk + 1))
        yield from itertools.product(*ranges)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        chunks = list(self._chunks_of(key))
        for chunk in chunks:
            if self.required[chunk]:
                file = Path(self.path, self.name, self.metadata.encode_chunk_key(chunk))
                if not file.is_file() or file.stat().st_size == 0:
                    what = "missing" if not file.is_file() else "empty (0 bytes)"
                    raise CorruptRunError(
                        f"run {self.path!r} is damaged: {self.name} chunk {chunk}: the chunk "
                        f"file is {what}; run `neurodyn runs verify {self.path}` for a full "
                        "report", path=self.path, variable=self.name, chunk=chunk)
        try:
            return np.asarray(self.lazy[key].values)
        except MemoryError:
            raise
        except Exception as error:  # zarr and its codecs raise many types for bad bytes
            where = (chunks[0] if len(chunks) == 1 else
                     f"{chunks[0]}..{chunks[-1]}" if chunks else "(none)")
            raise CorruptRunError(
                f"run {self.path!r} is damaged: {self.name} chunk {where} cannot be read "
                f"({_one_line(error)}); run `neurodyn runs verify {self.path}` for a full report",
                path=self.path, variable=self.name,
                chunk=chunks[0] if chunks else None) from None


def open_run(path: str | os.PathLike) -> xr.Dataset:
    """Open a saved run or sweep lazily (dask-backed, one dask block per zarr chunk).

    Raises :class:`RunError` if the path is missing, partial (a temporary store of an
    interrupted write) or not a readable zarr store, and :class:`CorruptRunError` (naming the
    variable and chunk) if the store does not hold what its manifest records: an array or a
    required chunk file missing, an empty chunk file. Chunks are read only when the data are
    used; a chunk whose checksum fails then (or whose file has gone) raises CorruptRunError,
    never NaNs.
    """
    path = _check_path(path)
    store = _inspect(path)
    if store.problems:
        raise _corrupt(path, store.problems)
    return _open_dataset(store)


def _open_dataset(store: _Store) -> xr.Dataset:
    import dask.array as da
    from dask.base import tokenize

    path = store.path
    # dimension coordinates become in-memory indexes at open: read (and checksum) them first
    # so a damaged one is named
    indexes = [name for name, array in store.arrays.items()
               if list(array.metadata.dimension_names or ()) == [name]]
    for name in indexes:
        array = store.arrays[name]
        for chunk in np.ndindex(*_grid(array)):
            try:
                array[_chunk_region(array, chunk)]
            except Exception as error:
                raise _corrupt(path, [_store_problem(store, name, chunk, "corrupt chunk",
                                                     _one_line(error))]) from None
    try:
        # chunks=None, cache=False: xarray's lazily indexed, decoding backend arrays, read
        # block by block through _GuardedChunks below
        ds = xr.open_dataset(path, engine="zarr", chunks=None, cache=False, consolidated=False,
                             zarr_format=3)
    except Exception as error:  # zarr/xarray raise many types for unreadable stores
        raise RunError(f"cannot read run {str(path)!r}: {_one_line(error)}") from None
    stamp = (path / "zarr.json").stat().st_mtime_ns
    for name, variable in ds.variables.items():
        if name in ds.indexes or name not in store.arrays:
            continue
        chunks = tuple(store.arrays[name].chunks)
        guarded = _GuardedChunks(store, str(name), variable.copy(deep=False), chunks)
        variable.data = da.from_array(
            guarded, chunks=chunks or (), fancy=False, lock=False,
            name=f"open_run-{name}-{tokenize(str(path.resolve()), name, stamp)}",
            meta=np.empty((0,) * variable.ndim, dtype=variable.dtype))
    for variable in ds.variables.values():
        variable.encoding.pop("chunks", None)
        variable.encoding.pop("preferred_chunks", None)
    ds.encoding.update({key: ds.attrs.pop(key) for key in STORE_ATTRS if key in ds.attrs})
    return ds


def _damaged_status(path: Path, problems: list[Problem]) -> str:
    return f"damaged ({_count_text(problems)}; run `neurodyn runs verify {path}`)"


def list_runs(directory: str | os.PathLike = "runs") -> list[dict[str, Any]]:
    """One record per run in ``directory``: path, kind, key parameters, size on disk, status
    (``damaged (…)`` if the structural check of :func:`open_run` fails)."""
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
            problems = _inspect(path).problems
            if problems:
                record["status"] = _damaged_status(path, problems)
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
    temporary.write_text(header + _to_toml(json_ready(dict(attrs))))
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
    A done point whose data are damaged raises :class:`CorruptRunError` (at open if a chunk
    file is missing, when read if it fails its checksum). Raises :class:`RunError` if ``path``
    is not a sweep store.
    """
    ds = open_run(path)
    if ds.attrs.get("kind") != "sweep":
        raise RunError(f"{str(path)!r} is a {ds.attrs.get('kind', 'unknown')!r} store, not a sweep")
    if only_done:
        done = ds[POINT_STATUS] == POINT_DONE
        for name in ds.data_vars:
            if not name.startswith("point_"):
                ds[name] = ds[name].where(done)
    return ds


def _read_values(store: _Store, name: str) -> np.ndarray | None:
    try:
        return np.asarray(store.arrays[name][...])
    except Exception:  # damaged: the structural check or verify_run names it
        return None


def _label(values: np.ndarray | None, index: int) -> Any:
    """The coordinate value at ``index`` as a plain Python value (its index if unreadable)."""
    if values is None:
        return index
    value = values[index]
    return value.item() if isinstance(value, np.generic) else value


def run_status(path: str | os.PathLike) -> dict[str, Any]:
    """Kind, status and (for sweeps) point counts of a store, read from its metadata and markers.

    The status is ``damaged (…)`` when the structural check of :func:`open_run` fails (an
    array or a required chunk file missing, an empty chunk file), whatever the attrs say."""
    path = _check_path(path)
    store = _inspect(path)
    attrs = store.attrs
    record: dict[str, Any] = {"path": str(path), "kind": attrs.get("kind", "unknown"),
                              "status": attrs.get("status", "complete")}
    if record["kind"] == "sweep" and POINT_STATUS in store.arrays:
        status = store.status if store.status is not None else _read_values(store, POINT_STATUS)
        status = np.asarray(status if status is not None else [], dtype=np.int64)
        counts = {"done": int((status == 1).sum()), "failed": int((status == 2).sum()),
                  "pending": int((status == 0).sum())}
        record.update(points=int(status.size), **counts)
        record["status"] = ("partial" if counts["pending"] else
                            "failed" if counts["failed"] else "complete")
        errors = _read_values(store, "point_error") if "point_error" in store.arrays else None
        dims = list(store.arrays[POINT_STATUS].metadata.dimension_names or ())
        coords = {dim: _read_values(store, dim) if dim in store.arrays else None for dim in dims}
        record["errors"] = [
            (" ".join(f"{dim}={_label(coords[dim], i)}" for dim, i in zip(dims, index,
                                                                          strict=True)),
             str(errors[index]) if errors is not None else "(error message unreadable)")
            for index in zip(*np.nonzero(status == 2), strict=True)]
        computations = (_read_values(store, "point_computations")
                        if "point_computations" in store.arrays else None)
        record["computations"] = int(computations.sum()) if computations is not None else 0
    if store.problems:
        record["status"] = _damaged_status(path, store.problems)
        record["problems"] = len(store.problems)
    return record


def show_run(path: str | os.PathLike) -> str:
    """A human-readable description of one run or sweep: what it is, its status, its
    dimensions and variables, its parameters and provenance. A damaged run is described from
    its manifest, with the status saying so."""
    path = _check_path(path)
    record = run_status(path)
    store = _inspect(path)
    attrs = {key: value for key, value in store.attrs.items() if key not in STORE_ATTRS}
    lines = [f"{path}: {record['kind']}, {record['status']}"]
    if record["kind"] == "sweep" and "points" in record:
        sweep = attrs.get("sweep", {})
        lines.append(f"  points: {record['points']} ({record['done']} done, {record['failed']} "
                     f"failed, {record['pending']} pending; {record['computations']} computations)")
        lines.append(f"  grid ({sweep.get('config', {}).get('grid_mode', 'product')}): " + ", ".join(
            f"{key}={values}" for key, values in sweep.get("config", {}).get("grid", {}).items()))
        lines.append(f"  quantities: {', '.join(sweep.get('quantities', []))}")
        for label, error in record["errors"][:20]:
            lines.append(f"  failed {label}: {error}")
    dims, variables = _layout(store)
    lines.append("  dims: " + ", ".join(f"{dim}={size}" for dim, size in dims.items()))
    lines.append("  variables: " + ", ".join(
        f"{name}({', '.join(var_dims)})" for name, var_dims in variables.items()))
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
        recomputed = session.get("recomputed_damaged")
        lines.append(f"  session {session.get('started')} -> {session.get('finished')}: "
                     f"computed {session.get('computed')} on {session.get('scheduler')}"
                     + (f" ({recomputed} damaged points recomputed)" if recomputed else ""))
    return "\n".join(lines)


def _layout(store: _Store) -> tuple[dict[str, int], dict[str, list[str]]]:
    """Dims and data variables (name → dims) from the manifest, or from the arrays' metadata
    for a store without one; read from metadata only, so a damaged run can be described."""
    arrays = (store.manifest or {}).get("arrays") or {
        name: {"dims": list(array.metadata.dimension_names or ()), "shape": list(array.shape)}
        for name, array in store.arrays.items()}
    dims: dict[str, int] = {}
    for entry in arrays.values():
        dims.update(zip(entry["dims"], entry["shape"], strict=True))
    coordinates = set(dims)
    for name in store.arrays:
        coordinates.update(str(store.arrays[name].attrs.get("coordinates", "")).split())
    variables = {name: entry["dims"] for name, entry in sorted(arrays.items())
                 if name not in coordinates}
    return dims, variables
