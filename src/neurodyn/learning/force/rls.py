"""Recursive least squares: the weight update every FORCE-type rule shares.

For rates r_1, r_2, … (each (n,)) and targets y_t (m,), RLS keeps the inverse regularised
correlation matrix

    P_t = (α I + Σ_{s≤t} r_s r_sᵀ)⁻¹,      P_0 = I / α,

by the Sherman–Morrison formula, and corrects the weights W (m, n) with the *a priori* error
e_t = W_{t−1} r_t − y_t (Sussillo & Abbott, Neuron 63, 544 (2009), their RLS rule, with the
P-update before the weight update so that the gain is P_t r_t):

    k = P_{t−1} r_t,   c = 1 / (1 + r_tᵀ k),   P_t = P_{t−1} − c k kᵀ,   W_t = W_{t−1} − c e_t kᵀ,

where c k = P_t r_t is the gain. By induction W_t is then exactly the ridge-regression solution

    W_t = argmin_W Σ_{s≤t} ‖W r_s − y_s‖² + α ‖W − W_0‖²_F

(every row of W is regressed on the same rates, so all rows share P; full-FORCE and the
internal-weights FORCE use that: one P for n + n_out rows). Cost per update: 2 n²
multiply-adds for P (P r and the rank-one correction) and m n for W; memory n² for P.
tests/test_learning_force.py checks W_t and P_t against numpy's lstsq and inv.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def rls_gain(P: jax.Array, r: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One Sherman–Morrison step of P for the rates ``r``.

    **Arguments:** ``P``: (n, n) symmetric, the current (α I + Σ r rᵀ)⁻¹; ``r``: (n,).

    **Returns:** (P_new, gain) with ``gain`` = P_new r = P r / (1 + rᵀ P r), shape (n,).
    """
    # P is the left operand (streamed row by row in its stored layout, as in network.drift)
    k = P @ r
    c = 1.0 / (1.0 + r @ k)
    return P - c * jnp.outer(k, k), c * k


def rls_correct(W: jax.Array, error: jax.Array, gain: jax.Array) -> jax.Array:
    """W − error ⊗ gain: the RLS weight correction of ``W`` (m, n) for the a priori ``error``
    (m,) = W r − y, with ``gain`` (n,) from :func:`rls_gain`."""
    return W - jnp.outer(error, gain)


def rls_fit(rates: jax.Array, targets: jax.Array, alpha: float,
            W0: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """RLS over a fixed batch, one update per row: what the online rules do along a trajectory,
    with the rates given instead of simulated.

    **Arguments:** ``rates`` (T, n), ``targets`` (T, m), ``alpha`` > 0, ``W0`` (m, n) (zeros if
    None).

    **Returns:** (W_T (m, n), P_T (n, n)), which equal the ridge solution and
    (α I + Σ r rᵀ)⁻¹ (module docstring) up to rounding.
    """
    n, m = rates.shape[1], targets.shape[1]
    W0 = jnp.zeros((m, n), rates.dtype) if W0 is None else W0

    def update(carry, row):
        P, W = carry
        r, y = row
        error = W @ r - y
        P, gain = rls_gain(P, r)
        return (P, rls_correct(W, error, gain)), None

    (P, W), _ = jax.lax.scan(update, (jnp.eye(n, dtype=rates.dtype) / alpha, W0),
                             (rates, targets))
    return W, P
