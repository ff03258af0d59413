"""The risk rules, one by one, as a pure function of hand-built items and a day.

The rules come from ``config/risk_rules.toml`` itself, and from changed copies of it, so each test
checks that the weight it names really is read from the file.
"""

from __future__ import annotations

import copy
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from portal.concerns.operations import AdultDetails, raise_concern, triage_concern
from portal.core.codes import RAG, AbuseType, KeyQuestion, TriageDecision
from portal.extensions import db
from portal.intelligence import operations as intel
from portal.intelligence.models import IntelligenceItem, RiskBand, RiskSignal, Severity, SourceType
from portal.intelligence.risk import ItemFacts, RiskRules, assess, band_for, item_points, likelihood_for, load_rules
from workers.tasks.intelligence import refresh_risk_signals

RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "risk_rules.toml"
TODAY = date(2026, 3, 2)
SAFE = KeyQuestion.SAFE.bit
WELL_LED = KeyQuestion.WELL_LED.bit
_ids = count(1)


@pytest.fixture(scope="module")
def mapping() -> dict:
    with RULES_FILE.open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def rules() -> RiskRules:
    return load_rules(str(RULES_FILE))


def changed(mapping: dict, **sections) -> RiskRules:
    """The rules with some values changed: ``changed(m, bands={"red_from": 10})``."""
    data = copy.deepcopy(mapping)
    for name, value in sections.items():
        if isinstance(value, dict):
            data[name].update(value)
        else:
            data[name] = value
    return RiskRules.from_mapping(data)


def item(source=SourceType.COMPLAINT, severity=Severity.MODERATE, days_ago=0, bits=SAFE, confidential=False) -> ItemFacts:
    return ItemFacts(
        id=next(_ids), occurred_on=TODAY - timedelta(days=days_ago), source=source, severity=severity,
        key_question_bits=bits, summary=f"{source.label} {days_ago} days ago", confidential=confidential,
    )


# Rule 1: points per item ----------------------------------------------------------------------


def test_the_rules_file_in_the_repository_loads_with_every_source_and_severity(rules):
    assert set(rules.source_weights) == set(SourceType)
    assert set(rules.severity_points) == set(Severity)
    assert rules.half_life_days == 90 and rules.horizon_days == 365


def test_an_item_scores_its_source_weight_times_its_severity_points(rules):
    today_item = item(SourceType.INSPECTION, Severity.HIGH)
    assert item_points(rules, today_item, TODAY) == pytest.approx(1.5 * 4)
    assert assess(rules, [today_item], TODAY).score == pytest.approx(6.0)


def test_the_source_weight_is_read_from_the_rules(mapping):
    heavier = changed(mapping, source_weights={"COMPLAINT": 3.0})
    assert item_points(heavier, item(SourceType.COMPLAINT, Severity.MODERATE), TODAY) == pytest.approx(3.0 * 2)


def test_the_severity_points_are_read_from_the_rules(mapping):
    serious = changed(mapping, severity_points={"SERIOUS": 20})
    assert item_points(serious, item(SourceType.INCIDENT, Severity.SERIOUS), TODAY) == pytest.approx(1.0 * 20)


def test_an_item_one_half_life_old_counts_half_and_two_half_lives_a_quarter(rules):
    fresh = item_points(rules, item(days_ago=0), TODAY)
    assert item_points(rules, item(days_ago=90), TODAY) == pytest.approx(fresh / 2)
    assert item_points(rules, item(days_ago=180), TODAY) == pytest.approx(fresh / 4)


def test_the_half_life_is_read_from_the_rules(mapping):
    quick = changed(mapping, half_life_days=30)
    assert item_points(quick, item(days_ago=30), TODAY) == pytest.approx(item_points(quick, item(), TODAY) / 2)


def test_an_item_past_the_horizon_scores_nothing(rules):
    assert item_points(rules, item(days_ago=365), TODAY) > 0
    assert item_points(rules, item(days_ago=366), TODAY) == 0
    assessment = assess(rules, [item(severity=Severity.SERIOUS, days_ago=366)], TODAY)
    assert assessment.score == 0 and assessment.reasons == [] and assessment.consequence == 1


