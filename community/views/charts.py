"""Small bar charts drawn on the server as SVG: the dashboard needs no JavaScript."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bar:
    label: str
    value: int
    x: float
    y: float
    height: float
    show_label: bool


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    width: int
    height: int
    bar_width: float
    max_value: int


def bars(data: list[tuple[str, int]], title: str, width: int = 640, height: int = 180, label_every: int = 1) -> BarChart:
    """Geometry for templates/_macros/charts.html; values scale to the tallest bar."""
    plot_height = height - 40
    max_value = max((v for _, v in data), default=0) or 1
    slot = (width - 40) / max(len(data), 1)
    result = []
    for i, (label, value) in enumerate(data):
        h = plot_height * value / max_value
        result.append(Bar(label=label, value=value, x=30 + i * slot + slot * 0.1, y=10 + plot_height - h,
                          height=h, show_label=i % label_every == 0))
    return BarChart(title=title, bars=result, width=width, height=height, bar_width=slot * 0.8, max_value=max_value)
