"""Bar charts as SVG, drawn on the server: pages stay without JavaScript, and the Content-Security
Policy (no inline style) holds, since every look is an attribute or a class of shared/static/civic.css.

One horizontal bar per row, its label and value written above it, so that a long label still
reads at 390 px; a bar's margin of error is a whisker around its end. The chart only repeats what
the table beside it says: the table is what a screen reader reads, the chart a picture of it."""

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 300  # the viewBox's units; the picture scales to its box (civic.css .chart)
_ROW = 40  # a label line and a bar
_BAR = 14
_LABEL_BASELINE = 14


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # a count or an amount: not negative
    margin: float | None = None  # the value's margin of error, drawn as a whisker
    shown: str = ""  # the value as the reader reads it ("1,234 ± 56"), beside the label

    def __post_init__(self) -> None:
        for name, number in (("value", self.value), ("margin", self.margin)):
            if number is not None and not (math.isfinite(number) and number >= 0):
                raise ValueError(f"a bar's {name} is a finite number, not negative: {number!r}")


def _text(text: str) -> Markup:
    """A label on one line, escaped, without the characters XML cannot hold (controls,
    U+FFFE and U+FFFF), which would leave the picture unreadable to a parser."""
    kept = "".join(" " if unicodedata.category(c) == "Cc" or c in "\ufffe\uffff" else c for c in text)
    return escape(kept)


def _scale(bars: Sequence[Bar]) -> float:
    """What the full width stands for: the longest bar with its whisker (1 when all are 0)."""
    longest = max((bar.value + (bar.margin or 0) for bar in bars), default=0.0)
    return longest if longest > 0 else 1.0


def _x(value: float, scale: float) -> float:
    return round(min(value, scale) / scale * WIDTH, 2)


def bar_chart(bars: Sequence[Bar], *, title: str, description: str = "") -> Markup:
    """An ``<svg>`` of ``bars``, named by ``title`` for assistive technology."""
    scale = _scale(bars)
    height = max(len(bars), 1) * _ROW
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{_text(title)}">',
        f"<title>{_text(title)}</title>",
    ]
    if description:
        parts.append(f"<desc>{_text(description)}</desc>")
    for row, bar in enumerate(bars):
        top = row * _ROW
        label = f"{bar.label}: {bar.shown}" if bar.shown else bar.label
        parts.append(f'<text class="chart-label" x="0" y="{top + _LABEL_BASELINE}">{_text(label)}</text>')
        bar_top = top + _LABEL_BASELINE + 6
        end = _x(bar.value, scale)
        parts.append(f'<rect class="chart-bar" x="0" y="{bar_top}" width="{end}" height="{_BAR}"/>')
        if bar.margin:
            low, high = _x(max(bar.value - bar.margin, 0), scale), _x(bar.value + bar.margin, scale)
            middle = bar_top + _BAR / 2
            parts.append(f'<line class="chart-margin" x1="{low}" y1="{middle}" x2="{high}" y2="{middle}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text in it is escaped above)
