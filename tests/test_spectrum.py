"""The spectrum summaries (neurodyn.spectrum) against closed forms, and the Lyapunov spectra of
real networks against truths that do not come from the QR method itself.

Closed forms: hand spectra whose Kaplan–Yorke dimension and entropy rate are known; the
participation ratio of vectors spread over a known number of neurons.

Real networks (tanh, small N so the full spectrum is cheap):
- the sum of all N exponents is the time average of tr ∂F/∂h (Liouville: the volume growth of
  the tangent flow), which for couplings without autapses is exactly −N (∂F/∂h = −1 + J D
  with a zero diagonal of J);
- an autonomous flow has one exponent 0 (the direction along the flow), resolved far below
  the spacing of the neighbouring exponents;
- chaos is extensive (Engelken, Wolf & Abbott 2023): λ_i vs i/N is the same curve for two N,
  within the standard errors over networks;
λ_1 against the DMFT λ_max as N grows (the mean-field Schrödinger problem, independent of the
QR method) is tested in tests/test_chaos.py: N = 100 falls short by more than 3 standard errors,
and the 1/N extrapolation meets the theory within 3.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import neurodyn as nd
from neurodyn.spectrum import participation_ratio, per_neuron_spectrum

# ---------------------------------------------------------------- closed forms


def test_kaplan_yorke_and_entropy_of_a_hand_spectrum():
    # λ = (0.5, 0.2, 0, −0.4, −1): cumulative 0.5, 0.7, 0.7, 0.3, −0.7, so j = 4 and
    # D = 4 + 0.3/1 = 4.3; h_KS = 0.5 + 0.2 = 0.7. Shuffled input: sorting is the function's job.
    spectrum = [-0.4, 0.2, -1.0, 0.5, 0.0]
    assert nd.lyapunov_dimension(spectrum) == pytest.approx(4.3, abs=1e-12)
    assert nd.entropy_rate(spectrum) == pytest.approx(0.7, abs=1e-12)
    # Lorenz-like (0.9, 0, −14.6): D = 2 + 0.9/14.6
    assert nd.lyapunov_dimension([0.9, 0.0, -14.6]) == pytest.approx(2 + 0.9 / 14.6, abs=1e-12)


def test_per_neuron_values_divide_by_n_given_or_recorded():
    spectrum = np.array([0.5, 0.2, 0.0, -0.4, -1.0])
    assert nd.lyapunov_dimension(spectrum, per_neuron=True, N=10) == pytest.approx(0.43)
    assert nd.entropy_rate(spectrum, per_neuron=True, N=np.int64(10)) == pytest.approx(0.07)
    import xarray as xr
    recorded = xr.DataArray(spectrum, dims=("exponent",), attrs={"network": {"N": 5}})
    assert nd.lyapunov_dimension(recorded, per_neuron=True) == pytest.approx(4.3 / 5)
    curve = per_neuron_spectrum(recorded)
    np.testing.assert_allclose(curve.fraction, [0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_array_equal(curve.values, spectrum)


def test_edge_cases_of_the_dimension():
    # a stable fixed point: every exponent negative
    assert nd.lyapunov_dimension([-0.1, -2.0]) == 0.0
    assert nd.entropy_rate([-0.1, -2.0]) == 0.0
    # a partial spectrum whose sum is still >= 0: D exceeds k, undetermined
    assert math.isnan(nd.lyapunov_dimension([0.3, 0.1, -0.2]))
    assert nd.entropy_rate([0.3, 0.1, -0.2]) == pytest.approx(0.4)
    # a cumulative sum that reaches exactly 0 counts that exponent (j = 2, D = 2 + 0/1)
    assert nd.lyapunov_dimension([0.5, -0.5, -1.0]) == pytest.approx(2.0)
    # a limit cycle (0, −1): D = 1
    assert nd.lyapunov_dimension([0.0, -1.0]) == pytest.approx(1.0)


def test_participation_ratio_of_spread_and_localised_vectors():
    N = 12
    vectors = np.zeros((N, 3))
    vectors[:, 0] = 3.0                          # all N neurons: P = N (norm irrelevant)
    vectors[[1, 4, 7], 1] = [1.0, -1.0, 1.0]      # three neurons: P = 3
    vectors[5, 2] = -0.2                          # one neuron: P = 1
    np.testing.assert_allclose(participation_ratio(vectors), [N, 3.0, 1.0])
    assert participation_ratio(vectors[:, 1]) == pytest.approx(3.0)


@pytest.mark.parametrize("call, fragment", [
    (lambda: nd.lyapunov_dimension([]), "exponents has shape (0,)"),
    (lambda: nd.entropy_rate([[0.1, -1.0]]), "exponents has shape (1, 2)"),
    (lambda: nd.lyapunov_dimension([0.1, float("nan")]), "non-finite values (1 of 2)"),
    (lambda: nd.entropy_rate([0.1, -1.0], per_neuron=True), "N=None and the exponents carry no"),
    (lambda: nd.lyapunov_dimension([0.1, -1.0], per_neuron=True, N=1),
     "N=1 is smaller than the 2 exponents"),
    (lambda: nd.lyapunov_dimension([0.1, -1.0], per_neuron=True, N=2.5), "N=2.5 must be"),
    (lambda: per_neuron_spectrum([0.1, -1.0], N=0), "N=0 must be a positive integer"),
    (lambda: participation_ratio(np.zeros(3)), "a vector is zero"),
    (lambda: participation_ratio(np.ones((2, 2, 2))), "vectors has shape (2, 2, 2)"),
    (lambda: participation_ratio([1.0, np.inf]), "non-finite"),
])
def test_bad_input_is_refused_with_the_parameter(call, fragment):
    with pytest.raises(nd.ParameterError) as error:
        call()
    assert fragment in str(error.value)


# ---------------------------------------------------------------- real networks

GAIN = 4.0
SEEDS = tuple(range(6))
# (window, transient) per size, τ. The window is a static length of the QR scan, so each pair
# is one compilation; N = 40 gets the long window the zero exponent needs (≈ 1 s per solve),
# N = 20 a short one (≈ 0.2 s per solve; the earlier N = 80 took ≈ 3 s per solve, most of
# this file's time, for the same checks: see the extensivity test).
WINDOWS = {40: (500.0, 100.0), 20: (100.0, 30.0)}


def _spectrum(net, N, seed=0):
    window, warm = WINDOWS[N]
    return nd.lyapunov(net, t1=window, k=N, transient=warm, seed=seed)


@pytest.fixture(scope="module")
def spectra():
    """Full spectra (k = N) of six networks at each size, g = 4: {N: (exponents, traces)}."""
    out = {}
    for N in WINDOWS:
        runs = [_spectrum(nd.Network.random(N=N, g=GAIN, seed=s), N, seed=s) for s in SEEDS]
        out[N] = (np.array([r.values for r in runs]),
                  np.array([r.attrs["jacobian_trace_mean"] for r in runs]))
    return out


def test_sum_of_all_exponents_is_the_time_averaged_jacobian_trace(spectra):
    # Σ log|R_ii| over the QR steps is log|det| of the tangent propagator, which Liouville's
    # formula makes ∫ tr DF dt along the same trajectory: equal up to the solves' error
    # (rtol 1e-7 per step; measured ≤ 4e-6 on sums ≈ −N over 100–500 τ). Tolerance 1e-6 N.
    for N, (exponents, traces) in spectra.items():
        np.testing.assert_allclose(exponents.sum(axis=1), traces, rtol=0, atol=1e-6 * N)
        # not the trivial −N: the autapses J_ii rate′(h_i) move the trace by O(1), far more
        # than the tolerance, so the identity is checked on the trajectory's own trace
        assert np.max(np.abs(traces + N)) > 100 * 1e-6 * N


def test_sum_of_all_exponents_is_minus_n_without_autapses(spectra):
    # With J_ii = 0, tr DF = −N + Σ J_ii rate′ = −N at every h: a value known without the
    # trajectory (Engelken, Wolf & Abbott's networks have no autapses, and mean exponent −1).
    N = 40
    net = nd.Network.random(N=N, g=GAIN, seed=0)
    J = np.array(net.J)
    np.fill_diagonal(J, 0.0)
    # the same network type with the diagonal zeroed: the QR scan compiled for the fixture's
    # networks serves it (Network.from_arrays builds another pytree and would compile again)
    lam = _spectrum(eqx.tree_at(lambda n: n.J, net, jnp.asarray(J, net.J.dtype)), N)
    assert float(lam.sum()) == pytest.approx(-N, abs=1e-6 * N)
    assert lam.attrs["jacobian_trace_mean"] == pytest.approx(-N, abs=1e-12 * N)


def test_an_autonomous_chaotic_flow_has_one_zero_exponent(spectra):
    # The direction along the flow, F(h(t)), neither grows nor shrinks on average: its
    # finite-time rate is log(|F(h(T))| / |F(h(0))|) / T, O(1/T) as |F| stays bounded and away
    # from 0 on the attractor (|F| varies by well under e^2.5 there), while a generic exponent
    # keeps its nonzero value. Over T = 500 τ some exponent must be within 2.5/T = 0.005 of 0
    # (measured 0.0004–0.0027 over two QR methods); the neighbours near 0 are ~0.03 apart at
    # N = 40, so a spectrum without a zero exponent passes for one network with probability
    # ~0.3, for both ~0.1. The exponent must also not be the leading one (λ_1 > 0.1: chaos).
    exponents = spectra[40][0]
    window = WINDOWS[40][0]
    chaotic = exponents[exponents[:, 0] > 0.1]  # seeds 0 and 5 (λ_1 ≈ 0.13-0.15)
    assert len(chaotic) >= 2
    for lam in chaotic:
        near = int(np.argmin(np.abs(lam)))
        assert near > 0 and abs(lam[near]) < 2.5 / window, lam[max(near - 1, 0): near + 2]


def test_the_spectrum_per_neuron_is_the_same_for_two_sizes(spectra):
    # Extensive chaos (Engelken, Wolf & Abbott 2023): λ_i depends on i/N only. Exponent i of
    # N = 20 sits at x = (i − ½)/20, the midpoint of exponents 2i−1 and 2i of N = 40, so it is
    # compared with their mean. z per point from the standard errors over the six networks of
    # each size (windows of 100 and 500 τ: both estimate the same ergodic spectra); the 20
    # points are correlated (neighbouring exponents move together), so the bound is on their
    # rms (measured 1.23 at N = 20 vs 40, 1.5-1.6 at N = 40 vs 80: the rest is the O(1/N)
    # widening at the spectrum's lower end) and a loose one on the largest (measured 2.1; 3.1-3.3
    # at 40 vs 80).
    small, large = spectra[20][0], spectra[40][0]
    paired = (large[:, 0::2] + large[:, 1::2]) / 2

    def z(a, b):
        se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        return (a.mean(axis=0) - b.mean(axis=0)) / se

    matched = z(small, paired)
    assert np.sqrt(np.mean(matched**2)) < 2.5 and np.max(np.abs(matched)) < 4.5, matched
    # Negative control: compared by index i instead of i/N the spectra differ by many errors,
    # so the test above can tell an N-independent λ(i/N) from an N-dependent one.
    by_index = z(small, large[:, :20])  # measured rms 5.2
    assert np.sqrt(np.mean(by_index**2)) > 4.0
    # and the summaries per neuron agree within three standard errors of their difference
    for summary in (lambda v: nd.lyapunov_dimension(v) / v.size,
                    lambda v: nd.entropy_rate(v) / v.size):
        a = np.array([summary(v) for v in small])
        b = np.array([summary(v) for v in large])
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 3 * se
