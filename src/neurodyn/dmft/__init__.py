"""Dynamic mean-field theory of SCS networks: stationary (Δ0, Δ(τ), λ_max) and two-time C(t, t′).

Both solvers take a :class:`neurodyn.MeanFieldModel` (``model=``) or its parameters as keywords.
"""

from ..mean_field import MeanFieldModel
from .stationary import (
    GRID_POINTS,
    critical_gain_of,
    ground_state,
    ground_state_energy,
    stationary,
    stationary_arrays,
    stationary_dataset,
    transition_half_width,
)
from .two_time import MAX_SECONDS, check_two_time_plan, two_time

__all__ = ["GRID_POINTS", "MAX_SECONDS", "MeanFieldModel", "check_two_time_plan",
           "critical_gain_of", "ground_state", "ground_state_energy", "stationary",
           "stationary_arrays", "stationary_dataset", "transition_half_width", "two_time"]
