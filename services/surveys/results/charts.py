"""A question's counts as an SVG bar chart, drawn on the server: no JavaScript, and nothing inline
for the Content-Security-Policy to refuse (the look is shared/static/civic.css's .chart classes).

The chart is a picture of the table printed beside it (the table is what a screen reader reads):
``role="img"`` with a ``<title>``. A hidden count (``None``, shown as ``*`` in the table) has no
bar, only its label and the mark, so the picture gives away no more than the table."""

import unicodedata
from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 300
LINE = 36  # per bucket: its label, then its bar
BAR_HEIGHT = 12
HIDDEN = "*"


def _clean(text: str) -> Markup:
    """Escaped, on one line, without what XML cannot hold (control characters, U+FFFE/U+FFFF)."""
    return escape("".join(" " if unicodedata.category(c) == "Cc" or c in "\ufffe\uffff" else c for c in text))


def shown(value: int | None) -> str:
    return HIDDEN if value is None else f"{value:,}"


def bar_chart(bars: Sequence[tuple[str, int | None]], title: str) -> Markup:
    """(label, count or None) per bar, the longest bar the full width."""
    longest = max((value or 0 for _label, value in bars), default=0) or 1
    height = max(len(bars), 1) * LINE
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" preserveAspectRatio="xMinYMin meet">',
        f"<title>{_clean(title)}</title>",
    ]
    for row, (label, value) in enumerate(bars):
        top = row * LINE
        out.append(f'<text class="chart-label" x="0" y="{top + 13}">{_clean(label)}: {shown(value)}</text>')
        if value:
            width = round(value / longest * WIDTH, 2)
            out.append(
                f'<rect class="chart-bar" x="0" y="{top + 18}" width="{width}" height="{BAR_HEIGHT}"/>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text in it is escaped above)
