"""approx.kernels: the compiled kernels of approx.pieces against Python integers."""
import math
from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings, strategies as st

from approx import kernels, limbs

int63 = st.integers(-(2 ** 63), 2 ** 63 - 1)


def _limbs(values, K):
    """Canonical limbs (K, 1, n) of Python integers (each fits K limbs with room: |v| < 2^(24 K - 2))."""
    return np.array([limbs.int_limbs(v, K) for v in values], dtype=np.int64).T[:, None, :].copy()


def _sgn(v):
    return (v > 0) - (v < 0)


@st.composite
def dot_cases(draw):
    """Entries (S, T, p, q), each an int64 (raw) or a limb integer, with a share of exact zeros
    S p + T q = 0 (S = k q', T = -k p' for p / q = p' / q') and near-zeros (+-1 off)."""
    s_raw, p_raw = draw(st.booleans()), draw(st.booleans())
    Ks, Kp = (1 if s_raw else draw(st.integers(3, 6))), (1 if p_raw else draw(st.integers(3, 6)))
    s_int = int63 if s_raw else st.integers(-(2 ** (24 * Ks - 3)), 2 ** (24 * Ks - 3))
    p_int = int63 if p_raw else st.integers(-(2 ** (24 * Kp - 3)), 2 ** (24 * Kp - 3))
    def fits(v):
        return -(2 ** 63) <= v < 2 ** 63 if s_raw else abs(v) <= 2 ** (24 * Ks - 3)

    n = draw(st.integers(1, 12))
    S, T, p, q = ([draw(s_int) for _ in range(n)] for s_int in (s_int, s_int, p_int, p_int))
    for j in range(n):
        kind = draw(st.sampled_from(["any", "zero", "near"]))
        if kind != "any" and q[j]:
            g = math.gcd(p[j], q[j])
            a, b = p[j] // g, q[j] // g               # p / q = a / b in lowest terms
            k = draw(st.integers(-3, 3))
            near = draw(st.sampled_from([-1, 1])) if kind == "near" else 0
            if all(fits(v) for v in (k * b, -k * a + near)):
                S[j], T[j] = k * b, -k * a + near
    return s_raw, Ks, S, T, p_raw, Kp, p, q


def _as_kernel_input(values, raw, K):
    return np.array(values, dtype=np.int64)[None, None] if raw else _limbs(values, K)


@settings(max_examples=200, deadline=None)
@given(dot_cases())
@example((True, 1, [2 ** 61, 3, -(2 ** 63)], [-(2 ** 61), -5, 2 ** 63 - 1], True, 1, [2 ** 61 + 1, 5, 2 ** 63 - 1],
          [2 ** 61 + 1, 3, -(2 ** 63)]))
@example((False, 5, [2 ** 100 + 1, -(2 ** 110)], [-(2 ** 100) - 1, 2 ** 110], False, 4, [2 ** 90, 7, 1],
          [2 ** 90, 7, 1]))
@example((False, 50, [2 ** 1100, 2 ** 1100], [-(2 ** 1100), -(2 ** 1100) + 1], True, 1, [2 ** 10, 1, 0],
          [2 ** 10, 1, 0]))                   # products beyond float64's range (inf - inf = nan): exact
def test_signs_are_exact(case):
    s_raw, Ks, S, T, p_raw, Kp, p, q = case
    n = len(S)
    p, q = p[:n + 1] + [0] * (n + 1 - len(p)), q[:n + 1] + [0] * (n + 1 - len(q))
    rows = [(S, T), (S[::-1], T[::-1])]     # a second row: each row's exact pass is its own
    want = [[_sgn(a[min(k, n - 1)] * p[k] + b[min(k, n - 1)] * q[k]) for k in range(n + 1)] for a, b in rows]
    Sk = np.concatenate([_as_kernel_input(a, s_raw, Ks) for a, _ in rows], axis=1)
    Tk = np.concatenate([_as_kernel_input(b, s_raw, Ks) for _, b in rows], axis=1)
    planes = [Sk, Tk] if s_raw else [Sk.astype(np.int32), Tk.astype(np.int32)]   # limb rows: int32 planes too
    for tile in (0, 1, 2, 5):               # the default tile, and tiles whose ends fall inside the row
        for Sx, Tx in ((Sk, Tk), planes):
            got = kernels.signs(Sx, Tx, s_raw, _as_kernel_input(p, p_raw, Kp), _as_kernel_input(q, p_raw, Kp),
                                p_raw, tile)
            assert got.tolist() == want


