"""What one adaptive Runge–Kutta evaluation costs beyond the J·φ product, one trajectory, N = 1000.

The performance issue's single-trajectory targets (1.5× / 3× the fastest SciPy method) sit
within a few per cent of the bound "every evaluation at the bare product's rate", so what is
left to cut is the work an RK step does besides the product. This script measures, in one
process and per right-hand-side evaluation (float64 and float32):

- the bare jitted ``J @ x`` chain and the bare drift chain ``h ← h + ε F(h)`` (the product plus
  tanh and the vector additions of F, nothing else);
- a hand-written adaptive RK loop: the stages of diffrax's own Butcher tableau unrolled in one
  jitted ``lax.while_loop`` with an RMS error norm and an integral controller — no dense
  output, no event, no saving, i.e. the least an adaptive RK step on this tableau can do;
- ``diffrax.diffeqsolve`` with the same tableau and tolerance (SaveAt t1, no event);
- ``neurodyn.simulate`` (the public call: saving every 5 τ, divergence event, Dataset).

The hand-written loop is a baseline only, like the bare products: it is checked against diffrax
at a tight tolerance before it is timed. (No library offers a "minimal RK loop"; diffrax is the
integrator neurodyn uses.)

    python benchmarks/bench_rk_floor.py [--repeats 15] [--no-write]

Writes the section "bench_rk_floor" of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
from _common import publish, table, timed

import neurodyn as nd
from neurodyn.network import drift
from neurodyn.simulate import initial_condition

N, G, T1 = 1000, 2.0, 200.0
CONFIGS = (("dopri8", diffrax.Dopri8, 1e-4), ("tsit5", diffrax.Tsit5, 1e-5))
"""Solver, its diffrax class and a tolerance near bench_peers' calibration (error ≤ 1e-4); the
cost per evaluation barely depends on it (same controller in every row: diffrax's default I)."""


def unrolled_rk(solver_class, net, t1, rtol, atol):
    """Jitted adaptive explicit RK on the tableau of ``solver_class`` (FSAL): returns (h(t1),
    attempted steps).

    Stages unrolled in Python (static coefficients), RMS error norm over atol + rtol·max(|y0|,
    |y1|), integral controller norm^(−1/order) with safety 0.9 and factors in [0.2, 10]
    (diffrax's PIDController defaults)."""
    tableau = solver_class.tableau
    a = [np.asarray(row, float) for row in tableau.a_lower]
    b, e = np.asarray(tableau.b_sol, float), np.asarray(tableau.b_error, float)
    exponent = -1.0 / solver_class().order(None)

    def combination(coefficients, ks):
        terms = [float(c) * k for c, k in zip(coefficients, ks, strict=False) if c != 0.0]
        return sum(terms[1:], terms[0])

    def step(h, k0, dt):
        ks = [k0]
        for row in a:
            ks.append(drift(h + dt * combination(row, ks), net))
        return h + dt * combination(b, ks), ks[-1], dt * combination(e, ks)

    def body(state):
        t, h, k0, dt, steps = state
        dt = jnp.minimum(dt, t1 - t)
        h1, k1, error = step(h, k0, dt)
        scale = atol + rtol * jnp.maximum(jnp.abs(h), jnp.abs(h1))
        norm = jnp.sqrt(jnp.mean((error / scale) ** 2))
        accept = norm <= 1.0
        factor = jnp.clip(0.9 * norm**exponent, 0.2, 10.0)
        return (jnp.where(accept, t + dt, t), jnp.where(accept, h1, h),
                jnp.where(accept, k1, k0), dt * factor, steps + 1)

    @jax.jit
    def solve(h0):
        zero = jnp.zeros((), h0.dtype)
        state = (zero, h0, drift(h0, net), zero + 0.1, 0)
        _, h, _, _, steps = jax.lax.while_loop(lambda s: s[0] < t1, body, state)
        return h, steps
    return solve


def diffrax_solve(solver_class, net, t1, rtol, atol):
    @jax.jit
    def solve(h0):
        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(lambda t, h, args: drift(h, net)), solver_class(),
            jnp.zeros((), h0.dtype), jnp.asarray(t1, h0.dtype), None, h0,
            saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol), max_steps=100_000)
        return solution.ys[0], solution.stats["num_steps"]
    return solve


def chain(step, length):
    @jax.jit
    def run(x):
        return jax.lax.fori_loop(0, length, lambda i, x: step(x), x)
    return run


