"""The register's query: one row per risk signal the person may see, filtered, sorted and counted in SQL.

The register never reads intelligence items: each :class:`RiskSignal` already carries its score,
band, reasons, latest rating and last visit, so a page costs the same however many items there are.
Scoping comes from :func:`portal.policy.risk_signals_visible_to` and filters only ever narrow it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import aliased

from portal import policy
from portal.agencies.models import Agency, Area, Commissioning, Service
from portal.core.codes import KeyQuestion, LabelledEnum, Rating, ServiceType
from portal.core.workdays import london_today
from portal.extensions import db
from portal.intelligence.models import RegisterEntry, RiskBand, RiskSignal, Severity, SourceType
from portal.people.models import User

#: How many of a signal's contributing items a register row shows; the service page shows them all.
REASONS_SHOWN = 3


class VisitSince(LabelledEnum):
    """The filter on the last contract-monitoring visit."""

    SIX_MONTHS = "Not visited in the last 6 months (or never)"
    TWELVE_MONTHS = "Not visited in the last 12 months (or never)"
    NEVER = "Never visited"


#: The filter on the last inspection: a published rating, or no inspection recorded at all.
InspectionFilter = LabelledEnum(
    "InspectionFilter", {**{rating.name: rating.value for rating in Rating}, "NO_INSPECTION": "No inspection recorded"}
)


class SortOrder(LabelledEnum):
    RISK = "Risk score, highest first"
    NAME = "Service name, A to Z"
    INSPECTED = "Last inspection, longest ago first"
    VISITED = "Last contract-monitoring visit, longest ago first"


@dataclass(frozen=True)
class RegisterFilters:
    bands: frozenset[RiskBand] = frozenset()
    converging_only: bool = False
    service_type: ServiceType | None = None
    area_id: int | None = None
    commissioner_id: int | None = None
    inspection: LabelledEnum | None = None
    visit: VisitSince | None = None
    sort: SortOrder = SortOrder.RISK

    def describe(self) -> dict:
        """The filters in force, for the audit trail of an export."""
        described = {
            "bands": sorted(band.name for band in self.bands),
            "converging_only": self.converging_only,
            "service_type": self.service_type,
            "area_id": self.area_id,
            "commissioner_id": self.commissioner_id,
            "inspection": self.inspection,
            "visit": self.visit,
            "sort": self.sort,
        }
        return {name: getattr(value, "name", value) for name, value in described.items() if value not in (None, [], False)}


@dataclass(frozen=True)
class Reason:
    """One contributing item as a register row shows it."""

    occurred_on: date
    source: SourceType
    severity: Severity
    key_questions: list[KeyQuestion]
    summary: str
    converging: bool

    @classmethod
    def from_stored(cls, stored: dict, *, withhold_summary: bool) -> Reason:
        return cls(
            occurred_on=date.fromisoformat(stored["occurred_on"]),
            source=SourceType[stored["source"]],
            severity=Severity[stored["severity"]],
            key_questions=KeyQuestion.from_bits(stored["key_question_bits"]),
            summary=WITHHELD if withhold_summary else stored["summary"],
            converging=bool(stored.get("converging")),
        )

    def as_text(self) -> str:
        questions = ", ".join(question.label for question in self.key_questions)
        return f"{self.occurred_on.isoformat()} {self.source.label} ({self.severity.label}; {questions}): {self.summary}"


#: Shown instead of the summary of an item filed as personal safeguarding data, to those who may not read it.
WITHHELD = "Summary withheld: personal safeguarding information"


@dataclass
class RegisterRow:
    service_id: int
    service_name: str
    service_type: ServiceType
    provider_name: str
    area_name: str
    score: float
    likelihood: int
    consequence: int
    band: RiskBand
    converging_bits: int
    latest_rating: Rating | None
    latest_rating_on: date | None
    last_visit_on: date | None
    owner_name: str | None
    review_on: date | None
    reasons: list[Reason] = field(default_factory=list)
    reason_count: int = 0
    today: date = field(default_factory=london_today)

    @property
    def converging_questions(self) -> list[KeyQuestion]:
        return KeyQuestion.from_bits(self.converging_bits)

    @property
    def rating_product(self) -> int:
        return self.likelihood * self.consequence

    @property
    def days_since_visit(self) -> int | None:
        return None if self.last_visit_on is None else (self.today - self.last_visit_on).days

    @property
    def review_overdue(self) -> bool:
        return self.review_on is not None and self.review_on < self.today

    @property
    def more_reasons(self) -> int:
        return max(0, self.reason_count - len(self.reasons))


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the last day of a shorter month)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    return date(year, month + 1, min(day.day, 28))


def _visible_service_ids(user):
    return policy.risk_signals_visible_to(user).with_only_columns(RiskSignal.service_id)


def _current_commissioning(today: date):
    return sa.and_(
        Commissioning.starts_on <= today, sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= today)
    )


def area_choices(user) -> list[tuple[int, str]]:
    """The areas of the services on the person's register."""
    provider_areas = (
        sa.select(Agency.area_id).join(Service, Service.provider_id == Agency.id).where(Service.id.in_(_visible_service_ids(user)))
    )
    areas = db.session.execute(sa.select(Area.id, Area.name).where(Area.id.in_(provider_areas)).order_by(Area.name))
    return [(area_id, name) for area_id, name in areas]


