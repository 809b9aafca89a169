"""e-prop (Bellec, Scherr, Subramoney, Hajek, Salaj, Legenstein & Maass, Nat. Commun. 11, 3625
(2020)) in its rate-network form: here it **is** RFLO (:class:`~.rtrl.Rflo`), registered under
its own name.

Why they coincide: e-prop's eligibility trace of w_(k,l) follows the hidden state c_k of unit k
through its *own* dynamics only, ε ← (∂c_k^{t+1}/∂c_k^t) ε + ∂c_k^{t+1}/∂w_(k,l), where the
derivative excludes every path through the network's outputs z = φ(c) — the unit's self-synapse
J_kk z_k included, which e-prop counts as recurrent input. For the rate unit
dh_k/dt = −h_k + Σ_l J_kl φ(g h_l) + θ_k + (Bx)_k the hidden state is h_k and its own dynamics
are the leak, so the trace is de_(k,l)/dt = −e_(k,l) + s_l (s = φ(g h), 1, x for J, θ, B), and
the learning signal with symmetric feedback is ∂ℓ/∂h_k (the readout W_outᵀ): exactly RFLO's
trace and estimate. They would differ for units with more hidden state (e-prop's adaptive
threshold, LSNN) or with random feedback drawn differently. SnAp-1 (:mod:`.snap1`) differs:
it keeps J_kk's term.
"""

from __future__ import annotations

from typing import ClassVar, final

from .rtrl import AbstractDiagonalTraceRule, Rflo


@final
class Eprop(AbstractDiagonalTraceRule):
    """e-prop for the rate network: RFLO's rule under e-prop's name (see the module docstring;
    tests/test_learning_rtrl_approx.py checks the two give the same result)."""

    name: ClassVar[str] = "eprop"
    description: ClassVar[str] = "e-prop (Bellec et al. 2020), for rate units the same rule as rflo"
    self_coupling: ClassVar[bool] = Rflo.self_coupling
