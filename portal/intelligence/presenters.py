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

from portal import policy
from portal.concerns.models import Concern
from portal.core.codes import KeyQuestion, Rating
from portal.core.pagination import paginate
from portal.extensions import db
from portal.intelligence.forms import PERIODS, TimelineFilterForm
from portal.intelligence.models import Inspection, IntelligenceItem, RiskSignal, Severity, SourceType

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


def items_per_month_chart(chart_id: str, user, service_ids, today: date, subject: str) -> Chart:
    """Items per month by source over the last twelve months, this one included (one query)."""
    first_month = _month_start(today, CHART_MONTHS - 1)
    months = [_month_start(today, back) for back in range(CHART_MONTHS - 1, -1, -1)]
    year = sa.extract("year", IntelligenceItem.occurred_on)
    month = sa.extract("month", IntelligenceItem.occurred_on)
    query = (
        _visible_items(user, service_ids)
        .where(IntelligenceItem.occurred_on >= first_month, IntelligenceItem.occurred_on <= today)
        .with_only_columns(IntelligenceItem.source, year, month, sa.func.count())
        .group_by(IntelligenceItem.source, year, month)
    )
    counts: dict[SourceType, dict[date, int]] = defaultdict(dict)
    for source, in_year, in_month, count in db.session.execute(query):
        counts[source][date(int(in_year), int(in_month), 1)] = count
    chart = Chart(
        id=chart_id, kind="monthly", title=f"Items per month by source: {subject}",
        description=f"Stacked bar chart of the intelligence items about {subject} you can see, per month for the "
        f"last {CHART_MONTHS} months, by source",
        labels=[f"{start:%B %Y}" for start in months],
    )
    for source in SourceType:
        if source in counts:
            values = [counts[source].get(start, 0) for start in months]
            chart.series.append({"label": source.label, "values": values, "text": [str(value) for value in values]})
    totals = [sum(series["values"][index] for series in chart.series) for index in range(len(months))]
    chart.series.append({"label": "Total", "values": totals, "text": [str(total) for total in totals], "total": True})
    return chart


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


# The timeline and the counts ------------------------------------------------------------------


def _visible_items(user, service_ids):
    return policy.intelligence_items_visible_to(user).where(IntelligenceItem.service_id.in_(service_ids))


@dataclass(frozen=True)
class SourceCount:
    source: str
    counts: list[int]


def counts_by_source(user, service_ids, today: date) -> tuple[list[SourceCount], list[int]]:
    """Visible items per source over the last 3, 6 and 12 months (one GROUP BY), and the totals."""
    since = {months: months_back(today, months) for months in PERIODS}
    within = [sa.func.sum(sa.case((IntelligenceItem.occurred_on >= since[months], 1), else_=0)) for months in PERIODS]
    query = (
        _visible_items(user, service_ids)
        .where(IntelligenceItem.occurred_on >= since[max(PERIODS)], IntelligenceItem.occurred_on <= today)
        .with_only_columns(IntelligenceItem.source, *within)
        .group_by(IntelligenceItem.source)
    )
    found = {source: [int(count or 0) for count in counts] for source, *counts in db.session.execute(query)}
    rows = [SourceCount(source.label, found.get(source, [0] * len(PERIODS))) for source in SourceType]
    totals = [sum(row.counts[index] for row in rows) for index in range(len(PERIODS))]
    return rows, totals


@dataclass(frozen=True)
class TimelineRow:
    item: IntelligenceItem
    source: str
    key_questions: str
    severity: str
    service_name: str
    supplied_by: str
    #: None unless the reader may see who recorded items.
    recorded_by: str | None
    link: tuple[str, dict, str] | None
    editable: bool


def timeline(user, service_ids, form: TimelineFilterForm, today: date, *, can_edit: bool):
    """A page of the visible items, newest first, narrowed by the filters; and its rows."""
    query = _visible_items(user, service_ids)
    if form.source.data is not None:
        query = query.where(IntelligenceItem.source == form.source.data)
    if form.key_question.data is not None:
        query = query.where(IntelligenceItem.key_question_bits.op("&")(form.key_question.data.bit) != 0)
    if form.period.data:
        query = query.where(IntelligenceItem.occurred_on >= months_back(today, form.period.data))
    sees_recorder = policy.sees_confidential_intelligence(user)
    options = [sa.orm.joinedload(IntelligenceItem.service), sa.orm.joinedload(IntelligenceItem.supplied_by)]
    if sees_recorder:
        options.append(sa.orm.joinedload(IntelligenceItem.recorded_by))
    page = paginate(
        query.options(*options).order_by(IntelligenceItem.occurred_on.desc(), IntelligenceItem.id.desc()),
        per_page=TIMELINE_PER_PAGE,
    )
    concern_ids = {item.concern_id for item in page.items if item.concern_id}
    readable_concerns = set(db.session.scalars(
        policy.concerns_visible_to(user).where(Concern.id.in_(concern_ids)).with_only_columns(Concern.id)
    )) if concern_ids else set()
    rows = [_timeline_row(item, sees_recorder, readable_concerns, can_edit) for item in page.items]
    return page, rows


def _timeline_row(item: IntelligenceItem, sees_recorder: bool, readable_concerns: set[int], can_edit: bool) -> TimelineRow:
    link = None
    if item.visit_id:
        link = ("intelligence.visit", {"visit_id": item.visit_id}, "Open the visit")
    elif item.concern_id in readable_concerns:
        link = ("concerns.show_concern", {"concern_id": item.concern_id}, "Open the concern")
    return TimelineRow(
        item=item,
        source=item.source.label,
        key_questions=", ".join(question.label for question in item.key_questions),
        severity=f"Rated {item.rating.label}" if item.rating is not None else item.severity.label,
        service_name=item.service.name,
        supplied_by=item.supplied_by.name if item.supplied_by else "Not recorded",
        recorded_by=(item.recorded_by.name if item.recorded_by else "Not recorded") if sees_recorder else None,
        link=link,
        editable=can_edit and not item.source.recorded_elsewhere,
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


def signal_for(user, service_id: int) -> SignalView:
    """The service's signal in the reader's scope, with its reasons limited to items they may open."""
    signal = db.session.scalar(policy.risk_signals_visible_to(user).where(RiskSignal.service_id == service_id))
    if signal is None:
        return SignalView(signal=None, reasons=[])
    ids = [reason["item_id"] for reason in signal.reasons]
    readable = set(db.session.scalars(
        policy.intelligence_items_visible_to(user).where(IntelligenceItem.id.in_(ids)).with_only_columns(IntelligenceItem.id)
    )) if ids else set()
    reasons = [
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
    ]
    return SignalView(signal=signal, reasons=reasons)


def signals_by_service(user, service_ids) -> dict[int, RiskSignal]:
    return {
        signal.service_id: signal
        for signal in db.session.scalars(policy.risk_signals_visible_to(user).where(RiskSignal.service_id.in_(service_ids)))
    }
