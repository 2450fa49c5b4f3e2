"""matplotlib charts of the curate and train reports (matplotlib comes with the curate extra)."""

from __future__ import annotations

import io


def pyplot():
    """``matplotlib.pyplot`` drawing off-screen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig) -> bytes:
    """PNG bytes of a matplotlib figure, which is closed afterwards."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return buf.getvalue()
