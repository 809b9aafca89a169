"""Cost to criterion of the learning rules (``neurodyn learn-race``).

learn-bench measures what one gradient costs; this job measures what it costs to *learn a
task*. Every rule that can train a trajectory task (every trajectory rule of
:data:`neurodyn.learning.RULES` and every online rule of :data:`neurodyn.learning.ONLINE_RULES`;
the others are listed in ``attrs["skipped"]`` with the reason) trains the same networks (the
same :meth:`Params.random` initial weights per seed and size n) on the same tasks:

- ``sine``: :func:`neurodyn.learning.sine_generation` at g = 1.5 (chaotic when untrained), no
  input, the readout must produce 0.5 sin(2π t / 5);
- ``flip_flop``: :func:`neurodyn.learning.flip_flop`, 3 bits, g = 1.5: a task with memory.

The score is the normalised loss NMSE = L / L₀ with L₀ the loss of the zero output (the target's
power) on a held-out trial (the flip-flop: the same network and h0, pulses of another trial; the
sine task is deterministic, its held-out trial is the training trial). A rule reaches the
criterion when NMSE ≤ ``criterion``.

- Gradient rules: Adam (optax) on the task's loss, one gradient per trial, all four groups
  trained, until the held-out NMSE (checked after every update) reaches the criterion or the
  budget (``budget_trials`` trials or ``budget_s`` seconds of training) runs out. Cost: the warm
  wall time of the training loop (compilation excluded: one warm-up gradient first), the trials
  (gradients) used, XLA's peak working bytes of the compiled gradient (temp + output, as
  learn-bench).
- Online rules (FORCE, full-FORCE): one run that learns for m trials' worth of time and is tested
  on the trial that follows, learning off; m = 1, 2, 4, … until the test NMSE reaches the
  criterion or m exceeds the budget. Cost: the warm wall time of the final run
  (:func:`neurodyn.learning.force.measure`), trials m, its peak working bytes.

The learning rate (gradient rules) or the RLS regulariser α (online rules, whose learning rate
is ~1/α) is tuned per rule and task on the tuning problem (the first seed and the smallest n)
over a small grid; the choice minimises (criterion not reached, trials, final NMSE), and the
whole tuning table is stored.

Cost: the default grid (8 rules × 2 tasks × (3 tuning + 5) runs of ≤ 100 trials or 4 s each)
took 12.3 min on the shared 2-core machine with another job on one core (2026-12-01); the exact
continuous RTRL alone spends its 4 s budget on every run. The quick grid (two rules, n = 8) takes
~16 CPU s, mostly compilation.
"""

from __future__ import annotations

import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from . import validation
from .errors import NeurodynError, ParameterError
from .learning import (
    ONLINE_RULES,
    RULES,
    TRAINABLE,
    Params,
    TrajectoryTask,
    flip_flop,
    rule,
    sine_generation,
)
from .provenance import provenance

RULE = "rule"
"""The learning-rule dimension (``method`` is an xarray keyword, see learn_bench_names)."""

G = 1.5
DT = 0.1
"""Fixed step of the scan rules and the online rules, and the sample spacing (τ units)."""
ADAPTIVE_TOL = 1e-6
"""rtol = atol of the adaptive rules (bptt, adjoint, rtrl): training needs no more."""
LEARNING_RATES = (3e-3, 1e-2, 3e-2)
"""Adam learning rates tried per gradient rule."""
ALPHAS = (1.0, 10.0, 100.0)
"""RLS regularisers α (P₀ = I/α) tried per online rule."""

GRIDS = {
    "default": {"n": (16, 32), "seeds": (0, 1, 2), "duration": 10.0, "budget_trials": 100,
                "budget_s": 4.0, "criterion": 0.1, "rules": None},
    "quick": {"n": (8,), "seeds": (0,), "duration": 5.0, "budget_trials": 2, "budget_s": 2.0,
              "criterion": 0.5, "rules": ("bptt_scan", "force")},
}
"""Grids: sizes n, network seeds, task duration (τ), budget per run (trials and seconds), the
NMSE criterion and the rules (None: every rule that can train the tasks)."""

