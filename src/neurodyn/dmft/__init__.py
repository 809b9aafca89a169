"""Dynamic mean-field theory of SCS networks: stationary (Δ0, Δ(τ), λ_max) and two-time C(t, t′)."""

from .stationary import (
    SUPPORTED_PHI,
    critical_gain_of,
    ground_state_energy,
    model_parameters,
    stationary,
)
from .two_time import two_time

__all__ = ["SUPPORTED_PHI", "critical_gain_of", "ground_state_energy", "model_parameters",
           "stationary", "two_time"]
