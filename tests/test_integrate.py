"""neurodyn.integrate: the one solve, against closed forms and the learning rules' own RK steps."""

import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn import integrate, solvers
from neurodyn.analysis import LYAPUNOV_SOLVER
from neurodyn.learning import _fixed_step
from neurodyn.learning.fixed_point import RELAX_SOLVER
from neurodyn.learning.rule import SOLVERS

ADAPTIVE = [name for name, spec in solvers.ODE_SOLVERS.items() if spec.adaptive]
FIXED = [name for name, spec in solvers.ODE_SOLVERS.items() if not spec.adaptive]


def rotation(t, y, args):
    """dy/dt = A y with A = [[-0.1, 1], [-1, -0.1]]: y(t) = e^{-0.1 t} R(t) y(0), a pytree state."""
    u, v = y
    return -0.1 * u + v, -u - 0.1 * v


def exact(t):
    return np.exp(-0.1 * t) * np.array([np.cos(t), -np.sin(t)])


@pytest.mark.parametrize("name, control", [(name, "pi") for name in ADAPTIVE]
                         + [(ADAPTIVE[0], control) for control in integrate.CONTROLS
                            if control != "pi"])
def test_adaptive_solve_matches_the_closed_form(name, control):
    times = jnp.linspace(0.0, 5.0, 6)
    solution = integrate.solve(rotation, (jnp.ones(()), jnp.zeros(())), solvers.ODE_SOLVERS[name],
                               0.0, 5.0, save_times=times, rtol=1e-10, atol=1e-10,
                               control=control)
    got = np.stack([np.asarray(solution.ys[0]), np.asarray(solution.ys[1])])
    np.testing.assert_allclose(got, exact(np.asarray(times)), atol=1e-8)
    assert int(solution.stats["num_steps"]) > 0


@pytest.mark.parametrize("name", FIXED)
def test_fixed_step_solve_equals_the_learning_rules_tableau(name):
    """diffrax with the registry's fixed-step solver and learning's hand-written RK step on the
    tableau derived from it take the same 20 steps: equal to rounding."""
    spec, dt = solvers.ODE_SOLVERS[name], 0.05
    solution = integrate.solve(rotation, (jnp.ones(()), jnp.zeros(())), spec, 0.0, 20 * dt,
                               dt=dt)
    y = (jnp.ones(()), jnp.zeros(()))
    for i in range(20):
        y = _fixed_step.rk_step(lambda t, y: rotation(t, y, None), i * dt, y, dt, name)
    np.testing.assert_allclose(np.asarray([solution.ys[0][-1], solution.ys[1][-1]]),
                               np.asarray(y), rtol=0, atol=1e-14)


def test_learning_and_lyapunov_take_their_solvers_from_the_registry():
    assert set(SOLVERS) == set(ADAPTIVE)
    assert all(SOLVERS[name] is solvers.ODE_SOLVERS[name] for name in ADAPTIVE)
    assert list(_fixed_step.TABLEAUX) == FIXED
    assert LYAPUNOV_SOLVER.adaptive and LYAPUNOV_SOLVER is solvers.ODE_SOLVERS[LYAPUNOV_SOLVER.name]
    assert RELAX_SOLVER.adaptive and RELAX_SOLVER is solvers.ODE_SOLVERS[RELAX_SOLVER.name]


def test_bad_requests_are_refused():
    with pytest.raises(nd.ParameterError, match="control='pid' is unknown; allowed: pi, i"):
        integrate.step_controller(solvers.ODE_SOLVERS["tsit5"], 1e-6, 1e-6, control="pid")
    with pytest.raises(nd.ParameterError, match="euler.*euler_maruyama"):
        integrate.solve(rotation, (0.0, 0.0), solvers.SDE_SOLVERS["euler"], 0.0, 1.0, dt=0.1,
                        noise=0.1)
    with pytest.raises(nd.ParameterError, match="'shark' is an SDE method but noise=None"):
        integrate.solve(rotation, (0.0, 0.0), solvers.SDE_SOLVERS["shark"], 0.0, 1.0, dt=0.1)
    with pytest.raises(nd.ParameterError, match="control='pid' is unknown; allowed: pi, i"):
        nd.lyapunov(nd.Network.random(N=4, g=1.0), control="pid")
