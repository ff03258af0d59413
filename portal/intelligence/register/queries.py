"""The register's query: one row per risk signal the person may see, filtered, sorted and counted in SQL.

The register never reads intelligence items: each :class:`RiskSignal` already carries its score,
band, first reasons and their number, latest rating and last visit, so a page costs the same however
many items there are. It never reads a signal's full list of reasons either (hundreds on a busy
service): only ``top_reasons`` and ``reason_count``. Scoping comes from
:func:`portal.policy.risk_signals_visible_to` and filters only ever narrow it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

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
REASONS_SHOWN = RiskSignal.TOP_REASONS


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
            key_questions=_key_questions(stored["key_question_bits"]),
            summary=WITHHELD if withhold_summary else stored["summary"],
            converging=bool(stored.get("converging")),
        )

    @property
    def questions_text(self) -> str:
        return ", ".join(question.label for question in self.key_questions)

    def as_text(self) -> str:
        return (
            f"{self.occurred_on.isoformat()} {self.source.label} ({self.severity.label}; {self.questions_text}): "
            f"{self.summary}"
        )


@lru_cache(maxsize=64)
def _questions(bits: int) -> tuple[KeyQuestion, ...]:
    return tuple(KeyQuestion.from_bits(bits))


def _key_questions(bits: int) -> list[KeyQuestion]:
    """The key questions in a set stored as bits (there are 32 such sets: worked out once each)."""
    return list(_questions(bits))


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
        return _key_questions(self.converging_bits)

    @property
    def converging_text(self) -> str:
        return ", ".join(question.label for question in self.converging_questions)

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


@dataclass(frozen=True)
class Scope:
    """What a person's register is drawn from, worked out once per request: building the policy's
    query is itself costly, and the choices, the page and its count all start from it."""

    signals: sa.Select
    withhold_personal: bool
    today: date

    @classmethod
    def of(cls, user, today: date | None = None) -> Scope:
        return cls(
            signals=policy.risk_signals_visible_to(user),
            withhold_personal=not policy.sees_personal_category_intelligence(user),
            today=today or london_today(),
        )


def _current_commissioning(today: date):
    return sa.and_(
        Commissioning.starts_on <= today, sa.or_(Commissioning.ends_on.is_(None), Commissioning.ends_on >= today)
    )


@dataclass(frozen=True)
class FilterChoices:
    """The areas of the services on the person's register, and the agencies commissioning one of them now."""

    areas: list[tuple[int, str]]
    commissioners: list[tuple[int, str]]


def filter_choices(scope: Scope) -> FilterChoices:
    """Both lists in one query, working out the person's services once."""
    today = scope.today
    visible = scope.signals.with_only_columns(RiskSignal.service_id).cte("register_service")
    areas = sa.select(sa.literal("area").label("kind"), Area.id.label("id"), Area.name.label("name")).where(
        Area.id.in_(
            sa.select(Agency.area_id).join(Service, Service.provider_id == Agency.id)
            .where(Service.id.in_(sa.select(visible.c.service_id)))
        )
    )
    commissioners = sa.select(sa.literal("commissioner"), Agency.id, Agency.name).where(
        Agency.id.in_(
            sa.select(Commissioning.commissioner_id)
            .where(_current_commissioning(today), Commissioning.service_id.in_(sa.select(visible.c.service_id)))
        )
    )
    query = sa.union_all(areas, commissioners).order_by(sa.literal_column("kind"), sa.literal_column("name"))
    found = {"area": [], "commissioner": []}
    for kind, choice_id, name in db.session.execute(query):
        found[kind].append((choice_id, name))
    return FilterChoices(areas=found["area"], commissioners=found["commissioner"])


