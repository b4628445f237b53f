"""SVG chart geometry: scaled to the busiest day, labels inside the chart, zero days drawn flat."""

from __future__ import annotations

from datetime import date, timedelta

from crashsvc.web.charts import bar_chart, nice_ceiling, sparkline


def test_axis_maximum_is_a_round_number_at_or_above_the_peak():
    assert [nice_ceiling(value) for value in (0, 1, 3, 7, 10, 11, 230, 5001)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        500,
        10000,
    ]


def test_bars_scale_to_the_peak_and_zero_days_have_no_height():
    days = [(date(2026, 11, 1) + timedelta(days=offset), value) for offset, value in enumerate([0, 5, 10])]
    chart = bar_chart(days, width=300, height=100)
    assert chart.peak == 10 and chart.total == 15
    heights = [bar.height for bar in chart.bars]
    assert heights == [0.0, 50.0, 100.0]
    assert all(bar.y + bar.height == 100 for bar in chart.bars)
    assert [tick[2] for tick in chart.ticks] == ["start", "middle", "end"]
    assert chart.ticks[0][0] == 0 and chart.ticks[-1][0] == 300


def test_sparkline_points_and_totals():
    line = sparkline([0, 2, 4], width=100, height=20)
    assert line.points == "0.0,19.0 50.0,10.0 100.0,1.0" and line.total == 6 and line.last == 4
    assert sparkline([]).points == "0.0,23.0"
