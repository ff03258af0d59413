"""An escalation about a service is an intelligence item in its risk signal: it counts, it can make
the signal converge with other sources, it follows the escalation's stage and state, and it is
seen only by those who may see it (confidential when the provider is not a party)."""

from __future__ import annotations

import sqlalchemy as sa

from portal import policy
from portal.core.codes import KeyQuestion
from portal.core.db import utcnow
from portal.escalations import operations as ops
from portal.escalations.models import EscalationSubject
from portal.extensions import db
from portal.intelligence.models import IntelligenceItem, Severity, SourceType
from portal.intelligence.presenters import signal_for
from tests.escalations.conftest import as_acting

SOURCE = "Escalation between agencies"


def item_of(escalation) -> IntelligenceItem:
    return db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.escalation_id == escalation.id))


def visible_item_ids(user, service) -> set[int]:
    return set(db.session.scalars(
        policy.intelligence_items_visible_to(as_acting(user)).where(IntelligenceItem.service_id == service.id)
        .with_only_columns(IntelligenceItem.id)
    ))


def test_an_escalation_about_a_service_is_an_item_in_its_risk_signal(raise_about, intel_world, adult_concern):
    users = intel_world.users
    before = signal_for(as_acting(users.council_commissioner), intel_world.home.id).signal
    score_before = before.score if before else 0.0  # the concern's item alone
    escalation = raise_about(now=utcnow(), service=intel_world.home, concern=adult_concern,
                             disagreement="Night checks are being skipped.", key_questions=(KeyQuestion.SAFE,))

    item = item_of(escalation)
    assert (item.source, item.service_id, item.severity, item.confidential) == (
        SourceType.ESCALATION, intel_world.home.id, Severity.MODERATE, False)
    assert item.key_question_bits == KeyQuestion.SAFE.bit
    assert item.summary == (f"Escalation {escalation.reference} from Intelshire Council to Sunrise Care: stage 1, open")
    # Never the adult, nor what was said in the disagreement.
    assert "Jo Example" not in item.summary and "Night checks" not in item.summary

    after = signal_for(as_acting(users.council_commissioner), intel_world.home.id)
    assert after.signal.score == score_before + 2.0  # weight 1.0 × moderate's 2 points, today
    [reason] = [reason for reason in after.reasons if reason.source == SOURCE]
    assert reason.summary == item.summary and reason.severity == Severity.MODERATE.label


def test_the_item_follows_the_escalations_stage_and_state(raise_about, intel_world):
    users = intel_world.users
    escalation = raise_about(now=utcnow())
    manager = as_acting(users.manager)
    ops.acknowledge(escalation, by=manager)
    db.session.commit()
    assert item_of(escalation).summary.endswith("stage 1, acknowledged")
    ops.respond(escalation, "We have changed the rota.", by=manager)
    ops.escalate(escalation, "The rota change is not enough.", by=as_acting(users.council_commissioner))
    ops.acknowledge(escalation, by=manager)
    ops.respond(escalation, "Here is the new rota.", by=manager)
    ops.escalate(escalation, "Still not enough.", by=as_acting(users.council_commissioner))
    db.session.commit()
    item = item_of(escalation)
    # Reaching the senior managers' stage is a more serious disagreement.
    assert (item.summary.endswith("stage 3, open"), item.severity) == (True, Severity.HIGH)
    assert db.session.scalar(sa.select(sa.func.count(IntelligenceItem.id)).where(
        IntelligenceItem.escalation_id == escalation.id)) == 1


