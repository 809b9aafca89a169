# ruff: noqa: B023  (the lambdas are called within the loop iteration that defines them)
"""Which sparse product to use in the sparse drift: measure three JAX formulations of
y_i = Σ_k w_ik r_{idx_ik} at N = 10⁵, K ∈ {100, 1000}, float32, for one trajectory (r: (N,))
and four trials (r: (4, N)).

- gather: ``(w * r[..., idx]).sum(-1)`` (XLA fuses the gather into the reduction);
- segment_sum: ``jax.ops.segment_sum(w * r[idx], rows)`` over the flattened (N·K,) entries;
- gather_blocks: the gather over row blocks in ``lax.map``;
- bcoo: ``jax.experimental.sparse.BCOO`` matvec / matmat with the same entries.

Writes benchmarks/sparse_matvec_choice.json (median of repeated calls, seconds per product).
Run: nice -n 10 python scripts/sparse_matvec_choice.py
"""

from __future__ import annotations

import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import sparse

import neurodyn  # noqa: F401  (enables x64, as the package does)


def median_time(f, *args, repeats=7):
    jax.block_until_ready(f(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main():
    N = 100_000
    results = []
    rng = np.random.default_rng(0)
    for K in (100, 1000):
        idx = jnp.asarray(np.sort(rng.integers(0, N, (N, K), dtype=np.int32), axis=1))
        w = jnp.asarray(rng.standard_normal((N, K), dtype=np.float32) / np.float32(np.sqrt(K)))
        rows = jnp.repeat(jnp.arange(N, dtype=jnp.int32), K)
        flat_idx = idx.reshape(-1)
        flat_w = w.reshape(-1)
        bcoo = sparse.BCOO((flat_w, jnp.stack([rows, flat_idx], axis=1)), shape=(N, N))

        gather = jax.jit(lambda w, idx, r: (w * r[..., idx]).sum(-1))
        seg = jax.jit(lambda w, idx, r: jax.ops.segment_sum(w.reshape(-1) * r[idx.reshape(-1)], rows,
                                                            num_segments=N,
                                                            indices_are_sorted=True))
        seg_batch = jax.jit(jax.vmap(lambda r: jax.ops.segment_sum(
            flat_w * r[flat_idx], rows, num_segments=N, indices_are_sorted=True)))
        rows_per_block = 2048 if K <= 100 else 256

        def blocks(w, idx, r):
            # row blocks through lax.map: each block's gathered (..., rows, K) temporary is
            # small, instead of one (..., N, K) array XLA:CPU materialises (it does not fuse the
            # gather into the reduction)
            nb = N // rows_per_block
            head = jax.lax.map(
                lambda a: (a[0] * r[..., a[1]]).sum(-1),
                (w[:nb * rows_per_block].reshape(nb, rows_per_block, K),
                 idx[:nb * rows_per_block].reshape(nb, rows_per_block, K)))
            head = jnp.moveaxis(head, 0, -2).reshape(r.shape[:-1] + (nb * rows_per_block,))
            tail = (w[nb * rows_per_block:] * r[..., idx[nb * rows_per_block:]]).sum(-1)
            return jnp.concatenate([head, tail], axis=-1)

        gather_blocks = jax.jit(blocks)
        bcoo_vec = jax.jit(lambda m, r: m @ r)
        bcoo_mat = jax.jit(lambda m, r: (m @ r.T).T)
        for trials in (1, 4):
            r = jnp.asarray(rng.standard_normal((trials, N), dtype=np.float32))
            r1 = r[0] if trials == 1 else r
            ref = np.asarray(gather(w, idx, r1))
            case = {"N": N, "K": K, "trials": trials, "dtype": "float32"}
            case["gather_s"] = median_time(gather, w, idx, r1)
            case["gather_blocks_s"] = median_time(gather_blocks, w, idx, r1)
            case["max_diff_gather_blocks"] = float(np.max(np.abs(
                np.asarray(gather_blocks(w, idx, r1)) - ref)))
            if trials == 1:
                out = seg(w, idx, r1)
                case["segment_sum_s"] = median_time(seg, w, idx, r1)
                out_b = bcoo_vec(bcoo, r1)
                case["bcoo_s"] = median_time(bcoo_vec, bcoo, r1)
            else:
                out = seg_batch(r1)
                case["segment_sum_s"] = median_time(seg_batch, r1)
                out_b = bcoo_mat(bcoo, r1)
                case["bcoo_s"] = median_time(bcoo_mat, bcoo, r1)
            # the three agree to float32 rounding of a K-term sum (checked, not timed)
            case["max_diff_segment_sum"] = float(np.max(np.abs(np.asarray(out) - ref)))
            case["max_diff_bcoo"] = float(np.max(np.abs(np.asarray(out_b) - ref)))
            print(case, flush=True)
            results.append(case)
    out = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "sparse_matvec_choice.json"
    out.write_text(json.dumps({"cases": results, "devices": str(jax.devices())}, indent=1))


if __name__ == "__main__":
    main()