def commissioner_choices(user, today: date) -> list[tuple[int, str]]:
    """Agencies commissioning, now, at least one service on the person's register."""
    commissioners = sa.select(Commissioning.commissioner_id).where(
        _current_commissioning(today), Commissioning.service_id.in_(_visible_service_ids(user))
    )
    agencies = db.session.execute(sa.select(Agency.id, Agency.name).where(Agency.id.in_(commissioners)).order_by(Agency.name))
    return [(agency_id, name) for agency_id, name in agencies]


def _filtered(user, filters: RegisterFilters, today: date):
    """The person's signals joined to their service and provider, narrowed by the filters (no columns chosen)."""
    query = (
        policy.risk_signals_visible_to(user)
        .select_from(RiskSignal)
        .join(Service, Service.id == RiskSignal.service_id)
        .join(Agency, Agency.id == Service.provider_id)
    )
    if filters.bands:
        query = query.where(RiskSignal.band.in_(sorted(filters.bands, key=lambda band: band.name)))
    if filters.converging_only:
        query = query.where(RiskSignal.converging_bits != 0)
    if filters.service_type is not None:
        query = query.where(Service.service_type == filters.service_type)
    if filters.area_id is not None:
        query = query.where(Agency.area_id == filters.area_id)
    if filters.commissioner_id is not None:
        query = query.where(Service.id.in_(
            sa.select(Commissioning.service_id).where(
                Commissioning.commissioner_id == filters.commissioner_id, _current_commissioning(today)
            )
        ))
    if filters.inspection is not None:
        if filters.inspection.name == "NO_INSPECTION":
            query = query.where(RiskSignal.latest_rating_on.is_(None))
        else:
            query = query.where(RiskSignal.latest_rating == Rating[filters.inspection.name])
    if filters.visit is VisitSince.NEVER:
        query = query.where(RiskSignal.last_visit_on.is_(None))
    elif filters.visit is not None:
        months = 6 if filters.visit is VisitSince.SIX_MONTHS else 12
        query = query.where(
            sa.or_(RiskSignal.last_visit_on.is_(None), RiskSignal.last_visit_on < months_before(today, months))
        )
    return query


def _ordered(query, sort: SortOrder):
    by_risk = (RiskSignal.score.desc(), Service.name, RiskSignal.id)
    orders = {
        SortOrder.RISK: by_risk,
        SortOrder.NAME: (Service.name, Agency.name, RiskSignal.id),
        SortOrder.INSPECTED: (RiskSignal.latest_rating_on.asc().nulls_first(), *by_risk),
        SortOrder.VISITED: (RiskSignal.last_visit_on.asc().nulls_first(), *by_risk),
    }
    return query.order_by(*orders[sort])


_OWNER = aliased(User)
_AREA = aliased(Area)


def _row_columns():
    return (
        RiskSignal.id, Service.id, Service.name, Service.service_type, Agency.name, _AREA.name,
        RiskSignal.score, RiskSignal.likelihood, RiskSignal.consequence, RiskSignal.band, RiskSignal.converging_bits,
        RiskSignal.latest_rating, RiskSignal.latest_rating_on, RiskSignal.last_visit_on,
        _OWNER.name, RegisterEntry.review_on,
    )


# A row's reasons. A busy service's signal holds hundreds of contributing items and a row shows three,
# so the page reads a fixed-length start of the stored JSON and counts the items there without
# parsing the rest: its cost does not grow with the number of items.

