"""Shared test helpers."""

import math

import numpy as np
from scipy import integrate, optimize


def scs_delta0_energy_condition(g: float) -> float:
    """Δ0 of h for φ = tanh from the SCS energy condition, by scipy quadrature and brentq.

    Independent of neurodyn's own Gaussian averages: Δ0²/2 = (⟨Φ(x)²⟩ − ⟨Φ(x)⟩²)/g² with
    x ~ N(0, g²Δ0) and Φ = log cosh (Sompolinsky, Crisanti & Sommers 1988, in h units).
    """

    def average(f, variance):
        std = math.sqrt(variance)
        return integrate.quad(
            lambda z: f(std * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
            -12, 12, epsabs=1e-14, epsrel=1e-12, limit=200,
        )[0]

    def log_cosh(x):
        return float(np.logaddexp(x, -x) - math.log(2.0))

    def condition(delta0):
        variance = g * g * delta0
        spread = average(lambda x: log_cosh(x) ** 2, variance) - average(log_cosh, variance) ** 2
        return delta0**2 / 2 - spread / g**2

    return optimize.brentq(condition, 1e-9, 100.0, xtol=1e-14)
