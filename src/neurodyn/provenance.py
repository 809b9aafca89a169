"""Provenance of results: who made them, with what versions, where and when."""

from __future__ import annotations

import datetime
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


def provenance() -> dict[str, Any]:
    """JSON-ready record of versions, git revision, host, thread settings, time and command line."""
    import jax

    return {
        "created": now(),
        "versions": {name: _version(name) for name in _PACKAGES},
        "python": sys.version.split()[0],
        "git_revision": git_revision(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "command": " ".join(sys.argv),
    }
