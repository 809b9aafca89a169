"""Figures redrawn from saved runs (neurodyn.plots and `neurodyn plot PATH`).

A figure test needs no physics: the runs here are Datasets of the shape each job returns, filled
with synthetic numbers and saved with ``save_run``, so every test is fast. The independent truth
is the PNG file itself: its signature, and the pixel size in its IHDR header, which is the
figure size of the job's figure times the DPI (so the figure drawn is the one the run's kind
names). tests/test_chaos.py and tests/test_deep.py redraw figures from runs the real jobs saved.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from conftest import snapshot

import neurodyn as nd
from neurodyn import plots
from neurodyn.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHAOS_PIXELS = (1100, 825)  # figsize (10, 7.5) inches at 110 dpi
CHAOS_WIDE_PIXELS = (1650, 825)  # with the finite-size / spectrum panels: (15, 7.5) inches
DEEP_PIXELS = (1210, 935)  # figsize (11, 8.5) inches at 110 dpi
LEARN_BENCH_PIXELS = (1870, 825)  # figsize (17, 7.5) inches at 110 dpi
TRAIN_PIXELS = (1100, 440)  # figsize (10, 4) inches at 110 dpi


def png_pixels(path) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a PNG file, after checking its signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def chaos_like() -> xr.Dataset:
    """A Dataset shaped as neurodyn.chaos returns it: a quiescent gain (Δ0 = 0, τ_corr NaN)
    and two chaotic ones with exponentially decaying Δ(τ)."""
    g = np.array([0.5, 1.5, 2.5])
    tau = np.round(np.arange(101) * 0.1, 12)
    delta0 = np.array([0.0, 0.4, 1.2])
    decay = np.exp(-tau[None, :] / np.array([1.0, 4.0, 2.0])[:, None])
    delta_theory = delta0[:, None] * decay
    delta_sim = delta_theory[:, None, :] * np.array([0.97, 1.02])[None, :, None]
    tau_corr = np.array([np.nan, 3.9, 2.0])
    return xr.Dataset(
        {"delta0_sim": (("g", "seed"), delta_sim[..., 0]), "delta0_theory": ("g", delta0),
         "lambda_sim": (("g", "seed"), np.outer(g - 1.0, [0.9, 1.1])),
         "lambda_theory": ("g", g - 1.0),
         "tau_corr_sim": (("g", "seed"), np.outer(tau_corr, [1.0, 1.05])),
         "tau_corr_theory": ("g", tau_corr),
         "delta_sim": (("g", "seed", "tau"), delta_sim),
         "delta_theory": (("g", "tau"), delta_theory)},
        coords={"g": g, "seed": np.array([0, 1]), "tau": tau},
        attrs={"kind": "chaos", "phi": "tanh", "N": 100, "max_lag": 10.0})


def chaos_store_like() -> xr.Dataset:
    """A chaos job's store as neurodyn.open_run reads it (kind sweep, job chaos): per-point
    autocorrelation and a 4-exponent spectrum over (g, N, seed), the theory per g. Synthetic:
    seed scatter ±3%, an O(1/N) shortfall of λ_max."""
    g, sizes, seeds = np.array([0.5, 2.0]), np.array([100, 200]), np.arange(3)
    lag = np.round(np.arange(51) * 0.1, 12)
    delta0 = np.array([0.0, 0.48])
    theory = delta0[:, None] * np.exp(-lag[None, :] / 2.0)
    scatter = 1.0 + 0.03 * np.array([-1.0, 0.0, 1.0])
    auto = theory[:, None, None, :] * scatter[None, None, :, None] * np.ones((1, 2, 1, 1))
    lam = (g - 1.0)[:, None, None] * (1.0 - 10.0 / sizes[None, :, None]) * scatter
    spectrum = lam[..., None] - 0.1 * np.arange(4)
    dims = ("g", "N", "seed")
    return xr.Dataset(
        {"autocorrelation": ((*dims, "lag"), auto), "lyapunov": ((*dims, "exponent"), spectrum),
         "point_status": (dims, np.ones((2, 2, 3), dtype="int8")),
         "delta_theory": (("g", "lag"), theory), "delta0_theory": ("g", delta0),
         "lambda_theory": ("g", g - 1.0), "tau_corr_theory": ("g", [np.nan, 1.9]),
         "tau_corr_theory_full": ("g", [np.nan, 2.0])},
        coords={"g": g, "N": sizes, "seed": seeds, "lag": lag, "exponent": np.arange(4)},
        attrs={"kind": "sweep", "job": "chaos",
               "chaos": {"phi": "tanh", "N": [100, 200], "t1": 200.0, "max_lag": 5.0}})


def deep_like() -> xr.Dataset:
    """A Dataset shaped as neurodyn.deep.job returns it, with a χ₁ = 1 line and q* contours
    inside the (σ_w, σ_b) grid."""
    sw, sb = np.linspace(0.5, 4.5, 5), np.linspace(0.0, 1.0, 3)
    grid_w, grid_b = np.meshgrid(sw, sb, indexing="ij")
    chi1 = (grid_w / 1.5) ** 2 / (1.0 + grid_b)
    layer = np.arange(4)
    q_theory = np.stack([np.outer(0.8**layer, [0.5, 4.0, 12.0]) + s for s in (0.2, 1.0)])
    c_theory = np.stack([1.0 - np.outer(0.7**layer, [0.8, 0.4, 0.05]) * s for s in (1.0, 0.5)])
    spread = np.array([0.98, 1.02])[None, :, None, None]
    dims = ("sigma_w", "sigma_b")
    return xr.Dataset(
        {"q_star": (dims, 3.0 * (grid_w - 0.5) + grid_b),
         "c_star": (dims, np.minimum(1.0, 1.0 / chi1)), "chi1": (dims, chi1),
         "q_sim": (("sim_sigma_w", "seed", "layer", "input"), q_theory[:, None] * spread),
         "q_theory": (("sim_sigma_w", "layer", "input"), q_theory),
         "c_sim": (("sim_sigma_w", "seed", "layer", "pair"), c_theory[:, None] * spread),
         "c_theory": (("sim_sigma_w", "layer", "pair"), c_theory)},
        coords={"sigma_w": sw, "sigma_b": sb, "sim_sigma_w": [1.3, 4.0], "seed": [0, 1],
                "layer": layer, "input": [0.5, 4.0, 12.0], "pair": [0.2, 0.6, 0.95]},
        attrs={"kind": "deep", "phi": "tanh", "width": 40, "sim_sigma_b": 0.3})


def learn_bench_like() -> xr.Dataset:
    """A Dataset shaped as neurodyn.learn_bench returns it, with exact power laws: bptt_scan
    (trajectory; time ∝ n², memory ∝ n and ∝ T) and implicit (fixed point, T = 0; ∝ n²)."""
    ns, Ts = [8, 16, 32], [0.0, 5.0, 10.0]
    n, T = np.meshgrid(ns, Ts, indexing="ij")
    trajectory = np.where(T > 0, 1.0, np.nan)
    fixed = np.where(T == 0, 1.0, np.nan)
    time_s = np.stack([1e-9 * n**2 * T * trajectory, 1e-8 * n**2.0 * fixed])
    peak = np.stack([8.0 * n * T * trajectory, 8.0 * n**2.0 * fixed])
    return xr.Dataset(
        {"time_s": (("rule", "n", "T"), time_s), "peak_bytes": (("rule", "n", "T"), peak)},
        coords={"rule": ["bptt_scan", "implicit"], "n": ns, "T": Ts,
                "task": ("rule", ["trajectory", "fixed_point"])},
        attrs={"kind": "learn_bench",
               "grid": {"bptt_scan": {"n": ns, "T": [5.0, 10.0], "n_T": 8},
                        "implicit": {"n": ns, "T": [0.0], "n_T": 8}},
               "exponents": {
                   "bptt_scan": {"time_vs_n": {"measured": 2.0, "theory": 2.0},
                                 "memory_vs_T": {"measured": 1.0, "theory": 1.0}},
                   "implicit": {"time_vs_n": {"measured": 2.0, "theory": 2.0},
                                "memory_vs_n": {"measured": 2.0, "theory": 2.0}}}})


def train_like() -> xr.Dataset:
    """A Dataset shaped as neurodyn.learning.train returns it."""
    iteration = np.arange(20)
    return xr.Dataset(
        {"loss": ("iteration", 0.5 * 0.8**iteration), "grad_norm": ("iteration", 0.9**iteration)},
        coords={"iteration": iteration},
        attrs={"kind": "learning.train", "method": "bptt_scan", "optimizer": "adam",
               "learning_rate": 0.03, "n": 30, "task": "TrajectoryTask",
               "final_loss": 0.5 * 0.8**20})


def simulation_like() -> xr.Dataset:
    return xr.Dataset({"h": (("trial", "time", "neuron"), np.zeros((1, 3, 2)))},
                      coords={"time": [0.0, 0.1, 0.2]}, attrs={"kind": "simulation"})


@pytest.mark.parametrize("make, pixels", [(chaos_like, CHAOS_PIXELS), (deep_like, DEEP_PIXELS)],
                         ids=["chaos", "deep"])
def test_figure_is_redrawn_from_a_saved_run(tmp_path, make, pixels):
    run = nd.save_run(make(), tmp_path / "run.zarr")
    figure = plots.plot(run, tmp_path / "run.png")
    assert figure == tmp_path / "run.png"
    assert png_pixels(figure) == pixels
    assert figure.stat().st_size > 10_000  # four drawn panels, not an empty canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.png", "run.zarr"]  # no temp left


def test_chaos_store_is_summarised_and_drawn_with_error_bars_and_finite_size(tmp_path):
    """`neurodyn plot` on a chaos job's store: summarised (seed means and sems), the wide figure
    with the finite-size and spectrum panels; the Δ0 panel draws one error bar series per N."""
    run = nd.save_run(chaos_store_like(), tmp_path / "chaos.zarr")
    assert main(["plot", str(run)]) == 0
    assert png_pixels(tmp_path / "chaos.png") == CHAOS_WIDE_PIXELS
    fig = plots.chaos_figure(nd.open_run(run))
    from matplotlib.container import ErrorbarContainer

    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # N = 100 and N = 200
    # the error bar of g = 2, N = 200 is the sem of the three seeds (±3% scatter, ddof = 1)
    segments = bars[1].lines[2][0].get_segments()
    half = (segments[1][1][1] - segments[1][0][1]) / 2
    assert half == pytest.approx(0.48 * 0.03 / np.sqrt(3), rel=1e-9)
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("finite size") for t in titles)
    assert any(t.startswith("Lyapunov spectrum") for t in titles)


def test_learn_bench_and_training_runs_are_redrawn_without_jax(tmp_path):
    """`neurodyn plot` draws a saved learn-bench run and a saved training run from the store
    alone: the PNGs have the two figures' sizes, and neither the job modules nor JAX are
    imported (so the figure depends on nothing but the run)."""
    nd.save_run(learn_bench_like(), tmp_path / "learn_bench.zarr")
    nd.save_run(train_like(), tmp_path / "train.zarr")
    probe = ("import sys\nfrom neurodyn.cli import main\n"
             "codes = [main(['plot', path]) for path in sys.argv[1:]]\n"
             "heavy = [m for m in ('jax', 'neurodyn.learn_bench', 'neurodyn.learning')\n"
             "         if m in sys.modules]\n"
             "assert codes == [0, 0] and not heavy, (codes, heavy)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "learn_bench.zarr"),
                             str(tmp_path / "train.zarr")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert png_pixels(tmp_path / "learn_bench.png") == LEARN_BENCH_PIXELS
    assert png_pixels(tmp_path / "train.png") == TRAIN_PIXELS
    assert (tmp_path / "learn_bench.png").stat().st_size > 10_000


def test_learn_bench_figure_shows_the_runs_slopes():
    """The legend of each panel gives the slope stored in the run's exponents and theory's,
    and a method appears only in its task's time panel (trajectory vs fixed point)."""
    fig = plots.learn_bench_figure(learn_bench_like())
    legends = [[text.get_text() for text in ax.get_legend().get_texts()] for ax in fig.axes]
    assert legends[0] == ["bptt_scan: 2.00 (theory 2)"]
    assert legends[1] == ["implicit: 2.00 (theory 2)"]
    assert legends[2] == ["bptt_scan: 1.00", "implicit: 2.00 (theory 2)"]
    assert legends[3] == ["bptt_scan: 1.00 (theory 1)"]


