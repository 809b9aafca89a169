"""The learning-rule cost comparison job (``neurodyn learn-bench``).

For each method, network size n and horizon T: the warm wall time of one gradient (compiled;
median of ``repeats`` calls), the peak working memory of the compiled gradient function from
XLA's memory analysis (``temp_size_in_bytes + output_size_in_bytes``: buffers the computation
allocates, excluding its inputs — the parameters and the task's sampled x, y, α, which every
method reads alike), and the gradient's relative error against a float64 reference (BPTT-scan
with the step divided by 4, i.e. rk4 error /256: a different discretisation of the same loss).

Trajectory task: random SCS network (g = 0.9, contracting), sine input, cosine target, samples
every 0.1; all four groups trained. Methods and the costs theory predicts per integration step
(our parametrisation: the trained dynamic parameters are W = [J | θ | B], m = n² + 2n of them
for one input, so m ~ n²; Marschall et al. JMLR 2020, Table 1; Kidger 2021 §5):

==================  ===============  ===================  ====================
method              time vs n        memory vs n          memory vs T
==================  ===============  ===================  ====================
bptt_scan           n² (exp. 2)      n T + n² (—)         T (exp. 1)
bptt                n² (2)           (checkpoints) (—)    —
rtrl_discrete       n² m = n⁴ (4)    n m = n³ (3)         flat (0)
rtrl                n⁴ (4)           n³ (3)               flat (0)
adjoint             n² (2)           n² (—)               flat (0)
rflo, eprop, snap1  n² (2)           m = n² (2)           flat (0)
uoro                n² (2)           n + m = n² (2)       flat (0)
kf_rtrl             n³ (3)           n² (2)               flat (0)
force, full_force   n² (2)           n² (2)               flat (0)
implicit            n² (2) … n³      n² (2)               — (no horizon)
implicit_gmres      n² (2)           n² (2)               —
recurrent_backprop  n² (2)           n² (2)               —
eqprop              n² (2)           n² (2)               —
==================  ===============  ===================  ====================

Why these: exact RTRL propagates the n × m sensitivity with the n × n Jacobian (n² m = n⁴ per
step). The trace rules (RFLO, e-prop, SnAp-1) keep m numbers, each updated in O(1). UORO keeps
a rank-one u vᵀ (n + m numbers) and needs one Jacobian-vector product and one vector-Jacobian
product of the step (n² each). KF-RTRL keeps A (n × n) ⊗ u (n + 1 + n_in) and forms ΦA, an
n × n by n × n product (n³), and the n × n stage matrices C_j (n² memory). Every rule also
returns the n² gradient, so no memory exponent is below 2 (the fitted memory is XLA's temp +
output bytes). The online rules (FORCE, full-FORCE; a cell is one run of T with learning over
its first 90 %, so time is per run, not per gradient, and at fixed T the exponent is that of
the cost per step): rk4 steps of the n × n network and an RLS update every 2 steps (P r and
the rank-one update of the n × n P), all O(n²); they hold P and J (n²). Their task is
benchmarks/bench_force.py's (a g = 1.5 network, a sum of three sines of period 20 τ).

The alignment column is the cosine between the J, θ, B gradient of the cell and the
reference's: 1 to the reference's accuracy for the exact rules, the quality of the estimate for
the approximate ones (UORO and KF-RTRL: one random estimate, seed 0; their mean over seeds is the
exact gradient, tests/test_learning_rtrl_approx.py).

Fixed-point task (the last four; a static input x = 1 and target y = 0.3, symmetric J with
g = 0.45 so that every method, equilibrium propagation included, applies to the same network;
all four groups trained): these cells sit at ``T = 0`` (no horizon). Every method first relaxes
to h* (Tsit5, n² per step, a step count that does not grow with n: relaxation time 76–98 τ
measured for n = 64–1024) and refines it with 2 Newton steps (dense LU, n³); then the linear
solve (LU, n³, or GMRES, n² per iteration), the Almeida–Pineda adjoint relaxation (n² per step)
or the two nudged relaxations of equilibrium propagation (n² per step). Up to n = 1024 the
relaxations dominate (n = 1024: the forward solve, relaxation + Newton, took 0.134 s of the dense
implicit gradient's 0.159 s; measured times grew 90× from n = 128 to 1024, exponent 2.2), so the
theory exponent in this range is 2; the dense LU's n³ takes over only at larger n. Memory is the dense
n × n Jacobian of the Newton step (and of the dense solve). Reference: the dense implicit
gradient (for equilibrium propagation, whose J-gradient is the gradient within symmetric
matrices, its symmetric part).

The fitted exponents are least-squares slopes of log cost vs log n (at the smallest T) or vs
log T (at one n) over the grid points; small n are dominated by per-step overhead, which pulls
the time exponents below theory, so the n grids start where the O(n²)/O(n⁴) work dominates.
The default grid took 3.0 min on an idle 2-core machine with eight rules; with every rule of the
registry and the two online rules it took 13.4 min (2026-12-01, a 2-core VM shared at load 5–8;
697 CPU s). The ``quick`` grid (`neurodyn learn-bench --quick`, saving and drawing included:
34.6 s wall, 41.8 CPU s, 2026-12-01 at load 0.5–2.5; 43 s of cells alone before the fixed-point
reference was compiled as one function; where the time goes: compiling each cell's gradient
~50 %, compiling the reference per shape most of the rest, running < 2 %) is a smoke
test of the pipeline: its n ranges are in the overhead regime and its time exponents are not
comparable with theory (measured 1.3 and 2.3 for BPTT-scan and RTRL); only the default grid is.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import rng, validation
from .errors import ParameterError
from .learn_bench_names import RULE, upgrade
from .learning import (
    ONLINE_RULES,
    TRAINABLE,
    AbstractOnlineRule,
    AbstractRule,
    FixedPointTask,
    Params,
    TrajectoryTask,
    alignment,
    fixed_point,
    rule,
    vector_field,
)
from .learning.force import measure as measure_online
from .provenance import provenance

DT = 0.1
"""Fixed rk4 step of the scan methods, and the sample spacing (τ units)."""
ADJOINT_TOL = 1e-8
FIXED_POINT_G = 0.45
"""Gain of the fixed-point task's symmetric network (spectral radius of J ≈ 2g < 1: one stable
equilibrium, so every fixed-point method, equilibrium propagation included, applies)."""
EQPROP_BETA = 1e-3

ADAPTIVE_TOL = 1e-8
"""rtol = atol of the adaptive BPTT and RTRL cells (their defaults)."""
ONLINE_PERIOD = 20.0
"""Period (τ) of the online rules' target; they learn over the first ONLINE_LEARN of the run."""
ONLINE_LEARN = 0.9
ONLINE_G = 1.5

