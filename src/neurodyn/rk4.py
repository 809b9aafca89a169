"""The classical fourth-order Runge–Kutta method as a diffrax solver.

diffrax has no named classical RK4, so this module supplies its Butcher tableau on diffrax's
explicit Runge–Kutta machinery (no integration loop of our own). It lives apart from
:mod:`neurodyn.solvers` so that the list of solver names can be read without importing diffrax.
"""

from __future__ import annotations

import diffrax
import numpy as np


class ClassicalRK4(diffrax.AbstractERK):
    """The classical 4-stage, order-4 Runge–Kutta method (Kutta 1901), fixed step only.

    It has no embedded error estimate (``b_error`` is zero), so it must be used with
    ``diffrax.ConstantStepSize``.
    """

    tableau = diffrax.ButcherTableau(
        c=np.array([0.5, 0.5, 1.0]),
        b_sol=np.array([1 / 6, 1 / 3, 1 / 3, 1 / 6]),
        b_error=np.zeros(4),
        a_lower=(np.array([0.5]), np.array([0.0, 0.5]), np.array([0.0, 0.0, 1.0])),
    )
    interpolation_cls = diffrax.ThirdOrderHermitePolynomialInterpolation.from_k

    def order(self, terms):
        return 4
