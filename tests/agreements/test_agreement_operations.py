"""The rules for recording, changing, signing and revoking information-sharing agreements."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.agreements.models import AgreementStatus
from portal.agreements.operations import (
    AgreementError,
    create_agreement,
    revoke_agreement,
    sign_for_party,
    update_agreement,
)
from portal.agreements.sharing import london_today
from portal.audit.models import AuditEvent
from portal.core.codes import (
    AgencyKind,
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    Role,
    SpecialCategoryCondition,
)
from portal.core.rules import WHOLE_RECORD


@pytest.fixture
def partnership(make_area, make_agency):
    area = make_area(name="Northshire")
    return {
        "area": area,
        "council": make_agency(area=area, kind=AgencyKind.LOCAL_AUTHORITY, name="Northshire Council"),
        "icb": make_agency(area=area, kind=AgencyKind.NHS_ICB, name="Northshire ICB"),
        "police": make_agency(area=area, kind=AgencyKind.POLICE, name="Northshire Police"),
    }


@pytest.fixture
def terms(partnership):
    """Valid terms for a new agreement between the council and the ICB."""
    today = london_today()
    return {
        "title": "Sharing provider intelligence",
        "purpose": "To spot providers whose care is getting worse.",
        "controllers": ControllerArrangement.SEPARATE,
        "lawful_basis": LawfulBasis.PUBLIC_TASK,
        "special_category_condition": None,
        "categories": {DataCategory.PROVIDER_INTELLIGENCE},
        "retention_months": 24,
        "starts_on": today - timedelta(days=10),
        "review_on": today + timedelta(days=355),
        "ends_on": today + timedelta(days=720),
        "party_agencies": [partnership["council"], partnership["icb"]],
    }


@pytest.fixture
def draft(db_session, partnership, terms):
    return create_agreement(area=partnership["area"], **terms)


@pytest.fixture
def admin(make_user, partnership):
    return make_user(role=Role.ADMINISTRATOR, agency=partnership["council"], name="Ada Admin")


def _events(db_session, action, agreement):
    return db_session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == str(agreement.id))
    ).all()


def _sign_all(agreement, on=None):
    for party in agreement.parties:
        sign_for_party(party, signatory_name="Sam Signer", signatory_job_title="Caldicott Guardian", signed_on=on or london_today())


def _refused(field, change):
    with pytest.raises(AgreementError) as refusal:
        change()
    assert refusal.value.field == field
    return refusal.value


# Recording ------------------------------------------------------------------------------------


def test_new_agreement_is_a_draft_between_its_parties_until_signed(db_session, draft, partnership):
    assert [p.agency for p in draft.parties] == [partnership["council"], partnership["icb"]]
    assert draft.categories == {DataCategory.PROVIDER_INTELLIGENCE}
    assert draft.area_id == partnership["area"].id
    assert draft.status_on(london_today()) is AgreementStatus.DRAFT


def test_recording_an_agreement_is_audited(db_session, draft, partnership):
    (event,) = _events(db_session, "agreement.create", draft)
    details = json.loads(event.details)
    assert details["party_agency_ids"] == sorted([partnership["council"].id, partnership["icb"].id])
    assert details["categories"] == ["PROVIDER_INTELLIGENCE"]


def test_an_agreement_needs_two_distinct_parties(db_session, partnership, terms):
    terms["party_agencies"] = [partnership["council"], partnership["council"]]
    error = _refused("parties", lambda: create_agreement(area=partnership["area"], **terms))
    assert str(error) == "Select at least two agencies: an agreement is between two or more parties"


def test_the_same_agency_listed_twice_becomes_one_party(db_session, partnership, terms):
    terms["party_agencies"] = [partnership["council"], partnership["icb"], partnership["council"]]
    agreement = create_agreement(area=partnership["area"], **terms)
    assert len(agreement.parties) == 2


def test_parties_must_all_be_in_the_administrators_area(db_session, make_area, make_agency, partnership, terms):
    elsewhere = make_agency(area=make_area(name="Southshire"), kind=AgencyKind.POLICE, name="Southshire Police")
    terms["party_agencies"] = [partnership["council"], elsewhere]
    error = _refused("parties", lambda: create_agreement(area=partnership["area"], **terms))
    assert "Southshire Police" in str(error)


def test_an_inactive_agency_cannot_become_a_party(db_session, partnership, terms):
    partnership["police"].active = False
    terms["party_agencies"] = [partnership["council"], partnership["police"]]
    _refused("parties", lambda: create_agreement(area=partnership["area"], **terms))


def test_end_date_must_be_after_start_date(db_session, partnership, terms):
    terms["ends_on"] = terms["starts_on"]
    error = _refused("ends_on", lambda: create_agreement(area=partnership["area"], **terms))
    assert str(error) == "The end date must be after the start date"


@pytest.mark.parametrize("offset", ["before_start", "on_start", "after_end"])
def test_review_date_must_fall_between_start_and_end(db_session, partnership, terms, offset):
    terms["review_on"] = {
        "before_start": terms["starts_on"] - timedelta(days=1),
        "on_start": terms["starts_on"],
        "after_end": terms["ends_on"] + timedelta(days=1),
    }[offset]
    _refused("review_on", lambda: create_agreement(area=partnership["area"], **terms))


def test_review_date_may_be_the_end_date(db_session, partnership, terms):
    terms["review_on"] = terms["ends_on"]
    assert create_agreement(area=partnership["area"], **terms).review_on == terms["ends_on"]


def test_an_agreement_must_cover_some_data(db_session, partnership, terms):
    terms["categories"] = set()
    _refused("categories", lambda: create_agreement(area=partnership["area"], **terms))


def test_personal_safeguarding_data_needs_an_article_9_condition(db_session, partnership, terms):
    terms["categories"] = {DataCategory.PERSONAL_SAFEGUARDING}
    error = _refused("special_category_condition", lambda: create_agreement(area=partnership["area"], **terms))
    assert "Article 9" in str(error)

    terms["special_category_condition"] = SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST
    agreement = create_agreement(area=partnership["area"], **terms)
    assert agreement.special_category_condition is SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST


def test_provider_intelligence_alone_needs_no_article_9_condition(db_session, draft):
    assert draft.special_category_condition is None


@pytest.mark.parametrize("months", [0, -1, 121])
def test_retention_outside_1_to_120_months_is_refused(db_session, partnership, terms, months):
    terms["retention_months"] = months
    _refused("retention_months", lambda: create_agreement(area=partnership["area"], **terms))


@pytest.mark.parametrize("months", [1, 120])
def test_retention_of_1_to_120_months_is_accepted(db_session, partnership, terms, months):
    terms["retention_months"] = months
    assert create_agreement(area=partnership["area"], **terms).retention_months == months


def test_every_problem_is_reported_together(db_session, partnership, terms):
    terms.update(categories=set(), retention_months=0, party_agencies=[partnership["council"]])
    error = _refused("categories", lambda: create_agreement(area=partnership["area"], **terms))
    assert [field for field, _ in error.problems] == ["categories", "retention_months", "parties"]


# Changing -------------------------------------------------------------------------------------


def _with(terms, **changes):
    return {**terms, **changes}


def test_parties_can_change_while_nobody_has_signed(db_session, draft, partnership, terms):
    update_agreement(draft, **_with(terms, party_agencies=[partnership["council"], partnership["police"]]))
    assert {p.agency for p in draft.parties} == {partnership["council"], partnership["police"]}
    (event,) = _events(db_session, "agreement.update", draft)
    assert json.loads(event.details)["changed"]["parties"] == {
        "added": [partnership["police"].id],
        "removed": [partnership["icb"].id],
    }


def test_a_change_is_audited_with_before_and_after(db_session, draft, terms):
    update_agreement(draft, **_with(terms, title="Renamed", retention_months=36))
    (event,) = _events(db_session, "agreement.update", draft)
    changed = json.loads(event.details)["changed"]
    assert changed["title"] == ["Sharing provider intelligence", "Renamed"]
    assert changed["retention_months"] == [24, 36]


def test_saving_without_changes_writes_no_audit_event(db_session, draft, terms):
    update_agreement(draft, **terms)
    assert _events(db_session, "agreement.update", draft) == []


def test_changes_follow_the_same_rules_as_recording(db_session, draft, terms):
    _refused("ends_on", lambda: update_agreement(draft, **_with(terms, ends_on=terms["starts_on"] - timedelta(days=1))))


def test_parties_cannot_change_once_anyone_has_signed(db_session, draft, partnership, terms):
    sign_for_party(draft.parties[0], signatory_name="Sam Signer", signatory_job_title="Director", signed_on=london_today())
    extra = [partnership["council"], partnership["icb"], partnership["police"]]
    error = _refused("parties", lambda: update_agreement(draft, **_with(terms, party_agencies=extra)))
    assert "signed" in str(error) and "revoke" in str(error)


def test_dates_cannot_change_once_anyone_has_signed(db_session, draft, terms):
    sign_for_party(draft.parties[0], signatory_name="Sam Signer", signatory_job_title="Director", signed_on=london_today())
    later = terms["ends_on"] + timedelta(days=30)
    _refused("parties", lambda: update_agreement(draft, **_with(terms, ends_on=later)))


def test_data_covered_cannot_change_once_anyone_has_signed(db_session, draft, terms):
    sign_for_party(draft.parties[0], signatory_name="Sam Signer", signatory_job_title="Director", signed_on=london_today())
    wider = _with(
        terms,
        categories={DataCategory.PROVIDER_INTELLIGENCE, DataCategory.PERSONAL_SAFEGUARDING},
        special_category_condition=SpecialCategoryCondition.HEALTH_SOCIAL_CARE,
    )
    _refused("parties", lambda: update_agreement(draft, **wider))


def test_the_title_can_still_be_corrected_after_signing(db_session, draft, terms):
    _sign_all(draft)
    update_agreement(draft, **_with(terms, title="Sharing provider intelligence (2026)"))
    assert draft.title == "Sharing provider intelligence (2026)"


def test_a_revoked_agreement_cannot_change(db_session, draft, terms, admin):
    revoke_agreement(draft, reason="Replaced", by_user=admin)
    _refused(WHOLE_RECORD, lambda: update_agreement(draft, **_with(terms, title="Renamed")))


# Signing --------------------------------------------------------------------------------------


def test_signing_records_the_signatory_and_is_audited(db_session, draft):
    party = draft.parties[0]
    sign_for_party(party, signatory_name="Sam Signer", signatory_job_title="Caldicott Guardian", signed_on=london_today())
    assert (party.signatory_name, party.signatory_job_title, party.signed_on) == ("Sam Signer", "Caldicott Guardian", london_today())
    (event,) = _events(db_session, "agreement.sign", draft)
    assert json.loads(event.details)["agency_id"] == party.agency_id


def test_agreement_is_in_force_once_every_party_has_signed(db_session, draft):
    sign_for_party(draft.parties[0], signatory_name="Sam Signer", signatory_job_title="Director", signed_on=london_today())
    assert draft.status_on(london_today()) is AgreementStatus.DRAFT
    sign_for_party(draft.parties[1], signatory_name="Kim Signer", signatory_job_title="Director", signed_on=london_today())
    assert draft.status_on(london_today()) is AgreementStatus.ACTIVE


def test_a_signature_cannot_be_dated_in_the_future(db_session, draft):
    tomorrow = london_today() + timedelta(days=1)
    _refused("signed_on", lambda: sign_for_party(draft.parties[0], signatory_name="Sam", signatory_job_title="Director", signed_on=tomorrow))
    assert draft.parties[0].signed_on is None


def test_a_signature_can_be_dated_in_the_past(db_session, draft):
    last_month = london_today() - timedelta(days=30)
    sign_for_party(draft.parties[0], signatory_name="Sam", signatory_job_title="Director", signed_on=last_month)
    assert draft.parties[0].signed_on == last_month


def test_a_party_cannot_sign_twice(db_session, draft):
    party = draft.parties[0]
    sign_for_party(party, signatory_name="Sam", signatory_job_title="Director", signed_on=london_today())
    _refused(WHOLE_RECORD, lambda: sign_for_party(party, signatory_name="Kim", signatory_job_title="Director", signed_on=london_today()))
    assert party.signatory_name == "Sam"


def test_a_signature_needs_a_name_and_job_title(db_session, draft):
    error = _refused("signatory_name", lambda: sign_for_party(draft.parties[0], signatory_name=" ", signatory_job_title="", signed_on=london_today()))
    assert [field for field, _ in error.problems] == ["signatory_name", "signatory_job_title"]


def test_a_revoked_agreement_cannot_be_signed(db_session, draft, admin):
    revoke_agreement(draft, reason="No longer needed", by_user=admin)
    _refused(WHOLE_RECORD, lambda: sign_for_party(draft.parties[0], signatory_name="Sam", signatory_job_title="Director", signed_on=london_today()))


# Revoking -------------------------------------------------------------------------------------


def test_revoking_stops_sharing_and_is_audited(db_session, draft, admin):
    _sign_all(draft)
    revoke_agreement(draft, reason="The provider forum has closed", by_user=admin)
    assert draft.revoked_at is not None
    assert draft.revoked_reason == "The provider forum has closed"
    assert draft.revoked_by_id == admin.id
    assert draft.status_on(london_today()) is AgreementStatus.REVOKED
    (event,) = _events(db_session, "agreement.revoke", draft)
    assert event.actor_id == admin.id
    assert json.loads(event.details)["reason"] == "The provider forum has closed"


def test_an_agreement_cannot_be_revoked_twice(db_session, draft, admin):
    revoke_agreement(draft, reason="Replaced", by_user=admin)
    _refused("reason", lambda: revoke_agreement(draft, reason="Again", by_user=admin))
    assert draft.revoked_reason == "Replaced"


def test_an_expired_agreement_cannot_be_revoked(db_session, partnership, terms, admin):
    today = london_today()
    expired = create_agreement(
        area=partnership["area"],
        **_with(terms, starts_on=today - timedelta(days=400), review_on=today - timedelta(days=200), ends_on=today - timedelta(days=1)),
    )
    _refused("reason", lambda: revoke_agreement(expired, reason="Tidying up", by_user=admin))
    assert expired.revoked_at is None


def test_revoking_needs_a_reason(db_session, draft, admin):
    _refused("reason", lambda: revoke_agreement(draft, reason="  ", by_user=admin))
