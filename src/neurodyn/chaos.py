"""The order-to-chaos job: simulation and stationary DMFT side by side as the gain g grows.

For each g on a grid and each seed: build ``Network.random(N, g, phi, seed)``, simulate it
(discarding a transient), measure the raw autocorrelation Δ(τ) = ⟨h_i(t) h_i(t+τ)⟩ (no mean
subtraction: the theory's mean is 0 here), its variance Δ0, the autocorrelation time and the
largest Lyapunov exponent (QR method); and solve the DMFT (:func:`neurodyn.dmft.stationary`)
for the same g. Returns one Dataset with the public contract names (dims ``g``, ``seed``,
``tau``; ``delta0_sim``, ``delta0_theory``, ``lambda_sim``, ``lambda_theory``, ``tau_corr_sim``,
``tau_corr_theory``, ``delta_sim(g, seed, tau)``, ``delta_theory(g, tau)``); :func:`table`
prints its numbers and :func:`neurodyn.plots.chaos_figure` draws its 4-panel figure. The job
writes nothing: the caller saves the Dataset (:func:`neurodyn.save_run`) and draws the figure
(:func:`neurodyn.plots.plot`), as ``neurodyn chaos`` does.

Autocorrelation time, both for theory and simulation: ``∫₀^{max_lag} Δ(τ) dτ / Δ0`` over the
same window (so the two are comparable; NaN where Δ0 < 1e−8, the quiescent phase). Near
g_c = 1 the theory's correlation time grows like 1/(g − 1) until the window truncates it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from . import model_parameters, nonlinearity, validation
from .analysis import autocorrelation, lyapunov
from .dmft.stationary import stationary
from .errors import ParameterError
from .mean_field import MeanFieldModel
from .network import Network
from .provenance import provenance
from .simulate import simulate

QUIESCENT = 1e-8  # Δ0 below this (h² units) counts as the quiescent fixed point


def _tau_corr(delta: np.ndarray, dtau: float) -> float:
    if delta[0] < QUIESCENT:
        return float("nan")
    return float(np.trapezoid(delta, dx=dtau) / delta[0])


def chaos(
    g: Sequence[float] | None = None,
    g_min: float = 0.5,
    g_max: float = 3.0,
    g_num: int = 6,
    seeds: Sequence[int] = (0, 1),
    N: int = 500,
    t1: float = 100.0,
    transient: float = 50.0,
    phi: str | nonlinearity.Nonlinearity = "tanh",
    dt_save: float = 0.1,
    max_lag: float = 15.0,
    lyapunov_t1: float | None = None,
    verbose: bool = False,
) -> xr.Dataset:
    """Run the chaos-transition job; see the module docstring.

    **Arguments:**
    - ``g``: explicit gains, or ``g_num`` values evenly spaced on [``g_min``, ``g_max``].
    - ``seeds``: network/initial-condition seeds; ``N`` neurons.
    - ``t1``, ``transient``, ``dt_save``: simulation window, discarded transient and save step
      (τ units). ``max_lag``: largest lag of Δ(τ). ``lyapunov_t1``: length of the Lyapunov
      average (default ``t1``; its own transient is ``transient``).
    - ``verbose``: print progress lines.

    **Returns:** the Dataset (dims g, seed, tau) with attrs holding every parameter.
    """
    if g is None:
        g_min = model_parameters.g("g_min", g_min)
        g_max = model_parameters.g("g_max", g_max)
        g_num = validation.positive_int("g_num", g_num)
        if g_max < g_min:
            raise ParameterError(f"g_max={g_max!r} must be >= g_min={g_min!r}")
        gains = np.linspace(g_min, g_max, g_num)
    else:
        gains = np.asarray([model_parameters.g("g", value) for value in g], dtype=float)
        if gains.size == 0:
            raise ParameterError("g=[] is empty; give at least one gain")
    nl = model_parameters.theory_phi("phi", nonlinearity.get(phi))
    seed_list = [validation.seed("seeds", s) for s in seeds]
    if not seed_list:
        raise ParameterError("seeds=[] is empty; give at least one seed")
    N = validation.positive_int("N", N)
    t1 = validation.positive("t1", t1)
    transient = validation.non_negative("transient", transient)
    dt_save = validation.positive("dt_save", dt_save)
    max_lag = validation.positive("max_lag", max_lag)
    if max_lag > t1 / 2:
        raise ParameterError(f"max_lag={max_lag!r} must be <= t1/2 = {t1 / 2!r}")
    lyapunov_t1 = t1 if lyapunov_t1 is None else validation.positive("lyapunov_t1", lyapunov_t1)

    n_lag = int(round(max_lag / dt_save)) + 1
    tau = np.round(np.arange(n_lag) * dt_save, 12)
    shape = (gains.size, len(seed_list))
    delta_sim = np.full(shape + (n_lag,), np.nan)
    lambda_sim = np.full(shape, np.nan)
    delta_theory = np.full((gains.size, n_lag), np.nan)
    lambda_theory = np.full(gains.size, np.nan)
    tau_corr_theory = np.full(gains.size, np.nan)
    tau_corr_sim = np.full(shape, np.nan)
    for a, gain in enumerate(gains):
        # the networks of every seed share this model (N and the seed drop out of the theory)
        model = MeanFieldModel(g=float(gain), phi=nl)
        theory = stationary(model=model, tau_max=max(max_lag, 40.0), dtau=dt_save / 5,
                            critical_gain=False)
        delta_theory[a] = theory.delta.interp(tau=tau).values
        lambda_theory[a] = float(theory.lambda_max)
        tau_corr_theory[a] = _tau_corr(delta_theory[a], dt_save)
        for b, seed in enumerate(seed_list):
            net = Network.random(N=N, g=float(gain), phi=phi, seed=seed)
            # The same seed for the network, its simulation and its tangents: neurodyn.rng
            # derives each from its own purpose, so h(0) is independent of J.
            run = simulate(net, t1=t1, dt_save=dt_save, transient=transient, seed=seed)
            delta_sim[a, b] = autocorrelation(run, max_lag=max_lag).values[:n_lag]
            tau_corr_sim[a, b] = _tau_corr(delta_sim[a, b], dt_save)
            lambda_sim[a, b] = float(lyapunov(net, t1=lyapunov_t1, seed=seed,
                                              transient=transient)[0])
            if verbose:
                print(f"g={gain:.3g} seed={seed}: delta0 sim {delta_sim[a, b, 0]:.4g} theory "
                      f"{delta_theory[a, 0]:.4g}, lambda sim {lambda_sim[a, b]:.4g} theory "
                      f"{lambda_theory[a]:.4g}", flush=True)

    time_attrs = {"units": "tau (membrane time constant)"}
    ds = xr.Dataset(
        {
            "delta0_sim": (("g", "seed"), delta_sim[..., 0],
                           {"long_name": "simulated variance <h^2>", "units": "h^2"}),
            "delta0_theory": ("g", delta_theory[:, 0],
                              {"long_name": "DMFT variance Delta0", "units": "h^2"}),
            "lambda_sim": (("g", "seed"), lambda_sim,
                           {"long_name": "largest Lyapunov exponent (QR)", "units": "1/tau"}),
            "lambda_theory": ("g", lambda_theory,
                              {"long_name": "DMFT lambda_max = -1 + sqrt(1 - E0)",
                               "units": "1/tau"}),
            "tau_corr_sim": (("g", "seed"), tau_corr_sim,
                             {"long_name": "int_0^max_lag Delta/Delta0 (simulation)",
                              "units": "tau"}),
            "tau_corr_theory": ("g", tau_corr_theory,
                                {"long_name": "int_0^max_lag Delta/Delta0 (DMFT)",
                                 "units": "tau"}),
            "delta_sim": (("g", "seed", "tau"), delta_sim,
                          {"long_name": "simulated autocorrelation <h_i(t) h_i(t+tau)>",
                           "units": "h^2"}),
            "delta_theory": (("g", "tau"), delta_theory,
                             {"long_name": "DMFT autocorrelation Delta(tau)", "units": "h^2"}),
        },
        coords={"g": ("g", gains, {"long_name": "gain inside phi"}),
                "seed": ("seed", np.asarray(seed_list, dtype=np.int64)),
                "tau": ("tau", tau, time_attrs)},
        attrs={
            "kind": "chaos", "phi": nl.name, "N": N, "t1": t1, "transient": transient,
            "dt_save": dt_save, "max_lag": max_lag, "lyapunov_t1": lyapunov_t1,
            "g_values": [float(x) for x in gains], "seeds": seed_list,
            "tau_corr_definition": "integral of Delta(tau)/Delta0 over [0, max_lag]",
            "provenance": provenance(),
        },
    )
    return ds


def table(ds: xr.Dataset) -> str:
    """The plotted numbers as a text table (seed means for the simulation)."""
    lines = [f"{'g':>6} {'delta0_sim':>11} {'delta0_th':>10} {'lambda_sim':>11} "
             f"{'lambda_th':>10} {'tcorr_sim':>10} {'tcorr_th':>9} {'relL2[0,10]':>11}"]
    window = ds.tau <= 10.0
    for gain in ds.g.values:
        p = ds.sel(g=gain)
        sim = p.delta_sim.mean("seed").where(window, drop=True).values
        th = p.delta_theory.where(window, drop=True).values
        norm = math.sqrt(float(np.sum(th**2)))
        rel = math.sqrt(float(np.sum((sim - th) ** 2))) / norm if norm > 0 else float("nan")
        lines.append(
            f"{gain:6.3f} {float(p.delta0_sim.mean()):11.4g} {float(p.delta0_theory):10.4g} "
            f"{float(p.lambda_sim.mean()):11.4g} {float(p.lambda_theory):10.4g} "
            f"{float(p.tau_corr_sim.mean()):10.4g} {float(p.tau_corr_theory):9.4g} {rel:11.3g}")
    return "\n".join(lines)
