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
# # Browse a run
#
# Loads one saved simulation (``neurodyn simulate --out runs/x.zarr`` or ``nd.save_run``) and
# shows what is in it: its parameters and provenance, a heat map of h(t) for every neuron, the
# distribution of h against the Gaussian the dynamic mean-field theory predicts
# (h_i(t) ~ N(M, Δ0); Sompolinsky, Crisanti & Sommers 1988), and the power spectrum of h.
#
# The run is read from the environment variable ``NEURODYN_RUN`` (default ``runs/g2.zarr``).

# %%
import json
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodyn as nd
from neurodyn import dmft

path = os.environ.get("NEURODYN_RUN", "runs/g2.zarr")
ds = nd.open_run(path)  # lazy: nothing is read until it is used
print(nd.storage.show_run(path))

# %%
network = ds.attrs["network"]
print(json.dumps({key: ds.attrs[key] for key in ("t1", "dt_save", "transient", "trials", "noise",
                                                  "seed", "solver")}, indent=1))
print("network:", network)

# %% [markdown]
# ## h(t) of every neuron (first trial)

# %%
h = ds["h"].isel(trial=0)
fig, ax = plt.subplots(figsize=(8, 3.5))
limit = float(abs(h).max())
h.transpose("neuron", "time").plot.imshow(ax=ax, cmap="RdBu_r", vmin=-limit, vmax=limit)
ax.set_title(f"h(t), N={network['N']}, g={network['g']}, phi={network['phi']}")
fig.tight_layout()

# %% [markdown]
# ## Distribution of h and the Gaussian of the theory
#
# The stationary DMFT predicts that each h_i(t) is Gaussian with mean M and variance Δ0. It is
# solved here when ``neurodyn.dmft`` is available and φ is tanh or erf; otherwise the Gaussian
# with the sample mean and variance is drawn for comparison.

# %%
values = ds["h"].values.ravel()
theory = None
if nd.nonlinearity.get(network["phi"]).bounded:  # the DMFT needs a bounded phi
    theory = dmft.stationary(
        model=nd.MeanFieldModel.from_description(network, noise=ds.attrs.get("noise", 0.0)),
        tau_max=10.0, dtau=0.1, critical_gain=False)
if theory is not None:
    mean, variance, label = float(theory["mean"]), float(theory["delta0"]), "DMFT N(M, Δ0)"
else:
    mean, variance, label = float(values.mean()), float(values.var()), "Gaussian, sample moments"
print(f"sample mean {values.mean():.4g}, variance {values.var():.4g}; "
      f"{label}: mean {mean:.4g}, variance {variance:.4g}")

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.hist(values, bins=60, density=True, alpha=0.6, label="simulation")
if variance > 0:
    x = np.linspace(values.min(), values.max(), 300)
    ax.plot(x, np.exp(-(x - mean) ** 2 / (2 * variance)) / np.sqrt(2 * np.pi * variance),
            label=label)
ax.set_xlabel("h")
ax.set_ylabel("density")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## Power spectrum of h
#
# Periodogram of each neuron's h(t) (mean removed), averaged over neurons and trials. Chaotic
# SCS dynamics have a broad spectrum whose width is set by the decay of Δ(τ).

# %%
dt = float(ds.attrs["dt_save"])
x = ds["h"].transpose("trial", "time", "neuron").values
x = x - x.mean(axis=1, keepdims=True)
spectrum = (np.abs(np.fft.rfft(x, axis=1)) ** 2).mean(axis=(0, 2)) * dt / x.shape[1]
frequency = np.fft.rfftfreq(x.shape[1], d=dt)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.loglog(frequency[1:], spectrum[1:])
ax.set_xlabel("frequency (1/tau)")
ax.set_ylabel("power of h")
fig.tight_layout()
