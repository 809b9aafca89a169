"""Every rule in the registry against independent truth: a new rule gets these checks by being
listed in ``neurodyn.learning.RULES``.

- Exact trajectory rules over adaptive solves (:class:`AbstractAdaptiveRule`): the projection
  of the gradient on 16 random directions vs central differences of the continuous loss
  computed by plain forward solves at rtol = atol = 1e-12, ≤ 1e-5 (ε = 1e-4: truncation
  ~ε² L‴ ≈ 1e-8 and solver noise ~1e-12/ε = 1e-8, both ≪ 1e-5 of the gradient norm ~0.1–1).
- Exact fixed-step rules (:class:`AbstractFixedStepRule`): the same against the
  rk4-discretised loss they differentiate, ≤ 1e-8. That loss is a deterministic scan (no step
  control, so no solver noise), and plain central differences at ε = 1e-4 are limited by their
  ε² truncation alone: measured 1.5e-7–1.2e-6 over four sets of 16 directions (1.1e-6 > 1e-6
  for some), shrinking 4x per halving of ε. The Richardson extrapolation (4 D(ε) − D(2ε))/3 of
  the central differences at ε = 1e-4 and 2e-4 cancels the ε² term: measured 1e-12–1e-11 over
  the same directions, both gains (the O(ε⁴) remainder and rounding ~1e-16 L/ε).
- Exact fixed-point rules: directional central differences of the fixed-point loss
  ½‖W_out φ(g h*(w)) − y‖² (relaxation + Newton at w ± ε d), ≤ 1e-5 per group
  (tests/test_learning_fixed_point.py states the error budget).
- Approximate rules: positively aligned with the exact gradient of the same functional over
  the groups that enter the dynamics (the bound of the existing RFLO test, cosine > 0).

Every rule's loss must equal the plain forward evaluation of its functional. Networks: n = 12,
K = 101 samples over T = 10 (shared with tests/test_learning_trajectory.py, so the compilations
are shared), and the n = 20 fixed-point networks of tests/test_learning_fixed_point.py.
"""

import sys
from pathlib import Path

import jax
import pytest

import neurodyn as nd
import neurodyn.learning as L
from neurodyn.learning import bptt
from neurodyn.learning.tasks import uniform_steps

sys.path.insert(0, str(Path(__file__).parent))
import test_learning_fixed_point as fixed  # noqa: E402
from test_learning_trajectory import (  # noqa: E402
    ALL,
    N_SMALL,
    directional_differences,
    directional_error,
    make_task,
    random_directions,
)

CHECK_OPTIONS = {
    # tolerances of the existing central-difference test (tight enough for 1e-5, as fast as
    # allowed: RTRL's augmented state is n·m numbers)
    "bptt": {"rtol": 1e-11, "atol": 1e-11},
    "adjoint": {"rtol": 1e-12, "atol": 1e-12},
    "rtrl": {"rtol": 1e-10, "atol": 1e-10},
    # symmetric ±β estimate: bias O(β²) ≈ 2e-6 at β = 3e-4 for the worst group
    "eqprop": {"beta": 3e-4, "symmetric": True},
}
"""Options a rule is checked with; rules not listed run with these defaults by kind."""
ADAPTIVE_DEFAULT = {"rtol": 1e-11, "atol": 1e-11}
FIXED_STEP_DEFAULT = {"dt": 0.01}


def options_for(name: str) -> dict:
    cls = L.RULES[name]
    if name in CHECK_OPTIONS:
        return CHECK_OPTIONS[name]
    if issubclass(cls, L.AbstractAdaptiveRule):
        return ADAPTIVE_DEFAULT
    if issubclass(cls, L.AbstractFixedStepRule):
        return FIXED_STEP_DEFAULT
    return {}


def names(kind: str, approximate: bool) -> list[str]:
    return [name for name, cls in L.RULES.items()
            if cls.kind == kind and cls.approximate == approximate]


def test_registry_views_are_derived_from_the_table():
    assert L.METHODS == tuple(L.RULES)
    assert set(L.TRAJECTORY_METHODS) | set(L.FIXED_POINT_METHODS) == set(L.METHODS)
    assert not set(L.TRAJECTORY_METHODS) & set(L.FIXED_POINT_METHODS)
    for name, cls in L.RULES.items():
        assert cls.name == name and cls.kind in ("trajectory", "fixed_point")
        assert isinstance(cls.description, str) and "\n" not in cls.description
        assert isinstance(L.rule(name), L.AbstractRule)


_TRAJECTORY_CACHE: dict = {}


@jax.jit
def _continuous_loss(params, task):
    """The continuous loss by a plain tsit5 solve at rtol = atol = 1e-12, jitted on metadata-free
    params so that both gains share one compilation (an eager solve recompiled per g)."""
    return task.loss_from_states(bptt.solve_states(params, task, "tsit5", 1e-12, 1e-12), params)


@jax.jit
def _discrete_loss(params, task):
    """The rk4-discretised loss of the helper (10 steps of 0.01 per sample), one compilation."""
    return bptt.scan_loss(params, task, 10, 0.01, "rk4")


