"""Inline SVG charts drawn in Python: the report opens offline, with no chart library, font or CDN.

Every label may be attacker-written (an ASN name, a campaign title with a user agent in it), so
each one goes through :func:`nightowl.textsafe.printable` and is HTML-escaped here; the functions
return :class:`markupsafe.Markup` for the autoescaping template. Colours are SVG presentation
attributes (no ``style=`` attributes: the report's Content-Security-Policy forbids them).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from nightowl.reports.report_data import Band, Ranked, Series, Targeting
from nightowl.textsafe import printable

SEVERITY_COLOR = {
    "critical": "#b42318",
    "high": "#e8590c",
    "medium": "#d39e00",
    "low": "#2f80c0",
    "info": "#8a8f98",
}
FAIL_COLOR = "#c0392b"
OTHER_FAIL_COLOR = "#b8c2cc"
OK_COLOR = "#2e7d32"
TARGET_COLOR = "#9aa5b1"
AXIS_COLOR = "#667085"
GRID_COLOR = "#e4e7ec"
_TICK_STEPS = [timedelta(hours=h) for h in (1, 2, 3, 6, 12, 24, 48, 72, 24 * 7, 24 * 14, 24 * 30, 24 * 91)]


def _t(value: object, limit: int = 60) -> Markup:
    return escape(printable(value, limit))


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fmt(v: int) -> str:
    return f"{v:,}"


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * magnitude:
            return int(m * magnitude)
    return value


def _svg(width: int, height: int, label: str, body: list[str], cls: str) -> Markup:
    return Markup(
        f'<svg class="chart {cls}" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" role="img" aria-label="{_t(label, 200)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{_t(label, 200)}</title>{"".join(body)}</svg>'
    )


def empty(message: str) -> Markup:
    return Markup(f'<p class="chart-empty">{_t(message, 300)}</p>')


def _time_ticks(t0: datetime, t1: datetime, max_ticks: int = 9) -> tuple[list[datetime], str]:
    span = t1 - t0
    step = next((s for s in _TICK_STEPS if span / s <= max_ticks), _TICK_STEPS[-1])
    if step >= timedelta(days=1):
        first = t0.replace(hour=0, minute=0, second=0, microsecond=0)
        fmt = "%b %d"
    else:
        first = t0.replace(minute=0, second=0, microsecond=0)
        hours = int(step.total_seconds() // 3600)
        first = first.replace(hour=first.hour - first.hour % hours)
        fmt = "%b %d %H:%M"
    ticks, t = [], first
    while t <= t1:
        if t >= t0:
            ticks.append(t)
        t += step
    return ticks, fmt


def _y_axis(body: list[str], top: float, bottom: float, left: float, right: float, ymax: int) -> None:
    for i in range(5):
        value = ymax * i / 4
        y = bottom - (bottom - top) * i / 4
        body.append(f'<line x1="{left}" x2="{right}" y1="{_n(y)}" y2="{_n(y)}" stroke="{GRID_COLOR}"/>')
        body.append(
            f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" class="tick" fill="{AXIS_COLOR}" '
            f'font-size="11">{_fmt(int(value)) if value == int(value) else _n(value)}</text>'
        )


def failures_over_time(series: Series, bands: Sequence[Band], width: int = 960, height: int = 290) -> Markup:
    """Failed sign-ins per bucket as bars, campaigns as shaded spans with their names."""
    if not series.starts or not any(series.failures):
        return empty("No failed sign-ins in the store.")
    left, right, top, bottom = 64.0, width - 16.0, 46.0, height - 34.0
    step = timedelta(seconds=series.bucket_seconds)
    t0, t1 = series.starts[0], series.starts[-1] + step
    span = (t1 - t0).total_seconds() or 1.0

    def x(t: datetime) -> float:
        return left + (right - left) * max(0.0, min(1.0, (t - t0).total_seconds() / span))

    ymax = _nice_max(max(series.failures))
    body: list[str] = []
    _y_axis(body, top, bottom, left, right, ymax)
    label_end = [left - 1000.0, left - 1000.0]  # where the last label of each of two rows ends
    for band in bands:
        if band.end < t0 or band.start > t1:
            continue
        x0, x1 = x(band.start), x(band.end + step)
        w = max(3.0, x1 - x0)
        color = SEVERITY_COLOR.get(band.severity, AXIS_COLOR)
        label = printable(band.label, 30)
        row = 0 if label_end[0] <= x0 else 1 if label_end[1] <= x0 else -1
        ly = top - 26 + max(row, 0) * 14
        if row >= 0:
            label_end[row] = x0 + 6.5 * len(label) + 8
        text = f'<text x="{_n(x0)}" y="{_n(ly + 6)}" font-size="10" fill="{color}">{escape(label)}</text>'
        body.append(
            f'<g class="band"><title>{_t(band.title, 200)}</title>'
            f'<rect x="{_n(x0)}" y="{_n(top)}" width="{_n(w)}" height="{_n(bottom - top)}" fill="{color}" '
            f'fill-opacity="0.13" stroke="{color}" stroke-opacity="0.5"/>'
            f'<rect x="{_n(x0)}" y="{_n(ly - 9)}" width="{_n(w)}" height="3" fill="{color}"/>'
            f"{text if row >= 0 else ''}</g>"
        )
    bw = (right - left) / len(series.starts)
    gap = 1.0 if bw > 3 else 0.0
    bars = []
    width_bar = _n(max(0.8, bw - gap))
    for start, total, attack in zip(series.starts, series.failures, series.attack_failures, strict=True):
        if not total:
            continue
        h_total = max(1.0, (bottom - top) * total / ymax)
        h_attack = min(h_total, max(1.0, (bottom - top) * attack / ymax)) if attack else 0.0
        tip = f"<title>{start:%Y-%m-%d %H:%M} UTC: {_fmt(total)} failed, {_fmt(attack)} from attack sources</title>"
        if h_total - h_attack > 0.05:
            bars.append(
                f'<rect class="bar other" x="{_n(x(start))}" y="{_n(bottom - h_total)}" width="{width_bar}" '
                f'height="{_n(h_total - h_attack)}" fill="{OTHER_FAIL_COLOR}">{tip}</rect>'
            )
        if h_attack:
            bars.append(
                f'<rect class="bar attack" x="{_n(x(start))}" y="{_n(bottom - h_attack)}" width="{width_bar}" '
                f'height="{_n(h_attack)}" fill="{FAIL_COLOR}">{tip}</rect>'
            )
    body.append(f'<g class="bars">{"".join(bars)}</g>')
    ticks, fmt = _time_ticks(t0, t1)
    for tick in ticks:
        tx = x(tick)
        anchor = "end" if tx > right - 40 else "middle"
        body.append(
            f'<line x1="{_n(tx)}" x2="{_n(tx)}" y1="{bottom}" y2="{bottom + 4}" stroke="{AXIS_COLOR}"/>'
        )
        body.append(
            f'<text x="{_n(tx)}" y="{bottom + 18}" text-anchor="{anchor}" font-size="11" fill="{AXIS_COLOR}">'
            f"{tick.strftime(fmt)}</text>"
        )
    body.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{AXIS_COLOR}"/>')
    unit = {3600: "hour", 21600: "6 hours", 86400: "day"}.get(series.bucket_seconds, "bucket")
    body.append(
        f'<text x="{left}" y="{height - 2}" font-size="11" fill="{AXIS_COLOR}">failed sign-ins per {unit}, UTC'
        "; red: from the attack's sources, grey: other failures; shaded: attack campaigns</text>"
    )
    return _svg(
        width, height, f"Failed sign-ins per {unit} with {len(bands)} campaigns marked", body, "timeseries"
    )


def campaign_spans(bands: Sequence[Band], width: int = 960) -> Markup:
    """Without the events: each campaign as a bar on a shared time axis (what the findings allow)."""
    if not bands:
        return empty("No password attack campaigns in these findings.")
    row = 24
    left, right, top = 230.0, width - 16.0, 8.0
    bottom = top + row * len(bands)
    height = int(bottom + 34)
    t0 = min(b.start for b in bands)
    t1 = max(b.end for b in bands)
    if t1 <= t0:
        t1 = t0 + timedelta(hours=1)
    span = (t1 - t0).total_seconds()

    def x(t: datetime) -> float:
        return left + (right - left) * (t - t0).total_seconds() / span

    body: list[str] = []
    for i, band in enumerate(bands):
        y = top + i * row
        color = SEVERITY_COLOR.get(band.severity, AXIS_COLOR)
        x0 = x(band.start)
        w = max(4.0, x(band.end) - x0)
        body.append(
            f'<g class="span"><title>{_t(band.title, 200)}: {band.start:%Y-%m-%d %H:%M} to '
            f"{band.end:%Y-%m-%d %H:%M} UTC</title>"
            f'<text x="{left - 8}" y="{_n(y + 15)}" text-anchor="end" font-size="11" fill="#1d2939">'
            f"{_t(band.title, 34)}</text>"
            f'<rect class="bar" x="{_n(x0)}" y="{_n(y + 4)}" width="{_n(w)}" height="{row - 8}" rx="2" '
            f'fill="{color}"/></g>'
        )
    ticks, fmt = _time_ticks(t0, t1, 7)
    for tick in ticks:
        tx = x(tick)
        body.append(f'<line x1="{_n(tx)}" x2="{_n(tx)}" y1="{top}" y2="{bottom}" stroke="{GRID_COLOR}"/>')
        body.append(
            f'<text x="{_n(tx)}" y="{bottom + 16}" text-anchor="middle" font-size="11" fill="{AXIS_COLOR}">'
            f"{tick.strftime(fmt)}</text>"
        )
    body.append(
        f'<text x="{left}" y="{height - 2}" font-size="11" fill="{AXIS_COLOR}">campaign spans from the findings '
        "(run the report with --store for failed sign-ins per hour)</text>"
    )
    return _svg(width, height, f"{len(bands)} attack campaigns over time", body, "spans")


def ranked_bars(items: Sequence[Ranked], total: int, what: str, width: int = 470) -> Markup:
    """Top-N horizontal bars: distinct sources (or attempts when sources are unknown) per label."""
    if not items:
        return empty(f"No {what} information in the data.")
    use_sources = any(i.sources for i in items)
    values = [i.sources if use_sources else i.attempts for i in items]
    unit = "sources" if use_sources else "attempts"
    row, left, right, top = 24, 170.0, width - 60.0, 6.0
    height = int(top + row * len(items) + 24)
    vmax = max(values) or 1
    body: list[str] = []
    for k, (item, value) in enumerate(zip(items, values, strict=True)):
        y = top + k * row
        w = max(2.0, (right - left) * value / vmax) if value else 0.0
        body.append(
            f'<g class="row"><title>{_t(item.label, 120)}: {_fmt(item.sources)} sources, '
            f"{_fmt(item.attempts)} attempts</title>"
            f'<text x="{left - 8}" y="{_n(y + 15)}" text-anchor="end" font-size="11" fill="#1d2939">'
            f"{_t(item.label, 26)}</text>"
            f'<rect class="bar" x="{left}" y="{_n(y + 4)}" width="{_n(w)}" height="{row - 8}" rx="2" '
            f'fill="#4e6e8e"/>'
            f'<text x="{_n(left + w + 5)}" y="{_n(y + 15)}" font-size="11" fill="{AXIS_COLOR}">{_fmt(value)}</text></g>'
        )
    more = f"top {len(items)} of {total:,} {what}" if total > len(items) else f"{total:,} {what}"
    body.append(f'<text x="{left}" y="{height - 4}" font-size="11" fill="{AXIS_COLOR}">{unit}; {more}</text>')
    return _svg(width, height, f"Attack {unit} by {what}", body, "ranked")


def targeted_vs_compromised(items: Sequence[Targeting], width: int = 960) -> Markup:
    """Per campaign: accounts targeted (grey) and accounts whose password it confirmed (red)."""
    if not items:
        return empty("No password attack campaigns in these findings.")
    row, left, right, top = 34, 300.0, width - 70.0, 6.0
    height = int(top + row * len(items) + 26)
    vmax = max(i.targeted for i in items) or 1
    body: list[str] = []
    for k, item in enumerate(items):
        y = top + k * row
        wt = max(2.0, (right - left) * item.targeted / vmax)
        wc = max(2.0, (right - left) * item.compromised / vmax) if item.compromised else 0.0
        body.append(
            f'<g class="row"><title>{_t(item.label, 200)}: {_fmt(item.targeted)} targeted, '
            f"{_fmt(item.compromised)} compromised</title>"
            f'<text x="{left - 8}" y="{_n(y + 19)}" text-anchor="end" font-size="11" fill="#1d2939">'
            f"{_t(item.label, 46)}</text>"
            f'<rect class="bar targeted" x="{left}" y="{_n(y + 3)}" width="{_n(wt)}" height="13" rx="2" '
            f'fill="{TARGET_COLOR}"/>'
            f'<text x="{_n(left + wt + 5)}" y="{_n(y + 14)}" font-size="11" fill="{AXIS_COLOR}">'
            f"{_fmt(item.targeted)}</text>"
        )
        if wc:
            body.append(
                f'<rect class="bar compromised" x="{left}" y="{_n(y + 18)}" width="{_n(wc)}" height="13" rx="2" '
                f'fill="{FAIL_COLOR}"/>'
            )
            body.append(
                f'<text x="{_n(left + wc + 5)}" y="{_n(y + 29)}" font-size="11" fill="{FAIL_COLOR}">'
                f"{_fmt(item.compromised)} compromised</text>"
            )
        body.append("</g>")
    body.append(
        f'<text x="{left}" y="{height - 4}" font-size="11" fill="{AXIS_COLOR}">grey: accounts targeted; '
        "red: accounts whose password the attacker confirmed</text>"
    )
    return _svg(width, height, "Targeted versus compromised accounts per campaign", body, "targeting")
