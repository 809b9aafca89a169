"""Run storage: round trip, laziness, atomicity and refusal of bad paths."""

import json
import os
import warnings

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


def test_string_coordinates_are_stored_without_zarr_warnings(tmp_path):
    """Fixed-width unicode coordinates and variables (what learn-bench's method and task lists
    become in xarray) are written as zarr's specified variable-length ``string`` type, not the
    unspecified fixed_length_utf32: saving, opening and verifying emit no warning at all, and
    the same strings come back (non-ASCII included)."""
    methods = ["bptt_scan", "rtrl_discrete", "adjoint", "rflo", "implicit", "implicit_gmres",
               "recurrent_backprop", "eqprop"]
    tasks = ["trajectory"] * 4 + ["fixed_point"] * 4
    notes = ["", "τ", "α·β", "x" * 40] * 2
    ds = xr.Dataset({"time_s": ("method", np.arange(8.0)), "note": ("method", notes)},
                    coords={"method": methods, "task": ("method", tasks)},
                    attrs={"kind": "learn_bench"})
    assert {ds[name].dtype.kind for name in ("method", "task", "note")} == {"U"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = nd.save_run(ds, tmp_path / "strings.zarr")
        reopened = nd.open_run(path).load()
        report = nd.verify_run(path)
    assert report.ok, str(report)
    for name, values in (("method", methods), ("task", tasks), ("note", notes)):
        assert reopened[name].values.tolist() == values, name
        assert json.loads((path / name / "zarr.json").read_text())["data_type"] == "string"
    assert reopened.identical(ds)
    # label selection (dict form: sel's own ``method`` keyword is the selection method)
    assert float(reopened.time_s.sel({"method": "eqprop"})) == 7.0
    assert ds.method.dtype.kind == "U"  # the caller's Dataset is not changed
