"""SnAp-1 (Menick, Elsen, Evci, Osindero, Simonyan & Graves, ICLR 2021) for the rate network.

SnAp-n keeps, of the RTRL influence matrix p_{i,w} = dh_i/dw, only the entries that are non-zero
after n steps of the recurrence from p = 0. One step of dh/dt = F reaches, from w_(k,l), only its
own unit k (∂F_i/∂w_(k,l) = δ_ik s_l), so **SnAp-1 keeps the diagonal of the influence of each
parameter on its own unit**, e_(k,l) = p_{k,(k,l)}, and masks the update to it:

    de_(k,l)/dt = [(∂F/∂h) p + ∂F/∂w]_{k,(k,l)} masked = (∂F_k/∂h_k) e_(k,l) + s_l,
    ∂F_k/∂h_k = −1 + J_kk g φ′(g h_k),

the continuous-time limit of the mask (this rule steps it with the state by the fixed-step
tableau; with ``stepper="euler"`` it is exactly SnAp-1 applied to the Euler map
h ← h + dt F(h), whose one-step Jacobian has the diagonal 1 + dt ∂F_k/∂h_k). Applied to an rk4
step itself, the mask would also keep within-step paths through the other units (O(dt²)), and
the diagonal of that step's Jacobian, a product of four stage Jacobians, costs n³ per step; it
is not this rule. Memory O(m) = O(n²), time O(n²) per step (no n³: the diagonal is read, not
computed from products).

**How it differs from RFLO** (:class:`~.rtrl.Rflo`, and e-prop, :mod:`.eprop`): RFLO's trace
decays at the leak rate alone (∂F_k/∂h_k ≈ −1); SnAp-1 keeps the unit's coupling to itself
through the network, J_kk g φ′(g h_k). For J with a zero diagonal the two are the same rule
(tested); for an SCS network J_kk ~ g/√n, so they differ by O(1/√n) in the decay rate.
"""

from __future__ import annotations

from typing import ClassVar, final

from .rtrl import AbstractDiagonalTraceRule


@final
class Snap1(AbstractDiagonalTraceRule):
    """SnAp-1: the own-unit influence traces with the full diagonal of ∂F/∂h
    (see the module docstring). **Options:** ``dt``, ``stepper`` (the fixed-step rules')."""

    name: ClassVar[str] = "snap1"
    description: ClassVar[str] = "SnAp-1: own-unit influence traces (Menick et al. 2021), an approximation"
    self_coupling: ClassVar[bool] = True
