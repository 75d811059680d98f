"""Charts drawn on the server as inline SVG: no script, no network, readable by screen readers.

Each chart carries a ``<title>`` and ``role="img"`` with an ``aria-label`` saying what it shows,
and every point a ``<title>`` with its exact value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH, HEIGHT = 640, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 12, 28


def line_chart(
    points: Sequence[tuple[str, float]],
    label: str,
    *,
    ceiling: float | None = None,
    threshold: float | None = None,
) -> str:
    """A line over ``points`` (x label, value), oldest first; ``ceiling`` fixes the y range top
    (1.0 for shares), ``threshold`` draws a dashed line where an alert starts."""
    if not points:
        return f'<p class="empty">No data yet for {escape(label)}.</p>'
    top = ceiling if ceiling is not None else max(max(v for _, v in points), 1e-9)
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return PAD_LEFT + index * step if len(points) > 1 else PAD_LEFT + plot_w / 2

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (1 - min(max(value / top, 0.0), 1.0))

    coordinates = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        *_axes(top, y, plot_w),
        f'<polyline class="series" points="{coordinates}" />',
    ]
    if threshold is not None:
        parts.append(
            f'<line class="threshold" x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" '
            f'y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" />'
        )
    for index, (name, value) in enumerate(points):
        parts.append(
            f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="3">'
            f"<title>{escape(name)}: {value:.3g}</title></circle>"
        )
    parts += _x_labels(points, x)
    parts.append("</svg>")
    return "".join(parts)


def _axes(top: float, y: Callable[[float], float], plot_w: float) -> list[str]:
    """The y axis with three ticks (0, half, top) and light grid lines."""
    lines = []
    for value in (0.0, top / 2, top):
        at = y(value)
        lines.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" y1="{at:.1f}" '
            f'y2="{at:.1f}" /><text class="tick" x="{PAD_LEFT - 6}" y="{at + 4:.1f}" '
            f'text-anchor="end">{value:.2g}</text>'
        )
    return lines


def _x_labels(points: Sequence[tuple[str, float]], x: Callable[[int], float]) -> list[str]:
    """The first and last point's labels (dates), so the time span is visible."""
    ends = {0: "start", len(points) - 1: "end"}
    return [
        f'<text class="tick" x="{x(index):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
        f"{escape(points[index][0][:16].replace('T', ' '))}</text>"
        for index, anchor in ends.items()
    ]


def bar_chart(bars: Sequence[tuple[str, int]], label: str) -> str:
    """Vertical bars (a histogram already binned: range label, count)."""
    if not bars or not any(count for _, count in bars):
        return f'<p class="empty">No data yet for {escape(label)}.</p>'
    top = max(count for _, count in bars)
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = plot_w / len(bars)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
        *_axes(float(top), lambda v: PAD_TOP + plot_h * (1 - v / top), plot_w),
    ]
    for index, (name, count) in enumerate(bars):
        height = plot_h * count / top
        x = PAD_LEFT + index * slot
        parts.append(
            f'<rect class="bar" x="{x + 2:.1f}" y="{PAD_TOP + plot_h - height:.1f}" '
            f'width="{max(slot - 4, 1):.1f}" height="{height:.1f}">'
            f"<title>{escape(name)}: {count}</title></rect>"
            f'<text class="tick" x="{x + slot / 2:.1f}" y="{HEIGHT - 8}" '
            f'text-anchor="middle">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


SMALL_WIDTH, SMALL_HEIGHT, SMALL_PAD = 320, 120, 18


def distribution_chart(
    labels: Sequence[str], reference: Sequence[float], current: Sequence[float], label: str
) -> str:
    """Reference and current shares side by side per bin: a small multiple, one per feature.

    Bars carry their exact shares in a ``<title>``; only the outer bins are labelled on the
    axis, so twenty bins stay readable at this size.
    """
    top = max(max(reference, default=0.0), max(current, default=0.0), 1e-9)
    plot_w, plot_h = SMALL_WIDTH - 2 * 4, SMALL_HEIGHT - SMALL_PAD - 4
    slot = plot_w / max(len(labels), 1)
    bar = max(slot / 2 - 1, 0.5)
    parts = [
        f'<svg class="chart small" viewBox="0 0 {SMALL_WIDTH} {SMALL_HEIGHT}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]
    for index, name in enumerate(labels):
        x = 4 + index * slot
        for offset, kind, share in ((0.0, "reference", reference[index]),
                                    (bar, "current", current[index])):  # fmt: skip
            height = plot_h * share / top
            parts.append(
                f'<rect class="{kind}" x="{x + offset + 0.5:.1f}" y="{4 + plot_h - height:.1f}" '
                f'width="{bar:.1f}" height="{height:.1f}"><title>{escape(name)}: {kind} '
                f"{100 * share:.1f} %</title></rect>"
            )
    if labels:
        parts.append(
            f'<text class="tick" x="4" y="{SMALL_HEIGHT - 4}">{escape(labels[0])}</text>'
            f'<text class="tick" x="{SMALL_WIDTH - 4}" y="{SMALL_HEIGHT - 4}" '
            f'text-anchor="end">{escape(labels[-1])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
