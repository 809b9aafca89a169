"""A lock on a store path, so that two processes never write one store at once.

The lock is a small JSON file next to the store, ``<parent>/.<store name>.lock``: next to it
rather than inside, so that it exists before the store does and also guards the moment the store
is created (a sweep creates its store under a temporary name and renames it into place). It is
created atomically with ``O_CREAT | O_EXCL``: of two processes racing for it exactly one gets it.
It records who holds it (host, pid, start time, command line, and a random token that makes each
acquisition unique), and is removed when the holder releases it.

A lock outlives a holder that was killed (SIGKILL, a power cut), so a lock is **stale**, and is
replaced with a one-line :class:`StaleLockWarning`, when its holder is provably gone:

- the holder ran on this host, in this pid namespace, and its pid is not alive, or the pid now
  belongs to a process that started at another time (a recycled pid, seen in /proc), or this
  host has rebooted since (another kernel boot id);
- the file is empty or unreadable and older than :data:`UNREADABLE_GRACE_S` (a crash between
  creating the file and writing its record).

A lock held on another host (or from another pid namespace, e.g. another container) cannot be
checked from here and is never broken automatically: the error names the lock file to delete if
the user is sure its holder is gone.

Standard library only, so that the CLI can take the lock before importing JAX.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shlex
import socket
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import RunError

try:
    import fcntl
except ImportError:  # not on Windows: acquisition then relies on O_EXCL alone
    fcntl = None

UNREADABLE_GRACE_S = 10.0
"""Age below which an empty or unreadable lock file is taken to be one that another process has
just created and is about to write (the record is written right after the O_EXCL create, so a
healthy holder leaves it empty for microseconds; 10 s is far longer than that even on a slow
network filesystem). Older than this, its creator has crashed between the two steps."""

_GUARD_WAIT_S = 5.0
"""How long to wait for another process's change of a lock in this directory (milliseconds
normally) before going on without the guard."""

_COMMAND_SHOWN = 120
"""Characters of the holder's command line shown in the refusal message."""


class StaleLockWarning(UserWarning):
    """A stale lock (its holder is gone) was replaced; the message says whose and why."""


@dataclasses.dataclass(frozen=True)
class StoreLock:
    """A held lock: its file, the record written into it, and what it replaced.

    ``replaced`` is None, or one line saying which stale lock was replaced and why (the same
    text as the :class:`StaleLockWarning`)."""

    store: Path
    path: Path
    record: dict[str, Any]
    replaced: str | None = None


def lock_path(store: str | os.PathLike) -> Path:
    """The lock file of ``store``: ``<parent>/.<store name>.lock``, with symlinks resolved (in
    the parent and the store itself), so that every path naming one store names one lock."""
    store = Path(store).resolve()
    return store.parent / f".{store.name}.lock"


@contextlib.contextmanager
def store_lock(store: str | os.PathLike, purpose: str = "sweep") -> Iterator[StoreLock]:
    """Hold the lock on ``store`` for the ``with`` block; released however the block ends
    (normally, on an exception, on KeyboardInterrupt).

    Raises :class:`~neurodyn.errors.RunError` (one line: the store, the holder, since when and
    what to do) if another process, or this one, holds it. See the module docstring for when a
    lock is stale and replaced."""
    lock = _acquire(store, purpose, stacklevel=4)  # the warning points at the `with` line
    try:
        yield lock
    finally:
        release(lock)


def acquire(store: str | os.PathLike, purpose: str = "sweep") -> StoreLock:
    """Take the lock on ``store`` and return it; pair with :func:`release` (or use
    :func:`store_lock`). Raises RunError if it is held by a live process or cannot be created."""
    return _acquire(store, purpose, stacklevel=3)


