"""figures.sobolev: Theorem 3's log-factor figure has no empty panel, constructions in their colours."""
import pytest
from matplotlib.colors import to_hex

from figures import sobolev
from figures.style import colour
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)


@pytest.mark.parametrize("keys", [[(1, 1), (1, 2), (1, 3), (1, 4)], [(1, 1), (1, 2), (2, 1)]])
def test_t3_log_factor_has_no_empty_panel(tmp_path, monkeypatch, drawn, keys):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rows = [{"d": d, "n": n, "ln(1/eps)": L, "polyrelu*eps^(d/n)": 10.0, "relu*eps^(d/n)": 10.0 * L}
            for d, n in keys for L in (1.0, 2.0, 3.0)]
    sobolev.log_factor(rows)
    axes = panels_ok(drawn[-1])
    assert len(drawn[-1].axes) == len(axes) == len(keys)
    for ax in axes:
        assert {to_hex(ln.get_color()) for ln in ax.lines} == {colour("construction:polyrelu"),
                                                             colour("construction:relu")}
