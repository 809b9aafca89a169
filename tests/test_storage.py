"""Run storage: round trip, laziness, atomicity and refusal of bad paths."""

import os

import numpy as np
import pytest
import xarray as xr

import neurodyn as nd
from neurodyn import storage


@pytest.fixture(scope="module")
def run():
    net = nd.Network.random(N=40, g=1.8, seed=0)
    return nd.simulate(net, t1=20.0, trials=3, noise=0.1, seed=1)


def test_saved_run_reopens_lazily_and_identical(tmp_path, run):
    path = nd.save_run(run, tmp_path / "a.zarr")
    reopened = nd.open_run(path)
    assert reopened.h.chunks is not None  # dask-backed, nothing loaded yet
    assert reopened.load().identical(run)
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]  # no temporary left behind


def test_existing_path_is_refused_and_left_untouched(tmp_path, run):
    path = nd.save_run(run, tmp_path / "a.zarr")
    before = sorted(p.name for p in path.rglob("*"))
    other = run.isel(trial=[0])
    with pytest.raises(nd.RunError, match="exists"):
        nd.save_run(other, path)
    assert sorted(p.name for p in path.rglob("*")) == before
    nd.save_run(other, path, overwrite=True)
    assert nd.open_run(path).sizes["trial"] == 1
    assert sorted(os.listdir(tmp_path)) == ["a.zarr"]


def test_crash_during_write_leaves_nothing(tmp_path, run, monkeypatch):
    def crash(self, store, *args, **kwargs):
        os.makedirs(store, exist_ok=True)
        (store / "zarr.json").write_text("{}")
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(xr.Dataset, "to_zarr", crash)
    with pytest.raises(KeyboardInterrupt):
        nd.save_run(run, tmp_path / "b.zarr")
    assert os.listdir(tmp_path) == []


def test_partial_and_unreadable_stores_are_errors(tmp_path):
    with pytest.raises(nd.RunError, match="no run at"):
        nd.open_run(tmp_path / "missing.zarr")
    partial = tmp_path / ".x.zarr.partial-1234abcd"
    partial.mkdir()
    with pytest.raises(nd.RunError, match="partial"):
        nd.open_run(partial)
    foreign = tmp_path / "foreign.zarr"
    foreign.mkdir()
    with pytest.raises(nd.RunError, match="not a zarr v3 store"):
        nd.open_run(foreign)
    corrupt = tmp_path / "corrupt.zarr"
    corrupt.mkdir()
    (corrupt / "zarr.json").write_text("{not json")
    with pytest.raises(nd.RunError, match="cannot read run"):
        nd.open_run(corrupt)


def test_chunks_split_time_and_trial(run):
    chunks = storage.chunk_sizes(run.h.variable)
    assert chunks["trial"] == 1 and chunks["neuron"] == 40 and 1 <= chunks["time"] <= run.sizes["time"]


def test_list_runs_reports_kind_and_parameters(tmp_path, run):
    nd.save_run(run, tmp_path / "a.zarr")
    (tmp_path / "notes").mkdir()
    records = nd.list_runs(tmp_path)
    assert [r["kind"] for r in records] == ["simulation"]
    assert "N=40" in records[0]["parameters"] and records[0]["size_bytes"] > 0
    assert np.isfinite(records[0]["size_bytes"])
