"""Charts as SVG geometry, computed on the server: no script and nothing fetched from the internet.

The templates draw what these functions compute. Every bar carries its numbers as ``data-`` attributes and
a ``<title>`` tooltip, so a reader (and a test) can check them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timezone

from airflow_provider_cio.plugins.runs import SyncRun

WIDTH = 720
HEIGHT = 180
LEFT = 56
BOTTOM = 22
TOP = 10
SERIES = (("rows_sent", "sent"), ("rows_failed", "failed"), ("rows_removed", "removed"))


@dataclass
class Segment:
    """One coloured part of a bar."""

    y: float
    height: float
    css: str


@dataclass
class Bar:
    """One run in a chart."""

    x: float
    width: float
    title: str
    data: dict[str, str]
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Chart:
    """A bar chart: bars, horizontal grid lines with labels, and the first and last run's date."""

    name: str
    width: int
    height: int
    bars: list[Bar]
    grid: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]
    """(x, text-anchor, label)."""


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value:
        step /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def axis_label(value: float, unit: str) -> str:
    """A grid label: 1,200 / 2.5k / 1.2M, or seconds."""
    if unit == "s":
        return f"{value:g} s" if value < 120 else f"{value / 60:g} min"
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:g}"


def frame(name: str, runs: Sequence[SyncRun], top: float, unit: str) -> tuple[Chart, float, float]:
    """An empty chart for these runs (oldest first), with the bar pitch and the pixels per unit."""
    plot_width = WIDTH - LEFT - 8
    plot_height = HEIGHT - TOP - BOTTOM
    axis = nice_max(top)
    grid = [(TOP + plot_height * (1 - i / 2), axis_label(axis * i / 2, unit)) for i in range(3)]
    pitch = plot_width / max(len(runs), 1)
    labels: list[tuple[float, str, str]] = []
    if runs:
        first, last = runs[0], runs[-1]
        labels.append((LEFT, "start", run_day(first)))
        if len(runs) > 1:
            labels.append((LEFT + plot_width, "end", run_day(last)))
    return Chart(name, WIDTH, HEIGHT, [], grid, labels), pitch, plot_height / axis


def run_day(run: SyncRun) -> str:
    """The run's start date (UTC) for an axis label."""
    return run.start_date.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if run.start_date else run.run_id


def rows_chart(runs: Sequence[SyncRun]) -> Chart:
    """Rows sent, failed and removed per run, stacked (runs oldest first; runs without a report are gaps)."""
    top = max((sum(run.count(c) or 0 for c, _ in SERIES) for run in runs), default=0)
    chart, pitch, scale = frame("rows", runs, top, "rows")
    base = HEIGHT - BOTTOM
    for i, run in enumerate(runs):
        counts = {css: run.count(key) for key, css in SERIES}
        label = ", ".join(f"{(v or 0):,} {css}" for css, v in counts.items())
        bar = Bar(
            LEFT + i * pitch + pitch * 0.15,
            max(pitch * 0.7, 1),
            f"{run.run_id}: {label}" if run.report else f"{run.run_id}: no report ({run.state})",
            {"run-id": run.run_id, **{css: str(v) if v is not None else "" for css, v in counts.items()}},
        )
        y: float = base
        for css, value in counts.items():
            if value:
                height = value * scale
                y -= height
                bar.segments.append(Segment(y, height, css))
        chart.bars.append(bar)
    return chart


def duration_chart(runs: Sequence[SyncRun]) -> Chart:
    """The duration of each run (runs oldest first), red for failed runs."""
    top = max((run.seconds or 0 for run in runs), default=0)
    chart, pitch, scale = frame("duration", runs, top, "s")
    base = HEIGHT - BOTTOM
    for i, run in enumerate(runs):
        seconds = run.seconds
        bar = Bar(
            LEFT + i * pitch + pitch * 0.15,
            max(pitch * 0.7, 1),
            f"{run.run_id}: {seconds:.1f} s ({run.state})" if seconds is not None else f"{run.run_id}: {run.state}",
            {"run-id": run.run_id, "seconds": f"{seconds:.3f}" if seconds is not None else ""},
        )
        if seconds:
            css = "failed" if run.state == "failed" else "duration"
            bar.segments.append(Segment(base - seconds * scale, seconds * scale, css))
        chart.bars.append(bar)
    return chart


@dataclass
class Sparkline:
    """A small line of values (oldest first) for the overview."""

    points: str
    values: str
    width: int = 90
    height: int = 22


def sparkline(values: Sequence[float], width: int = 90, height: int = 22) -> Sparkline | None:
    """The polyline of the values, scaled to the box; None for fewer than two values."""
    if len(values) < 2:
        return None
    top = max(values) or 1
    step = (width - 4) / (len(values) - 1)
    points = " ".join(f"{2 + i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values))
    return Sparkline(points, " ".join(f"{v:g}" for v in values), width, height)
