# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Autocorrelation: simulation against the dynamic mean-field theory
#
# The population autocorrelation of a saved run, C(τ) = ⟨h_i(t) h_i(t+τ)⟩, against the
# stationary DMFT Δ(τ) + M² (Sompolinsky, Crisanti & Sommers 1988; ``nd.dmft.stationary``).
# At finite N the simulation fluctuates around the theory by O(1/√N) and a finite window T
# biases slow lags; the theory is exact as N → ∞.
#
# The run is read from the environment variable ``NEURODYN_RUN`` (default ``runs/g2.zarr``).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodyn as nd
from neurodyn import dmft

path = os.environ.get("NEURODYN_RUN", "runs/g2.zarr")
ds = nd.open_run(path)
network = ds.attrs["network"]
max_lag = min(20.0, float(ds.attrs["t1"]) / 2)
simulated = nd.autocorrelation(ds, max_lag=max_lag)
print(f"N={network['N']}, g={network['g']}, phi={network['phi']}, T={ds.attrs['t1']}, "
      f"trials={ds.attrs['trials']}: C(0) = {float(simulated[0]):.4g}")

# %%
theory = None
if nd.nonlinearity.get(network["phi"]).bounded:  # the DMFT needs a bounded phi
    theory = dmft.stationary(
        model=nd.MeanFieldModel.from_description(network, noise=ds.attrs.get("noise", 0.0)),
        tau_max=10.0, dtau=0.1, critical_gain=False)

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(simulated["lag"], simulated, "o", ms=3, label=f"simulation, N={network['N']}")
if theory is not None:
    predicted = theory["delta"] + float(theory["mean"]) ** 2
    ax.plot(theory["tau"], predicted, label="DMFT Δ(τ) + M²")
    at_lags = np.interp(simulated["lag"].values, theory["tau"].values, predicted.values)
    error = np.abs(simulated.values - at_lags).max() / max(float(predicted[0]), 1e-12)
    print(f"DMFT Δ0 = {float(theory['delta0']):.4g}, λ_max = {float(theory['lambda_max']):.4g}; "
          f"largest deviation of the simulation: {error:.2%} of Δ0")
ax.set_xlabel("lag τ (membrane time constants)")
ax.set_ylabel("⟨h(t) h(t+τ)⟩")
ax.set_xlim(0, max_lag)
ax.legend()
fig.tight_layout()
