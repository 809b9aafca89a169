"""PI vs I step-size control beyond simulate: drift evaluations at equal accuracy.

simulate's PI control (neurodyn.integrate.PI_COEFFICIENTS) was measured on trajectories. This
measures the other adaptive solves that go through neurodyn.integrate.solve, each over a range
of tolerances rtol = atol, with both controllers, against a tight reference (rtol = 1e-12, PI):

- lyapunov: the leading 2 exponents of an N = 40, g = 2 network (t1 = 20, transient 5, QR every
  1); error max |λ − λ_ref|; evaluations of the tangent system (attrs rhs_evaluations).
- bptt, adjoint, rtrl: the gradient of the sine-generation task (n = 12, g = 1.5, T = 10,
  101 samples, all groups); error max |grad − grad_ref| / max |grad_ref| against BPTT at
  rtol = 1e-12; evaluations = num_steps × stages of the rule's solves (for the adjoint: forward
  and backward together; a backward evaluation is a vjp, ~2–3 forward ones).
- relax, relax_adjoint: the fixed-point relaxations of tests/test_learning_fixed_point.py's
  kind (n = 20, g = 0.5): steps to the steady state ‖F‖_∞ < tol at that solve's tolerances
  (the event fixes the accuracy, so only the cost is compared).

Evaluations at equal accuracy are interpolated (log–log) at a target error inside both
controllers' error ranges. Compilations: one per (problem, controller); tolerances are traced.

    python benchmarks/bench_controllers.py     (< 2 min on 2 cores; prints tables, writes nothing)
"""

from __future__ import annotations

import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

import neurodyn as nd
import neurodyn.learning as L
from neurodyn import integrate, solvers
from neurodyn.learning import fixed_point as fp
from neurodyn.learning.params import readout, vector_field

CONTROLS = ("pi", "i")
REFERENCE = 1e-12


def lyapunov_rows(tolerances):
    net = nd.Network.random(N=40, g=2.0, seed=0)
    options = dict(t1=20.0, transient=5.0, k=2, seed=1)
    reference = nd.lyapunov(net, rtol=REFERENCE, atol=REFERENCE, control="pi", **options).values
    rows = []
    for control in CONTROLS:
        for tol in tolerances:
            result = nd.lyapunov(net, rtol=tol, atol=tol, control=control, **options)
            rows.append((control, tol, result.attrs["rhs_evaluations"],
                         float(np.max(np.abs(result.values - reference)))))
            print("lyapunov", rows[-1], flush=True)
    return rows


TRAINABLE = ("J", "theta", "B", "W_out")


@jax.jit
def _gradient(rule, params, task):
    """(grads, steps of the rule's solves); the rule's tolerances are traced."""
    _, grads, diagnostics = rule.gradient(params, task, TRAINABLE, None)
    return grads, diagnostics["num_steps"]


def _flat(grads):
    return np.concatenate([np.ravel(grads[name]) for name in TRAINABLE])


def gradient_problem():
    """The task, its parameters and the reference gradient: BPTT at rtol = atol = 1e-12 (the
    gradient of the continuous loss, which every exact rule approximates)."""
    params, task = L.sine_generation(n=12, g=1.5, duration=10.0, dt_sample=0.1, seed=0)
    params = params.without_metadata()
    reference = _flat(_gradient(L.rule("bptt", rtol=REFERENCE, atol=REFERENCE, control="pi"),
                                params, task)[0])
    return params, task, reference


def gradient_rows(problem, method, tolerances):
    params, task, reference = problem
    solver = solvers.ODE_SOLVERS["tsit5"]
    scale = np.max(np.abs(reference))
    rows = []
    for control in CONTROLS:
        for tol in tolerances:
            grads, steps = _gradient(L.rule(method, rtol=tol, atol=tol, control=control),
                                     params, task)
            error = float(np.max(np.abs(_flat(grads) - reference)) / scale)
            rows.append((control, tol, int(steps) * solver.evaluations_per_step, error))
            print(method, rows[-1], flush=True)
    return rows


