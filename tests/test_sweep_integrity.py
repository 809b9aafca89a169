"""Sweep stores: checksums and a manifest on every array, verify_run finds damaged points,
open_sweep never returns NaNs for a done point whose data are gone, and a resume recomputes
damaged points so that the final store equals an uninterrupted run.

The independent truth for "equals an uninterrupted run" is the same config run once, in
process, without damage (the points are pure functions of their seeds, so the recomputed point
must come out bit-identical). ``point_seconds`` (wall time) and ``point_computations`` (a
recomputed point counts 2) are the variables that legitimately differ.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import DAMAGE, damage, snapshot

import neurodyn as nd
from neurodyn import storage, sweep
from neurodyn.errors import CorruptRunError

# the shapes of tests/test_sweep.py's SLOW config (N = 20, Euler at dt = 1e-4 over 20 tau), so
# in one session the simulation is compiled once for both modules; four points, 2 x 2
CONFIG = """
out = "{out}"
[grid]
g = [1.5, 2.5]
seed = [0, 1]
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


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """(config, store) of the sweep run once to the end, in process; tests work on copies."""
    directory = tmp_path_factory.mktemp("finished")
    config = directory / "sweep.toml"
    config.write_text(CONFIG.format(out="ref.zarr"))
    result = sweep.run_sweep(config, workers=1)
    assert result.ok and result.computed == 4 and result.recomputed == 0
    return config, directory / "ref.zarr"


def comparable(path: Path) -> xr.Dataset:
    return nd.open_sweep(path).drop_vars(["point_seconds", "point_computations"]).load()


POINT = (1, 0)  # g = 2.5, seed = 0


def test_every_sweep_array_is_checksummed_and_listed_in_the_manifest(finished):
    import zarr

    _, store = finished
    attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    manifest = attrs["integrity"]
    arrays = dict(zarr.open_group(str(store), mode="r").arrays())
    assert set(manifest["arrays"]) == set(arrays)
    assert {"h", "variance", "point_status", "point_error", "g", "seed", "time"} <= set(arrays)
    for name, array in arrays.items():
        codecs = [c["name"] for c in json.loads((store / name / "zarr.json").read_text())["codecs"]]
        assert codecs[-1] == "crc32c", (name, codecs)
        assert manifest["arrays"][name]["nchunks"] == array.nchunks
    assert manifest["points"]["dims"] == ["g", "seed"]
    assert manifest["points"]["arrays"]["h"] == "done"
    assert manifest["points"]["arrays"]["point_error"] == "marked"
    assert "g" not in manifest["points"]["arrays"]  # coordinates are written at creation
    report = storage.verify_run(store)
    assert report.ok and report.manifest, str(report)


def test_pending_points_have_no_chunks_and_that_is_not_damage(tmp_path, finished):
    config, _ = finished
    store = tmp_path / "new.zarr"
    sweep.create_store(store, sweep.load_config(config))
    assert not (store / "h" / "c").exists()  # metadata only: no point written
    report = storage.verify_run(store)
    assert report.ok, str(report)
    assert storage.run_status(store)["status"] == "partial"
    assert np.isnan(nd.open_sweep(store, only_done=True).variance.values).all()
    # one point done, the others pending: its chunks are required, theirs are not
    sweep.run_point(sweep.load_config(config), str(store), POINT)
    assert storage.verify_run(store).ok
    (store / "variance" / "c" / "1" / "0").unlink()
    report = storage.verify_run(store)
    assert [(p.variable, p.point, p.kind) for p in report.problems] == [
        ("variance", POINT, "missing chunk")]


@pytest.mark.parametrize("how", list(DAMAGE))
@pytest.mark.parametrize("chunk", ["h/c/1/0/0/0/0", "variance/c/1/0", "point_error/c/1/0"])
def test_damaged_point_is_found_and_never_read_as_nan(tmp_path, finished, how, chunk):
    _, reference = finished
    store = Path(shutil.copytree(reference, tmp_path / "copy.zarr"))
    variable = chunk.split("/")[0]
    damage(store / chunk, how)
    report = storage.verify_run(store)
    assert [(p.variable, p.point, p.kind) for p in report.problems] == [
        (variable, POINT, DAMAGE[how])]
    assert report.damaged_points() == {POINT} and f"(point {POINT})" in str(report)
    # a done point's damaged data are never NaNs: open_sweep raises (at open, or on reading)
    with pytest.raises(CorruptRunError, match=rf"{variable} chunk \(1, 0") as error:
        nd.open_sweep(store, only_done=True).load()
    assert error.value.variable == variable and "\n" not in str(error.value)
    if how in ("delete", "empty"):  # the structural check sees these without reading data
        assert storage.run_status(store)["status"].startswith("damaged (1 ")


@pytest.fixture(scope="module")
def reference(finished) -> xr.Dataset:
    return comparable(finished[1])


@pytest.mark.parametrize("how", ["delete", "flip"])
def test_resume_recomputes_the_damaged_point_only(tmp_path, finished, reference, how):
    config, done = finished
    store = Path(shutil.copytree(done, tmp_path / "copy.zarr"))
    damage(store / "h/c/1/0/0/0/0", how)
    untouched = {p: p.read_bytes() for p in (store / "h" / "c" / "0").rglob("*") if p.is_file()}
    result = sweep.run_sweep(config, workers=1, out=store)
    assert (result.recomputed, result.computed, result.done, result.total) == (1, 1, 4, 4)
    assert "1 point marked done was damaged" in sweep.describe_result(result)
    assert storage.verify_run(store).ok
    assert comparable(store).equals(reference)
    assert untouched == {p: p.read_bytes() for p in untouched}  # the other points not rewritten
    computations = nd.open_sweep(store).point_computations.values
    assert computations[POINT] == 2 and computations.sum() == 5
    session = nd.open_run(store).attrs["sessions"][-1]
    assert session["recomputed_damaged"] == 1 and session["computed"] == 1


def test_resume_recomputes_every_kind_of_damage_at_once(tmp_path, finished, reference):
    config, done = finished
    store = Path(shutil.copytree(done, tmp_path / "copy.zarr"))
    damage(store / "h/c/0/0/0/0/0", "delete")
    damage(store / "h/c/0/1/0/0/0", "truncate")
    damage(store / "variance/c/1/0", "empty")
    damage(store / "point_status/c/1/1", "flip")  # the completion marker itself
    report = storage.verify_run(store)
    assert report.damaged_points() == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert storage.run_status(store)["status"].startswith("damaged (")
    with pytest.raises(CorruptRunError, match="point_status"):
        nd.open_sweep(store)
    result = sweep.run_sweep(config, workers=1, out=store)
    assert (result.recomputed, result.computed, result.done) == (4, 4, 4)
    assert "4 points marked done were damaged" in sweep.describe_result(result)
    assert storage.verify_run(store).ok
    assert comparable(store).equals(reference)
    assert storage.run_status(store)["status"] == "complete"


@pytest.mark.parametrize("damaged", ["time/c/0", "h/zarr.json", "g/c/0"])
def test_damage_outside_the_points_refuses_to_resume(tmp_path, finished, damaged):
    config, done = finished
    store = Path(shutil.copytree(done, tmp_path / "copy.zarr"))
    damage(store / damaged, "delete" if damaged.endswith("zarr.json") else "flip")
    before = snapshot(store)
    assert not storage.verify_run(store).ok
    with pytest.raises(CorruptRunError, match="damaged outside its points") as error:
        sweep.run_sweep(config, workers=1, out=store)
    assert error.value.variable == damaged.split("/")[0]
    assert snapshot(store) == before  # nothing recomputed or rewritten
