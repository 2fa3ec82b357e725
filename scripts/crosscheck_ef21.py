#!/usr/bin/env python3
"""Independent numpy reference for an `ecco-train` EF21 run; compares it with ecco's CSV.

Written from the maths only (shared/ALGORITHMS.md sections 0, 1.3, 1.13, 3.1 and
docs/wire-format.md, docs/round.md), not from ecco's sources, so that it is an independent check.

Problem: f(x) = (1/n) sum_i f_i(x),
  f_i(x) = (1/N_i) sum_j log(1 + exp(-y_j a_j^T x)) + lambda sum_k x_k^2 / (1 + x_k^2).
Method: EF21 with TopK(k) uplink, g_i^0 = grad f_i(x^0), x^0 = 0, everything in float64
(run ecco with `--wire fp64`), step gamma = mult / (L + L_mean * xi(k/d)).

Usage (after `ecco-train ... --wire fp64 --out run.csv`):
  crosscheck_ef21.py --data mushrooms.txt --clients 20 --k 1 --rounds 1000 --csv run.csv
Exit status: 0 if every CSV row matches within --rtol (bits_up exactly), 1 otherwise.
"""
import argparse
import csv
import sys

import numpy as np

HEADER_BYTES = 20  # fixed wire-format header (docs/wire-format.md, version 2)
VALUE_BYTES = 8    # fp64 values


