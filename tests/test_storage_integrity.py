"""Nothing lost, nothing silently wrong, for saved runs: overwrite safety (run_paths,
save_run), checksums on every array, the manifest, verify_run, and open_run / run_status on
damaged stores.

The independent truths: md5 sums and directory listings taken before a refused write (nothing
may change, nothing may appear); zarr's own array metadata (codecs, shapes, chunks) read back
from disk for the manifest; damage made by hand on the chunk files (deleted, truncated, emptied,
bit-flipped) that the checks must find at the place it was made. The runs are small synthetic
Datasets shaped like a simulation: storage does not look at what the numbers mean, and no JAX
compilation is needed.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from conftest import DAMAGE, damage, snapshot

import neurodyn as nd
from neurodyn import run_paths, storage
from neurodyn.errors import CorruptRunError, RunError


def simulation_like(trials: int = 3, seed: int = 0) -> xr.Dataset:
    """A Dataset with the layout of ``nd.simulate``'s output (h(trial, time, neuron))."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((trials, 41, 20))
    return xr.Dataset(
        {"h": (("trial", "time", "neuron"), h, {"long_name": "state h", "units": "1"})},
        coords={"trial": np.arange(trials), "time": np.linspace(0.0, 4.0, 41),
                "neuron": np.arange(20)},
        attrs={"kind": "simulation", "network": {"N": 20, "g": 1.8, "phi": "tanh"}, "t1": 4.0,
               "provenance": {"versions": {"neurodyn": "test"}}})


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """One saved run, copied by each test that damages it."""
    return nd.save_run(simulation_like(), tmp_path_factory.mktemp("saved") / "run.zarr")


def copy_run(source: Path, directory: Path, name: str = "run.zarr") -> Path:
    import shutil

    return Path(shutil.copytree(source, directory / name))


def user_files(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "thesis.tex").write_text("\\section{Results}\n")
    (directory / "data.csv").write_text("t,h\n0,1\n")
    (directory / "sub").mkdir(exist_ok=True)
    (directory / "sub" / "notes.md").write_text("keep me\n")
    return directory


# --- overwrite safety ---------------------------------------------------------------------

def refused_and_untouched(root: Path, target: Path, match: str) -> None:
    """save_run(..., overwrite=True) and check_output_path(..., overwrite=True) both refuse
    ``target`` with one line naming it, and nothing under ``root`` changes."""
    before = snapshot(root)
    with pytest.raises(RunError, match=match) as error:
        nd.save_run(simulation_like(trials=1), target, overwrite=True)
    assert "\n" not in str(error.value) and str(target) in str(error.value)
    with pytest.raises(RunError, match=match) as error:
        run_paths.check_output_path(target, overwrite=True)
    assert str(error.value).startswith("--out=") and "\n" not in str(error.value)
    assert snapshot(root) == before


def test_overwrite_refuses_a_directory_of_user_files(tmp_path):
    refused_and_untouched(tmp_path, user_files(tmp_path / "mydata"), "not a neurodyn run")


def test_overwrite_refuses_a_regular_file(tmp_path):
    (tmp_path / "file.txt").write_text("precious\n")
    refused_and_untouched(tmp_path, tmp_path / "file.txt", "a file, not a neurodyn run")


def test_overwrite_refuses_the_current_directory(tmp_path, monkeypatch):
    user_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    refused_and_untouched(tmp_path, Path("."), "current directory")
    refused_and_untouched(tmp_path, Path(""), "current directory")


def test_overwrite_refuses_the_home_directory(tmp_path, monkeypatch):
    home = user_files(tmp_path / "home")
    monkeypatch.setenv("HOME", str(home))
    assert Path.home() == home
    refused_and_untouched(tmp_path, Path.home(), "home directory")


def test_overwrite_refuses_a_directory_containing_the_current_one(tmp_path, saved,
                                                                  monkeypatch):
    # even a real run: replacing it would pull the working directory out from under the user
    run = copy_run(saved, tmp_path)
    monkeypatch.chdir(run / "about")
    refused_and_untouched(tmp_path, run, "current directory")


