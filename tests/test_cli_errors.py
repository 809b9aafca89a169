"""The command line's promise for a user's mistake: exit code 2, one line on stderr that names
the flag, its value and what is allowed, no traceback, nothing written or changed (md5 of every
file that was there before), and an answer before JAX is imported (< 0.5 s).

Each case is a class of mistake from the reliability issue, with several instances, run
in-process through ``main`` (cheap); a few are also run as a subprocess to time them and to
check that JAX was never imported.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from neurodyn.cli import main

SMALL = ["--N", "20", "--t1", "2", "--transient", "0", "--dt-save", "0.5"]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory below ``root`` with the md5 of its content ('' for a dir)."""
    state = {}
    for path in sorted(root.rglob("*")):
        key = str(path.relative_to(root))
        if path.is_symlink():
            state[key] = "-> " + os.readlink(path)
        elif path.is_file():
            state[key] = hashlib.md5(path.read_bytes()).hexdigest()
        else:
            state[key] = ""
    return state


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory holding a user's files, which no error may touch."""
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("a,b\n1,2\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def assert_refused(capsys, workdir: Path, argv: list[str], fragments: tuple[str, ...]) -> str:
    before = snapshot(workdir)
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (argv, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert snapshot(workdir) == before
    return err


SIMULATE_MISTAKES = [
    (["--N", "0"], ("--N=0", "positive integer")),
    (["--N", "1.5"], ("--N=1.5", "positive integer")),
    (["--N", "abc"], ("--N", "'abc' is not a number")),
    (["--N", "10000000"], ("--N=10000000", "memory")),
    # the example: a dense float64 N = 200000 (J alone 320 GB) is refused at once, the
    # message naming N, dtype, trials, the estimate and the available memory
    (["--N", "200000"], ("--N=200000", "--dtype=float64", "--trials=1", "TiB of memory",
                         "available", "--dtype float32")),
    (["--trials", "100", "--N", "2000", "--t1", "1000", "--dt-save", "0.01"],
     ("--trials=100", "memory")),
    (["--g", "-1"], ("--g=-1", ">= 0")),
    (["--g", "nan"], ("--g=nan", "finite")),
    (["--phi", "sin"], ("--phi='sin'", "tanh")),
    (["--dtype", "banana"], ("--dtype='banana'", "float64, float32")),
    (["--network-seed", "-3"], ("--network-seed=-3", "non-negative")),
    (["--seed", "-1"], ("--seed=-1", "non-negative")),
    (["--symmetry", "2"], ("--symmetry=2", "[-1.0, 1.0]")),
    (["--t1", "0"], ("--t1=0", "> 0")),
    (["--dt-save", "9"], ("--dt-save=9", "--t1=2")),
    (["--atol", "-1e-6"], ("--atol=-1e-06", "> 0")),
    (["--rtol", "-1e-3"], ("--rtol=-0.001", "> 0")),
    (["--solver", "magic"], ("magic", "tsit5")),
    (["--solver", "tsit5", "--noise", "0.1"], ("tsit5", "shark")),
    (["--dt", "0.01"], ("dt=0.01", "tsit5", "rtol")),
    (["--solver", "rk4", "--rtol", "1e-3"], ("rtol=0.001", "rk4", "dt")),
    (["--solver", "shark"], ("shark", "noise=0")),
    (["--frobnicate"], ("unrecognized arguments: --frobnicate",)),
    (["--t1"], ("--t1", "expected one argument")),
]


@pytest.mark.parametrize("flags, fragments", SIMULATE_MISTAKES,
                         ids=[" ".join(flags) for flags, _ in SIMULATE_MISTAKES])
def test_simulate_mistakes(capsys, workdir, flags, fragments):
    assert_refused(capsys, workdir, ["simulate", *SMALL, *flags, "--out", "run.zarr"], fragments)


def test_negative_values_reach_their_flag(capsys, workdir):
    """`--theta-mean -1e-3` is a value, not an unknown option (argparse's default reading)."""
    assert main(["simulate", *SMALL, "--theta-mean", "-1e-3", "--J-mean", "-0.5"]) == 0
    assert "Simulated N=20" in capsys.readouterr().out


OUTPUT_MISTAKES = [
    (["--out", "missing/run.zarr"], ("missing",)),
    (["--out", "notes.txt"], ("notes.txt", "exists")),
    (["--out", "notes.txt", "--overwrite"], ("notes.txt", "not a neurodyn run")),
    (["--out", "data", "--overwrite"], ("data", "not a neurodyn run")),
    (["--out", ".", "--overwrite"], ("not a neurodyn run",)),
    (["--out", "/proc/neurodyn-test.zarr"], ("/proc",)),
]


@pytest.mark.parametrize("flags, fragments", OUTPUT_MISTAKES,
                         ids=[" ".join(flags) for flags, _ in OUTPUT_MISTAKES])
def test_output_mistakes_are_refused_before_any_work(capsys, workdir, flags, fragments):
    assert_refused(capsys, workdir, ["simulate", *SMALL, *flags], fragments)


def test_overwrite_of_a_symlink_and_of_home_is_refused(capsys, workdir, monkeypatch):
    (workdir / "link").symlink_to(workdir / "data")
    assert_refused(capsys, workdir, ["simulate", *SMALL, "--out", "link", "--overwrite"],
                   ("link",))
    monkeypatch.setenv("HOME", str(workdir / "data"))
    assert_refused(capsys, workdir, ["simulate", *SMALL, "--out", str(Path.home()),
                                     "--overwrite"], ("not a neurodyn run",))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a mode-555 directory")
def test_read_only_directory_is_refused_before_any_work(capsys, workdir):
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert_refused(capsys, workdir, ["simulate", *SMALL, "--out", "locked/run.zarr"],
                       ("not writable",))
    finally:
        locked.chmod(0o755)


JOB_MISTAKES = [
    (["dmft", "--g", "-1"], ("--g=-1", ">= 0")),
    (["dmft", "--phi", "sin"], ("--phi='sin'",)),
    (["dmft", "--phi", "relu", "--two-time", "5"], ("--phi='relu'", "tanh, erf")),
    (["dmft", "--two-time", "5", "--J-mean", "0.5"], ("--two-time", "--J-mean")),
    (["dmft", "--two-time", "4", "--dt", "2"], ("--dt=2", "--two-time/4")),
    (["dmft", "--q0", "2"], ("--q0", "--two-time")),
    (["dmft", "--window", "-1", "--two-time", "5"], ("--window=-1", "> 0")),
    (["dmft", "--dtau", "50"], ("--dtau=50", "--tau-max")),
    (["chaos", "--g", "-1", "1"], ("--g=-1", ">= 0")),
    (["chaos", "--seeds", "0", "-1"], ("--seeds=-1",)),
    (["chaos", "--max-lag", "200", "--t1", "100"], ("--max-lag=200", "--t1/2")),
    (["chaos", "--phi", "softplus"], ("--phi='softplus'",)),
    (["chaos", "--symmetry", "1.5"], ("--symmetry=1.5",)),
    (["chaos", "--g-min", "2", "--g-max", "1"], ("--g-max=1", "--g-min=2")),
    (["chaos", "--out", "c.zarr", "--figure", "chaos.txt"], ("--figure", ".png")),
    (["chaos", "--out", "c.zarr", "--figure", "data", "--overwrite"], ("--figure", ".png")),
    (["chaos", "--out", "c.zarr", "--figure", "missing/x.png"], ("--figure", "missing")),
    (["deep", "--sigma-w", "2", "1", "5"], ("--sigma-w MAX=1", "MIN=2")),
    (["deep", "--sigma-w", "0", "1", "5"], ("--sigma-w MIN=0", "> 0")),
    (["deep", "--depth", "0"], ("--depth=0",)),
    (["deep", "--sigma-b", "0", "1", "2.5"], ("--sigma-b NUM=2.5",)),
    (["learn-bench", "--repeats", "0"], ("--repeats=0",)),
    (["learn-bench", "--seed", "-2"], ("--seed=-2",)),
    (["sweep", "no-such.toml"], ("no-such.toml", "does not exist")),
    (["sweep", "notes.txt"], ("notes.txt", "not valid TOML")),
    (["runs", "no-such-dir"], ("no-such-dir", "does not exist")),
    (["runs", "verify"], ("verify", "PATH")),
    (["runs", "show", "no-such.zarr"], ("no-such.zarr",)),
    (["runs", "here", "there"], ("unexpected argument",)),
    (["magic"], ("invalid choice: 'magic'",)),
]


@pytest.mark.parametrize("argv, fragments", JOB_MISTAKES, ids=[" ".join(a) for a, _ in JOB_MISTAKES])
def test_job_mistakes(capsys, workdir, argv, fragments):
    assert_refused(capsys, workdir, argv, fragments)


def test_a_sweep_config_is_checked_before_the_store_exists(capsys, workdir):
    (workdir / "bad.toml").write_text('out = "s.zarr"\n[grid]\ng = [1.0]\n[compute]\n'
                                      'quantities = ["summary"]\n[simulate]\nsolver = "tsit5"\n'
                                      'noise = 0.1\n')
    assert_refused(capsys, workdir, ["sweep", "bad.toml"], ("tsit5",))
    assert_refused(capsys, workdir, ["sweep", "bad.toml", "--workers", "0"], ("--workers=0",))


def test_a_sweep_too_large_for_memory_is_refused_before_the_store_exists(capsys, workdir):
    (workdir / "big.toml").write_text('out = "s.zarr"\n[grid]\ng = [1.0, 2.0]\n[compute]\n'
                                      'quantities = ["summary"]\n[network]\nN = 200000\n'
                                      '[simulate]\ntrials = 4\n')
    assert_refused(capsys, workdir, ["sweep", "big.toml"],
                   ("N=200000", "dtype=float64", "trials=4", "TiB of memory", "available",
                    'dtype = "float32"'))


TIMED = [
    ["simulate", "--N", "1.5"],
    ["simulate", "--N", "200000", "--out", "run.zarr"],
    ["simulate", "--atol", "-1e-6"],
    ["simulate", "--out", "notes.txt", "--overwrite"],
    ["dmft", "--two-time", "5", "--J-mean", "0.5"],
    ["chaos", "--symmetry", "1.5"],
    ["dmft", "--phi", "relu", "--two-time", "5"],
]


HEAVY = ("jax", "numpy", "scipy", "xarray", "zarr", "dask", "diffrax", "equinox", "optax",
         "matplotlib")
"""Libraries the command line must not import before it has checked its arguments."""


def test_errors_answer_before_jax_is_imported(workdir):
    """Each command above, as a user types it: exit 2 with a one-line message, and none of the
    heavy libraries imported (JAX was the cause of the old 2 s answer). Asserted by what is
    imported, not by the clock: a wall-time bound could pass on a fast machine by luck and fail
    on a loaded CI machine (0.52 s against 0.5 s was seen at load 11 with the imports right).
    The 10 s bound only turns a hang into a failure."""
    probe = ("import sys; sys.argv = ['neurodyn', *sys.argv[1:]]\n"
             f"HEAVY = {HEAVY!r}\n"
             "from neurodyn.cli import main\n"
             "code = main(sys.argv[1:])\n"
             "heavy = [m for m in HEAVY if m in sys.modules]\n"
             "assert not heavy, f'heavy import: {heavy}'\n"
             "sys.exit(code)\n")
    for argv in TIMED:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                                text=True, timeout=60)
        elapsed = time.perf_counter() - started
        assert result.returncode == 2, (argv, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert elapsed < 10.0, (argv, elapsed)


def test_the_command_line_knows_which_phi_have_a_dmft():
    """The CLI's list (from the capability table, used before JAX is imported) is the bounded
    φ of the registry, the ones the DMFT solves."""
    import neurodyn as nd
    from neurodyn import model_parameters

    bounded = tuple(name for name, phi in nd.nonlinearity.NONLINEARITIES.items() if phi.bounded)
    assert model_parameters.THEORY_PHI == bounded
