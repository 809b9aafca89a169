"""The neurodyn command: summaries, exit codes, one-line errors and nothing written on error."""

import subprocess
import sys

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


# Bad input (one line, exit 2, nothing written, before JAX is imported): tests/test_cli_errors.py.


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
    assert result.stderr.strip().startswith("neurodyn simulate: error: --N=-1")
    assert "Traceback" not in result.stderr


def test_runs_verify_exit_codes(tmp_path, capsys):
    """`neurodyn runs verify`: 0 for an intact run; 1 and the damaged chunk named after one
    chunk file of h is deleted (the storage tests cover every kind of damage)."""
    out = tmp_path / "run.zarr"
    assert main(["simulate", *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["runs", "verify", str(out)]) == 0
    chunk = next(p for p in sorted((out / "h" / "c").rglob("*")) if p.is_file())
    chunk_index = tuple(int(part) for part in chunk.relative_to(out / "h" / "c").parts)
    chunk.unlink()
    assert main(["runs", "verify", str(out)]) == 1
    report = capsys.readouterr().out
    assert "DAMAGED" in report and f"h chunk {chunk_index}: missing chunk" in report
    assert main(["runs", str(tmp_path)]) == 0
    assert "damaged" in capsys.readouterr().out


def test_chaos_refuses_bad_plans_and_foreign_stores_before_computing(tmp_path, capsys):
    """The chaos job's plan (its sweep over g, N, seed) is checked before anything runs: a
    repeated seed or size, a spectrum larger than N, and an --out that holds another kind of
    store (here a bare zarr group of no chaos job) are one-line errors naming the flag."""
    for argv, expected in ((["--seeds", "1", "1"], "--seeds=[1, 1] has repeated values"),
                           (["--N", "50", "50"], "--N=[50, 50] has repeated values"),
                           (["--N", "50", "--spectrum", "60"], "--spectrum=60 exceeds N=50")):
        assert main(["chaos", *argv, "--out", str(tmp_path / "c.zarr")]) == 2
        assert expected in capsys.readouterr().err
    foreign = tmp_path / "other.zarr"
    foreign.mkdir()
    (foreign / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", '
                                       '"attributes": {"kind": "simulation"}}')
    assert main(["chaos", "--out", str(foreign)]) == 2
    assert "not the store of a chaos job" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.zarr"]  # nothing written
