"""Who sees which concern, who sees the adult's personal details on it, and who sees which comment.

One area (see the ``partnership`` fixture): the council, the ICB, the regulator, the board, the
police, provider A (service A1, commissioned by the council and the ICB) and provider B (service
B1, commissioned by the council only), a person in every role, and another area's lead. Four
concerns, named by what sets them apart:

- ``given``: raised by provider A's staff member about A1; the adult consented to sharing.
- ``refused``: raised by another of provider A's staff about A1; the adult refused.
- ``public``: from a neighbour through the public form, about no service.
- ``icb``: raised by the ICB's commissioner about B1; the adult consented.
"""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.exceptions import NotFound

from portal import policy
from portal.agreements.operations import revoke_agreement
from portal.audit.models import AuditEvent
from portal.concerns import operations
from portal.concerns.operations import ConcernError
from portal.concerns.presenters import PERSONAL_FIELDS, present_concern
from portal.core.codes import ConsentToShare, DataCategory, MentalCapacity, OverrideReason, Role, Sex
from portal.people.operations import add_membership, end_membership

SHOWN = "shown"
NO_AGREEMENT = "withheld: no agreement"
NO_CONSENT = "withheld: no consent"
PERSONAL = frozenset({DataCategory.PERSONAL_SAFEGUARDING})

#: Which concerns each person may open, written out by hand.
VISIBLE = {
    "council_lead": {"given", "refused", "public", "icb"},
    "council_commissioner": {"given", "refused", "icb"},
    "icb_commissioner": {"given", "refused", "icb"},
    "inspector": {"given", "refused", "icb"},
    "staff_a": {"given"},
    "other_staff_a": {"refused"},
    "manager_a": {"given", "refused"},
    "staff_b": set(),
    "manager_b": set(),
    "council_sab_member": set(),
    "police_sab_member": set(),
    "sab_member": set(),
    "sab_chair": set(),
    "administrator": set(),
    "other_area_lead": set(),
}

#: The adult's details for each person and concern they may open, with no agreement in place.
#: The issue: a refusal keeps the details "with the raising agency and the local authority", so
#: the council's own commissioner sees them whatever the consent.
WITHOUT_AGREEMENT = {
    ("council_lead", "given"): SHOWN,
    ("council_lead", "refused"): SHOWN,
    ("council_lead", "public"): SHOWN,
    ("council_lead", "icb"): SHOWN,
    ("council_commissioner", "given"): SHOWN,
    ("council_commissioner", "refused"): SHOWN,
    ("council_commissioner", "icb"): SHOWN,
    ("icb_commissioner", "given"): NO_AGREEMENT,
    ("icb_commissioner", "refused"): NO_AGREEMENT,
    ("icb_commissioner", "icb"): SHOWN,
    ("inspector", "given"): NO_AGREEMENT,
    ("inspector", "refused"): NO_AGREEMENT,
    ("inspector", "icb"): NO_AGREEMENT,
    ("staff_a", "given"): SHOWN,
    ("other_staff_a", "refused"): SHOWN,
    ("manager_a", "given"): SHOWN,
    ("manager_a", "refused"): SHOWN,
}

#: The same, once agreements covering personal safeguarding data join the ICB and the regulator to the council.
WITH_AGREEMENTS = {
    **WITHOUT_AGREEMENT,
    ("icb_commissioner", "given"): SHOWN,
    ("icb_commissioner", "refused"): NO_CONSENT,
    ("inspector", "given"): SHOWN,
    ("inspector", "refused"): NO_CONSENT,
    ("inspector", "icb"): SHOWN,
}


def test_the_expected_details_cover_every_concern_each_person_can_open():
    assert set(WITHOUT_AGREEMENT) == {(who, name) for who, names in VISIBLE.items() for name in names}


@pytest.fixture
def concerns(partnership_concerns):
    """The partnership's four concerns, by name."""
    return partnership_concerns