TASKS = ("sine", "flip_flop")
HELD_OUT_TRIAL = 1000
"""``trial`` of the flip-flop's held-out pulses (training uses trial 0)."""


@functools.lru_cache(maxsize=256)
def _problem(task: str, n: int, seed: int, duration: float, trial: int = 0):
    """(Params, TrajectoryTask) of one trial (cached: immutable Modules, rebuilt per call
    otherwise for every tuning candidate)."""
    if task == "sine":
        return sine_generation(n=n, g=G, duration=duration, period=5.0, dt_sample=DT, seed=seed)
    return flip_flop(n=n, bits=3, g=G, duration=duration, pulse_rate=0.1, dt_sample=DT,
                     seed=seed, trial=trial)


def _power(task: TrajectoryTask) -> float:
    """L₀: the loss of the zero output, Σ q_k α_k ½ ‖y_k‖²."""
    return float(jnp.sum(task.quadrature * 0.5 * jnp.sum(task.targets**2, axis=-1)))


def _gradient_rule(name: str):
    """The registry rule ``name`` with the race's settings (fixed step DT, or tolerance)."""
    cls = RULES[name]
    fields = getattr(cls, "__dataclass_fields__", {})
    options = {}
    if "dt" in fields:
        options["dt"] = DT
    if "rtol" in fields:
        options.update(rtol=ADAPTIVE_TOL, atol=ADAPTIVE_TOL)
    return rule(name, **options)


def candidates(names=None) -> tuple[dict, dict]:
    """({rule: kind ("gradient" or "online")}, {rule: reason skipped}) for the rules ``names``
    (None: every registered rule)."""
    racing, skipped = {}, {}
    everything = list(RULES) + list(ONLINE_RULES)
    for name in everything if names is None else names:
        if name in ONLINE_RULES:
            racing[name] = "online"
        elif name not in RULES:
            raise ParameterError(f"rule={name!r}; allowed: {tuple(everything)}")
        elif RULES[name].kind != "trajectory":
            skipped[name] = (f"a {RULES[name].kind.replace('_', '-')} rule: it takes a "
                             "FixedPointTask; the race's tasks are trajectory tasks")
        elif getattr(RULES[name], "symmetric_J_only", False):
            skipped[name] = "needs a symmetric J; the race's networks are not symmetric"
        else:
            racing[name] = "gradient"
    return racing, skipped


_COMPILED: dict = {}
"""(rule, task, n, samples) → (compiled gradient, peak bytes): one compilation per shape in a
process (the tuning candidates, the seeds and the trials share it)."""


def _compiled_gradient(name: str, task_name: str, params: Params, task: TrajectoryTask):
    key = (name, task_name, params.n, int(task.times.shape[0]))
    if key not in _COMPILED:
        compiled = _gradient_rule(name).compiled(params, task)
        analysis = compiled.memory_analysis()
        peak = (int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
                if analysis is not None else math.nan)
        _COMPILED[key] = compiled, peak
    return _COMPILED[key]


_ADAM = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
"""Adam with the learning rate in its state, so one compiled update serves every rate tried."""


@jax.jit
def _update(groups, grads, state):
    updates, state = _ADAM.update(grads, state, groups)
    return optax.apply_updates(groups, updates), state


