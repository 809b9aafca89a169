"""Training demo: Adam (on jax) with two different gradient methods reduces the loss ≥ 10×."""

import numpy as np
import pytest

import neurodyn as nd
import neurodyn.learning as L


@pytest.mark.parametrize("method", ["bptt_scan", "rtrl_discrete"])
def test_sine_generation_from_a_chaotic_network_trains(method, tmp_path):
    """A g = 1.5 (chaotic) network learns to produce a sine at its readout (W_out and θ
    trained): the loss falls by ≥ 10×. The two methods compute the same gradient (forward vs
    reverse mode), so their loss curves coincide — an independent check of the whole loop."""
    params, task = L.sine_generation(n=30, g=1.5, duration=10.0, period=5.0, seed=0)
    out = tmp_path / f"{method}.zarr"
    trained, ds = L.train(params, task, method=method, trainable=("W_out", "theta"),
                          iterations=80, learning_rate=0.03, dt=0.05, out=out)
    assert ds.attrs["final_loss"] <= ds.loss.values[0] / 10, (ds.loss.values[0],
                                                              ds.attrs["final_loss"])
    saved = nd.open_run(out)
    np.testing.assert_array_equal(saved.loss.values, ds.loss.values)
    assert saved.attrs["method"] == method and sorted(saved.attrs["trainable"]) == ["W_out", "theta"]
    assert np.array_equal(np.asarray(trained.net.J), np.asarray(params.net.J))  # J not trained


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
