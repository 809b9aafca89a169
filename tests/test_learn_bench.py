"""learn-bench: memory accounting against counted buffers, exponent fitting on known power laws,
the gradient error column, and the CLI boundary. (Timings are not asserted: they are the
benchmark's output, not a correctness property.)"""

import warnings

import numpy as np
import pytest
import xarray as xr
from conftest import keyword_clashes

import neurodyn as nd
from neurodyn import cli
from neurodyn import learn_bench as lb


def test_bptt_scan_memory_grows_with_T():
    """BPTT-scan stores the rk4 stages of every step: its working memory rises with T by
    about the stored trajectory, ≥ 4 stages × n × 8 bytes per step (a lower bound counted by
    hand). (The adjoint's flat memory is measured by the benchmark itself; compiling it twice
    here would double this file's run time.)"""
    n = 16
    short = lb.measure("bptt_scan", n, 2.0, repeats=1)
    long = lb.measure("bptt_scan", n, 8.0, evaluate=False)
    extra_steps = (8.0 - 2.0) / lb.DT
    assert long["peak_bytes"] - short["peak_bytes"] >= extra_steps * 4 * n * 8
    # rk4 with dt = 0.1 vs the reference's dt = 0.025: error ~(0.1)^4 relative
    assert short["grad_rel_err"] < 1e-4


def test_rtrl_memory_holds_the_sensitivity_tensor():
    """Discrete RTRL must hold p = dh/dJ, n³ float64 numbers, and (structure) not n × m × m."""
    n = 12
    result = lb.measure("rtrl_discrete", n, 1.0, evaluate=False)
    assert result["peak_bytes"] >= 8 * n**3
    assert result["peak_bytes"] < 8 * n * (n * n) ** 2 / 4


def test_fixed_point_methods_match_an_independent_implicit_solve():
    """Each fixed-point cell's error column is measured against the implicit-function-theorem
    gradient from jnp.linalg.solve on the jacfwd Jacobian (not optimistix's ImplicitAdjoint):
    the exact methods agree to round-off and to their 1e-12 solver tolerances (≤ 1e-8 asserted);
    symmetric equilibrium propagation at β = 1e-3 carries its O(β²) = 1e-6 bias (≤ 1e-5). All
    hold the dense n × n Jacobian of the Newton step (≥ 8 n² bytes)."""
    n = 16
    for method in ("implicit", "implicit_gmres", "recurrent_backprop", "eqprop"):
        result = lb.measure(method, n, 0.0, repeats=1)
        bound = 1e-5 if method == "eqprop" else 1e-8
        assert result["grad_rel_err"] < bound, (method, result)
        assert result["peak_bytes"] >= 8 * n * n, (method, result)


def test_fit_exponents_recovers_known_power_laws():
    # stored in the former layout (dimension ``method``, renamed ``rule``): it is still read
    grid = {"rtrl_discrete": {"n": [8, 16, 32], "T": [5.0, 10.0], "n_T": 8}}
    ns, Ts = [8, 16, 32], [5.0, 10.0]
    time_s = np.full((1, 3, 2), np.nan)
    peak = np.full((1, 3, 2), np.nan)
    for i, n in enumerate(ns):
        for j, T in enumerate(Ts):
            time_s[0, i, j] = 1e-9 * n**4 * T
            peak[0, i, j] = 8.0 * n**3
    ds = xr.Dataset({"time_s": (("method", "n", "T"), time_s),
                     "peak_bytes": (("method", "n", "T"), peak)},
                    coords={"method": ["rtrl_discrete"], "n": ns, "T": Ts},
                    attrs={"grid": grid})
    fits = lb.fit_exponents(ds)["rtrl_discrete"]
    assert fits["time_vs_n"]["measured"] == pytest.approx(4.0, abs=1e-9)
    assert fits["memory_vs_n"]["measured"] == pytest.approx(3.0, abs=1e-9)
    assert fits["memory_vs_T"]["measured"] == pytest.approx(0.0, abs=1e-9)


def test_cli_help_and_user_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["learn-bench", "--help"])
    assert exit_info.value.code == 0
    assert "--quick" in capsys.readouterr().out
    assert cli.main(["learn-bench", "--repeats", "0", "--out", "/nonexistent_dir/x.zarr"]) == 2


def test_learn_bench_writes_nothing_and_refuses_the_removed_arguments(tmp_path):
    """learn_bench returns its Dataset only; the former out/overwrite/figure are refused before
    any work, with a message naming what to call instead."""
    for removed in ({"out": tmp_path / "x.zarr"}, {"figure": tmp_path / "x.png"},
                    {"overwrite": True}):
        with pytest.raises(nd.ParameterError, match=r"neurodyn\.save_run.*neurodyn\.plots\.plot"):
            lb.learn_bench(grid="quick", **removed)
    assert list(tmp_path.iterdir()) == []


