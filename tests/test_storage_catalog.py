"""The run catalog: run.toml beside every store, list_runs over runs and sweeps, show_run,
open_sweep, and the `neurodyn runs` / `runs show` commands.

The independent truths: ``tomllib`` (the standard library's TOML reader) must read run.toml
back to the attrs that ``open_run`` reads from zarr; statuses must agree with the completion
markers a sweep wrote.
"""

from __future__ import annotations

import math
import tomllib
import warnings

import numpy as np
import pytest
from conftest import fail_at

import neurodyn as nd
from neurodyn import storage, sweep
from neurodyn.cli import main

# the shapes of the notebook tests' runs, so a full session compiles them once
SWEEP = """
out = "{out}"
grid_mode = "zip"
[grid]
solver = ["tsit5", "dopri5"]
[compute]
quantities = ["summary"]
[network]
N = 40
[simulate]
t1 = 20.0
dt_save = 0.5
transient = 10.0
"""


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    directory = tmp_path_factory.mktemp("runs")
    net = nd.Network.random(N=40, g=2.0, seed=1)
    nd.save_run(nd.simulate(net, t1=20.0, dt_save=0.5, transient=10.0, seed=1),
                directory / "single.zarr")
    (directory / "failed.toml").write_text(SWEEP.format(out="failed.zarr"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sweep, "compute_point", fail_at("dopri5"))
        result = sweep.run_sweep(directory / "failed.toml", workers=1)
    assert (result.done, result.failed) == (1, 1)
    (directory / "partial.toml").write_text(SWEEP.format(out="partial.zarr"))
    sweep.create_store(directory / "partial.zarr",
                       sweep.load_config(directory / "partial.toml"))  # created, nothing run
    return directory


def test_run_toml_is_the_attrs_in_toml(catalog):
    path = catalog / "single.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zarr warns about stray files; the about/ group is not one
        attrs = nd.open_run(path).attrs
    document = tomllib.loads((path / "about" / "run.toml").read_text())
    assert document["network"] == attrs["network"]
    assert document["provenance"]["versions"] == attrs["provenance"]["versions"]
    assert document["t1"] == attrs["t1"] == 20.0 and document["kind"] == "simulation"
    assert set(nd.open_run(path).data_vars) == {"h"}  # the about/ group adds no variable


def test_toml_writer_round_trips_awkward_values():
    value = {"text": 'quote " and \\ backslash, ünïcode', "flag": False, "count": -3,
             "x": 1e-300, "inf": math.inf, "list": [1, 2.5, "a"], "nested": {"deeper": {"k": 1}},
             "inline": [{"a": 1}], "key with space": 1, "skipped": None}
    back = tomllib.loads(storage._to_toml(value))
    expected = {k: v for k, v in value.items() if v is not None}
    assert back == expected


def test_list_runs_shows_kind_and_status(catalog):
    records = {record["path"].rsplit("/", 1)[-1]: record for record in nd.list_runs(catalog)}
    assert set(records) == {"single.zarr", "failed.zarr", "partial.zarr"}
    assert (records["single.zarr"]["kind"], records["single.zarr"]["status"]) == \
        ("simulation", "complete")
    assert (records["failed.zarr"]["kind"], records["failed.zarr"]["status"]) == ("sweep", "failed")
    assert (records["partial.zarr"]["kind"], records["partial.zarr"]["status"]) == \
        ("sweep", "partial")
    assert "N=40" in records["failed.zarr"]["parameters"]


def test_run_status_counts_the_markers(catalog):
    status = storage.run_status(catalog / "failed.zarr")
    markers = sweep.point_status(catalog / "failed.zarr")
    assert (status["done"], status["failed"], status["pending"]) == (
        int((markers == 1).sum()), int((markers == 2).sum()), int((markers == 0).sum())) == (1, 1, 0)
    assert status["errors"][0][0] == "point=1" and "dopri5" in status["errors"][0][1]
    assert storage.run_status(catalog / "partial.zarr")["pending"] == 2


def test_open_sweep_masks_points_not_done(catalog):
    ds = nd.open_sweep(catalog / "failed.zarr", only_done=True)
    assert ds.variance.chunks is not None  # lazy
    values = ds.variance.values
    assert np.isfinite(values[0]) and np.isnan(values[1])
    with pytest.raises(nd.RunError, match="not a sweep"):
        nd.open_sweep(catalog / "single.zarr")


def test_runs_command_lists_and_shows(catalog, capsys):
    assert main(["runs", str(catalog)]) == 0
    listing = capsys.readouterr().out
    assert "partial.zarr" in listing and "sweep" in listing and "simulation" in listing
    assert main(["runs", "show", str(catalog / "failed.zarr")]) == 0
    shown = capsys.readouterr().out
    assert "sweep, failed" in shown and "1 done, 1 failed, 0 pending" in shown
    assert "failed point=1: ParameterError" in shown
    assert main(["runs", "show", str(catalog / "single.zarr")]) == 0
    assert "simulation, complete" in capsys.readouterr().out
    assert main(["runs", "show", str(catalog / "missing.zarr")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["runs", str(catalog), "extra"]) == 2  # only `runs show PATH` takes two
