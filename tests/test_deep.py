"""Tests of neurodyn.deep against independent references: scipy quad of the definitions, closed
forms (relu, erf), the σ_b = 0 critical point σ_w = 1, and simulated random deep networks."""

import math

import numpy as np
import pytest
from conftest import keyword_clashes
from scipy import integrate, optimize

import neurodyn as nd
from neurodyn import deep


def _gauss_quad(f):
    """⟨f(z)⟩, z ~ N(0, 1), by adaptive scipy quad with tight tolerances (independent of the
    Gauss–Legendre rule in neurodyn.gaussian)."""
    density = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    parts = [integrate.quad(lambda z: f(z) * density(z), a, b, epsabs=1e-14, epsrel=1e-13,
                            limit=200)[0] for a, b in ((-40, 0), (0, 40))]
    return sum(parts)


@pytest.mark.parametrize("sigma_w,sigma_b", [(1.3, 0.3), (2.5, 0.3), (4.0, 0.05), (0.8, 0.5)])
def test_q_star_and_chi1_match_direct_quadrature(sigma_w, sigma_b):
    # Reference: q* as the root of the independently integrated V(q) − q (brentq on scipy quad),
    # χ₁ by scipy quad at that q*. Both tolerate 1e-8 as the issue requires; quad and brentq are
    # set to ~1e-13 so the reference error is far below it.
    def v(q):
        return sigma_w**2 * _gauss_quad(lambda z: math.tanh(math.sqrt(q) * z) ** 2) + sigma_b**2

    q_ref = optimize.brentq(lambda q: v(q) - q, 1e-6, sigma_w**2 + sigma_b**2 + 1, xtol=1e-14,
                            rtol=1e-14)
    chi_ref = sigma_w**2 * _gauss_quad(lambda z: (1 - math.tanh(math.sqrt(q_ref) * z) ** 2) ** 2)
    assert deep.q_star(sigma_w, sigma_b) == pytest.approx(q_ref, rel=1e-8, abs=1e-10)
    assert deep.chi1(sigma_w, sigma_b) == pytest.approx(chi_ref, rel=1e-8, abs=1e-10)


def test_relu_closed_forms():
    # relu: V(q) = σ_w² q/2 + σ_b², so q* = σ_b²/(1 − σ_w²/2), V′ = χ₁ = σ_w²/2; c-map is the
    # arc-cosine kernel, whose fixed point for σ_w² < 2 is c* = 1 (ordered everywhere).
    sw = np.array([0.5, 1.0, 1.3])
    sb = 0.4
    assert np.allclose(deep.length_map(2.0, sw, sb, "relu"), sw**2 + sb**2, rtol=1e-12)
    assert np.allclose(deep.q_star(sw, sb, "relu"), sb**2 / (1 - sw**2 / 2), rtol=1e-10)
    assert np.allclose(deep.chi1(sw, sb, "relu"), sw**2 / 2, rtol=1e-12)
    assert np.allclose(deep.length_slope(1.7, sw, sb, "relu"), sw**2 / 2, rtol=1e-12)
    assert np.allclose(deep.c_star(sw, sb, "relu"), 1.0)
    with pytest.raises(nd.ConvergenceError, match="sigma_w=1.5"):
        deep.q_star(1.5, 0.1, "relu")  # σ_w² > 2: the length diverges


def test_erf_closed_forms():
    # erf(√π x/2): ⟨φ²⟩ = (2/π) arcsin(k q/(1 + k q)), ⟨φ′²⟩ = 1/√(1 + 2 k q), k = π/2
    # (Williams 1997). q* from brentq on the closed form; c* from brentq on the closed c-map.
    k = math.pi / 2
    sw, sb = 2.5, 0.3
    v = lambda q: sw**2 * (2 / math.pi) * math.asin(k * q / (1 + k * q)) + sb**2  # noqa: E731
    q = optimize.brentq(lambda q: v(q) - q, 1e-3, 50, xtol=1e-14)
    assert deep.q_star(sw, sb, "erf") == pytest.approx(q, rel=1e-9)
    assert deep.chi1(sw, sb, "erf") == pytest.approx(sw**2 / math.sqrt(1 + 2 * k * q), rel=1e-9)

    def cmap(c):
        return (sw**2 * (2 / math.pi) * math.asin(k * c * q / (1 + k * q)) + sb**2) / q

    c = optimize.brentq(lambda c: cmap(c) - c, 0.0, 0.999, xtol=1e-14)
    assert deep.c_star(sw, sb, "erf") == pytest.approx(c, abs=1e-9)
    assert deep.correlation_map(0.5, sw, sb, "erf") == pytest.approx(cmap(0.5), rel=1e-10)


