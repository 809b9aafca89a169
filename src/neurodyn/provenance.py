"""Provenance of results: who made them, with what versions, where and when."""

from __future__ import annotations

import copy
import datetime
import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

_PACKAGES = ("neurodyn", "jax", "jaxlib", "diffrax", "equinox", "optimistix", "lineax", "numpy",
             "scipy", "xarray", "zarr", "dask")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_revision() -> str:
    """The git commit of the neurodyn source tree, or "unknown" outside a git checkout."""
    source = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def now() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@functools.cache
def _process_record() -> tuple[tuple[str, Any], ...]:
    # What cannot change while this process runs: the imported code's versions and git revision,
    # the host. Reading package metadata and running git cost ~7 ms, paid once per process
    # instead of on every simulate/lyapunov call (a sweep point, a test).
    import jax

    return (
        ("versions", {name: _version(name) for name in _PACKAGES}),
        ("python", sys.version.split()[0]),
        ("git_revision", git_revision()),
        ("host", socket.gethostname()),
        ("platform", platform.platform()),
        ("jax_backend", jax.default_backend()),
    )


def provenance() -> dict[str, Any]:
    """JSON-ready record of versions, git revision, host, thread settings, time and command line."""
    record = {"created": now()}
    record.update(copy.deepcopy(dict(_process_record())))
    record["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    record["command"] = " ".join(sys.argv)
    return record