def test_an_escalation_can_make_the_signal_converge_with_two_other_sources(raise_about, intel_world, add_item):
    commissioner = as_acting(intel_world.users.council_commissioner)
    add_item(intel_world.home, source=SourceType.COMPLAINT, severity=Severity.MODERATE, questions=(KeyQuestion.SAFE,))
    add_item(intel_world.home, source=SourceType.INCIDENT, severity=Severity.MODERATE, questions=(KeyQuestion.SAFE,))
    two_sources = signal_for(commissioner, intel_world.home.id)
    assert two_sources.converging_questions == []
    likelihood_before = two_sources.signal.likelihood

    raise_about(now=utcnow(), key_questions=(KeyQuestion.SAFE,))

    converging = signal_for(commissioner, intel_world.home.id)
    assert converging.converging_questions == [KeyQuestion.SAFE]
    assert converging.signal.likelihood > likelihood_before
    [reason] = [reason for reason in converging.reasons if reason.source == SOURCE]
    assert reason.converging


def test_a_withdrawn_escalation_lowers_the_signal(raise_about, intel_world):
    commissioner = as_acting(intel_world.users.council_commissioner)
    escalation = raise_about(now=utcnow(), harm_imminent=True)
    assert item_of(escalation).severity is Severity.SERIOUS
    open_score = signal_for(commissioner, intel_world.home.id).signal.score

    ops.withdraw(escalation, "Raised with the wrong service.", by=commissioner)
    db.session.commit()

    item = item_of(escalation)
    assert (item.severity, item.summary.endswith("stage 1, withdrawn")) == (Severity.LOW, True)
    assert signal_for(commissioner, intel_world.home.id).signal.score < open_score


def test_a_provider_sees_the_item_only_when_it_is_a_party(raise_about, intel_world):
    users = intel_world.users
    # The council takes Sunrise House's quality up with the ICB: Sunrise is not a party.
    behind_its_back = raise_about(now=utcnow(), by=users.lead, to=intel_world.icb)
    # ... and with Sunrise itself.
    with_it = raise_about(now=utcnow(), to=intel_world.sunrise)
    hidden, shared = item_of(behind_its_back), item_of(with_it)
    assert (hidden.confidential, shared.confidential) == (True, False)

    assert visible_item_ids(users.manager, intel_world.home) == {shared.id}
    assert {hidden.id, shared.id} <= visible_item_ids(users.council_commissioner, intel_world.home)
    # The provider's signal leaves out what it may not see; the council's includes both.
    provider_reasons = [reason.summary for reason in signal_for(as_acting(users.manager), intel_world.home.id).reasons]
    council_reasons = [reason.summary for reason in signal_for(as_acting(users.council_commissioner), intel_world.home.id).reasons]
    assert provider_reasons == [shared.summary]
    assert set(council_reasons) == {shared.summary, hidden.summary}


def test_the_service_page_shows_the_item_to_a_party_and_hides_it_from_others(raise_about, intel_world, client, act_as):
    users = intel_world.users
    behind_its_back = raise_about(now=utcnow(), by=users.lead, to=intel_world.icb)
    with_it = raise_about(now=utcnow(), to=intel_world.sunrise)

    act_as(users.manager)
    page = client.get(f"/services/{intel_world.home.id}")
    assert page.status_code == 200
    assert SOURCE in page.text and with_it.reference in page.text
    assert behind_its_back.reference not in page.text

    act_as(users.council_commissioner)
    page = client.get(f"/services/{intel_world.home.id}")
    assert with_it.reference in page.text and behind_its_back.reference in page.text


def test_how_the_risk_signal_works_lists_escalations_with_their_weight(intel_world, client, act_as):
    act_as(intel_world.users.council_commissioner)
    page = client.get("/intelligence/risk-rules")
    assert page.status_code == 200
    assert f'<th scope="row" class="govuk-table__header">{SOURCE}</th>' in page.text


def test_an_escalation_about_a_provider_as_a_whole_or_a_concern_is_no_service_item(raise_about, intel_world, adult_concern):
    provider_wide = raise_about(now=utcnow(), subject=EscalationSubject.PROVIDER, provider=intel_world.sunrise)
    about_concern = raise_about(now=utcnow(), by=intel_world.users.manager, subject=EscalationSubject.CONCERN,
                                concern=adult_concern, to=intel_world.council)
    assert item_of(provider_wide) is None and item_of(about_concern) is None