RULES = {
    "bptt_scan": rule("bptt_scan", dt=DT),
    "bptt": rule("bptt", rtol=ADAPTIVE_TOL, atol=ADAPTIVE_TOL),
    "rtrl_discrete": rule("rtrl_discrete", dt=DT),
    "rtrl": rule("rtrl", rtol=ADAPTIVE_TOL, atol=ADAPTIVE_TOL),
    "adjoint": rule("adjoint", rtol=ADJOINT_TOL, atol=ADJOINT_TOL),
    "rflo": rule("rflo", dt=DT),
    "eprop": rule("eprop", dt=DT),
    "snap1": rule("snap1", dt=DT),
    "uoro": rule("uoro", dt=DT),
    "kf_rtrl": rule("kf_rtrl", dt=DT),
    "implicit": rule("implicit", solver="dense", linear_tol=1e-12),
    "implicit_gmres": rule("implicit", solver="iterative", linear_tol=1e-12),
    "recurrent_backprop": rule("recurrent_backprop", tol=1e-12),
    "eqprop": rule("eqprop", beta=EQPROP_BETA, symmetric=True),
}
ONLINE = {name: cls(dt=DT) for name, cls in ONLINE_RULES.items()}
"""The online rules (FORCE, full-FORCE) with one integration step per sample."""
RULES = {**RULES, **ONLINE}
"""Benchmark method → the registry rule with the bench's settings (two cells of one rule:
``implicit`` with the dense and the iterative linear solve), then the online rules."""
FIXED_POINT_METHODS = tuple(name for name, r in RULES.items()
                            if isinstance(r, AbstractRule) and r.kind == "fixed_point")
ONLINE_METHODS = tuple(ONLINE)

