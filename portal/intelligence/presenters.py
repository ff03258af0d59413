"""What a provider or service profile shows, worked out before the template sees any of it.

Every row comes through the policy layer: the timeline, the counts and the chart of items per
month all start from :func:`policy.intelligence_items_visible_to`, so none of them can show or
count an item the reader may not open; the risk signal is the one built for the reader's scope.
Each chart's figures are built once here and given both to the chart and to its table.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import url_for
from flask_sqlalchemy.pagination import Pagination

from portal import policy
from portal.agencies.models import Agency
from portal.concerns.models import Concern
from portal.core.codes import KeyQuestion, Rating
from portal.core.pagination import page_number
from portal.core.templating import format_date
from portal.extensions import db
from portal.intelligence.forms import PERIODS, TimelineFilterForm
from portal.intelligence.models import Inspection, IntelligenceItem, RiskSignal, Severity, SourceType
from portal.people.models import User

#: Timeline rows per page.
TIMELINE_PER_PAGE = 50
#: Months in the chart of items per month, this one included.
CHART_MONTHS = 12


def months_back(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_start(day: date, months_earlier: int) -> date:
    return months_back(day.replace(day=1), months_earlier)


# Ratings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingRow:
    question: str
    rating: Rating | None
    previous: Rating | None
    #: "up", "down", "same", "changed" (to or from a rating that does not rank) or None (nothing before).
    change: str | None

    @property
    def change_text(self) -> str:
        if self.change is None:
            return "First rating recorded"
        if self.change == "same":
            return "No change"
        was = self.previous.label if self.previous else "not given"
        return {"up": "Up: was ", "down": "Down: was ", "changed": "Changed: was "}[self.change] + was


@dataclass(frozen=True)
class RatingsView:
    latest: Inspection | None
    previous: Inspection | None
    rows: list[RatingRow]


def _change(rating: Rating | None, previous: Rating | None, had_previous: bool) -> str | None:
    if not had_previous:
        return None
    if rating == previous:
        return "same"
    now, before = (rating.rank if rating else None), (previous.rank if previous else None)
    if now is None or before is None:
        return "changed"
    return "up" if now > before else "down"


def ratings_view(inspections: list[Inspection]) -> RatingsView:
    """The latest publication's ratings and how each moved from the one before (oldest first in)."""
    latest = inspections[-1] if inspections else None
    previous = inspections[-2] if len(inspections) > 1 else None
    rows = []
    if latest is not None:
        for question, label in [(None, "Overall"), *((q, q.label) for q in KeyQuestion)]:
            before = previous.rating_for(question) if previous else None
            rows.append(RatingRow(label, latest.rating_for(question), before, _change(latest.rating_for(question), before, previous is not None)))
    return RatingsView(latest=latest, previous=previous, rows=rows)


def inspections_by_service(service_ids) -> dict[int, list[Inspection]]:
    """Each service's publications, oldest first (ties by id, as the signal orders them)."""
    found: dict[int, list[Inspection]] = defaultdict(list)
    for inspection in db.session.scalars(
        sa.select(Inspection).where(Inspection.service_id.in_(service_ids))
        .order_by(Inspection.service_id, Inspection.published_on, Inspection.id)
    ):
        found[inspection.service_id].append(inspection)
    return found


# Charts: each is one set of figures, drawn by Chart.js and shown as a table ----------------------


@dataclass
class Chart:
    """A chart's figures: ``labels`` along the x axis, one series per line or bar colour.

    ``text`` holds what the table shows in each cell (a rating's wording, where the chart plots its
    rank); the table and the chart's JSON both come from this one object.
    """

    id: str
    kind: str
    title: str
    description: str
    labels: list[str]
    series: list[dict] = field(default_factory=list)

    def table_rows(self) -> list[tuple[str, list[str]]]:
        return [(label, [series["text"][index] for series in self.series]) for index, label in enumerate(self.labels)]

    def as_json(self) -> dict:
        return {"kind": self.kind, "title": self.title, "labels": self.labels, "series": self.series}


RATING_TICKS = {rating.rank: rating.label for rating in Rating if rating.rank is not None}


