"""Dynamic mean-field theory of SCS networks: stationary (Δ0, Δ(τ), λ_max) and two-time C(t, t′).

Both solvers take a :class:`neurodyn.MeanFieldModel` (``model=``) or its parameters as keywords.
"""

from ..errors import ParameterError
from ..mean_field import MeanFieldModel
from ..nonlinearity_names import names_with
from .sampling import sampling
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

SUPPORTED_PHI = names_with(bounded=True)
"""The registered φ names the DMFT solves (kept for notebooks and scripts that test a name).
The rule itself is a capability: any bounded :class:`neurodyn.nonlinearity.Nonlinearity`,
registered or not, is supported (``nd.nonlinearity.get(phi).bounded``)."""


def model_parameters(network, noise: float = 0.0) -> dict:
    """Keyword arguments of :func:`stationary` for a network description (``Network.describe()``
    or a run's ``attrs["network"]``) and the run's noise σ. Kept for scripts written before
    :class:`MeanFieldModel`; new code passes ``model=MeanFieldModel.from_description(network,
    noise=noise)``."""
    parameters = MeanFieldModel.from_description(network, noise=noise).describe()
    if parameters.pop("symmetry") != 0:
        raise ParameterError(f"symmetry={network.get('symmetry')!r}: the DMFT solvers cover "
                             "symmetry = 0 only (independent J_ij, J_ji)")
    return parameters

__all__ = ["GRID_POINTS", "MAX_SECONDS", "MeanFieldModel", "SUPPORTED_PHI",
           "check_two_time_plan",
           "critical_gain_of", "ground_state", "ground_state_energy", "model_parameters", "stationary",
           "sampling",
           "stationary_arrays", "stationary_dataset", "transition_half_width", "two_time"]