GRIDS = {
    # method: {"n": sizes at T_min, "T": horizons at n_T, "n_T": n for the T sweep}
    "default": {
        "bptt_scan": {"n": (128, 256, 512, 1024), "T": (10, 20, 40, 80), "n_T": 64},
        "bptt": {"n": (128, 256, 512, 1024), "T": (10, 20, 40), "n_T": 64},
        # RTRL's n⁴ sensitivity update is a (n, n) @ (n, n²) GEMM per stage: below n ≈ 64 it
        # runs at < 50 % of the GEMM rate reached at n ≥ 96 (measured 15 GFLOP/s at n = 16,
        # 55 at 64, 95–107 at 96–160), which flattened the fit over n = 16–64 to 2.5.
        "rtrl_discrete": {"n": (64, 96, 128, 160), "T": (10, 20, 40), "n_T": 16},
        "rtrl": {"n": (32, 48, 64, 96), "T": (5, 10, 20), "n_T": 16},
        "adjoint": {"n": (128, 256, 512, 1024), "T": (5, 10, 20), "n_T": 64},
        "rflo": {"n": (128, 256, 512, 1024), "T": (10, 20, 40, 80), "n_T": 64},
        "eprop": {"n": (128, 256, 512, 1024), "T": (10, 20, 40), "n_T": 64},
        "snap1": {"n": (128, 256, 512, 1024), "T": (10, 20, 40), "n_T": 64},
        "uoro": {"n": (128, 256, 512, 1024), "T": (10, 20, 40), "n_T": 64},
        "kf_rtrl": {"n": (64, 128, 192, 256), "T": (5, 10, 20), "n_T": 32},
        "implicit": {"n": (128, 256, 512, 1024), "T": (0,), "n_T": 128},
        "implicit_gmres": {"n": (128, 256, 512, 1024), "T": (0,), "n_T": 128},
        "recurrent_backprop": {"n": (128, 256, 512, 1024), "T": (0,), "n_T": 128},
        "eqprop": {"n": (128, 256, 512, 1024), "T": (0,), "n_T": 128},
        "force": {"n": (128, 256, 512, 1024), "T": (20, 40), "n_T": 128},
        "full_force": {"n": (128, 256, 512, 1024), "T": (20, 40), "n_T": 128},
    },
    "quick": {
        "bptt_scan": {"n": (64, 128, 256), "T": (5, 10), "n_T": 64},
        "rtrl_discrete": {"n": (12, 24), "T": (5,), "n_T": 12},
        "adjoint": {"n": (64,), "T": (5, 10), "n_T": 64},
        "implicit": {"n": (32, 64), "T": (0,), "n_T": 32},
        "eqprop": {"n": (32, 64), "T": (0,), "n_T": 32},
    },
}

THEORY = {
    "bptt_scan": {"time_vs_n": 2.0, "memory_vs_T": 1.0},
    "rtrl_discrete": {"time_vs_n": 4.0, "memory_vs_n": 3.0, "memory_vs_T": 0.0},
    "adjoint": {"time_vs_n": 2.0, "memory_vs_T": 0.0},
    "bptt": {"time_vs_n": 2.0},
    "rtrl": {"time_vs_n": 4.0, "memory_vs_n": 3.0, "memory_vs_T": 0.0},
    "rflo": {"time_vs_n": 2.0, "memory_vs_T": 0.0},
    **{method: {"time_vs_n": 2.0, "memory_vs_n": 2.0, "memory_vs_T": 0.0}
       for method in ("eprop", "snap1", "uoro")},
    "kf_rtrl": {"time_vs_n": 3.0, "memory_vs_n": 2.0, "memory_vs_T": 0.0},
    **{method: {"time_vs_n": 2.0, "memory_vs_n": 2.0} for method in FIXED_POINT_METHODS},
    **{method: {"time_vs_n": 2.0, "memory_vs_n": 2.0, "memory_vs_T": 0.0}
       for method in ONLINE_METHODS},
}
"""Exponents theory predicts for the fitted slopes (see the module docstring)."""


def _problem(n: int, T: float, seed: int):
    params = Params.random(n, n_in=1, n_out=1, g=0.9, seed=seed).without_metadata()
    K = int(round(T / DT)) + 1
    times = np.linspace(0.0, T, K)
    h0 = np.asarray(jax.random.normal(rng.key(seed, "task_initial_state"), (n,), jnp.float64))
    task = TrajectoryTask.create(times, np.sin(times), 0.3 * np.cos(times), h0=h0)
    return params, task


