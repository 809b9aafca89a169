"""The chaos-transition data (Δ0 and λ_max per gain and seed) in plain PyTorch: the script a
user coming from machine learning would write instead of ``neurodyn chaos`` (issue 17 item 3),
kept short on purpose. RK4 at a fixed step (the loosest step meeting the benchmarks' 1e-4 rule
at g = 2, N = 1000: benchmarks/RESULTS.md, calibration), Δ0 = the raw second moment of h after
the transient (what ``nd.autocorrelation`` returns at lag 0), λ_max by Benettin's method: a
tangent vector (aligned over one transient first: without it the 50 τ average read 0.02–0.03
low at g = 2–2.5, z ≈ 3 against neurodyn) integrated with the same RK4 (the linearised field
−v + J (g sech²(g h) v), written out: torch.func.jvp measured slower) and renormalised every 1 τ.

    python benchmarks/chaos_torch.py  # prints one line per (g, seed)
"""

import math

import torch


def chaos_torch(gains, seeds, N=1000, t1=100.0, transient=20.0, lyapunov_t1=50.0, dt=0.1):
    """{(g, seed): (Δ0, λ_max)} for tanh SCS networks J ~ N(0, 1/N), θ = 0."""
    torch.set_default_dtype(torch.float64)
    results = {}
    for g in gains:
        for seed in seeds:
            gen = torch.Generator().manual_seed(seed)
            J = torch.randn(N, N, generator=gen) / math.sqrt(N)
            h = torch.randn(N, generator=gen)

            def f(h, J=J, g=g):
                return -h + J @ torch.tanh(g * h)

            def df(h, v, J=J, g=g):
                return -v + J @ (g * v / torch.cosh(g * h) ** 2)

            def rk4(h, v=None):
                """One RK4 step of h, and of the tangent v (if given) along it."""
                if v is None:
                    k1 = f(h)
                    k2 = f(h + dt / 2 * k1)
                    k3 = f(h + dt / 2 * k2)
                    k4 = f(h + dt * k3)
                    return h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None
                k1, l1 = f(h), df(h, v)
                h2 = h + dt / 2 * k1
                k2, l2 = f(h2), df(h2, v + dt / 2 * l1)
                h3 = h + dt / 2 * k2
                k3, l3 = f(h3), df(h3, v + dt / 2 * l2)
                h4 = h + dt * k3
                k4, l4 = f(h4), df(h4, v + dt * l3)
                return (h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4),
                        v + dt / 6 * (l1 + 2 * l2 + 2 * l3 + l4))

            with torch.no_grad():
                for _ in range(round(transient / dt)):
                    h, _ = rk4(h)
                second_moment = 0.0
                for _ in range(round(t1 / dt)):
                    h, _ = rk4(h)
                    second_moment += float(h @ h) / N
                v = torch.randn(N, generator=gen)
                v /= v.norm()
                log_growth, per_tau = 0.0, round(1.0 / dt)
                for _ in range(round(transient)):  # align v with the leading direction first
                    for _ in range(per_tau):
                        h, v = rk4(h, v)
                    v /= v.norm()
                for _ in range(round(lyapunov_t1)):
                    for _ in range(per_tau):
                        h, v = rk4(h, v)
                    norm = v.norm()
                    log_growth += float(norm.log())
                    v /= norm
            results[(g, seed)] = (second_moment / round(t1 / dt), log_growth / lyapunov_t1)
    return results


if __name__ == "__main__":
    for (g, seed), (delta0, lam) in chaos_torch([0.5, 1.5, 3.0], [0, 1], N=300).items():
        print(f"g={g} seed={seed}: delta0={delta0:.4f} lambda_max={lam:.4f}")