def test_tanh_c_star_is_a_fixed_point_with_slope_below_one():
    # Conditions the theory must satisfy: c* solves C(c*) = c* (checked through the public map)
    # and is stable (χ_c < 1) in the chaotic phase; ξ_c matches −1/ln χ_c by definition.
    sw, sb = 2.5, 0.3
    c = deep.c_star(sw, sb)
    assert 0 < c < 1
    assert deep.correlation_map(c, sw, sb) == pytest.approx(c, abs=1e-7)
    scales = deep.depth_scales(sw, sb)
    # Central difference: truncation ~h² C‴ ~ 1e-10; pair-quadrature noise ~1e-9/h ~ 1e-4.
    h = 1e-5
    slope = (deep.correlation_map(c + h, sw, sb) - deep.correlation_map(c - h, sw, sb)) / (2 * h)
    assert scales["chi_c"] == pytest.approx(slope, rel=1e-3)
    assert scales["chi_c"] < 1


def test_critical_line_starts_at_sigma_w_one_for_tanh():
    # For σ_b = 0, q* = 0 for σ_w ≤ 1 so χ₁ = σ_w² φ′(0)² = σ_w²: the critical line χ₁ = 1 meets
    # the σ_b = 0 axis at σ_w = 1 (the deep analogue of g_c = 1). Bisection on χ₁ to 1e-9.
    assert deep.critical_sigma_w(0.0) == pytest.approx(1.0, abs=1e-9)
    assert deep.chi1(0.9, 0.0) == pytest.approx(0.81, rel=1e-12)
    assert deep.q_star(0.9, 0.0) == 0.0
    assert deep.chi1(1.1, 0.0) > 1.0  # just above: chaotic
    # With bias the line moves to larger σ_w (bias orders the network).
    assert deep.critical_sigma_w(0.3) > 1.05


def test_phase_diagram_grid_matches_pointwise_calls():
    sw, sb = np.array([0.8, 1.5, 3.0]), np.array([0.0, 0.5])
    pd = deep.phase_diagram(sw, sb, "erf")
    assert bool(pd.converged.all())
    assert np.allclose(pd.q_star.sel(sigma_b=0.5).values, deep.q_star(sw, 0.5, "erf"),
                       rtol=1e-12)
    ordered = pd.chi1.values < 1
    assert np.all(pd.c_star.values[ordered] == 1.0)
    assert np.all(pd.c_star.values[~ordered] < 1.0)


def _simulated_vs_theory(width, seeds, depth=10):
    inputs, cov0 = deep.make_inputs([0.5, 4.0], [0.2, 0.9], width, seed=11)
    out = {}
    for sw in (1.3, 4.0):
        theory = deep.covariance_iterates(cov0, sw, 0.3, depth)
        sims = np.stack([deep.simulate_deep(inputs, sw, 0.3, depth, seed=s) for s in seeds])
        out[sw] = theory, sims
    return out


def _q_and_c(gram):
    q = np.diagonal(gram, axis1=-2, axis2=-1)[..., :2]
    c = np.stack([gram[..., a, a + 1] / np.sqrt(gram[..., a, a] * gram[..., a + 1, a + 1])
                  for a in (2, 4)], axis=-1)
    return q, c


def test_simulated_deep_network_follows_the_maps():
    # Finite-width tolerance: at width N a layer's q is a mean of N squared Gaussians, relative
    # std √(2/N); the fluctuations of earlier layers propagate (one network per seed), which we
    # bound by a factor 2 (measured per-seed std ≤ 2.1 √(2/N) at N = 300, depth 15). c has std
    # ≲ 3/√N (measured 2.8/√N). We compare the seed average (S seeds) at every layer to the maps
    # with 4 standard errors: tol_q = 4·2√(2/N)/√S (relative), tol_c = 4·3/√(N S) (absolute).
    width, seeds = 500, range(6)
    tol_q = 4 * 2 * math.sqrt(2 / width) / math.sqrt(len(seeds))
    tol_c = 4 * 3 / math.sqrt(width * len(seeds))
    for sw, (theory, sims) in _simulated_vs_theory(width, seeds).items():
        q_th, c_th = _q_and_c(theory)
        q_sim, c_sim = _q_and_c(sims)
        assert np.all(np.abs(q_sim.mean(0) / q_th - 1) < tol_q), sw
        assert np.all(np.abs(c_sim.mean(0) - c_th) < tol_c), sw
        # The comparison can fail: the maps at a 25% larger σ_w are rejected by it.
        wrong = deep.covariance_iterates(theory[0], 1.25 * sw, 0.3, theory.shape[0] - 1)
        q_wrong, c_wrong = _q_and_c(wrong)
        assert np.any(np.abs(q_sim.mean(0) / q_wrong - 1) > tol_q) or np.any(
            np.abs(c_sim.mean(0) - c_wrong) > tol_c), sw


