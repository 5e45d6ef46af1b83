"""figures.sobolev: Theorem 3's figures read records; no empty panel, constructions in their colours."""
import pytest
from matplotlib.colors import to_hex

from figures import sobolev
from figures.style import colour
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)
from theorems.theorem3 import EqualEps


def _eq(d, n, eps, relu):
    return EqualEps(d, n, eps, 4, 6, 3, 100, relu)


@pytest.mark.parametrize("keys", [[(1, 1), (1, 2), (1, 3), (1, 4)], [(1, 1), (1, 2), (2, 1)]])
def test_t3_log_factor_has_no_empty_panel(tmp_path, monkeypatch, drawn, keys):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rows = [_eq(d, n, 10.0 ** -k, 200 * k) for d, n in keys for k in (1, 2, 3)]
    sobolev.log_factor(rows)
    axes = panels_ok(drawn[-1])
    assert len(drawn[-1].axes) == len(axes) == len(keys)
    for ax in axes:
        assert {to_hex(ln.get_color()) for ln in ax.lines} == {colour("construction:polyrelu"),
                                                             colour("construction:relu")}
        ys = {to_hex(ln.get_color()): list(ln.get_ydata()) for ln in ax.lines}
        d, n = map(int, ax.get_title().replace("d=", "").replace("n=", "").split(", "))
        assert ys[colour("construction:relu")] == [r.scaled("relu") for r in rows if (r.d, r.n) == (d, n)]


def test_t3_rates_marks_certified_points_filled(tmp_path, monkeypatch, drawn):
    monkeypatch.setenv("POLYCOM_FIGURES", str(tmp_path))
    rows = [dict(d=1, n=2, kind=k, params=p, err=e, level=lv) for k in ("polyrelu", "relu")
            for p, e, lv in ((100, 1e-3, "certified"), (400, 6e-5, "measured"))]
    sobolev.rates(rows, {(1, 2): dict(slope=-2.0, lo=-2.1, hi=-1.9, points=2, level="measured")})
    (ax,) = panels_ok(drawn[-1])
    filled = [ln.get_markerfacecolor() for ln in ax.lines if ln.get_marker() in ("o", "s")]
    assert sum(f != "none" for f in filled) == 2 and sum(f == "none" for f in filled) == 2
    assert any("measured)" in t.get_text() for t in ax.get_legend().get_texts())
