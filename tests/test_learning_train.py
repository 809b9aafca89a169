"""Training demo: Adam (optax) with two different gradient methods reduces the loss ≥ 10×, and
train's optimiser steps equal Kingma & Ba's Algorithm 1 written out here."""

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import keyword_clashes

import neurodyn as nd
import neurodyn.learning as L


@pytest.mark.parametrize("method", ["bptt_scan", "rtrl_discrete"])
def test_sine_generation_from_a_chaotic_network_trains(method, tmp_path):
    """A g = 1.5 (chaotic) network learns to produce a sine at its readout (W_out and θ
    trained): the loss falls by ≥ 10×. The two methods compute the same gradient (forward vs
    reverse mode), so their loss curves coincide — an independent check of the whole loop."""
    params, task = L.sine_generation(n=30, g=1.5, duration=10.0, period=5.0, seed=0)
    trained, ds = L.train(params, task, method=method, trainable=("W_out", "theta"),
                          iterations=80, learning_rate=0.03, dt=0.05)
    assert not keyword_clashes(ds)
    assert ds.attrs["final_loss"] <= ds.loss.values[0] / 10, (ds.loss.values[0],
                                                              ds.attrs["final_loss"])
    out = nd.save_run(ds, tmp_path / f"{method}.zarr")  # train writes nothing; the caller saves
    saved = nd.open_run(out)
    np.testing.assert_array_equal(saved.loss.values, ds.loss.values)
    assert saved.attrs["method"] == method and sorted(saved.attrs["trainable"]) == ["W_out", "theta"]
    assert np.array_equal(np.asarray(trained.net.J), np.asarray(params.net.J))  # J not trained
    # the training curve is redrawn from the saved run (plots.train_figure: 10 x 4 in at 110 dpi)
    png = nd.plots.plot(out, tmp_path / f"{method}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[16:24] == (1100).to_bytes(4, "big") + (
        440).to_bytes(4, "big")


def test_the_two_methods_give_the_same_loss_curve():
    params, task = L.sine_generation(n=30, g=1.5, duration=10.0, period=5.0, seed=0)
    curves = [L.train(params, task, method=m, trainable=("W_out", "theta"), iterations=10,
                      learning_rate=0.03, dt=0.05)[1].loss.values
              for m in ("bptt_scan", "rtrl_discrete")]
    # Adam amplifies rounding differences only through the sign/scale of tiny gradients
    np.testing.assert_allclose(curves[0], curves[1], rtol=1e-9)


def test_train_rejects_bad_settings():
    params, task = L.sine_generation(n=5, duration=1.0)
    with pytest.raises(nd.ParameterError, match="learning_rate"):
        L.train(params, task, learning_rate=-1.0)
    with pytest.raises(nd.ParameterError, match="optimizer"):
        L.train(params, task, optimizer="lbfgs")
    # the removed saving arguments: refused before any work, naming what to call instead
    for removed in ({"out": "curve.zarr"}, {"overwrite": True}):
        with pytest.raises(nd.ParameterError, match=r"writes nothing.*neurodyn\.save_run"):
            L.train(params, task, **removed)


def test_adam_and_sgd_steps_are_the_textbook_updates():
    """Five steps of train's Adam (optax) equal Kingma & Ba (ICLR 2015) Algorithm 1 written out
    here with the same β₁, β₂, ε and step size (m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
    w ← w − η m̂ / (√v̂ + ε)), and one SGD step is w − η g, to round-off (1e-13 relative)."""
    params, task = L.sine_generation(n=6, duration=1.0, seed=2)
    trainable, lr, beta1, beta2, eps = ("W_out", "theta"), 0.05, 0.8, 0.99, 1e-6
    options = {"method": "bptt_scan", "trainable": trainable, "dt": 0.05}
    trained, _ = L.train(params, task, iterations=5, learning_rate=lr, beta1=beta1, beta2=beta2,
                         eps=eps, **options)
    groups = {name: params.get(name) for name in trainable}
    m = {name: jnp.zeros_like(w) for name, w in groups.items()}
    v = {name: jnp.zeros_like(w) for name, w in groups.items()}
    for step in range(1, 6):
        _, grads = L.value_and_grad(params.replace(**groups), task, **options)
        for name in trainable:
            m[name] = beta1 * m[name] + (1 - beta1) * grads[name]
            v[name] = beta2 * v[name] + (1 - beta2) * grads[name] ** 2
            m_hat, v_hat = m[name] / (1 - beta1**step), v[name] / (1 - beta2**step)
            groups[name] = groups[name] - lr * m_hat / (jnp.sqrt(v_hat) + eps)
    for name in trainable:
        np.testing.assert_allclose(trained.get(name), groups[name], rtol=1e-13, atol=1e-15)
    descended, _ = L.train(params, task, iterations=1, learning_rate=lr, optimizer="sgd",
                           **options)
    _, grads = L.value_and_grad(params, task, **options)
    for name in trainable:
        np.testing.assert_allclose(descended.get(name), params.get(name) - lr * grads[name],
                                   rtol=1e-13, atol=1e-15)
