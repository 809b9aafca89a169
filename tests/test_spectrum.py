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
- λ_1 approaches the DMFT λ_max (independent: the mean-field Schrödinger problem) with N.
"""

from __future__ import annotations

import math

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
