"""User mistakes at the API boundary are one-line ParameterErrors that name the parameter, its
value and what is allowed, raised before any long work (issue 12, class 8, API side).

Checked against the messages' promised fragments; the memory refusals use sizes that cannot fit
on any machine (N = 10⁷ needs 2 PB for J), so the test itself would crash without the check.
"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

import neurodyn as nd
from neurodyn import nonlinearity, solvers

SRC = Path(nd.__file__).resolve().parent


@pytest.fixture(scope="module")
def net():
    return nd.Network.random(N=20, g=1.5, seed=0)


def refused(fragments, call):
    with pytest.raises(nd.ParameterError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("J, dtype", [
    (np.ones((5, 5), dtype=np.int64), "int64"),
    ([[1, 0], [0, 1]], "int64"),
    (np.ones((5, 5), dtype=np.int32), "int32"),
    (np.ones((3, 3), dtype=bool), "bool"),
])
def test_integer_couplings_are_refused_at_construction(J, dtype):
    refused([f"J has dtype {dtype}", "float64 or float32", "astype(float)"],
            lambda: nd.Network.from_arrays(J))


@pytest.mark.parametrize("field, replacement", [
    ("theta", lambda n: n.theta.astype(jnp.float32)),
    ("g", lambda n: n.g.astype(jnp.float32)),
    ("J", lambda n: n.J.astype(jnp.float32)),
])
def test_mixed_dtype_networks_are_refused_by_simulate_and_lyapunov(net, field, replacement):
    edited = eqx.tree_at(lambda n: getattr(n, field), net, replacement(net))
    fragments = ["mixed dtypes", f"{field} float32", "float64 or float32"]
    refused(fragments, lambda: nd.simulate(edited, t1=1.0))
    refused(fragments, lambda: nd.lyapunov(edited, t1=1.0))


def test_hand_built_networks_with_bad_fields_are_refused(net):
    integer = nd.Network(J=jnp.ones((4, 4), jnp.int32), theta=jnp.zeros(4, jnp.int32),
                         g=jnp.asarray(1, jnp.int32), phi="tanh")
    refused(["Network field J has dtype int32"], lambda: nd.simulate(integer, t1=1.0))
    short_theta = eqx.tree_at(lambda n: n.theta, net, net.theta[:5])
    refused(["theta has shape (5,)", "(20,)"], lambda: nd.simulate(short_theta, t1=1.0))


@pytest.mark.parametrize("inputs, fragments", [
    (lambda t: jnp.ones(3), ["inputs(t) returns shape (3,)", "(N=20,)"]),
    (lambda t: jnp.ones((2, 20)), ["inputs(t) returns shape (2, 20)", "(N=20,)"]),
    (lambda t: (jnp.ones(20), 1.0), ["inputs(t) returns tuple"]),
    (lambda t: float(t) * jnp.ones(20), ["cannot be traced by JAX", "ConcretizationTypeError",
                                          "no float(t)"]),
    (lambda t: np.sin(t) * np.ones(20), ["cannot be traced by JAX", "TracerArrayConversionError"]),
    (lambda: jnp.ones(20), ["cannot be traced by JAX", "TypeError"]),
    ("abc", ["inputs of type str", "callable", "numeric array"]),
])
def test_bad_input_callables_are_refused_before_compiling(net, inputs, fragments):
    refused(fragments, lambda: nd.simulate(net, t1=1.0, inputs=inputs))


@pytest.mark.parametrize("function", [nd.autocorrelation, nd.summary])
def test_analysis_of_something_that_is_not_a_run(function):
    name = function.__name__
    refused([f"{name}: ds is a numpy.ndarray", "Dataset with h"],
            lambda: function(np.zeros((2, 10, 3))))
    refused([f"{name}: ds has no variable 'h'", "variables: x"],
            lambda: function(xr.Dataset({"x": ("a", [1.0])})))
    refused([f"{name}: h has dims ('time',)", "(trial, time, neuron)"],
            lambda: function(xr.Dataset({"h": ("time", np.zeros(4))})))
    refused([f"{name}: ds is a list"], lambda: function([1.0, 2.0]))


@pytest.mark.parametrize("kwargs, fragments", [
    (dict(noise=0.1, solver="tsit5"),
     ["solver='tsit5' cannot integrate an SDE (noise=0.1 > 0)", "allowed with noise > 0: euler, "
      "shark, sra1"]),
    (dict(noise=0.1, solver="rk4"), ["solver='rk4' cannot integrate an SDE"]),
    (dict(solver="shark"), ["solver='shark' cannot integrate an ODE (noise=0.0)",
                            "allowed with noise=0: tsit5, dopri5, dopri8, euler, heun, rk4"]),
    (dict(solver="rk45"), ["solver='rk45' is unknown", "allowed with noise=0: tsit5"]),
    (dict(noise=0.1, solver="milstein"), ["solver='milstein' is unknown", "noise > 0: euler"]),
])
def test_solver_messages_say_what_the_noise_allows(net, kwargs, fragments):
    refused(fragments, lambda: nd.simulate(net, t1=1.0, **kwargs))


@pytest.mark.parametrize("kwargs, fragments", [
    (dict(dt=0.01), ["dt=0.01 has no effect with solver='tsit5'", "rtol and atol",
                     "fixed-step solvers (euler, heun, rk4, shark, sra1)"]),
    (dict(solver="dopri8", dt=0.001), ["dt=0.001 has no effect with solver='dopri8'"]),
    (dict(solver="rk4", rtol=1e-3), ["rtol=0.001 has no effect with solver='rk4'",
                                     "fixed steps of dt", "adaptive solvers (tsit5, dopri5, dopri8)"]),
    (dict(solver="euler", atol=1e-8), ["atol=1e-08 has no effect with solver='euler'"]),
    (dict(noise=0.2, rtol=1e-4), ["rtol=0.0001 has no effect with solver='shark'"]),
])
def test_settings_the_solver_ignores_are_refused(net, kwargs, fragments):
    refused(fragments, lambda: nd.simulate(net, t1=1.0, **kwargs))


@pytest.mark.parametrize("dtype, shown", [("banana", "dtype='banana'"), (5, "dtype=5"),
                                          ("int64", "dtype='int64'")])
def test_unknown_dtype_is_quoted_once(dtype, shown):
    refused([f"{shown} is unknown; allowed: float64, float32"],
            lambda: nd.Network.random(N=10, dtype=dtype))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_networks_that_cannot_fit_in_memory_are_refused(dtype):
    refused(["N=10000000", f"dtype={dtype}", "TiB", "available"],
            lambda: nd.Network.random(N=10_000_000, dtype=dtype))


def test_trajectories_that_cannot_fit_in_memory_are_refused(net):
    refused(["trials=1000", "t1=1e+07", "dt_save=0.01", "N=20", "dtype=float64", "available"],
            lambda: nd.simulate(net, t1=1e7, dt_save=0.01, trials=1000))


def test_solver_and_nonlinearity_names_load_without_jax():
    """The command line validates names before importing JAX: neurodyn.solvers and
    neurodyn.nonlinearity_names must not import jax, diffrax or numpy themselves. The package
    __init__ is bypassed (a bare package module) to test the modules alone."""
    script = textwrap.dedent(f"""
        import sys, types
        package = types.ModuleType("neurodyn")
        package.__path__ = [{str(SRC)!r}]
        sys.modules["neurodyn"] = package
        import neurodyn.solvers as solvers, neurodyn.nonlinearity_names as names
        heavy = sorted(m for m in ("jax", "diffrax", "numpy", "equinox") if m in sys.modules)
        assert not heavy, heavy
        try:
            solvers.resolve("tsit5", noisy=True, noise=0.1)
        except ValueError as error:
            print(error)
        print(sorted(solvers.ODE_SOLVERS), sorted(solvers.SDE_SOLVERS), names.NAMES)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert "solver='tsit5' cannot integrate an SDE (noise=0.1 > 0)" in out
    assert str(sorted(solvers.ODE_SOLVERS)) in out
    assert str(nonlinearity.NAMES) in out and tuple(nonlinearity.NONLINEARITIES) == \
        nonlinearity.NAMES


def test_solver_classes_resolve_lazily_to_diffrax_and_rk4():
    import diffrax

    from neurodyn.rk4 import ClassicalRK4

    assert solvers.ODE_SOLVERS["tsit5"].make is diffrax.Tsit5
    assert solvers.ODE_SOLVERS["rk4"].make is ClassicalRK4
    assert solvers.ClassicalRK4 is ClassicalRK4  # the old import location still works
    assert all(re.fullmatch(r"[\w.]+:\w+", spec.solver_class)
               for spec in {**solvers.ODE_SOLVERS, **solvers.SDE_SOLVERS}.values())