def check_baseline(net, h0):
    """The hand-written loop must integrate, not just run fast: vs diffrax at rtol 1e-10
    (float64; t = 10 from h(0), before chaos amplifies rounding beyond 1e-6)."""
    for _, solver_class, _ in CONFIGS:
        mine, _ = unrolled_rk(solver_class, net, 10.0, 1e-10, 1e-10)(h0)
        theirs, _ = diffrax_solve(solver_class, net, 10.0, 1e-10, 1e-10)(h0)
        difference = float(jnp.max(jnp.abs(mine - theirs)))
        if not difference < 1e-6:
            raise RuntimeError(f"hand-written {solver_class.__name__} differs from diffrax by "
                               f"{difference:.2e} at t = 10 (rtol 1e-10); the baseline is wrong")


def run(dtype, repeats):
    """Rows of the table for ``dtype``. Every configuration is compiled and run once first;
    then the timed runs are interleaved (one of each per round), so a slow spell of the VM
    lands on all of them alike, and each row is the median over the rounds."""
    net = nd.Network.random(N=N, g=G, seed=0, dtype=dtype)
    h0 = jnp.asarray(initial_condition(N, 1, 1, 1.0, dtype))
    if dtype == "float64":  # the loop is dtype-generic; float32 cannot resolve rtol 1e-10
        check_baseline(net, h0)
    length = 2000
    bare_chain = chain(lambda x: net.J @ x * 1e-3 + x, length)
    drift_chain = chain(lambda h: h + 1e-3 * drift(h, net), length)
    # (label, tolerance, call, evaluations per call)
    configs = [("bare J @ x chain", "—", lambda: bare_chain(h0[0]), length),
               ("bare drift chain h + ε F(h)", "—", lambda: drift_chain(h0), length)]
    for name, solver_class, tol in CONFIGS:
        stages = len(solver_class.tableau.a_lower)
        for label, solve in (
                ("hand-written unrolled loop", unrolled_rk(solver_class, net, T1, tol, tol)),
                ("diffrax.diffeqsolve", diffrax_solve(solver_class, net, T1, tol, tol))):
            steps = int(solve(h0)[1])
            configs.append((f"{name}: {label}", tol, lambda solve=solve: solve(h0)[0],
                            steps * stages + 1))
        def simulate_call(name=name, tol=tol):
            return nd.simulate(net, t1=T1, dt_save=5.0, h0=h0, solver=name, rtol=tol, atol=tol)
        evaluations = simulate_call().attrs["rhs_evaluations"]
        configs.append((f"{name}: nd.simulate", tol, lambda call=simulate_call: call().h.values,
                        evaluations))
    for _, _, call, _ in configs:
        timed(call)  # compile and warm
    times = [[] for _ in configs]
    for _ in range(repeats):
        for slot, (_, _, call, _) in zip(times, configs, strict=True):
            slot.append(timed(call))
    per_eval = [float(np.median(t)) / count for t, (_, _, _, count) in zip(times, configs,
                                                                          strict=True)]
    floor = per_eval[1]
    rows = []
    for (label, tol, _, count), seconds in zip(configs, per_eval, strict=True):
        rows.append([dtype, label, tol, "—" if label.startswith("bare") else count,
                     seconds * 1e6, None if label.startswith("bare J") else floor / seconds])
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    rows = run("float64", args.repeats) + run("float32", args.repeats)
    text = "\n".join([
        "## Adaptive RK cost per evaluation beyond the product (bench_rk_floor.py)",
        "",
        f"N = {N}, 1 trial, g = {G}, tanh, T = {T1:g}; median of {args.repeats} warm runs, "
        "interleaved (one run of every row per round). "
        "Evaluations = attempted steps × new stages per step + 1 (FSAL). The hand-written loop "
        "unrolls the stages of the same diffrax tableau in one jitted `while_loop` (no dense "
        "output, no event, no saving) and is checked against diffrax at rtol 1e-10 first. "
        "\"speed vs drift chain\" = bare drift chain time / time per evaluation: the fraction of "
        "the bare product an RK evaluation can reach.",
        "",
        table(["dtype", "what", "rtol = atol", "evaluations", "µs per evaluation",
               "speed vs drift chain"], rows),
    ])
    publish("bench_rk_floor", text, not args.no_write)


if __name__ == "__main__":
    main()
