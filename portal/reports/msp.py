"""The Making Safeguarding Personal and outcome figures of an area, in the shape of the national
return (the Safeguarding Adults Collection, SAC): counts only, never a person.

How these figures are counted (the page says the same under "How these figures are counted"):

- The period runs from the start date to the end date inclusive, as dates in England: a concern
  belongs to a day by the time on the clock in England when it happened, so each edge of the
  period is London's midnight, turned into a UTC instant before it is compared with the stored
  (UTC) timestamps.
- SG1: safeguarding concerns are those raised in the period; section 42 enquiries and other
  safeguarding enquiries are concerns whose triage decision (made in the period) started one.
  Broken down by the adult's age band on the date (in England) the concern was raised, sex and
  primary support reason; no adult, or nothing recorded, counts as not known, and so does an age
  under 18 (a date of birth that cannot be an adult's).
- SG2, SG3a and SG4a count concluded enquiries: concerns triaged as a section 42 or other
  enquiry, now closed, whose closing fell in the period. A value not recorded is its own row, so
  every table adds up to its total; SG2a is the exception, as an enquiry counts once under each of
  its types of risk. SG3a's support from an advocate, family or friend (for adults who lacked
  capacity) is "Yes" when an advocate was arranged or there was an appropriate person. SG4a's
  outcomes achieved count only enquiries where outcomes were expressed; SG4a's question is also
  broken down by age band, sex and primary support reason.
- Publication rules: each count is rounded to the nearest 5 and counts from 1 to 4 are shown as
  ``[c]``; totals are rounded on their own, so rounded rows need not add up to the rounded total.

The counting is a handful of SQL ``GROUP BY`` queries per report (never a query per concern),
grouped on an area's concerns by the few columns each table needs.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from portal.agencies.models import Area
from portal.concerns.models import Adult, Concern, ConcernAbuseType
from portal.core.codes import (
    AbuseType,
    ActionResult,
    ConcernStatus,
    LabelledEnum,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Sex,
    TriageDecision,
)
from portal.core.workdays import LONDON, london_today
from portal.extensions import db
from portal.privacy.models import Redaction, RetentionCategory

S42, OTHER = TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY
ENQUIRIES = (S42, OTHER)
#: The row of a table's value that nobody recorded.
NOT_RECORDED = "Not recorded"
#: The columns of every table about concluded enquiries.
ENQUIRY_COLUMNS = ("Section 42 enquiries", "Other enquiries", "Total")
#: The columns of the SG1 breakdowns.
SG1_COLUMNS = ("Safeguarding concerns", "Section 42 enquiries", "Other enquiries")
#: How a count suppressed by the publication rules is shown.
SUPPRESSED = "[c]"


class AgeBand(LabelledEnum):
    """The SAC's age bands, by the adult's age on the date the concern was raised."""

    AGE_18_64 = "18-64"
    AGE_65_74 = "65-74"
    AGE_75_84 = "75-84"
    AGE_85_94 = "85-94"
    AGE_95_PLUS = "95+"
    NOT_KNOWN = "Age not known"


#: The youngest age in each band with an age, youngest band first: the SQL numbers the bands 1 to 5
#: in this order, and 0 (or nothing) is "Age not known".
_BAND_FLOORS = ((AgeBand.AGE_18_64, 18), (AgeBand.AGE_65_74, 65), (AgeBand.AGE_75_84, 75), (AgeBand.AGE_85_94, 85),
                (AgeBand.AGE_95_PLUS, 95))


def _band(number: int | None) -> AgeBand:
    return _BAND_FLOORS[number - 1][0] if number else AgeBand.NOT_KNOWN

#: The rules as the page states them, in the order the tables come.
COUNTING_RULES = (
    "The period runs from the start date to the end date inclusive, by the date and time in England "
    "(a concern raised at 00:30 on 1 April in British Summer Time belongs to 1 April).",
    "Safeguarding concerns (SG1) are the concerns raised in the period. Section 42 enquiries and other "
    "safeguarding enquiries (SG1) are the concerns whose triage decision, made in the period, started one.",
    "Age is the adult's age on the date the concern was raised, from their date of birth (kept as the age band "
    "when the date of birth is redacted under the retention setting). An adult with no "
    "date of birth, a concern with no adult, or an age under 18 counts as \"Age not known\". No adult, or no "
    "sex or primary support reason recorded, counts as \"Not Known\".",
    "SG2, SG3a and SG4a count concluded enquiries: section 42 and other enquiries closed in the period.",
    "A value that was not recorded has a row of its own, so each table adds up to its total, except SG2a: "
    "an enquiry counts once under each of its types of risk, so its rows can add up to more than the "
    "number of enquiries.",
    "Support from an advocate, family or friend (SG3a) is \"Yes\" when an advocate was arranged or the adult "
    "had an appropriate person to support them, and \"No\" otherwise.",
    "With the publication rules applied, each count is rounded to the nearest 5 and counts from 1 to 4 are "
    "shown as [c]. Totals are rounded on their own, so the rounded rows may not add up to the rounded total.",
)


# The period -------------------------------------------------------------------------------------


def financial_year_start(today: date) -> date:
    """1 April of the financial year ``today`` falls in."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def london_midnight(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in England."""
    return datetime.combine(day, time(0), LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    """From ``start`` to ``end`` inclusive, as dates in England."""

    start: date
    end: date

    @property
    def starts_at(self) -> datetime:
        return london_midnight(self.start)

    @property
    def ends_before(self) -> datetime:
        return london_midnight(self.end + timedelta(days=1))

    def holds(self, column) -> sa.ColumnElement[bool]:
        """Whether a UTC timestamp column falls in the period."""
        return sa.and_(column >= self.starts_at, column < self.ends_before)


# Publication rules ------------------------------------------------------------------------------


def publish(count: int) -> str:
    """A count as published: rounded to the nearest 5, and ``[c]`` for 1 to 4 (0 stays 0).

    Counts are whole numbers, so a count never lies halfway between two multiples of 5.
    """
    if 1 <= count <= 4:
        return SUPPRESSED
    return str((count + 2) // 5 * 5)


# The tables -------------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    counts: list[int]


@dataclass
class Table:
    """One table of the return: labelled rows of counts, and a total row counted on its own."""

    code: str
    title: str
    row_heading: str
    columns: tuple[str, ...]
    rows: list[Row]
    #: Counted on its own, not added up from the rows (None for a table without one).
    total: Row | None
    notes: tuple[str, ...] = ()

    @property
    def caption(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def anchor(self) -> str:
        return "table-" + self.code.lower().replace(" ", "-")


@dataclass
class Section:
    heading: str
    tables: list[Table]


@dataclass
class MspReport:
    area_name: str
    period: Period
    publication_rules: bool
    sections: list[Section] = field(default_factory=list)

    @property
    def tables(self) -> list[Table]:
        return [table for section in self.sections for table in section.tables]

    def show(self, count: int) -> str:
        """A cell as the page and the CSV show it."""
        return publish(count) if self.publication_rules else str(count)

    def cells(self) -> Iterable[tuple[Table, str, str, str]]:
        """Every cell, total rows included: (table, row, column, value as shown)."""
        for table in self.tables:
            for row in [*table.rows, *([table.total] if table.total else [])]:
                for column, count in zip(table.columns, row.counts, strict=True):
                    yield table, row.label, column, self.show(count)


# SQL pieces -------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _summer_time_spans(first_year: int, last_year: int) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC spans [start, end) in which England is an hour ahead of UTC, from the tz database."""

    def ahead(instant: datetime) -> bool:
        return bool(instant.astimezone(LONDON).utcoffset())

    def change_after(instant: datetime) -> datetime:
        # The clocks change at most once a day: find the hour after ``instant`` at which they do.
        while ahead(instant) == ahead(instant + timedelta(hours=1)):
            instant += timedelta(hours=1)
        return instant + timedelta(hours=1)

    spans, start = [], None
    noon = datetime(first_year, 1, 1, 12, tzinfo=UTC)
    while noon.year <= last_year:
        tomorrow = noon + timedelta(days=1)
        if ahead(noon) != ahead(tomorrow):
            change = change_after(noon)
            if ahead(tomorrow):
                start = change
            elif start is not None:
                spans.append((start, change))
                start = None
        noon = tomorrow
    return tuple(spans)


#: The earliest year whose British Summer Time the SQLite date arithmetic knows: no concern is older.
EARLIEST_YEAR = 1990


def _date_key(column, dialect: str):
    """A date column as the integer YYYYMMDD, so that two keys' difference divided by 10,000 is the
    whole years between them (birthdays included: 20260501 - 19610501 = 650000)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.to_char(column, "YYYYMMDD"), sa.Integer)
    return sa.cast(sa.func.strftime("%Y%m%d", column), sa.Integer)


def _london_date_key(column, dialect: str):
    """A UTC timestamp column (of something that has happened) as its date in England, the integer YYYYMMDD.

    PostgreSQL converts with its own time zone database. SQLite has none: the timestamp moves an
    hour forward when it falls in one of British Summer Time's spans, listed from the tz database
    up to this year.
    """
    if dialect == "postgresql":
        return sa.cast(sa.func.to_char(sa.func.timezone("Europe/London", column), "YYYYMMDD"), sa.Integer)
    spans = _summer_time_spans(EARLIEST_YEAR, london_today().year)
    shift = sa.case(*((sa.and_(column >= start, column < end), "+1 hours") for start, end in spans),
                    else_="+0 hours")
    return sa.cast(sa.func.strftime("%Y%m%d", column, shift), sa.Integer)


def _age_band(dialect: str):
    """The adult's age band number, as kept when their date of birth was redacted under the area's
    retention setting (``portal.privacy``), or else worked out from it (:func:`_age_band_from_birth`).
    Queries using it outer-join :data:`_KEPT_BAND`."""
    return sa.func.coalesce(Redaction.age_band, _age_band_from_birth(dialect))


#: The redaction of the adult's details that kept a concern's age band, if there has been one.
_KEPT_BAND = sa.and_(Redaction.concern_id == Concern.id, Redaction.category == RetentionCategory.ADULT_DETAILS)


def age_band_number(concern_id: int) -> int | None:
    """The age band number of one concern's adult, from their date of birth: what redaction keeps."""
    return db.session.scalar(
        sa.select(_age_band_from_birth(_dialect())).select_from(Concern)
        .outerjoin(Adult, Concern.adult_id == Adult.id).where(Concern.id == concern_id)
    )


def _age_band_from_birth(dialect: str):
    """The number (see ``_BAND_FLOORS``) of the adult's age band on the date, in England, the concern
    was raised: 0 under 18, nothing when there is no date of birth or no adult.

    On PostgreSQL one ``width_bucket`` call, so that the dates are converted once a row (a ``CASE``
    would convert them again for each band it tests; SQLite's ``CASE`` is for development sizes).
    """
    years = _london_date_key(Concern.raised_at, dialect) - _date_key(Adult.date_of_birth, dialect)
    floors = [floor * 10_000 for _band, floor in _BAND_FLOORS]
    if dialect == "postgresql":
        return sa.func.width_bucket(years, postgresql.array(floors), type_=sa.Integer)
    return sa.case(*((years >= floor, number) for number, floor in reversed(list(enumerate(floors, start=1)))),
                   else_=0)


def _supported():
    """1 when an advocate was arranged or the adult had an appropriate person to support them."""
    return sa.case(
        (sa.or_(sa.func.coalesce(Concern.advocate_name, "") != "", Concern.appropriate_person.is_(True)), 1),
        else_=0,
    )


def _dialect() -> str:
    return db.session.get_bind().dialect.name


# Counting ---------------------------------------------------------------------------------------


def _sg1_counts(area_id: int, period: Period) -> dict[str, Counter]:
    """SG1 in one query: the concerns raised in the period or whose triage started an enquiry in
    it, grouped by the adult's age band, sex and primary support reason, each group counted three
    ways (``FILTER``): raised, s42 enquiries started and other enquiries started.

    Grouping by those three only (rather than also by the measures) keeps the groups few, and
    ``_fenced`` lets PostgreSQL count them in a hash table instead of sorting every concern.

    Returns, for each of the three SG1 measures, a Counter of (band, sex, support reason) → concerns.
    """
    raised = period.holds(Concern.raised_at)
    started = sa.and_(Concern.triage_decision.in_(ENQUIRIES), period.holds(Concern.triaged_at))
    per_concern = _fenced(
        sa.select(Concern.raised_at, Concern.triaged_at, Concern.triage_decision.label("decision"),
                  _age_band(_dialect()).label("band"), Adult.sex.label("sex"),
                  Adult.primary_support_reason.label("psr"))
        .select_from(Concern)
        .outerjoin(Adult, Concern.adult_id == Adult.id)
        .outerjoin(Redaction, _KEPT_BAND)
        .where(Concern.area_id == area_id, sa.or_(raised, started))
    )
    c = per_concern.c
    measures = {
        SG1_COLUMNS[0]: period.holds(c.raised_at),
        SG1_COLUMNS[1]: sa.and_(c.decision == S42, period.holds(c.triaged_at)),
        SG1_COLUMNS[2]: sa.and_(c.decision == OTHER, period.holds(c.triaged_at)),
    }
    rows = db.session.execute(
        sa.select(c.band, c.sex, c.psr, *(sa.func.count().filter(condition) for condition in measures.values()))
        .group_by(c.band, c.sex, c.psr)
    ).all()
    counted = {column: Counter() for column in SG1_COLUMNS}
    for band, sex, psr, *counts in rows:
        key = (_band(band), sex or Sex.NOT_KNOWN, psr or PrimarySupportReason.NOT_KNOWN)
        for column, count in zip(SG1_COLUMNS, counts, strict=True):
            counted[column][key] += count
    return counted


def _concluded_where(area_id: int, period: Period) -> tuple:
    """Concluded enquiries in the period: triaged as an enquiry, closed, and closed in the period."""
    return (Concern.area_id == area_id, Concern.triage_decision.in_(ENQUIRIES), Concern.status == ConcernStatus.CLOSED,
            period.holds(Concern.closed_at))


def _concluded(area_id: int, period: Period):
    """Concluded enquiries, with the columns the SG2, SG3a and SG4a tables group by."""
    return (
        sa.select(
            Concern.id.label("concern_id"),
            Concern.triage_decision.label("decision"),
            Concern.risk_location.label("location"),
            Concern.risk_source.label("source"),
            Concern.action_result.label("action"),
            Concern.risk_outcome.label("outcome"),
            Concern.mental_capacity.label("capacity"),
            _supported().label("supported"),
            Concern.msp_asked.label("asked"),
            Concern.outcomes_achieved.label("achieved"),
        )
        .where(*_concluded_where(area_id, period))
        .subquery()
    )


def _concluded_adults(area_id: int, period: Period):
    """Concluded enquiries with the adult's age band, sex and support reason, and the MSP answer."""
    return _fenced(
        sa.select(Concern.msp_asked.label("asked"), _age_band(_dialect()).label("band"),
                  Adult.sex.label("sex"), Adult.primary_support_reason.label("psr"))
        .select_from(Concern)
        .outerjoin(Adult, Concern.adult_id == Adult.id)
        .outerjoin(Redaction, _KEPT_BAND)
        .where(*_concluded_where(area_id, period))
    )


def _fenced(query):
    """The query as a subquery PostgreSQL works out on its own (``OFFSET 0`` keeps it from being merged
    into the query around it), for grouping by the age band.

    Merged, the band's expression would be grouped on directly, and the planner, seeing the
    timestamps it is made of, would expect a group per concern and sort them all (spilling to disk);
    fenced, the band is a column of unknown spread, and the few groups are counted in a hash table
    (SG1 over 100,000 concerns: 0.4 s rather than 0.75 s).
    """
    return query.offset(0).subquery()


def _grouped(subquery, *names: str) -> list[tuple]:
    columns = [subquery.c[name] for name in names]
    return db.session.execute(sa.select(*columns, sa.func.count()).group_by(*columns)).all()


def _asked_by_adult(area_id: int, period: Period) -> list[tuple]:
    """(band, sex, support reason, then the enquiries for each ``MspAsked`` answer in order): one
    ``FILTER`` count per answer, for the same reason as SG1's."""
    c = _concluded_adults(area_id, period).c
    answers = [c.asked == answer for answer in MspAsked]
    answers[list(MspAsked).index(MspAsked.NOT_RECORDED)] = sa.or_(c.asked == MspAsked.NOT_RECORDED, c.asked.is_(None))
    return db.session.execute(
        sa.select(c.band, c.sex, c.psr, *(sa.func.count().filter(answer) for answer in answers))
        .group_by(c.band, c.sex, c.psr)
    ).all()


def _types_of_risk(concluded) -> list[tuple]:
    """(decision, type of risk or None when none was recorded, enquiries)."""
    return db.session.execute(
        sa.select(concluded.c.decision, ConcernAbuseType.abuse_type, sa.func.count())
        .select_from(concluded)
        .outerjoin(ConcernAbuseType, ConcernAbuseType.concern_id == concluded.c.concern_id)
        .group_by(concluded.c.decision, ConcernAbuseType.abuse_type)
    ).all()


# Building the tables ------------------------------------------------------------------------------


class _ByEnquiry:
    """Concluded enquiries counted per row key, split into section 42 and other."""

    def __init__(self):
        self.counts: dict[object, list[int]] = {}

    def add(self, key, decision: TriageDecision, count: int) -> None:
        cells = self.counts.setdefault(key, [0, 0])
        cells[0 if decision is S42 else 1] += count

    def row(self, label: str, key) -> Row:
        s42, other = self.counts.get(key, (0, 0))
        return Row(label, [s42, other, s42 + other])


def _enquiry_table(code, title, row_heading, counts: _ByEnquiry, keys: list[tuple[str, object]], total: Row,
                   notes=()) -> Table:
    return Table(code, title, row_heading, ENQUIRY_COLUMNS, [counts.row(label, key) for label, key in keys],
                 total, tuple(notes))


def _code_rows(code_list: type[enum.Enum], not_recorded: str | None = NOT_RECORDED) -> list[tuple[str, object]]:
    """A table's rows from its code list: each value's label, then "Not recorded" (key None)."""
    rows = [(member.label, member) for member in code_list]
    return rows + ([(not_recorded, None)] if not_recorded else [])


def _breakdown(code, title, row_heading, columns, code_rows, counters: list[Counter], total: Row) -> Table:
    rows = [Row(label, [counter.get(key, 0) for counter in counters]) for label, key in code_rows]
    return Table(code, title, row_heading, tuple(columns), rows, total)


def build_report(area_id: int, period: Period, *, publication_rules: bool = False) -> MspReport:
    """The whole return for an area and period: SG1 totals and breakdowns, the SG2 tables, SG3a and SG4a."""
    area_name = db.session.scalar(sa.select(Area.name).where(Area.id == area_id))
    report = MspReport(area_name=area_name, period=period, publication_rules=publication_rules)
    report.sections = [
        Section("SG1: safeguarding concerns and enquiries", _sg1_tables(area_id, period)),
        *_concluded_sections(area_id, period),
    ]
    return report


def _sg1_tables(area_id: int, period: Period) -> list[Table]:
    measures = _sg1_counts(area_id, period)
    counters = [measures[column] for column in SG1_COLUMNS]
    totals = [sum(counter.values()) for counter in counters]
    total_row = Row("Total", totals)
    # One row: each measure counts concerns on its own terms, so the three do not add up to anything.
    summary = Table("SG1", "safeguarding concerns and enquiries in the period", "Measure", SG1_COLUMNS,
                    [Row("Number in the period", totals)], None)

    def by(position: int) -> list[Counter]:
        return [_collapse(counter, position) for counter in counters]

    return [
        summary,
        _breakdown("SG1 age", "concerns and enquiries by age band", "Age band", SG1_COLUMNS,
                   _code_rows(AgeBand, None), by(0), total_row),
        _breakdown("SG1 sex", "concerns and enquiries by sex", "Sex", SG1_COLUMNS, _code_rows(Sex, None), by(1),
                   total_row),
        _breakdown("SG1 support reason", "concerns and enquiries by primary support reason", "Primary support reason",
                   SG1_COLUMNS, _code_rows(PrimarySupportReason, None), by(2), total_row),
    ]


def _collapse(counter: Counter, position: int) -> Counter:
    """Counts by one part of a (band, sex, support reason) key."""
    collapsed = Counter()
    for key, count in counter.items():
        collapsed[key[position]] += count
    return collapsed


def _concluded_sections(area_id: int, period: Period) -> list[Section]:
    concluded = _concluded(area_id, period)
    location, source, action, outcome = _ByEnquiry(), _ByEnquiry(), _ByEnquiry(), _ByEnquiry()
    enquiries = _ByEnquiry()
    for decision, risk_location, risk_source, count in _grouped(concluded, "decision", "location", "source"):
        location.add(risk_location, decision, count)
        source.add(risk_source, decision, count)
        enquiries.add("all", decision, count)
    for decision, action_result, risk_outcome, count in _grouped(concluded, "decision", "action", "outcome"):
        action.add(action_result, decision, count)
        outcome.add(risk_outcome, decision, count)

    capacity, support, asked, achieved = _ByEnquiry(), _ByEnquiry(), _ByEnquiry(), _ByEnquiry()
    for decision, lacked, supported, msp_asked, outcomes, count in _grouped(
            concluded, "decision", "capacity", "supported", "asked", "achieved"):
        capacity.add(lacked or MentalCapacity.NOT_RECORDED, decision, count)
        if lacked is MentalCapacity.LACKED:
            support.add(bool(supported), decision, count)
        asked.add(msp_asked or MspAsked.NOT_RECORDED, decision, count)
        if msp_asked is MspAsked.ASKED_EXPRESSED:
            achieved.add(outcomes, decision, count)

    types = _ByEnquiry()
    for decision, abuse_type, count in _types_of_risk(concluded):
        types.add(abuse_type, decision, count)

    by_asked = [Counter(), Counter(), Counter()]
    for band, sex, psr, *counts in _asked_by_adult(area_id, period):
        keys = (_band(band), sex or Sex.NOT_KNOWN, psr or PrimarySupportReason.NOT_KNOWN)
        for msp_asked, count in zip(MspAsked, counts, strict=True):
            for counter, key in zip(by_asked, keys, strict=True):
                counter[(key, msp_asked)] += count

    all_enquiries = enquiries.row("Concluded enquiries", "all")
    lacked_row = capacity.row("Lacked capacity", MentalCapacity.LACKED)
    expressed_row = asked.row("Outcomes expressed", MspAsked.ASKED_EXPRESSED)
    sg2 = Section("SG2: concluded enquiries", [
        _enquiry_table("SG2a", "concluded enquiries by type of risk", "Type of risk", types, _code_rows(AbuseType),
                       all_enquiries, notes=("An enquiry counts once under each of its types of risk, so the rows can "
                                             "add up to more than the number of concluded enquiries.",)),
        _enquiry_table("SG2b location", "concluded enquiries by location of risk", "Location of risk", location,
                       _code_rows(RiskLocation), all_enquiries),
        _enquiry_table("SG2b source", "concluded enquiries by source of risk", "Source of risk", source,
                       _code_rows(RiskSource), all_enquiries),
        _enquiry_table("SG2c", "concluded enquiries by action taken and result", "Action and result", action,
                       _code_rows(ActionResult), all_enquiries),
        _enquiry_table("SG2e", "concluded enquiries by risk outcome", "Risk outcome", outcome,
                       _code_rows(RiskOutcome), all_enquiries,
                       notes=("An enquiry with no risk outcome recorded (usually because no risk was identified) is "
                              "counted under \"Not recorded\".",)),
    ])
    sg3 = Section("SG3: mental capacity", [
        _enquiry_table("SG3a", "concluded enquiries by whether the adult lacked capacity", "Lacked capacity",
                       capacity, _code_rows(MentalCapacity, None), all_enquiries,
                       notes=("An enquiry with nothing recorded is counted under \"Not recorded\".",)),
        _enquiry_table("SG3a support", "adults who lacked capacity: support from an advocate, family or friend",
                       "Support provided", support, [("Yes", True), ("No", False)], lacked_row),
    ])
    sg4 = Section("SG4: Making Safeguarding Personal", [
        _enquiry_table("SG4a", "concluded enquiries by whether the adult was asked what outcomes they wanted",
                       "Asked about desired outcomes", asked, _code_rows(MspAsked, None), all_enquiries,
                       notes=("An enquiry with nothing recorded is counted under \"Not Recorded\".",)),
        _enquiry_table("SG4a outcomes", "outcomes expressed: how far they were achieved", "Outcomes achieved",
                       achieved, _code_rows(OutcomesAchieved), expressed_row),
        *_asked_breakdowns(by_asked, all_enquiries),
    ])
    return [sg2, sg3, sg4]


def _asked_breakdowns(by_asked: list[Counter], all_enquiries: Row) -> list[Table]:
    """SG4a's asked question by age band, sex and primary support reason (all concluded enquiries)."""
    columns = (*(member.label for member in MspAsked), "Total")
    total = Row("Concluded enquiries",
                [sum(count for (_, msp_asked), count in by_asked[0].items() if msp_asked is member) for member in MspAsked]
                + [all_enquiries.counts[2]])
    tables = []
    for counter, (code, title, heading, code_list) in zip(by_asked, (
        ("SG4a age", "whether the adult was asked, by age band", "Age band", AgeBand),
        ("SG4a sex", "whether the adult was asked, by sex", "Sex", Sex),
        ("SG4a support reason", "whether the adult was asked, by primary support reason", "Primary support reason",
         PrimarySupportReason),
    ), strict=True):
        rows = []
        for member in code_list:
            cells = [counter.get((member, msp_asked), 0) for msp_asked in MspAsked]
            rows.append(Row(member.label, [*cells, sum(cells)]))
        tables.append(Table(code, title, heading, columns, rows, total))
    return tables
