"""Server-rendered SVG charts: geometry computed here, drawn by templates (no script, no inline style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass
class BarChart:
    width: int
    height: int
    bars: list[Bar]
    peak: int
    ticks: list[tuple[float, str, str]] = field(default_factory=list)  # (x, label, text-anchor)
    total: int = 0


def nice_ceiling(value: int) -> int:
    """The axis maximum: 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def bar_chart(series: list[tuple[date, int]], width: int = 1000, height: int = 150) -> BarChart:
    """One bar per day, scaled to the busiest day; labels under the first, middle and last bar."""
    count = max(len(series), 1)
    peak = nice_ceiling(max((value for _, value in series), default=0))
    slot = width / count
    gap = min(2.0, slot * 0.2)
    bars = []
    for index, (day, value) in enumerate(series):
        bar_height = 0.0 if value <= 0 else max(1.5, height * value / peak)
        bars.append(
            Bar(
                x=round(index * slot + gap / 2, 2),
                y=round(height - bar_height, 2),
                width=round(slot - gap, 2),
                height=round(bar_height, 2),
                label=day.isoformat(),
                value=value,
            )
        )
    ticks = []
    last = len(series) - 1
    for index in sorted({0, len(series) // 2, last}):
        if 0 <= index < len(series):
            # The outer labels hug the chart's edges so they are never cut off.
            x, anchor = (
                (0.0, "start")
                if index == 0 and last > 0
                else (float(width), "end")
                if index == last and last > 0
                else (round(index * slot + slot / 2, 2), "middle")
            )
            ticks.append((x, series[index][0].strftime("%b %d"), anchor))
    return BarChart(
        width=width, height=height, bars=bars, peak=peak, ticks=ticks, total=sum(value for _, value in series)
    )


@dataclass
class Sparkline:
    width: int
    height: int
    points: str
    area: str
    total: int
    last: int


def sparkline(values: list[int], width: int = 112, height: int = 24) -> Sparkline:
    """A polyline over ``values`` (oldest first) with a filled area under it."""
    values = list(values) or [0]
    top = max(max(values), 1)
    step = width / max(len(values) - 1, 1)
    coords = [
        (round(i * step, 1), round(height - 1 - (height - 2) * v / top, 1)) for i, v in enumerate(values)
    ]
    points = " ".join(f"{x},{y}" for x, y in coords)
    area = f"M0,{height} L" + " L".join(f"{x},{y}" for x, y in coords) + f" L{coords[-1][0]},{height} Z"
    return Sparkline(width=width, height=height, points=points, area=area, total=sum(values), last=values[-1])
