"""Learning rules for SCS networks: one registry of rule Modules and one dispatcher over it.

Trajectory tasks (:class:`TrajectoryTask`): ``bptt`` (reverse mode through diffrax with
checkpointing), ``bptt_scan`` (through a fixed-step ``lax.scan``), ``adjoint`` (continuous
adjoint solved backwards, memory flat in T), ``rtrl`` (exact forward sensitivities, augmented
ODE), ``rtrl_discrete`` (the same in discrete time), ``rflo`` (leak-only eligibility traces, an
approximation), ``eprop`` (the same rule for rate units), ``snap1`` (own-unit influence traces),
``uoro`` and ``kf_rtrl`` (unbiased stochastic rank-one / Kronecker estimates of RTRL).
Fixed-point tasks (:class:`FixedPointTask`): ``implicit``, ``recurrent_backprop``, ``eqprop``.
The table is :data:`RULES` (:mod:`.registry`); each rule is a final ``eqx.Module``
(:class:`AbstractRule`). Online rules, which train weights while the network runs instead of
returning a gradient (:data:`ONLINE_RULES`, :mod:`.force`): ``force`` and ``full_force``.
Gradient flossing (Engelken 2023: BPTT-scan with the squared leading Lyapunov exponents added to
the loss) is :mod:`neurodyn.learning.flossing` (imported on use: it loads
:mod:`neurodyn.lyapunov`). Tasks: :func:`sine_generation`, :func:`flip_flop` (3-bit flip-flop,
a task with memory).
"""

from __future__ import annotations

from . import fixed_point
from .adjoint import Adjoint
from .bptt import Bptt, BpttScan
from .eprop import Eprop
from .fixed_point import AbstractFixedPointRule, Eqprop, FixedPointTask, Implicit, RecurrentBackprop
from .force import ONLINE_RULES, AbstractOnlineRule, Force, FullForce, OnlineResult
from .kf_rtrl import KfRtrl
from .params import TRAINABLE, Params, readout, vector_field
from .registry import (
    APPROXIMATE_METHODS,
    FIXED_POINT_METHODS,
    METHODS,
    RULES,
    TRAJECTORY_METHODS,
    rule,
    value_and_grad,
)
from .rtrl import AbstractDiagonalTraceRule, Rflo, Rtrl, RtrlDiscrete, alignment
from .rule import (
    AbstractAdaptiveRule,
    AbstractFixedStepRule,
    AbstractRule,
    AbstractSeededFixedStepRule,
    AbstractTrajectoryRule,
)
from .snap1 import Snap1
from .tasks import AbstractTask, TrajectoryTask, flip_flop, sine_generation
from .train import train
from .uoro import Uoro

__all__ = [
    "APPROXIMATE_METHODS",
    "FIXED_POINT_METHODS",
    "METHODS",
    "ONLINE_RULES",
    "RULES",
    "TRAINABLE",
    "TRAJECTORY_METHODS",
    "AbstractAdaptiveRule",
    "AbstractDiagonalTraceRule",
    "AbstractFixedPointRule",
    "AbstractFixedStepRule",
    "AbstractOnlineRule",
    "AbstractRule",
    "AbstractSeededFixedStepRule",
    "AbstractTask",
    "AbstractTrajectoryRule",
    "Adjoint",
    "Bptt",
    "BpttScan",
    "Eprop",
    "Eqprop",
    "FixedPointTask",
    "Force",
    "FullForce",
    "Implicit",
    "KfRtrl",
    "OnlineResult",
    "Params",
    "RecurrentBackprop",
    "Rflo",
    "Rtrl",
    "RtrlDiscrete",
    "Snap1",
    "TrajectoryTask",
    "Uoro",
    "alignment",
    "fixed_point",
    "flip_flop",
    "readout",
    "rule",
    "sine_generation",
    "train",
    "value_and_grad",
    "vector_field",
]
