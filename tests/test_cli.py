"""The neurodyn command: summaries, exit codes, one-line errors and nothing written on error."""

import os
import subprocess
import sys

import pytest

from neurodyn.cli import main

SMALL = ["--N", "30", "--t1", "5", "--transient", "1", "--dt-save", "0.5"]


def test_simulate_prints_summary_and_saves(tmp_path, capsys):
    out = tmp_path / "run.zarr"
    assert main(["simulate", *SMALL, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "variance of h" in text and "mean |h|" in text and "steps" in text and "wall time" in text
    assert (out / "zarr.json").is_file()
    assert main(["runs", str(tmp_path)]) == 0
    assert "simulation" in capsys.readouterr().out


@pytest.mark.parametrize("flags, fragment", [
    (["--N", "0"], "N=0"),
    (["--g", "-1"], "g=-1.0"),
    (["--g", "nan"], "g=nan"),
    (["--t1", "0"], "t1=0.0"),
    (["--dt-save", "9"], "dt_save=9.0 is larger than t1=5.0"),
    (["--phi", "sin"], "phi='sin' is unknown"),
    (["--solver", "magic"], "solver for an ODE"),
    (["--symmetry", "2"], "symmetry=2.0"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, flags, fragment):
    out = tmp_path / "run.zarr"
    code = main(["simulate", *SMALL, *flags, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and err.count("\n") == 1 and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_existing_output_needs_overwrite(tmp_path, capsys):
    out = tmp_path / "run.zarr"
    assert main(["simulate", *SMALL, "--out", str(out)]) == 0
    assert main(["simulate", *SMALL, "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["simulate", *SMALL, "--out", str(out), "--overwrite"]) == 0


def test_console_script_runs_as_a_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "neurodyn.cli", "simulate", "--N", "-1"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("neurodyn simulate: error: N=-1")
    assert "Traceback" not in result.stderr