def train_gradient(name: str, task_name: str, n: int, seed: int, duration: float,
                   learning_rate: float, criterion: float, budget_trials: int,
                   budget_s: float) -> dict:
    """Adam with the gradients of rule ``name`` until the held-out NMSE ≤ ``criterion`` or the
    budget runs out; returns {time_s, peak_bytes, trials, final_loss (NMSE), reached}.

    Trial i trains on a fresh trial of the task (the flip-flop: pulses of trial i; the sine task
    has one), all of the same shape, from the same network."""
    gradient_rule = _gradient_rule(name)
    params, task = _problem(task_name, n, seed, duration)
    params = params.without_metadata()
    held_out = (task if task_name == "sine" else
                _problem(task_name, n, seed, duration, HELD_OUT_TRIAL)[1])
    compiled, peak = _compiled_gradient(name, task_name, params, task)
    power = _power(held_out)
    groups = {group: params.get(group) for group in TRAINABLE}
    state = _ADAM.init(groups)
    state.hyperparams["learning_rate"] = jnp.asarray(learning_rate, params.net.dtype)
    jax.block_until_ready(_update(groups, compiled(params, task)[1], state))  # warm-up
    trials, elapsed = 0, 0.0
    nmse = float(compiled(params, held_out)[0]) / power
    while nmse > criterion and trials < budget_trials and elapsed < budget_s:
        trial = (task if task_name == "sine" else
                 _problem(task_name, n, seed, duration, trials)[1])
        started = time.perf_counter()
        loss, grads, diagnostics = compiled(params.replace(**groups), trial)
        groups, state = _update(groups, grads, state)
        jax.block_until_ready(groups)
        elapsed += time.perf_counter() - started
        gradient_rule.check(diagnostics, grads, trial)
        trials += 1
        nmse = float(compiled(params.replace(**groups), held_out)[0]) / power
        if not math.isfinite(nmse):
            raise NeurodynError(f"{name}: the loss became non-finite after {trials} trials "
                                f"(learning_rate={learning_rate:g})")
    return {"time_s": elapsed, "peak_bytes": peak, "trials": trials, "final_loss": nmse,
            "reached": nmse <= criterion}


_ONLINE_PEAK: dict = {}
"""(rule, task, n, samples) → peak bytes of the compiled online run."""


def train_online(name: str, task_name: str, n: int, seed: int, duration: float, alpha: float,
                 criterion: float, budget_trials: int) -> dict:
    """Online rule ``name`` learning for m = 1, 2, 4 … trials, tested on the next; see the
    module docstring. Returns the same keys as :func:`train_gradient`.

    The run is :meth:`AbstractOnlineRule.train` (one jit over every α: α is a traced field), called
    twice per m, the second call timed (the first compiles a new shape)."""
    online_rule = ONLINE_RULES[name](alpha=alpha, dt=DT)
    m = 1
    while True:
        params, task = _problem(task_name, n, seed, (m + 1) * duration)
        key = jax.random.key(seed)
        online_rule.train(params, task, key, learn_until=m * duration)  # warm-up / compile
        result = online_rule.train(params, task, key, learn_until=m * duration)
        nmse = float(result.test_error)
        if not math.isfinite(nmse):
            nmse = math.inf
        if nmse <= criterion or 2 * m > budget_trials:
            break
        m *= 2
    shape = (name, task_name, n, int(task.times.shape[0]))
    if shape not in _ONLINE_PEAK:
        analysis = online_rule.compiled(params, task).memory_analysis()
        _ONLINE_PEAK[shape] = (int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
                               if analysis is not None else math.nan)
    return {"time_s": result.wall_time_s, "peak_bytes": _ONLINE_PEAK[shape], "trials": m,
            "final_loss": nmse, "reached": nmse <= criterion}


def _run(name: str, kind: str, task_name: str, n: int, seed: int, value: float,
         spec: dict) -> dict:
    """One training run; a run that diverges counts as not reaching the criterion."""
    try:
        if kind == "online":
            return train_online(name, task_name, n, seed, spec["duration"], value,
                                spec["criterion"], spec["budget_trials"])
        return train_gradient(name, task_name, n, seed, spec["duration"], value,
                              spec["criterion"], spec["budget_trials"], spec["budget_s"])
    except NeurodynError as error:  # divergence, non-convergence: a failed run, recorded
        return {"time_s": math.nan, "peak_bytes": math.nan, "trials": spec["budget_trials"],
                "final_loss": math.inf, "reached": False, "error": str(error).splitlines()[0]}


def _score(result: dict) -> tuple:
    return (not result["reached"], result["trials"], result["final_loss"])


