"""MeanFieldModel (the theory's parameters as a pytree), the one rule per shared parameter, and
the theory at g = 0 (closed form: no recurrent drive)."""

import math

import jax
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import model_parameters
from neurodyn.cli import main
from neurodyn.sweep import compute_point, layout
from neurodyn.sweep_config import parse_config


def test_from_network_reads_the_construction_parameters():
    net = nd.Network.random(N=4, g=1.5, phi="erf", J_mean=0.3, symmetry=0.5, theta_mean=0.1,
                            theta_std=0.2, seed=3)
    model = nd.MeanFieldModel.from_network(net, noise=0.4)
    assert model.describe() == {"g": 1.5, "phi": "erf", "J_mean": 0.3, "theta_mean": 0.1,
                                "theta_std": 0.2, "noise": 0.4, "symmetry": 0.5}
    assert model.phi is nd.nonlinearity.get("erf")
    with pytest.raises(nd.ParameterError, match="Network.random"):
        nd.MeanFieldModel.from_network(nd.Network.from_arrays(np.eye(3)))


def test_model_is_a_pytree_of_its_numbers_with_phi_static():
    model = nd.MeanFieldModel(g=1.5, J_mean=0.2, noise=0.1)
    assert sorted(jax.tree_util.tree_leaves(model)) == sorted([1.5, 0.2, 0.0, 0.0, 0.1, 0.0])
    traces = []

    @jax.jit
    def drive(m):
        traces.append(1)
        return m.g * m.phi.phi(m.J_mean) + m.noise

    assert float(drive(model)) == pytest.approx(1.5 * math.tanh(0.2) + 0.1, rel=1e-12)
    drive(nd.MeanFieldModel(g=3.0, J_mean=-1.0))  # other numbers: no new trace
    assert len(traces) == 1
    drive(nd.MeanFieldModel(g=3.0, phi="erf"))  # another φ: a new trace
    assert len(traces) == 2


@pytest.mark.parametrize("kwargs, fragment", [
    ({"g": -0.5}, "g=-0.5 must be >= 0"), ({"phi": "sin"}, "phi='sin'"),
    ({"J_mean": "x"}, "J_mean='x'"), ({"theta_std": -1}, "theta_std=-1"),
    ({"noise": math.inf}, "noise=inf"), ({"symmetry": 1.5}, "symmetry=1.5"),
])
def test_bad_parameters_are_refused_naming_them(kwargs, fragment):
    with pytest.raises(nd.ParameterError, match=fragment.replace("(", r"\(")):
        nd.MeanFieldModel(**kwargs)


def test_solvers_refuse_what_they_do_not_cover():
    with pytest.raises(nd.ParameterError, match="phi='relu' is unbounded"):
        nd.dmft.two_time(model=nd.MeanFieldModel(phi="relu"))
    with pytest.raises(nd.ParameterError, match="symmetry=0.5"):
        nd.dmft.stationary(model=nd.MeanFieldModel(symmetry=0.5))
    with pytest.raises(nd.ParameterError, match="both given"):
        nd.dmft.stationary(model=nd.MeanFieldModel(), g=2.0)
    with pytest.raises(nd.ParameterError, match="J_mean = theta_mean = theta_std = 0"):
        nd.dmft.two_time(model=nd.MeanFieldModel(J_mean=0.5))


def test_one_rule_for_g_everywhere(tmp_path, capsys):
    """g = −0.5 is refused and g = 0 accepted alike by the rule, Network.random, the model, the
    sweep config and the command line (dmft and chaos; checked before any work)."""
    for check in (lambda g: model_parameters.g("g", g), lambda g: nd.Network.random(N=2, g=g),
                  lambda g: nd.MeanFieldModel(g=g),
                  lambda g: parse_config({"out": "x.zarr", "grid": {"g": [g]},
                                          "compute": {"quantities": ["dmft"]}})):
        check(0.0)
        with pytest.raises(nd.ParameterError, match="g=-0.5 must be >= 0"):
            check(-0.5)
    for argv in (["dmft", "--g", "-0.5"], ["chaos", "--g", "-0.5", "1"]):
        assert main(argv) == 2
        assert "--g=-0.5 must be >= 0" in capsys.readouterr().err


def test_g_zero_is_the_closed_form():
    # g = 0: C_φ ≡ φ(0)² = 0 for tanh, so h relaxes onto θ: M = θm, Δ∞ = θs², and the noise
    # adds an Ornstein–Uhlenbeck part (σ²/2) e^{−τ}; λ_max = −1.
    static = nd.dmft.stationary(g=0.0, theta_mean=0.3, theta_std=0.2, J_mean=1.0,
                                critical_gain=False)
    assert static.attrs["phase"] == "static"
    assert float(static["mean"]) == 0.3 and float(static.delta0) == pytest.approx(0.04)
    assert float(static.lambda_max) == -1.0
    model = nd.MeanFieldModel(g=0.0, theta_std=0.2, noise=0.5)
    driven = nd.dmft.stationary(model=model, dtau=0.1, tau_max=5.0)
    assert driven.attrs["phase"] == "driven" and float(driven.tau_corr) == 1.0
    np.testing.assert_allclose(driven.delta.values,
                               0.04 + 0.125 * np.exp(-driven.tau.values), rtol=1e-14)
    same = nd.dmft.stationary(g=0.0, theta_std=0.2, noise=0.5, dtau=0.1, tau_max=5.0)
    np.testing.assert_array_equal(same.delta.values, driven.delta.values)


def test_two_time_at_g_zero_is_ornstein_uhlenbeck():
    # (1 + ∂t)(1 + ∂t′)C = σ²δ: C(t, t) = q0 e^{−2t} + (σ²/2)(1 − e^{−2t}); second order in dt
    ds = nd.dmft.two_time(g=0.0, t1=3.0, dt=0.05, q0=1.0, noise=0.5, phi="erf")
    t = ds.t.values
    exact = np.exp(-2 * t) + 0.125 * (1 - np.exp(-2 * t))
    assert np.max(np.abs(ds.variance.values - exact)) < 2e-3
    # and C(t, t′) = e^{−(t − t′)} C(t′, t′) for t ≥ t′
    lagged = np.exp(-(t[:, None] - t[None, :])) * exact[None, :]
    below = t[:, None] >= t[None, :]
    assert np.max(np.abs(ds.C.values - lagged)[below]) < 2e-3


def test_a_sweep_with_g_zero_and_dmft_computes_the_closed_form():
    config = parse_config({"out": "x.zarr", "grid": {"g": [0.0, 1.5]},
                           "compute": {"quantities": ["dmft"]},
                           "network": {"theta_std": 0.3}, "simulate": {"noise": 0.2},
                           "dmft": {"tau_max": 4.0, "dtau": 0.5}})
    variables, _ = layout(config)
    out = compute_point(config, config.point((0,)))
    assert out["dmft_delta"].shape == variables["dmft_delta"].shape == (9,)
    assert float(out["dmft_delta0"]) == pytest.approx(0.09 + 0.02, rel=1e-14)
    assert float(out["dmft_lambda_max"]) == -1.0 and float(out["dmft_tau_corr"]) == 1.0
