"""Sweeps: config validation, nothing lost under SIGKILL or a dying worker, same results on a
dask LocalCluster as in-process, failed points recorded.

The independent truth for "the final store equals an uninterrupted run" is an uninterrupted
in-process run of the same config (``workers=1``, no dask): the point computations are pure
functions of their seeds, so any difference would come from lost, torn or mixed-up points.
Comparisons are exact (``xarray.Dataset.equals``): every path runs the same compiled XLA code on
the same inputs in a fresh process, so bit-identical results are expected and anything else is
a bug. ``point_seconds`` (wall time) is the one variable that legitimately differs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import fail_at, keyword_clashes

import neurodyn as nd
from neurodyn import sweep
from neurodyn.errors import ParameterError, RunError
from neurodyn.sweep_config import load_config, parse_config

# Slow enough points (Euler, dt = 1e-4 over 20 tau: ~0.3 s each on this machine) that a kill
# lands while some points are done and others are not; N = 20 keeps each point cheap.
SLOW = """
out = "{out}"
[grid]
g = [1.5, 2.5]
seed = [0, 1, 2, 3]
[compute]
quantities = ["simulate", "summary"]
[network]
N = 20
[simulate]
t1 = 20.0
dt_save = 1.0
transient = 0.0
solver = "euler"
dt = 1e-4
"""

TINY = SLOW.replace("g = [1.5, 2.5]\nseed = [0, 1, 2, 3]", "g = [1.5, 2.5]").replace(
    '"simulate", "summary"', '"summary", "autocorrelation"')

ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def write(path: Path, text: str, out: str) -> Path:
    path.write_text(text.format(out=out))
    return path


def comparable(path: Path) -> xr.Dataset:
    return nd.open_sweep(path).drop_vars("point_seconds").load()


def cli_here(capsys, *args: str, cwd: Path) -> tuple[int, str, str]:
    """The CLI in this process (compiled code is shared with the other tests)."""
    from neurodyn.cli import main

    capsys.readouterr()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        code = main(list(args))
    finally:
        os.chdir(previous)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> xr.Dataset:
    """The uninterrupted in-process (``--workers 1``) run of SLOW."""
    directory = tmp_path_factory.mktemp("reference")
    config = write(directory / "sweep.toml", SLOW, "ref.zarr")
    result = sweep.run_sweep(config, workers=1)
    assert result.ok and result.computed == 8
    return comparable(directory / "ref.zarr")


def test_reference_is_a_complete_store(reference):
    assert not keyword_clashes(reference)
    assert reference.sizes["g"] == 2 and reference.sizes["seed"] == 4
    assert (reference.point_status == sweep.DONE).all()
    assert (reference.point_computations == 1).all()
    # summary agrees with the stored trajectory it was computed from
    np.testing.assert_allclose(reference.variance, reference.h.var(("trial", "time", "neuron")),
                               rtol=1e-12)
    # different seeds give different networks and trajectories (points are not copies)
    assert not np.array_equal(reference.h.isel(g=0, seed=0), reference.h.isel(g=0, seed=1))


def test_sigkill_then_resume_equals_uninterrupted_run(tmp_path, reference, capsys):
    config = write(tmp_path / "sweep.toml", SLOW, "killed.zarr")
    store = tmp_path / "killed.zarr"
    process = subprocess.Popen([sys.executable, "-m", "neurodyn.cli", "sweep", str(config),
                                "--workers", "1"], cwd=tmp_path, env=ENV,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        if (store / "point_status" / "zarr.json").exists():
            done = int((sweep.point_status(store) == sweep.DONE).sum())
            if done >= 2:
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_at_kill = sweep.point_status(store) == sweep.DONE
    assert 2 <= done_at_kill.sum() < 8, "the kill must land mid-sweep for this test to mean anything"
    data_at_kill = nd.open_sweep(store)["h"].values[done_at_kill]

    # the same command again (in this process: it has the compiled code already)
    code, out, err = cli_here(capsys, "sweep", str(config), "--workers", "1", cwd=tmp_path)
    assert code == 0, err
    assert f"computed {8 - int(done_at_kill.sum())} in this session" in out
    final = comparable(store)
    assert (final.point_computations == 1).all(), "a point was computed twice"
    assert final.equals(reference)
    np.testing.assert_array_equal(final["h"].values[done_at_kill], data_at_kill)  # untouched
    sessions = nd.open_run(store).attrs["sessions"]
    assert len(sessions) == 1 and sessions[0]["computed"] == 8 - int(done_at_kill.sum())


@pytest.fixture(scope="module")
def cluster():
    """A real dask.distributed LocalCluster with 2 worker processes (shared by two tests, so
    the workers compile once)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        yield local, client


def test_local_cluster_with_two_workers_matches_in_process(tmp_path, reference, cluster):
    local, client = cluster
    config = write(tmp_path / "sweep.toml", SLOW, "cluster.zarr")
    from distributed import get_task_stream

    with get_task_stream(client=client) as stream:
        result = sweep.run_sweep(config, scheduler=local.scheduler_address)
    assert result.ok and result.computed == 8 and result.skipped == 0
    assert comparable(tmp_path / "cluster.zarr").equals(reference)
    # both worker processes computed points: the sweep really ran distributed
    assert len({task["worker"] for task in stream.data
                if str(task["key"]).startswith("neurodyn-point")}) == 2