@pytest.fixture
def personal_agreements(partnership, make_agreement):
    """Agreements in force covering personal safeguarding data: ICB–council and regulator–council."""
    p = partnership
    return {
        "icb_commissioner": make_agreement([p.icb, p.council], categories=PERSONAL),
        "inspector": make_agreement([p.regulator, p.council], categories=PERSONAL),
    }


def disclosure(user, concern) -> str:
    decided = policy.adult_details_disclosure(user, concern)
    assert decided.allowed == (decided.withheld_because is None)
    return SHOWN if decided.allowed else decided.withheld_because


def views_of_personal_details(db_session, concern) -> list[AuditEvent]:
    query = sa.select(AuditEvent).where(
        AuditEvent.action == "concern.view_personal",
        AuditEvent.object_type == "Concern",
        AuditEvent.object_id == str(concern.id),
    )
    return list(db_session.scalars(query))


# Which concerns -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", list(VISIBLE))
def test_each_person_sees_exactly_the_concerns_their_role_allows(who, partnership, concerns, db_session):
    user = partnership.people[who]

    found = list(db_session.scalars(policy.concerns_visible_to(user)))

    assert {name for name, concern in concerns.items() if concern in found} == VISIBLE[who]
    assert len(found) == len(VISIBLE[who])
    for name, concern in concerns.items():
        if name in VISIBLE[who]:
            assert policy.visible_concern_or_404(user, concern.id) is concern
        else:
            with pytest.raises(NotFound):
                policy.visible_concern_or_404(user, concern.id)


def test_a_commissioner_stops_seeing_concerns_about_a_service_once_the_contract_has_ended(
    partnership, concerns, db_session
):
    [contract] = [c for c in partnership.service_a.commissionings if c.commissioner == partnership.icb]
    contract.ends_on = date.today() - timedelta(days=1)
    db_session.commit()

    assert set(db_session.scalars(policy.concerns_visible_to(partnership.icb_commissioner))) == {concerns["icb"]}




def test_provider_staff_who_move_to_another_provider_no_longer_see_what_they_raised_at_the_old_one(
    partnership, concerns, db_session
):
    staff = partnership.staff_a
    end_membership(staff.active_memberships[0])
    staff.membership = add_membership(staff, partnership.provider_b, Role.PROVIDER_STAFF)
    db_session.commit()

    assert db_session.scalars(policy.concerns_visible_to(staff)).all() == []


# Whose personal details -----------------------------------------------------------------------


def expected_for(who, table) -> dict[str, str]:
    return {name: shown for (person, name), shown in table.items() if person == who}


def disclosures_for(user, concerns, names) -> dict[str, str]:
    return {name: disclosure(user, concerns[name]) for name in names}


@pytest.mark.parametrize("who", [who for who in VISIBLE if VISIBLE[who]])
def test_adult_details_for_each_person_without_any_agreement(who, partnership, concerns):
    expected = expected_for(who, WITHOUT_AGREEMENT)
    assert disclosures_for(partnership.people[who], concerns, expected) == expected


@pytest.mark.parametrize("who", [who for who in VISIBLE if VISIBLE[who]])
def test_adult_details_for_each_person_with_personal_data_agreements_in_force(
    who, partnership, concerns, personal_agreements
):
    expected = expected_for(who, WITH_AGREEMENTS)
    assert disclosures_for(partnership.people[who], concerns, expected) == expected


def test_the_icb_commissioner_sees_the_adult_only_with_an_agreement_and_consent_or_an_override(
    partnership, concerns, make_agreement, db_session
):
    icb_commissioner, given, refused = partnership.icb_commissioner, concerns["given"], concerns["refused"]
    assert disclosure(icb_commissioner, given) == NO_AGREEMENT
    assert disclosure(icb_commissioner, refused) == NO_AGREEMENT

    agreement = make_agreement([partnership.icb, partnership.council], categories=PERSONAL)
    assert disclosure(icb_commissioner, given) == SHOWN
    assert disclosure(icb_commissioner, refused) == NO_CONSENT

    operations.override_consent(
        refused,
        reason=OverrideReason.RISK_TO_OTHERS,
        explanation="Other residents are at risk",
        adult_told=True,
        not_told_reason=None,
        by=partnership.council_lead,
    )
    db_session.commit()
    assert disclosure(icb_commissioner, refused) == SHOWN

    revoke_agreement(agreement, reason="The ICB has left the partnership", by_user=partnership.administrator)
    db_session.commit()
    assert disclosure(icb_commissioner, given) == NO_AGREEMENT
    assert disclosure(icb_commissioner, refused) == NO_AGREEMENT