def learn_race(grid: str = "default", verbose: bool = False) -> xr.Dataset:
    """Run the race; see the module docstring. Computes only (``neurodyn learn-race`` saves the
    run and draws the figure).

    **Arguments:** ``grid`` ∈ {default, quick} (:data:`GRIDS`); ``verbose``: a line per run.

    **Returns:** Dataset over (rule, task, n, seed) with ``time_s``, ``peak_bytes``, ``trials``,
    ``final_loss`` (held-out NMSE) and ``reached``; the tuning over (rule, task, candidate) in
    ``tuning_value`` (the learning rate or α tried), ``tuning_trials``, ``tuning_loss``,
    ``tuning_time_s``, and the choice ``tuned_value`` (rule, task); coordinate ``kind`` (rule:
    gradient or online) and ``hyperparameter`` (its name); attrs with the grid, the skipped rules
    and their reasons, failed runs, wall time and provenance.
    """
    grid = validation.choice("grid", grid, GRIDS)
    spec = GRIDS[grid]
    racing, skipped = candidates(spec["rules"])
    names = list(racing)
    ns, seeds = list(spec["n"]), list(spec["seeds"])
    n_candidates = max(len(LEARNING_RATES), len(ALPHAS))
    shape = (len(names), len(TASKS), len(ns), len(seeds))
    out = {key: np.full(shape, np.nan) for key in ("time_s", "peak_bytes", "trials",
                                                   "final_loss")}
    reached = np.zeros(shape, bool)
    tune_shape = (len(names), len(TASKS), n_candidates)
    tuning = {key: np.full(tune_shape, np.nan) for key in ("value", "trials", "loss", "time_s")}
    tuned = np.full((len(names), len(TASKS)), np.nan)
    failures = []
    started = time.perf_counter()
    for i, name in enumerate(names):
        kind = racing[name]
        values = ALPHAS if kind == "online" else LEARNING_RATES
        for j, task_name in enumerate(TASKS):
            results = []
            for c, value in enumerate(values):
                result = _run(name, kind, task_name, ns[0], seeds[0], value, spec)
                results.append(result)
                tuning["value"][i, j, c] = value
                tuning["trials"][i, j, c] = result["trials"]
                tuning["loss"][i, j, c] = result["final_loss"]
                tuning["time_s"][i, j, c] = result["time_s"]
                if "error" in result:
                    failures.append({"rule": name, "task": task_name, "n": ns[0],
                                     "seed": seeds[0], "value": value, "error": result["error"]})
                if verbose:
                    print(f"tune {name:>14} {task_name:>9} {value:8.3g}: {result['trials']:4d} "
                          f"trials, NMSE {result['final_loss']:.3g}", flush=True)
            best = min(range(len(values)), key=lambda c: _score(results[c]))
            tuned[i, j] = values[best]
            for a, n in enumerate(ns):
                for b, seed in enumerate(seeds):
                    result = (results[best] if (a, b) == (0, 0) else
                              _run(name, kind, task_name, n, seed, values[best], spec))
                    for key in out:
                        out[key][i, j, a, b] = result[key]
                    reached[i, j, a, b] = result["reached"]
                    if "error" in result and (a, b) != (0, 0):
                        failures.append({"rule": name, "task": task_name, "n": n, "seed": seed,
                                         "value": values[best], "error": result["error"]})
                    if verbose:
                        print(f"{name:>14} {task_name:>9} n={n:4d} seed={seed}: "
                              f"{result['time_s']:.3g} s, {result['trials']} trials, NMSE "
                              f"{result['final_loss']:.3g}", flush=True)
    dims = (RULE, "task", "n", "seed")
    tune_dims = (RULE, "task", "candidate")
    ds = xr.Dataset(
        {"time_s": (dims, out["time_s"], {"long_name": "warm wall time of training (gradient "
                                                       "rules: the loop; online: the final run)",
                                          "units": "s"}),
         "peak_bytes": (dims, out["peak_bytes"],
                        {"long_name": "XLA temp + output bytes of one compiled gradient / run",
                         "units": "bytes"}),
         "trials": (dims, out["trials"], {"long_name": "trials used (gradients; online: "
                                                       "trials of learning time)", "units": "1"}),
         "final_loss": (dims, out["final_loss"],
                        {"long_name": "held-out NMSE after training (L / L of zero output)",
                         "units": "1"}),
         "reached": (dims, reached, {"long_name": "final_loss <= criterion"}),
         "tuning_value": (tune_dims, tuning["value"],
                          {"long_name": "learning rate (gradient rules) or RLS alpha (online) "
                                        "tried on the tuning problem"}),
         "tuning_trials": (tune_dims, tuning["trials"], {"long_name": "trials used"}),
         "tuning_loss": (tune_dims, tuning["loss"], {"long_name": "final held-out NMSE"}),
         "tuning_time_s": (tune_dims, tuning["time_s"], {"long_name": "training time",
                                                         "units": "s"}),
         "tuned_value": ((RULE, "task"), tuned, {"long_name": "the hyperparameter chosen"})},
        coords={RULE: (RULE, names, {"long_name": "learning rule"}),
                "task": ("task", list(TASKS), {"long_name": "task"}),
                "n": ("n", np.asarray(ns), {"long_name": "neurons", "units": "1"}),
                "seed": ("seed", np.asarray(seeds), {"long_name": "network seed"}),
                "candidate": ("candidate", np.arange(n_candidates),
                              {"long_name": "index of the tuning grid"}),
                "kind": (RULE, [racing[m] for m in names], {"long_name": "gradient or online"}),
                "hyperparameter": (RULE, ["alpha" if racing[m] == "online" else
                                          "learning_rate" for m in names],
                                   {"long_name": "the tuned hyperparameter"})},
        attrs={"kind": "learn_race", "grid_name": grid,
               "grid": {key: (list(value) if isinstance(value, tuple) else value)
                        for key, value in spec.items() if key != "rules"},
               "criterion": spec["criterion"], "g": G, "dt": DT, "adaptive_tol": ADAPTIVE_TOL,
               "learning_rates": list(LEARNING_RATES), "alphas": list(ALPHAS),
               "optimizer": "adam", "trainable": list(TRAINABLE),
               "held_out_trial": HELD_OUT_TRIAL, "skipped": skipped, "failures": failures,
               "devices": [str(d) for d in jax.devices()],
               "wall_time_s": time.perf_counter() - started, "provenance": provenance()})
    return ds