def _acquire(store: str | os.PathLike, purpose: str, stacklevel: int) -> StoreLock:
    store = Path(store).absolute()
    path = lock_path(store)
    record = _own_record(store, purpose)
    payload = (json.dumps(record, indent=1) + "\n").encode()
    replaced = None
    with _guard(path.parent):
        for _ in range(3):  # a lock released meanwhile, or one stale lock replaced, then retry
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                found = _read(path)
                if found is None:  # released between our create and our read
                    continue
                # after replacing one stale lock, a lock found again belongs to a new holder
                stale = None if replaced is not None else _stale_reason(store, path, found)
                if stale is None:
                    raise RunError(_refusal(store, path, purpose, found)) from None
                _remove_stale(path, stale)
                replaced = stale
                continue
            except OSError as error:
                raise RunError(_cannot_create(store, path, error)) from None
            try:
                os.write(descriptor, payload)  # one small write, right after the create
                os.fsync(descriptor)
            except BaseException as error:  # also KeyboardInterrupt: leave no empty lock behind
                with contextlib.suppress(OSError):
                    os.unlink(path)
                if isinstance(error, OSError):
                    raise RunError(_cannot_create(store, path, error)) from None
                raise
            finally:
                os.close(descriptor)
            break
        else:
            raise RunError(_refusal(store, path, purpose, _read(path)))
    if replaced is not None:
        warnings.warn(replaced, StaleLockWarning, stacklevel=stacklevel)
    return StoreLock(store=store, path=path, record=record, replaced=replaced)


def release(lock: StoreLock) -> bool:
    """Remove ``lock``'s file if it is still ours (same token); never remove another's lock.

    Returns True if the file was removed. A lock file replaced meanwhile (someone deleted ours
    by hand and another process took the store) is left alone."""
    with _guard(lock.path.parent):
        record = _read(lock.path)
        if not isinstance(record, dict) or record.get("token") != lock.record["token"]:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock.path)
        return True


def check_unlocked(store: str | os.PathLike, purpose: str = "sweep") -> None:
    """Raise the RunError :func:`acquire` would raise if ``store`` is locked by a live holder
    now, without taking the lock (a free or stale lock passes). For an early, cheap refusal,
    e.g. by the command line before it imports JAX; only :func:`acquire` makes a store ours."""
    store = Path(store).absolute()
    path = lock_path(store)
    found = _read(path)
    if found is not None and _stale_reason(store, path, found) is None:
        raise RunError(_refusal(store, path, purpose, found))


def holder(store: str | os.PathLike) -> dict[str, Any] | None:
    """The record of the current holder of ``store``'s lock, or None if it is not locked (or
    its lock file is unreadable)."""
    record = _read(lock_path(store))
    return record if isinstance(record, dict) else None


# --- the holder's record ----------------------------------------------------------------------

