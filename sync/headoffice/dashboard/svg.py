"""Charts as SVG text, drawn on the server: a bar chart of one or two series over the buckets.
Pure functions of integers and already-translated labels; every text is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 220
LEFT, BOTTOM, TOP = 8, 28, 10


def bars(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int], str]],
    shown: Sequence[str] | None = None,
) -> str:
    """A grouped bar chart: ``series`` is (name, values, CSS class) each; ``shown`` are the
    values' texts for the tooltips (``title`` elements), one per value of the first series."""
    top = max([1, *(v for _, values, _ in series for v in values)])
    slots = max(1, len(labels))
    slot = (WIDTH - LEFT) / slots
    bar = max(1.0, slot * 0.8 / max(1, len(series)))
    plot = HEIGHT - BOTTOM - TOP
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{LEFT}" y1="{TOP + plot}" x2="{WIDTH}" y2="{TOP + plot}" class="axis"/>',
    ]
    for s, (name, values, css) in enumerate(series):
        for i, value in enumerate(values):
            h = 0 if value <= 0 else max(1.0, plot * value / top)
            x = LEFT + i * slot + slot * 0.1 + s * bar
            tip = shown[i] if shown is not None and s == 0 else str(value)
            parts.append(
                f'<rect class="bar {escape(css)}" x="{x:.1f}" y="{TOP + plot - h:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}"><title>{escape(name)} '
                f"{escape(labels[i])}: {escape(tip)}</title></rect>"
            )
    step = max(1, len(labels) // 8)
    for i in range(0, len(labels), step):
        x = LEFT + i * slot + slot / 2
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" class="tick">{escape(labels[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)