def _filtered(scope: Scope, filters: RegisterFilters, *, joined: bool = True):
    """The person's signals joined to their service and provider, narrowed by the filters (no columns chosen).

    ``joined=False`` leaves out the joins unless a filter needs them (each signal has one service, each
    service one provider, so they never change which signals match): for the count.
    """
    today = scope.today
    query = scope.signals.select_from(RiskSignal)
    if joined or filters.service_type is not None or filters.area_id is not None:
        query = query.join(Service, Service.id == RiskSignal.service_id).join(Agency, Agency.id == Service.provider_id)
    if filters.bands:
        query = query.where(RiskSignal.band.in_(sorted(filters.bands, key=lambda band: band.name)))
    if filters.converging_only:
        query = query.where(RiskSignal.converging_bits != 0)
    if filters.service_type is not None:
        query = query.where(Service.service_type == filters.service_type)
    if filters.area_id is not None:
        query = query.where(Agency.area_id == filters.area_id)
    if filters.commissioner_id is not None:
        query = query.where(RiskSignal.service_id.in_(
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


_AREA = aliased(Area)


def _row_columns():
    return (
        RiskSignal.id, Service.id, Service.name, Service.service_type, Agency.name, _AREA.name,
        RiskSignal.score, RiskSignal.likelihood, RiskSignal.consequence, RiskSignal.band, RiskSignal.converging_bits,
        RiskSignal.latest_rating, RiskSignal.latest_rating_on, RiskSignal.last_visit_on,
        RiskSignal.top_reasons, RiskSignal.reason_count,
    )


class RegisterPage(Pagination):
    """A page of register rows, counted with a query that selects no columns it does not need."""

    def _query_items(self) -> list[RegisterRow]:
        query = self._query_args["query"].limit(self.per_page).offset(self._query_offset)
        return rows_from(db.session.execute(query), self._query_args["scope"])

    def _query_count(self) -> int:
        return db.session.scalar(self._query_args["count_query"])


def register_query(scope: Scope, filters: RegisterFilters):
    """Every row matching the filters, in the chosen order, and a query counting them.

    The rows' register entries (owner, review date) are read by :func:`rows_from` for the rows
    fetched: as outer joins here they would make planning this query cost more than running it.
    """
    query = _filtered(scope, filters).with_only_columns(*_row_columns()).join(_AREA, _AREA.id == Agency.area_id)
    count = _filtered(scope, filters, joined=False).with_only_columns(sa.func.count())
    return _ordered(query, filters.sort), count


_ID_CHUNK = 500


def _entries_by_service(service_ids: list[int]) -> dict[int, tuple[str | None, date | None]]:
    """Each service's risk owner and review date, for those with a register entry."""
    found = {}
    for start in range(0, len(service_ids), _ID_CHUNK):
        found.update(
            (service_id, (owner, review_on)) for service_id, owner, review_on in db.session.execute(
                sa.select(RegisterEntry.service_id, User.name, RegisterEntry.review_on)
                .outerjoin(User, User.id == RegisterEntry.owner_id)
                .where(RegisterEntry.service_id.in_(service_ids[start:start + _ID_CHUNK]))
            )
        )
    return found


def rows_from(fetched, scope: Scope) -> list[RegisterRow]:
    """Register rows from the register query's rows (or result), with their first reasons and entries."""
    today, withhold_personal = scope.today, scope.withhold_personal
    fetched = list(fetched)
    entries = _entries_by_service([row[1] for row in fetched])
    rows = []
    for (_, service_id, name, service_type, provider, area, score, likelihood, consequence, band,
         converging, rating, rated_on, visited_on, first, total) in fetched:
        owner, review_on = entries.get(service_id, (None, None))
        rows.append(RegisterRow(
            service_id=service_id, service_name=name, service_type=service_type, provider_name=provider,
            area_name=area, score=score, likelihood=likelihood, consequence=consequence, band=band,
            converging_bits=converging, latest_rating=rating, latest_rating_on=rated_on, last_visit_on=visited_on,
            owner_name=owner, review_on=review_on, reason_count=total or 0, today=today,
            reasons=[
                Reason.from_stored(reason, withhold_summary=withhold_personal and bool(reason.get("personal")))
                for reason in (first or [])[:REASONS_SHOWN]
            ],
        ))
    return rows


def register_page(scope: Scope, filters: RegisterFilters, *, page: int, per_page: int) -> RegisterPage:
    query, count = register_query(scope, filters)
    return RegisterPage(
        page=page, per_page=per_page, error_out=False, count=True, query=query, count_query=count, scope=scope,
    )


def all_rows(scope: Scope, filters: RegisterFilters) -> list[RegisterRow]:
    """Every matching row, for the export."""
    query, _ = register_query(scope, filters)
    return rows_from(db.session.execute(query), scope)