#: The stored JSON is written by ``json.dumps`` (ASCII only), and each reason is an object whose
#: first key is ``item_id``; inside a JSON string a quote is always escaped, so this marks each
#: reason exactly once.
_REASON_START = '{"item_id":'
#: Enough characters for the first reasons however their summaries (160 characters at most, each
#: at most 12 once escaped) are made up.
_REASONS_PREFIX = REASONS_SHOWN * 2400 + 100
_ID_CHUNK = 500


def _reasons_by_signal(signal_ids: list[int]) -> dict[int, tuple[list[dict], int]]:
    """Each signal's first :data:`REASONS_SHOWN` reasons and how many it has."""
    text = sa.cast(RiskSignal.reasons, sa.Text)
    marker_length = len(_REASON_START)
    found = {}
    for start in range(0, len(signal_ids), _ID_CHUNK):
        for signal_id, prefix, total in db.session.execute(
            sa.select(
                RiskSignal.id,
                sa.func.substr(text, 1, _REASONS_PREFIX),
                (sa.func.length(text) - sa.func.length(sa.func.replace(text, _REASON_START, ""))) // marker_length,
            ).where(RiskSignal.id.in_(signal_ids[start:start + _ID_CHUNK]))
        ):
            found[signal_id] = (_first_reasons(prefix or "", REASONS_SHOWN), int(total or 0))
    return found


def _first_reasons(prefix: str, wanted: int) -> list[dict]:
    decoder = json.JSONDecoder()
    reasons = []
    index = prefix.find(_REASON_START)
    while index != -1 and len(reasons) < wanted:
        try:
            reason, end = decoder.raw_decode(prefix, index)
        except ValueError:
            break
        reasons.append(reason)
        index = prefix.find(_REASON_START, end)
    return reasons


class RegisterPage(Pagination):
    """A page of register rows, counted with a query that selects no columns it does not need."""

    def _query_items(self) -> list[RegisterRow]:
        query = self._query_args["query"].limit(self.per_page).offset(self._query_offset)
        return rows_from(db.session.execute(query), withhold_personal=self._query_args["withhold_personal"])

    def _query_count(self) -> int:
        return db.session.scalar(self._query_args["count_query"])


def register_query(user, filters: RegisterFilters, today: date | None = None):
    """Every row matching the filters, in the chosen order, and a query counting them."""
    today = today or london_today()
    filtered = _filtered(user, filters, today)
    query = (
        filtered.with_only_columns(*_row_columns())
        .join(_AREA, _AREA.id == Agency.area_id)
        .outerjoin(RegisterEntry, RegisterEntry.service_id == RiskSignal.service_id)
        .outerjoin(_OWNER, _OWNER.id == RegisterEntry.owner_id)
    )
    return _ordered(query, filters.sort), filtered.with_only_columns(sa.func.count(RiskSignal.id))


def rows_from(result, *, withhold_personal: bool, today: date | None = None) -> list[RegisterRow]:
    """Register rows from the register query's result, with their first reasons."""
    today = today or london_today()
    fetched = result.all()
    reasons = _reasons_by_signal([signal_id for signal_id, *_ in fetched])
    rows = []
    for (signal_id, service_id, name, service_type, provider, area, score, likelihood, consequence, band,
         converging, rating, rated_on, visited_on, owner, review_on) in fetched:
        first, total = reasons.get(signal_id, ([], 0))
        rows.append(RegisterRow(
            service_id=service_id, service_name=name, service_type=service_type, provider_name=provider,
            area_name=area, score=score, likelihood=likelihood, consequence=consequence, band=band,
            converging_bits=converging, latest_rating=rating, latest_rating_on=rated_on, last_visit_on=visited_on,
            owner_name=owner, review_on=review_on, reason_count=total, today=today,
            reasons=[
                Reason.from_stored(reason, withhold_summary=withhold_personal and bool(reason.get("personal")))
                for reason in first
            ],
        ))
    return rows


def register_page(user, filters: RegisterFilters, *, page: int, per_page: int) -> RegisterPage:
    query, count = register_query(user, filters)
    return RegisterPage(
        page=page, per_page=per_page, error_out=False, count=True, query=query, count_query=count,
        withhold_personal=not policy.sees_personal_category_intelligence(user),
    )


def all_rows(user, filters: RegisterFilters) -> list[RegisterRow]:
    """Every matching row, for the export."""
    query, _ = register_query(user, filters)
    return rows_from(
        db.session.execute(query), withhold_personal=not policy.sees_personal_category_intelligence(user)
    )