def test_positive_items_count_nothing_and_are_not_reasons(rules):
    assessment = assess(rules, [item(SourceType.INSPECTION, Severity.POSITIVE)] * 5, TODAY)
    assert assessment.score == 0
    assert assessment.reasons == []
    assert (assessment.likelihood, assessment.consequence, assessment.band) == (1, 1, RiskBand.GREEN)


# Rules 2-4: score, likelihood, consequence ------------------------------------------------------


def test_the_score_is_the_sum_of_the_items_points_and_the_reasons_come_largest_first(rules):
    small, large = item(SourceType.FEEDBACK, Severity.LOW), item(SourceType.INSPECTION, Severity.SERIOUS)
    assessment = assess(rules, [small, large], TODAY)
    assert assessment.score == pytest.approx(0.6 * 1 + 1.5 * 8)
    assert [reason["item_id"] for reason in assessment.reasons] == [large.id, small.id]
    assert assessment.reasons[0]["source"] == "INSPECTION" and assessment.reasons[0]["points"] == 12.0


@pytest.mark.parametrize(
    ("score", "likelihood"),
    [(0, 1), (1.99, 1), (2.0, 2), (5.99, 2), (6.0, 3), (11.99, 3), (12.0, 4), (19.99, 4), (20.0, 5), (500, 5)],
)
def test_likelihood_rises_at_each_threshold(rules, score, likelihood):
    assert likelihood_for(rules, score) == likelihood


def test_likelihood_thresholds_are_read_from_the_rules(mapping):
    low = changed(mapping, likelihood={"thresholds": [1, 2, 3, 4]})
    assert likelihood_for(low, 2.5) == 3


def test_consequence_comes_from_the_worst_item_not_the_sum(rules):
    many_low = assess(rules, [item(severity=Severity.LOW) for _ in range(30)], TODAY)
    assert many_low.consequence == 2
    one_serious = assess(rules, [item(severity=Severity.LOW), item(severity=Severity.SERIOUS, days_ago=200)], TODAY)
    assert one_serious.consequence == 5


# Rule 6: bands --------------------------------------------------------------------------------


def test_band_boundaries_are_exactly_red_from_and_amber_from(rules):
    assert (rules.red_from, rules.amber_from) == (15, 8)
    assert band_for(rules, 3, 5) is RiskBand.RED  # 15
    assert band_for(rules, 2, 7) is RiskBand.AMBER  # 14: one below red_from
    assert band_for(rules, 2, 4) is RiskBand.AMBER  # 8
    assert band_for(rules, 7, 1) is RiskBand.GREEN  # 7: one below amber_from


def test_band_boundaries_are_read_from_the_rules(mapping):
    strict = changed(mapping, bands={"red_from": 6, "amber_from": 3})
    assert band_for(strict, 2, 3) is RiskBand.RED
    assert band_for(strict, 1, 3) is RiskBand.AMBER
    assert band_for(strict, 1, 2) is RiskBand.GREEN


def test_an_assessment_puts_likelihood_and_consequence_together(rules):
    # Two serious inspection items today: 24 points, likelihood 5; consequence 5; 25 is Red.
    assessment = assess(rules, [item(SourceType.INSPECTION, Severity.SERIOUS, bits=0) for _ in range(2)], TODAY)
    assert (assessment.likelihood, assessment.consequence, assessment.band) == (5, 5, RiskBand.RED)


# Rule 5: converging ---------------------------------------------------------------------------


def three_sources(days_ago=(10, 20, 30), severity=Severity.MODERATE, bits=(SAFE, SAFE, SAFE)):
    sources = (SourceType.COMPLAINT, SourceType.WHISTLEBLOWING, SourceType.CONTRACT_MONITORING)
    return [item(source, severity, age, question) for source, age, question in zip(sources, days_ago, bits, strict=True)]


def test_three_different_sources_on_one_question_within_90_days_converge(rules):
    assessment = assess(rules, three_sources(), TODAY)
    assert assessment.converging_bits == SAFE
    assert all(reason["converging"] for reason in assessment.reasons)


def test_two_sources_do_not_converge(rules):
    assert assess(rules, three_sources()[:2], TODAY).converging_bits == 0


def test_three_items_from_one_source_do_not_converge(rules):
    items = [item(SourceType.COMPLAINT, Severity.HIGH, days_ago=age) for age in (1, 2, 3)]
    assert assess(rules, items, TODAY).converging_bits == 0