def ratings_chart(chart_id: str, inspections: list[Inspection], service_name: str) -> Chart:
    """Ratings over time per key question and overall; ratings that do not rank leave a gap."""
    chart = Chart(
        id=chart_id, kind="ratings", title=f"Inspection ratings over time: {service_name}",
        description=f"Line chart of {service_name}'s published ratings, overall and for each key question, "
        "from Inadequate (lowest) to Outstanding (highest)",
        labels=[_day_label(inspection.published_on) for inspection in inspections],
    )
    for question, label in [(None, "Overall"), *((q, q.label) for q in KeyQuestion)]:
        ratings = [inspection.rating_for(question) for inspection in inspections]
        chart.series.append({
            "label": label,
            "values": [rating.rank if rating else None for rating in ratings],
            "text": [rating.label if rating else "Not given" for rating in ratings],
        })
    return chart


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


# The counts, the chart of items per month and the timeline ------------------------------------


def visible_items(user, service_ids):
    """The reader's items on a profile's services (the policy's query, built once per page)."""
    return policy.intelligence_items_visible_to(user).where(IntelligenceItem.service_id.in_(service_ids))


@dataclass(frozen=True)
class SourceCount:
    source: str
    counts: list[int]


#: ``FigureRow.period`` of an item dated after today: counted by the timeline's periods, not by the counts.
LATER = 0


@dataclass(frozen=True)
class FigureRow:
    source: SourceType
    #: The shortest of PERIODS the item falls in (LATER after today), None when older than them all.
    period: int | None
    #: ``year * 12 + month`` of an item within the chart's months (none after today), else None.
    month: int | None
    count: int


def _month_key(day: date) -> int:
    return day.year * 12 + day.month


