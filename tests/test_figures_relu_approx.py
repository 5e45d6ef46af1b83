"""figures.relu_approx: Theorem 2's size ratios draw each network once."""
import numpy as np

from figures import relu_approx
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)


def test_t2_size_ratios_draws_each_network_once(tmp_path, drawn):
    def row(d, K, L, bits, sweep=False):
        n = 10 * K * L * bits
        ln = np.log(L * 2.0 ** bits)
        return {"d": d, "K": K, "L": L, "per_neuron": False, "bits": bits, "neurons": n,
                "ratio_ln": n / (K * L * ln), "ratio_ln2": n / (K * L * ln ** 2), "sweep": sweep}
    rows = [row(1, 2, 1, 8), row(1, 4, 2, 8), row(2, 2, 1, 4)] + [row(1, 4, 2, b, True) for b in (4, 8, 12)]
    relu_approx.theorem2_ratios(rows, tmp_path)
    left, right = panels_ok(drawn[-1])
    labels = [t.get_text() for t in left.get_xticklabels()]
    assert len(labels) == len(set(labels)) == 2               # (1, 4, 2, 2^-8) is drawn on the right only
    assert len(right.lines[0].get_xdata()) == 3
