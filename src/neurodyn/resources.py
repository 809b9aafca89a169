"""Memory and time budgets checked before work starts, so a job that cannot fit is refused with
a one-line message instead of crashing the process (an XLA out-of-memory abort or swapping).

Standard library only: the command line calls these checks before it imports JAX.
psutil would give the same numbers, but it is not a dependency; ``/proc/meminfo`` and
``os.sysconf`` cover Linux and macOS.
"""

from __future__ import annotations

import os

from .errors import ParameterError

MEMORY_FRACTION = 0.8
"""A job may plan to use at most this fraction of the memory available when it starts: the
rest is headroom for Python, XLA's workspace and temporaries we do not count."""

_ITEMSIZE = {"float64": 8, "float32": 4}

FLOAT_DTYPES = tuple(_ITEMSIZE)
"""The dtypes a network and its run can have ("float64", the default for science, "float32")."""


def itemsize(dtype: str) -> int:
    """Bytes per element of a float dtype name ("float64" or "float32")."""
    return _ITEMSIZE.get(str(dtype), 8)


def network_bytes(N: int, dtype: str) -> int:
    """Peak memory of building a dense network (Network.random): the float64 draw X (N, N), two
    float64 temporaries while it is scaled into J, and the cast to ``dtype``."""
    return (N * N + N) * (3 * 8 + itemsize(dtype))


SPARSE_BLOCK_ELEMENTS = 2**22
"""Entries (rows × K) drawn per block when a sparse network is built; the block's temporaries,
not the (N, K) arrays, are what construction adds to the network itself."""


def sparse_network_bytes(N: int, K: int, dtype: str) -> int:
    """Peak memory of building a sparse network (Network.random with K): the (N, K) int32
    partners and the (N, K) weights in ``dtype``, θ, and one block's temporaries (float64
    weights, int32 draws, their sort and the redraws: ~8 words of 8 bytes per block entry)."""
    block = min(N * K, SPARSE_BLOCK_ELEMENTS + K)
    return N * K * (4 + itemsize(dtype)) + N * (8 + itemsize(dtype)) + 64 * block


def sparse_drift_bytes(trials: int, N: int, K: int, dtype: str) -> int:
    """Temporaries of one sparse drift evaluation: the gathered rates of one row block
    (at most SPARSE_BLOCK_ELEMENTS entries per trial) and the (trial, N) result."""
    block = min(N * K, SPARSE_BLOCK_ELEMENTS + K)
    return trials * (block + N) * itemsize(dtype)


def sparse_run_bytes(trials: int, N: int, K: int, dtype: str) -> int:
    """Memory a sparse network holds during a run: the (N, K) int32 index and weights in
    ``dtype``, and one drift evaluation's temporaries (:func:`sparse_drift_bytes`)."""
    return N * K * (4 + itemsize(dtype)) + sparse_drift_bytes(trials, N, K, dtype)


def trajectory_bytes(trials: int, n_save: int, N: int, dtype: str) -> int:
    """Memory of a saved trajectory h (trial, time, neuron): on device, then as one host copy."""
    return 2 * trials * n_save * N * itemsize(dtype)


def available_memory_bytes() -> int:
    """Memory available to a new allocation now (Linux: MemAvailable; else physical memory)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return 2**63 - 1  # unknown: do not refuse


def format_bytes(n: float) -> str:
    """Human-readable size: 1.5 GiB, 320 MiB, 12 KiB."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


def check_memory(what: str, needed_bytes: float, available: int | None = None,
                 hint: str = "reduce it") -> None:
    """Refuse (ParameterError) a plan that needs more than MEMORY_FRACTION of the available
    memory. ``what`` names the parameters that set the size, e.g. ``"N=10000000, dtype=float64"``;
    ``hint`` says what to change.
    """
    available = available_memory_bytes() if available is None else available
    if needed_bytes > MEMORY_FRACTION * available:
        raise ParameterError(
            f"{what} needs about {format_bytes(needed_bytes)} of memory, more than "
            f"{MEMORY_FRACTION:.0%} of the {format_bytes(available)} available; {hint}")
