"""Charts drawn on the server as SVG geometry: the template turns these numbers into ``<path>`` and
``<rect>`` elements, so charts need no JavaScript and pass a CSP without inline styles (colours come
from the stylesheet's classes)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 440
HEIGHT = 200
# Room for the y axis labels on the left and the x labels below.
LEFT, RIGHT, TOP, BOTTOM = 48, 14, 10, 26
# Labels under the x axis, at most: more would overlap on a phone.
X_LABELS = 4
TICKS = 4


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    line: str  # path data of the line ("" for bar charts)
    area: str  # path data of the area under the line
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    plot_left: int
    plot_right: int
    baseline: float
    last_point: tuple[float, float] | None


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least ``value``: round numbers for the axis."""
    if value <= 0:
        return 1.0
    power: float = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def axis_top(largest: float, *, minimum: float = 0) -> float:
    """The top of the y axis: ``TICKS`` steps of a round size, whole steps (counts and minor units
    are whole numbers, so a tick at 0.25 would mean nothing), and at least ``minimum`` (an empty
    money chart reads better from $0 to $4 than from $0 to $0.04)."""
    step = max(1, math.ceil(nice_ceiling(max(largest, minimum) / TICKS)))
    return float(step * TICKS)


def _y_ticks(top: float, fmt: Callable[[float], str]) -> list[Tick]:
    plot = HEIGHT - TOP - BOTTOM
    return [Tick(TOP + plot - plot * i / TICKS, fmt(top * i / TICKS)) for i in range(TICKS + 1)]


def _x_ticks(labels: Sequence[str], centers: Sequence[float]) -> list[Tick]:
    """At most ``X_LABELS`` labels, evenly spread, always including the last (now)."""
    count = len(labels)
    if count == 0:
        return []
    step = max(1, math.ceil(count / X_LABELS))
    chosen = sorted({*range(count - 1, -1, -step)})
    return [Tick(centers[i], labels[i]) for i in chosen]


def line_chart(
    values: Sequence[int], labels: Sequence[str], fmt: Callable[[float], str], *, minimum: float = 0
) -> Chart:
    top = axis_top(max(values, default=0), minimum=minimum)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(values)
    xs = [LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    ys = [TOP + plot_h - plot_h * v / top for v in values]
    points = [f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True)]
    line = "M" + " L".join(points) if points else ""
    baseline = TOP + plot_h
    area = f"{line} L{xs[-1]:.1f},{baseline:.1f} L{xs[0]:.1f},{baseline:.1f} Z" if points else ""
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        line=line,
        area=area,
        bars=[],
        y_ticks=_y_ticks(top, fmt),
        x_ticks=_x_ticks(labels, xs),
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        baseline=baseline,
        last_point=(xs[-1], ys[-1]) if points else None,
    )


def bar_chart(
    series: Sequence[tuple[Sequence[int], str, str]], labels: Sequence[str], fmt: Callable[[float], str]
) -> Chart:
    """Grouped bars: one group per label, one bar per ``(values, css class, name)`` series."""
    top = axis_top(max((max(values, default=0) for values, _, _ in series), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = len(labels)
    group = plot_w / max(n, 1)
    gap = group * 0.25
    bar_w = (group - gap) / max(len(series), 1)
    baseline = TOP + plot_h
    bars: list[Bar] = []
    for i in range(n):
        for j, (values, css, name) in enumerate(series):
            height = plot_h * values[i] / top
            x = LEFT + group * i + gap / 2 + bar_w * j
            bars.append(
                Bar(
                    round(x, 1),
                    round(baseline - height, 1),
                    round(bar_w, 1),
                    round(height, 1),
                    css,
                    f"{labels[i]}: {fmt(values[i])} {name}",
                )
            )
    centers = [LEFT + group * i + group / 2 for i in range(n)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        line="",
        area="",
        bars=bars,
        y_ticks=_y_ticks(top, fmt),
        x_ticks=_x_ticks(labels, centers),
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        baseline=baseline,
        last_point=None,
    )
