"""A φ defined here, in the test file only, runs through simulate, Lyapunov, the learning rules
and the deep maps without touching the package: the code asks capabilities, not names.

The custom φ is half_tanh(x) = ½ tanh x (bound ½, slope ½ at 0, odd, increasing, no closed
forms). Independent truths:

- Below threshold (g·φ′(0) < 1, g = 1.5) a small state follows the linearisation
  dh/dt = (−1 + g φ′(0) J) h exactly up to O((g h)²) relative: scipy's expm.
- Scaling: u = 2h turns dh/dt = −h + J ½ tanh(g h) into du/dt = −u + J tanh((g/2) u), so the
  half_tanh network at g is the registered tanh network at g/2 from 2 h(0) (an exact identity;
  it shares no φ code with the custom entry). At g = 4 (g φ′(0) = 2) it is chaotic: λ_max > 0;
  at g = 1.5 (g φ′(0) = 0.75) it decays: λ_max ≈ −1 + g φ′(0) ρ(J) < 0.
- Learning: every rule in the registry (helpers of tests/test_learning_registry.py on a
  smaller network and horizon). Exact fixed-step rules and the fixed-point rules against central
  differences of the loss they differentiate; exact adaptive rules against the fixed-step
  gradient so checked (rk4, dt = 0.01: O(dt⁴) from the continuous one), which spares the
  compilation of a second, continuous central-difference reference; approximate rules aligned
  with the exact gradient.
- Deep maps: q*, χ₁ against scipy quad + brentq on ½ tanh written in numpy; at σ_b = 0 the
  critical σ_w is 1/φ′(0) = 2.
"""

import math
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from scipy import integrate, optimize

import neurodyn as nd
import neurodyn.learning as L
from neurodyn import deep, nonlinearity
from neurodyn.learning import bptt

sys.path.insert(0, str(Path(__file__).parent))
import test_learning_fixed_point as fixed  # noqa: E402
from test_learning_registry import options_for  # noqa: E402
from test_learning_trajectory import (  # noqa: E402
    ALL,
    directional_error,
    make_task,
    random_directions,
    rel_err,
)

HALF_TANH = nonlinearity.Nonlinearity(
    name="half_tanh",
    phi=lambda x: 0.5 * jnp.tanh(x),
    dphi=lambda x: 0.5 * (1.0 - jnp.tanh(x) ** 2),
    antiderivative=lambda x: 0.5 * (jnp.logaddexp(x, -x) - math.log(2.0)),  # ½ log cosh x
    bound=0.5, slope_at_zero=0.5, odd=True, increasing=True,
)


def test_custom_phi_is_carried_by_the_network_and_checked_like_a_registered_one():
    net = nd.Network.random(N=5, g=1.0, phi=HALF_TANH, seed=0)
    assert net.phi is HALF_TANH and nonlinearity.get(HALF_TANH) is HALF_TANH
    assert net.describe()["phi"] == "half_tanh" and net.without_metadata().phi is HALF_TANH
    x = jnp.linspace(-3.0, 3.0, 61) + 0.01
    np.testing.assert_allclose(jax.vmap(jax.grad(HALF_TANH.phi))(x), HALF_TANH.dphi(x), rtol=1e-13)
    np.testing.assert_allclose(jax.vmap(jax.grad(HALF_TANH.antiderivative))(x), HALF_TANH.phi(x),
                               rtol=1e-13)
    with pytest.raises(nd.ParameterError, match="bound=-1"):
        nonlinearity.Nonlinearity(name="bad", phi=jnp.tanh, dphi=jnp.tanh,
                                  antiderivative=jnp.tanh, bound=-1, slope_at_zero=1.0,
                                  odd=True, increasing=True)


def test_below_threshold_a_small_state_follows_the_linearisation():
    N, g, t1 = 40, 1.5, 8.0
    net = nd.Network.random(N=N, g=g, phi=HALF_TANH, seed=3)
    h0 = 1e-6 * np.asarray(jax.random.normal(jax.random.PRNGKey(0), (N,), jnp.float64))
    ds = nd.simulate(net, t1=t1, dt_save=2.0, h0=h0, rtol=1e-10, atol=1e-18)
    A = -np.eye(N) + g * HALF_TANH.slope_at_zero * np.asarray(net.J)
    for t, h in zip(ds.time.values, ds.h.values[0], strict=True):
        want = scipy.linalg.expm(A * t) @ h0
        # cubic term of ½ tanh: relative (g h)²/3 ≈ 1e-12; solver rtol 1e-10
        np.testing.assert_allclose(h, want, rtol=0, atol=1e-8 * np.abs(want).max())
    # the linearisation is stable (spectral abscissa < 0) and the state decays
    assert np.linalg.eigvals(A).real.max() < 0
    assert np.linalg.norm(ds.h.values[0, -1]) < np.linalg.norm(h0)


