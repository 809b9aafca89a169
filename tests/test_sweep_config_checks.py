"""A sweep config that would fail at its points is refused when it is read, before a store exists.

The independent truth for which (solver, noise) pairs simulate() takes is solvers.py's two
tables, read here directly; the config check must agree with them for every pair, and for every
point of a grid (fixed, product and zip modes). Each refusal is one line naming the setting, its
value and what is allowed, and leaves the directory as it was.
"""

from __future__ import annotations

import os
import re

import pytest

from neurodyn import solvers
from neurodyn.errors import ParameterError
from neurodyn.sweep_config import load_config, parse_config

HEAD = 'out = "s.zarr"\n{mode}[grid]\n{grid}\n[compute]\nquantities = [{quantities}]\n'


def config_text(grid: str, simulate: str = "", mode: str = "", quantities: str = '"summary"',
                extra: str = "") -> str:
    text = HEAD.format(mode=f'grid_mode = "{mode}"\n' if mode else "", grid=grid,
                       quantities=quantities)
    if simulate:
        text += f"[simulate]\n{simulate}\n"
    return text + extra


def refused(tmp_path, text: str) -> str:
    """load_config's message for ``text``; asserts one line and that nothing was written."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ParameterError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"sweep config {str(path)!r}: ")
    assert sorted(os.listdir(tmp_path)) == before and not (tmp_path / "s.zarr").exists()
    return message


def accepted(tmp_path, text: str):
    path = tmp_path / "good.toml"
    path.write_text(text)
    config = load_config(path)
    assert not config.out.exists()
    return config


PAIRS = [(solver, noise) for solver in dict.fromkeys([*solvers.ODE_SOLVERS, *solvers.SDE_SOLVERS])
         for noise in (0.0, 0.1)]


@pytest.mark.parametrize(("solver", "noise"), PAIRS, ids=[f"{s}-{n}" for s, n in PAIRS])
def test_fixed_solver_and_noise_agree_with_the_solver_tables(tmp_path, solver, noise):
    text = config_text("g = [1.5]", f'solver = "{solver}"\nnoise = {noise}')
    table = solvers.SDE_SOLVERS if noise > 0 else solvers.ODE_SOLVERS
    if solver in table:
        accepted(tmp_path, text)
        return
    message = refused(tmp_path, text)
    assert f"[simulate] solver={solver!r} cannot integrate noise={noise!r}" in message
    kind = "> 0 (an SDE)" if noise > 0 else "(an ODE)"
    assert kind in message
    # the default for the noise first, then the table's order
    default = solvers.DEFAULT_SDE_SOLVER if noise > 0 else solvers.DEFAULT_ODE_SOLVER
    assert message.endswith(", ".join([default, *(name for name in table if name != default)]))


def test_the_message_of_the_issue(tmp_path):
    message = refused(tmp_path, config_text("g = [1.5]", 'solver = "tsit5"\nnoise = 0.1'))
    assert message.endswith("[simulate] solver='tsit5' cannot integrate noise=0.1 > 0 (an SDE); "
                            "allowed with noise > 0: shark, euler, sra1")


@pytest.mark.parametrize(("grid", "simulate", "fragment"), [
    # a fixed ODE solver against a noise grid that includes noise > 0
    ("noise = [0.0, 0.1]", 'solver = "rk4"', "[simulate] solver='rk4' cannot integrate noise=0.1"),
    # a solver grid against fixed noise: every solver meets it
    ("solver = [\"euler\", \"tsit5\"]", "noise = 0.2", "[grid] solver='tsit5' cannot integrate "
     "noise=0.2"),
    # product of two grids: (shark, 0.0) occurs although each list alone looks fine
    ("solver = [\"euler\", \"shark\"]\nnoise = [0.0, 0.1]", "", "[grid] solver='shark' cannot "
     "integrate noise=0.0 (an ODE)"),
    ("solver = [\"sra1\"]\nnoise = [0.5, 0.0]", "", "[grid] solver='sra1' cannot integrate "
     "noise=0.0"),
])
def test_product_grid_refuses_any_bad_combination(tmp_path, grid, simulate, fragment):
    assert fragment in refused(tmp_path, config_text(grid, simulate))


def test_zip_grid_checks_the_pairs_present_only(tmp_path):
    # zipped, the pairs are (tsit5, 0) and (shark, 0.1): both fine; as a product they are not
    grid = 'solver = ["tsit5", "shark"]\nnoise = [0.0, 0.1]'
    config = accepted(tmp_path, config_text(grid, mode="zip"))
    assert config.shape == (2,)
    assert "[grid] solver='tsit5' cannot integrate noise=0.1" in refused(
        tmp_path, config_text(grid))
    # zipped the other way round, both pairs are wrong; the first is named
    flipped = 'solver = ["shark", "tsit5"]\nnoise = [0.0, 0.1]'
    assert "[grid] solver='shark' cannot integrate noise=0.0" in refused(
        tmp_path, config_text(flipped, mode="zip"))
    # zip with a fixed solver meets every zipped noise
    message = refused(tmp_path, config_text("noise = [0.0, 0.3]\nseed = [1, 2]",
                                            'solver = "heun"', mode="zip"))
    assert "[simulate] solver='heun' cannot integrate noise=0.3 > 0 (an SDE)" in message


def test_default_solver_follows_the_noise(tmp_path):
    # no solver: tsit5 at noise = 0, shark at noise > 0, so a noise grid alone is fine
    accepted(tmp_path, config_text("noise = [0.0, 0.1, 1.0]"))
    accepted(tmp_path, config_text("noise = [0.0, 0.1]\nseed = [0, 1]", mode="zip"))
    # euler integrates both
    accepted(tmp_path, config_text("noise = [0.0, 0.1]", 'solver = "euler"\ndt = 0.01'))


@pytest.mark.parametrize(("grid", "simulate", "fragment"), [
    ("g = [1.5]", "dt = 0.01", "[simulate] dt=0.01 is unused by the default solver 'tsit5'"),
    ("g = [1.5]", 'solver = "dopri8"\ndt = 0.01', "[simulate] dt=0.01 is unused by "
     "[simulate] solver='dopri8'"),
    ("dt = [0.01, 0.001]", 'solver = "tsit5"', "[grid] dt=[0.01, 0.001] is unused"),
    # the noise = 0 points of a noise grid use the adaptive default
    ("noise = [0.0, 0.1]", "dt = 0.01", "is unused by the default solver 'tsit5' at noise=0.0"),
    ("solver = [\"euler\", \"dopri5\"]", "dt = 0.01", "is unused by [grid] solver='dopri5'"),
])
def test_dt_with_an_adaptive_solver_is_refused(tmp_path, grid, simulate, fragment):
    message = refused(tmp_path, config_text(grid, simulate))
    assert fragment in message and "drop dt or choose a fixed-step solver: euler, heun, rk4" in message


@pytest.mark.parametrize(("grid", "simulate", "fragment"), [
    ("g = [1.5]", 'solver = "rk4"\nrtol = 1e-8', "[simulate] rtol=1e-08 is unused by [simulate] "
     "solver='rk4'"),
    ("g = [1.5]", 'solver = "euler"\natol = 1e-8', "[simulate] atol=1e-08 is unused"),
    ("noise = [0.1, 0.2]", "rtol = 1e-4", "is unused by the default solver 'shark' at noise=0.1"),
    ("atol = [1e-6, 1e-8]", 'solver = "heun"', "[grid] atol=[1e-06, 1e-08] is unused"),
])
def test_tolerances_with_a_fixed_step_solver_are_refused(tmp_path, grid, simulate, fragment):
    message = refused(tmp_path, config_text(grid, simulate))
    assert fragment in message and "choose an adaptive solver (tsit5, dopri5, dopri8" in message


STEP_SETTINGS = [("", None), ("dt = 0.01", "dt"), ("rtol = 1e-5", "rtol"), ("atol = 1e-5", "atol")]


@pytest.mark.parametrize("solver", [None, *dict.fromkeys([*solvers.ODE_SOLVERS,
                                                          *solvers.SDE_SOLVERS])])
@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_config_refuses_exactly_what_simulate_refuses(tmp_path, solver, noise):
    # simulate() decides with solvers.resolve and solvers.check_step_settings; a config with
    # the same settings must be refused exactly when they raise
    for line, key in STEP_SETTINGS:
        settings = [f"noise = {noise}", line] + ([f'solver = "{solver}"'] if solver else [])
        text = config_text("g = [1.5]", "\n".join(filter(None, settings)))
        try:
            spec = solvers.resolve(solver, noisy=noise > 0)
            solvers.check_step_settings(spec, **({key: 0.01} if key else {}))
        except ParameterError:
            refused(tmp_path, text)
        else:
            accepted(tmp_path, text)


def test_step_settings_that_are_used_are_accepted(tmp_path):
    accepted(tmp_path, config_text("g = [1.5]", 'solver = "rk4"\ndt = 0.05'))
    accepted(tmp_path, config_text("rtol = [1e-4, 1e-6]", 'solver = "dopri5"\natol = 1e-6'))
    accepted(tmp_path, config_text("noise = [0.1, 0.2]", "dt = 0.001"))
    accepted(tmp_path, config_text('solver = ["shark", "sra1"]', "noise = 0.1\ndt = 0.01"))


@pytest.mark.parametrize(("grid", "network", "negative", "fragment"), [
    ("g = [0.0, 1.5]", "", ("g = [-0.5, 1.5]", ""), "[grid] g=-0.5 must be >= 0"),
    ("g = [2.0, 0]", "", ("g = [2.0, -1]", ""), "[grid] g=-1 must be >= 0"),
    ("seed = [0, 1]", "g = 0.0", ("seed = [0, 1]", "g = -0.5"), "[network] g=-0.5 must be >= 0"),
])
def test_g_zero_with_dmft_is_accepted(tmp_path, grid, network, negative, fragment):
    # g has one rule, g >= 0, for the network and the DMFT, which solves g = 0 in closed form
    # (tests/test_mean_field.py computes a point of such a sweep)
    def extra(text):
        return f"[network]\n{text}\n" if text else ""

    accepted(tmp_path, config_text(grid, quantities='"dmft"', extra=extra(network)))
    accepted(tmp_path, config_text(grid, quantities='"summary"', extra=extra(network)))
    (tmp_path / "negative.toml").write_text(config_text(negative[0], quantities='"dmft"',
                                                        extra=extra(negative[1])))
    with pytest.raises(ParameterError, match=re.escape(fragment)):
        load_config(tmp_path / "negative.toml")


def test_dmft_grid_coarser_than_its_window_is_refused(tmp_path):
    message = refused(tmp_path, config_text("g = [1.5]", quantities='"dmft"',
                                            extra="[dmft]\ntau_max = 4.0\ndtau = 2.0\n"))
    assert "[dmft] dtau=2.0 must be <= tau_max/4 = 1.0" in message
    accepted(tmp_path, config_text("g = [1.5]", quantities='"dmft"',
                                   extra="[dmft]\ntau_max = 4.0\ndtau = 1.0\n"))


@pytest.mark.parametrize(("grid", "network", "fragment"), [
    ("g = [1.5]", "N = 3", "[lyapunov] k=4 exceeds [network] N=3"),
    ("N = [10, 2]", "", "[lyapunov] k=4 exceeds [grid] N=2"),
])
def test_more_lyapunov_exponents_than_neurons_is_refused(tmp_path, grid, network, fragment):
    extra = (f"[network]\n{network}\n" if network else "") + "[lyapunov]\nk = 4\n"
    message = refused(tmp_path, config_text(grid, quantities='"lyapunov"', extra=extra))
    assert fragment in message and "at most N exponents" in message
    accepted(tmp_path, config_text(grid, quantities='"lyapunov"', extra=extra.replace("4", "2")))


def test_parse_config_refuses_the_same_without_a_file():
    document = {"out": "never.zarr", "grid": {"noise": [0.0, 0.1]},
                "simulate": {"solver": "dopri5"}, "compute": {"quantities": ["summary"]}}
    with pytest.raises(ParameterError, match=r"^sweep config: \[simulate\] solver='dopri5'"):
        parse_config(document)


def test_dmft_takes_relu_and_refuses_symmetry(tmp_path):
    """The stationary DMFT takes an unbounded φ (relu: a divergent point raises there), not
    partially symmetric couplings: those are refused before anything is written."""
    accepted(tmp_path, config_text('phi = ["tanh", "relu"]', quantities='"dmft"'))
    message = refused(tmp_path, config_text('symmetry = [0.0, 0.5]', quantities='"dmft"'))
    assert "'dmft' needs symmetry = 0 ([grid] symmetry = 0.5)" in message
    assert "neurodyn.dmft.sampling" in message
    accepted(tmp_path, config_text('symmetry = [0.0, 0.5]', quantities='"summary"'))
    message = refused(tmp_path, config_text('g = [1.0]', quantities='"dmft"',
                                            extra="[network]\nsymmetry = -0.5\n"))
    assert "[network] symmetry = -0.5" in message




@pytest.mark.parametrize(("grid", "network", "fragment"), [
    ("g = [1.5]", "N = 10\nK = 11", "[network] K=11 exceeds [network] N=10"),
    ("N = [20, 10]", "K = 15", "[network] K=15 exceeds [grid] N=10"),
    ("K = [5, 1001]", "", "[grid] K=1001 exceeds default N=1000"),
])
def test_in_degree_above_N_is_refused(tmp_path, grid, network, fragment):
    """K distinct partners per neuron are drawn without replacement: K <= N at every point."""
    extra = f"[network]\n{network}\n" if network else ""
    message = refused(tmp_path, config_text(grid, extra=extra))
    assert fragment in message and "K must be <= N" in message


def test_in_degree_up_to_N_is_accepted(tmp_path):
    accepted(tmp_path, config_text("g = [1.5]", extra="[network]\nN = 10\nK = 10\n"))
    accepted(tmp_path, config_text("K = [5, 1000]"))
    # zip: only the pairs present are checked ((20, 15) and (10, 5), not (10, 15))
    accepted(tmp_path, config_text("N = [20, 10]\nK = [15, 5]", mode="zip"))


def test_run_sweep_refuses_K_above_N_before_the_store_exists(tmp_path):
    from neurodyn.sweep import run_sweep

    path = tmp_path / "bad.toml"
    path.write_text(config_text("g = [1.5]", extra="[network]\nN = 10\nK = 11\n"))
    with pytest.raises(ParameterError, match=r"K=11 exceeds \[network\] N=10"):
        run_sweep(path, workers=1)
    assert sorted(os.listdir(tmp_path)) == ["bad.toml"]