def test_simulation_is_reproducible_from_the_seed():
    inputs, _ = deep.make_inputs([1.0], [0.5], 50, seed=0)
    a = deep.simulate_deep(inputs, 2.0, 0.1, 3, seed=4)
    assert np.array_equal(a, deep.simulate_deep(inputs, 2.0, 0.1, 3, seed=4))
    assert not np.array_equal(a, deep.simulate_deep(inputs, 2.0, 0.1, 3, seed=5))


@pytest.mark.parametrize("call,match", [
    (lambda: deep.q_star(-1.0, 0.3), "sigma_w"),
    (lambda: deep.q_star(1.0, -0.1), "sigma_b"),
    (lambda: deep.q_star(1.0, float("nan")), "sigma_b"),
    (lambda: deep.chi1(1.0, 0.3, phi="sigmoid"), "phi"),
    (lambda: deep.correlation_map(1.5, 2.0, 0.3), "c="),
    (lambda: deep.length_map(-1.0, 2.0, 0.3), "q="),
    (lambda: deep.simulate_deep(np.ones(5), 2.0, 0.3, 3), "inputs"),
    (lambda: deep.simulate_deep(np.ones((2, 5)), 2.0, 0.3, 0), "depth"),
    (lambda: deep.covariance_iterates(np.eye(2) * -1, 2.0, 0.3, 3), "cov0"),
])
def test_bad_input_raises_parameter_error(call, match):
    with pytest.raises(nd.ParameterError, match=match):
        call()


def test_deep_command_writes_a_run_and_a_figure(tmp_path, capsys):
    from neurodyn.cli import main

    out = tmp_path / "deep.zarr"
    argv = ["deep", "--sigma-w", "0.8", "2.0", "2", "--sigma-b", "0", "0.5", "2",
            "--sim-sigma-w", "1.3", "4.0", "--depth", "3", "--width", "40", "--seeds", "0", "1",
            "--out", str(out)]
    assert main(argv) == 0
    assert (tmp_path / "deep.png").stat().st_size > 10_000
    assert main(["plot", str(out), "--figure", str(tmp_path / "again.png")]) == 0
    assert (tmp_path / "again.png").stat().st_size > 10_000  # redrawn from the saved run
    ds = nd.open_run(out)
    assert not keyword_clashes(ds)
    assert dict(ds.sizes) == {"sigma_w": 2, "sigma_b": 2, "sim_sigma_w": 2, "seed": 2,
                              "layer": 4, "input": 3, "pair": 3}
    assert ds.attrs["width"] == 40 and ds.attrs["seeds"] == [0, 1]
    # Independent checks on the stored run: σ_b = 0, σ_w = 0.8 is ordered with χ₁ = σ_w² exactly
    # (q* = 0); layer 0 holds the prescribed input statistics in simulation and theory alike.
    point = ds.sel(sigma_w=0.8, sigma_b=0.0)
    assert float(point.chi1) == pytest.approx(0.64, rel=1e-12)
    assert float(point.c_star) == 1.0
    assert np.allclose(ds.q_sim.isel(layer=0), ds.input, rtol=1e-12)
    assert np.allclose(ds.c_theory.isel(layer=0), ds.pair, atol=1e-12)
    # A second run without --overwrite and a bad width are user errors (exit code 2).
    assert main(argv) == 2
    assert main(argv[:-2] + ["--width", "0", "--out", str(tmp_path / "x.zarr")]) == 2
    assert "width" in capsys.readouterr().err


def test_length_slope_matches_finite_differences_and_xi_diverges_at_the_critical_line():
    # Price's theorem dV/dq = (σ_w²/2)⟨(φ²)″⟩ vs a central difference of the length map
    # (truncation ~h² V‴ ~ 1e-8, round-off ~1e-16/h ~ 1e-12).
    h = 1e-4
    fd = (deep.length_map(2.0 + h, 2.5, 0.3) - deep.length_map(2.0 - h, 2.5, 0.3)) / (2 * h)
    assert deep.length_slope(2.0, 2.5, 0.3) == pytest.approx(fd, rel=1e-6)
    # ξ_c = −1/ln χ_c grows without bound as σ_w approaches the critical value from either side.
    critical = deep.critical_sigma_w(0.3)
    xi = deep.depth_scales(critical * np.array([0.9, 0.99, 1.01, 1.1]), 0.3)["xi_c"]
    assert xi[1] > 5 * xi[0] and xi[2] > 5 * xi[3]