def test_worker_killed_mid_task_the_sweep_completes(tmp_path, reference, cluster):
    local, client = cluster
    config = write(tmp_path / "sweep.toml", SLOW, "lost.zarr")
    store = tmp_path / "lost.zarr"
    process = subprocess.Popen(
        [sys.executable, "-m", "neurodyn.cli", "sweep", str(config), "--scheduler",
         local.scheduler_address], cwd=tmp_path, env=ENV,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and process.poll() is None:
        if (store / "point_status" / "zarr.json").exists() and \
                (sweep.point_status(store) == sweep.DONE).sum() >= 1:
            busy = [address for address, keys in client.processing().items()
                    if any(str(key).startswith("neurodyn-point") for key in keys)]
            if busy:
                # the points the worker holds: the one it computes may be computed again
                held = [int(str(key).split("-")[2]) for key in client.processing()[busy[0]]
                        if str(key).startswith("neurodyn-point")]
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed = pid
        time.sleep(0.02)
    stdout, stderr = process.communicate(timeout=150)
    assert killed is not None, "no worker was busy with a point while the sweep ran"
    assert process.returncode == 0, stderr
    final = comparable(store)
    assert (final.point_status == sweep.DONE).all()
    # A point whose worker died before its completion marker landed is computed again; the
    # kill can land after the computation counter was written and before the marker (the
    # marker is written last), so such a point may count 2. Every other point counts 1: no
    # finished point is recomputed.
    counts = final.point_computations.values.ravel()
    others = np.setdiff1d(np.arange(counts.size), held)
    assert (counts[others] == 1).all(), (counts, held)
    assert np.isin(counts[held], (1, 2)).all(), (counts, held)
    assert final.drop_vars("point_computations").equals(
        reference.drop_vars("point_computations"))


def test_failed_points_are_recorded_and_the_exit_code_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "compute_point", fail_at("heun"))
    text = SLOW.replace("g = [1.5, 2.5]\nseed = [0, 1, 2, 3]",
                        'solver = ["euler", "heun"]\nseed = [0, 0]').replace(
        'solver = "euler"\n', "").replace("[grid]", 'grid_mode = "zip"\n[grid]').format(
        out="fail.zarr")
    config = tmp_path / "fail.toml"
    config.write_text(text)
    code, out, err = cli_here(capsys, "sweep", str(config), "--workers", "1", cwd=tmp_path)
    assert code == sweep_exit_failed(), err
    assert "1 failed" in out and "ParameterError" in out and "heun" in out
    ds = nd.open_sweep(tmp_path / "fail.zarr")
    assert ds.sizes["point"] == 2 and list(ds["solver"].values) == ["euler", "heun"]
    np.testing.assert_array_equal(ds.point_status.values, [sweep.DONE, sweep.FAILED])
    assert ds.point_error.values[0] == "" and "heun" in str(ds.point_error.values[1])
    assert np.isfinite(ds.variance.values[0]) and np.isnan(ds.variance.values[1])
    assert nd.open_run(tmp_path / "fail.zarr").attrs["status"] == "failed"
    # resuming keeps the recorded failure; --retry-failed recomputes only the failed point
    code, out, _ = cli_here(capsys, "sweep", str(config), "--workers", "1", cwd=tmp_path)
    assert code == sweep_exit_failed() and "computed 0" in out
    code, out, _ = cli_here(capsys, "sweep", str(config), "--workers", "1", "--retry-failed",
                            cwd=tmp_path)
    assert code == sweep_exit_failed() and "computed 1 in this session" in out
    np.testing.assert_array_equal(nd.open_sweep(tmp_path / "fail.zarr").point_computations, [1, 2])


def sweep_exit_failed() -> int:
    from neurodyn.cli import EXIT_POINTS_FAILED

    return EXIT_POINTS_FAILED


