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
# # The chaos transition from a sweep over g
#
# Reads a sweep store (``neurodyn sweep CONFIG.toml`` with ``g`` in ``[grid]`` and
# ``"summary"`` and/or ``"lyapunov"`` in ``[compute]``) and draws the variance of h and the
# largest Lyapunov exponent against the gain g, averaged over any other sweep dimension (seeds,
# …). For φ = tanh without bias the network is quiescent (Δ0 = 0, λ_max = −1) below g = 1 and
# chaotic above (Sompolinsky, Crisanti & Sommers 1988); the DMFT curves are drawn when
# ``neurodyn.dmft`` is available.
#
# A store written by ``neurodyn chaos`` (a sweep over (g, N, seed) with the DMFT per g) is
# read the same way and drawn with its statistics: the seed mean ± standard error against the
# theory, with the z-scores per g (``neurodyn.chaos_stats.summarize``).
#
# The sweep is read from the environment variable ``NEURODYN_RUN`` (default
# ``runs/chaos.zarr``).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import neurodyn as nd
from neurodyn import dmft
from neurodyn.chaos_stats import summarize

path = os.environ.get("NEURODYN_RUN", "runs/chaos.zarr")
ds = nd.open_sweep(path, only_done=True)  # points not (yet) done are NaN
print(nd.storage.show_run(path))
if "g" not in ds.coords:
    raise ValueError(f"{path} has no g coordinate: sweep over g to draw the transition")
others = [dim for dim in ds["point_status"].dims if dim != "g"]
chaos_job = ds.attrs.get("job") == "chaos"

# %% [markdown]
# ## A chaos-job store: means ± standard errors and z-scores against the DMFT

# %%
if chaos_job:
    summary = summarize(nd.open_run(path))
    sizes = list(summary.N.values) if "N" in summary.dims else [summary.attrs["N"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, name, label in zip(axes, ("delta0", "lambda"), ("Δ0 (h²)", "λ_max (1/τ)"),
                               strict=True):
        ax.plot(summary.g, summary[f"{name}_theory"], label="DMFT")
        for size in sizes:
            part = summary.sel(N=size) if "N" in summary.dims else summary
            ax.errorbar(summary.g, part[f"{name}_mean"], yerr=part[f"{name}_sem"], fmt="o",
                        capsize=3, label=f"N={size}, mean ± sem")
        ax.set(xlabel="gain g", ylabel=label)
        ax.legend()
    fig.tight_layout()
    for size in sizes:
        part = summary.sel(N=size) if "N" in summary.dims else summary
        print(f"N={size} z-scores", {
            float(g): {name: round(float(part[f"{name}_z"].sel(g=g)), 2)
                       for name in ("delta0", "lambda")} for g in summary.g.values})

# %%
network = ds.attrs["sweep"]["config"].get("network", {})
phi = network.get("phi", "tanh")
gains = np.asarray(ds["g"].values, dtype=float)
theory = {}
if nd.nonlinearity.get(phi).bounded:  # the DMFT needs a bounded phi
    fine = np.linspace(max(gains.min(), 0.05), gains.max(), 6)
    solutions = [dmft.stationary(g=float(g), phi=phi, tau_max=10.0, dtau=0.1,
                                 critical_gain=False) for g in fine]
    theory = {"g": fine, "delta0": [float(s["delta0"]) for s in solutions],
              "lambda_max": [float(s["lambda_max"]) for s in solutions]}

# %% [markdown]
# ## A plain sweep: variance and largest exponent against g

# %%
panels = [name for name in ("variance", "lyapunov") if name in ds]
fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
for ax, name in zip(axes[0], panels, strict=True):
    values = ds[name] if name != "lyapunov" else ds[name].isel(exponent=0)
    mean = values.mean(others) if others else values
    spread = values.std(others) if others else 0 * values
    ax.errorbar(gains, mean.values, yerr=spread.values, fmt="o", capsize=3,
                label=f"simulation, N={network.get('N', '?')}")
    if theory:
        key = "delta0" if name == "variance" else "lambda_max"
        ax.plot(theory["g"], theory[key], label="DMFT")
    ax.axvline(1.0, color="grey", lw=0.5)
    ax.set_xlabel("gain g")
    ax.set_ylabel("variance of h" if name == "variance" else "λ_max (1/τ)")
    ax.legend()
fig.tight_layout()
for name in panels:
    values = ds[name] if name != "lyapunov" else ds[name].isel(exponent=0)
    table = (values.mean(others) if others else values).values
    print(name, dict(zip(gains.round(3).tolist(), np.round(table, 4).tolist(), strict=True)))
