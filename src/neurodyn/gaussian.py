"""Gaussian averages used by both mean-field theories (recurrent DMFT and deep networks).

Quadrature: composite Gauss–Legendre on z ∈ [−L, L] (L = 10 standard deviations; the Gaussian
mass outside is 1.5e−23), split into two panels at the point where the argument of f crosses 0.
Splitting there makes the rule exact to high order for φ with a kink at 0 (relu) and resolves the
steep middle of tanh when the variance is large, where plain Gauss–Hermite of low order fails
(its nodes spread over ±√(2n) but are sparse exactly where tanh(√Δ0 z) turns over).
scipy.integrate.quad was checked and is accurate but is not jax-traceable or vectorised, so it
is used only as an independent check in the tests.

Bivariate averages use the conditional decomposition
``⟨f1(u1) f2(u2)⟩ = ∫Dz1 f1(u1(z1)) ⟨f2(u2) | z1⟩``: the inner conditional expectation is again a
split one-dimensional rule, so kinks of f2 are handled exactly for every z1.

Closed forms of the zero-mean pair averages are capabilities of a Nonlinearity (its
``gaussian_pair`` fields; erf and relu have them): :func:`closed_form_pair` returns them and
:func:`pair` uses them when present, quadrature otherwise. The tests use them as an independent
truth for the quadrature.

All functions are pure jax, broadcast over their array arguments, and can be jit-ed and
differentiated. Variances are of the argument of f (callers in h-units pass g²·var_h).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import jax.numpy as jnp
import numpy as np

from . import nonlinearity

ArrayFunction = Callable[[jnp.ndarray], jnp.ndarray]

TAIL_CUTOFF = 10.0
"""Half-width L of the integration domain in standard deviations."""

DEFAULT_ORDER = 96
"""Gauss–Legendre nodes per panel (two panels) for one-dimensional averages."""

DEFAULT_PAIR_ORDER = 48
"""Nodes per panel for each of the two nested integrals of a bivariate average."""


@cache
def _legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    # Immutable reference rule on [−1, 1]; cached only to avoid recomputing it (same result).
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return nodes, weights


def _split_rule(split: jnp.ndarray, order: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Nodes z and weights w·N(z; 0, 1) of a two-panel rule on [−L, L], split at ``split``.

    ``split`` has any shape S; the result has shape S + (2·order,).
    """
    nodes, weights = _legendre(order)
    split = jnp.clip(split, -TAIL_CUTOFF, TAIL_CUTOFF)[..., None]
    lo_mid, lo_half = (split - TAIL_CUTOFF) / 2.0, (split + TAIL_CUTOFF) / 2.0
    hi_mid, hi_half = (split + TAIL_CUTOFF) / 2.0, (TAIL_CUTOFF - split) / 2.0
    z = jnp.concatenate([lo_mid + lo_half * nodes, hi_mid + hi_half * nodes], axis=-1)
    w = jnp.concatenate([lo_half * weights, hi_half * weights], axis=-1)
    density = jnp.exp(-0.5 * z**2) / math.sqrt(2.0 * math.pi)
    return z, w * density


def expect(
    f: ArrayFunction,
    variance: jnp.ndarray | float,
    mean: jnp.ndarray | float = 0.0,
    *,
    order: int = DEFAULT_ORDER,
) -> jnp.ndarray:
    """``⟨f(u)⟩`` for ``u ~ N(mean, variance)``.

    **Arguments:** ``f`` elementwise; ``variance`` ≥ 0 and ``mean`` broadcast together (shape S).

    **Returns:** an array of shape S.
    """
    variance = jnp.asarray(variance)
    mean = jnp.asarray(mean, dtype=variance.dtype if variance.dtype.kind == "f" else None)
    std = jnp.sqrt(jnp.maximum(variance, 0.0))
    tiny = jnp.finfo(jnp.result_type(std, 1.0)).tiny
    split = -mean / jnp.maximum(std, tiny)
    z, w = _split_rule(split, order)
    values = f(mean[..., None] + std[..., None] * z)
    return jnp.sum(w * values, axis=-1)