def test_overwrite_refuses_symlinks_even_to_a_run(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    (tmp_path / "link-to-run.zarr").symlink_to(run, target_is_directory=True)
    refused_and_untouched(tmp_path, tmp_path / "link-to-run.zarr", "a symlink")
    user_files(tmp_path / "docs")
    (tmp_path / "link-to-dir").symlink_to(tmp_path / "docs", target_is_directory=True)
    refused_and_untouched(tmp_path, tmp_path / "link-to-dir", "a symlink")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    refused_and_untouched(tmp_path, tmp_path / "dangling", "a symlink")


def test_overwrite_refuses_a_foreign_zarr_store(tmp_path):
    foreign = tmp_path / "foreign.zarr"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_zarr(foreign, zarr_format=3, consolidated=False)
    refused_and_untouched(tmp_path, foreign, "not a neurodyn run")


def test_existing_path_without_overwrite_and_bad_parents_are_refused(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    before = snapshot(tmp_path)
    for target, match in [(run, "exists; choose another path, or pass overwrite=True"),
                          (tmp_path / "missing" / "x.zarr", "does not exist")]:
        with pytest.raises(RunError, match=match):
            nd.save_run(simulation_like(), target)
    with pytest.raises(RunError, match=r"^--out=.* exists; .*--overwrite"):
        run_paths.check_output_path(run, overwrite=False)
    with pytest.raises(RunError, match="^--figure=.* does not exist"):
        run_paths.check_output_path(tmp_path / "missing" / "f.png", False, flag="--figure")
    with pytest.raises(RunError, match="is not a directory"):
        nd.save_run(simulation_like(), tmp_path / "run.zarr" / "zarr.json" / "x.zarr")
    run_paths.check_output_path(None, overwrite=False)  # no output: nothing to check
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere; os.access says so")
def test_read_only_parent_is_refused_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(RunError, match="not writable"):
            run_paths.check_output_path(locked / "x.zarr", overwrite=False)
        with pytest.raises(RunError, match="not writable"):
            nd.save_run(simulation_like(), locked / "x.zarr")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_read_only_parent_is_refused_even_for_root(tmp_path, monkeypatch):
    # os.access says yes to root everywhere; an empty directory is created and removed to be sure
    if Path("/proc/self").is_dir():  # a filesystem that refuses new entries, even to root
        with pytest.raises(RunError, match="'/proc' is not writable"):
            run_paths.check_output_path("/proc/run.zarr", overwrite=False)
    with monkeypatch.context() as patch:
        patch.setattr(run_paths.os, "access", lambda path, mode: False)
        with pytest.raises(RunError, match=r"output directory .* is not writable"):
            nd.save_run(simulation_like(), tmp_path / "x.zarr")
    def read_only(**kwargs):
        raise PermissionError("read-only file system")

    with monkeypatch.context() as patch:
        patch.setattr(run_paths.tempfile, "mkdtemp", read_only)
        with pytest.raises(RunError, match=r"output directory .* is not writable"):
            nd.save_run(simulation_like(), tmp_path / "x.zarr")
    assert os.listdir(tmp_path) == []
    run_paths.check_output_path(tmp_path / "x.zarr", overwrite=False)
    assert os.listdir(tmp_path) == []  # the probe leaves nothing behind


def test_overwrite_replaces_a_run_and_leaves_nothing_behind(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    assert run_paths.is_neurodyn_run(run)
    nd.save_run(simulation_like(trials=1, seed=5), run, overwrite=True)
    assert nd.open_run(run).load().identical(simulation_like(trials=1, seed=5))
    assert sorted(os.listdir(tmp_path)) == ["run.zarr"]  # no .run.zarr.old-… or .partial-…


def test_overwrite_replaces_a_run_of_an_older_version(tmp_path):
    # stores written before the marker carry provenance.versions.neurodyn and no manifest
    legacy = tmp_path / "legacy.zarr"
    simulation_like().to_zarr(legacy, zarr_format=3, consolidated=False)
    assert run_paths.is_neurodyn_run(legacy)
    nd.save_run(simulation_like(trials=2, seed=3), legacy, overwrite=True)
    assert nd.open_run(legacy).sizes["trial"] == 2
    assert sorted(os.listdir(tmp_path)) == ["legacy.zarr"]


def test_failed_replace_puts_the_old_run_back(tmp_path, saved, monkeypatch):
    run = copy_run(saved, tmp_path)
    before = snapshot(tmp_path)
    rename = os.rename

    def fail_second_rename(source, destination):
        if ".partial-" in str(source):
            raise OSError("disk gone")
        rename(source, destination)

    monkeypatch.setattr(storage.os, "rename", fail_second_rename)
    with pytest.raises(OSError, match="disk gone"):
        nd.save_run(simulation_like(trials=1), run, overwrite=True)
    assert snapshot(tmp_path) == before


def test_is_neurodyn_run(tmp_path, saved):
    (tmp_path / "f").write_text("x")
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr" / "zarr.json").write_text("{not json")
    assert run_paths.is_neurodyn_run(saved)
    assert not run_paths.is_neurodyn_run(tmp_path / "f")
    assert not run_paths.is_neurodyn_run(tmp_path / "bad.zarr")
    assert not run_paths.is_neurodyn_run(tmp_path / "missing")
    assert not run_paths.is_neurodyn_run(user_files(tmp_path / "u"))


def test_run_paths_imports_only_the_standard_library():
    # the CLI imports it before JAX/NumPy/xarray; errors.py is the one package module it uses
    for module in ("run_paths.py", "errors.py"):
        tree = ast.parse((Path(storage.__file__).parent / module).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    assert module == "run_paths.py" and node.module == "errors"
                    continue
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in sys.stdlib_module_names, (module, name)


# --- checksums and the manifest -----------------------------------------------------------

def test_every_array_has_a_crc32c_checksum_and_is_in_the_manifest(saved):
    import zarr

    attrs = json.loads((saved / "zarr.json").read_text())["attributes"]
    assert attrs["neurodyn_store"] == {"format": 1}
    manifest = attrs["integrity"]["arrays"]
    group = zarr.open_group(str(saved), mode="r")
    arrays = dict(group.arrays())
    assert set(manifest) == set(arrays) == {"h", "trial", "time", "neuron"}
    for name, array in arrays.items():
        codecs = [codec["name"] for codec in
                  json.loads((saved / name / "zarr.json").read_text())["codecs"]]
        assert codecs[-1] == "crc32c" and "zstd" in codecs, (name, codecs)
        entry = manifest[name]
        assert entry["shape"] == list(array.shape) and entry["chunks"] == list(array.chunks)
        assert entry["nchunks"] == array.nchunks and entry["dtype"] == str(array.dtype)
        # every chunk is on disk (written even where it equals the fill value)
        assert array.nchunks_initialized == array.nchunks
    assert manifest["h"]["nchunks"] == 3  # one trial per chunk


def test_store_attrs_stay_out_of_the_dataset(saved, tmp_path):
    ds = nd.open_run(saved)
    assert "integrity" not in ds.attrs and "neurodyn_store" not in ds.attrs
    assert ds.encoding["integrity"]["arrays"]["h"]["nchunks"] == 3
    again = nd.save_run(ds, tmp_path / "again.zarr")  # a reopened run saves cleanly
    assert nd.open_run(again).load().identical(simulation_like())


# --- damage found: verify_run, open_run, run_status -----------------------------------------

STRUCTURAL = {"delete", "empty"}  # found at open, without reading data


@pytest.mark.parametrize("how", list(DAMAGE))
@pytest.mark.parametrize(("variable", "chunk"), [("h", (1, 0, 0)), ("time", (0,)),
                                                 ("trial", (0,))])
def test_damaged_chunk_is_found_and_named(tmp_path, saved, how, variable, chunk):
    run = copy_run(saved, tmp_path)
    damage(run / variable / "c" / "/".join(map(str, chunk)), how)
    report = storage.verify_run(run)
    assert not report.ok and report.manifest
    assert [(p.variable, p.chunk, p.kind) for p in report.problems] == [
        (variable, chunk, DAMAGE[how])]
    assert variable in str(report) and "DAMAGED" in str(report)
    # open_run (or reading the data) raises, naming the variable and the chunk; never NaNs
    with pytest.raises(CorruptRunError, match=rf"{variable} chunk \(") as error:
        nd.open_run(run).load()
    assert (error.value.variable, error.value.chunk) == (variable, chunk)
    assert "\n" not in str(error.value) and "verify" in str(error.value)
    status = storage.run_status(run)["status"]
    if how in STRUCTURAL:
        assert status.startswith("damaged (1 ") and "neurodyn runs verify" in status
        assert nd.list_runs(tmp_path)[0]["status"] == status
        assert "damaged" in storage.show_run(run).splitlines()[0]


def test_damage_is_found_when_the_data_are_read_not_at_open(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    ds = nd.open_run(run)  # lazy: no chunk of h read yet
    damage(run / "h" / "c" / "2" / "0" / "0", "flip")
    damage(run / "h" / "c" / "1" / "0" / "0", "delete")
    np.testing.assert_array_equal(ds.h.isel(trial=0).values, simulation_like().h.isel(trial=0))
    with pytest.raises(CorruptRunError, match=r"h chunk \(1, 0, 0\).*missing"):
        ds.h.isel(trial=1).load()
    with pytest.raises(CorruptRunError, match=r"h chunk \(2, 0, 0\).*checksum"):
        ds.h.isel(trial=2).load()
    with pytest.raises(CorruptRunError):
        nd.summary(ds)  # never a summary that skipped the damaged values


def test_deleted_array_metadata_is_a_missing_array(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    (run / "h" / "zarr.json").unlink()
    report = storage.verify_run(run)
    assert [(p.variable, p.kind) for p in report.problems] == [("h", "missing array")]
    with pytest.raises(CorruptRunError, match="h: missing array") as error:
        nd.open_run(run)
    assert error.value.variable == "h"
    assert storage.run_status(run)["status"].startswith("damaged (1 missing array")
    assert "variables: h(trial, time, neuron)" in storage.show_run(run)  # from the manifest


def test_an_array_absent_from_the_manifest_is_reported(tmp_path, saved):
    import zarr

    run = copy_run(saved, tmp_path)
    zarr.create_array(str(run / "intruder"), shape=(3,), dtype="float64")[:] = 1.0
    report = storage.verify_run(run)
    assert [(p.variable, p.kind) for p in report.problems] == [("intruder", "unexpected array")]
    with pytest.raises(CorruptRunError, match="intruder"):
        nd.open_run(run)


def test_metadata_that_disagrees_with_the_manifest_is_reported(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    metadata = json.loads((run / "h" / "zarr.json").read_text())
    metadata["shape"][0] = 2  # as if a trial had been cut off
    (run / "h" / "zarr.json").write_text(json.dumps(metadata))
    report = storage.verify_run(run)
    assert [(p.variable, p.kind) for p in report.problems] == [("h", "metadata mismatch")]
    assert "shape is [2, 41, 20], the manifest says [3, 41, 20]" in report.problems[0].message


def test_several_problems_are_all_reported(tmp_path, saved):
    run = copy_run(saved, tmp_path)
    damage(run / "h" / "c" / "0" / "0" / "0", "delete")
    damage(run / "h" / "c" / "2" / "0" / "0", "flip")
    damage(run / "neuron" / "c" / "0", "empty")
    report = storage.verify_run(run)
    assert sorted((p.variable, p.chunk, p.kind) for p in report.problems) == [
        ("h", (0, 0, 0), "missing chunk"), ("h", (2, 0, 0), "corrupt chunk"),
        ("neuron", (0,), "empty chunk")]
    assert report.chunks_read == 4  # h's chunks 1 and 2 (which fails), trial and time
    assert str(report).count("\n") == 3
    with pytest.raises(CorruptRunError, match="and 1 more problem;"):
        nd.open_run(run)  # the two structural ones


def test_store_without_a_manifest_is_checked_as_far_as_possible(tmp_path):
    legacy = tmp_path / "legacy.zarr"
    simulation_like().to_zarr(legacy, zarr_format=3, consolidated=False)
    report = storage.verify_run(legacy)
    assert report.ok and not report.manifest
    assert any("no integrity manifest" in note for note in report.notes)
    assert any("no checksum" in note for note in report.notes)
    assert nd.open_run(legacy).load().identical(simulation_like())
    (legacy / "h" / "zarr.json").unlink()  # chunks left without metadata: still found
    assert [p.kind for p in storage.verify_run(legacy).problems] == ["missing array"]


def test_verify_of_something_that_is_not_a_store_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match="no run at"):
        storage.verify_run(tmp_path / "missing.zarr")
    with pytest.raises(RunError, match="not a zarr v3 store"):
        storage.verify_run(user_files(tmp_path / "docs"))
    with pytest.raises(RunError, match="path must be a str or path"):
        nd.open_run(None)


def test_runs_command_says_damaged(tmp_path, saved, capsys):
    from neurodyn.cli import main

    run = copy_run(saved, tmp_path)
    damage(run / "h" / "c" / "0" / "0" / "0", "delete")
    capsys.readouterr()
    assert main(["runs", "show", str(run)]) == 0
    shown = capsys.readouterr().out
    assert "simulation, damaged (1 missing chunk" in shown and "complete" not in shown
    assert main(["runs", str(tmp_path)]) == 0
    assert "damaged" in capsys.readouterr().out


def test_corrupt_run_error_survives_pickling_with_its_place():
    # dask sends a worker's exception to the client by pickling it
    import pickle

    error = pickle.loads(pickle.dumps(CorruptRunError("h chunk (1, 0) is damaged", path="r.zarr",
                                                      variable="h", chunk=(1, 0))))
    assert isinstance(error, RunError) and isinstance(error, ValueError)
    assert (str(error), error.path, error.variable, error.chunk) == (
        "h chunk (1, 0) is damaged", "r.zarr", "h", (1, 0))
