"""approx.limbs: integers as int64 limb arrays, against Python integers."""
import numpy as np
from hypothesis import example, given, settings, strategies as st

from approx import kernels, limbs

int62 = st.integers(-(2 ** 62) + 1, 2 ** 62 - 1)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.lists(st.lists(st.integers(-(2 ** 60), 2 ** 60), min_size=3, max_size=3), min_size=1,
                                   max_size=4),
       st.lists(st.tuples(st.integers(0, 2), st.integers(-(2 ** 90), 2 ** 90)), max_size=6),
       st.integers(-(2 ** 100), 2 ** 100), st.tuples(int62, int62, int62), st.integers(0, 70), st.integers(1, 4))
def test_limbs_are_exact(K, rows, ws, bias, pq, shift, tile):
    # limbs against Python integers: matmul (weights and bias beyond int64), kernels.wide_affine, shifts, resize
    vals = [[v << (24 * (K - 1)) for v in row] for row in rows]          # values of K limbs and more
    X = limbs.resize(np.array([[limbs.int_limbs(v, K + 3) for v in row] for row in vals],
                              dtype=np.int64).transpose(2, 0, 1).copy(), K + 3)
    X = limbs.carry(X)
    assert limbs.to_object(X).tolist() == vals
    W = [[(j, w) for j, w in ws if j < len(rows)]]
    Y = limbs.matmul(W, X, [bias], limbs.limbs_for(24 * (K + 3) + 100))
    want = [[sum(w * vals[j][k] for j, w in W[0]) + bias for k in range(3)]]
    assert limbs.to_object(Y).tolist() == want
    base = np.array(pq)
    L = kernels.wide_affine([[(0, 1)] + [(j + 1, w) for j, w in W[0]]], [0], base[None], X,
                            limbs.limbs_for(24 * (K + 3) + 100), tile=tile)[:, 0]      # tiles of 1-4 pieces
    assert limbs.to_object(L).tolist() == [sum(w * vals[j][k] for j, w in W[0]) + pq[k] for k in range(3)]
    Xs = limbs.carry(np.concatenate([X, np.zeros((4,) + X.shape[1:], dtype=np.int64)]) << 0)
    Xs = limbs.matmul([[(j, 2 ** shift)] for j in range(len(rows))], Xs, None, K + 7)
    assert limbs.low_zero_bits(Xs, 10 ** 4) >= shift
    shifted = kernels.shift_rows(Xs.copy(), np.full(len(rows), shift))      # in place, K + 7 limbs
    assert limbs.to_object(shifted).tolist() == vals
    shifted = kernels.shift_rows(Xs.astype(np.int32), np.full(len(rows), shift))    # int32 planes, as rows keep them
    assert shifted.dtype == np.int32 and limbs.to_object(shifted).tolist() == vals


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4), st.data())
@example(3, None)
@example(4, None)
def test_to_float_rounded_is_floats_rounding(K, data):
    # against Python's float(int) (round to nearest, ties to even), ties and near-ties included
    top = 24 * (K - 1) + 22 if K > 1 else 62
    if data is None:
        vals = [v for v in (2 ** 60 + 2 ** 7, 2 ** 60 + 3 * 2 ** 7, -(2 ** 60) - 2 ** 7, 2 ** 69 + 2 ** 16 + 1,
                            2 ** 93 + 2 ** 40 + 1, -(2 ** 93) - 2 ** 40 - 1) if abs(v) < 2 ** top]  # near ties
    else:
        base = data.draw(st.lists(st.integers(-(2 ** top) + 1, 2 ** top - 1), min_size=1, max_size=8))
        tie = [v - v % (1 << max(0, v.bit_length() - 53)) + (1 << max(0, v.bit_length() - 53)) // 2 for v in base]
        vals = [v for v in base + tie + [t + 1 for t in tie] + [t - 1 for t in tie] if abs(v) < 2 ** top]
    X = limbs.split(np.array(vals, dtype=object).astype(np.int64), K) if top <= 62 else \
        np.array([limbs.int_limbs(v, K) for v in vals], dtype=np.int64).T.copy()
    f = limbs.to_float_rounded(X)
    assert f is not None and f.tolist() == [float(v) for v in vals]
    if K > 1:                               # int32 planes (rows' limbs): the same
        assert limbs.to_float_rounded(X.astype(np.int32)).tolist() == f.tolist()
        assert limbs.to_object(X.astype(np.int32)).tolist() == vals