@pytest.mark.parametrize("who", ["council_commissioner", "icb_commissioner", "inspector"])
def test_an_override_lets_partners_with_an_agreement_see_the_adult_who_refused(
    who, partnership, concerns, personal_agreements, db_session
):
    operations.override_consent(
        concerns["refused"],
        reason=OverrideReason.SERIOUS_CRIME,
        explanation="Theft from several residents",
        adult_told=False,
        not_told_reason="The police asked us not to tell her yet",
        by=partnership.council_lead,
    )
    db_session.commit()
    assert disclosure(partnership.people[who], concerns["refused"]) == SHOWN


PARTNERS = {"icb_commissioner": "icb", "inspector": "regulator"}


@pytest.mark.parametrize("who", list(PARTNERS))
def test_an_expired_personal_data_agreement_withholds_the_adult_again(who, partnership, concerns, make_agreement):
    today = date.today()
    make_agreement(
        [getattr(partnership, PARTNERS[who]), partnership.council],
        categories=PERSONAL,
        starts_on=today - timedelta(days=800),
        review_on=today - timedelta(days=400),
        ends_on=today - timedelta(days=1),
    )
    assert disclosure(partnership.people[who], concerns["given"]) == NO_AGREEMENT


@pytest.mark.parametrize("who", list(PARTNERS))
def test_a_revoked_personal_data_agreement_withholds_the_adult_again(
    who, partnership, concerns, personal_agreements, db_session
):
    assert disclosure(partnership.people[who], concerns["given"]) == SHOWN

    revoke_agreement(
        personal_agreements[who], reason="Breach of the retention terms", by_user=partnership.administrator
    )
    db_session.commit()

    assert disclosure(partnership.people[who], concerns["given"]) == NO_AGREEMENT


@pytest.mark.parametrize("who", list(PARTNERS))
def test_an_agreement_covering_only_provider_intelligence_does_not_disclose_the_adult(
    who, partnership, concerns, make_agreement
):
    make_agreement(
        [getattr(partnership, PARTNERS[who]), partnership.council],
        categories=frozenset({DataCategory.PROVIDER_INTELLIGENCE}),
    )
    assert disclosure(partnership.people[who], concerns["given"]) == NO_AGREEMENT


@pytest.mark.parametrize("who", list(PARTNERS))
def test_an_agreement_not_yet_signed_by_every_party_does_not_disclose_the_adult(
    who, partnership, concerns, make_agreement
):
    make_agreement([getattr(partnership, PARTNERS[who]), partnership.council], categories=PERSONAL, signed=False)
    assert disclosure(partnership.people[who], concerns["given"]) == NO_AGREEMENT


@pytest.mark.parametrize("who", list(PARTNERS))
def test_an_agreement_with_the_provider_instead_of_the_council_does_not_disclose_the_adult(
    who, partnership, concerns, make_agreement
):
    make_agreement([getattr(partnership, PARTNERS[who]), partnership.provider_a], categories=PERSONAL)
    assert disclosure(partnership.people[who], concerns["given"]) == NO_AGREEMENT


# What the page is given -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "name"), [("icb_commissioner", "given"), ("inspector", "icb"), ("icb_commissioner", "refused")]
)
def test_withheld_details_reach_the_page_as_the_reason_with_no_personal_values_and_no_audit_event(
    who, name, partnership, concerns, db_session
):
    concern = concerns[name]

    view = present_concern(partnership.people[who], concern)

    assert view.adult.shown is False
    assert view.adult.withheld_because == WITHOUT_AGREEMENT[(who, name)]
    for field in (*PERSONAL_FIELDS, "reporter_name", "reporter_contact"):
        assert getattr(view.adult, field) is None, field
    assert views_of_personal_details(db_session, concern) == []