@st.composite
def splits(draw):
    """Signs of rows at piece ends, and for each piece a sorted list of distinct root positions
    with the rows crossing there (each crossing row once per piece)."""
    n, P = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    sg = np.array([[draw(st.integers(-1, 1)) for _ in range(P + 1)] for _ in range(n)], dtype=np.int8)
    m = np.zeros(P, dtype=np.int64)
    ci, ck, pos = [], [], []
    for k in range(P):
        rows = [i for i in range(n) if sg[i, k] * sg[i, k + 1] < 0]
        m[k] = draw(st.integers(len(rows) > 0, len(rows))) if rows else 0
        for i in rows:
            ci.append(i)
            ck.append(k)
            pos.append(draw(st.integers(0, m[k] - 1)))
    return sg, m, np.array(ci, dtype=np.int64), np.array(ck, dtype=np.int64), np.array(pos, dtype=np.int64)


@settings(max_examples=100, deadline=None)
@given(splits(), st.integers(1, 4), st.data())
def test_active_and_expand_follow_the_definition(case, K, data):
    sg, m, ci, ck, pos = case
    n, P = sg.shape[0], len(m)
    act = kernels.active(sg, m, ci, ck, pos)
    want = []
    for i in range(n):
        row = []
        for k in range(P):
            cross = [int(pos[c]) for c in range(len(ci)) if ci[c] == i and ck[c] == k]
            for j in range(m[k] + 1):
                if cross:
                    row.append(bool(sg[i, k] > 0) if j <= cross[0] else bool(sg[i, k + 1] > 0))
                else:
                    row.append(bool(sg[i, k] > 0 or (sg[i, k] == 0 and sg[i, k + 1] > 0)))
        want.append(row)
    assert act.tolist() == want
    assert [v.tolist() for v in kernels.crossings(sg)] == [v.tolist() for v in
                                                           np.nonzero(sg[:, :-1].astype(int) * sg[:, 1:] < 0)]
    X = np.array(data.draw(st.lists(st.lists(st.lists(int63, min_size=P, max_size=P), min_size=n, max_size=n),
                                    min_size=K, max_size=K)), dtype=np.int64)
    if K == 1:                              # raw int64 rows: |entry| < 2^62 (as approx.pieces keeps them)
        X >>= 1
    want = np.repeat(X, m + 1, axis=-1) * act
    start = np.array(data.draw(st.lists(st.booleans(), min_size=want.shape[-1] - 1, max_size=want.shape[-1] - 1)),
                     dtype=bool)
    same = start.copy()
    tile = data.draw(st.integers(1, 4))
    gather = data.draw(st.sampled_from([None, True, False]))     # gathered or copied in runs: the same
    out, orr, amax = kernels.expand(X, m + 1, act, same, tile=tile, gather=gather)
    assert (out == want).all()
    assert orr.tolist() == [[int(np.bitwise_or.reduce(want[a, i])) for i in range(n)] for a in range(K)]
    if K == 1:                              # raw rows: max |entry|, rounded to float
        assert amax.tolist() == [float(max(abs(int(v)) for v in want[0, i])) for i in range(n)]
    else:                                   # canonical limbs: a bound of max |value|, within 2^-30
        Xc = limbs.carry(X >> 24)           # (planes below 2^39: the carries stay inside int64)
        Xc[-1] >>= 20                       # top limb below 2^20, as ``limbs.limbs_for`` sizes them
        _, _, bound = kernels.expand(Xc, m + 1, act, tile=tile, gather=gather)
        o32, orr32, bound32 = kernels.expand(Xc.astype(np.int32), m + 1, act, tile=tile, gather=gather)
        values = limbs.to_object(np.repeat(Xc, m + 1, axis=-1) * act)
        assert o32.dtype == np.int32 and limbs.to_object(o32).tolist() == values.tolist()    # int32 planes
        assert bound32.tolist() == bound.tolist() and (orr32 == kernels.expand(Xc, m + 1, act)[1]).all()
        for i in range(n):
            top = max(abs(int(v)) for v in values[i])
            assert top <= bound[i] <= top * (1 + 2.0 ** -30)
    assert same.tolist() == [bool(start[j]) and (want[:, :, j + 1] == want[:, :, j]).all()
                             for j in range(want.shape[-1] - 1)]
    if not m.any():                         # in place, where no piece splits
        Y = X.copy()
        assert (kernels.expand(Y, m + 1, act, out=Y, tile=tile)[0] == want).all() and (Y == want).all()


