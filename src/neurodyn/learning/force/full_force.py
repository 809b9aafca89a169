"""full-FORCE (DePasquale, Cueva, Rajan, Escola & Abbott, *full-FORCE: a target-based method
for training recurrent networks*, PLoS ONE 13, e0191527 (2018)).

Two networks run side by side from the same h0 (time in units of τ):

- the target-generating network, the untrained network driven by the target itself,
  dh_D/dt = −h_D + J^D φ(g h_D) + θ + B x(t) + u y(t), with J^D the network's J and u (n, n_out)
  fixed, uniform in [−s, s] (s = ``drive_scale``; 1 in the paper's code);
- the task-performing network, dh/dt = −h + J φ(g h) + θ + B x(t), no feedback loop.

While learning, every ``update_every`` steps RLS (:mod:`.rls`) corrects every row of J so that
the task network's recurrent input J φ(g h) follows the target network's J^D φ(g h_D) + u y(t)
(the a priori error e = J r − J^D r_D − u y, an n-vector), and W_out so that z = W_out φ(g h)
follows y; both regress on the task network's rates r, so they share one P. θ and B x enter both
networks alike and cancel from the error. After learning the task network runs alone; the target
network is not integrated in the test phase.

J starts from the network's own J (= J^D), so RLS solves the ridge regression towards J^D
(the paper's code starts the learned matrix from zero, i.e. a ridge towards 0; at t_0 the two
networks coincide, so here the first error is −u y alone).
"""

from __future__ import annotations

from typing import ClassVar, final

import jax
import jax.numpy as jnp

from ... import validation
from ...network import rate
from .. import _fixed_step
from ..params import readout, vector_field
from .online import AbstractOnlineRule, target_at
from .rls import rls_correct, rls_gain


@final
class FullForce(AbstractOnlineRule):
    """full-FORCE: RLS on the recurrent weights towards a target-generating network (see the
    module docstring).

    **Fields:** those of :class:`~.online.AbstractOnlineRule` (``alpha``, ``update_every``,
    ``dt``, ``stepper``) and ``drive_scale`` > 0: u uniform in [−drive_scale, drive_scale].
    """

    name: ClassVar[str] = "full_force"
    description: ClassVar[str] = ("full-FORCE: RLS on J towards a target-driven copy of the "
                                  "network (DePasquale et al. 2018)")

    drive_scale: float = 1.0

    def __check_init__(self):
        validation.positive("drive_scale", self.drive_scale)

    @property
    def needs_dense(self) -> bool:
        return True  # J (n, n) is the learned weight and its target J φ(g h_target)

    def draw(self, key, n, n_out, dtype):
        return self.drive_scale * jax.random.uniform(key, (n, n_out), dtype, -1.0, 1.0)

    def start(self, params, task, drive):
        return (task.h0, task.h0), {"J": params.net.J, "W_out": params.W_out}

    def advance(self, params, task, drive, weights, y, t, dt, learning):
        h, h_target = y
        current = params.replace(J=weights["J"])

        def task_field(t, h):
            return vector_field(h, current, task.input_at(t))

        def target_field(t, h):  # the untrained network, driven by the target
            return vector_field(h, params, task.input_at(t)) + drive @ target_at(task, t)

        h = _fixed_step.rk_step(task_field, t, h, dt, self.stepper)
        h_target = jax.lax.cond(
            learning, lambda h: _fixed_step.rk_step(target_field, t, h, dt, self.stepper),
            lambda h: h, h_target)
        return h, h_target

    def output(self, params, weights, y):
        return readout(y[0], params.replace(W_out=weights["W_out"]))

    def learn(self, params, drive, weights, P, y, target):
        h, h_target = y
        rates = rate(h, params.net)
        recurrent_target = params.net.J @ rate(h_target, params.net) + drive @ target
        error_J = weights["J"] @ rates - recurrent_target
        error_out = weights["W_out"] @ rates - target
        P, gain = rls_gain(P, rates)
        return P, {"J": rls_correct(weights["J"], error_J, gain),
                   "W_out": rls_correct(weights["W_out"], error_out, gain)}

    def trained(self, params, drive, weights):
        return params.replace(J=weights["J"], W_out=weights["W_out"]), jnp.zeros_like(drive)