def test_shown_details_reach_the_page_and_each_showing_is_audited(partnership, concerns, db_session):
    concern = concerns["given"]

    view = present_concern(partnership.staff_a, concern)
    present_concern(partnership.council_lead, concern)

    assert view.adult.shown is True
    assert view.adult.withheld_because is None
    assert (view.adult.name, view.adult.date_of_birth, view.adult.nhs_number) == (
        "Jo Given",
        date(1941, 3, 2),
        "9434765919",
    )
    assert view.adult.sex is Sex.FEMALE
    assert view.adult.address == "1 Elm Row"
    seen = views_of_personal_details(db_session, concern)
    assert len(seen) == 2
    assert all(concern.reference in event.summary for event in seen)


def test_the_public_reporters_details_are_shown_with_the_adults_to_the_safeguarding_lead(partnership, concerns):
    view = present_concern(partnership.council_lead, concerns["public"])
    assert (view.adult.name, view.adult.reporter_name, view.adult.reporter_contact) == (
        "Jo Public",
        "Nel Neighbour",
        "07700 900123",
    )


def test_the_audit_event_for_seeing_personal_details_names_who_saw_them(partnership, concerns, db_session):
    present_concern(partnership.staff_a, concerns["given"])

    [event] = views_of_personal_details(db_session, concerns["given"])
    assert event.actor_id == partnership.staff_a.id
    assert event.agency_id == partnership.provider_a.id


# Comments -------------------------------------------------------------------------------------


@pytest.fixture
def comments(partnership, concerns, db_session):
    concern = concerns["given"]
    everyone = operations.add_comment(
        concern, body="Visit booked for Monday", local_authority_only=False, by=partnership.manager_a
    )
    council_only = operations.add_comment(
        concern, body="Previous s42 about this provider in 2024", local_authority_only=True, by=partnership.council_lead
    )
    db_session.commit()
    return everyone, council_only


@pytest.mark.parametrize(
    ("who", "sees_council_only"),
    [
        ("council_lead", True),
        ("council_commissioner", True),
        ("icb_commissioner", False),
        ("inspector", False),
        ("staff_a", False),
        ("manager_a", False),
    ],
)
def test_local_authority_only_comments_are_seen_by_local_authority_staff_only(
    who, sees_council_only, partnership, concerns, comments
):
    everyone, council_only = comments
    expected = [everyone, council_only] if sees_council_only else [everyone]
    assert policy.comments_visible_to(partnership.people[who], concerns["given"]) == expected


@pytest.mark.parametrize("who", ["icb_commissioner", "inspector", "staff_a", "manager_a"])
def test_only_local_authority_staff_can_write_a_local_authority_only_comment(who, partnership, concerns):
    concern = concerns["given"]
    with pytest.raises(
        ConcernError, match="Only local authority staff can write a comment for the local authority only"
    ) as refused:
        operations.add_comment(
            concern, body="Keep this between us", local_authority_only=True, by=partnership.people[who]
        )
    assert refused.value.field == "local_authority_only"
    assert concern.comments == []


def test_an_adult_who_cannot_decide_is_shared_on_a_recorded_best_interests_decision(
    partnership, concerns, personal_agreements, record_msp, db_session
):
    concern = concerns["given"]
    operations.record_consent(concern, consent=ConsentToShare.NOT_POSSIBLE, by=partnership.council_lead)
    db_session.commit()
    icb = partnership.people["icb_commissioner"]
    assert disclosure(icb, concern) == NO_CONSENT
    record_msp(
        concern, by=partnership.council_lead, mental_capacity=MentalCapacity.LACKED,
        best_interests_decision="Sharing with her GP and the ICB is in her best interests to keep her safe",
    )
    db_session.commit()
    assert disclosure(icb, concern) == SHOWN