def relax_rows():
    """Steps of the forward (relax_tol 1e-6) and Almeida–Pineda adjoint (tol 1e-12) relaxations,
    at the tolerances fixed_point._relax uses for them (min(rtol, tol/10), min(atol, tol/10))."""
    n = 20
    rng = np.random.default_rng(1)
    net = nd.Network.from_arrays(rng.standard_normal((n, n)) / np.sqrt(n),
                                 0.3 * rng.standard_normal(n), g=0.5)
    params = L.Params(net=net, B=jnp.asarray(rng.standard_normal((n, 2)) / np.sqrt(n)),
                      W_out=jnp.asarray(rng.standard_normal((3, n)) / np.sqrt(n)))
    x, y = jnp.asarray([1.0, -0.5]), jnp.asarray([0.3, -0.2, 0.1])
    spec = fp.RELAX_SOLVER

    @jax.jit(static_argnames=("control", "tol", "adjoint"))
    def relax(params, control, tol, adjoint):
        def forward(h):
            return vector_field(h, params, x)

        if adjoint:  # the AP adjoint at the (Newton-refined) fixed point
            h_star = optx.root_find(lambda h, _: forward(h), optx.Newton(rtol=1e-13, atol=1e-13),
                                    jnp.zeros(n)).value
            dl_dh = jax.grad(lambda h: 0.5 * jnp.sum((readout(h, params) - y) ** 2))(h_star)
            _, vjp = jax.vjp(forward, h_star)

            def field(t, v, args):
                return vjp(v)[0] + dl_dh
        else:
            def field(t, h, args):
                return forward(h)
        solution = integrate.solve(
            field, jnp.zeros(n), spec, 0.0, 2000.0, rtol=min(1e-6, tol / 10),
            atol=min(1e-8, tol / 10), control=control,
            event=diffrax.Event(diffrax.steady_state_event(rtol=0.0, atol=tol,
                                                           norm=optx.max_norm)),
            max_steps=100_000, throw=False)
        return solution.stats["num_steps"], solution.ts[-1]

    rows = []
    for name, tol, adjoint in (("relax", 1e-6, False), ("relax_adjoint", 1e-12, True)):
        for control in CONTROLS:
            steps, t_end = relax(params, control, tol, adjoint)
            rows.append((name, control, tol, spec.rhs_evaluations(int(steps)), float(t_end)))
    return rows


def at_target(rows, control, target):
    """Evaluations at error ``target``, interpolated log–log over the tolerance sweep."""
    points = sorted((error, evaluations) for c, _, evaluations, error in rows
                    if c == control and error > 0)
    errors, evaluations = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    if not errors[0] <= np.log(target) <= errors[-1]:
        return float("nan")
    return float(np.exp(np.interp(np.log(target), errors, evaluations)))


def main():
    started = time.perf_counter()
    problem = gradient_problem()
    problems = {
        "lyapunov": lyapunov_rows((1e-4, 1e-6, 1e-8)),
        "bptt": gradient_rows(problem, "bptt", (1e-4, 1e-6, 1e-8, 1e-10)),
        "adjoint": gradient_rows(problem, "adjoint", (1e-8, 1e-10, 1e-12)),
        "rtrl": gradient_rows(problem, "rtrl", (1e-4, 1e-6, 1e-8, 1e-10)),
    }
    print("| problem | control | rtol = atol | drift evaluations | error |")
    print("|---|---|---|---|---|")
    for name, rows in problems.items():
        for control, tol, evaluations, error in rows:
            print(f"| {name} | {control} | {tol:.0e} | {evaluations} | {error:.2e} |")
    print("\nAt equal accuracy (log–log interpolation inside both sweeps' error ranges):\n")
    print("| problem | target error | PI evaluations | I evaluations | PI / I |")
    print("|---|---|---|---|---|")
    for name, rows in problems.items():
        ranges = [[error for c, *_, error in rows if c == control and error > 0]
                  for control in CONTROLS]
        low, high = max(min(r) for r in ranges), min(max(r) for r in ranges)
        if not low < high:
            print(f"| {name} | ranges do not overlap | | | |")
            continue
        for target in np.geomspace(low, high, 3):
            pi, i = at_target(rows, "pi", target), at_target(rows, "i", target)
            print(f"| {name} | {target:.1e} | {pi:.0f} | {i:.0f} | {pi / i:.2f} |")
    print("\nRelaxations to a fixed point (the steady-state event sets the accuracy):\n")
    print("| relaxation | control | event tol | drift evaluations | t at rest |")
    print("|---|---|---|---|---|")
    for name, control, tol, evaluations, t_end in relax_rows():
        print(f"| {name} | {control} | {tol:.0e} | {evaluations} | {t_end:.4g} |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
