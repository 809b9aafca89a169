"""Dynamic mean-field theory of SCS networks: stationary (Δ0, Δ(τ), λ_max) and two-time C(t, t′)."""

from .stationary import (
    GRID_POINTS,
    SUPPORTED_PHI,
    critical_gain_of,
    ground_state,
    ground_state_energy,
    model_parameters,
    stationary,
)
from .two_time import MAX_SECONDS, check_two_time_plan, two_time

__all__ = ["GRID_POINTS", "MAX_SECONDS", "SUPPORTED_PHI", "check_two_time_plan",
           "critical_gain_of", "ground_state", "ground_state_energy", "model_parameters",
           "stationary", "two_time"]
