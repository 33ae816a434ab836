"""Show ``Figure`` objects as pictures in Jupyter, with or without ``pyplot``.

simlib's figures are plain ``matplotlib.figure.Figure`` objects (no global pyplot state). IPython
shows such an object as an image only if a PNG formatter is registered for it, which normally
happens as a side effect of importing ``pyplot``. ``enable_notebook_display`` registers it
directly, so a cell whose last value is a Figure shows the picture in JupyterLab, Voila and
executed notebooks alike. ``figure_png`` is what the widgets put into ``ipywidgets.Image``.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["enable_notebook_display", "figure_png"]


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def enable_notebook_display() -> bool:
    """Register the PNG formatter for ``Figure`` in the running IPython; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with jupyterlab
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
    return True
