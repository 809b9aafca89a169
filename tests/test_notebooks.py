"""Every notebook in analysis/ executes headless on a small run made here (jupytext → IPython).

A notebook that raises fails the test; the outputs are also checked for the numbers each
notebook is meant to show, so a notebook that silently draws nothing fails too.

The cells run in an IPython shell in this process (the base class of an ipykernel kernel's,
with the same inline matplotlib backend, so figures are counted as the PNG outputs a notebook
would hold), not in a kernel started by nbclient: each kernel cost a process start and the
jax/neurodyn imports, and compiled the notebooks' DMFT solve and the run's simulation afresh,
where here they share this process's compiled functions with each other and with the fixture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import neurodyn as nd
from neurodyn import sweep

jupytext = pytest.importorskip("jupytext")
pytest.importorskip("IPython")
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

ANALYSIS = Path(__file__).resolve().parent.parent / "analysis"

CHAOS_SWEEP = """
out = "chaos.zarr"
[grid]
g = [0.5, 1.5, 2.5]
[compute]
quantities = ["summary", "lyapunov"]
[network]
N = 40
[simulate]
seed = 1
t1 = 20.0
dt_save = 0.5
transient = 10.0
[lyapunov]
t1 = 20.0
transient = 10.0
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("notebook-runs")
    # the same shapes as the sweep's simulations: one compilation serves both
    net = nd.Network.random(N=40, g=2.0, phi="tanh", seed=1)
    nd.save_run(nd.simulate(net, t1=20.0, dt_save=0.5, transient=10.0, trials=1, seed=1),
                directory / "g2.zarr")
    (directory / "chaos.toml").write_text(CHAOS_SWEEP)
    assert sweep.run_sweep(directory / "chaos.toml", workers=1).ok
    # a chaos-job store of the same shapes (N = 40, 20 τ saved every 0.5 τ after 10 τ)
    nd.chaos(g=[0.5, 2.5], seeds=[1, 2], N=40, t1=20.0, transient=10.0, dt_save=0.5,
             max_lag=5.0, out=directory / "chaos_job.zarr", workers=1)
    return {"run": directory / "g2.zarr", "sweep": directory / "chaos.zarr",
            "chaos_job": directory / "chaos_job.zarr"}


class _Shell(InteractiveShell):
    """A kernel's shell without the kernel: the inline backend needs no GUI event loop."""

    def enable_gui(self, gui=None):
        pass


def execute(notebook: Path, run: Path, monkeypatch, workdir: Path) -> tuple[int, str]:
    """Run every code cell of ``notebook`` in order, in a fresh namespace, in ``workdir`` with
    NEURODYN_RUN = ``run``, as a kernel would; → (figures drawn, text of the outputs: streams,
    displayed data and cell results). A cell that raises raises here."""
    import matplotlib
    from IPython.utils.capture import capture_output
    from matplotlib import pyplot as plt

    monkeypatch.setenv("NEURODYN_RUN", str(run))
    monkeypatch.chdir(workdir)
    nb = jupytext.read(notebook)
    shell = _Shell.instance()
    shell.reset(new_session=True)  # nothing left from the previous notebook
    backend, rc = plt.get_backend(), matplotlib.rcParams.copy()
    shell.enable_matplotlib("inline")  # figures become PNG display outputs after each cell
    figures, text = 0, []
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            with capture_output() as captured:
                result = shell.run_cell(cell.source)
            result.raise_error()
            text += [captured.stdout, captured.stderr]
            for output in captured.outputs:
                figures += "image/png" in output.data
                text.append(str(output.data.get("text/plain", "")))
    finally:
        plt.close("all")
        # the next test file in this process draws with its own backend and settings
        plt.switch_backend(backend)
        matplotlib.rcParams.update(rc)
    return figures, "\n".join(text)


def test_the_notebooks_tested_here_exist():
    # every notebook in analysis/ has its test here
    assert {path.name for path in ANALYSIS.glob("*.py")} == {
        "browse_run.py", "autocorrelation_theory.py", "chaos_transition.py", "learning_costs.py"}


def test_browse_run(runs, monkeypatch, tmp_path):
    figures, text = execute(ANALYSIS / "browse_run.py", runs["run"], monkeypatch, tmp_path)
    assert "simulation, complete" in text and "sample mean" in text
    assert figures == 3


def test_autocorrelation_theory(runs, monkeypatch, tmp_path):
    figures, text = execute(ANALYSIS / "autocorrelation_theory.py", runs["run"], monkeypatch,
                            tmp_path)
    assert "C(0) =" in text and figures == 1


def test_chaos_transition(runs, monkeypatch, tmp_path):
    figures, text = execute(ANALYSIS / "chaos_transition.py", runs["sweep"], monkeypatch,
                            tmp_path)
    assert "sweep, complete" in text and "lyapunov {0.5:" in text
    assert figures == 1


def test_chaos_transition_reads_a_chaos_job_store(runs, monkeypatch, tmp_path):
    figures, text = execute(ANALYSIS / "chaos_transition.py", runs["chaos_job"], monkeypatch,
                            tmp_path)
    assert "sweep, complete" in text and "N=40 z-scores {0.5:" in text
    assert figures == 2  # the chaos-job panel (means ± sems) and the sweep panel


def _power_law_learn_bench_run(path: Path) -> None:
    """A learn-bench-shaped run whose costs follow the theory's power laws exactly, so the
    notebook's fitted exponents have a known answer."""
    import numpy as np
    import xarray as xr

    from neurodyn import learn_bench

    ns, Ts = [8, 16, 32], [0.0, 5.0, 10.0]
    methods = list(learn_bench.THEORY)
    time_s = np.full((len(methods), 3, 3), np.nan)
    peak = np.full((len(methods), 3, 3), np.nan)
    grid = {}
    for m, method in enumerate(methods):
        theory = learn_bench.THEORY[method]
        static = method in learn_bench.FIXED_POINT_METHODS  # fixed-point cells sit at T = 0
        grid[method] = {"n": ns, "T": [0.0] if static else [5.0, 10.0], "n_T": 8}
        for i, n in enumerate(ns):
            for j, T in enumerate(Ts):
                if (T == 0.0) != static:
                    continue
                time_s[m, i, j] = 1e-9 * n ** theory["time_vs_n"] * max(T, 1.0)
                peak[m, i, j] = (8.0 * n ** theory.get("memory_vs_n", 1.0)
                                 * max(T, 1.0) ** theory.get("memory_vs_T", 0.0))
    ds = xr.Dataset(
        {"time_s": (("method", "n", "T"), time_s), "peak_bytes": (("method", "n", "T"), peak),
         "grad_rel_err": (("method", "n", "T"), np.where(np.isnan(time_s), np.nan, 1e-7))},
        coords={"method": methods, "n": ns, "T": Ts},
        attrs={"kind": "learn_bench", "grid": grid, "dt": 0.1},
    )
    nd.save_run(ds, path)


def test_learning_costs(monkeypatch, tmp_path):
    run = tmp_path / "learn_bench.zarr"
    _power_law_learn_bench_run(run)
    _, text = execute(ANALYSIS / "learning_costs.py", run, monkeypatch, tmp_path)
    assert "rtrl_discrete    time_vs_n: measured  4.00, theory 4.0" in text
    assert "bptt_scan  memory_vs_T: measured  1.00, theory 1.0" in text
    assert "eqprop  memory_vs_n: measured  2.00, theory 2.0" in text
    assert "implicit time per gradient (s)" in text
    assert "deviates" not in text