@pytest.mark.parametrize("g", [1.5, 4.0])
def test_custom_network_is_the_rescaled_tanh_network(g):
    N = 40  # as the linearisation test, with the same save times: one compilation
    custom = nd.Network.random(N=N, g=g, phi=HALF_TANH, seed=5)
    tanh = nd.Network.random(N=N, g=g / 2, phi="tanh", seed=5)
    h0 = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (N,), jnp.float64))
    options = {"t1": 8.0, "dt_save": 2.0, "rtol": 1e-10, "atol": 1e-10}
    h = nd.simulate(custom, h0=h0, **options).h.values
    u = nd.simulate(tanh, h0=2 * h0, **options).h.values
    np.testing.assert_allclose(2 * h, u, rtol=0, atol=1e-6)


def test_lyapunov_sign_follows_gain_times_slope():
    # N = 150: small tanh networks at g = 2 often settle on a limit cycle; seeds 0–2 measured
    # λ_max = 0.10, 0.05, 0.05 at N = 150 (0.01 to −0.3 at N = 40–80)
    N, t1 = 150, 40.0
    chaotic = nd.lyapunov(nd.Network.random(N=N, g=4.0, phi=HALF_TANH, seed=0), t1=t1,
                          transient=20.0)
    quiet_net = nd.Network.random(N=N, g=1.5, phi=HALF_TANH, seed=0)
    quiet = nd.lyapunov(quiet_net, t1=t1, transient=20.0)
    # the quiescent state's rate: −1 + g φ′(0) max Re eig(J)
    rate = -1.0 + 1.5 * 0.5 * np.linalg.eigvals(np.asarray(quiet_net.J)).real.max()
    assert float(chaotic[0]) > 0.03, float(chaotic[0])
    assert float(quiet[0]) == pytest.approx(rate, abs=0.02)


# --- learning rules -----------------------------------------------------------------------

N_LEARN, T_LEARN, SAMPLES = 6, 3.0, 31  # sample spacing 0.1 (the discrete helper's 10 × 0.01)


@pytest.fixture(scope="module")
def trajectory_case():
    """The custom-φ network, its task, directions, central differences of the rk4 (dt = 0.01)
    loss and BPTT-scan's gradient of that loss (checked first, in the test of bptt_scan)."""
    params = L.Params.random(N_LEARN, g=1.6, phi=HALF_TANH, seed=4)
    task = make_task(N_LEARN, T_LEARN, seed=1, samples=SAMPLES)
    directions = random_directions(params, 6, seed=7)
    scan_rule = L.BpttScan(dt=0.01)
    loss, scan = scan_rule.value_and_grad(params, task)
    # the plain forward rk4 loss (bptt.scan_loss, no differentiation) is the rule's value...
    assert float(bptt.scan_loss(params, task, 10, 0.01, "rk4")) == pytest.approx(float(loss),
                                                                                rel=1e-13)
    # ...so central differences of the rule's value reuse its compilation (ε = 1e-4: truncation
    # ~ε² ≈ 1e-8, rounding ~1e-16/ε ≈ 1e-12 relative)
    eps, differences = 1e-4, []
    for j in range(6):
        shifted = [params.replace(**{name: params.get(name) + sign * eps * directions[name][j]
                                     for name in ALL}) for sign in (1.0, -1.0)]
        plus, minus = (float(scan_rule.value_and_grad(p, task)[0]) for p in shifted)
        differences.append((plus - minus) / (2 * eps))
    return params, task, directions, jnp.asarray(differences), float(loss), scan


# The rules whose code reads the Nonlinearity itself (snap1: φ′ in its eligibility trace;
# eqprop: φ, Φ and φ′ in its energy and metric), and one rule of each kind that sees φ only
# through network.drift (bptt_scan, implicit). The others (bptt, adjoint, rtrl, rtrl_discrete,
# recurrent_backprop) differentiate that same drift with jax, so a φ that works here works there;
# tests/test_learning_registry.py checks every registered rule against finite differences. Walking
# them all with a new φ cost ~35 s more of compilation (a new static φ shares no compile).
READS_PHI = {"snap1", "eqprop"}
TRAJECTORY_RULES = [name for name, cls in L.RULES.items()
                    if cls.kind == "trajectory" and (name in READS_PHI or name == "bptt_scan")]
FIXED_POINT_RULES = [name for name, cls in L.RULES.items()
                     if cls.kind == "fixed_point" and (name in READS_PHI or name == "implicit")]


