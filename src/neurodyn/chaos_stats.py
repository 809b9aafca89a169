"""Ensemble statistics of the chaos job: means and standard errors over network seeds,
z-scores against the DMFT, the 1/N extrapolation, and the contract Dataset built from the raw
per-point results.

Estimators (over the ``seed`` dim, each seed a different network J, initial condition and
noise realisation, so the seeds are independent samples of the quenched ensemble):

- mean: the sample mean over the finite seeds;
- standard error: ``sem = std(ddof=1) / sqrt(n)`` with ``n`` the number of finite seeds (NaN
  for n < 2: one network measures no spread);
- z-score: ``z = (mean − theory) / sem``; beside it the relative difference
  ``(mean − theory) / |theory|``;
- finite size: the weighted least-squares fit ``y(N) = y_∞ + b / N`` with weights ``1/sem²``
  (the sems are the known errors of each N's mean, so the parameter covariance is
  ``(Xᵀ W X)⁻¹`` unscaled by the residual); ``y_∞`` and its standard error are reported, and
  ``z_∞ = (y_∞ − theory) / se(y_∞)``. Two sizes determine the line exactly (no residual
  check); three or more give the χ² of the fit too.

This module needs NumPy and xarray only (no JAX): :func:`neurodyn.plots.chaos_figure` and
``neurodyn plot`` summarise a stored chaos run with it.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

QUIESCENT = 1e-8
"""Δ0 below this (h² units) counts as the quiescent fixed point (τ_corr undefined)."""

SHORT_WINDOW_FRACTION = 20.0
"""A correlation time τ_c counts as resolved by a window t1 only if τ_c ≤ t1 / 20: a window
then holds ≳ 10 independent samples per neuron (≈ t1 / (2 τ_c)), so the per-network
estimates of Δ(τ) are not dominated by a handful of slow excursions."""

UNDECAYED = 0.1
"""Δ(max_lag)/Δ0 above this (theory or simulation mean): the autocorrelation has not decayed
within the lag window, so τ_corr = ∫₀^{max_lag} Δ/Δ0 is truncated and not comparable."""

OBSERVABLES = ("delta0", "lambda", "tau_corr")
"""The scalar observables with ``*_sim`` (per seed) and ``*_theory`` (per g)."""

Z_LAGS = (1.0, 2.0, 5.0)
"""The lags (τ) whose Δ(τ) z-scores the table prints."""


def mean_sem(values: xr.DataArray, dim: str = "seed") -> tuple[xr.DataArray, xr.DataArray]:
    """Mean and standard error (ddof = 1) over ``dim``, skipping NaN (points not done)."""
    n = values.notnull().sum(dim)
    mean = values.mean(dim, skipna=True)
    sem = values.std(dim, ddof=1, skipna=True) / np.sqrt(n.where(n > 1))
    return mean, sem


def z_score(mean, sem, theory):
    """(mean − theory) / sem; NaN where the sem is 0 or undefined."""
    return (mean - theory) / xr.where(sem > 0, sem, np.nan)


def relative_difference(mean, theory):
    """(mean − theory) / |theory|; NaN where the theory is 0."""
    return (mean - theory) / xr.where(abs(theory) > 0, abs(theory), np.nan)


def fit_inverse_n(sizes: np.ndarray, mean: np.ndarray, sem: np.ndarray) -> tuple[float, float,
                                                                                 float, float]:
    """Weighted least squares of ``mean(N) = y_∞ + b/N`` with weights ``1/sem²``.

    **Arguments:** ``sizes`` (n,), ``mean`` (n,), ``sem`` (n,) (finite, > 0 where used).

    **Returns:** ``(y_inf, se_y_inf, slope_b, chi2)``; NaNs when fewer than two sizes have a
    finite mean and a positive sem. ``chi2`` is NaN for exactly two sizes (an exact line).
    """
    sizes, mean, sem = (np.asarray(x, dtype=float) for x in (sizes, mean, sem))
    ok = np.isfinite(mean) & np.isfinite(sem) & (sem > 0)
    if ok.sum() < 2:
        return (math.nan,) * 4
    x = np.stack([np.ones(ok.sum()), 1.0 / sizes[ok]], axis=1)
    weights = 1.0 / sem[ok] ** 2
    normal = x.T @ (weights[:, None] * x)
    covariance = np.linalg.inv(normal)
    params = covariance @ (x.T @ (weights * mean[ok]))
    residual = mean[ok] - x @ params
    chi2 = float(np.sum(weights * residual**2)) if ok.sum() > 2 else math.nan
    return float(params[0]), float(math.sqrt(covariance[0, 0])), float(params[1]), chi2


def _tau_corr(delta: xr.DataArray) -> xr.DataArray:
    """∫₀^{max_lag} Δ(τ) dτ / Δ0 (trapezoid over ``tau``); NaN where Δ0 < QUIESCENT."""
    delta0 = delta.isel(tau=0)
    area = delta.integrate("tau")
    return (area / delta0).where(delta0 >= QUIESCENT)


def summarize(raw: xr.Dataset) -> xr.Dataset:
    """The chaos contract Dataset from a chaos job's raw results (a chaos sweep store opened
    with :func:`neurodyn.open_run`, or the job's in-memory equivalent).

    ``raw`` holds ``autocorrelation(g, [N,] seed, lag)`` and, unless the exponent was skipped,
    ``lyapunov(g, [N,] seed, exponent)``, plus the theory per g written at creation
    (``delta_theory(g, lag)``, ``delta0_theory``, ``lambda_theory``, ``tau_corr_theory``,
    ``tau_corr_theory_full``) and the job's settings in ``attrs["chaos"]``. Points not done
    (``point_status`` ≠ 1) count as missing seeds.

    **Returns:** dims ``g``, ``seed``, ``tau`` (and ``N`` when several sizes were run):

    - per seed: ``delta_sim``, ``delta0_sim``, ``lambda_sim``, ``tau_corr_sim`` (and with a
      spectrum ``spectrum_sim(…, exponent)``, ``dky_per_n_sim``, ``hks_per_n_sim``);
    - ``<name>_mean``, ``<name>_sem`` (over seeds, ddof = 1), ``<name>_z`` and ``<name>_rel``
      against ``<name>_theory`` for Δ0, λ_max, τ_corr and Δ(τ);
    - ``window_too_short(g[, N])``: the correlation time is not resolved (theory τ_c or the
      measured one > t1/20, or Δ(max_lag)/Δ0 > 0.1 in theory or simulation mean);
    - with several N: ``<name>_ninf``, ``<name>_ninf_sem``, ``<name>_ninf_z`` (the 1/N fit's
      N = ∞ intercept, its standard error and its z-score; ``ninf``, not ``inf``, because
      the DMFT's ``delta_inf`` is the static variance).
    """
    settings = dict(raw.attrs.get("chaos", {}))
    raw = raw.compute()  # a few numbers per point: read once (and checksummed) from a store
    raw = raw.rename({"lag": "tau"}) if "lag" in raw.dims else raw
    if "point_status" in raw:
        done = raw["point_status"] == 1
        sim = raw[["autocorrelation", *(["lyapunov"] if "lyapunov" in raw else [])]].where(done)
    else:
        sim = raw
    delta_sim = sim["autocorrelation"].astype(float)
    if "N" not in delta_sim.dims:
        sizes = None
    else:
        sizes = np.asarray(raw["N"].values, dtype=float)
    out = xr.Dataset(coords={name: raw[name] for name in ("g", "seed", "tau")})
    if sizes is not None:
        out = out.assign_coords(N=raw["N"])
    attrs_long = {"units": "h^2"}
    out["delta_sim"] = delta_sim.assign_attrs(
        long_name="simulated autocorrelation <h_i(t) h_i(t+tau)>", **attrs_long)
    out["delta0_sim"] = delta_sim.isel(tau=0, drop=True).assign_attrs(
        long_name="simulated variance <h^2>", **attrs_long)
    out["tau_corr_sim"] = _tau_corr(delta_sim).assign_attrs(
        long_name="int_0^max_lag Delta/Delta0 (simulation)", units="tau")
    if "lyapunov" in sim:
        exponents = sim["lyapunov"].astype(float)
        out["lambda_sim"] = exponents.isel(exponent=0, drop=True).assign_attrs(
            long_name="largest Lyapunov exponent (QR)", units="1/tau")
        if exponents.sizes["exponent"] > 1:
            out = out.assign_coords(exponent=raw["exponent"])
            out["spectrum_sim"] = exponents.assign_attrs(long_name="Lyapunov spectrum",
                                                         units="1/tau")
            _add_spectrum_summaries(out, exponents, raw, sizes)
    else:  # the exponent was skipped (noise without a conditional exponent): NaN, flagged
        out["lambda_sim"] = xr.full_like(out["delta0_sim"], np.nan).assign_attrs(
            long_name="largest Lyapunov exponent (not computed)", units="1/tau")
    for name in ("delta_theory", "delta0_theory", "lambda_theory", "tau_corr_theory",
                 "tau_corr_theory_full"):
        out[name] = raw[name]
    for name in (*OBSERVABLES, "delta"):
        mean, sem = mean_sem(out[f"{name}_sim"])
        theory = out[f"{name}_theory"]
        out[f"{name}_mean"] = mean.assign_attrs(long_name=f"{name}: mean over seeds")
        out[f"{name}_sem"] = sem.assign_attrs(
            long_name=f"{name}: standard error over seeds, std(ddof=1)/sqrt(n_seeds)")
        out[f"{name}_z"] = z_score(mean, sem, theory).assign_attrs(
            long_name=f"{name}: (mean - theory) / sem")
        out[f"{name}_rel"] = relative_difference(mean, theory).assign_attrs(
            long_name=f"{name}: (mean - theory) / |theory|")
    # both quiescent (theory Δ0 = 0, simulation decayed below QUIESCENT): agreement, and a
    # z-score of two numbers at round-off level would mean nothing
    both_quiet = (out["delta0_theory"] < QUIESCENT) & (out["delta0_mean"] < QUIESCENT)
    for name in ("delta0", "delta", "tau_corr"):
        out[f"{name}_z"] = out[f"{name}_z"].where(~both_quiet)
    out["quiescent"] = both_quiet.assign_attrs(
        long_name=f"theory and simulation mean both have Delta0 < {QUIESCENT:g} (fixed point)")
    out["n_seeds"] = out["delta0_sim"].notnull().sum("seed").assign_attrs(
        long_name="seeds with a result")
    t1 = float(settings.get("t1", np.inf))
    tail_theory = out["delta_theory"].isel(tau=-1) / out["delta0_theory"]
    tail_sim = out["delta_mean"].isel(tau=-1) / out["delta0_mean"]
    chaotic = out["delta0_theory"] >= QUIESCENT
    short = chaotic & ((out["tau_corr_theory_full"] > t1 / SHORT_WINDOW_FRACTION)
                       | (out["tau_corr_mean"] > t1 / SHORT_WINDOW_FRACTION)
                       | (tail_theory > UNDECAYED) | (tail_sim > UNDECAYED))
    out["window_too_short"] = short.assign_attrs(long_name=(
        "the window is too short for the correlation time: tau_corr (theory over tau_max, or "
        f"simulation) > t1/{SHORT_WINDOW_FRACTION:g}, or Delta(max_lag)/Delta0 > {UNDECAYED:g}"))
    if sizes is not None:
        _add_finite_size(out, sizes)
        # quiescent at every N: the intercept of round-off-level numbers compares nothing
        quiet = both_quiet.all("N")
        for name in ("delta0", "delta", "tau_corr"):
            out[f"{name}_ninf_z"] = out[f"{name}_ninf_z"].where(~quiet)
    out.attrs = {key: value for key, value in raw.attrs.items()
                 if key not in ("kind", "sweep", "sessions", "status", "points_done",
                                "points_failed", "network", "chaos")}
    out.attrs.update(settings)
    out.attrs["kind"] = "chaos"
    out.attrs["statistics"] = ("mean over seeds; sem = std(ddof=1)/sqrt(n_seeds); z = (mean - "
                               "theory)/sem; *_ninf: weighted least squares y = y_inf + b/N, "
                               "weights 1/sem^2, unscaled covariance")
    return out


def _add_spectrum_summaries(out: xr.Dataset, exponents: xr.DataArray, raw: xr.Dataset,
                            sizes: np.ndarray | None) -> None:
    from .spectrum import entropy_rate, lyapunov_dimension

    def per_seed(function, values):
        finite = np.all(np.isfinite(values))
        return function(values) if finite else np.nan

    n = raw["N"] if sizes is not None else float(raw.attrs.get("chaos", {}).get("N", np.nan))
    dky = xr.apply_ufunc(lambda v: per_seed(lyapunov_dimension, v), exponents,
                         input_core_dims=[["exponent"]], vectorize=True)
    hks = xr.apply_ufunc(lambda v: per_seed(entropy_rate, v), exponents,
                         input_core_dims=[["exponent"]], vectorize=True)
    out["dky_per_n_sim"] = (dky / n).assign_attrs(
        long_name="Kaplan-Yorke dimension / N (NaN: more exponents needed)")
    out["hks_per_n_sim"] = (hks / n).assign_attrs(
        long_name="Kolmogorov-Sinai entropy rate / N (sum of positive exponents)",
        units="1/tau per neuron")
    for name in ("dky_per_n", "hks_per_n", "spectrum"):
        mean, sem = mean_sem(out[f"{name}_sim"])
        out[f"{name}_mean"], out[f"{name}_sem"] = mean, sem


def _add_finite_size(out: xr.Dataset, sizes: np.ndarray) -> None:
    for name in ("delta0", "lambda", "tau_corr", "delta"):
        mean, sem = out[f"{name}_mean"], out[f"{name}_sem"]
        fitted = xr.apply_ufunc(
            lambda m, s: np.array(fit_inverse_n(sizes, m, s)[:3]), mean, sem,
            input_core_dims=[["N"], ["N"]], output_core_dims=[["fit"]], vectorize=True)
        value, error = fitted.isel(fit=0, drop=True), fitted.isel(fit=1, drop=True)
        out[f"{name}_ninf"] = value.assign_attrs(long_name=f"{name}: N = infinity intercept of "
                                                "the weighted 1/N fit")
        out[f"{name}_ninf_sem"] = error.assign_attrs(long_name=f"{name}: standard error of the "
                                                    "intercept")
        out[f"{name}_ninf_slope"] = fitted.isel(fit=2, drop=True).assign_attrs(
            long_name=f"{name}: slope b of the 1/N fit y = y_inf + b/N")
        out[f"{name}_ninf_z"] = z_score(value, error, out[f"{name}_theory"]).assign_attrs(
            long_name=f"{name}: (intercept - theory) / its standard error")


def _cell(mean: float, sem: float, z: float) -> str:
    if not math.isfinite(mean):
        return f"{'n/a':>22}"
    text = f"{mean:.4g}±{sem:.2g}" if math.isfinite(sem) else f"{mean:.4g}"
    return f"{text:>14} z{z:+6.1f}" if math.isfinite(z) else f"{text:>14} {'':>7}"


def table(ds: xr.Dataset) -> str:
    """The printed table of a summarised chaos run: per g (and N) the seed mean ± sem, the
    theory and the z-score of Δ0, λ_max and τ_corr, the largest |z| of Δ(τ) at the lags
    :data:`Z_LAGS`, and the relative L2 difference of the mean Δ(τ) over τ ∈ [0, 10]. Where
    the window is too short for the correlation time, τ_corr and the Δ(τ) columns say so."""
    blocks = []
    sizes = list(ds["N"].values) if "N" in ds.dims else [None]
    lags = [lag for lag in Z_LAGS if lag <= float(ds.tau.max())]
    header = (f"{'g':>6} {'delta0 sim':>22} {'th':>8} {'lambda sim':>22} {'th':>8} "
              f"{'tau_corr sim':>22} {'th':>7} {'max|z| D(' + ','.join(f'{x:g}' for x in lags) + ')':>14} "
              f"{'relL2[0,10]':>11}")
    window = ds.tau <= 10.0
    for size in sizes:
        p_n = ds.sel(N=size) if size is not None else ds
        lines = [f"N = {int(size if size is not None else ds.attrs.get('N', 0))}, "
                 f"{int(p_n.n_seeds.max())} seeds (mean±sem, z = (mean - theory)/sem)", header]
        for gain in ds.g.values:
            p = p_n.sel(g=gain)
            short = bool(p.window_too_short)
            th = p.delta_theory.where(window, drop=True).values
            sim = p.delta_mean.where(window, drop=True).values
            norm = math.sqrt(float(np.sum(th**2)))
            rel = math.sqrt(float(np.sum((sim - th) ** 2))) / norm if norm > 0 else math.nan
            z_lags = np.abs(p.delta_z.sel(tau=lags, method="nearest").values)
            zmax = float(np.nanmax(z_lags)) if np.any(np.isfinite(z_lags)) else math.nan
            tau_cell = (f"{'window too short':>22} {'':>7}" if short else
                        f"{_cell(*(float(p[f'tau_corr_{s}']) for s in ('mean', 'sem', 'z')))} "
                        f"{float(p.tau_corr_theory):7.3g}")
            tail = (f"{'window too short':>14} {'':>11}" if short else
                    f"{zmax:14.1f} {rel:11.3g}")
            lines.append(
                f"{gain:6.3f} {_cell(*(float(p[f'delta0_{s}']) for s in ('mean', 'sem', 'z')))} "
                f"{float(p.delta0_theory):8.4g} "
                f"{_cell(*(float(p[f'lambda_{s}']) for s in ('mean', 'sem', 'z')))} "
                f"{float(p.lambda_theory):8.4g} {tau_cell} {tail}")
        blocks.append("\n".join(lines))
    if "delta0_ninf" in ds:
        lines = ["N = infinity (weighted fit y = y_inf + b/N over N = "
                 f"{', '.join(str(int(n)) for n in sizes)}; z = (y_inf - theory)/se)",
                 f"{'g':>6} {'delta0_inf':>22} {'th':>8} {'lambda_inf':>22} {'th':>8}"]
        for gain in ds.g.values:
            p = ds.sel(g=gain)
            lines.append(
                f"{gain:6.3f} {_cell(*(float(p[f'delta0_ninf{s}']) for s in ('', '_sem', '_z')))} "
                f"{float(p.delta0_theory):8.4g} "
                f"{_cell(*(float(p[f'lambda_ninf{s}']) for s in ('', '_sem', '_z')))} "
                f"{float(p.lambda_theory):8.4g}")
        blocks.append("\n".join(lines))
    if "dky_per_n_mean" in ds:
        lines = [f"Lyapunov spectrum ({ds.sizes['exponent']} exponents): D_KY/N and h_KS/N "
                 "(mean±sem)", f"{'g':>6} {'N':>6} {'D_KY/N':>16} {'h_KS/N':>16}"]
        for size in sizes:
            p_n = ds.sel(N=size) if size is not None else ds
            for gain in ds.g.values:
                p = p_n.sel(g=gain)
                lines.append(f"{gain:6.3f} {int(size or ds.attrs.get('N', 0)):6d} "
                             f"{float(p.dky_per_n_mean):8.4g}±{float(p.dky_per_n_sem):<7.2g} "
                             f"{float(p.hks_per_n_mean):8.4g}±{float(p.hks_per_n_sem):<7.2g}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


__all__ = ["OBSERVABLES", "QUIESCENT", "fit_inverse_n", "mean_sem", "relative_difference",
           "summarize", "table", "z_score"]
