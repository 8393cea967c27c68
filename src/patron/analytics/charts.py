"""A report's charts drawn by matplotlib (Agg, no display): PNG for files, SVG inside pages."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Literal

from patron.analytics.cells import axis_scale
from patron.analytics.contract import Chart, ChartKind, Unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from patron.analytics.contract import Report, Table

ImageFormat = Literal["png", "svg"]
_WIDTH = 9.0
_HEIGHT = 4.2
# Category labels beyond this many are thinned out so that they stay readable.
_MAX_LABELS = 24


def _values(chart: Chart, values: tuple[float | None, ...]) -> list[float]:
    scale = axis_scale(chart.unit, chart.currency)
    return [math.nan if value is None else value * scale for value in values]


def _y_label(chart: Chart) -> str:
    if chart.y_label:
        return chart.y_label
    if chart.unit is Unit.MONEY and chart.currency:
        return chart.currency
    if chart.unit is Unit.SHARE:
        return "%"
    return ""


def _draw(ax: Axes, chart: Chart) -> None:
    positions = list(range(len(chart.categories)))
    if not positions or not chart.series:
        ax.set_title(chart.title)
        ax.axis("off")
        ax.text(0.5, 0.5, "no data in this period", ha="center", va="center")
        return
    if chart.kind is ChartKind.HEATMAP:
        grid = [_values(chart, one.values) for one in chart.series]
        image = ax.imshow(grid or [[math.nan]], aspect="auto", cmap="viridis")
        ax.set_yticks(range(len(chart.series)), [one.name for one in chart.series])
        ax.figure.colorbar(image, ax=ax, label=_y_label(chart))
    elif chart.kind is ChartKind.LINE:
        for one in chart.series:
            ax.plot(positions, _values(chart, one.values), marker="o", markersize=3, label=one.name)
    else:
        count = max(len(chart.series), 1)
        stacked = chart.kind is ChartKind.STACKED_BAR
        width = 0.8 if stacked else 0.8 / count
        bottom = [0.0] * len(positions)
        for index, one in enumerate(chart.series):
            values = _values(chart, one.values)
            if stacked:
                ax.bar(positions, values, width, bottom=bottom, label=one.name)
                bottom = [
                    b + (0.0 if math.isnan(v) else v) for b, v in zip(bottom, values, strict=True)
                ]
            else:
                offset = (index - (count - 1) / 2) * width
                ax.bar([p + offset for p in positions], values, width, label=one.name)
    step = max(1, math.ceil(len(positions) / _MAX_LABELS))
    ax.set_xticks(positions[::step], chart.categories[::step], rotation=45, ha="right")
    ax.set_title(chart.title)
    ax.set_xlabel(chart.x_label)
    if chart.kind is not ChartKind.HEATMAP:
        ax.set_ylabel(_y_label(chart))
        if len(chart.series) > 1:
            ax.legend(fontsize="small")
        ax.grid(axis="y", alpha=0.3)


def _save(figure: Figure, image_format: ImageFormat) -> bytes:
    buffer = io.BytesIO()
    # A fixed date keeps SVG and PNG output identical from one run to the next.
    metadata = {"Date": None} if image_format == "svg" else {}
    figure.savefig(buffer, format=image_format, dpi=100, metadata=metadata)
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    # matplotlib costs about a second to import: only a command that draws pays for it.
    from matplotlib.figure import Figure  # noqa: PLC0415

    return Figure(figsize=(width, height), layout="constrained")


def draw_chart(chart: Chart, image_format: ImageFormat = "svg") -> bytes:
    """One chart as an image."""
    figure = _figure(_WIDTH, _HEIGHT)
    _draw(figure.add_subplot(), chart)
    return _save(figure, image_format)


def _draw_table(ax: Axes, table: Table, formatted: list[list[str]]) -> None:
    ax.axis("off")
    ax.set_title(table.title)
    if formatted:
        drawn = ax.table(
            cellText=formatted, colLabels=[c.label for c in table.columns], loc="upper center"
        )
        drawn.auto_set_font_size(value=False)
        drawn.set_fontsize(8)
    else:
        ax.text(0.5, 0.5, "no data in this period", ha="center", va="center")


def draw_report(report: Report, formatted_first_table: list[list[str]]) -> bytes:
    """Every chart of ``report`` stacked in one PNG; the first table when it has no chart."""
    count = max(len(report.charts), 1)
    figure = _figure(_WIDTH, _HEIGHT * count + 0.6)
    period = str(report.period) if report.period else "all data"
    figure.suptitle(f"{report.title} · {period}", fontsize="large")
    axes = figure.subplots(count, 1, squeeze=False)
    if report.charts:
        for ax, chart in zip(axes[:, 0], report.charts, strict=True):
            _draw(ax, chart)
    elif report.tables:
        _draw_table(axes[0, 0], report.tables[0], formatted_first_table)
    else:
        axes[0, 0].axis("off")
    return _save(figure, "png")
