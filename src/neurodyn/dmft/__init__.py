"""Dynamic mean-field theory of SCS networks: stationary (Δ0, Δ(τ), λ_max) and two-time C(t, t′)."""

from .stationary import critical_gain_of, ground_state_energy, stationary
from .two_time import two_time

__all__ = ["critical_gain_of", "ground_state_energy", "stationary", "two_time"]