def _fixed_point_problem(n: int, seed: int):
    params = Params.random(n, n_in=1, n_out=1, g=FIXED_POINT_G, symmetry=1.0,
                           seed=seed).without_metadata()
    h0 = np.asarray(jax.random.normal(rng.key(seed, "task_initial_state"), (n,), jnp.float64))
    return params, FixedPointTask.create([1.0], [0.3], h0=h0)


def _online_problem(n: int, T: float, seed: int):
    """A g = 1.5 (chaotic) network, no input, and a sum of three sines of period ONLINE_PERIOD
    as the target (benchmarks/bench_force.py's task, sampled every DT)."""
    params = Params.random(n, n_in=1, n_out=1, g=ONLINE_G, seed=seed).without_metadata()
    K = int(round(T / DT)) + 1
    times = np.linspace(0.0, T, K)
    omega = 2 * np.pi / ONLINE_PERIOD
    target = (0.8 * np.sin(omega * times) + 0.4 * np.sin(2 * omega * times + 1.0)
              + 0.2 * np.sin(3 * omega * times + 2.0))
    h0 = 0.5 * np.asarray(jax.random.normal(rng.key(seed, "task_initial_state"), (n,),
                                            jnp.float64))
    return params, TrajectoryTask.create(times, np.zeros_like(times), target, h0=h0)


def _rule(method: str) -> AbstractRule | AbstractOnlineRule:
    if method not in RULES:
        raise ParameterError(f"method={method!r}; allowed: {tuple(RULES)}")
    return RULES[method]


REFERENCE = rule("bptt_scan", dt=DT / 4)
"""Trajectory reference: BPTT-scan with the step divided by 4 (rk4 error /256)."""
ALIGNED = ("J", "theta", "B")
"""The groups of the alignment column (W_out's gradient is exact in every rule)."""


def _fixed_point_reference(method: str, params, task):
    """dL/dw = ∂ℓ/∂w + v ∂F/∂w with (∂F/∂h)ᵀ v = −∇ℓ(h*) solved by ``jnp.linalg.solve`` on the
    Jacobian formed by ``jax.jacfwd`` at the checked equilibrium — the implicit function theorem
    without optimistix's ImplicitAdjoint (which the ``implicit`` method uses); for a rule that
    returns the gradient within symmetric J (eqprop) the J part is projected on symmetric
    matrices."""
    h = fixed_point.fixed_point(params, task)
    grads = _implicit_function_gradient(params, task, h)
    if _rule(method).symmetric_J_only:
        grads = dict(grads, J=0.5 * (grads["J"] + grads["J"].T))
    return grads


@jax.jit
def _implicit_function_gradient(params, task, h):
    """The IFT gradient at the equilibrium h, one compiled function (run eagerly, its jacfwd,
    solve and grad compiled op by op: 3–5 s per shape of the quick grid, measured)."""
    jacobian = jax.jacfwd(lambda state: vector_field(state, params, task.x))(h)
    v = jnp.linalg.solve(jacobian.T, -jax.grad(task.loss_at)(h, params))
    return fixed_point.adjoint_gradient(params, task, h, v, TRAINABLE)


def _relative_error(grads, reference) -> float:
    difference = math.sqrt(sum(float(jnp.sum((grads[k] - reference[k]) ** 2)) for k in reference))
    norm = math.sqrt(sum(float(jnp.sum(reference[k] ** 2)) for k in reference))
    return difference / norm