def _own_record(store: Path, purpose: str) -> dict[str, Any]:
    started = time.time()
    return {
        "store": str(store), "purpose": purpose, "host": socket.gethostname(), "pid": os.getpid(),
        "started": _utc(started), "started_unix": started,
        "command": shlex.join(sys.argv) if sys.argv else sys.executable,
        "token": uuid.uuid4().hex, "boot_id": _boot_id(),
        "pid_namespace": _pid_namespace("self"), "process_start": _process_start(os.getpid()),
    }


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _pid_namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (field 22 of /proc/<pid>/stat), or None
    where /proc is not available. The command name (field 2) may hold spaces and parentheses,
    so the fields are counted from its closing parenthesis."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text[text.rindex(")") + 1:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _read(path: Path) -> dict[str, Any] | None | str:
    """The lock file's record; None if there is no file; "unreadable" if it cannot be parsed
    (empty, half-written, not JSON, not a lock record)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return "unreadable"
    try:
        record = json.loads(text)
    except json.JSONDecodeError:
        return "unreadable"
    if (not isinstance(record, dict) or not isinstance(record.get("pid"), int)
            or not isinstance(record.get("host"), str) or "token" not in record):
        return "unreadable"
    return record


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:  # e.g. pid out of range: no such process
        return False
    return True


def _checkable_here(record: dict[str, Any]) -> bool:
    """Whether the holder's pid means something on this machine: same host name, and the same
    pid namespace when both are known (another container on this host has its own pids)."""
    if record.get("host") != socket.gethostname():
        return False
    theirs, ours = record.get("pid_namespace"), _pid_namespace("self")
    return theirs is None or ours is None or theirs == ours


def _stale_reason(store: Path, path: Path, record: dict[str, Any] | str) -> str | None:
    """One line saying why the lock at ``path`` (holding ``record``) is stale, or None if it
    may be held."""
    if record == "unreadable":
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            return None
        if age < UNREADABLE_GRACE_S:
            return None
        return (f"replaced an unreadable lock file {str(path)!r} ({age:.0f} s old: its creator "
                "crashed before writing it)")
    if not _checkable_here(record):
        return None
    pid, since = record["pid"], _since(record)
    who = f"stale lock on {str(store)!r} (pid {pid} on {record['host']}{since})"
    boot = record.get("boot_id")
    if boot is not None and _boot_id() is not None and boot != _boot_id():
        return f"replaced a {who}: this host has rebooted since"
    if not _alive(pid):
        return f"replaced a {who}: that process is no longer running"
    started, now_started = record.get("process_start"), _process_start(pid)
    if isinstance(started, int) and now_started is not None and started != now_started:
        return f"replaced a {who}: that process is gone and its pid now belongs to another"
    return None


def _since(record: dict[str, Any]) -> str:
    started = record.get("started_unix")
    if not isinstance(started, int | float):
        return ""
    return f", since {_utc(started)}, {_age(time.time() - started)} ago"


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _remove_stale(path: Path, reason: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise RunError(f"{reason}, but cannot remove it: {error.strerror}; delete "
                       f"{str(path)!r} by hand") from None


def _refusal(store: Path, path: Path, purpose: str, record: dict[str, Any] | str | None) -> str:
    if not isinstance(record, dict):
        return (f"store {str(store)!r} is being locked by another process right now (its lock "
                f"file {str(path)!r} is not yet written); wait for that {purpose} or try again "
                "in a few seconds")
    command = str(record.get("command", ""))
    if len(command) > _COMMAND_SHOWN:
        command = command[:_COMMAND_SHOWN - 1] + "…"
    what = record.get("purpose", "process")
    who = (f"store {str(store)!r} is in use by another {what} (host {record['host']}, pid "
           f"{record['pid']}{_since(record)}, command: {command})")
    if record["pid"] == os.getpid() and _checkable_here(record):
        return f"{who}: this very process holds it; a store is opened for writing once at a time"
    if not _checkable_here(record):
        return (f"{who}; it runs on another machine and cannot be checked from here: wait for it "
                f"to finish, or, if you are sure it is no longer running, delete {str(path)!r} "
                "and run again")
    return (f"{who}; wait for it to finish, or stop it (kill {record['pid']}) and run again (a "
            "lock whose process has exited is replaced automatically)")


def _cannot_create(store: Path, path: Path, error: OSError) -> str:
    if isinstance(error, FileNotFoundError) and not store.parent.is_dir():
        return f"output directory {str(store.parent)!r} does not exist"
    return (f"cannot lock store {str(store)!r}: creating {str(path)!r} failed: "
            f"{error.strerror or error}")


@contextlib.contextmanager
def _guard(directory: Path) -> Iterator[None]:
    """Serialise lock changes between processes of this host with flock on the store's
    directory, so that two processes replacing the same stale lock cannot both succeed (one
    could otherwise delete the other's fresh lock, taking it for the stale one). Best effort:
    where the directory cannot be flocked (no fcntl, some network filesystems) O_EXCL alone
    still keeps ordinary acquisition exclusive."""
    descriptor = None
    if fcntl is not None:
        with contextlib.suppress(OSError):
            descriptor = os.open(directory, os.O_RDONLY)
    if descriptor is not None:
        deadline = time.monotonic() + _GUARD_WAIT_S
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:  # a holder stopped mid-change: go on without
                    os.close(descriptor)
                    descriptor = None
                    break
                time.sleep(0.005)
            except OSError:
                os.close(descriptor)
                descriptor = None
                break
    try:
        yield
    finally:
        if descriptor is not None:
            os.close(descriptor)  # closing releases the flock