@st.composite
def wide_affine_cases(draw):
    """Rows W X + b over n1 int64 inputs and n2 limb inputs (Kx limbs), weights and biases from
    one-limb to beyond int64, and the output on the fewest limbs that hold every value."""
    n1, n2, P = draw(st.integers(0, 3)), draw(st.integers(0, 3)), draw(st.integers(1, 6))
    Kx = draw(st.integers(3, 5))
    Xn = draw(st.lists(st.lists(st.integers(-(2 ** 62), 2 ** 62), min_size=P, max_size=P), min_size=n1,
                       max_size=n1))
    Xw = draw(st.lists(st.lists(st.integers(-(2 ** (24 * Kx - 3)), 2 ** (24 * Kx - 3)), min_size=P, max_size=P),
                       min_size=n2, max_size=n2))
    pow2 = st.builds(lambda sg, e: sg * 2 ** e, st.sampled_from([-1, 1]), st.integers(0, 90))   # as dyadic nets have
    weight = st.one_of(st.integers(-8, 8), st.integers(-(2 ** 30), 2 ** 30), st.integers(-(2 ** 90), 2 ** 90), pow2)
    cols = list(range(n1 + n2))
    W = draw(st.lists(st.lists(st.tuples(st.sampled_from(cols), weight), max_size=4, unique_by=lambda c: c[0])
                      if cols else st.just([]), min_size=1, max_size=4))
    b = draw(st.lists(weight, min_size=len(W), max_size=len(W)))
    return Xn, Kx, Xw, W, b, draw(st.integers(1, 4))


