"""The Board's oversight figures: which escalations are stuck, where and for how long; who escalates
to whom; the themes; how long each stage takes; and the figures for the annual report.

Everything here is a function of the escalations (with their stages) that the viewer may see, as
:func:`portal.policy.escalations_visible_to` gives them, and of ``now``: :func:`load` reads them in
a fixed handful of queries whatever their number, :func:`compute` works the figures out in Python
(working days, medians and breaches are easier to get right, and to test, here than in SQL on two
databases), and :func:`csv_rows` gives the annual figures as tidy rows.

The figures hold no personal data: an escalation is shown by its reference, its agencies, what kind
of thing it is about (a service or provider by name, a concern by its reference only), its stage,
state and times, and, once resolved, its outcome and learning. The adult's details and view, the
disagreement itself and the names of people are never read into them.

Two kinds of figure sit side by side, and the page says which is which:

* **now**: the open escalations and their breaches at ``now``, whenever they were raised;
* **in the period**: what happened between the period's first and last day (England's dates):
  escalations raised, resolved or withdrawn, stages answered, ended, escalated or breached.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, subqueryload

from portal.concerns.models import Concern
from portal.core.codes import AbuseType, KeyQuestion, ServiceType
from portal.core.workdays import LONDON, is_working_day
from portal.escalations.ladder import Ladder
from portal.escalations.models import (
    Escalation,
    EscalationState,
    EscalationSubject,
    StageOutcome,
)
from portal.escalations.operations import deadline_words
from portal.escalations.presenters import working_days_ago
from portal.extensions import db

#: The financial year starts on 1 April: Boards report on April to March, in quarters.
FINANCIAL_YEAR_START_MONTH = 4


# Periods ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days in England, first and last included."""

    first: date
    last: date
    label: str

    @property
    def starts_at(self) -> datetime:
        return _midnight(self.first)

    @property
    def ends_at(self) -> datetime:
        """The moment after the last day (exclusive)."""
        return _midnight(self.last + timedelta(days=1))

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.starts_at <= moment < self.ends_at

    @classmethod
    def custom(cls, first: date, last: date) -> Period:
        return cls(first, last, f"{_day(first)} to {_day(last)}")

    @classmethod
    def financial_year(cls, start_year: int) -> Period:
        return cls(
            date(start_year, FINANCIAL_YEAR_START_MONTH, 1), date(start_year + 1, FINANCIAL_YEAR_START_MONTH, 1) - timedelta(days=1),
            financial_year_label(start_year),
        )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time()).replace(tzinfo=LONDON).astimezone(UTC)


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def financial_year_of(day: date) -> int:
    """The year the financial year holding ``day`` starts in (2026 for 1 April 2026 to 31 March 2027)."""
    return day.year if day.month >= FINANCIAL_YEAR_START_MONTH else day.year - 1


def financial_year_label(start_year: int) -> str:
    return f"April {start_year} to March {start_year + 1}"


def financial_quarter(day: date) -> Period:
    """The quarter of the financial year holding ``day``: April to June, July to September,
    October to December or January to March."""
    first_month = day.month - (day.month - 1) % 3
    first = date(day.year, first_month, 1)
    after = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    last = after - timedelta(days=1)
    number = ((first_month - FINANCIAL_YEAR_START_MONTH) % 12) // 3 + 1
    return Period(first, last, f"{first:%B} to {last:%B %Y} (quarter {number} of the financial year "
                               f"{financial_year_label(financial_year_of(day))})")