def measure(method: str, n: int, T: float, repeats: int = 3, seed: int = 0,
            evaluate: bool = True) -> dict:
    """Time (s, median warm), peak working bytes, gradient error and alignment of one grid cell
    (``evaluate=False``: compile and report peak_bytes only). An online rule's cell is one run
    of ``T`` (learning over the first ONLINE_LEARN of it) measured by
    :func:`neurodyn.learning.force.measure`; it has no gradient (error and alignment NaN)."""
    gradient_rule = _rule(method)
    if method in ONLINE:
        return _measure_online(method, n, T, repeats, seed, evaluate)
    static = gradient_rule.kind == "fixed_point"
    params, task = _fixed_point_problem(n, seed) if static else _problem(n, T, seed)
    # the compiled gradient alone: timing without Python overhead, memory from XLA
    compiled = gradient_rule.compiled(params, task)
    analysis = compiled.memory_analysis()
    peak = int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
    if not evaluate:
        return {"peak_bytes": peak}
    result = jax.block_until_ready(compiled(params, task))
    # a second warm-up call: the first calls after compiling ran up to 2x slower (measured)
    jax.block_until_ready(compiled(params, task))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        jax.block_until_ready(compiled(params, task))
        times.append(time.perf_counter() - started)
    gradient_rule.check(result[2], result[1], task)  # convergence of every equilibrium
    if static:
        reference = _fixed_point_reference(method, params, task)
    else:
        reference = REFERENCE.value_and_grad(params, task)[1]
    error = _relative_error(result[1], reference)
    cosine = alignment({k: result[1][k] for k in ALIGNED}, {k: reference[k] for k in ALIGNED})
    return {"time_s": float(np.median(times)), "peak_bytes": peak, "grad_rel_err": error,
            "alignment": cosine}


def _measure_online(method, n, T, repeats, seed, evaluate) -> dict:
    online_rule = ONLINE[method]
    params, task = _online_problem(n, T, seed)
    if not evaluate:
        analysis = online_rule.compiled(params, task).memory_analysis()
        return {"peak_bytes": int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)}
    learn_until = DT * round(ONLINE_LEARN * T / DT)
    cost = measure_online(online_rule, params, task, rng.key(seed, "online_weights"),
                          learn_until, repeats)
    return {"time_s": cost["time_s"], "peak_bytes": cost["peak_bytes"],
            "grad_rel_err": math.nan, "alignment": math.nan}


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(y) & (y > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0])


def fit_exponents(ds: xr.Dataset) -> dict:
    """{rule: {fit: {"measured": slope, "theory": exponent}}} from a learn-bench Dataset (a run
    stored before the ``rule`` dimension was named so is read too, see :func:`upgrade`)."""
    ds = upgrade(ds)
    grid = ds.attrs["grid"]
    out = {}
    for method, theory in THEORY.items():
        if method not in grid:
            continue
        spec = grid[method]
        T0, n_T = float(min(spec["T"])), int(spec["n_T"])
        fits = {}
        for fit, exponent in theory.items():
            variable = "time_s" if fit.startswith("time") else "peak_bytes"
            if fit.endswith("_n"):
                values = ds[variable].sel({RULE: method, "T": T0}).sel(n=list(spec["n"]))
                slope = _slope(spec["n"], values.values)
            else:
                values = ds[variable].sel({RULE: method, "n": n_T}).sel(
                    T=[float(t) for t in spec["T"]])
                slope = _slope(spec["T"], values.values)
            fits[fit] = {"measured": slope, "theory": exponent,
                         "within_0.5": bool(abs(slope - exponent) <= 0.5)}
        out[method] = fits
    return out