@settings(max_examples=150, deadline=None)
@given(wide_affine_cases())
@example(([[-(2 ** 62)]], 3, [[2 ** 69 - 1]], [[(0, 1), (1, -8)]], [0], 1))    # a carry into a sign fill
@example(([[2 ** 62]], 3, [[-(2 ** 69)]], [[(0, -(2 ** 90)), (1, 2 ** 30)]], [-(2 ** 90)], 2))
@example(([[-(2 ** 62)]], 3, [[-(2 ** 69) + 1]], [[(0, -(2 ** 47)), (1, 2 ** 23)]], [0], 3))     # a weight on a limb boundary
def test_wide_affine_is_exact(case):
    Xn, Kx, Xw, W, b, tile = case
    rows = Xn + Xw
    P = len(rows[0]) if rows else 1
    want = [[b[i] + sum(w * rows[j][k] for j, w in row) for k in range(P)] for i, row in enumerate(W)]
    top = max(abs(v) for r in want for v in r)
    K = limbs.limbs_for(top.bit_length() + 1)
    Xn_a = np.array(Xn, dtype=np.int64).reshape(len(Xn), P)
    Xw_a = (np.array([[limbs.int_limbs(v, Kx) for v in r] for r in Xw], dtype=np.int64).reshape(len(Xw), P, Kx)
            .transpose(2, 0, 1).copy())
    for Xw_x in (Xw_a, Xw_a.astype(np.int32)):              # limb inputs on int64 or int32 planes
        out = kernels.wide_affine(W, b, Xn_a, Xw_x, K, tile=tile)
        assert out.dtype == kernels.PLANE and limbs.to_object(out).tolist() == want
        assert (limbs.carry(out.copy()) == out).all()       # canonical


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 4), st.integers(1, 7), st.data())
def test_affine_and_row_stats_are_exact(n_in, P, data):
    X = np.array(data.draw(st.lists(st.integers(-(2 ** 40), 2 ** 40), min_size=n_in * P, max_size=n_in * P)),
                 dtype=np.int64).reshape(n_in, P)
    W = data.draw(st.lists(st.lists(st.tuples(st.integers(0, n_in - 1), st.integers(-(2 ** 15), 2 ** 15)),
                                    max_size=4), min_size=1, max_size=3))
    b = data.draw(st.lists(st.integers(-(2 ** 40), 2 ** 40), min_size=len(W), max_size=len(W)))
    want = [[b[i] + sum(w * int(X[j, k]) for j, w in row) for k in range(P)] for i, row in enumerate(W)]
    assert kernels.affine(W, b, X, tile=data.draw(st.integers(1, 4))).tolist() == want
    orr, amax = kernels.row_stats(X[None], True)
    assert orr[0].tolist() == [int(np.bitwise_or.reduce(X[j])) for j in range(n_in)]
    assert amax.tolist() == [float(max(abs(int(v)) for v in X[j])) for j in range(n_in)]
    Xl = limbs.split(X, 3)
    orr, amax = kernels.row_stats(Xl, False)
    assert [min(((int(orr[a, j]) & -int(orr[a, j])).bit_length() - 1 + 24 * a if orr[a, j] else 10 ** 9)
                for a in range(3)) for j in range(n_in)] == \
        [limbs.low_zero_bits(Xl[:, j], 10 ** 9) for j in range(n_in)]
    assert all(max(abs(int(v)) for v in X[j]) <= amax[j] <= 1.001 * max(abs(int(v)) for v in X[j])
               for j in range(n_in))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 3), st.lists(st.tuples(st.integers(-(2 ** 60), 2 ** 60), st.integers(1, 2 ** 60),
                                             st.integers(0, 60)), min_size=1, max_size=10))
def test_reduce_pow2_is_exact(extra, fracs):
    num = [a << s for a, b, s in fracs]
    den = [b << s for a, b, s in fracs]
    K = limbs.limbs_for(max(abs(v) for v in num + den).bit_length()) + extra
    P, Q = kernels.reduce_pow2(_limbs(num, K)[:, 0], _limbs(den, K)[:, 0])
    got = list(zip(limbs.to_object(P).tolist(), limbs.to_object(Q).tolist()))
    for (a, b), x, y in zip(got, num, den):
        assert Fraction(a, b) == Fraction(x, y) and b > 0
        assert (a % 2 == 1) or (b % 2 == 1)              # no common factor 2 left
        assert (x // a if a else y // b) & ((x // a if a else y // b) - 1) == 0   # divided by a power of two


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 8), st.data())
def test_same_next_compares_neighbouring_columns(K, n, P, data):
    X = np.array(data.draw(st.lists(st.integers(-2, 2), min_size=K * n * P, max_size=K * n * P)),
                 dtype=np.int64).reshape(K, n, P)
    start = np.array(data.draw(st.lists(st.booleans(), min_size=P - 1, max_size=P - 1)), dtype=bool)
    same = start.copy()
    kernels.same_next(X, same)
    assert same.tolist() == [bool(start[k]) and (X[:, :, k + 1] == X[:, :, k]).all() for k in range(P - 1)]