def test_an_item_90_days_old_still_converges_but_91_days_old_does_not(rules):
    assert assess(rules, three_sources(days_ago=(10, 20, 90)), TODAY).converging_bits == SAFE
    late = assess(rules, three_sources(days_ago=(10, 20, 91)), TODAY)
    assert late.converging_bits == 0
    assert late.score > 0  # the old item still counts towards the score


def test_items_below_the_minimum_severity_do_not_converge(rules):
    items = three_sources()
    items[2] = item(SourceType.CONTRACT_MONITORING, Severity.LOW, 5, SAFE)
    assert assess(rules, items, TODAY).converging_bits == 0


def test_sources_converge_only_on_the_question_they_share(rules):
    items = three_sources(bits=(SAFE | WELL_LED, SAFE | WELL_LED, WELL_LED))
    assert assess(rules, items, TODAY).converging_bits == WELL_LED


def test_the_converging_window_and_sources_are_read_from_the_rules(mapping):
    wider = changed(mapping, converging={"window_days": 120, "min_sources": 2})
    assert assess(wider, three_sources(days_ago=(10, 100, 200))[:2], TODAY).converging_bits == SAFE


def test_converging_raises_the_likelihood_by_the_boost_but_never_above_5(rules, mapping):
    items = three_sources()
    plain = assess(changed(mapping, converging={"likelihood_boost": 0}), items, TODAY)
    boosted = assess(rules, items, TODAY)
    assert boosted.score == plain.score
    assert boosted.likelihood == plain.likelihood + 1
    busy = items + [item(SourceType.INSPECTION, Severity.SERIOUS) for _ in range(3)]
    assert assess(rules, busy, TODAY).likelihood == 5


# A bad rules file -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"source_weights": {"COMPLAINT": "heavy"}},
        {"likelihood": {"thresholds": [2, 6, 12]}},
        {"likelihood": {"thresholds": [20, 12, 6, 2]}},
        {"converging": {"min_severity": "TERRIBLE"}},
        {"half_life_days": 0},
        {"consequence": {"SERIOUS": 9}},
        {"bands": {"red_from": 5, "amber_from": 8}},
    ],
)
def test_rules_with_a_wrong_value_are_refused_with_a_clear_error(mapping, change):
    with pytest.raises(ValueError, match="The risk rules are incomplete or wrong"):
        changed(mapping, **change)


def test_rules_missing_a_source_are_refused(mapping):
    data = copy.deepcopy(mapping)
    del data["source_weights"]["WHISTLEBLOWING"]
    with pytest.raises(ValueError, match="WHISTLEBLOWING"):
        RiskRules.from_mapping(data)


def test_a_rules_file_that_is_not_toml_is_refused_naming_the_file(tmp_path):
    broken = tmp_path / "rules.toml"
    broken.write_text("half_life_days = = 90\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_rules(str(broken))


# Stored signals: kept current as items change, refreshed nightly for time decay --------------------

NOON_TODAY = datetime.combine(date.today(), time(12), tzinfo=UTC)


def stored_signal(service, *, includes_confidential=True) -> RiskSignal:
    return db.session.scalar(
        sa.select(RiskSignal).where(
            RiskSignal.service_id == service.id, RiskSignal.includes_confidential.is_(includes_confidential)
        )
    )


def converging_items(add_item):
    """Three sources on "safe" today; the whistleblower is confidential."""
    return [
        add_item(source=SourceType.COMPLAINT, severity=Severity.HIGH, days_ago=0),
        add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.HIGH, days_ago=0),
        add_item(source=SourceType.INCIDENT, severity=Severity.HIGH, days_ago=0),
    ]


def test_nightly_refresh_decays_the_stored_score_and_drops_converging_after_the_window(intel_world, add_item):
    with time_machine.travel(NOON_TODAY, tick=False) as traveller:
        converging_items(add_item)
        signal = stored_signal(intel_world.home)
        first_score = signal.score
        assert signal.converging_bits == SAFE and signal.computed_for == date.today()

        traveller.shift(timedelta(days=90))
        assert refresh_risk_signals.apply().get() >= 1
        assert signal.score == pytest.approx(first_score / 2, rel=1e-3)
        assert signal.converging_bits == SAFE  # 90 days old: still inside the window
        assert signal.computed_for == date.today()

        traveller.shift(timedelta(days=1))
        refresh_risk_signals.apply().get()
        assert signal.converging_bits == 0
        assert signal.score < first_score / 2
        assert not stored_signal(intel_world.home, includes_confidential=False).converging