def test_kinds_without_a_figure_and_bad_paths_are_refused_before_drawing(tmp_path):
    for kind in ("simulation", "sweep", "unknown"):
        with pytest.raises(nd.ParameterError, match=f"kind '{kind}'.*chaos, deep, learn_bench"):
            plots.plot(simulation_like().assign_attrs(kind=kind), tmp_path / "x.png")
    with pytest.raises(nd.ParameterError, match="figure_path='x.pdf'"):
        plots.plot(chaos_like(), "x.pdf")
    with pytest.raises(nd.RunError):
        plots.plot(tmp_path / "missing.zarr", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_a_figure_that_fails_to_draw_leaves_the_old_png_untouched(tmp_path):
    old = tmp_path / "run.png"
    old.write_bytes(PNG_SIGNATURE + b"an earlier figure")
    with pytest.raises(KeyError):
        plots.plot(chaos_like().drop_vars("lambda_sim"), old)
    assert old.read_bytes() == PNG_SIGNATURE + b"an earlier figure"
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]


def test_plot_command_redraws_and_overwrites_only_when_asked(tmp_path, capsys):
    # --figure to another path: tests/test_deep.py, on a run the deep job saved.
    run = nd.save_run(deep_like(), tmp_path / "deep.zarr")
    assert main(["plot", str(run)]) == 0
    default = tmp_path / "deep.png"
    assert png_pixels(default) == DEEP_PIXELS
    assert "deep.png" in capsys.readouterr().out
    before = default.read_bytes()
    assert main(["plot", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "exists" in err and "--overwrite" in err
    assert default.read_bytes() == before
    default.write_bytes(b"an earlier figure")
    assert main(["plot", str(run), "--overwrite"]) == 0
    assert png_pixels(default) == DEEP_PIXELS


def _refusals(tmp_path):
    nd.save_run(simulation_like(), tmp_path / "sim.zarr")
    nd.save_run(chaos_like(), tmp_path / "chaos.zarr")
    (tmp_path / "chaos.png").write_bytes(b"an earlier figure")
    (tmp_path / "notes.txt").write_text("not a run\n")
    return [
        (["plot", "sim.zarr"], ("'sim.zarr'", "kind 'simulation'", "chaos, deep, learn_bench")),
        (["plot", "missing.zarr"], ("no run at 'missing.zarr'",)),
        (["plot", "notes.txt"], ("'notes.txt'", "not a saved run")),
        (["plot", "chaos.zarr"], ("--figure='chaos.png' exists", "--overwrite")),
        (["plot", "chaos.zarr", "--figure", "chaos.pdf"], ("--figure='chaos.pdf'", ".png")),
        (["plot", "chaos.zarr", "--figure", "missing/c.png"], ("missing", "does not exist")),
        (["plot"], ("PATH",)),
    ]


def test_plot_command_mistakes_are_one_line_exit_2_and_write_nothing(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, fragments in _refusals(tmp_path):
        before = snapshot(tmp_path)
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        for fragment in fragments:
            assert fragment in err, (fragment, err)
        assert snapshot(tmp_path) == before


def test_plot_command_refuses_a_simulation_before_heavy_imports(tmp_path):
    nd.save_run(simulation_like(), tmp_path / "sim.zarr")
    probe = ("import sys\nfrom neurodyn.cli import main\ncode = main(sys.argv[1:])\n"
             "heavy = [m for m in ('jax', 'xarray', 'matplotlib') if m in sys.modules]\n"
             "assert not heavy, heavy\nsys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe, "plot", str(tmp_path / "sim.zarr")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "kind 'simulation'" in result.stderr