def expect_pair(
    f1: ArrayFunction,
    f2: ArrayFunction,
    var1: jnp.ndarray | float,
    var2: jnp.ndarray | float,
    cov: jnp.ndarray | float,
    mean1: jnp.ndarray | float = 0.0,
    mean2: jnp.ndarray | float = 0.0,
    *,
    order: int = DEFAULT_PAIR_ORDER,
) -> jnp.ndarray:
    """``⟨f1(u1) f2(u2)⟩`` for a bivariate Gaussian (u1, u2).

    **Arguments:** variances ``var1``, ``var2`` ≥ 0, covariance ``cov`` with
    ``cov² ≤ var1·var2`` (clipped onto that range to absorb round-off), means; all broadcast to S.

    **Returns:** an array of shape S.
    """
    var1, var2, cov = jnp.broadcast_arrays(*map(jnp.asarray, (var1, var2, cov)))
    mean1 = jnp.broadcast_to(jnp.asarray(mean1, dtype=var1.dtype), var1.shape)
    mean2 = jnp.broadcast_to(jnp.asarray(mean2, dtype=var1.dtype), var1.shape)
    tiny = jnp.finfo(jnp.result_type(var1, 1.0)).tiny
    std1 = jnp.sqrt(jnp.maximum(var1, 0.0))
    # u2 | z1 ~ N(mean2 + (cov/std1) z1, var2 − cov²/var1)
    slope = cov / jnp.maximum(std1, tiny)
    cond_var = jnp.maximum(var2 - slope**2, 0.0)
    z1, w1 = _split_rule(-mean1 / jnp.maximum(std1, tiny), order)
    outer = f1(mean1[..., None] + std1[..., None] * z1)
    cond_mean = mean2[..., None] + slope[..., None] * z1
    inner = expect(f2, jnp.broadcast_to(cond_var[..., None], cond_mean.shape), cond_mean,
                   order=order)
    return jnp.sum(w1 * outer * inner, axis=-1)


def closed_form_pair(
    phi, derivative: bool, var1: jnp.ndarray, var2: jnp.ndarray, cov: jnp.ndarray
) -> jnp.ndarray:
    """Closed form of ``⟨φ(u1)φ(u2)⟩`` (or of ⟨φ′φ′⟩ with ``derivative=True``) at zero means.

    **Arguments:** ``phi`` a registered name or a :class:`~neurodyn.nonlinearity.Nonlinearity`;
    variances and covariance of (u1, u2), broadcasting to S. The formulas are the
    Nonlinearity's ``gaussian_pair`` / ``gaussian_pair_dphi`` fields (erf: Williams 1997; relu:
    the arc-cosine kernel, Cho & Saul 2009; see :mod:`neurodyn.nonlinearity`).

    **Returns:** an array of shape S. Raises ``KeyError`` for φ without that closed form (tanh).
    """
    nl = nonlinearity.get(phi)
    closed = nl.gaussian_pair_dphi if derivative else nl.gaussian_pair
    if closed is None:
        with_forms = ", ".join(repr(name) for name, entry in nonlinearity.NONLINEARITIES.items()
                               if entry.gaussian_pair is not None)
        raise KeyError(f"no closed form for phi={nl.name!r}; closed forms exist for {with_forms}")
    return closed(var1, var2, cov)


def pair(phi, derivative: bool, var1, var2, cov, *, order: int = DEFAULT_PAIR_ORDER) -> jnp.ndarray:
    """``⟨φ(u1)φ(u2)⟩`` (or ⟨φ′φ′⟩) at zero means: the Nonlinearity's closed form if it has one,
    else :func:`expect_pair` with ``order`` nodes per panel. Arguments as :func:`closed_form_pair`.
    """
    nl = nonlinearity.get(phi)
    closed = nl.gaussian_pair_dphi if derivative else nl.gaussian_pair
    if closed is not None:
        return closed(var1, var2, cov)
    f = nl.dphi if derivative else nl.phi
    return expect_pair(f, f, var1, var2, cov, order=order)
