"""An agreement's status comes from its dates, signatures and revocation, and decides what is shared."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.agreements.models import Agreement, AgreementStatus
from portal.agreements.sharing import agreements_in_force, partner_ids_sharing, shares
from portal.core.codes import AgencyKind, DataCategory

START, REVIEW, END = date(2026, 4, 1), date(2027, 3, 1), date(2028, 3, 31)


@pytest.fixture
def parties(make_agency):
    return make_agency(AgencyKind.LOCAL_AUTHORITY), make_agency(AgencyKind.POLICE), make_agency(AgencyKind.NHS_ICB)


@pytest.fixture
def agreement(make_agreement, parties):
    council, police, _ = parties
    return make_agreement(
        [council, police],
        categories={DataCategory.PERSONAL_SAFEGUARDING},
        starts_on=START, review_on=REVIEW, ends_on=END,
    )


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (START - timedelta(days=1), AgreementStatus.DRAFT),
        (START, AgreementStatus.ACTIVE),
        (REVIEW - timedelta(days=1), AgreementStatus.ACTIVE),
        (REVIEW, AgreementStatus.REVIEW_DUE),
        (END, AgreementStatus.REVIEW_DUE),
        (END + timedelta(days=1), AgreementStatus.EXPIRED),
    ],
)
def test_status_follows_the_dates(agreement, day, status):
    assert agreement.status_on(day) is status


def test_unsigned_agreement_stays_draft(agreement):
    agreement.parties[1].signed_on = None
    assert agreement.status_on(START + timedelta(days=10)) is AgreementStatus.DRAFT


def test_revocation_takes_effect_from_its_day(agreement):
    agreement.revoked_at = datetime(2026, 6, 15, 9, 30, tzinfo=UTC)
    assert agreement.status_on(date(2026, 6, 14)) is AgreementStatus.ACTIVE
    assert agreement.status_on(date(2026, 6, 15)) is AgreementStatus.REVOKED


def test_sharing_needs_an_agreement_in_force_covering_the_category(agreement, parties):
    council, police, icb = parties
    inside = START + timedelta(days=30)
    assert shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, inside)
    assert shares(police.id, DataCategory.PERSONAL_SAFEGUARDING, council.id, inside)
    assert not shares(council.id, DataCategory.PROVIDER_INTELLIGENCE, police.id, inside)
    assert not shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, icb.id, inside)
    assert not shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, START - timedelta(days=1))
    assert shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, REVIEW + timedelta(days=5))
    assert not shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, END + timedelta(days=1))


def test_an_expired_or_revoked_agreement_stops_sharing_by_itself(agreement, parties, db_session):
    council, police, _ = parties
    day = date(2026, 7, 1)
    assert shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, day)
    agreement.revoked_at = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    db_session.flush()
    assert not shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, day)
    assert shares(council.id, DataCategory.PERSONAL_SAFEGUARDING, police.id, date(2026, 6, 29))


def test_sql_helper_agrees_with_the_status_on_every_day(agreement, parties, db_session):
    """The query used to scope lists gives the same answer as the status shown on the page."""
    council, _, _ = parties
    agreement.revoked_at = datetime(2027, 9, 1, 12, 0, tzinfo=UTC)
    db_session.flush()
    day = START - timedelta(days=3)
    while day <= END + timedelta(days=3):
        in_force = agreement.id in db_session.scalars(
            agreements_in_force(council.id, DataCategory.PERSONAL_SAFEGUARDING, day).with_only_columns(Agreement.id)
        ).all()
        assert in_force == agreement.status_on(day).allows_sharing, day
        day += timedelta(days=17)


def test_partner_ids_lists_each_partner_once_per_agreement(make_agreement, parties, db_session):
    council, police, icb = parties
    make_agreement([council, police, icb], categories={DataCategory.PROVIDER_INTELLIGENCE})
    partners = set(db_session.scalars(partner_ids_sharing(council.id, DataCategory.PROVIDER_INTELLIGENCE)))
    assert partners == {police.id, icb.id}
    assert council.id not in partners


def test_status_is_never_a_stored_column():
    assert "status" not in {column.name for column in sa.inspect(Agreement).columns}