@dataclass
class ItemFigures:
    """The visible items counted once, by source, by how recent and by month (one GROUP BY).

    The counts by source, the chart of items per month and the timeline's total all add these up,
    so the three always agree and the items are read once for all of them.
    """

    today: date
    rows: list[FigureRow]

    def counts_by_source(self) -> tuple[list[SourceCount], list[int]]:
        """Visible items per source over the last 3, 6 and 12 months (to today), and the totals."""
        found: dict[SourceType, list[int]] = defaultdict(lambda: [0] * len(PERIODS))
        for row in self.rows:
            if row.period is not None and row.period != LATER:
                counts = found[row.source]
                for index, months in enumerate(PERIODS):
                    if row.period <= months:
                        counts[index] += row.count
        rows = [SourceCount(source.label, found.get(source, [0] * len(PERIODS))) for source in SourceType]
        totals = [sum(row.counts[index] for row in rows) for index in range(len(PERIODS))]
        return rows, totals

    def monthly_chart(self, chart_id: str, subject: str) -> Chart:
        """Items per month by source over the last twelve months, this one included."""
        months = [_month_start(self.today, back) for back in range(CHART_MONTHS - 1, -1, -1)]
        counts: dict[SourceType, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for row in self.rows:
            if row.month is not None:
                counts[row.source][row.month] += row.count
        chart = Chart(
            id=chart_id, kind="monthly", title=f"Items per month by source: {subject}",
            description=f"Stacked bar chart of the intelligence items about {subject} you can see, per month for the "
            f"last {CHART_MONTHS} months, by source",
            labels=[f"{start:%B %Y}" for start in months],
        )
        keys = [_month_key(start) for start in months]
        for source in SourceType:
            if source in counts:
                values = [counts[source].get(key, 0) for key in keys]
                chart.series.append({"label": source.label, "values": values, "text": [str(value) for value in values]})
        totals = [sum(series["values"][index] for series in chart.series) for index in range(len(months))]
        chart.series.append({"label": "Total", "values": totals, "text": [str(total) for total in totals], "total": True})
        return chart

    def total(self, source: SourceType | None = None, period: int | None = None) -> int:
        """How many items the timeline lists with these filters (``period`` one of PERIODS or None)."""
        return sum(
            row.count for row in self.rows
            if (source is None or row.source is source)
            and (period is None or (row.period is not None and row.period <= period))
        )


def item_figures(items, today: date) -> ItemFigures:
    """Count the visible ``items`` by source, by the shortest period each falls in and by month."""
    occurred = IntelligenceItem.occurred_on
    since = {months: months_back(today, months) for months in PERIODS}
    first_month = _month_start(today, CHART_MONTHS - 1)
    period = sa.case(
        (occurred > today, LATER), *((occurred >= since[months], months) for months in sorted(PERIODS)), else_=None
    )
    month = sa.case(
        (sa.and_(occurred >= first_month, occurred <= today),
         sa.extract("year", occurred) * 12 + sa.extract("month", occurred)),
        else_=None,
    )
    # Labelled in a subquery, so the GROUP BY names the columns rather than repeating the CASEs.
    labelled = items.with_only_columns(
        IntelligenceItem.source.label("source"), period.label("period"), month.label("month")
    ).subquery("figures")
    query = sa.select(labelled.c.source, labelled.c.period, labelled.c.month, sa.func.count()).group_by(
        labelled.c.source, labelled.c.period, labelled.c.month
    )
    rows = [
        FigureRow(source, None if in_period is None else int(in_period), None if in_month is None else int(in_month), count)
        for source, in_period, in_month, count in db.session.execute(query)
    ]
    return ItemFigures(today=today, rows=rows)


class TimelinePage(Pagination):
    """One page of the timeline, counted beforehand (usually from the figures, without a query)."""

    def _query_items(self) -> list:
        return self._query_args["items"]

    def _query_count(self) -> int:
        return self._query_args["total"]


@dataclass(frozen=True)
class TimelineRow:
    item_id: int
    occurred_on: date
    #: ``occurred_on`` as the page shows it.
    date: str
    source: str
    key_questions: str
    severity: str
    summary: str
    confidential: bool
    service_name: str
    supplied_by: str
    #: None unless the reader may see who recorded items.
    recorded_by: str | None
    #: ``(href, text)`` of the visit or concern the item came from, when the reader may open it.
    link: tuple[str, str] | None
    editable: bool
    #: Where to change and to remove the item, when ``editable``.
    edit_href: str | None = None
    remove_href: str | None = None


def timeline(
    user, items, service_names: dict[int, str], form: TimelineFilterForm, today: date, figures: ItemFigures, *,
    sees_recorder: bool, can_edit: bool,
):
    """A page of the visible ``items``, newest first, narrowed by the filters; and its rows.

    The page is chosen on the items' ids alone (which the index on service, date and source holds),
    then only its rows are read in full.
    """
    query = items
    if form.source.data is not None:
        query = query.where(IntelligenceItem.source == form.source.data)
    if form.key_question.data is not None:
        query = query.where(IntelligenceItem.key_question_bits.op("&")(form.key_question.data.bit) != 0)
    if form.period.data:
        query = query.where(IntelligenceItem.occurred_on >= months_back(today, form.period.data))
    if form.key_question.data is None and (not form.period.data or form.period.data in PERIODS):
        total = figures.total(form.source.data, form.period.data or None)
    else:
        total = db.session.scalar(query.with_only_columns(sa.func.count()))
    number = page_number()
    chosen = (
        query.with_only_columns(IntelligenceItem.id.label("id"), IntelligenceItem.occurred_on.label("occurred_on"))
        .order_by(IntelligenceItem.occurred_on.desc(), IntelligenceItem.id.desc())
        .limit(TIMELINE_PER_PAGE).offset((number - 1) * TIMELINE_PER_PAGE)
        .subquery("chosen")
    )
    supplier = sa.orm.aliased(Agency)
    columns = [
        IntelligenceItem.id, IntelligenceItem.service_id, IntelligenceItem.occurred_on, IntelligenceItem.source,
        IntelligenceItem.key_question_bits, IntelligenceItem.severity, IntelligenceItem.rating, IntelligenceItem.summary,
        IntelligenceItem.confidential, IntelligenceItem.concern_id, IntelligenceItem.visit_id,
        IntelligenceItem.escalation_id, supplier.name.label("supplied_by_name"),
    ]
    page_query = (
        sa.select(*columns).join(chosen, chosen.c.id == IntelligenceItem.id)
        .outerjoin(supplier, supplier.id == IntelligenceItem.supplied_by_id)
    )
    if sees_recorder:
        recorder = sa.orm.aliased(User)
        page_query = page_query.add_columns(recorder.name.label("recorded_by_name")).outerjoin(recorder, recorder.id == IntelligenceItem.recorded_by_id)
    found = db.session.execute(page_query.order_by(chosen.c.occurred_on.desc(), chosen.c.id.desc())).all() if total else []
    concern_ids = {found_row.concern_id for found_row in found if found_row.concern_id}
    readable_concerns = set(db.session.scalars(
        policy.concerns_visible_to(user).where(Concern.id.in_(concern_ids)).with_only_columns(Concern.id)
    )) if concern_ids else set()
    hrefs = (_href_maker("intelligence.edit_item"), _href_maker("intelligence.remove_item")) if can_edit else None
    # Escalations (issue 7): linked only for a reader who may open them.
    from portal.escalations.models import Escalation

    escalation_ids = {found_row.escalation_id for found_row in found if found_row.escalation_id}
    readable_escalations = set(db.session.scalars(
        policy.escalations_visible_to(user).where(Escalation.id.in_(escalation_ids)).with_only_columns(Escalation.id)
    )) if escalation_ids else set()
    rows = [
        _timeline_row(found_row, service_names, sees_recorder, readable_concerns, hrefs, readable_escalations)
        for found_row in found
    ]
    page = TimelinePage(page=number, per_page=TIMELINE_PER_PAGE, max_per_page=None, error_out=False, items=rows, total=total)
    return page, rows


_PLACEHOLDER_ID = 987654321


def _href_maker(endpoint: str):
    """``url_for(endpoint, item_id=...)`` for many items at the cost of one ``url_for``."""
    before, after = url_for(endpoint, item_id=_PLACEHOLDER_ID).split(str(_PLACEHOLDER_ID))
    return lambda item_id: f"{before}{item_id}{after}"


def _timeline_row(found, service_names: dict[int, str], sees_recorder: bool, readable_concerns: set[int], hrefs,
                  readable_escalations: frozenset[int] | set[int] = frozenset()) -> TimelineRow:
    link = None
    if found.visit_id:
        link = (url_for("intelligence.visit", visit_id=found.visit_id), "Open the visit")
    elif found.concern_id in readable_concerns:
        link = (url_for("concerns.show_concern", concern_id=found.concern_id), "Open the concern")
    elif found.escalation_id in readable_escalations:
        link = (url_for("escalations.escalation", escalation_id=found.escalation_id), "Open the escalation")
    source: SourceType = found.source
    editable = hrefs is not None and not source.recorded_elsewhere
    return TimelineRow(
        item_id=found.id,
        occurred_on=found.occurred_on,
        date=format_date(found.occurred_on),
        source=source.label,
        key_questions=", ".join(question.label for question in KeyQuestion.from_bits(found.key_question_bits)),
        severity=f"Rated {found.rating.label}" if found.rating is not None else found.severity.label,
        summary=found.summary,
        confidential=found.confidential,
        service_name=service_names[found.service_id],
        supplied_by=found.supplied_by_name or "Not recorded",
        recorded_by=(found.recorded_by_name or "Not recorded") if sees_recorder else None,
        link=link,
        editable=editable,
        edit_href=hrefs[0](found.id) if editable else None,
        remove_href=hrefs[1](found.id) if editable else None,
    )


# The risk signal ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    occurred_on: date
    source: str
    severity: str
    key_questions: str
    points: float
    summary: str
    converging: bool


@dataclass(frozen=True)
class SignalView:
    signal: RiskSignal | None
    reasons: list[Reason]

    @property
    def converging_questions(self) -> list[KeyQuestion]:
        return self.signal.converging_questions if self.signal else []


def signal_for(user, service_id: int, items=None) -> SignalView:
    """The service's signal in the reader's scope, with its reasons limited to items they may open.

    ``items``: the reader's visible items (:func:`visible_items`) when the page has built them already.
    """
    return signal_views(user, [service_id], items).get(service_id, SignalView(signal=None, reasons=[]))


def signal_views(user, service_ids, items=None) -> dict[int, SignalView]:
    """:func:`signal_for` for many services in two queries (the signals, then which reasons the reader may open)."""
    signals = db.session.scalars(
        policy.risk_signals_visible_to(user).where(RiskSignal.service_id.in_(list(service_ids)))
    ).all() if service_ids else []
    if items is None:
        items = policy.intelligence_items_visible_to(user)
    ids = [reason["item_id"] for signal in signals for reason in signal.reasons]
    readable = set(db.session.scalars(
        items.where(IntelligenceItem.id.in_(ids)).with_only_columns(IntelligenceItem.id)
    )) if ids else set()
    return {
        signal.service_id: SignalView(signal=signal, reasons=[
            Reason(
                occurred_on=date.fromisoformat(reason["occurred_on"]),
                source=SourceType[reason["source"]].label,
                severity=Severity[reason["severity"]].label,
                key_questions=", ".join(question.label for question in KeyQuestion.from_bits(reason["key_question_bits"])),
                points=reason["points"],
                summary=reason["summary"],
                converging=reason["converging"],
            )
            for reason in signal.reasons
            if reason["item_id"] in readable
        ])
        for signal in signals
    }


def signals_by_service(user, service_ids) -> dict[int, RiskSignal]:
    """Each service's signal in the reader's scope: its band and convergence (not its reasons)."""
    query = policy.risk_signals_visible_to(user).where(RiskSignal.service_id.in_(service_ids)).options(
        sa.orm.load_only(RiskSignal.service_id, RiskSignal.band, RiskSignal.converging_bits)
    )
    return {signal.service_id: signal for signal in db.session.scalars(query)}
