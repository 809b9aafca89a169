"""The mean-field model of an SCS network: what its dynamic mean-field theory depends on.

For ``dh/dt = −h + J φ(g h) + θ + σ ξ`` with ``J_ij ~ N(J_mean/N, 1/N)``,
``θ_i ~ N(theta_mean, theta_std²)`` and white noise ξ, the large-N theory depends on
(g, φ, J_mean, theta_mean, theta_std, σ) only: N and the seeds drop out. A
:class:`MeanFieldModel` holds exactly these, checked by the shared rules of
:mod:`neurodyn.model_parameters` (the ones ``Network.random`` uses), and is what
:func:`neurodyn.dmft.stationary`, :func:`neurodyn.dmft.two_time`, the chaos job and the sweep
pass around. ``symmetry`` (η = corr(J_ij, J_ji)) is carried for the network it came from; the
solvers cover η = 0 and refuse others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import equinox as eqx

from . import model_parameters, nonlinearity
from .errors import ParameterError


class MeanFieldModel(eqx.Module):
    """Parameters of the mean-field theory (an equinox Module: a pytree whose leaves are the
    numbers, with φ static, so a jitted solver traced for one φ serves every g, bias and σ).

    **Fields:** ``g`` ≥ 0 (gain inside φ), ``phi`` (a :class:`neurodyn.nonlinearity.Nonlinearity`;
    a registered name is looked up), ``J_mean`` (mean coupling × N), ``theta_mean``,
    ``theta_std`` ≥ 0 (Gaussian biases), ``noise`` σ ≥ 0 (additive white noise σ dW), all in h
    units; ``symmetry`` η ∈ [−1, 1] of the couplings (the DMFT solvers need η = 0).
    """

    g: float
    J_mean: float
    theta_mean: float
    theta_std: float
    noise: float
    symmetry: float
    phi: nonlinearity.Nonlinearity = eqx.field(static=True)

    def __init__(self, g: float = 2.0, phi: Any = "tanh", J_mean: float = 0.0,
                 theta_mean: float = 0.0, theta_std: float = 0.0, noise: float = 0.0,
                 symmetry: float = 0.0):
        self.g = model_parameters.g("g", g)
        self.phi = nonlinearity.get(phi)
        self.J_mean = model_parameters.J_mean("J_mean", J_mean)
        self.theta_mean = model_parameters.theta_mean("theta_mean", theta_mean)
        self.theta_std = model_parameters.theta_std("theta_std", theta_std)
        self.noise = model_parameters.noise("noise", noise)
        self.symmetry = model_parameters.symmetry("symmetry", symmetry)

    @classmethod
    def from_description(cls, description: Mapping[str, Any], noise: float = 0.0,
                         phi: Any = None) -> MeanFieldModel:
        """The model of a network description: :meth:`Network.describe`, a run's
        ``attrs["network"]`` or the keyword arguments of ``Network.random``.

        Parameters absent from ``description`` take the defaults of ``Network.random`` (g = 2,
        tanh, J_mean = θ = η = 0); ``phi`` overrides the description's (a Nonlinearity, for a φ
        the description can name only). ``noise`` is the run's σ.
        """
        known = ("g", "phi", "J_mean", "theta_mean", "theta_std", "symmetry")
        values = {name: description[name] for name in known if name in description}
        if phi is not None:
            values["phi"] = phi
        return cls(noise=noise, **values)

    @classmethod
    def from_network(cls, net: Any, noise: float = 0.0) -> MeanFieldModel:
        """The model of a network drawn by ``Network.random`` (its construction parameters give
        J_mean, θ and η, which its arrays hold only as one sample); ``noise`` is σ.

        A network without construction parameters (``Network.from_arrays``, or
        ``without_metadata()``) is refused: its couplings need not be Gaussian with variance
        1/N, which the theory assumes; build the model directly instead.
        """
        params = dict(getattr(net, "params", ()))
        if "J_mean" not in params:
            raise ParameterError(
                "MeanFieldModel.from_network needs a network from Network.random (its "
                "construction parameters J_mean, theta_mean, theta_std, symmetry); this one has "
                f"params={params!r}; build MeanFieldModel(g=..., phi=..., ...) directly")
        return cls.from_description({**params, "g": float(net.g)}, noise=noise, phi=net.phi)

    def describe(self) -> dict[str, Any]:
        """JSON-ready parameters, φ by its name."""
        return {"g": self.g, "phi": self.phi.name, "J_mean": self.J_mean,
                "theta_mean": self.theta_mean, "theta_std": self.theta_std, "noise": self.noise,
                "symmetry": self.symmetry}