def trajectory_reference(g: float, functional):
    """(params, task, directions, differences, loss) for one gain and one functional:
    "continuous" or ("discrete", steps, dt, stepper), cached across the parametrisation."""
    key = (g, functional)
    if key not in _TRAJECTORY_CACHE:
        params = L.Params.random(N_SMALL, g=g, seed=N_SMALL)
        task = make_task(N_SMALL, 10.0, seed=1)
        directions = random_directions(params, 16, seed=99)
        bare = params.without_metadata()
        if functional == "continuous":
            differences = directional_differences(bare, task, directions, 1e-4)
            loss = _continuous_loss(bare, task)
        else:
            _, steps, dt, stepper = functional
            assert (steps, dt, stepper) == (10, 0.01, "rk4"), "the helper's discrete loss"
            # Richardson: the ε² truncation term of the central differences cancels (module
            # docstring); eps is traced, so both step sizes share one compilation
            coarse, fine = (directional_differences(bare, task, directions, eps,
                                                    loss_kind="discrete") for eps in (2e-4, 1e-4))
            differences = (4 * fine - coarse) / 3
            loss = _discrete_loss(bare, task)
        _TRAJECTORY_CACHE[key] = (params, task, directions, differences, float(loss))
    return _TRAJECTORY_CACHE[key]


def functional_of(rule, task):
    if isinstance(rule, L.AbstractFixedStepRule):
        steps = uniform_steps(task, rule.dt)[0]
        return ("discrete", steps, round(float(rule.dt), 12), rule.stepper)
    return "continuous"


@pytest.mark.parametrize("g", [0.5, 0.9])
@pytest.mark.parametrize("name", names("trajectory", approximate=False))
def test_exact_trajectory_rules_match_central_differences(name, g):
    rule = L.rule(name, **options_for(name))
    probe = make_task(N_SMALL, 10.0, seed=1)
    functional = functional_of(rule, probe)
    params, task, directions, differences, expected_loss = trajectory_reference(g, functional)
    value, grads = rule.value_and_grad(params, task)
    assert set(grads) == set(ALL)
    assert abs(float(value) - expected_loss) <= 1e-8 * expected_loss, name
    # continuous: solver noise and ε² truncation; discrete: Richardson-extrapolated differences
    # of a deterministic scan, 1e-12–1e-11 measured (module docstring)
    bound = 1e-5 if functional == "continuous" else 1e-8
    error = directional_error(grads, directions, differences)
    assert error <= bound, (name, error)


@pytest.fixture(scope="module")
def fixed_point_task():
    return L.FixedPointTask.create(x=[1.0, -0.5], y=[0.3, -0.2, 0.1], n=fixed.N)


_FIXED_POINT_CACHE: dict = {}


def fixed_point_reference(task, symmetric_J: bool):
    """(params, directions, differences): the generic g = 0.8 network, or for rules that need
    J = Jᵀ the symmetric g = 0.7 one with symmetric J directions (test_learning_fixed_point)."""
    if symmetric_J not in _FIXED_POINT_CACHE:
        params = fixed.make_params(g=0.7, symmetric=True) if symmetric_J else fixed.make_params(
            g=0.8, symmetric=False)
        dirs = fixed.directions(params, symmetric_J=symmetric_J)
        _FIXED_POINT_CACHE[symmetric_J] = (params, dirs, fixed.fd_directional(params, task, dirs))
    return _FIXED_POINT_CACHE[symmetric_J]


FIXED_POINT_CASES = [(name, {}) for name in names("fixed_point", approximate=False)]
FIXED_POINT_CASES.insert(FIXED_POINT_CASES.index(("implicit", {})) + 1,
                         ("implicit", {"solver": "iterative"}))


@pytest.mark.parametrize("name,extra", FIXED_POINT_CASES)
def test_exact_fixed_point_rules_match_finite_differences(fixed_point_task, name, extra):
    task = fixed_point_task
    rule = L.rule(name, **{**options_for(name), **extra})
    params, dirs, reference = fixed_point_reference(task, rule.symmetric_J_only)
    loss, grads = rule.value_and_grad(params, task)
    assert abs(float(loss) - float(task.loss(params))) <= 1e-12 * float(task.loss(params))
    assert set(grads) == set(L.TRAINABLE)
    errors = fixed.rel_errors(grads, dirs, reference)
    assert max(errors.values()) <= 1e-5, (name, errors)


APPROXIMATE = [name for name, cls in L.RULES.items() if cls.approximate]


@pytest.mark.parametrize("name", APPROXIMATE)
def test_approximate_rules_are_aligned_with_the_exact_gradient(fixed_point_task, name):
    """The approximate gradient has a positive cosine with the exact gradient of the same
    functional (BPTT-scan with the same steps, tight BPTT, or the dense implicit gradient) over
    the groups that enter the dynamics, and the same loss."""
    rule = L.rule(name, **options_for(name))
    if rule.kind == "fixed_point":
        task = fixed_point_task
        params = fixed_point_reference(task, rule.symmetric_J_only)[0]
        exact_rule = L.Implicit()
    else:
        params = L.Params.random(N_SMALL, g=0.8, seed=7)
        task = make_task(N_SMALL, 10.0, seed=3)
        if isinstance(rule, L.AbstractFixedStepRule):
            exact_rule = L.BpttScan(dt=rule.dt, stepper=rule.stepper)
        else:
            exact_rule = L.Bptt(**ADAPTIVE_DEFAULT)
    exact_value, exact = exact_rule.value_and_grad(params, task)
    value, approximate = rule.value_and_grad(params, task)
    assert abs(float(value) - float(exact_value)) <= 1e-8 * float(exact_value)
    dynamic = ("J", "theta", "B")
    cosine = L.alignment({k: approximate[k] for k in dynamic}, {k: exact[k] for k in dynamic})
    assert cosine > 0.0, (name, cosine)


def test_rule_options_are_validated_at_construction():
    with pytest.raises(nd.ParameterError, match="rtol"):
        L.Bptt(rtol=-1.0)
    with pytest.raises(nd.ParameterError, match="dt"):
        L.rule("bptt_scan", dt=0.0)
    with pytest.raises(nd.ParameterError, match="stepper"):
        L.RtrlDiscrete(stepper="rk45")
    with pytest.raises(nd.ParameterError, match="method"):
        L.rule("nonsense")