def summary(ds: xr.Dataset) -> list[dict]:
    """Per (rule, task): median time, median peak bytes, median trials, median final NMSE over
    sizes and seeds, the fraction that reached the criterion and the number of seeds."""
    rows = []
    for name in map(str, ds[RULE].values):
        for task in map(str, ds.task.values):
            cell = ds.sel({RULE: name, "task": task})
            rows.append({
                "rule": name, "task": task,
                "time_s": float(np.nanmedian(cell.time_s.values)),
                "peak_bytes": float(np.nanmedian(cell.peak_bytes.values)),
                "trials": float(np.nanmedian(cell.trials.values)),
                "final_loss": float(np.nanmedian(cell.final_loss.values)),
                "reached": float(cell.reached.values.mean()),
                "seeds": int(ds.sizes["seed"]), "n": [int(n) for n in ds.n.values],
                "tuned": float(ds.tuned_value.sel({RULE: name, "task": task})),
                "hyperparameter": str(ds.hyperparameter.sel({RULE: name}).values)})
    return rows


def table(ds: xr.Dataset) -> str:
    """The summary as text."""
    lines = [f"{'rule':>14} {'task':>9} {'tuned':>12} {'time (s)':>9} {'memory':>10} "
             f"{'trials':>6} {'NMSE':>8} {'reached':>7}"]
    for row in summary(ds):
        lines.append(f"{row['rule']:>14} {row['task']:>9} "
                     f"{row['hyperparameter'][0]}={row['tuned']:<10.3g} {row['time_s']:9.3g} "
                     f"{row['peak_bytes'] / 1e6:8.3g}MB {row['trials']:6.0f} "
                     f"{row['final_loss']:8.2g} {row['reached']:7.0%}")
    for name, reason in ds.attrs.get("skipped", {}).items():
        lines.append(f"skipped {name}: {reason}")
    return "\n".join(lines)