def london_date(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


# Working days ----------------------------------------------------------------------------------


class WorkingDays:
    """Working days between two dates (after the first, up to and including the second), as
    :func:`portal.core.workdays.working_days_between` counts them, from a running total worked out
    once per page instead of a walk through the calendar for every escalation."""

    def __init__(self) -> None:
        self._first: date | None = None
        self._totals: list[int] = []

    def between(self, start: date, end: date) -> int:
        if end <= start:
            return 0
        self.cover(start, end)
        return self._totals[(end - self._first).days] - self._totals[(start - self._first).days]

    def cover(self, start: date, end: date) -> None:
        if self._first is not None and start >= self._first and (end - self._first).days < len(self._totals):
            return
        if self._first is not None:
            start, end = min(start, self._first), max(end, self._first + timedelta(days=len(self._totals) - 1))
        totals, count, day = [0], 0, start
        while day < end:
            day += timedelta(days=1)
            count += is_working_day(day)
            totals.append(count)
        self._first, self._totals = start, totals


def _plural(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def age_text(working_days: int, days: int) -> str:
    """'6 working days (8 days)'."""
    return f"{_plural(working_days, 'working day')} ({_plural(days, 'day')})"


def median_text(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if value != int(value) else str(int(value))


# Loading ---------------------------------------------------------------------------------------


def load(visible, *, earliest: datetime, latest: datetime) -> list[Escalation]:
    """The escalations the page needs, out of ``visible`` (a select of escalations from the policy
    layer): those open now, and those closed or raised within [earliest, latest). Three queries,
    whatever their number: the escalations with their agencies, service, provider and concern
    reference; their stages; their types of abuse. (Subquery loading rather than "select IN",
    which splits into a query per 500 escalations.)"""
    E = Escalation
    query = (
        visible.where(sa.or_(E.closed_at.is_(None), E.closed_at >= earliest), E.raised_at < latest)
        .options(
            joinedload(E.raising_agency), joinedload(E.receiving_agency), joinedload(E.service), joinedload(E.provider),
            # The concern's reference alone: nothing about the adult is read.
            joinedload(E.concern).load_only(Concern.reference, raiseload=True),
            subqueryload(E.stages), subqueryload(E.type_links),
        )
        .order_by(E.id)
    )
    return list(db.session.scalars(query).unique())


# What the page shows ---------------------------------------------------------------------------


def about_text(escalation: Escalation) -> str:
    """What it is about: its kind, and a service or provider by name or a concern by reference
    (never the action's or decision's own words, which may name people)."""
    subject = escalation.subject
    if subject is EscalationSubject.SERVICE and escalation.service is not None:
        return f"Quality of a service: {escalation.service.name}"
    if subject is EscalationSubject.PROVIDER and escalation.provider is not None:
        return f"Quality of a provider: {escalation.provider.name}"
    if subject is EscalationSubject.CONCERN and escalation.concern is not None:
        return f"Concern {escalation.concern.reference}"
    if subject is EscalationSubject.MEETING_DECISION:
        return "A decision made at a meeting" + (f" (concern {escalation.concern.reference})" if escalation.concern else "")
    return subject.label


@dataclass
class OpenRow:
    """One open escalation on the "stuck" list."""

    id: int
    reference: str
    raising_agency: str
    receiving_agency: str
    about: str
    state: str
    harm_imminent: bool
    breached: bool
    #: The receiving agency has not answered yet (its deadline runs, or has passed).
    awaiting: bool
    working_days_open: int
    days_open: int
    working_days_at_stage: int
    days_at_stage: int
    deadline: str
    #: "Deadline passed 3 working days ago", or None while the deadline runs or is answered.
    overdue: str | None
    #: "Moves up by itself at …", "Top stage: the Board mediates", or what the raiser does next.
    next_step: str
    deadline_at: datetime = field(repr=False)
    started_at: datetime = field(repr=False)

    @property
    def age(self) -> str:
        return age_text(self.working_days_open, self.days_open)

    @property
    def at_stage(self) -> str:
        return age_text(self.working_days_at_stage, self.days_at_stage)

    @property
    def order(self) -> tuple:
        """Breached first, the longest overdue first; then those whose deadline runs, the soonest
        first; then those answered and waiting for the raiser, the longest waiting first."""
        if self.breached:
            return (0, self.deadline_at)
        if self.awaiting:
            return (1, self.deadline_at)
        return (2, self.started_at)


@dataclass
class StageGroup:
    number: int
    name: str
    rows: list[OpenRow]

    @property
    def title(self) -> str:
        return f"Stage {self.number}: {self.name}"

    @property
    def breached(self) -> int:
        return sum(row.breached for row in self.rows)


@dataclass
class AgencyCounts:
    name: str
    raised: int = 0
    received: int = 0
    #: Stages sent to this agency whose deadline passed unanswered in the period.
    missed: int = 0
    open_raised: int = 0
    open_received: int = 0
    breached_now: int = 0

    @property
    def any(self) -> bool:
        return any((self.raised, self.received, self.missed, self.open_raised, self.open_received))


@dataclass
class ThemeCount:
    label: str
    raised: int = 0
    open_now: int = 0


@dataclass
class StageFigures:
    """One rung of the ladder in the period."""

    number: int
    name: str
    escalated_beyond: int = 0
    auto_escalated: int = 0
    breaches: int = 0
    to_response: list[int] = field(default_factory=list)
    to_end: list[int] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Stage {self.number}: {self.name}"

    @property
    def median_to_response(self) -> float | None:
        return statistics.median(self.to_response) if self.to_response else None

    @property
    def median_to_end(self) -> float | None:
        return statistics.median(self.to_end) if self.to_end else None


@dataclass
class ResolvedRow:
    id: int
    reference: str
    raising_agency: str
    receiving_agency: str
    stage: str
    outcome: str
    learning: str
    resolved_on: date


@dataclass
class PeriodFigures:
    """What happened in the period: the annual report's figures and the page's period tables."""

    period: Period
    raised: int
    resolved: int
    withdrawn: int
    stages: list[StageFigures]
    agencies: list[AgencyCounts]
    abuse_types: list[ThemeCount]
    service_types: list[ThemeCount]
    key_questions: list[ThemeCount]

    @property
    def auto_escalated(self) -> int:
        return sum(stage.auto_escalated for stage in self.stages)

    @property
    def breaches(self) -> int:
        return sum(stage.breaches for stage in self.stages)


@dataclass
class Oversight:
    now: datetime
    ladder: Ladder
    groups: list[StageGroup]
    quarter: Period
    resolved: list[ResolvedRow]
    #: None when no valid period was chosen.
    figures: PeriodFigures | None

    @property
    def open_count(self) -> int:
        return sum(len(group.rows) for group in self.groups)

    @property
    def breached_count(self) -> int:
        return sum(group.breached for group in self.groups)

    @property
    def harm_imminent_count(self) -> int:
        return sum(row.harm_imminent for group in self.groups for row in group.rows)


def _stage_name(ladder: Ladder, number: int, fallback: str = "") -> str:
    return ladder.stage(number).name if 1 <= number <= ladder.top else fallback or f"Stage {number}"


def _next_step(escalation: Escalation, ladder: Ladder, now: datetime) -> str:
    if escalation.stage >= ladder.top:
        mediates = escalation.stage == ladder.top and ladder.stage(ladder.top).board_mediates
        return "Top stage: the Board mediates" if mediates else "Top stage: it cannot move up further"
    if escalation.state is EscalationState.RESPONDED:
        return "Answered: the raising agency resolves it or escalates it"
    if escalation.auto_escalate_at is None:
        return ""
    if escalation.auto_escalate_at <= now:
        return f"Moves up by itself at the portal's next check: its grace period ended at {deadline_words(escalation.auto_escalate_at)}"
    return f"Moves up by itself at {deadline_words(escalation.auto_escalate_at)}"


def _overdue_text(deadline_at: datetime, now: datetime, days: WorkingDays) -> str:
    return f"Deadline passed {working_days_ago(deadline_at, now, between=days.between)}"


def _open_row(escalation: Escalation, ladder: Ladder, now: datetime, days: WorkingDays) -> OpenRow:
    today = london_date(now)
    stage = escalation.current_stage
    breached = escalation.breached(now)
    raised_day, stage_day = london_date(escalation.raised_at), london_date(stage.started_at)
    return OpenRow(
        id=escalation.id, reference=escalation.reference, raising_agency=escalation.raising_agency.name,
        receiving_agency=escalation.receiving_agency.name, about=about_text(escalation), state=escalation.state.label,
        harm_imminent=escalation.harm_imminent, breached=breached, awaiting=escalation.state.awaiting_response,
        working_days_open=days.between(raised_day, today), days_open=(today - raised_day).days,
        working_days_at_stage=days.between(stage_day, today), days_at_stage=(today - stage_day).days,
        deadline=deadline_words(escalation.deadline_at), overdue=_overdue_text(escalation.deadline_at, now, days) if breached else None,
        next_step=_next_step(escalation, ladder, now), deadline_at=escalation.deadline_at, started_at=stage.started_at,
    )


def compute(escalations: list[Escalation], *, ladder: Ladder, now: datetime, period: Period | None) -> Oversight:
    """The page's figures, from the escalations :func:`load` read."""
    days = WorkingDays()
    today = london_date(now)
    if escalations:
        days.cover(min(london_date(escalation.raised_at) for escalation in escalations), today)

    open_escalations = [escalation for escalation in escalations if not escalation.state.closed]
    by_stage: dict[int, list[OpenRow]] = defaultdict(list)
    for escalation in open_escalations:
        by_stage[escalation.stage].append(_open_row(escalation, ladder, now, days))
    # A stage beyond a ladder shortened since is named as it was when the escalation reached it.
    names = {escalation.stage: escalation.current_stage.name for escalation in open_escalations}
    groups = []
    for number in sorted(set(range(1, ladder.top + 1)) | set(by_stage)):
        rows = sorted(by_stage.get(number, []), key=lambda row: row.order)
        groups.append(StageGroup(number, _stage_name(ladder, number, names.get(number, "")), rows))

    quarter = financial_quarter(today)
    resolved = [
        ResolvedRow(
            id=escalation.id, reference=escalation.reference, raising_agency=escalation.raising_agency.name,
            receiving_agency=escalation.receiving_agency.name,
            stage=f"Stage {escalation.stage}: {_stage_name(ladder, escalation.stage, escalation.current_stage.name)}",
            outcome=escalation.outcome or "", learning=escalation.learning or "", resolved_on=london_date(escalation.closed_at),
        )
        for escalation in escalations
        if escalation.state is EscalationState.RESOLVED and quarter.holds(escalation.closed_at)
    ]
    resolved.sort(key=lambda row: (row.resolved_on, row.id), reverse=True)

    figures = _period_figures(escalations, ladder=ladder, now=now, period=period, days=days) if period else None
    return Oversight(now=now, ladder=ladder, groups=groups, quarter=quarter, resolved=resolved, figures=figures)


def _period_figures(escalations: list[Escalation], *, ladder: Ladder, now: datetime, period: Period,
                    days: WorkingDays) -> PeriodFigures:
    stages: dict[int, StageFigures] = {
        number: StageFigures(number, _stage_name(ladder, number)) for number in range(1, ladder.top + 1)
    }
    agencies: dict[int, AgencyCounts] = {}
    abuse_types = {abuse_type: ThemeCount(abuse_type.label) for abuse_type in AbuseType}
    service_types = {service_type: ThemeCount(service_type.label) for service_type in ServiceType}
    key_questions = {question: ThemeCount(question.label) for question in KeyQuestion}
    raised = resolved = withdrawn = 0

    def agency(escalation_agency) -> AgencyCounts:
        return agencies.setdefault(escalation_agency.id, AgencyCounts(escalation_agency.name))

    for escalation in escalations:
        is_open = not escalation.state.closed
        in_period = period.holds(escalation.raised_at)
        themes = [abuse_types[abuse_type] for abuse_type in escalation.abuse_types]
        themes += [key_questions[question] for question in escalation.key_questions]
        if escalation.subject is EscalationSubject.SERVICE and escalation.service is not None:
            themes.append(service_types[escalation.service.service_type])
        for theme in themes:
            theme.raised += in_period
            theme.open_now += is_open
        raising, receiving = agency(escalation.raising_agency), agency(escalation.receiving_agency)
        raised += in_period
        raising.raised += in_period
        receiving.received += in_period
        raising.open_raised += is_open
        receiving.open_received += is_open
        receiving.breached_now += is_open and escalation.breached(now)
        if period.holds(escalation.closed_at):
            resolved += escalation.state is EscalationState.RESOLVED
            withdrawn += escalation.state is EscalationState.WITHDRAWN

        for stage in escalation.stages:
            figures = stages.get(stage.number)
            if figures is None:
                figures = stages[stage.number] = StageFigures(stage.number, stage.name)
            started = london_date(stage.started_at)
            if period.holds(stage.responded_at):
                figures.to_response.append(days.between(started, london_date(stage.responded_at)))
            if period.holds(stage.ended_at):
                figures.to_end.append(days.between(started, london_date(stage.ended_at)))
                if stage.outcome in {StageOutcome.ESCALATED, StageOutcome.AUTO_ESCALATED}:
                    figures.escalated_beyond += 1
                    figures.auto_escalated += stage.outcome is StageOutcome.AUTO_ESCALATED
            # A breach counts in the period its deadline passed in, once it has passed.
            if period.holds(stage.deadline_at) and stage.deadline_at <= now and stage.breached(now):
                figures.breaches += 1
                receiving.missed += 1

    listed = sorted(
        (counts for counts in agencies.values() if counts.any),
        key=lambda counts: (-(counts.raised + counts.received + counts.open_received), counts.name.lower()),
    )
    return PeriodFigures(
        period=period, raised=raised, resolved=resolved, withdrawn=withdrawn,
        stages=[stages[number] for number in sorted(stages)], agencies=listed,
        abuse_types=list(abuse_types.values()), service_types=list(service_types.values()),
        key_questions=list(key_questions.values()),
    )


# The annual report's CSV -----------------------------------------------------------------------

CSV_HEADER = ("section", "category", "measure", "value")


def csv_rows(figures: PeriodFigures) -> list[tuple[str, str, str, object]]:
    """The period's figures as tidy rows (section, category, measure, value): agency names and
    code-list labels only, no people, no adults, no free text."""
    period = figures.period
    rows: list[tuple[str, str, str, object]] = [
        ("period", "", "first_day", period.first.isoformat()),
        ("period", "", "last_day", period.last.isoformat()),
        ("totals", "All escalations", "raised", figures.raised),
        ("totals", "All escalations", "resolved", figures.resolved),
        ("totals", "All escalations", "withdrawn", figures.withdrawn),
        ("totals", "All escalations", "automatic_escalations", figures.auto_escalated),
        ("totals", "All escalations", "breaches", figures.breaches),
    ]
    for stage in figures.stages:
        category = f"Stage {stage.number}"
        rows += [
            ("stage", category, "escalated_beyond", stage.escalated_beyond),
            ("stage", category, "automatic_escalations", stage.auto_escalated),
            ("stage", category, "breaches", stage.breaches),
            ("stage", category, "median_working_days_to_response", median_text(stage.median_to_response)),
            ("stage", category, "stages_responded", len(stage.to_response)),
            ("stage", category, "median_working_days_to_end", median_text(stage.median_to_end)),
            ("stage", category, "stages_ended", len(stage.to_end)),
        ]
    for counts in sorted(figures.agencies, key=lambda counts: counts.name.lower()):
        if counts.raised:
            rows.append(("raising_agency", counts.name, "raised", counts.raised))
    for counts in sorted(figures.agencies, key=lambda counts: counts.name.lower()):
        if counts.received or counts.missed:
            rows.append(("receiving_agency", counts.name, "received", counts.received))
            rows.append(("receiving_agency", counts.name, "breaches", counts.missed))
    for section, themes in (("type_of_abuse", figures.abuse_types), ("service_type", figures.service_types),
                            ("key_question", figures.key_questions)):
        rows += [(section, theme.label, "raised", theme.raised) for theme in themes]
    return rows


# Charts ----------------------------------------------------------------------------------------


@dataclass
class Chart:
    """A bar chart drawn by escalation-charts.js from JSON; the page puts the same figures in a
    table beside it, and that table is the record."""

    id: str
    title: str
    description: str
    labels: list[str]
    series: list[dict]
    stacked: bool = False
    horizontal: bool = False
    #: What the values count, for the axis.
    unit: str = "Escalations"

    def as_json(self) -> dict:
        return {"title": self.title, "labels": self.labels, "series": self.series, "stacked": self.stacked,
                "horizontal": self.horizontal, "unit": self.unit}


def charts(oversight: Oversight) -> dict[str, Chart]:
    found = {
        "by_stage": Chart(
            "chart-open-by-stage", "Open escalations by stage",
            "Bar chart of the escalations open now at each stage, those past their deadline stacked on the others",
            [f"Stage {group.number}" for group in oversight.groups],
            [{"label": "Deadline passed", "values": [group.breached for group in oversight.groups], "role": "alert"},
             {"label": "Within deadline or answered", "values": [len(group.rows) - group.breached for group in oversight.groups]}],
            stacked=True,
        ),
    }
    figures = oversight.figures
    if figures is None:
        return found
    found["by_agency"] = Chart(
        "chart-by-agency", f"Escalations raised and received by each agency, {figures.period.label}",
        "Horizontal bar chart of the escalations each agency raised and received in the period",
        [counts.name for counts in figures.agencies],
        [{"label": "Raised", "values": [counts.raised for counts in figures.agencies]},
         {"label": "Received", "values": [counts.received for counts in figures.agencies]}],
        horizontal=True,
    )
    found["by_abuse_type"] = Chart(
        "chart-by-abuse-type", f"Escalations by type of abuse, {figures.period.label}",
        "Horizontal bar chart of the escalations raised in the period, and those open now, by type of abuse",
        [theme.label for theme in figures.abuse_types],
        [{"label": "Raised in the period", "values": [theme.raised for theme in figures.abuse_types]},
         {"label": "Open now", "values": [theme.open_now for theme in figures.abuse_types]}],
        horizontal=True,
    )
    found["stage_times"] = Chart(
        "chart-stage-times", f"Median working days per stage, {figures.period.label}",
        "Bar chart of the median working days from the start of each stage to its response and to its end",
        [f"Stage {stage.number}" for stage in figures.stages],
        [{"label": "To the response", "values": [stage.median_to_response for stage in figures.stages]},
         {"label": "To the end of the stage", "values": [stage.median_to_end for stage in figures.stages]}],
        unit="Working days",
    )
    return found
