"""The one question every module asks: may agency A share data of category C with agency B today?"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal.agreements.models import Agreement, AgreementCategory, AgreementParty
from portal.core.codes import DataCategory
from portal.core.workdays import london_today
from portal.extensions import db


def _in_force(category: DataCategory, on: date):
    start_of_next_day = datetime.combine(on + timedelta(days=1), time.min, tzinfo=UTC)
    return sa.and_(
        Agreement.in_force_on(on, start_of_next_day),
        sa.select(AgreementCategory.agreement_id)
        .where(
            AgreementCategory.agreement_id == Agreement.id,
            AgreementCategory.category == category,
        )
        .correlate_except(AgreementCategory)
        .exists(),
    )


def agreements_in_force(agency_id: int, category: DataCategory, on: date | None = None):
    """A query for the agreements covering ``category`` that ``agency_id`` is party to on ``on``."""
    on = on or london_today()
    return (
        sa.select(Agreement)
        .join(AgreementParty, AgreementParty.agreement_id == Agreement.id)
        .where(AgreementParty.agency_id == agency_id, _in_force(category, on))
    )


def partner_ids_sharing(agency_id: int, category: DataCategory, on: date | None = None):
    """A subquery of the ids of agencies that ``agency_id`` may share ``category`` with on ``on``.

    Use it inside other queries (``Agency.id.in_(partner_ids_sharing(...))``) so that list
    scoping stays in SQL.
    """
    on = on or london_today()
    own = sa.orm.aliased(AgreementParty)
    other = sa.orm.aliased(AgreementParty)
    return (
        sa.select(other.agency_id)
        .join(own, own.agreement_id == other.agreement_id)
        .join(Agreement, Agreement.id == own.agreement_id)
        .where(own.agency_id == agency_id, other.agency_id != agency_id, _in_force(category, on))
    )


def shares(agency_a_id: int, category: DataCategory, agency_b_id: int, on: date | None = None) -> bool:
    """Whether an agreement in force on ``on`` joins the two agencies for ``category``."""
    if agency_a_id == agency_b_id:
        return True
    partners = partner_ids_sharing(agency_a_id, category, on)
    return bool(db.session.scalar(sa.select(sa.literal(agency_b_id).in_(partners))))