def _learn_bench_like(grid="quick", repeats=3, seed=0, verbose=False):
    """What learn_bench returns, for two of its methods, without measuring anything."""
    ns, Ts = [8, 16], [0.0, 5.0]
    time_s = np.array([[[np.nan, 1e-6], [np.nan, 4e-6]], [[2e-6, np.nan], [8e-6, np.nan]]])
    ds = xr.Dataset(
        {"time_s": (("rule", "n", "T"), time_s), "peak_bytes": (("rule", "n", "T"), time_s * 1e9),
         "grad_rel_err": (("rule", "n", "T"), time_s * 1e-3)},
        coords={"rule": ["bptt_scan", "implicit"], "n": ns, "T": Ts,
                "task": ("rule", ["trajectory", "fixed_point"])},
        attrs={"kind": "learn_bench", "grid": {"bptt_scan": {"n": ns, "T": [5.0], "n_T": 8},
                                               "implicit": {"n": ns, "T": [0.0], "n_T": 8}}})
    ds.attrs["exponents"] = lb.fit_exponents(ds)
    return ds


def test_cli_saves_the_run_and_draws_its_figure_at_the_edge_without_warnings(tmp_path,
                                                                              monkeypatch, capsys):
    """`neurodyn learn-bench` saves what learn_bench returned (string coordinates included: no
    zarr warning, issue 13 item 6) and draws the figure `neurodyn plot` redraws from the run."""
    monkeypatch.setattr(lb, "learn_bench", _learn_bench_like)
    out = tmp_path / "bench.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(["learn-bench", "--quick", "--out", str(out)]) == 0
        saved = nd.open_run(out).load()
    expected = _learn_bench_like()
    xr.testing.assert_equal(saved, expected)  # data and coords (attrs hold NaN slopes: below)
    assert saved.attrs["grid"] == expected.attrs["grid"] and saved.attrs["kind"] == "learn_bench"
    assert saved.attrs["exponents"]["implicit"] == expected.attrs["exponents"]["implicit"]
    assert saved.rule.values.tolist() == ["bptt_scan", "implicit"]
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "time_vs_n" in capsys.readouterr().out  # the exponent table


def test_the_rule_dimension_is_no_xarray_keyword(monkeypatch):
    """The Dataset learn_bench builds (cells not measured: a stand-in) names its learning-rule
    dimension ``rule``: ``method`` was a keyword of ``sel`` (nearest-neighbour lookup), so
    ``ds.sel(method="bptt_scan")`` returned every rule. A run stored before is still read."""
    monkeypatch.setattr(lb, "measure", lambda method, n, T, repeats, seed: {
        "time_s": 1e-6 * n * max(T, 1.0), "peak_bytes": 8.0 * n, "grad_rel_err": 1e-7})
    ds = lb.learn_bench(grid="quick", repeats=1)
    assert not keyword_clashes(ds)
    one = ds.time_s.sel(rule="bptt_scan")
    assert "rule" not in one.dims and one.sizes == {"n": ds.sizes["n"], "T": ds.sizes["T"]}
    legacy = ds.rename({"rule": "method"})
    assert keyword_clashes(legacy) == {"method"}  # the check sees the former name
    xr.testing.assert_identical(lb.upgrade(legacy), ds)
    assert repr(lb.fit_exponents(legacy)) == repr(lb.fit_exponents(ds))  # NaN slopes: repr


def test_every_registered_rule_is_in_the_default_grid_with_a_theory():
    """Walks the registries: every gradient rule (neurodyn.learning.RULES) and every online
    rule (ONLINE_RULES) has a cell of its class on the default grid, with theory exponents."""
    import neurodyn.learning as L

    grid = lb.GRIDS["default"]
    for registry in (L.RULES, L.ONLINE_RULES):
        for name, cls in registry.items():
            cells = [method for method in grid if type(lb.RULES[method]) is cls]
            assert cells, f"{name} is not on the default grid"
            assert all(method in lb.THEORY and lb.THEORY[method] for method in cells), name
    assert set(lb.THEORY) <= set(grid)


def test_online_cells_hold_the_rls_matrix_and_have_no_gradient():
    """A FORCE cell is one online run measured as a gradient is (compiled run, XLA memory): it
    holds the n × n RLS matrix P (≥ 8 n² bytes, counted by hand) and has no gradient, so its
    error and alignment columns are NaN."""
    n = 16
    result = lb.measure("force", n, 2.0, repeats=1)
    assert result["peak_bytes"] >= 8 * n * n
    assert result["time_s"] > 0
    assert np.isnan(result["grad_rel_err"]) and np.isnan(result["alignment"])
