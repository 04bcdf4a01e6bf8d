"""The Insights page's charts, drawn on the server as SVG by leather: shapes with their
colours as attributes, no script and no style, so that the page's Content-Security-Policy
holds them as it is. Every chart's numbers are on the page beside it too."""

import leather
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from broadcasts.insights import RESUBSCRIBED, SOURCES, Day, Group, Outcome

# leather's theme is the module's own: set once, for every chart.
leather.theme.background_color = "none"
for _font in ("title", "legend", "tick", "axis_title"):
    setattr(leather.theme, f"{_font}_font_family", "system-ui, sans-serif")
leather.theme.tick_color = "#8a8a8a"
leather.theme.label_color = "#8a8a8a"
leather.theme.legend_color = "#8a8a8a"
leather.theme.legend_font_size = 12

REACH_COLOUR = "#1565c0"
# One colour for each source.
SOURCE_COLOURS = {"stop": "#c62828", "digit": "#ad1457", "review": "#6a1b9a",
                  "carrier": "#4527a0", "page": "#1565c0", "told": "#00838f", "staff": "#ffb300",
                  "import": "#6d4c41"}  # fmt: skip
RESUBSCRIBED_COLOUR = "#2e7d32"
RATE_COLOUR, FLAGGED_COLOUR = "#1565c0", "#c62828"


def _svg(chart: leather.Chart, label: str, width: int, height: int) -> SafeString:
    """The chart as an SVG element that scales to its box, named for screen readers (leather
    escapes every text it draws)."""
    drawn = chart.to_svg(width=width, height=height)
    sized = f'<svg width="{width}" height="{height}"'
    assert drawn.startswith(sized)
    named = (
        f'<svg viewBox="0 0 {width} {height}" class="chart" role="img" aria-label="{escape(label)}"'
    )
    return mark_safe(named + drawn[len(sized) :])  # noqa: S308 (leather escaped its text)


def reach(channel_label: str, groups: list[Group]) -> SafeString:
    """One bar a group, the first at the top."""
    chart = leather.Chart()
    chart.add_bars([(group.contacts, group.label) for group in groups],
                   fill_color=REACH_COLOUR)  # fmt: skip
    chart.add_x_axis(tick_formatter=lambda value, index, count: f"{value:,.0f}")
    return _svg(chart, f"{channel_label}: who may be reached now", 720, 200)


def opt_outs(days: list[Day]) -> SafeString:
    """Opt-outs a day stacked by source above the axis, re-subscriptions below it."""
    chart = leather.Chart()
    # A day's label names its year too when the days span more than one: leather puts
    # columns of the same label in one place.
    one_year = len(days) <= 365
    labels = [f"{day.day:%-d %b}" if one_year else f"{day.day:%-d %b %Y}" for day in days]
    # leather draws columns over one another: each source's column reaches up to the sum of
    # those stacked below it and itself, drawn from the top of the stack down.
    keys = list(SOURCES)
    for n in reversed(range(len(keys))):
        below_and_it = keys[: n + 1]
        heights = [sum(day.opt_outs[key] for key in below_and_it) for day in days]
        chart.add_columns(list(zip(labels, heights, strict=True)), name=SOURCES[keys[n]],
                          fill_color=SOURCE_COLOURS[keys[n]])  # fmt: skip
    chart.add_columns([(label, -day.resubscribed) for label, day in zip(labels, days, strict=True)],
                      name=RESUBSCRIBED, fill_color=RESUBSCRIBED_COLOUR)  # fmt: skip
    # A label a week, as the first day of each.
    chart.add_x_axis(ticks=labels[::7])
    chart.add_y_axis(tick_formatter=lambda value, index, count: f"{abs(value):,.0f}")
    return _svg(chart, "Opt-outs a day by source, and the contacts' re-subscriptions", 900, 360)


def rates(outcomes: list[Outcome]) -> SafeString:
    """Each broadcast's opt-out rate, those above the threshold in red."""
    chart = leather.Chart()
    for flagged, colour, name in ((False, RATE_COLOUR, "Opt-out rate"),
                                  (True, FLAGGED_COLOUR, "Above the threshold")):  # fmt: skip
        bars = [((o.rate or 0) * 100, f"{o.broadcast.name} (#{o.broadcast.pk})")
                for o in outcomes if o.flagged == flagged]  # fmt: skip
        if bars:
            chart.add_bars(bars, name=name, fill_color=colour)
    chart.add_x_axis(tick_formatter=lambda value, index, count: f"{value:.1f} %")
    return _svg(chart, "Opt-out rate of each broadcast", 900, 120 + 28 * len(outcomes))
