"""FORCE learning (Sussillo & Abbott, *Generating coherent patterns of activity from chaotic
neural networks*, Neuron 63, 544 (2009)).

The readout is fed back into the network (their Fig. 1A, time in units of τ):

    dh/dt = −h + J φ(g h) + θ + B x(t) + w_f z,      z = W_out φ(g h),

with w_f (n, n_out) fixed, uniform in [−s, s] (s = ``feedback_scale``). While learning, every
``update_every`` steps W_out is corrected by recursive least squares (:mod:`.rls`) with the
a priori error e = z − y(t), so that z follows the target from the first update on and the
feedback loop is never clamped ("first-order reduced and controlled error").

``internal=True`` is the variant that learns inside the network (their Fig. 1C), here in its
dense form: no feedback loop; the recurrent weights of every neuron i are corrected by RLS
with its share of the error, J_i ← J_i − (w_f e)_i · gain, all neurons sharing the one P (the
network is dense, so every neuron sees the same presynaptic rates), and W_out learns as before.
Started from J + w_f W_out, that network is the feedback network written as one matrix:
J(t) = J + w_f W_out(t) at every step, so both variants produce the same z(t) up to rounding
(tested); they differ in what is stored as trained (J without a loop vs W_out with the loop)
and in cost (the internal variant also rewrites the n × n matrix J at every update). The
readout variant takes a sparse network (``Network.random(..., K=...)``), as the paper's did;
the internal variant needs the dense J and refuses a sparse one (the paper's sparse internal
learning, one P per neuron over its presynaptic partners, is not implemented).
"""

from __future__ import annotations

from typing import ClassVar, final

import equinox as eqx
import jax
import jax.numpy as jnp

from ... import validation
from ...errors import ParameterError
from ...network import rate
from .. import _fixed_step
from ..params import readout, vector_field
from .online import AbstractOnlineRule
from .rls import rls_correct, rls_gain


@final
class Force(AbstractOnlineRule):
    """FORCE: RLS on the readout, fed back (see the module docstring).

    **Fields:** those of :class:`~.online.AbstractOnlineRule` (``alpha``, ``update_every``,
    ``dt``, ``stepper``) and
    - ``feedback_scale`` ≥ 0: w_f uniform in [−feedback_scale, feedback_scale] (1 in the paper).
    - ``internal`` (static): learn the recurrent weights instead of feeding z back.
    """

    name: ClassVar[str] = "force"
    description: ClassVar[str] = "FORCE: RLS on the fed-back readout (Sussillo & Abbott 2009)"

    feedback_scale: float = 1.0
    internal: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        validation.non_negative("feedback_scale", self.feedback_scale)
        if not isinstance(self.internal, bool):
            raise ParameterError(f"internal={self.internal!r} must be True or False")

    @property
    def needs_dense(self) -> bool:
        # the internal variant rewrites the (n, n) matrix J; the readout variant only runs the
        # network (dense or sparse, as in the paper) and corrects W_out
        return self.internal

    def draw(self, key, n, n_out, dtype):
        return self.feedback_scale * jax.random.uniform(key, (n, n_out), dtype, -1.0, 1.0)

    def start(self, params, task, drive):
        weights = {"W_out": params.W_out}
        if self.internal:
            weights["J"] = params.net.J + drive @ params.W_out
        return task.h0, weights

    def advance(self, params, task, drive, weights, y, t, dt, learning):
        if self.internal:
            current = params.replace(J=weights["J"])

            def field(t, h):
                return vector_field(h, current, task.input_at(t))
        else:
            current = params.replace(W_out=weights["W_out"])

            def field(t, h):  # the readout fed back through w_f
                return vector_field(h, params, task.input_at(t)) + drive @ readout(h, current)

        return _fixed_step.rk_step(field, t, y, dt, self.stepper)

    def output(self, params, weights, y):
        return readout(y, params.replace(W_out=weights["W_out"]))

    def learn(self, params, drive, weights, P, y, target):
        rates = rate(y, params.net)
        error = weights["W_out"] @ rates - target
        P, gain = rls_gain(P, rates)
        weights = dict(weights, W_out=rls_correct(weights["W_out"], error, gain))
        if self.internal:
            weights["J"] = rls_correct(weights["J"], drive @ error, gain)
        return P, weights

    def trained(self, params, drive, weights):
        if self.internal:
            return (params.replace(J=weights["J"], W_out=weights["W_out"]),
                    jnp.zeros_like(drive))
        return params.replace(W_out=weights["W_out"]), drive