BAD = [
    ("unknown top-level key", 'out = "x.zarr"\ncolour = 1\n[grid]\ng = [1.0]\n'
     '[compute]\nquantities = ["summary"]\n', "unknown key 'colour'"),
    ("unknown grid key", 'out = "x.zarr"\n[grid]\ngain = [1.0]\n[compute]\n'
     'quantities = ["summary"]\n', "unknown key 'gain' in [grid]"),
    ("unknown network key", 'out = "x.zarr"\n[grid]\ng = [1.0]\n[network]\nM = 3\n'
     '[compute]\nquantities = ["summary"]\n', "unknown key 'M' in [network]"),
    ("empty grid", 'out = "x.zarr"\n[grid]\n[compute]\nquantities = ["summary"]\n',
     "[grid] is empty"),
    ("empty list", 'out = "x.zarr"\n[grid]\ng = []\n[compute]\nquantities = ["summary"]\n',
     "[grid] g=[]"),
    ("string for a number", 'out = "x.zarr"\n[grid]\ng = ["two"]\n[compute]\n'
     'quantities = ["summary"]\n', "[grid] g='two'"),
    ("float for an integer", 'out = "x.zarr"\n[grid]\ng = [1.0]\n[network]\nN = 2.5\n'
     '[compute]\nquantities = ["summary"]\n', "N=2.5"),
    ("scalar instead of list", 'out = "x.zarr"\n[grid]\ng = 1.0\n[compute]\n'
     'quantities = ["summary"]\n', "[grid] g=1.0"),
    ("unknown quantity", 'out = "x.zarr"\n[grid]\ng = [1.0]\n[compute]\n'
     'quantities = ["entropy"]\n', "quantities='entropy'"),
    ("grid and fixed", 'out = "x.zarr"\n[grid]\ng = [1.0]\n[network]\ng = 2.0\n[compute]\n'
     'quantities = ["summary"]\n', "'g' is both in [grid] and in [network]"),
    ("shape-changing grid", 'out = "x.zarr"\n[grid]\nN = [10, 20]\n[compute]\n'
     'quantities = ["simulate"]\n', "[grid] N changes the shape"),
    ("missing out", '[grid]\ng = [1.0]\n[compute]\nquantities = ["summary"]\n', "out=None"),
    ("not TOML", 'out = "x.zarr\n', "is not valid TOML"),
]


@pytest.mark.parametrize(("label", "text", "expected"), BAD, ids=[case[0] for case in BAD])
def test_bad_config_one_line_error_and_nothing_written(tmp_path, capsys, label, text, expected):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    with pytest.raises(ParameterError) as error:
        load_config(config)
    assert expected in str(error.value) and "\n" not in str(error.value)
    # through the command line: exit code 2 and the same message on one line of stderr
    code, out, err = cli_here(capsys, "sweep", str(config), cwd=tmp_path)
    assert code == 2 and out == "" and err.count("\n") == 1 and expected in err
    assert sorted(os.listdir(tmp_path)) == ["bad.toml"]


def test_store_from_another_config_is_refused_and_left_alone(tmp_path, capsys):
    write(tmp_path / "a.toml", TINY, "s.zarr")
    assert sweep.run_sweep(tmp_path / "a.toml", workers=1).ok
    before = {p: p.read_bytes() for p in (tmp_path / "s.zarr").rglob("*") if p.is_file()}
    (tmp_path / "b.toml").write_text(TINY.format(out="s.zarr").replace("[1.5, 2.5]", "[1.5, 3.0]"))
    with pytest.raises(RunError, match=r"another sweep config \(differs in grid\.g\)"):
        sweep.run_sweep(tmp_path / "b.toml", workers=1)
    code, _, err = cli_here(capsys, "sweep", "b.toml", cwd=tmp_path)
    assert code == 2 and "another sweep config" in err and err.count("\n") == 1
    after = {p: p.read_bytes() for p in (tmp_path / "s.zarr").rglob("*") if p.is_file()}
    assert after == before
    # a plain run at the out path is not a sweep either
    net = nd.Network.random(N=5, g=1.0, seed=0)
    nd.save_run(nd.simulate(net, t1=1.0, dt_save=0.5), tmp_path / "run.zarr")
    with pytest.raises(RunError, match="not a sweep"):
        sweep.run_sweep(tmp_path / "b.toml", workers=1, out=tmp_path / "run.zarr")


def test_config_semantics():
    config = parse_config({"out": "x.zarr", "grid": {"g": [1, 2], "seed": [3]},
                           "compute": {"quantities": ["summary", "simulate"]},
                           "network": {"N": 4}})
    assert config.dims == ("g", "seed") and config.shape == (2, 1)
    assert config.quantities == ("simulate", "summary")  # canonical order
    assert config.grid[0][1] == (1.0, 2.0) and isinstance(config.grid[0][1][0], float)
    settings = sweep.point_settings(config, config.point((1, 0)))
    assert settings["network"] == {"N": 4, "g": 2.0, "seed": 3}  # seed seeds the network too
    assert settings["simulate"] == {"seed": 3}
    fixed_network = parse_config({"out": "x.zarr", "grid": {"seed": [3]},
                                  "compute": {"quantities": ["summary"]},
                                  "network": {"seed": 7}})
    assert sweep.point_settings(fixed_network, {"seed": 3})["network"]["seed"] == 7
    # the fingerprint ignores the out path and sees every setting
    moved = parse_config({"out": "y.zarr", "grid": {"g": [1.0, 2.0], "seed": [3]},
                          "compute": {"quantities": ["simulate", "summary"]}, "network": {"N": 4}})
    assert moved.fingerprint() == config.fingerprint()
    changed = parse_config({"out": "x.zarr", "grid": {"g": [1.0, 2.0], "seed": [3]},
                            "compute": {"quantities": ["simulate", "summary"]},
                            "network": {"N": 5}})
    assert changed.fingerprint() != config.fingerprint()
