"""What every figure test checks (imported by tests/test_figures_*.py): the figures a function
draws, kept open, and that every panel has labelled axes and data."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def drawn(monkeypatch):
    """The figures the functions draw, kept open (plt.close is recorded instead)."""
    figs = []
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    yield figs
    monkeypatch.undo()
    plt.close("all")


def panels_ok(fig):
    """The visible axes of ``fig``; each has x and y labels and at least one line or collection."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), ax.get_title()
        assert ax.lines or ax.collections, f"empty panel {ax.get_title()!r}"
    return axes