def varint_length(v):
    """Bytes of v as an unsigned LEB128 varint (7 bits per byte)."""
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def sparse_message_bytes(indices, d):
    """Encoded size of a sparse fp64 message with these sorted indices (docs/wire-format.md):
    the encoder sends the smallest of the dense layout (d values) and the sparse layout with
    the smallest index section: delta-varint (LEB128 of i_0 and of each gap i_k - i_{k-1} - 1),
    bitmap (ceil(d / 8) bytes) or raw32 (4 bytes per index)."""
    k = len(indices)
    gaps = np.diff(indices) - 1 if k > 1 else np.array([], dtype=np.int64)
    varint = (varint_length(int(indices[0])) if k else 0) + sum(varint_length(int(g)) for g in gaps)
    index_bytes = min(varint, (d + 7) // 8, 4 * k)
    return HEADER_BYTES + min(VALUE_BYTES * d, index_bytes + VALUE_BYTES * k)


def load_libsvm(path):
    """LIBSVM file -> (A dense N x d float64, y in {-1,+1}). Indices are 1-based, d = max index;
    the smallest label maps to -1, every other label to +1."""
    labels, rows, cols, vals = [], [], [], []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            r = len(labels)
            labels.append(float(parts[0]))
            for tok in parts[1:]:
                j, v = tok.split(":")
                rows.append(r)
                cols.append(int(j) - 1)
                vals.append(float(v))
    d = max(cols) + 1
    A = np.zeros((len(labels), d))
    A[rows, cols] = vals  # duplicate indices within a row are not expected in LIBSVM files
    lab = np.array(labels)
    y = np.where(lab == lab.min(), -1.0, 1.0)
    return A, y


def split(N, n):
    """Contiguous blocks of floor(N/n) rows; the last client takes the remainder. -> [(lo, hi)]."""
    b = N // n
    return [(i * b, (i + 1) * b if i < n - 1 else N) for i in range(n)]


def smoothness(A, blocks, lam):
    """L_i = lambda_max(A_i^T A_i)/(4 N_i) + 2 lam per client, and L of the pooled data."""
    grams = [A[lo:hi].T @ A[lo:hi] for lo, hi in blocks]
    Li = np.array([np.linalg.eigvalsh(G)[-1] / (4 * (hi - lo)) + 2 * lam
                   for G, (lo, hi) in zip(grams, blocks)])
    L = np.linalg.eigvalsh(sum(grams))[-1] / (4 * A.shape[0]) + 2 * lam
    return L, Li


def client_oracles(A, y, blocks, lam, x):
    """At x: (n x d array of grad f_i(x), length-n array of f_i(x))."""
    m = y * (A @ x)                                  # margins y_j a_j^T x
    with np.errstate(over="ignore"):
        s = -y / (1.0 + np.exp(m))                   # d/dz log(1+exp(-y z)) at z = a_j^T x
    reg_g = lam * 2 * x / (1 + x * x) ** 2
    reg_f = lam * np.sum(x * x / (1 + x * x))
    G = np.array([A[lo:hi].T @ s[lo:hi] / (hi - lo) + reg_g for lo, hi in blocks])
    F = np.array([np.mean(np.logaddexp(0.0, -m[lo:hi])) + reg_f for lo, hi in blocks])
    return G, F


def topk(V, k):
    """Row-wise TopK: keep the k largest |v_j|, ties to the smaller index (stable sort on -|v|).
    -> (C, sorted kept indices per row)."""
    idx = np.argsort(-np.abs(V), axis=1, kind="stable")[:, :k]
    C = np.zeros_like(V)
    np.put_along_axis(C, idx, np.take_along_axis(V, idx, axis=1), axis=1)
    return C, np.sort(idx, axis=1)


def ef21(A, y, blocks, lam, k, gamma, T):
    """EF21 (ALGORITHMS.md 1.3) from x^0 = 0. -> (grad_norm_sq[t], loss[t], bits_up[t]) for t = 0..T,
    evaluated at x^t (the model after t server updates), bits_up cumulative as in the CSV."""
    n, d = len(blocks), A.shape[1]
    x = np.zeros(d)
    Gx, Fx = client_oracles(A, y, blocks, lam, x)
    g_i = Gx.copy()                                  # g_i^0 = grad f_i(x^0), sent dense
    g = g_i.mean(axis=0)
    gns, loss = [np.sum(Gx.mean(axis=0) ** 2)], [Fx.mean()]
    bits = [n * (HEADER_BYTES + VALUE_BYTES * d) * 8]
    for _ in range(T):
        x = x - gamma * g                            # server step, broadcast x^{t+1}
        Gx, Fx = client_oracles(A, y, blocks, lam, x)
        c, kept = topk(Gx - g_i, k)                  # c_i = C(grad f_i(x^{t+1}) - g_i)
        g_i += c
        g = g + c.mean(axis=0)                       # g^{t+1} = g^t + (1/n) sum_i c_i
        gns.append(np.sum(Gx.mean(axis=0) ** 2))
        loss.append(Fx.mean())
        bits.append(bits[-1] + 8 * sum(sparse_message_bytes(row, d) for row in kept))
    return np.array(gns), np.array(loss), np.array(bits)


def read_csv(path):
    """ecco CSV -> {round: (grad_norm_sq, loss, bits_up)}."""
    with open(path) as fh:
        return {int(r["round"]): (float(r["grad_norm_sq"]), float(r["loss"]), int(r["bits_up"]))
                for r in csv.DictReader(fh)}


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--lambda", dest="lam", type=float, default=0.1)
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1000)
    p.add_argument("--mult", type=float, default=1.0)
    p.add_argument("--mean", choices=("qm", "am"), default="qm")
    p.add_argument("--csv", required=True)
    p.add_argument("--rtol", type=float, default=1e-9)
    a = p.parse_args()

    A, y = load_libsvm(a.data)
    N, d = A.shape
    blocks = split(N, a.clients)
    L, Li = smoothness(A, blocks, a.lam)
    am, qm = Li.mean(), np.sqrt(np.mean(Li ** 2))
    alpha = min(a.k, d) / d
    if alpha < 1:
        xi = np.sqrt(1 - alpha) / (1 - np.sqrt(1 - alpha))
        gamma = a.mult / (L + (qm if a.mean == "qm" else am) * xi)
    else:
        xi, gamma = 0.0, a.mult / L                  # no compression: plain GD step 1/L
    print(f"data {a.data}: N = {N}, d = {d}, n = {a.clients}, N_i = {blocks[0][1] - blocks[0][0]}"
          f" (last {blocks[-1][1] - blocks[-1][0]})")
    print(f"constants: L = {L:.10g}; L_i min = {Li.min():.10g}, AM = {am:.10g}, QM = {qm:.10g},"
          f" max = {Li.max():.10g}")
    print(f"constants: alpha = {alpha:.10g}, xi = {xi:.10g}, step size gamma = {gamma:.10g}"
          f" (mean={a.mean}, mult={a.mult:g})")

    gns, loss, bits = ef21(A, y, blocks, a.lam, a.k, gamma, a.rounds)
    rows = read_csv(a.csv)
    if not rows or max(rows) > a.rounds or min(rows) < 0:
        print(f"FAIL: CSV rounds {min(rows, default=None)}..{max(rows, default=None)}"
              f" do not fit in 0..{a.rounds}")
        return 1
    worst, where, first_bad, bits_bad = 0.0, None, None, None
    for t in sorted(rows):
        eg, el, eb = rows[t]
        r = max(rel(gns[t], eg), rel(loss[t], el))
        if r > worst:
            worst, where = r, t
        if r > a.rtol and first_bad is None:
            first_bad = t
        if eb != bits[t] and bits_bad is None:
            bits_bad = t

    print(f"{'round':>6} {'grad_norm_sq ref':>24} {'grad_norm_sq ecco':>24} {'rel':>8}"
          f" {'loss ref':>20} {'loss ecco':>20} {'rel':>8} {'bits_up ref/ecco':>20}")
    for t in (0, 1, 10, 100, 1000):
        if t in rows:
            eg, el, eb = rows[t]
            print(f"{t:>6} {gns[t]:>24.17g} {eg:>24.17g} {rel(gns[t], eg):>8.1e}"
                  f" {loss[t]:>20.17g} {el:>20.17g} {rel(loss[t], el):>8.1e} {bits[t]:>10}/{eb}")
    print(f"max relative difference: {worst:.3e} (round {where}) over {len(rows)} CSV rows;"
          f" rtol = {a.rtol:g}")
    if first_bad is not None:
        eg, el, _ = rows[first_bad]
        print(f"FAIL: first divergence beyond rtol at round {first_bad}: grad_norm_sq ref"
              f" {gns[first_bad]:.17g} vs ecco {eg:.17g}, loss ref {loss[first_bad]:.17g}"
              f" vs ecco {el:.17g}")
        return 1
    if bits_bad is not None:
        print(f"FAIL: bits_up differs at round {bits_bad}: ref {bits[bits_bad]}"
              f" vs ecco {rows[bits_bad][2]}")
        return 1
    print("OK: ecco matches the reference within rtol; bits_up matches the wire format exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
