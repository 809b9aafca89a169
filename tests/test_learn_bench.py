"""learn-bench: memory accounting against counted buffers, exponent fitting on known power laws,
the gradient error column, and the CLI boundary. (Timings are not asserted: they are the
benchmark's output, not a correctness property.)"""

import numpy as np
import pytest
import xarray as xr

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
