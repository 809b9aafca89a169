"""Training by gradient descent or Adam (optax) with any learning rule.

Adam: Kingma & Ba, *Adam: a method for stochastic optimization*, ICLR 2015, Algorithm 1
(m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², w ← w − η m̂ / (√v̂ + ε) with bias-corrected m̂, v̂),
as ``optax.adam(η, b1=β₁, b2=β₂, eps=ε)``; SGD is ``optax.sgd(η)`` (w ← w − η g).
The loss curve is returned as an xarray Dataset; train writes nothing (save the Dataset with
:func:`neurodyn.save_run`, draw it with :func:`neurodyn.plots.plot`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr

from .. import validation
from ..errors import DivergenceError, ParameterError
from ..provenance import provenance
from ._groups import check_trainable, select
from .params import TRAINABLE, Params
from .registry import rule

OPTIMIZERS = ("adam", "sgd")


def _optimizer(optimizer: str, learning_rate: float, beta1: float, beta2: float,
               eps: float) -> optax.GradientTransformation:
    if optimizer == "adam":
        return optax.adam(learning_rate, b1=beta1, b2=beta2, eps=eps)
    return optax.sgd(learning_rate)


def train(params: Params, task, method: str = "bptt", trainable=TRAINABLE, iterations: int = 200,
          learning_rate: float = 1e-2, optimizer: str = "adam", beta1: float = 0.9,
          beta2: float = 0.999, eps: float = 1e-8, *, out=None, overwrite=None,
          **options) -> tuple[Params, xr.Dataset]:
    """Minimise the task's loss over the ``trainable`` groups with gradients from ``method``.

    **Arguments:** ``params`` (:class:`Params`), ``task`` (trajectory or fixed-point task),
    ``method`` (see :data:`neurodyn.learning.METHODS`), ``iterations`` ≥ 1, ``learning_rate`` > 0,
    ``optimizer`` ∈ {adam, sgd}, Adam's β₁, β₂, ε; ``options`` go to the gradient method. The
    former ``out`` and ``overwrite`` raise :class:`ParameterError` saying what to call instead
    (``neurodyn.save_run(ds, out)``), before any work.

    **Returns:** (trained params, Dataset with ``loss`` and ``grad_norm`` over ``iteration``;
    ``loss[i]`` is the loss *before* update i, and the final loss after the last update is the
    attribute ``final_loss``; ``neurodyn.plots.plot(ds, png)`` draws the curve). Raises
    :class:`DivergenceError` if the loss becomes non-finite.
    """
    if out is not None or overwrite is not None:
        raise ParameterError(
            f"train(out={out!r}, overwrite={overwrite!r}): train returns (params, Dataset) and "
            "writes nothing (out and overwrite were removed); save the curve with "
            "neurodyn.save_run(ds, out, overwrite=...), draw it with "
            "neurodyn.plots.plot(ds, 'train.png')")
    trainable = check_trainable(trainable)
    iterations = validation.positive_int("iterations", iterations)
    learning_rate = validation.positive("learning_rate", learning_rate)
    optimizer = validation.choice("optimizer", optimizer, OPTIMIZERS)
    beta1 = validation.in_range("beta1", beta1, 0.0, 1.0)
    beta2 = validation.in_range("beta2", beta2, 0.0, 1.0)
    eps = validation.positive("eps", eps)
    gradient_rule = rule(method, **options)
    transform = _optimizer(optimizer, learning_rate, beta1, beta2, eps)

    @jax.jit
    def update(groups, grads, state):
        updates, state = transform.update(grads, state, groups)
        return optax.apply_updates(groups, updates), state

    groups = select(params, trainable)
    state = transform.init(groups)
    losses, norms = np.empty(iterations), np.empty(iterations)
    for iteration in range(iterations):
        loss, grads = gradient_rule.value_and_grad(params.replace(**groups), task, trainable)
        losses[iteration] = float(loss)
        norms[iteration] = math.sqrt(sum(float(jnp.sum(d * d)) for d in grads.values()))
        if not (math.isfinite(losses[iteration]) and math.isfinite(norms[iteration])):
            raise DivergenceError(f"train: loss or gradient became non-finite at iteration "
                                  f"{iteration} (method={method!r}); lower learning_rate")
        groups, state = update(groups, grads, state)
    params = params.replace(**groups)
    final_loss, _ = gradient_rule.value_and_grad(params, task, trainable)

    json_options = {key: (value if isinstance(value, (str, int, float, bool)) or value is None
                          else repr(value)) for key, value in options.items()}
    ds = xr.Dataset(
        {"loss": ("iteration", losses, {"long_name": "loss before the update", "units": "1"}),
         "grad_norm": ("iteration", norms,
                       {"long_name": "Euclidean norm of the gradient over trainable groups"})},
        coords={"iteration": ("iteration", np.arange(iterations),
                              {"long_name": "optimiser iteration"})},
        attrs={"kind": "learning.train", "method": method, "trainable": list(trainable),
               "optimizer": optimizer, "learning_rate": learning_rate, "beta1": beta1,
               "beta2": beta2, "eps": eps, "iterations": iterations,
               "final_loss": float(final_loss), "task": type(task).__name__,
               "n": int(params.n), "options": json_options, "provenance": provenance()})
    return params, ds
