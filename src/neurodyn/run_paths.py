"""Which paths neurodyn may write to or replace: checked before any work, standard library only.

The command line imports this module before JAX, NumPy or xarray, so that a bad ``--out`` is
refused in milliseconds and before anything is computed. :func:`neurodyn.save_run` calls the
same check, so the API and the CLI refuse the same paths.

``--overwrite`` (``overwrite=True``) only ever replaces a *neurodyn run*: a real directory (not
a symlink) whose root ``zarr.json`` carries neurodyn's marker in its attributes. Everything else
(a user's directory, a regular file, a symlink even to a run, ``.``, the home directory) is
refused and left untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import RunError

STORE_MARKER = "neurodyn_store"
"""Root attribute that marks a zarr store written by neurodyn; its value is ``{"format": 1}``."""

STORE_FORMAT = 1
"""Version of the store layout (marker, integrity manifest, CRC32C checksums on every array)."""


def store_marker() -> dict[str, int]:
    """The marker attribute value written into the root attrs of every store."""
    return {"format": STORE_FORMAT}


def root_attributes(path: str | os.PathLike) -> dict | None:
    """The root attributes of the zarr v3 store at ``path``, or None if it has no readable
    ``zarr.json`` describing a group."""
    try:
        metadata = json.loads((Path(path) / "zarr.json").read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(metadata, dict) or metadata.get("node_type") != "group":
        return None
    attributes = metadata.get("attributes", {})
    return attributes if isinstance(attributes, dict) else None


def is_neurodyn_run(path: str | os.PathLike) -> bool:
    """True if ``path`` is a real directory (not a symlink) holding a zarr store that neurodyn
    wrote: its root attrs carry :data:`STORE_MARKER`, or (stores written before the marker
    existed) ``provenance.versions.neurodyn``."""
    path = Path(path)
    if path.is_symlink() or not path.is_dir():
        return False
    attributes = root_attributes(path)
    if attributes is None:
        return False
    if isinstance(attributes.get(STORE_MARKER), dict):
        return True
    provenance = attributes.get("provenance")
    versions = provenance.get("versions") if isinstance(provenance, dict) else None
    return isinstance(versions, dict) and "neurodyn" in versions


def _protected(path: Path) -> str | None:
    """What ``path`` is if it must never be replaced, whatever it holds, else None."""
    try:
        resolved = path.resolve()
        cwd = Path.cwd().resolve()
    except OSError:
        return None
    if resolved == cwd:
        return "the current directory"
    if resolved in cwd.parents:
        return "a directory containing the current directory"
    if resolved == Path.home().resolve():
        return "the home directory"
    if resolved.parent == resolved:
        return "a filesystem root"
    return None


def _can_create_in(directory: Path) -> bool:
    """Create and remove an empty hidden directory in ``directory``: ``os.access`` says yes to
    root everywhere, and knows nothing of filesystems such as /proc that refuse new entries."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".neurodyn-probe-", dir=directory))
    except OSError:
        return False
    return True


def check_output_path(path: str | os.PathLike | None, overwrite: bool,
                      flag: str = "--out") -> None:
    """Refuse an output path before any work is done; ``None`` (no output) passes.

    Raises :class:`RunError` (one line naming ``flag``, the path, why and what is allowed) if
    the path exists and ``overwrite`` is False; if it exists, ``overwrite`` is True and it is not
    a neurodyn run (a regular file, a symlink, a user directory, ``.``, the home directory); if
    its parent directory does not exist; or if the parent is not writable. Nothing is changed.
    """
    if path is None:
        return
    path = Path(path)
    shown = str(path)
    option = "--overwrite" if flag.startswith("--") else "overwrite=True"
    if os.path.lexists(path):  # lexists: a dangling symlink is still something to protect
        if not overwrite:
            raise RunError(f"{flag}={shown!r} exists; choose another path, or pass {option} to "
                           "replace it if it is a neurodyn run")
        protected = _protected(path)
        if not is_neurodyn_run(path):
            what = ("a symlink, not a neurodyn run" if path.is_symlink() else
                    f"{protected}, not a neurodyn run" if protected else
                    "a directory that is not a neurodyn run" if path.is_dir() else
                    "a file, not a neurodyn run")
            raise RunError(f"{flag}={shown!r} is {what}; {option} replaces only a neurodyn run "
                           "(a real directory with neurodyn's zarr.json) — choose another path")
        if protected is not None:
            raise RunError(f"{flag}={shown!r} is {protected}; {option} never replaces it, even "
                           "when it holds a neurodyn run — choose another path")
    parent = path.absolute().parent
    if not parent.is_dir():
        why = "is not a directory" if os.path.lexists(parent) else "does not exist"
        raise RunError(f"{flag}={shown!r}: output directory {str(parent)!r} {why}; "
                       "create it first or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK) or not _can_create_in(parent):
        raise RunError(f"{flag}={shown!r}: output directory {str(parent)!r} is not writable; "
                       "choose a directory you can write to")


__all__ = ["STORE_FORMAT", "STORE_MARKER", "check_output_path", "is_neurodyn_run",
           "root_attributes", "store_marker"]