def test_a_second_nightly_run_the_same_day_changes_nothing(intel_world, add_item):
    with time_machine.travel(NOON_TODAY, tick=False) as traveller:
        converging_items(add_item)
        traveller.shift(timedelta(days=10))
        assert intel.refresh_outdated_signals() >= 1
        signal = stored_signal(intel_world.home)
        score, computed_at = signal.score, signal.computed_at
        traveller.shift(timedelta(hours=3))
        assert intel.refresh_outdated_signals() == 0
        assert (signal.score, signal.computed_at) == (score, computed_at)


def test_the_nightly_refresh_gives_a_signal_to_a_service_that_had_none(intel_world):
    assert stored_signal(intel_world.elsewhere) is None
    intel.refresh_outdated_signals()
    signal = stored_signal(intel_world.elsewhere)
    assert (signal.score, signal.band, signal.reasons) == (0, RiskBand.GREEN, [])


def test_the_signal_follows_an_item_added_changed_and_removed_without_a_nightly_run(intel_world, add_item, acting):
    lead = acting(intel_world.users.lead)
    added = add_item(source=SourceType.COMPLAINT, severity=Severity.LOW, summary="Cold meals")
    signal = stored_signal(intel_world.home)
    low_score = signal.score
    assert [reason["item_id"] for reason in signal.reasons] == [added.id]

    intel.update_item(added, intel.ItemDetails(
        occurred_on=added.occurred_on, source=SourceType.COMPLAINT, key_questions={KeyQuestion.SAFE},
        severity=Severity.SERIOUS, summary="Cold meals and missed medication"), by=lead)
    db.session.commit()
    assert signal.score == pytest.approx(low_score * 8, rel=1e-3)
    assert signal.reasons[0]["summary"] == "Cold meals and missed medication"

    intel.delete_item(added, reason="Recorded against the wrong service", by=lead)
    db.session.commit()
    assert (signal.score, signal.reasons) == (0, [])


def test_a_confidential_item_changes_only_the_signal_that_includes_confidential_items(intel_world, add_item):
    add_item(source=SourceType.WHISTLEBLOWING, severity=Severity.SERIOUS, summary="Staff told to hide bruises")
    full = stored_signal(intel_world.home)
    without = stored_signal(intel_world.home, includes_confidential=False)
    assert full.score > 0 and full.band is not RiskBand.GREEN
    assert (without.score, without.band, without.reasons) == (0, RiskBand.GREEN, [])


def test_a_concern_about_a_service_appears_as_an_item_without_the_adult_and_follows_triage(intel_world, acting):
    staff, lead = acting(intel_world.users.staff), acting(intel_world.users.lead)
    concern = raise_concern(
        area=intel_world.area, raised_by=staff, service=intel_world.home,
        what_happened="Hermione Secretname was left without food", abuse_types={AbuseType.NEGLECT},
        immediate_risk=RAG.AMBER, adult=AdultDetails(name="Hermione Secretname"),
    )
    db.session.commit()
    item = db.session.scalar(sa.select(IntelligenceItem).where(IntelligenceItem.concern_id == concern.id))
    assert item.source is SourceType.SAFEGUARDING_CONCERN and item.service_id == intel_world.home.id
    assert item.severity is Severity.HIGH and not item.confidential
    assert concern.reference in item.summary
    signal = stored_signal(intel_world.home, includes_confidential=False)
    stored = repr(signal.reasons) + item.summary
    assert "Secretname" not in stored and "without food" not in stored
    assert signal.reasons[0]["item_id"] == item.id

    triage_concern(concern, decision=TriageDecision.NO_FURTHER_ACTION, reason="Already resolved", by=lead)
    db.session.commit()
    assert item.severity is Severity.LOW
    assert TriageDecision.NO_FURTHER_ACTION.label in item.summary
    assert signal.reasons[0]["severity"] == "LOW"
