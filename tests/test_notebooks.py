"""Every notebook in analysis/ executes headless on a small run made here (jupytext → nbclient).

A notebook that raises fails the test; the outputs are also checked for the numbers each
notebook is meant to show, so a notebook that silently draws nothing fails too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import neurodyn as nd
from neurodyn import sweep

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")

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
            "chaos_job": directory / "chaos_job.zarr", "cache": directory / "jax-cache"}


def execute(notebook: Path, run: Path, cache: Path, monkeypatch, workdir: Path):
    monkeypatch.setenv("NEURODYN_RUN", str(run))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend is headless
    # the notebooks solve the same DMFT; one compilation cache serves all three kernels
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(cache))
    nb = jupytext.read(notebook)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    client.execute()
    text = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text.append(output.get("text", ""))
            text.append(str(output.get("data", {}).get("text/plain", "")))
    return nb, "\n".join(text)


def count_figures(nb) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in nb.cells for output in cell.get("outputs", []))


def test_the_notebooks_tested_here_exist():
    # every notebook in analysis/ has its test here
    assert {path.name for path in ANALYSIS.glob("*.py")} == {
        "browse_run.py", "autocorrelation_theory.py", "chaos_transition.py", "learning_costs.py"}


def test_browse_run(runs, monkeypatch, tmp_path):
    nb, text = execute(ANALYSIS / "browse_run.py", runs["run"], runs["cache"], monkeypatch,
                       tmp_path)
    assert "simulation, complete" in text and "sample mean" in text
    assert count_figures(nb) == 3


def test_autocorrelation_theory(runs, monkeypatch, tmp_path):
    nb, text = execute(ANALYSIS / "autocorrelation_theory.py", runs["run"], runs["cache"],
                       monkeypatch, tmp_path)
    assert "C(0) =" in text and count_figures(nb) == 1


def test_chaos_transition(runs, monkeypatch, tmp_path):
    nb, text = execute(ANALYSIS / "chaos_transition.py", runs["sweep"], runs["cache"],
                       monkeypatch, tmp_path)
    assert "sweep, complete" in text and "lyapunov {0.5:" in text
    assert count_figures(nb) == 1


def test_chaos_transition_reads_a_chaos_job_store(runs, monkeypatch, tmp_path):
    nb, text = execute(ANALYSIS / "chaos_transition.py", runs["chaos_job"], runs["cache"],
                       monkeypatch, tmp_path)
    assert "sweep, complete" in text and "N=40 z-scores {0.5:" in text
    assert count_figures(nb) == 2  # the chaos-job panel (means ± sems) and the sweep panel


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
    nb, text = execute(ANALYSIS / "learning_costs.py", run, tmp_path / "jax-cache", monkeypatch,
                       tmp_path)
    assert "rtrl_discrete    time_vs_n: measured  4.00, theory 4.0" in text
    assert "bptt_scan  memory_vs_T: measured  1.00, theory 1.0" in text
    assert "eqprop  memory_vs_n: measured  2.00, theory 2.0" in text
    assert "implicit time per gradient (s)" in text
    assert "deviates" not in text
