# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Learning-rule costs: BPTT, RTRL, continuous adjoint, RFLO and fixed-point backprop
#
# Reads a `neurodyn learn-bench` run (path in the environment variable `NEURODYN_RUN`,
# default `runs/learn_bench.zarr`) and compares the measured scaling with theory:
# BPTT time ∝ n² per step and memory ∝ T; RTRL time ∝ n⁴ per step (m = n² parameters) and
# memory ∝ n³; the continuous adjoint's memory is flat in T; the fixed-point methods (implicit
# linear solve, Almeida–Pineda, equilibrium propagation; stored at T = 0, no horizon) cost n² per
# relaxation step and hold the n × n Jacobian.

# %%
import os

import numpy as np

import neurodyn as nd
from neurodyn.learn_bench import THEORY, fit_exponents, upgrade

path = os.environ.get("NEURODYN_RUN", "runs/learn_bench.zarr")
ds = upgrade(nd.open_run(path).load())  # runs stored before the `rule` dimension too
print(ds)

# %% [markdown]
# ## Fitted exponents vs theory
# Least-squares slopes of log cost against log n (at the smallest T of each method) or log T
# (at a fixed n). A deviation larger than 0.5 is flagged.

# %%
exponents = fit_exponents(ds)
for method, fits in exponents.items():
    for fit, row in fits.items():
        if np.isnan(row["measured"]):
            flag = "   (fewer than two grid points: not fitted)"
        else:
            flag = "" if row["within_0.5"] else "   <-- deviates by more than 0.5"
        print(f"{method:>14} {fit:>12}: measured {row['measured']:5.2f}, theory "
              f"{row['theory']:3.1f}{flag}")

# %% [markdown]
# ## Gradient accuracy
# Relative error of each method's gradient against the float64 reference (BPTT-scan, rk4 at a
# quarter of the step). The fixed-step methods carry the rk4 discretisation error (~1e-6); the
# continuous adjoint's error grows with T because it re-integrates h backwards (see README).

# %%
errors = ds.grad_rel_err.max("n", skipna=True)
print(errors.to_pandas())

# %% [markdown]
# ## Time per step and memory per method
# Trajectory methods: time per integration step and memory vs T. Fixed-point methods (T = 0):
# time per gradient and memory vs n.

# %%
grid = ds.attrs["grid"]
for method in ds.rule.values:
    spec = grid[str(method)]
    t = ds.time_s.sel(rule=method, T=min(spec["T"])).sel(n=spec["n"])
    if min(spec["T"]) > 0:
        steps = min(spec["T"]) / ds.attrs["dt"]
        print(method, "time per step (s):", np.round(t.values / steps, 8))
        m = ds.peak_bytes.sel(rule=method, n=spec["n_T"]).sel(T=spec["T"])
        print(method, f"memory vs T at n={spec['n_T']} (bytes):", m.values)
    else:
        print(method, "time per gradient (s):", np.round(t.values, 6))
        m = ds.peak_bytes.sel(rule=method, T=0.0).sel(n=spec["n"])
        print(method, f"memory vs n={spec['n']} (bytes):", m.values)

# %%
assert set(exponents) <= set(THEORY)