def learn_bench(grid: str = "default", repeats: int = 3, seed: int = 0, verbose: bool = False,
                *, out=None, overwrite=None, figure=None) -> xr.Dataset:
    """Run the cost comparison; see the module docstring. Computes only: saving and drawing
    are the caller's (``neurodyn learn-bench`` does both).

    **Arguments:** ``grid`` ∈ {default, quick}; ``repeats`` warm calls per cell (median);
    ``seed`` of the networks; ``verbose``: one line per cell. The former ``out``,
    ``overwrite`` and ``figure`` raise :class:`ParameterError` saying what to call instead
    (``neurodyn.save_run(ds, out)``, ``neurodyn.plots.plot(ds, png)``), before any work.

    **Returns:** Dataset over (rule, n, T) with ``time_s`` (s per gradient), ``peak_bytes``
    and ``grad_rel_err`` (NaN where a cell is not on the grid); attrs ``kind`` (learn_bench),
    ``grid``, ``exponents`` (measured vs theory) and provenance.
    """
    removed = [name for name, value in (("out", out), ("overwrite", overwrite),
                                        ("figure", figure)) if value is not None]
    if removed:
        raise ParameterError(
            f"learn_bench({'=..., '.join(removed)}=...): learn_bench returns its Dataset and "
            "writes nothing (out, overwrite and figure were removed); save it with "
            "neurodyn.save_run(ds, out, overwrite=...), draw it with "
            "neurodyn.plots.plot(ds, 'learn_bench.png'), or run `neurodyn learn-bench`")
    grid = validation.choice("grid", grid, GRIDS)
    repeats = validation.positive_int("repeats", repeats)
    seed = validation.seed("seed", seed)
    spec = GRIDS[grid]
    methods = list(spec)
    ns = sorted({n for s in spec.values() for n in (*s["n"], s["n_T"])})
    Ts = sorted({float(T) for s in spec.values() for T in s["T"]})
    shape = (len(methods), len(ns), len(Ts))
    data = {name: np.full(shape, np.nan)
            for name in ("time_s", "peak_bytes", "grad_rel_err", "alignment")}
    started = time.perf_counter()
    for i, method in enumerate(methods):
        cells = {(n, float(min(spec[method]["T"]))) for n in spec[method]["n"]}
        cells |= {(spec[method]["n_T"], float(T)) for T in spec[method]["T"]}
        for n, T in sorted(cells):
            result = measure(method, n, T, repeats, seed)
            for name, value in result.items():
                data[name][i, ns.index(n), Ts.index(T)] = value
            if verbose:
                print(f"{method:>18} n={n:5d} T={T:5.0f}: {result['time_s']:.3e} s, "
                      f"{result['peak_bytes']:.3e} B, err {result['grad_rel_err']:.1e}, "
                      f"cos {result.get('alignment', math.nan):.3f}", flush=True)
    ds = xr.Dataset(
        {"time_s": ((RULE, "n", "T"), data["time_s"],
                    {"long_name": "warm wall time per gradient (median)", "units": "s"}),
         "peak_bytes": ((RULE, "n", "T"), data["peak_bytes"],
                        {"long_name": "XLA temp + output bytes of the compiled gradient",
                         "units": "bytes"}),
         "grad_rel_err": ((RULE, "n", "T"), data["grad_rel_err"],
                          {"long_name": "‖g − g_ref‖/‖g_ref‖; reference: BPTT-scan rk4 dt/4 "
                                         "(trajectory), dense implicit (fixed point)",
                           "units": "1"}),
         "alignment": ((RULE, "n", "T"), data["alignment"],
                       {"long_name": "cosine of the J, theta, B gradient with the reference's",
                        "units": "1"})},
        coords={RULE: (RULE, methods, {"long_name": "learning rule"}),
                "n": ("n", np.asarray(ns), {"long_name": "neurons", "units": "1"}),
                "T": ("T", np.asarray(Ts), {"long_name": "task horizon (0: fixed-point task)",
                                            "units": "tau"}),
                "task": (RULE, [_task_kind(m) for m in methods],
                         {"long_name": "task kind (online: a FORCE run, time per run)"})},
        attrs={"kind": "learn_bench", "grid_name": grid,
               "grid": {m: {"n": list(s["n"]), "T": [float(t) for t in s["T"]],
                            "n_T": int(s["n_T"])} for m, s in spec.items()},
               "repeats": repeats, "seed": seed, "g": 0.9, "dt": DT, "stepper": "rk4",
               "adjoint_tol": ADJOINT_TOL, "adaptive_tol": ADAPTIVE_TOL, "dtype": "float64",
               "online": {"g": ONLINE_G, "period": ONLINE_PERIOD, "learn_fraction": ONLINE_LEARN,
                          "dt": DT, "stepper": "rk4"},
               "fixed_point_g": FIXED_POINT_G, "eqprop_beta": EQPROP_BETA,
               "trainable": list(TRAINABLE), "devices": [str(d) for d in jax.devices()],
               "wall_time_s": time.perf_counter() - started, "provenance": provenance()})
    ds.attrs["exponents"] = fit_exponents(ds)
    return ds


def _task_kind(method: str) -> str:
    if method in ONLINE:
        return "online"
    return "fixed_point" if method in FIXED_POINT_METHODS else "trajectory"


def table(ds: xr.Dataset) -> str:
    """Fitted exponents vs theory as text."""
    lines = [f"{'rule':>18} {'fit':>12} {'measured':>9} {'theory':>7}"]
    for method, fits in ds.attrs["exponents"].items():
        for fit, row in fits.items():
            note = "  (fewer than two grid points)" if math.isnan(row["measured"]) else ""
            lines.append(f"{method:>18} {fit:>12} {row['measured']:9.2f} {row['theory']:7.1f}{note}")
    return "\n".join(lines)