@pytest.mark.parametrize("name", TRAJECTORY_RULES)
def test_trajectory_rules_with_the_custom_phi(trajectory_case, name):
    """Fixed-step exact rules (dt = 0.01) against central differences of the discrete loss
    they differentiate (≤ 1e-6, as tests/test_learning_registry.py); adaptive exact rules
    against that same discrete gradient (≤ 1e-5: rk4's O(dt⁴) ≈ 1e-8 plus the adaptive
    tolerance), so the chain rests on the central differences; approximate rules aligned."""
    params, task, directions, differences, scan_loss, scan = trajectory_case
    options = dict(options_for(name))
    if issubclass(L.RULES[name], L.AbstractFixedStepRule):
        options["dt"] = 0.01
    rule = L.rule(name, **options)
    value, grads = rule.value_and_grad(params, task)
    assert set(grads) == set(ALL)
    if rule.approximate:
        dynamic = ("J", "theta", "B")
        assert L.alignment({k: grads[k] for k in dynamic}, {k: scan[k] for k in dynamic}) > 0
        return
    if isinstance(rule, L.AbstractFixedStepRule):
        assert abs(float(value) - scan_loss) <= 1e-12 * scan_loss
        error = directional_error(grads, directions, differences)
        assert error <= 1e-6, (name, error)
    else:
        assert abs(float(value) - scan_loss) <= 1e-7 * scan_loss
        error = rel_err(grads, scan)
        assert error <= 1e-5, (name, error)


@pytest.fixture(scope="module")
def fixed_point_task():
    return L.FixedPointTask.create(x=[1.0, -0.5], y=[0.3, -0.2, 0.1], n=fixed.N)


@pytest.fixture(scope="module")
def fixed_point_case(fixed_point_task):
    """Symmetric J (every fixed-point rule, equilibrium propagation included, applies) with
    g φ′(0) = 0.7, symmetric J directions, central differences of the fixed-point loss."""
    params = fixed.make_params(g=1.4, symmetric=True, phi=HALF_TANH)
    dirs = fixed.directions(params, symmetric_J=True)
    return params, dirs, fixed.fd_directional(params, fixed_point_task, dirs)


@pytest.mark.parametrize("name", FIXED_POINT_RULES)
def test_fixed_point_rules_with_the_custom_phi(fixed_point_task, fixed_point_case, name):
    rule = L.rule(name, **options_for(name))
    params, dirs, reference = fixed_point_case
    loss, grads = rule.value_and_grad(params, fixed_point_task)
    assert abs(float(loss) - float(fixed_point_task.loss(params))) <= 1e-12 * float(loss)
    if rule.approximate:
        _, exact = L.Implicit().value_and_grad(params, fixed_point_task)
        assert L.alignment(grads, exact) > 0
        return
    errors = fixed.rel_errors(grads, dirs, reference)
    assert max(errors.values()) <= 1e-5, (name, errors)


def test_eqprop_refuses_a_custom_phi_that_is_not_increasing(fixed_point_task):
    flat_top = nonlinearity.Nonlinearity(
        name="clipped", phi=lambda x: jnp.clip(x, -1.0, 1.0),
        dphi=lambda x: jnp.where(jnp.abs(x) < 1.0, 1.0, 0.0),
        antiderivative=lambda x: jnp.where(jnp.abs(x) < 1.0, 0.5 * x**2, jnp.abs(x) - 0.5),
        bound=1.0, slope_at_zero=1.0, odd=True, increasing=False)
    params = fixed.make_params(g=0.7, symmetric=True, phi=flat_top)
    with pytest.raises(nd.ParameterError, match="phi='clipped'.*strictly increasing"):
        L.value_and_grad(params, fixed_point_task, "eqprop")


# --- deep mean-field maps -----------------------------------------------------------------

def _gauss(f, q):
    """∫ f(√q z) Dz by adaptive quadrature (scipy, numpy functions: no neurodyn code)."""
    s = math.sqrt(q)
    value, _ = integrate.quad(lambda z: f(s * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
                              -12, 12, epsabs=1e-14, epsrel=1e-13, limit=200)
    return value


def _reference_q_star(sw, sb):
    def residual(q):
        return sw**2 * _gauss(lambda x: (0.5 * math.tanh(x)) ** 2, q) + sb**2 - q
    return optimize.brentq(residual, 1e-6, sw**2 * 0.25 + sb**2 + 1.0, xtol=1e-14, rtol=1e-14)


@pytest.mark.parametrize("sw, sb", [(3.0, 0.3), (5.0, 0.8)])
def test_deep_maps_with_the_custom_phi_match_quadrature(sw, sb):
    q = _reference_q_star(sw, sb)
    chi = sw**2 * _gauss(lambda x: (0.5 * (1 - math.tanh(x) ** 2)) ** 2, q)
    assert deep.q_star(sw, sb, HALF_TANH) == pytest.approx(q, rel=1e-9)
    assert deep.chi1(sw, sb, HALF_TANH) == pytest.approx(chi, rel=1e-9)


def test_deep_critical_line_starts_at_one_over_the_slope():
    # σ_b = 0, σ_w φ′(0) < 1: q* = 0 and χ₁ = σ_w² φ′(0)²; the critical σ_w is 1/φ′(0) = 2
    assert deep.q_star(1.5, 0.0, HALF_TANH) == 0.0
    assert deep.chi1(1.5, 0.0, HALF_TANH) == pytest.approx(1.5**2 * 0.25, rel=1e-10)
    assert deep.critical_sigma_w(0.0, HALF_TANH) == pytest.approx(2.0, abs=1e-6)
