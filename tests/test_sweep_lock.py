"""One sweep at a time per store: a second `neurodyn sweep` on a store that another process is
working on is refused (exit 2, one line naming the holder, the store untouched); the lock of a
sweep that was killed is replaced and the sweep runs; the lock is gone after a sweep.

The lock itself (races, recycled pids, other hosts) is tested in tests/test_lock.py; this file
checks that the sweep driver and the command line use it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from neurodyn import lock, sweep
from neurodyn.cli import main
from neurodyn.errors import RunError

CONFIG = """
out = "store.zarr"
[grid]
g = [1.5]
[compute]
quantities = ["summary"]
[network]
N = 10
[simulate]
t1 = 2.0
dt_save = 0.5
transient = 0.0
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(CONFIG)
    return path


def test_a_second_sweep_on_a_held_store_is_refused(tmp_path, config, capsys):
    store = tmp_path / "store.zarr"
    held = lock.acquire(store)
    try:
        assert main(["sweep", str(config), "--workers", "1"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"pid {os.getpid()}" in err, err
        with pytest.raises(RunError, match="locked|held"):
            sweep.run_sweep(config, workers=1)
        assert sorted(p.name for p in tmp_path.iterdir()) == [".store.zarr.lock", "sweep.toml"]
    finally:
        lock.release(held)


def test_the_lock_of_a_killed_sweep_is_replaced_and_released_after(tmp_path, config):
    store = tmp_path / "store.zarr"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from neurodyn import lock; "
         "lock.acquire(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(store)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunError, match=str(holder.pid)):
            sweep.run_sweep(config, workers=1)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert lock.lock_path(store).exists()  # SIGKILL skips the release: a stale lock is left
    with pytest.warns(lock.StaleLockWarning):
        result = sweep.run_sweep(config, workers=1)
    assert result.ok and result.done == 1
    assert not lock.lock_path(store).exists()
    record = sweep._read_attrs(store)["sessions"][-1]
    assert record["stale_lock_replaced"] and str(holder.pid) in record["stale_lock_replaced"]
    assert sweep.run_sweep(config, workers=1).computed == 0  # resumed: nothing to compute
