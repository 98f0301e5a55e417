"""Home: how the business is doing, as charts over a chosen range, with the numbers as tables too."""

from __future__ import annotations

from dataclasses import dataclass

from babel.numbers import format_compact_currency, format_decimal
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from billfold.core import clock
from billfold.core.money import decimal_places, to_major
from billfold.dashboard import metrics
from billfold.dashboard.charts import TICKS, Chart, bar_chart, line_chart
from billfold.dashboard.pages import render_page
from billfold.dashboard.security import livemode, staff_page
from billfold.dashboard.templatetags.dashboard import money


@dataclass(frozen=True)
class Panel:
    """One chart of the home page, with its headline figure and its data as rows for a table."""

    key: str
    title: str
    headline: str
    note: str
    chart: Chart
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    legend: tuple[tuple[str, str], ...] = ()


def _count(value: float) -> str:
    return str(format_decimal(value, locale="en_US"))


@staff_page
@require_http_methods(["GET", "HEAD"])
def home(request: HttpRequest) -> HttpResponse:
    mode = livemode(request)
    range_key = request.GET.get("range", "30d")
    if range_key not in {r.key for r in metrics.RANGES}:
        range_key = "30d"
    now = clock.now()
    spans = metrics.buckets(range_key, now)
    labels = [span.label for span in spans]
    ticks = [span.short for span in spans]
    moments = [span.end for span in spans]
    currencies = metrics.currencies(livemode=mode)
    currency = request.GET.get("currency", "")
    if currency not in currencies:
        currency = currencies[0] if currencies else "usd"

    def axis_money(value: float) -> str:
        return str(format_compact_currency(to_major(round(value), currency), currency.upper(), locale="en_US"))

    mrr = metrics.mrr_series(livemode=mode, currency=currency, moments=moments)
    active = metrics.active_series(livemode=mode, moments=moments)
    new, churned = metrics.new_and_churned(livemode=mode, spans=spans)
    failed = metrics.failed_payments(livemode=mode, spans=spans)
    start_active = metrics.active_series(livemode=mode, moments=[spans[0].start])[0]
    # Churn rate: of the subscriptions active at some point of the range (those running at its start
    # and those started during it), the share that ended.
    during = start_active + sum(new)
    churn_note = (
        f"Churn rate {sum(churned) / during:.1%}: {_count(sum(churned))} of the {_count(during)} active "
        "in the range ended"
        if during
        else "No subscriptions were active in the range"
    )
    panels = [
        Panel(
            key="mrr",
            title="Monthly recurring revenue",
            headline=money(mrr[-1], currency),
            note=f"{_change(mrr[0], mrr[-1], money_of=currency)} over the range",
            chart=line_chart(mrr, ticks, axis_money, minimum=TICKS * 10 ** decimal_places(currency)),
            columns=("Period", f"MRR ({currency.upper()})"),
            rows=[(label, money(value, currency)) for label, value in zip(labels, mrr, strict=True)],
        ),
        Panel(
            key="active",
            title="Active subscriptions",
            headline=_count(active[-1]),
            note=f"{_change(active[0], active[-1])} over the range, trials included",
            chart=line_chart(active, ticks, _count),
            columns=("Period", "Active subscriptions"),
            rows=[(label, _count(value)) for label, value in zip(labels, active, strict=True)],
        ),
        Panel(
            key="churn",
            title="New vs churned subscriptions",
            headline=f"+{_count(sum(new))} / \N{MINUS SIGN}{_count(sum(churned))}",
            note=churn_note,
            chart=bar_chart([(new, "bar-new", "new"), (churned, "bar-churned", "churned")], ticks, _count),
            columns=("Period", "New", "Churned"),
            rows=[(label, _count(n), _count(c)) for label, n, c in zip(labels, new, churned, strict=True)],
            legend=(("bar-new", "New"), ("bar-churned", "Churned")),
        ),
        Panel(
            key="failed",
            title="Failed payments",
            headline=_count(sum(failed)),
            note="Declined card payments in the range",
            chart=bar_chart([(failed, "bar-failed", "failed")], ticks, _count),
            columns=("Period", "Failed payments"),
            rows=[(label, _count(value)) for label, value in zip(labels, failed, strict=True)],
        ),
    ]
    return render_page(
        request,
        "dashboard/home.html",
        {
            "panels": panels,
            "ranges": metrics.RANGES,
            "range_key": range_key,
            "currencies": currencies,
            "currency": currency,
            # A new install has nothing to chart yet: the page says where to start.
            "getting_started": not currencies,
        },
        section="home",
    )


def _change(first: int, last: int, *, money_of: str | None = None) -> str:
    delta = last - first
    shown = money(abs(delta), money_of) if money_of else _count(abs(delta))
    if delta == 0:
        return "No change"
    return f"{'Up' if delta > 0 else 'Down'} {shown}"
