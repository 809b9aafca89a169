"""The order-to-chaos job: simulation and stationary DMFT side by side as the gain g grows.

For each gain g, network size N and seed (a point of a sweep over (g, N, seed)): build
``Network.random(N, g, phi, seed)``, simulate it (discarding a transient), measure the raw
autocorrelation Δ(τ) = ⟨h_i(t) h_i(t+τ)⟩ (no mean subtraction: the theory's mean is 0 here)
and the leading Lyapunov exponent(s) (QR method). The DMFT (:func:`neurodyn.dmft.stationary`)
is solved once per g (the theory does not depend on N or the seed). The seeds are independent
networks: every observable is reported as the mean over seeds with its standard error, and
compared with the theory by a z-score (:mod:`neurodyn.chaos_stats`, which documents the
estimators); with several N, each observable is also extrapolated to N = ∞ by a weighted fit
in 1/N.

Where the points run: :func:`chaos` without ``out`` computes them in this process and writes
nothing; with ``out`` they run as a sweep (:func:`neurodyn.sweep.run_sweep`: a dask
LocalCluster by default, ``workers=1`` in-process, ``scheduler=`` an existing cluster) into
one zarr store that survives a kill: calling again with the same arguments resumes it (points
done are kept), other arguments on the same store are refused unless ``overwrite``, which
builds the new store beside the old one (``.NAME.replacing``, itself resumable) and swaps it in
only when every point is done, so a killed or failed overwrite loses nothing. The store
holds the per-point results (``autocorrelation(g, [N,] seed, lag)``, ``lyapunov(g, [N,] seed,
exponent)``) and the theory per g, written when the store is created; :func:`neurodyn.open_run`
reads it, :func:`neurodyn.chaos_stats.summarize` turns it into the contract Dataset below, and
``neurodyn plot PATH`` draws its figure.

Returned Dataset (the public contract names of DESIGN.md; dims ``g``, ``seed``, ``tau``, and
``N`` only when several sizes were run, so one N keeps the old shapes): per seed
``delta0_sim``, ``lambda_sim``, ``tau_corr_sim``, ``delta_sim(g, seed, tau)``; theory
``delta0_theory``, ``lambda_theory``, ``tau_corr_theory``, ``delta_theory(g, tau)``; beside
them ``*_mean``, ``*_sem``, ``*_z``, ``*_rel``, ``window_too_short`` and, with several N,
``*_ninf``, ``*_ninf_sem``, ``*_ninf_z``; with ``spectrum=K`` also ``spectrum_sim``,
``dky_per_n_*`` and ``hks_per_n_*``. :func:`table` prints it.

Autocorrelation time, both for theory and simulation: ``∫₀^{max_lag} Δ(τ) dτ / Δ0`` over the
same window (so the two are comparable; NaN where Δ0 < 1e−8, the quiescent phase). Near
g_c = 1 the theory's correlation time grows like 1/(g − 1) until the window truncates it; the
summary then flags the window as too short instead of comparing numbers.

Noise (σ > 0): the networks are simulated with white noise σ dW and the DMFT is solved with the
same σ. The Lyapunov exponent with noise is the conditional one (both trajectories driven by
the same noise: ``nd.lyapunov(..., noise=σ)``).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import chaos_stats, nonlinearity
from .chaos_plan import chaos_config, store_matches
from .errors import RunError
from .sweep_config import SweepConfig

QUIESCENT = chaos_stats.QUIESCENT


def theory(config: SweepConfig, settings: dict[str, Any]) -> xr.Dataset:
    """The DMFT per g on the job's lag grid (one solve per g): ``delta_theory(g, lag)``,
    ``delta0_theory``, ``lambda_theory``, ``tau_corr_theory`` (over [0, max_lag], as the
    simulation's) and ``tau_corr_theory_full`` (the solver's ∫₀^∞, for the window check).

    η = 0 (any registered φ, relu included): :func:`neurodyn.dmft.stationary`; a gain where
    an unbounded φ has no bounded solution (DivergenceError) gets NaN, named in
    ``attrs["theory_divergent_g"]``. η ≠ 0: :func:`neurodyn.dmft.sampling` (its default
    statistical error, ≤ 1 % of Δ0, and its own adaptive window; λ_max is not given: NaN;
    ``tau_corr_theory_full`` is its ∫₀^{τ_max}, with Δ∞ subtracted). It costs 1-2 min per
    gain at the defaults for η = −0.5 (measured with its bracket, 78-110 iterations), more
    where correlations are slow (η = 0.5, g = 2: over 20 min, not yet measured to the end),
    against ~1 s for the stationary solver."""
    from .chaos_plan import SAMPLING
    from .dmft.sampling import sampling
    from .dmft.stationary import stationary
    from .errors import DivergenceError
    from .mean_field import MeanFieldModel
    from .sweep import layout

    _, coords = layout(config)
    lags = coords["lag"][0]
    gains = np.asarray(settings["g_values"])
    delta = np.full((gains.size, lags.size), np.nan)
    lam, full = np.full(gains.size, np.nan), np.full(gains.size, np.nan)
    dmft = config.table("dmft")
    nl = nonlinearity.get(settings["phi"])
    symmetry = float(settings.get("symmetry", 0.0))
    divergent = []
    for a, gain in enumerate(gains):
        model = MeanFieldModel(g=float(gain), phi=nl, noise=settings["noise"],
                               symmetry=symmetry)
        try:
            if symmetry != 0:
                solution = sampling(model=model, tau_max=float(lags[-1]), **SAMPLING)
            else:
                solution = stationary(model=model, tau_max=dmft["tau_max"], dtau=dmft["dtau"],
                                      critical_gain=False)
        except DivergenceError:
            divergent.append(float(gain))
            continue
        delta[a] = solution.delta.interp(tau=lags).values
        if "lambda_max" in solution:
            lam[a] = float(solution.lambda_max)
        full[a] = float(solution.tau_corr)
    curves = xr.DataArray(delta, dims=("g", "tau"), coords={"g": gains, "tau": lags})
    tau_corr = chaos_stats._tau_corr(curves).values
    ds = xr.Dataset({
        "delta_theory": (("g", "lag"), delta, {"long_name": "DMFT autocorrelation Delta(tau)",
                                               "units": "h^2"}),
        "delta0_theory": ("g", delta[:, 0], {"long_name": "DMFT variance Delta0",
                                             "units": "h^2"}),
        "lambda_theory": ("g", lam, {"long_name": "DMFT lambda_max = -1 + sqrt(1 - E0)",
                                     "units": "1/tau"}),
        "tau_corr_theory": ("g", tau_corr, {"long_name": "int_0^max_lag Delta/Delta0 (DMFT)",
                                            "units": "tau"}),
        "tau_corr_theory_full": ("g", np.where(delta[:, 0] >= QUIESCENT, full, np.nan), {
            "long_name": "DMFT autocorrelation time over [0, infinity)", "units": "tau"}),
    })
    if divergent:
        ds.attrs["theory_divergent_g"] = divergent
    return ds


def _in_process(config: SweepConfig, settings: dict[str, Any], verbose: bool) -> xr.Dataset:
    """Every point computed here, assembled as the sweep store would hold it."""
    from .sweep import compute_point, layout, sweep_coords

    variables, inner = layout(config)
    data = {name: np.full(config.shape + var.shape, np.nan) for name, var in variables.items()}
    for index, point in config.points():
        for name, value in compute_point(config, point).items():
            data[name][index] = value
        if verbose:
            print(f"{point}: delta0 {data['autocorrelation'][index][0]:.4g}", flush=True)
    coords = sweep_coords(config)
    coords.update({name: (name, values, attrs) for name, (values, attrs) in inner.items()})
    raw = xr.Dataset({name: (config.dims + var.dims, data[name], var.attrs)
                      for name, var in variables.items()}, coords=coords)
    return raw.merge(theory(config, settings)).assign_attrs(job="chaos", chaos=settings)


def replacement_path(store: Path) -> Path:
    """Where ``overwrite`` builds the new store beside ``store`` (``.NAME.replacing``): a fixed
    name, so a killed overwrite resumes there, and a hidden one, so no reader mistakes it for
    the run."""
    return store.parent / f".{store.name}.replacing"


def _sweep_replacing(store: Path, config: SweepConfig, sweep: Any) -> Any:
    """``overwrite``: sweep into :func:`replacement_path` and swap it in only when complete.

    The old run stays readable (and intact, if this is killed or points fail) until the swap;
    the lock on ``store`` is held throughout, so no other writer can resume or replace it
    meanwhile. A replacement left by an earlier overwrite with these arguments is resumed; one
    left by other arguments is discarded (it was never the run)."""
    from .lock import store_lock
    from .storage import is_neurodyn_run, replace_run

    if not is_neurodyn_run(store):
        raise RunError(f"out={str(store)!r} exists and is not a neurodyn run; refusing to "
                       "replace it")
    staging = replacement_path(store)
    with store_lock(store, purpose="chaos --overwrite"):
        try:
            store_matches(staging, config)
        except RunError:
            if not is_neurodyn_run(staging):
                raise RunError(f"{str(staging)!r} (where --overwrite builds the new store) "
                               "exists and is not a neurodyn run; remove it by hand") from None
            shutil.rmtree(staging)
        result = sweep(staging)
        if result.ok:
            replace_run(staging, store)
    return result


def chaos(
    g: Sequence[float] | None = None,
    g_min: float = 0.5,
    g_max: float = 3.0,
    g_num: int = 6,
    seeds: Sequence[int] = (0, 1, 2, 3, 4, 5),
    N: int | Sequence[int] = 500,
    t1: float = 200.0,
    transient: float = 50.0,
    phi: str | nonlinearity.Nonlinearity = "tanh",
    dt_save: float = 0.1,
    max_lag: float = 15.0,
    lyapunov_t1: float | None = None,
    noise: float = 0.0,
    spectrum: int | None = None,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    verbose: bool = False,
    symmetry: float = 0.0,
    dtype: str = "float64",
) -> xr.Dataset:
    """Run the chaos-transition job; see the module docstring.

    **Arguments:**
    - ``g``: explicit gains, or ``g_num`` values evenly spaced on [``g_min``, ``g_max``].
    - ``seeds``: network seeds (each seeds the network J, h(0) and the tangent basis through
      its own named stream); at least two give a standard error. ``N``: neurons, one size or
      several (then the 1/N extrapolation).
    - ``t1``, ``transient``, ``dt_save``: simulation window, discarded transient and save step
      (τ units). ``max_lag``: largest lag of Δ(τ). ``lyapunov_t1``: length of the Lyapunov
      average (default ``min(t1, 100)``; its own transient is ``transient``).
    - ``noise``: σ of additive white noise (simulation and theory). ``spectrum``: K leading
      exponents per point (default 1), with D_KY/N and h_KS/N.
    - ``out``: a zarr store path: run as a resumable sweep there (see the module docstring);
      ``workers``, ``scheduler`` as for :func:`neurodyn.sweep.run_sweep`; ``overwrite``:
      replace a store made by other arguments (a neurodyn run only). Without ``out`` the
      points are computed in this process and nothing is written.
    - ``verbose``: progress lines (in-process) or a progress bar (sweep).
    - ``symmetry``: η = corr(J_ij, J_ji) of the networks; η ≠ 0 solves the theory with the
      sampling DMFT (no λ_max; ~20-60 s CPU per gain). ``phi`` may be unbounded (relu): a gain
      without a bounded solution has NaN theory (and its simulation fails as divergent).
    - ``dtype``: "float64" (default) or "float32", the networks' dtype (simulation and tangent
      dynamics; the stored results are float64 either way); in ``attrs["chaos"]["dtype"]``.

    **Returns:** the summarised Dataset (:func:`neurodyn.chaos_stats.summarize`), with
    ``attrs["wall_time_s"]``. **Raises:** :class:`ParameterError` for a bad argument,
    :class:`RunError` for a store made by another command (without ``overwrite``) or points
    that failed (named, with their errors).
    """
    started = time.perf_counter()
    config, settings = chaos_config(g, g_min, g_max, g_num, seeds, N, t1, transient, phi,
                                    dt_save, max_lag, lyapunov_t1, noise, spectrum, out,
                                    symmetry, dtype)
    if out is None:
        ds = chaos_stats.summarize(_in_process(config, settings, verbose))
    else:
        from .storage import open_run
        from .sweep import describe_result, run_sweep

        store = Path(out)

        def sweep(path: Path):
            return run_sweep(config, out=path, workers=workers, scheduler=scheduler,
                             progress=verbose, extra=lambda: theory(config, settings),
                             attrs={"job": "chaos", "chaos": settings})

        try:
            store_matches(store, config)  # the same job (or none yet): resume or start it
            replace = False
        except RunError:
            if not overwrite:
                raise
            replace = True
        result = (_sweep_replacing(store, config, sweep) if replace
                  else sweep(store))
        if not result.ok:
            raise RunError(describe_result(result))
        ds = chaos_stats.summarize(open_run(store).load())
        ds.attrs["sweep_computed"], ds.attrs["sweep_points"] = result.computed, result.total
    ds.attrs["wall_time_s"] = time.perf_counter() - started
    return ds


table = chaos_stats.table

__all__ = ["chaos", "chaos_config", "table", "theory"]
