"""A known set of concerns for the MSP and outcome report, written straight into the tables.

The report's period in these tests is 1 April 2026 to 31 October 2026 (dates in England). Its
start is in British Summer Time (London's midnight is 23:00 UTC the day before); its end is in
GMT, after the clocks went back on 25 October. Times below are UTC.

The adults (sex, primary support reason, date of birth):

====  =========  ============================  ===========  ==============================================
A1    Female     Physical Support              1 May 1961   65 on 1 May 2026: a birthday on a band's edge
A2    Male       Support with Memory and Cog.  2 May 1961   still 64 on 1 May 2026
A3    Female     Learning Disability Support   15 Jun 1950  76
A4    Male       Mental Health Support         1 Jan 1935   91
A5    Female     Sensory Support               1 Feb 1930   96
A6    (none)     (none)                        (none)       nothing known
A7    Not Known  Social Support                1 Jan 2010   16: "Age not known"
A8    Male       No Support Reason             1 Nov 1941   84 until 1 November 2026
A9    Female     Not Known                     1 Apr 1956   70
A10   Male       Physical Support              1 Apr 1961   64 on 31 March 2026, 65 on 1 April
A11   Female     Mental Health Support         1 Mar 1940   85 in December 2025
====  =========  ============================  ===========  ==============================================

The concerns (raised; triage decision and when; status and closed; then the closing fields):

- C1  A9, raised 31 Mar 23:00 (00:00 BST on 1 April: in), s42 2 Apr, closed 10 Jun. Physical and
  neglect; own home; known to the individual; risk identified and action taken; risk reduced;
  lacked capacity, advocate arranged; asked and outcomes expressed, fully achieved.
- C2  A1, raised 30 Apr 23:30 (00:30 BST on 1 May), s42 1 May, closed 1 Aug. Financial; care home
  (nursing); service provider; risk identified, no action; risk remained; lacked capacity, an
  appropriate person; expressed, partially achieved.
- C3  A2, raised 30 Apr 23:30, other enquiry 2 May, closed 1 Jul. Psychological, sexual and domestic;
  in the community; unknown to the individual; inconclusive and action taken; risk removed; lacked
  capacity, no appropriate person and no advocate; expressed, not achieved.
- C4  A3, raised 1 Jul, s42 2 Jul, closed 25 Oct 00:30 (01:30 BST, before the clocks went back).
  Organisational; care home (residential); service provider; inconclusive, no action; no risk
  outcome; did not lack capacity (an advocate all the same); expressed, achievement not recorded.
- C5  A4, raised 10 Jul, s42 11 Jul, closed 31 Oct 23:59:59 (GMT: the last second of the period).
  Discriminatory; hospital (acute); known; no risk, action taken; no risk outcome; don't know;
  asked but no outcomes expressed (an "achieved" answer recorded all the same, not counted).
- C6  A5, raised 1 Aug, other 2 Aug, closed 1 Sep. Sexual exploitation and modern slavery; hospital
  (mental health); source not recorded; no risk, no action; capacity "Not recorded"; not asked.
- C7  A6, raised 15 Aug, s42 16 Aug, closed 15 Sep. Self-neglect; hospital (community); known;
  ceased at the individual's request; capacity left empty; don't know.
- C8  no adult, raised 1 Sep, other 2 Sep, closed 20 Sep. No type recorded; other location;
  unknown; action not recorded; lacked capacity with an advocate and an appropriate person; MSP
  "Not Recorded".
- C9  A7, raised 10 Sep, s42 11 Sep, closed 1 Oct. Physical; location not recorded; service
  provider; risk identified and action taken; risk removed; did not lack capacity; MSP left empty.
- C10 A8, raised 31 Oct 23:30 (GMT: 31 October, in), s42 1 Nov 00:30 (out), in progress.
- C11 A10, raised 31 Mar 22:59:59 (23:59:59 BST on 31 March: out), s42 1 Apr 08:00 (in), in progress.
- C12 A11, raised 1 Dec 2025, other 2 Dec 2025, closed 31 Mar 23:00 (the period's first instant).
  Neglect and physical; community service; known; risk identified, action taken; risk reduced; did
  not lack capacity; expressed, fully achieved.
- C13 no adult, raised 1 Feb, s42 2 Feb, closed 31 Mar 22:59:59 (out).
- C14 A3, raised 1 Oct, s42 2 Oct, closed 1 Nov 00:00 (out).
- C15 A1, raised 1 May 12:00, quality concern 2 May, closed 1 Jun (not an enquiry).
- C16 A5, raised 1 Jun, s42 2 Jun, in progress again with its old closing time (reopened).
- C17 A4, raised 5 Jun, not triaged.
- C18 A6, raised 25 Oct 01:30 (01:30 GMT, after the clocks went back), no further action.
- C19 in another area: raised 1 Jun, s42, closed 1 Jul, every field set. Never counted here.
- C20 A8, raised 20 Oct, other enquiry 21 Oct, in progress.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from portal.concerns.models import Adult, Concern, ConcernAbuseType
from portal.core.codes import (
    AbuseType,
    ActionResult,
    AgencyKind,
    ConcernStatus,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    PrimarySupportReason,
    RaisedVia,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Role,
    Sex,
    TriageDecision,
)

S42, OTHER = TriageDecision.S42_ENQUIRY, TriageDecision.OTHER_ENQUIRY
CLOSED, IN_PROGRESS = ConcernStatus.CLOSED, ConcernStatus.IN_PROGRESS
#: The period as the report's form takes it.
PERIOD = {"start": ["1", "4", "2026"], "end": ["31", "10", "2026"]}


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class ReportWorld:
    area: object
    other_area: object
    users: dict
    adults: dict


@pytest.fixture
def report_world(make_area, make_agency, make_user):
    """An area with a council, the police, a Board and a provider, a person in each role, and another area."""
    area = make_area("Reportshire")
    council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=area, name="Reportshire Council")
    police = make_agency(AgencyKind.POLICE, area=area, name="Reportshire Police")
    board = make_agency(AgencyKind.SAB, area=area, name="Reportshire Safeguarding Adults Board")
    provider = make_agency(AgencyKind.CARE_PROVIDER, area=area, name="Report Care Ltd")
    icb = make_agency(AgencyKind.NHS_ICB, area=area, name="Reportshire ICB")
    regulator = make_agency(AgencyKind.REGULATOR, area=area, name="Report Regulator")
    other_area = make_area("Otherborough")
    other_council = make_agency(AgencyKind.LOCAL_AUTHORITY, area=other_area, name="Otherborough Council")
    users = {
        "lead": make_user(Role.SAFEGUARDING_LEAD, agency=council, name="Lee Lead"),
        "board_member": make_user(Role.SAB_MEMBER, agency=police, name="Bo Member"),
        "chair": make_user(Role.SAB_CHAIR, agency=board, name="Cha Chair"),
        "police_lead": make_user(Role.SAFEGUARDING_LEAD, agency=police, name="Pol Lead"),
        "administrator": make_user(Role.ADMINISTRATOR, agency=council, name="Ad Min"),
        "commissioner": make_user(Role.COMMISSIONER, agency=icb, name="Com Missioner"),
        "provider_staff": make_user(Role.PROVIDER_STAFF, agency=provider, name="Pro Staff"),
        "provider_manager": make_user(Role.PROVIDER_MANAGER, agency=provider, name="Pro Manager"),
        "inspector": make_user(Role.INSPECTOR, agency=regulator, name="Ins Pector"),
        "other_lead": make_user(Role.SAFEGUARDING_LEAD, agency=other_council, name="Oth Lead"),
    }
    return ReportWorld(area=area, other_area=other_area, users=users, adults={})


_numbers = itertools.count(1)


def add_adult(session, area, name, sex=None, psr=None, born=None, nhs_number=None) -> Adult:
    adult = Adult(area_id=area.id, name=name, sex=sex, primary_support_reason=psr, date_of_birth=born,
                  nhs_number=nhs_number, address="1 Secret Lane", postcode="RS1 1AA")
    session.add(adult)
    session.flush()
    return adult


def add_concern(session, area, raised_at, adult=None, types=(), status=ConcernStatus.SUBMITTED, **fields) -> Concern:
    """A concern written directly with the fields given (no operation: the report reads the columns)."""
    concern = Concern(
        reference=f"R-{next(_numbers):08d}", area_id=area.id, status=status, raised_via=RaisedVia.PARTNER,
        raised_at=raised_at, what_happened="What happened, in the raiser's words.", adult_id=adult.id if adult else None,
        **fields,
    )
    concern.type_links = [ConcernAbuseType(abuse_type=t) for t in types]
    session.add(concern)
    session.flush()
    return concern


#: The adults' names and NHS numbers, which must never appear in the report.
ADULTS = {
    "A1": ("Amelia Firstadult", Sex.FEMALE, PrimarySupportReason.PHYSICAL, date(1961, 5, 1), "9434765919"),
    "A2": ("Bertram Secondadult", Sex.MALE, PrimarySupportReason.MEMORY_COGNITION, date(1961, 5, 2), "9434765870"),
    "A3": ("Cora Thirdadult", Sex.FEMALE, PrimarySupportReason.LEARNING_DISABILITY, date(1950, 6, 15), "9434765838"),
    "A4": ("Desmond Fourthadult", Sex.MALE, PrimarySupportReason.MENTAL_HEALTH, date(1935, 1, 1), "9434765811"),
    "A5": ("Edith Fifthadult", Sex.FEMALE, PrimarySupportReason.SENSORY, date(1930, 2, 1), None),
    "A6": ("Fenella Sixthadult", None, None, None, None),
    "A7": ("Gideon Seventhadult", Sex.NOT_KNOWN, PrimarySupportReason.SOCIAL, date(2010, 1, 1), None),
    "A8": ("Horace Eighthadult", Sex.MALE, PrimarySupportReason.NONE, date(1941, 11, 1), None),
    "A9": ("Imelda Ninthadult", Sex.FEMALE, PrimarySupportReason.NOT_KNOWN, date(1956, 4, 1), None),
    "A10": ("Jasper Tenthadult", Sex.MALE, PrimarySupportReason.PHYSICAL, date(1961, 4, 1), None),
    "A11": ("Kitty Eleventhadult", Sex.FEMALE, PrimarySupportReason.MENTAL_HEALTH, date(1940, 3, 1), None),
}


@pytest.fixture
def known_concerns(db_session, report_world):
    """The concerns C1 to C20 of the module docstring."""
    area, s = report_world.area, db_session
    a = {key: add_adult(s, area, name, sex, psr, born, nhs) for key, (name, sex, psr, born, nhs) in ADULTS.items()}
    report_world.adults = a
    L, Src, Act, Out, Cap, Ask, Ach, T = (RiskLocation, RiskSource, ActionResult, RiskOutcome, MentalCapacity, MspAsked,
                                          OutcomesAchieved, AbuseType)

    add_concern(s, area, utc(2026, 3, 31, 23, 0), a["A9"], (T.PHYSICAL, T.NEGLECT), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 4, 2, 10), closed_at=utc(2026, 6, 10, 10),
                risk_location=L.OWN_HOME, risk_source=Src.KNOWN, action_result=Act.RISK_ACTION,
                risk_outcome=Out.REDUCED, mental_capacity=Cap.LACKED, advocate_name="Alex Advocate",
                msp_asked=Ask.ASKED_EXPRESSED, outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 4, 30, 23, 30), a["A1"], (T.FINANCIAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 5, 1, 9), closed_at=utc(2026, 8, 1, 10),
                risk_location=L.CARE_HOME_NURSING, risk_source=Src.SERVICE_PROVIDER, action_result=Act.RISK_NO_ACTION,
                risk_outcome=Out.REMAINED, mental_capacity=Cap.LACKED, appropriate_person=True,
                msp_asked=Ask.ASKED_EXPRESSED, outcomes_achieved=Ach.PARTIALLY)
    add_concern(s, area, utc(2026, 4, 30, 23, 30), a["A2"], (T.PSYCHOLOGICAL, T.SEXUAL, T.DOMESTIC), CLOSED,
                triage_decision=OTHER, triaged_at=utc(2026, 5, 2, 9), closed_at=utc(2026, 7, 1, 10),
                risk_location=L.COMMUNITY, risk_source=Src.UNKNOWN, action_result=Act.INCONCLUSIVE_ACTION,
                risk_outcome=Out.REMOVED, mental_capacity=Cap.LACKED, appropriate_person=False,
                msp_asked=Ask.ASKED_EXPRESSED, outcomes_achieved=Ach.NOT)
    add_concern(s, area, utc(2026, 7, 1, 12), a["A3"], (T.ORGANISATIONAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 7, 2, 9), closed_at=utc(2026, 10, 25, 0, 30),
                risk_location=L.CARE_HOME_RESIDENTIAL, risk_source=Src.SERVICE_PROVIDER,
                action_result=Act.INCONCLUSIVE_NO_ACTION, mental_capacity=Cap.NOT_LACKED, advocate_name="Alex Advocate",
                msp_asked=Ask.ASKED_EXPRESSED)
    add_concern(s, area, utc(2026, 7, 10, 12), a["A4"], (T.DISCRIMINATORY,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 7, 11, 9), closed_at=utc(2026, 10, 31, 23, 59, 59),
                risk_location=L.HOSPITAL_ACUTE, risk_source=Src.KNOWN, action_result=Act.NO_RISK_ACTION,
                mental_capacity=Cap.DONT_KNOW, msp_asked=Ask.ASKED_NOT_EXPRESSED, outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 8, 1, 12), a["A5"], (T.SEXUAL_EXPLOITATION, T.MODERN_SLAVERY), CLOSED,
                triage_decision=OTHER, triaged_at=utc(2026, 8, 2, 9), closed_at=utc(2026, 9, 1, 10),
                risk_location=L.HOSPITAL_MENTAL_HEALTH, action_result=Act.NO_RISK_NO_ACTION,
                mental_capacity=Cap.NOT_RECORDED, msp_asked=Ask.NO)
    add_concern(s, area, utc(2026, 8, 15, 12), a["A6"], (T.SELF_NEGLECT,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 8, 16, 9), closed_at=utc(2026, 9, 15, 10),
                risk_location=L.HOSPITAL_COMMUNITY, risk_source=Src.KNOWN, action_result=Act.CEASED,
                msp_asked=Ask.DONT_KNOW)
    add_concern(s, area, utc(2026, 9, 1, 12), None, (), CLOSED,
                triage_decision=OTHER, triaged_at=utc(2026, 9, 2, 9), closed_at=utc(2026, 9, 20, 10),
                risk_location=L.OTHER, risk_source=Src.UNKNOWN, mental_capacity=Cap.LACKED,
                advocate_name="Alex Advocate", appropriate_person=True, msp_asked=Ask.NOT_RECORDED)
    add_concern(s, area, utc(2026, 9, 10, 12), a["A7"], (T.PHYSICAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 9, 11, 9), closed_at=utc(2026, 10, 1, 10),
                risk_source=Src.SERVICE_PROVIDER, action_result=Act.RISK_ACTION, risk_outcome=Out.REMOVED,
                mental_capacity=Cap.NOT_LACKED)
    add_concern(s, area, utc(2026, 10, 31, 23, 30), a["A8"], (T.NEGLECT,), IN_PROGRESS,
                triage_decision=S42, triaged_at=utc(2026, 11, 1, 0, 30))
    add_concern(s, area, utc(2026, 3, 31, 22, 59, 59), a["A10"], (T.PHYSICAL,), IN_PROGRESS,
                triage_decision=S42, triaged_at=utc(2026, 4, 1, 8))
    add_concern(s, area, utc(2025, 12, 1, 12), a["A11"], (T.NEGLECT, T.PHYSICAL), CLOSED,
                triage_decision=OTHER, triaged_at=utc(2025, 12, 2, 9), closed_at=utc(2026, 3, 31, 23, 0),
                risk_location=L.COMMUNITY_SERVICE, risk_source=Src.KNOWN, action_result=Act.RISK_ACTION,
                risk_outcome=Out.REDUCED, mental_capacity=Cap.NOT_LACKED, msp_asked=Ask.ASKED_EXPRESSED,
                outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 2, 1, 12), None, (T.PHYSICAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 2, 2, 9), closed_at=utc(2026, 3, 31, 22, 59, 59),
                risk_location=L.OWN_HOME, risk_source=Src.KNOWN, action_result=Act.RISK_ACTION,
                risk_outcome=Out.REDUCED, mental_capacity=Cap.NOT_LACKED, msp_asked=Ask.ASKED_EXPRESSED,
                outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 10, 1, 12), a["A3"], (T.PHYSICAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 10, 2, 9), closed_at=utc(2026, 11, 1, 0, 0),
                risk_location=L.OWN_HOME, risk_source=Src.KNOWN, action_result=Act.RISK_ACTION,
                risk_outcome=Out.REDUCED, mental_capacity=Cap.NOT_LACKED, msp_asked=Ask.ASKED_EXPRESSED,
                outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 5, 1, 12), a["A1"], (T.PHYSICAL,), CLOSED,
                triage_decision=TriageDecision.QUALITY_CONCERN, triaged_at=utc(2026, 5, 2, 9),
                closed_at=utc(2026, 6, 1, 10), risk_location=L.OWN_HOME, action_result=Act.RISK_ACTION)
    add_concern(s, area, utc(2026, 6, 1, 12), a["A5"], (T.PHYSICAL,), IN_PROGRESS,
                triage_decision=S42, triaged_at=utc(2026, 6, 2, 9), closed_at=utc(2026, 7, 1, 10),
                risk_location=L.OWN_HOME, action_result=Act.RISK_ACTION, msp_asked=Ask.ASKED_EXPRESSED)
    add_concern(s, area, utc(2026, 6, 5, 12), a["A4"], (T.PHYSICAL,))
    add_concern(s, area, utc(2026, 10, 25, 1, 30), a["A6"], (T.PHYSICAL,), ConcernStatus.TRIAGED,
                triage_decision=TriageDecision.NO_FURTHER_ACTION, triaged_at=utc(2026, 10, 26, 9),
                triage_reason="Not a safeguarding matter")
    elsewhere = add_adult(s, report_world.other_area, "Otto Otherarea", Sex.MALE, PrimarySupportReason.PHYSICAL,
                          date(1950, 1, 1))
    add_concern(s, report_world.other_area, utc(2026, 6, 1, 12), elsewhere, (T.PHYSICAL,), CLOSED,
                triage_decision=S42, triaged_at=utc(2026, 6, 2, 9), closed_at=utc(2026, 7, 1, 10),
                risk_location=L.OWN_HOME, risk_source=Src.KNOWN, action_result=Act.RISK_ACTION,
                risk_outcome=Out.REDUCED, mental_capacity=Cap.NOT_LACKED, msp_asked=Ask.ASKED_EXPRESSED,
                outcomes_achieved=Ach.FULLY)
    add_concern(s, area, utc(2026, 10, 20, 12), a["A8"], (T.NEGLECT,), IN_PROGRESS,
                triage_decision=OTHER, triaged_at=utc(2026, 10, 21, 9))
    s.commit()
    return report_world


@pytest.fixture
def six_more_enquiries(db_session, known_concerns):
    """Six more concluded s42 enquiries (no adult), all alike, so that some cells pass 5 for the publication rules."""
    for day in range(6):
        add_concern(db_session, known_concerns.area, utc(2026, 6, 15 + day, 12), None, (AbuseType.PHYSICAL,), CLOSED,
                    triage_decision=S42, triaged_at=utc(2026, 6, 16 + day, 9), closed_at=utc(2026, 6, 20 + day, 10),
                    risk_location=RiskLocation.OWN_HOME, risk_source=RiskSource.KNOWN,
                    action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED,
                    mental_capacity=MentalCapacity.NOT_LACKED, msp_asked=MspAsked.ASKED_EXPRESSED,
                    outcomes_achieved=OutcomesAchieved.FULLY)
    db_session.commit()
    return known_concerns
