"""figures.bench: the training benchmark figure, one panel per dtype, two bars per Adam row."""
import pytest

from matplotlib.colors import to_hex

from figures import bench
from figures.style import colour
from tests.figure_checks import drawn, panels_ok  # noqa: F401  (drawn is a fixture)


def _row(act, width, dtype, frac, base, optimizer="adam"):
    return {"name": f"train/{act}/w{width}/{dtype}", "optimizer": optimizer, "dtype": dtype, "width": width,
            "limit_frac": frac, "baseline_limit_frac": base, "bound": "memory", "ratio": frac / base}


def test_one_panel_per_dtype_with_the_rows_bars(tmp_path, drawn):
    rows = [_row("relu", 8, "float64", 0.3, 0.2), _row("polyrelu3n", 16, "float64", 0.6, 0.1),
            _row("relu", 8, "float32", 0.5, 0.4), _row("relu", 8, "float64", 0.9, 0.9, optimizer="lm"),
            {"name": "exact/lemma2", "optimizer": "adam"}]
    paths = bench.draw(rows, tmp_path)
    assert [p.rsplit("/", 1)[1] for p in paths] == ["bench.pdf", "bench.png"]
    axes = drawn[-1].axes
    assert all(ax.get_ylabel() == "fraction of the limit" for ax in axes)
    assert len(axes) == 2                                                    # float32, float64
    heights = [sorted(round(b.get_height(), 6) for b in ax.patches) for ax in axes]
    assert heights == [[0.4, 0.5], [0.1, 0.2, 0.3, 0.6]]                     # lm and non-train rows left out
    faces = {to_hex(b.get_facecolor(), keep_alpha=False) for b in axes[1].patches}
    assert faces == {to_hex(colour("relu")), to_hex(colour("polyrelu3n"))}


def test_no_adam_rows_is_refused(tmp_path):
    with pytest.raises(ValueError, match="rows"):
        bench.draw([_row("relu", 8, "float64", 0.3, 0.2, optimizer="lbfgs")], tmp_path)


def test_panels_pass_the_figure_checks(tmp_path, drawn):
    bench.draw([_row("relu", 8, "float64", 0.3, 0.2)], tmp_path)
    panels_ok(drawn[-1])
