"""The store lock: one writer per store, stale locks replaced, foreign locks never touched.

The independent truth is the operating system: a second process really holding the lock (a
``python -c`` child), a pid that really is dead (a child that has exited and been reaped), and
the lock file's bytes on disk before and after.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from neurodyn import lock as store_locks
from neurodyn.errors import RunError
from neurodyn.lock import (
    StaleLockWarning,
    acquire,
    check_unlocked,
    lock_path,
    release,
    store_lock,
)

HOLD = """
import sys, time
from neurodyn.lock import store_lock
with store_lock(sys.argv[1], purpose="test holder"):
    print("held", flush=True)
    time.sleep(60)
"""

RACE = """
import sys, time
from neurodyn.errors import RunError
from neurodyn.lock import acquire, release
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
try:
    lock = acquire(sys.argv[1])
except RunError:
    print("refused", flush=True)
    sys.exit(0)
print("won", flush=True)
time.sleep(0.5)  # hold it while the others try
release(lock)
"""


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped (so it is not alive)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def write_lock(store: Path, **fields) -> Path:
    record = {"store": str(store.absolute()), "purpose": "sweep", "host": socket.gethostname(),
              "pid": os.getpid(), "started": "2026-01-01 00:00:00 UTC",
              "started_unix": time.time() - 3600, "command": "neurodyn sweep other.toml",
              "token": "f" * 32, **fields}
    path = lock_path(store)
    path.write_text(json.dumps(record))
    return path


def test_lock_file_is_next_to_the_store_and_removed_on_release(tmp_path):
    store = tmp_path / "s.zarr"
    with store_lock(store) as held:
        assert held.path == tmp_path / ".s.zarr.lock" and held.path.is_file()
        assert not store.exists()  # the lock does not create the store
        record = json.loads(held.path.read_text())
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["token"] == held.record["token"] and held.replaced is None
        assert store_locks.holder(store)["token"] == held.record["token"]
    assert not held.path.exists() and store_locks.holder(store) is None
    with store_lock(store) as again:  # and it can be taken again
        assert again.path.is_file() and again.record["token"] != held.record["token"]
    assert os.listdir(tmp_path) == []


def test_second_acquisition_in_this_process_is_refused(tmp_path):
    store = tmp_path / "s.zarr"
    with store_lock(store):
        before = lock_path(store).read_bytes()
        with pytest.raises(RunError) as error:
            acquire(store)
        message = str(error.value)
        assert "\n" not in message and str(store) in message and f"pid {os.getpid()}" in message
        assert "this very process" in message
        assert lock_path(store).read_bytes() == before  # the holder's lock is untouched
        # a different store in the same directory has its own lock
        with store_lock(tmp_path / "t.zarr") as other:
            assert other.path == tmp_path / ".t.zarr.lock" and other.replaced is None


def test_every_path_naming_one_store_takes_one_lock(tmp_path, monkeypatch):
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    (tmp_path / "real" / "s.zarr").mkdir()
    (tmp_path / "link.zarr").symlink_to(tmp_path / "real" / "s.zarr")
    monkeypatch.chdir(tmp_path / "real")
    with store_lock(tmp_path / "real" / "s.zarr") as held:
        assert held.path == tmp_path.resolve() / "real" / ".s.zarr.lock"
        for other in ("s.zarr", "../alias/s.zarr", tmp_path / "alias" / "s.zarr",
                      tmp_path / "link.zarr"):
            with pytest.raises(RunError, match="this very process holds it"):
                acquire(other)


def test_lock_held_by_another_process_is_refused_with_the_holder_named(tmp_path):
    store = tmp_path / "s.zarr"
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(store)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        for purpose in ("sweep", "resume"):
            with pytest.raises(RunError) as error:
                acquire(store, purpose)
            message = str(error.value)
            assert "\n" not in message and repr(str(store)) in message
            assert f"pid {child.pid}" in message and f"host {socket.gethostname()}" in message
            assert "test holder" in message and "since 20" in message
            assert f"kill {child.pid}" in message  # what to do
        assert json.loads(lock_path(store).read_text())["pid"] == child.pid
        # killed without a chance to release: its lock is now stale and is replaced
        child.kill()
        child.wait()
        with pytest.warns(StaleLockWarning, match=f"pid {child.pid}.*no longer running"):
            held = acquire(store)
        assert held.replaced is not None and json.loads(held.path.read_text())["pid"] == os.getpid()
        release(held)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("stale", [False, True], ids=["free", "stale"])
def test_processes_racing_for_a_lock_exactly_one_wins(tmp_path, stale):
    store = tmp_path / "s.zarr"
    if stale:  # all of them find the same stale lock and try to replace it
        write_lock(store, pid=dead_pid())
    start = time.time() + 0.8
    racers = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", RACE, str(store),
                                str(start)], stdout=subprocess.PIPE, text=True)
              for _ in range(6)]
    outcomes = sorted(racer.communicate(timeout=30)[0].strip() for racer in racers)
    assert outcomes == ["refused"] * 5 + ["won"]
    assert not lock_path(store).exists()


@pytest.mark.parametrize("fields", [
    {"pid": "dead"},  # a pid that has exited
    {"boot_id": "00000000-0000-0000-0000-000000000000"},  # written before this host rebooted
    {"process_start": -1},  # our pid, but a process that started at another time: recycled
])
def test_stale_lock_of_this_host_is_replaced(tmp_path, fields):
    if fields.get("pid") == "dead":
        fields = {"pid": dead_pid()}
    if "boot_id" in fields and store_locks._boot_id() is None:
        pytest.skip("no boot id on this system")
    if "process_start" in fields and store_locks._process_start(os.getpid()) is None:
        pytest.skip("no /proc/<pid>/stat on this system")
    store = tmp_path / "s.zarr"
    write_lock(store, **fields)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with store_lock(store) as held:
            record = json.loads(held.path.read_text())
            assert record["token"] == held.record["token"] and record["pid"] == os.getpid()
    caught = [w for w in caught if issubclass(w.category, StaleLockWarning)]
    assert len(caught) == 1, [str(w.message) for w in caught]
    text = str(caught[0].message)
    assert held.replaced == text and "\n" not in text and "replaced a stale lock" in text
    assert not held.path.exists()


@pytest.mark.parametrize("fields", [
    {"host": "some-other-node"},
    {"host": "some-other-node", "pid": 1},
    {"pid_namespace": "pid:[1]"},  # this host name, another container: its pids are not ours
])
def test_lock_from_another_machine_is_never_broken(tmp_path, fields):
    store = tmp_path / "s.zarr"
    if "pid_namespace" in fields:
        if store_locks._pid_namespace("self") is None:
            pytest.skip("no pid namespaces on this system")
        fields["pid"] = dead_pid()  # dead here, but that says nothing about another namespace
    path = write_lock(store, **fields)
    before = path.read_bytes()
    with pytest.raises(RunError) as error:
        acquire(store)
    message = str(error.value)
    assert "\n" not in message and repr(str(path)) in message and "delete" in message
    assert "cannot be checked" in message and "60 min ago" in message
    assert f"pid {fields.get('pid', os.getpid())}" in message
    assert path.read_bytes() == before


def test_unreadable_lock_is_stale_only_once_old(tmp_path):
    store = tmp_path / "s.zarr"
    path = lock_path(store)
    for content in (b"", b'{"host": "a", "pi'):  # created, crashed before / while writing
        path.write_bytes(content)
        with pytest.raises(RunError, match="being locked by another process right now"):
            acquire(store)  # young: its creator may be writing it this very moment
        assert path.read_bytes() == content
        old = time.time() - 2 * store_locks.UNREADABLE_GRACE_S
        os.utime(path, (old, old))
        with pytest.warns(StaleLockWarning, match="unreadable lock file .* crashed"):
            with store_lock(store) as taken:
                assert taken.replaced and json.loads(path.read_text())["pid"] == os.getpid()
        assert not path.exists()


def test_check_unlocked_refuses_like_acquire_and_takes_nothing(tmp_path):
    store = tmp_path / "s.zarr"
    check_unlocked(store)  # free
    assert os.listdir(tmp_path) == []
    with store_lock(store):
        with pytest.raises(RunError, match="this very process holds it"):
            check_unlocked(store)
    path = write_lock(store, pid=dead_pid())
    before = path.read_bytes()
    check_unlocked(store)  # stale: acquire would replace it, so it passes, and is left as it is
    assert path.read_bytes() == before
    path = write_lock(store, host="some-other-node")
    with pytest.raises(RunError, match="delete"):
        check_unlocked(store)


def test_lock_is_released_on_exception_and_keyboard_interrupt(tmp_path):
    store = tmp_path / "s.zarr"
    for exception in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exception)):
            with store_lock(store):
                assert lock_path(store).exists()
                raise exception
        assert not lock_path(store).exists()


def test_release_never_removes_a_foreign_lock(tmp_path):
    store = tmp_path / "s.zarr"
    held = acquire(store)
    # someone deleted our lock by hand and another process took the store
    lock_path(store).unlink()
    path = write_lock(store, host="some-other-node")
    before = path.read_bytes()
    assert release(held) is False and path.read_bytes() == before
    # a lock emptied or overwritten by something else is not ours either
    path.write_bytes(b"")
    assert release(held) is False and path.exists()
    path.unlink()
    assert release(held) is False  # and a lock that is already gone is fine


def test_unwritable_directory_and_missing_directory_are_one_line_errors(tmp_path):
    with pytest.raises(RunError, match="output directory .* does not exist"):
        acquire(tmp_path / "missing" / "s.zarr")
    if os.geteuid() == 0:
        return  # root writes through permissions
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(RunError, match="cannot lock store .*Permission denied") as error:
            acquire(tmp_path / "s.zarr")
        assert "\n" not in str(error.value)
    finally:
        tmp_path.chmod(0o700)
