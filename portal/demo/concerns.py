"""Demo concerns for Northshire: sixty-odd concerns over the whole lifecycle, and Jo's story.

Every change goes through :mod:`portal.concerns.operations`, so the demo concerns obey the same
rules, leave the same timeline and audit trail, and record the same notification intents as real
ones. Operations stamp everything with the current time; so that figures have a history, the
seed then moves each concern's own dates (raised, triaged, closed, timeline entries, comments,
desired outcomes, overrides and notifications) back to when the story says they happened. The
audit trail is never touched: it records, truthfully, when the demo was loaded.

Everything here is fictional: the people, their stories and their NHS numbers (which use the
``999`` range kept for testing and pass the modulus 11 check).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal.agencies.models import Agency, Area, Service
from portal.agreements.sharing import london_today
from portal.concerns import operations as ops
from portal.concerns.models import Concern
from portal.concerns.operations import AdultDetails
from portal.core.codes import (
    RAG,
    AbuseType,
    ActionResult,
    ConcernStatus,
    ConsentToShare,
    MentalCapacity,
    MspAsked,
    OutcomesAchieved,
    OverrideReason,
    PrimarySupportReason,
    RiskLocation,
    RiskOutcome,
    RiskSource,
    Role,
    Sex,
    TriageDecision,
)
from portal.core.db import utcnow
from portal.core.workdays import is_working_day
from portal.extensions import db
from portal.notifications.models import EmailDelivery, Notification, NotificationIntent
from portal.people.models import User

SEED = 2026

LEAD = "lead@council.northshire.example"
STAFF = "staff@riverside.northshire.example"
MANAGER = "manager@riverside.northshire.example"
ICB = "commissioner@icb.northshire.example"
INSPECTOR = "inspector@regulator.northshire.example"
PUBLIC = None

#: The role each raiser acts in (the ICB's commissioner also sits on the Board).
ACTING_ROLE = {
    LEAD: Role.SAFEGUARDING_LEAD,
    STAFF: Role.PROVIDER_STAFF,
    MANAGER: Role.PROVIDER_MANAGER,
    ICB: Role.COMMISSIONER,
    INSPECTOR: Role.INSPECTOR,
}

ADVOCACY_HUB = "Northshire Advocacy Hub"
JO_NAME = "Jo Marchbank"
JO_NEIGHBOUR = "Maureen Tilsley"

S, T, P, C = ConcernStatus.SUBMITTED, ConcernStatus.TRIAGED, ConcernStatus.IN_PROGRESS, ConcernStatus.CLOSED
A = AbuseType
L = RiskLocation
SRC = RiskSource
D = TriageDecision
AR = ActionResult
RO = RiskOutcome
OA = OutcomesAchieved
PSR = PrimarySupportReason
MC = MentalCapacity

#: SAC age bands, as (youngest, oldest) ages; the 95+ band is capped for the demo.
AGE_BANDS = [(18, 64), (65, 74), (75, 84), (85, 94), (95, 101)]


# What a concern's story is --------------------------------------------------------------------


@dataclass
class Msp:
    asked: MspAsked
    views: str | None = None
    contact: str | None = None
    place: str | None = None
    attend: bool | None = None
    capacity: MentalCapacity | None = MC.NOT_LACKED
    difficulty: bool | None = False
    appropriate: bool | None = None
    best_interests: str | None = None
    wishes: str | None = None


@dataclass
class Person:
    name: str
    sex: Sex | None
    #: Index into AGE_BANDS, or None when the date of birth is not known.
    band: int | None
    support: PrimarySupportReason | None
    address: str | None = None
    postcode: str | None = None
    communication: str | None = None
    language: str | None = None
    nhs: bool = True


@dataclass
class Closure:
    action: ActionResult
    risk: RiskOutcome
    achieved: OutcomesAchieved | None = None
    feedback: str | None = None


@dataclass
class Override:
    by: str
    reason: OverrideReason
    explanation: str
    told: bool
    not_told: str | None = None


@dataclass
class Story:
    key: str
    status: ConcernStatus
    by: str | None
    service: str | None
    types: tuple[AbuseType, ...]
    location: RiskLocation
    source: RiskSource
    what: str
    #: How long ago it was raised: calendar days, or working days for submitted concerns.
    ago: int
    rag: RAG | None = None
    action: str | None = None
    adult: Person | None = None
    consent: ConsentToShare | None = None
    reporter: tuple[str | None, str | None, str | None] | None = None
    decision: TriageDecision | None = None
    reason: str | None = None
    msp: Msp | None = None
    #: Record the MSP conversation before work starts (always so when an advocate is needed).
    msp_first: bool = False
    consent_later: ConsentToShare | None = None
    outcomes: tuple[str, ...] = ()
    advocate: str | None = None
    override: Override | None = None
    #: (author, body, local authority only)
    comments: tuple[tuple[str, str, bool], ...] = ()
    closure: Closure | None = None
    #: Reopened with this reason (and, if ``reclosure`` is given, closed again).
    reopen: str | None = None
    reclosure: Closure | None = None
    #: Link to the adult of an earlier story, by key.
    link_to: str | None = None
    #: How many days the concern ran before it was closed (or reached where it is).
    duration: int | None = None


def ask(views: str, contact: str | None = None, place: str | None = None, attend: bool | None = True, **more) -> Msp:
    return Msp(MspAsked.ASKED_EXPRESSED, views=views, contact=contact, place=place, attend=attend, **more)


# The stories ----------------------------------------------------------------------------------
# Closed: every type of abuse, every SAC action and result, every risk outcome and every
# "outcomes achieved" answer appears at least once among these.

CLOSED = [
    Story(
        "harold-bruising", C, STAFF, "Riverside House", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "During personal care this morning I found fresh bruising on both of Harold's forearms, the shape of fingertips. "
        "He said a carer on the night shift 'grabbed me when I wouldn't stand up'.",
        ago=357, duration=48, rag=RAG.AMBER,
        action="Body map completed, GP informed, night carer moved to day shifts with a buddy pending enquiry.",
        adult=Person("Harold Penwarden", Sex.MALE, 3, PSR.PHYSICAL, "Room 14, Riverside House, 12 Mill Lane, Eastbrook", "NS1 4AB"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("He wants the carer kept away from him and to be moved with the hoist by two people who know him.",
                "His key worker, Priya", "His room at Riverside House", True),
        outcomes=("I want to feel safe when they move me.", "I don't want that carer looking after me again."),
        comments=((MANAGER, "The carer has been suspended and referred to the DBS. We have retrained the night team in moving and handling.", False),
                  (LEAD, "Thank you. Police advised no criminal investigation; the enquiry will conclude on the home's own investigation and the retraining.", False)),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY, "Everyone told me what was going on. I feel safe now."),
    ),
    Story(
        "edna-pressure", C, MANAGER, "Willow Court", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "A grade 3 pressure ulcer on Edna's sacrum was found on admission to hospital. It had not been reported or "
        "recorded in her care plan; repositioning charts have gaps of up to nine hours.",
        ago=300, duration=61, rag=RAG.AMBER, action="Tissue viability nurse referral; two-hourly repositioning reinstated and checked each shift.",
        adult=Person("Edna Gorringe", Sex.FEMALE, 4, PSR.PHYSICAL, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP",
                     communication="Very hard of hearing: face her and speak slowly; she lip-reads."),
        consent=ConsentToShare.NOT_POSSIBLE, decision=D.S42_ENQUIRY, msp_first=True,
        msp=Msp(MspAsked.ASKED_EXPRESSED, views="Her daughter Carol spoke for her: Edna always said she wanted to stay at Willow Court, near the garden.",
                contact="Her daughter, Carol", place="Willow Court, with Carol present", attend=False, capacity=MC.LACKED,
                difficulty=True, appropriate=True,
                best_interests="Edna stays at Willow Court with a tissue viability plan overseen by the district nursing team; agreed with Carol at a best-interests meeting.",
                wishes="Edna has always said she never wanted to go back into hospital and loves sitting in the garden."),
        outcomes=("Carol: I want Mum's skin to heal and for her to stay where she is happy.",),
        comments=((ICB, "The ICB quality team will add pressure care to the next contract monitoring visit at Willow Court.", False),),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.FULLY, "Carol: I was kept up to date every week and Mum is healing."),
    ),
    Story(
        "walter-callbells", C, ICB, "Oakfield Manor", (A.ORGANISATIONAL, A.NEGLECT), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "On an unannounced quality visit, call bells on the first floor went unanswered for over 25 minutes at night. "
        "Walter, who has dementia, had been calling out and was found on the floor beside his bed. Several shifts are "
        "covered mostly by agency nurses.",
        ago=280, duration=74, rag=RAG.AMBER, action="Home manager asked for a safe staffing plan by the end of the day.",
        adult=Person("Walter Ainsley", Sex.MALE, 2, PSR.MEMORY_COGNITION, "Oakfield Manor, Oak Avenue, Westmere", "NS5 7HJ"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Walter said he gets frightened at night when nobody comes. He likes the nurse with the Welsh accent.",
                "His son, Gareth, and the day nurse he knows", "At Oakfield Manor", False, capacity=MC.DONT_KNOW, difficulty=True, appropriate=True),
        outcomes=("Somebody to come when I ring the bell.",),
        comments=((INSPECTOR, "The regulator has this service on its watch list and will take the outcome of the enquiry into account.", False),),
        closure=Closure(AR.INCONCLUSIVE_ACTION, RO.REDUCED, OA.PARTIALLY, "Gareth: things are better at night but there are still a lot of agency staff."),
    ),
    Story(
        "irene-shouting", C, INSPECTOR, "Harbour View", (A.PSYCHOLOGICAL,), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
        "During an inspection I heard a senior carer shout at Irene, who is registered blind, calling her 'useless' and "
        "'a nuisance' when she asked for help to find the toilet.",
        ago=262, duration=41, rag=RAG.AMBER, action="Raised with the registered manager at the inspection; the carer was sent home.",
        adult=Person("Irene Baxendale", Sex.FEMALE, 3, PSR.SENSORY, "Harbour View, The Esplanade, Saltby", "NS9 1EZ",
                     communication="Registered blind: prefers letters in large print or read aloud."),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Irene said it has happened before and she did not want to complain in case it got worse.", "Her niece, Ruth", "In her room", True),
        outcomes=("I want to be spoken to kindly.", "I want to be able to ring for help without being told off."),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY, "I was nervous at first but I was believed. The new staff are lovely."),
    ),
    Story(
        "leanne-domestic", C, LEAD, None, (A.DOMESTIC, A.PSYCHOLOGICAL), L.OWN_HOME, SRC.KNOWN,
        "Referral from Northshire Police after a domestic incident: Leanne's partner controls her money and medication "
        "and stops her seeing her community mental health nurse. A risk assessment scored high risk.",
        ago=250, duration=66, rag=RAG.RED, action="Referred to the multi-agency risk assessment conference; safety plan agreed with Leanne by phone.",
        adult=Person("Leanne Corrigan", Sex.FEMALE, 0, PSR.MENTAL_HEALTH, "Flat 3, 27 Canal Street, Lowfield", "NS7 2HH"),
        consent=ConsentToShare.REFUSED, decision=D.S42_ENQUIRY,
        msp=ask("Leanne is frightened that if he finds out she has talked to anyone it will get worse. She wants to stay in her flat.",
                "Her community mental health nurse", "At the GP surgery, when he is at work", True),
        outcomes=("I want to keep my flat and feel safe in it.", "I want my tablets back in my own hands."),
        override=Override(LEAD, OverrideReason.COERCION,
                          "Leanne refused consent while her partner was in the room; coercive control is suspected and the risk assessment is high. "
                          "Her details are shared with the ICB and the police under the information sharing agreement so the risk conference can act.",
                          told=False, not_told="Telling her now could alert her partner, who reads her messages; she will be told in person at her next "
                                               "appointment at the GP surgery, when she is seen alone."),
        comments=((LEAD, "Leanne was told about the sharing at her appointment today, seen alone. She understood why and did not object.", True),),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.PARTIALLY, "I've got my tablets back and a worker I trust. I'm still scared some days."),
    ),
    Story(
        "dennis-selfneglect", C, PUBLIC, None, (A.SELF_NEGLECT,), L.OWN_HOME, SRC.KNOWN,
        "My neighbour Dennis hasn't had heating all winter, the house is full to the ceiling with papers and bags, and "
        "I don't think he's eating. He won't open the door to anyone.",
        ago=236, duration=58, reporter=("Ken Allard", "07700 900311", "Neighbour"),
        adult=Person("Dennis Ormerod", Sex.MALE, 1, PSR.NONE, "41 Fen Road, Fenby", "NS8 2CE", nhs=False),
        decision=D.OTHER_ENQUIRY, consent_later=ConsentToShare.GIVEN,
        msp=ask("Dennis says he has lived this way for years and it is his home and his choice. He would like the boiler fixed but does not want "
                "anyone clearing his things.", "The fire service's home safety officer, who he got on with", "On his doorstep", False),
        outcomes=("Leave my things alone.", "Get the boiler working before next winter."),
        closure=Closure(AR.CEASED, RO.REMAINED, OA.NOT, "I didn't want people in my house. The boiler still isn't done."),
    ),
    Story(
        "marek-carwash", C, LEAD, None, (A.MODERN_SLAVERY, A.FINANCIAL), L.OTHER, SRC.KNOWN,
        "Police found Marek living in a caravan behind a hand car wash on the ring road. His employer holds his passport "
        "and takes his wages for 'rent and debts'. He works seven days a week.",
        ago=224, duration=52, rag=RAG.RED, action="Police removed Marek to a place of safety; referral made to the national referral mechanism.",
        adult=Person("Marek Zielny", Sex.MALE, 0, PSR.SOCIAL, communication="Uses a Polish interpreter for anything important.", language="Polish", nhs=False),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Marek wants to keep working but for himself, and to get his passport back.", "The police liaison officer and a Polish interpreter",
                "At the safe house", True),
        outcomes=("I want my passport and my own bank account.", "I want a proper job where I am paid."),
        comments=((LEAD, "Passport recovered by the police. Marek has an appointment at the job centre with an interpreter.", False),),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY, "The interpreter made it possible. I am paid now."),
    ),
    Story(
        "chloe-grooming", C, PUBLIC, "Lantern Flats", (A.SEXUAL_EXPLOITATION,), L.COMMUNITY, SRC.UNKNOWN,
        "My sister Chloe has a learning disability and lives at Lantern Flats. Older men she met online pick her up at night, give "
        "her alcohol and she comes back without her phone. She thinks they are her boyfriends.",
        ago=210, duration=80, reporter=("Gemma Amberley", "gemma.amberley@example.com", "Sister"),
        adult=Person("Chloe Amberley", Sex.FEMALE, 0, PSR.LEARNING_DISABILITY, "Flat 2, 19 Lantern Walk, Kingsford", "NS3 6UW",
                     communication="Easy read, with pictures; short sentences."),
        decision=D.S42_ENQUIRY, consent_later=ConsentToShare.GIVEN, msp_first=True,
        msp=ask("Chloe wants to have a boyfriend and go out like other people. She does not like being told what to do.",
                "Her sister, Gemma", "At Gemma's house", True, capacity=MC.DONT_KNOW, difficulty=True, appropriate=True),
        outcomes=("I want to go out and be safe.", "I want my own phone back."),
        comments=((LEAD, "Police child and adult exploitation team have identified two of the men. Support staff are doing healthy relationships work with Chloe.", False),),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.PARTIALLY, "Easy read letters helped. I still go out but I text Gemma."),
    ),
    Story(
        "yusuf-dayservice", C, INSPECTOR, "Brightpath Day Opportunities", (A.DISCRIMINATORY,), L.COMMUNITY_SERVICE, SRC.SERVICE_PROVIDER,
        "At the day service, staff stop Yusuf going to the quiet room to pray and mimic his accent in front of others. "
        "Two other people who use the service told me the same.",
        ago=198, duration=45, rag=RAG.GREEN,
        adult=Person("Yusuf Haddad", Sex.MALE, 0, PSR.LEARNING_DISABILITY, "8 Elm Street, Eastbrook", "NS1 6CD", language="Arabic"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Yusuf wants to keep coming to the day service because his friends are there.", "His support worker, Ade", "At the day service", True),
        outcomes=("I want to pray when it is time.", "I want staff to stop laughing at how I talk."),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY, "The manager said sorry to me. I pray in the quiet room now."),
    ),
    Story(
        "violet-touching", C, STAFF, "Riverside Lodge", (A.SEXUAL,), L.CARE_HOME_RESIDENTIAL, SRC.KNOWN,
        "Violet told me another resident touched her breasts in the lounge after tea and would not stop when she said no. "
        "She was upset and crying.",
        ago=188, duration=39, rag=RAG.RED, action="Residents separated; one-to-one staffing for the other resident; police informed.",
        adult=Person("Violet Hesketh", Sex.FEMALE, 2, PSR.PHYSICAL, "Riverside Lodge, 14 Mill Lane, Eastbrook", "NS1 4AD"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Violet wants to be able to sit in the lounge again without being frightened.", "Priya, the senior carer", "Her room", False),
        outcomes=("I don't want him near me.",),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY),
    ),
    Story(
        "arthur-covert", C, ICB, "Cedar Lodge Dementia Unit", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "A medicines review found Arthur's tablets are crushed into his food without his knowledge. Staff could not find a "
        "best-interests decision or pharmacist advice for this.",
        ago=176, duration=34, rag=RAG.GREEN,
        adult=Person("Arthur Wrenfield", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Cedar Lodge, Cedar Drive, Westmere", "NS5 3XZ"),
        consent=ConsentToShare.NOT_POSSIBLE, decision=D.OTHER_ENQUIRY, msp_first=True,
        msp=Msp(MspAsked.ASKED_EXPRESSED, views="His wife, Joan, said Arthur always hated taking tablets and would want to be comfortable.",
                contact="His wife, Joan", place="Cedar Lodge", attend=False, capacity=MC.LACKED, difficulty=True, appropriate=True,
                best_interests="Covert administration agreed as in Arthur's best interests, with the GP and pharmacist, reviewed monthly.",
                wishes="Arthur valued his independence and disliked doctors; he loved his food, so as few tablets as possible."),
        outcomes=("Joan: I want him to have only the tablets he really needs.",),
        closure=Closure(AR.NO_RISK_ACTION, RO.REMOVED, OA.FULLY, "Joan: nobody had explained it before. Now I am part of the monthly review."),
    ),
    Story(
        "olive-missedcalls", C, PUBLIC, "Oakfield Home Care", (A.NEGLECT,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
        "Carers haven't turned up for my mum's lunchtime call four times this fortnight. She's diabetic and was found "
        "confused by her neighbour yesterday, having not eaten.",
        ago=165, duration=44, reporter=("Michael Brennard", "07700 900492", "Son"),
        adult=Person("Olive Brennard", Sex.FEMALE, 3, PSR.PHYSICAL, "9 Westmere Road, Westmere", "NS5 8AA"),
        decision=D.S42_ENQUIRY, consent_later=ConsentToShare.GIVEN,
        msp=ask("Olive likes her carers but wants them to come on time so she can eat with her tablets.", "Her son, Michael", "At home", True),
        outcomes=("I want my dinner on time.",),
        comments=((LEAD, "Provider has put Olive's calls on a fixed run with an electronic call monitoring alert if a call is missed.", False),),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.FULLY, "They come on time now. Thank you for sorting it."),
    ),
    Story(
        "ronald-discharge", C, LEAD, None, (A.NEGLECT,), L.HOSPITAL_ACUTE, SRC.KNOWN,
        "Ronald was discharged from Northshire General at 11pm by taxi to an empty house, with no care package in place "
        "and no food in. His daughter found him on the floor the next morning.",
        ago=154, duration=50, rag=RAG.AMBER, action="Emergency care package started; hospital discharge team informed.",
        adult=Person("Ronald Fairclough", Sex.MALE, 2, PSR.PHYSICAL, "22 Quarry Lane, Hillcote", "NS6 1BB"),
        consent=ConsentToShare.GIVEN, decision=D.OTHER_ENQUIRY,
        msp=Msp(MspAsked.ASKED_NOT_EXPRESSED, views="Ronald said he was just glad to be home and did not want to make a fuss.",
                contact="His daughter, Sandra", place="At home", attend=False),
        comments=((LEAD, "The trust's discharge review could not establish who agreed the late discharge. The ICB has asked the trust for a discharge audit.", False),),
        closure=Closure(AR.INCONCLUSIVE_NO_ACTION, RO.REMAINED, None, "I didn't want a fuss but it was nice someone asked."),
    ),
    Story(
        "george-fall", C, ICB, "Meadowbank", (A.PHYSICAL, A.NEGLECT), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "George had an unwitnessed fall and a hip fracture. Hospital staff asked whether his falls risk assessment and "
        "sensor mat were in place.",
        ago=146, duration=29, rag=RAG.AMBER,
        adult=Person("George Tattersall", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Meadowbank, Meadow Road, Hillcote", "NS6 2KL"),
        consent=ConsentToShare.NOT_POSSIBLE, decision=D.OTHER_ENQUIRY,
        msp=Msp(MspAsked.NO, capacity=MC.LACKED, difficulty=True, appropriate=False,
                best_interests="Return to Meadowbank after hospital with the existing falls plan, agreed by the ward and the home.",
                wishes="George always said he wanted to walk on his own for as long as he could."),
        advocate="Tariq Bellamy", msp_first=True,
        closure=Closure(AR.NO_RISK_NO_ACTION, RO.REMOVED),
    ),
    Story(
        "florence-borrowing", C, PUBLIC, "St Anne's Court", (A.FINANCIAL,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
        "My gran says one of the staff at St Anne's Court keeps 'borrowing' £20 from her purse and promising to pay it back. "
        "It's happened at least five times.",
        ago=140, duration=37, reporter=("Holly Pengelly", None, "Granddaughter"),
        adult=Person("Florence Pengelly", Sex.FEMALE, 4, PSR.PHYSICAL, "Flat 12, St Anne's Court, Church Lane, Ambridge", "NS4 8GJ"),
        decision=D.S42_ENQUIRY, consent_later=ConsentToShare.GIVEN,
        msp=ask("Florence said the carer is a nice girl but she needs that money for the hairdresser.", "Her granddaughter, Holly", "In her flat", True),
        outcomes=("I want my money paid back.", "I don't want her to lose her job over it."),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.PARTIALLY, "I got my money back, but she did lose her job, which I didn't want."),
    ),
    Story(
        "riverside-meds", C, MANAGER, "Riverside House", (A.ORGANISATIONAL, A.NEGLECT), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Our monthly audit found three residents on the first floor missed evening doses over a weekend when the "
        "electronic medicines system was down. One of them is Norman.",
        ago=128, duration=26, rag=RAG.GREEN, action="Paper back-up records reintroduced; GP reviewed all three residents; no harm found.",
        adult=Person("Norman Ashcombe", Sex.MALE, 2, PSR.PHYSICAL, "Riverside House, 12 Mill Lane, Eastbrook", "NS1 4AB"),
        consent=ConsentToShare.GIVEN, decision=D.OTHER_ENQUIRY,
        msp=Msp(MspAsked.DONT_KNOW, views="Norman was not worried and said the nurses sorted it out.", contact="The unit nurse", place="His room", attend=False),
        closure=Closure(AR.NO_RISK_ACTION, RO.REMOVED),
    ),
    Story(
        "beryl-roofer", C, LEAD, None, (A.FINANCIAL,), L.OWN_HOME, SRC.UNKNOWN,
        "Northshire Police trading standards: Beryl paid £8,000 in cash to doorstep 'roofers' for repairs that were not "
        "needed. They have been back twice asking for more.",
        ago=118, duration=33, rag=RAG.AMBER, action="Bank put a flag on Beryl's account; 'no cold callers' sticker fitted.",
        adult=Person("Beryl Quarrington", Sex.FEMALE, 3, PSR.SENSORY, "The Old School House, Ambridge", "NS4 2AA",
                     communication="Wears hearing aids; phone calls are hard, visits are better."),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Beryl is embarrassed and does not want her son told.", "The trading standards officer", "At home", True),
        outcomes=("I want them to stop coming to my door.", "I want to keep my own bank card."),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.FULLY, "Nobody made me feel silly. They haven't been back."),
    ),
    Story(
        "greenacres-early", C, INSPECTOR, "Greenacres", (A.ORGANISATIONAL, A.PSYCHOLOGICAL), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
        "At an early-morning inspection, eight residents were up and dressed by 5.30am. Staff said night staff 'have to "
        "get a few up' to help the day shift. Mabel said she is always woken and told to get up.",
        ago=105, duration=47, rag=RAG.AMBER,
        adult=Person("Mabel Throssell", Sex.FEMALE, 4, PSR.MEMORY_COGNITION, "Greenacres, Greenacres Lane, Fenby", "NS8 4RS"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Mabel says she has always been a late riser and likes a cup of tea in bed.", "Her daughter-in-law, Sue", "Greenacres", True),
        outcomes=("Let me get up when I'm ready.",),
        comments=((LEAD, "Provider has changed the night routine; the ICB and council contracts teams will check on unannounced visits.", False),),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.PARTIALLY, "Most days I get my lie-in now."),
    ),
    Story(
        "kathleen-husband", C, STAFF, "Willow Court", (A.DOMESTIC, A.PSYCHOLOGICAL), L.CARE_HOME_NURSING, SRC.KNOWN,
        "Kathleen's husband shouts at her during visits, tells her she is a burden and takes her post. She is tearful for "
        "hours after he leaves.",
        ago=96, duration=44, rag=RAG.AMBER, action="Visits supervised in the lounge for now; Kathleen's post kept for her.",
        adult=Person("Kathleen Dunmore", Sex.FEMALE, 1, PSR.PHYSICAL, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Kathleen loves her husband and wants him to keep visiting, but not to be shouted at.", "The nurse in charge", "Her room", True),
        outcomes=("I want him to visit but be kind.", "I want to open my own letters."),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.PARTIALLY, "I open my own letters now. He still has bad days."),
    ),
    Story(
        "peggy-rough", C, PUBLIC, "Kindred Care Saltby", (A.PHYSICAL,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
        "I saw a carer pull my mother up by the arm very roughly while getting her out of her chair. Mum says it's fine "
        "but she has a bruise.",
        ago=84, duration=31, reporter=("Angela Riddick", "07700 900654", "Daughter"),
        adult=Person("Peggy Riddick", Sex.FEMALE, 3, PSR.PHYSICAL, "4 Harbour Road, Saltby", "NS9 2PR"),
        decision=D.S42_ENQUIRY, consent_later=ConsentToShare.GIVEN,
        msp=ask("Peggy has capacity and does not want the carer reported or changed: 'she's the only one who makes me laugh'.",
                "Her daughter, Angela", "At home", False),
        outcomes=("Keep my carer.",),
        closure=Closure(AR.RISK_NO_ACTION, RO.REMAINED, OA.FULLY, "It was my decision and they respected it."),
    ),
    Story(
        "stanley-dehydration", C, ICB, "Harbour View Nursing", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Stanley was admitted to hospital with an acute kidney injury and severe dehydration. His fluid charts show less "
        "than 600ml a day for a week with no action taken.",
        ago=75, duration=38, rag=RAG.RED,
        adult=Person("Stanley Merriweather", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Harbour View Nursing, 1 Quay Street, Saltby", "NS9 1FA"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Stanley said he doesn't like the squash they give him; he'd drink tea all day.", "His son, Paul", "The hospital ward, then the home", False),
        outcomes=("A cup of tea when I want one.",),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.FULLY),
    ),
    Story(
        "aisha-ward", C, LEAD, None, (A.SEXUAL,), L.HOSPITAL_MENTAL_HEALTH, SRC.KNOWN,
        "Aisha told ward staff that another patient came into her room at night and sexually assaulted her. Ward staff "
        "moved her to a single room.",
        ago=66, duration=40, rag=RAG.RED, action="Police informed by the ward; other patient moved to another ward.",
        adult=Person("Aisha Farrant", Sex.FEMALE, 0, PSR.MENTAL_HEALTH, "Northshire mental health unit, Westmere", "NS5 1MH"),
        consent=ConsentToShare.REFUSED, decision=D.S42_ENQUIRY,
        msp=ask("Aisha wants to feel safe on the ward and be believed. She does not want her family told.", "Her named nurse", "A private room on the ward", True),
        outcomes=("I want to be safe at night.", "I want him charged."),
        override=Override(LEAD, OverrideReason.SERIOUS_CRIME,
                          "A serious sexual offence is alleged and the other patient may pose a risk to others; details shared with the police and the ICB.",
                          told=True),
        closure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.NOT, "I felt safe after I moved, but nobody was charged and that's what I wanted."),
    ),
    Story(
        "lilian-cream", C, PUBLIC, "Hearth and Home Fenby", (A.NEGLECT,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
        "My aunt's legs are red and sore. I don't think the carers are putting her cream on like they're supposed to.",
        ago=58, duration=23, reporter=("Diane Cropper", None, "Niece"),
        adult=Person("Lilian Cropper", Sex.FEMALE, 2, PSR.PHYSICAL, "6 Fen Lane, Fenby", "NS8 2CF"),
        decision=D.OTHER_ENQUIRY, consent_later=ConsentToShare.GIVEN,
        msp=Msp(MspAsked.NOT_RECORDED, capacity=MC.NOT_RECORDED),
        closure=Closure(AR.NO_RISK_NO_ACTION, RO.REMOVED),
    ),
    Story(
        "ernest-resident", C, MANAGER, "Riverside Lodge", (A.PHYSICAL,), L.CARE_HOME_RESIDENTIAL, SRC.KNOWN,
        "Ernest was pushed over by another resident in the corridor and cut his head. The other resident has become "
        "more agitated since a change in medication.",
        ago=150, duration=30, rag=RAG.AMBER, action="First aid; GP review for the other resident; one-to-one staffing at busy times.",
        adult=Person("Ernest Kilburn", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Riverside Lodge, 14 Mill Lane, Eastbrook", "NS1 4AD"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Ernest wants to keep walking round the home; it is what he enjoys.", "His wife, Doreen", "Riverside Lodge", False, capacity=MC.DONT_KNOW),
        outcomes=("Doreen: I want Ernest to be able to walk about safely.",),
        closure=Closure(AR.RISK_ACTION, RO.REDUCED, OA.FULLY, "Doreen: the home kept me informed."),
        reopen="Ernest was pushed again by the same resident; the medication review had not happened.",
        reclosure=Closure(AR.RISK_ACTION, RO.REMOVED, OA.FULLY, "Doreen: sorted properly this time; the other gentleman has moved to a unit that suits him."),
    ),
]

IN_PROGRESS = [
    Story(
        "winifred-insulin", P, STAFF, "Riverside House", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Winifred's evening insulin was missed twice this week. Her blood sugar was 22 this morning and the GP has been called.",
        ago=40, rag=RAG.AMBER, action="GP visited; insulin given; second nurse checks every insulin dose now.",
        adult=Person("Winifred Ashgrove", Sex.FEMALE, 2, PSR.PHYSICAL, "Riverside House, 12 Mill Lane, Eastbrook", "NS1 4AB"),
        consent=ConsentToShare.REFUSED, decision=D.S42_ENQUIRY,
        msp=ask("Winifred does not want 'the NHS people' knowing her business. She wants the nurses to get it right.", "The unit manager", "Her room", True),
        outcomes=("Get my insulin on time.",),
    ),
    Story(
        "albert-fractures", P, ICB, "Oakfield Manor", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.UNKNOWN,
        "An X-ray found two healing rib fractures nobody can explain. Albert has advanced dementia and cannot say what happened.",
        ago=34, rag=RAG.RED, action="Police informed; body map; staff rota for the last month requested.",
        adult=Person("Albert Crossthwaite", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Oakfield Manor, Oak Avenue, Westmere", "NS5 7HJ"),
        consent=ConsentToShare.NOT_POSSIBLE, decision=D.S42_ENQUIRY, msp_first=True,
        msp=Msp(MspAsked.ASKED_EXPRESSED, views="Through his advocate: Albert settles with music and becomes frightened with men he does not know.",
                contact="His advocate", place="Oakfield Manor", attend=False, capacity=MC.LACKED, difficulty=True, appropriate=False,
                best_interests="Albert stays at Oakfield Manor with female carers for personal care while the police investigate.",
                wishes="Albert was a church organist and told his late wife he never wanted to leave Westmere."),
        advocate="Rhiannon Vale", outcomes=("Advocate, for Albert: to feel calm and safe where he lives.",),
        comments=((ICB, "The ICB will share the staffing rota analysis with the police by Friday.", False),
                  (INSPECTOR, "The regulator has brought forward its inspection of Oakfield Manor.", False)),
    ),
    Story(
        "frank-lpa", P, PUBLIC, None, (A.FINANCIAL, A.PSYCHOLOGICAL), L.OWN_HOME, SRC.KNOWN,
        "I'm a friend from church. Frank's son is pressuring him to sign a lasting power of attorney and to sell his "
        "house. Frank is frightened of him and says he has no one else.",
        ago=31, reporter=("Rev. Anne Goodhew", "01632 960123", "Friend from church"),
        adult=Person("Frank Lisgar", Sex.MALE, 3, PSR.PHYSICAL, "Beech House, Hillcote", "NS6 3DD"),
        decision=D.S42_ENQUIRY, consent_later=ConsentToShare.GIVEN, msp_first=True,
        msp=ask("Frank wants to stay in his house and make his own decisions about it.", "The vicar, Anne", "At the vicarage", True,
                difficulty=True, appropriate=False),
        advocate="Dylan Okoro", outcomes=("I want to stay in my own home.", "I want my son to stop going on about the house."),
    ),
    Story(
        "ivy-carer", P, LEAD, None, (A.DOMESTIC, A.PHYSICAL), L.OWN_HOME, SRC.KNOWN,
        "Ivy's husband, who has advanced dementia, was seen at day hospital with bruises; Ivy, his carer, told the nurse "
        "she 'slapped him when he wouldn't stop shouting' and that she is exhausted.",
        ago=27, rag=RAG.AMBER, action="Emergency respite offered; carer's assessment booked.",
        adult=Person("Cyril Pettigrew", Sex.MALE, 3, PSR.MEMORY_COGNITION, "17 Church Walk, Kingsford", "NS3 4EE"),
        consent=ConsentToShare.NOT_POSSIBLE, decision=D.S42_ENQUIRY,
        msp=Msp(MspAsked.ASKED_EXPRESSED, views="Cyril's sister says he would want to stay with Ivy whatever happens.", contact="His sister, Mavis",
                place="At home", attend=False, capacity=MC.LACKED, difficulty=True, appropriate=True,
                best_interests="Cyril stays at home with Ivy, with sitting services three afternoons a week and respite every month.",
                wishes="Cyril always said 'we'll look after each other'."),
        outcomes=("Mavis, for Cyril: to stay at home with Ivy, and Ivy to get some help.",),
    ),
    Story(
        "cedar-dols", P, INSPECTOR, "Cedar Lodge", (A.ORGANISATIONAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Inspection found eleven deprivation of liberty authorisations lapsed and bed rails in use without risk assessments.",
        ago=45, rag=RAG.AMBER, decision=D.QUALITY_CONCERN,
        comments=((LEAD, "Quality concern: provider improvement plan due within 14 days. No individual enquiry at this stage.", False),),
    ),
    Story(
        "dorothy-nights", P, MANAGER, "Willow Court", (A.PSYCHOLOGICAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "A new carer told me night staff ignore Dorothy's calls and make fun of her when she asks for help. Two staff have been suspended.",
        ago=22, rag=RAG.AMBER, action="Staff suspended; night manager spot-checks; Dorothy's family told.",
        adult=Person("Dorothy Halewood", Sex.FEMALE, 4, PSR.PHYSICAL, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Dorothy said she thought she was being a nuisance.", "Her granddaughter, Amy", "Her room", True),
        outcomes=("I want to be treated like a person.",),
        comments=((ICB, "Noted. The ICB has asked Willow Court for night staffing figures for the last three months.", False),),
    ),
    Story(
        "clifford-soiled", P, PUBLIC, "Homecare South", (A.NEGLECT,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
        "My dad was left in a soiled bed from the evening call until morning twice last week. The carers are rushed.",
        ago=19, reporter=("Janet Mowbray", "janet.mowbray@example.com", "Daughter"),
        adult=Person("Clifford Mowbray", Sex.MALE, 2, PSR.PHYSICAL, "12 Market Street, Lowfield", "NS7 3BC"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
    ),
    Story(
        "harbour-pressure", P, ICB, "Harbour View Nursing", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Contract monitoring found pressure-relieving mattresses set to the wrong weight for four residents, including Gladys.",
        ago=24, rag=RAG.GREEN, decision=D.QUALITY_CONCERN,
        adult=Person("Gladys Pymm", Sex.FEMALE, 3, PSR.PHYSICAL, "Harbour View Nursing, 1 Quay Street, Saltby", "NS9 1FA"),
        consent=ConsentToShare.GIVEN,
    ),
    Story(
        "rosemary-hoarding", P, LEAD, None, (A.SELF_NEGLECT,), L.OWN_HOME, SRC.KNOWN,
        "Fire service referral: Rosemary's flat is a serious fire risk, with cooker rings used for heat and exits blocked. "
        "She has long-standing mental health needs.",
        ago=52, rag=RAG.AMBER, action="Fire service fitted smoke alarms and a fire-retardant bedding pack.",
        adult=Person("Rosemary Keld", Sex.FEMALE, 0, PSR.MENTAL_HEALTH, "Flat 9, Tower View, Lowfield", "NS7 4FF"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY, msp_first=True,
        msp=ask("Rosemary says her things are her memories. She will let the fire officer in but nobody from the council.", "The fire service officer",
                "At the library café", False, difficulty=True, appropriate=False),
        advocate="Hollie Brandreth", outcomes=("Nobody throws my things away.", "A heater that works."),
        comments=((LEAD, "Rosemary's advocate has agreed a plan with her to clear the exits, one room at a time, starting next week.", False),),
    ),
    Story(
        "jamie-cuckooing", P, LEAD, "Lantern House", (A.MODERN_SLAVERY, A.FINANCIAL), L.OWN_HOME, SRC.UNKNOWN,
        "Support staff believe Jamie's flat is being used by drug dealers ('cuckooing'). Strangers come and go, his "
        "benefits vanish on the day they are paid and he has been seen carrying packages.",
        ago=16, rag=RAG.RED, action="Police informed; Jamie offered a temporary move.",
        adult=Person("Jamie Thorne", Sex.MALE, 0, PSR.LEARNING_DISABILITY, "17 Lantern Walk, Kingsford", "NS3 6UV"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Jamie says the men are his friends but he wants them to stop coming round so much.", "His support worker, Kelly", "The day centre", True),
        outcomes=("I want my money to last all week.",),
    ),
    Story(
        "meadowbank-harsh", P, PUBLIC, "Meadowbank View", (A.PSYCHOLOGICAL,), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
        "When I visited my uncle Bernard, a carer told him to 'shut up and eat' and took his plate away when he was slow.",
        ago=13, reporter=(None, None, "Nephew"),
        adult=Person("Bernard Yelland", Sex.MALE, 2, PSR.MEMORY_COGNITION, "Meadowbank View, Meadow Road, Hillcote", "NS6 2KN", nhs=False),
        decision=D.OTHER_ENQUIRY,
    ),
    Story(
        "harold-weight", P, ICB, "Riverside House", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
        "Contract monitoring: a resident in room 14 has lost 6kg in two months and his food and fluid charts are mostly blank. "
        "I have not taken his name.",
        ago=20, rag=RAG.AMBER, decision=D.S42_ENQUIRY, link_to="harold-bruising",
        msp=ask("Harold says the food is cold by the time it gets to him and nobody helps him cut it up.", "His key worker, Priya", "His room", True),
        outcomes=("Hot food and a bit of help with it.",),
        comments=((ICB, "Riverside House has made a dietitian referral and Harold now eats in the dining room with support. The ICB will check his weight chart at the next visit.", False),),
    ),
    Story(
        "mehmet-injuries", P, LEAD, None, (A.DOMESTIC, A.PHYSICAL), L.OWN_HOME, SRC.KNOWN,
        "A&E raised injuries on Mehmet (a broken wrist and old bruising) that do not fit his account of a fall. He lives "
        "with his grandson, who brought him in and answered every question for him.",
        ago=11, rag=RAG.RED, action="Ward kept Mehmet in; seen alone with a Turkish interpreter.",
        adult=Person("Mehmet Arslanoglu", Sex.MALE, 1, PSR.PHYSICAL, "5 Orchard Close, Eastbrook", "NS1 7GG", language="Turkish"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
    ),
    Story(
        "sylvia-resident", P, STAFF, "Willow Court", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.KNOWN,
        "Another resident hit Sylvia across the face at lunch. Sylvia does not want anyone outside the home told; the "
        "same resident has hit two other people this month.",
        ago=15, rag=RAG.AMBER, action="Residents separated; GP review for the other resident.",
        adult=Person("Sylvia Brough", Sex.FEMALE, 2, PSR.PHYSICAL, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP"),
        consent=ConsentToShare.REFUSED, decision=D.S42_ENQUIRY,
        override=Override(MANAGER, OverrideReason.RISK_TO_OTHERS,
                          "The other resident has hit three people this month; sharing Sylvia's details with the council and the ICB is needed to protect other residents.",
                          told=True),
        msp=ask("Sylvia wants to keep eating in the dining room.", "The nurse in charge", "Her room", False),
        outcomes=("I want my lunch in peace.",),
    ),
    Story(
        "pauline-cash", P, STAFF, "Riverside Lodge", (A.FINANCIAL,), L.CARE_HOME_RESIDENTIAL, SRC.UNKNOWN,
        "£40 is missing from Pauline's locked bedside drawer. Only staff have keys.",
        ago=90, duration=30, rag=RAG.GREEN, action="Police informed; drawer key log started.",
        adult=Person("Pauline Ebdon", Sex.FEMALE, 3, PSR.SENSORY, "Riverside Lodge, 14 Mill Lane, Eastbrook", "NS1 4AD"),
        consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY,
        msp=ask("Pauline wants her money safe and doesn't want a fuss.", "Priya, the senior carer", "Her room", False),
        outcomes=("Keep my money safe.",),
        closure=Closure(AR.INCONCLUSIVE_NO_ACTION, RO.REMAINED, OA.NOT),
        reopen="Another £60 has gone from the same drawer; the key log shows who held the keys that night.",
    ),
]

TRIAGED = [
    Story("nora-signpost", T, PUBLIC, None, (A.SELF_NEGLECT,), L.OWN_HOME, SRC.KNOWN,
          "My friend Nora's garden is overgrown and she seems lonely since her husband died.",
          ago=9, reporter=("Brenda Skerrow", None, "Friend"),
          adult=Person("Nora Lambkin", Sex.FEMALE, 1, PSR.NONE, "2 Mill Cottages, Eastbrook", "NS1 4AF", nhs=False),
          decision=D.SIGNPOSTED,
          reason="No care and support needs or sign of abuse or neglect. Signposted to Northshire Befriending and the GP's social prescriber; Nora agreed."),
    Story("summerfields-training", T, INSPECTOR, "Summerfields", (A.ORGANISATIONAL,), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
          "Staff training records are out of date: a third of staff have not had safeguarding training in three years.",
          ago=12, rag=RAG.GREEN, decision=D.QUALITY_CONCERN),
    Story("cedar-fridge", T, ICB, "Cedar Lodge", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
          "Medicines fridge temperatures have not been recorded for three weeks; insulin and eye drops are stored there.",
          ago=10, rag=RAG.GREEN, decision=D.QUALITY_CONCERN),
    Story("riverside-agency", T, STAFF, "Riverside House", (A.ORGANISATIONAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
          "Most nights this month we have had agency staff who don't know the residents or their care plans. I'm worried something will be missed.",
          ago=8, rag=RAG.GREEN, decision=D.QUALITY_CONCERN),
    Story("moira-nfa", T, PUBLIC, None, (A.FINANCIAL,), L.OWN_HOME, SRC.KNOWN,
          "My friend Moira's new partner seems to be after her money; he has moved in very quickly.",
          ago=14, reporter=("Sheila Dawbarn", "07700 900777", "Friend"),
          adult=Person("Moira Fennick", Sex.FEMALE, 0, PSR.NONE, "11 Quay Street, Saltby", "NS9 1FB", nhs=False),
          decision=D.NO_FURTHER_ACTION,
          reason="Spoke to Moira: she has capacity, no care and support needs and manages her own money. She was given the police fraud advice line and knows how to contact us."),
    Story("homecare-snow", T, LEAD, "Homecare North", (A.NEGLECT,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
          "Two late calls for Stanley Crewe during the snow; he was waiting for his breakfast until 11am.",
          ago=18, rag=RAG.GREEN,
          adult=Person("Stanley Crewe", Sex.MALE, 2, PSR.PHYSICAL, "3 High Street, Kingsford", "NS3 1AC"),
          consent=ConsentToShare.GIVEN, decision=D.NO_FURTHER_ACTION,
          reason="Late calls on two days because of snow; no harm; provider rearranged the run and told Stanley. Contracts team will monitor call times."),
    Story("neighbour-signpost", T, PUBLIC, None, (A.PSYCHOLOGICAL,), L.COMMUNITY, SRC.KNOWN,
          "The family next door to my relative Jordan keep playing loud music and swearing at them over the fence.",
          ago=7, reporter=("Owen Pritchard", "owen.pritchard@example.com", "Relative"),
          adult=Person("Jordan Pritchard", Sex.NOT_KNOWN, 1, PSR.NOT_KNOWN, nhs=False),
          decision=D.SIGNPOSTED,
          reason="A neighbour dispute with no care and support needs: signposted to the housing association and the community safety team."),
    Story("lodge-grandson", T, MANAGER, "Riverside Lodge", (A.FINANCIAL,), L.CARE_HOME_RESIDENTIAL, SRC.KNOWN,
          "Reg's grandson asks him for money every visit and Reg has started asking us to take cash out of his account for him.",
          ago=11, rag=RAG.GREEN,
          adult=Person("Reginald Haythorne", Sex.MALE, 4, PSR.PHYSICAL, "Riverside Lodge, 14 Mill Lane, Eastbrook", "NS1 4AD"),
          consent=ConsentToShare.GIVEN, decision=D.OTHER_ENQUIRY),
    Story("willow-bruise", T, ICB, "Willow Court", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.UNKNOWN,
          "A district nurse found a large bruise on Elsie's shin that is not on the home's body map.",
          ago=6, rag=RAG.AMBER,
          adult=Person("Elsie Varley", Sex.FEMALE, 4, PSR.PHYSICAL, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP"),
          consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY),
    # Held at triage by the advocacy gate: substantial difficulty, nobody appropriate, no advocate yet.
    Story("daniel-gate", T, INSPECTOR, "Brightpath Ash Close", (A.PSYCHOLOGICAL, A.FINANCIAL), L.OWN_HOME, SRC.KNOWN,
          "Daniel's parents, who are his appointees, visit weekly and he is frightened of them. Staff say his benefits are "
          "spent before he sees any of it and his parents shout at him for 'telling tales'.",
          ago=9, rag=RAG.AMBER,
          adult=Person("Daniel Osgood", Sex.MALE, 0, PSR.LEARNING_DISABILITY, "3 Ash Close, Lowfield", "NS7 5EF",
                       communication="Uses Makaton and pictures; needs time to answer."),
          consent=ConsentToShare.GIVEN, decision=D.S42_ENQUIRY, msp_first=True,
          msp=ask("Daniel wants to choose what he buys and to see his parents at the café, not at home.", "His support worker, Femi",
                  "The café at the day centre", True, difficulty=True, appropriate=False),
          comments=((LEAD, "The Advocacy Hub cannot allocate an advocate until next week; chased. Work cannot start until one is recorded.", True),)),
]

SUBMITTED = [
    Story("s-shouting", S, PUBLIC, None, (A.PHYSICAL,), L.OWN_HOME, SRC.KNOWN,
          "I heard shouting and a crash from next door this morning, and my neighbour's son drove off fast. She isn't answering the door.",
          ago=0, rag=RAG.RED, reporter=("Tony Wrexham", "07700 900123", "Neighbour"),
          adult=Person("Margaret Ollerton", Sex.FEMALE, 2, None, "15 Elm Street, Eastbrook", "NS1 6CE", nhs=False)),
    Story("s-wound", S, STAFF, "Riverside House", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
          "Found a wound on Mr Lowther's heel that is not in his care plan and has not been dressed.",
          ago=1, rag=RAG.AMBER, action="Dressed; nurse in charge and GP informed.",
          adult=Person("Clive Lowther", Sex.MALE, 3, PSR.PHYSICAL, "Riverside House, 12 Mill Lane, Eastbrook", "NS1 4AB"),
          consent=ConsentToShare.GIVEN),
    Story("s-staffing", S, ICB, "Oakfield Manor", (A.ORGANISATIONAL,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
          "Only one registered nurse for 80 residents on two nights this week, according to the home's own rota.",
          ago=1, rag=RAG.AMBER),
    Story("s-medsrecords", S, INSPECTOR, "Kindred Care Eastbrook", (A.NEGLECT,), L.OWN_HOME, SRC.SERVICE_PROVIDER,
          "Medication records for several people have gaps and carers are signing for doses given by family.",
          ago=2, rag=RAG.GREEN),
    Story("s-threat", S, PUBLIC, "Greenacres Annexe", (A.PSYCHOLOGICAL,), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
          "A carer told my mum she'd 'get no tea' if she didn't stop ringing her bell.",
          ago=3, reporter=("Lorraine Gaskell", None, "Daughter"),
          adult=Person("Edith Gaskell", Sex.FEMALE, 4, PSR.MEMORY_COGNITION, "Greenacres Annexe, Greenacres Lane, Fenby", "NS8 4RT", nhs=False)),
    Story("s-romance", S, LEAD, None, (A.FINANCIAL,), L.OWN_HOME, SRC.UNKNOWN,
          "Bank fraud team: Geoffrey has sent £14,000 to a woman he met online and has never seen. He is about to remortgage his house.",
          ago=4, rag=RAG.RED, action="Bank has stopped the latest payment.",
          adult=Person("Geoffrey Pilkington", Sex.MALE, 1, PSR.SOCIAL, "Ivy House, Lowfield", "NS7 6HH"),
          consent=ConsentToShare.REFUSED),
    Story("s-resident", S, MANAGER, "Willow Court", (A.PHYSICAL,), L.CARE_HOME_NURSING, SRC.KNOWN,
          "Resident scratched by another resident during a disagreement over the television.",
          ago=5, rag=RAG.GREEN, action="Separated; scratch cleaned; both families told.",
          adult=Person("Thomas Eckersley", Sex.MALE, 3, PSR.MEMORY_COGNITION, "Willow Court, 3 Station Road, Kingsford", "NS3 2QP"),
          consent=ConsentToShare.NOT_POSSIBLE),
    Story("s-ward", S, LEAD, None, (A.FINANCIAL,), L.HOSPITAL_COMMUNITY, SRC.UNKNOWN,
          "Ward manager at Lowfield Community Hospital: Mr Cheung's wallet and bank card went from his bedside locker during "
          "visiting; £300 was withdrawn the same afternoon.",
          ago=7, rag=RAG.AMBER, action="Bank card stopped; police crime number obtained.",
          adult=Person("Wilfred Cheung", Sex.MALE, 3, PSR.PHYSICAL, "Lowfield Community Hospital, Ward 2", "NS7 1HP"),
          consent=ConsentToShare.GIVEN),
    Story("s-dehydrated", S, ICB, "Meadowbank", (A.NEGLECT,), L.CARE_HOME_NURSING, SRC.SERVICE_PROVIDER,
          "Hospital admission for Hilda from Meadowbank: dehydrated and with a urine infection; charts not sent with her.",
          ago=9, rag=RAG.AMBER,
          adult=Person("Hilda Brocklehurst", Sex.FEMALE, 4, PSR.PHYSICAL, "Meadowbank, Meadow Road, Hillcote", "NS6 2KL"),
          consent=ConsentToShare.GIVEN),
    Story("s-racist", S, STAFF, "Riverside Lodge", (A.DISCRIMINATORY,), L.CARE_HOME_RESIDENTIAL, SRC.KNOWN,
          "A visitor made racist remarks to Mr Adeyemi in the lounge and told him to 'go back home'.",
          ago=11, rag=RAG.GREEN, action="Visitor asked to leave; Mr Adeyemi supported by staff.",
          adult=Person("Samuel Adeyemi", Sex.MALE, 2, PSR.PHYSICAL, "Riverside Lodge, 14 Mill Lane, Eastbrook", "NS1 4AD"),
          consent=ConsentToShare.GIVEN),
    Story("s-lantern", S, PUBLIC, "Lantern Flats", (A.SEXUAL_EXPLOITATION, A.SEXUAL), L.OWN_HOME, SRC.UNKNOWN,
          "A young woman in the flat below mine keeps having different men visit late at night. She seems scared of them.",
          ago=13, reporter=(None, None, "Neighbour")),
    Story("s-stanne", S, INSPECTOR, "St Anne's House", (A.ORGANISATIONAL,), L.CARE_HOME_RESIDENTIAL, SRC.SERVICE_PROVIDER,
          "Notifications of incidents to the regulator have stopped since the registered manager left; residents' families report falls we were not told about.",
          ago=15, rag=RAG.GREEN),
]


# Building ---------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, area: Area, agencies: dict[str, Agency], users: dict[str, User]):
        self.area = area
        self.agencies = agencies
        self.users = users
        self.rng = random.Random(SEED)
        #: Everything an operation creates is stamped at or after this instant; the seed moves it back.
        self.started = utcnow()
        self.today = london_today()
        self.services = {
            service.name: service
            for service in db.session.scalars(
                sa.select(Service).join(Agency, Service.provider_id == Agency.id).where(Agency.area_id == area.id)
            )
        }
        self.nhs_numbers: set[str] = set()
        self.concerns: dict[str, Concern] = {}

    # People -----------------------------------------------------------------------------------

    def act(self, email: str | None) -> User | None:
        """The user, acting in the role the demo gives them (operations need a membership)."""
        if email is None:
            return None
        user = self.users[email]
        user.membership = next(m for m in user.active_memberships if m.role is ACTING_ROLE[email])
        return user

    def nhs_number(self) -> str:
        """A valid NHS number in the 999 range kept for testing, unique within the demo."""
        while True:
            digits = "999" + "".join(str(self.rng.randint(0, 9)) for _ in range(6))
            total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True))
            check = (11 - total % 11) % 11
            if check == 10:
                continue
            number = digits + str(check)
            if number not in self.nhs_numbers:
                self.nhs_numbers.add(number)
                return number

    def date_of_birth(self, band: int) -> date:
        """A birthday whose age is inside the band now and was throughout the past year."""
        youngest, oldest = AGE_BANDS[band]
        years = self.rng.uniform(youngest + 1.05, oldest + 0.9)
        return self.today - timedelta(days=int(years * 365.2425))

    def details(self, person: Person) -> AdultDetails:
        return AdultDetails(
            name=person.name,
            date_of_birth=self.date_of_birth(person.band) if person.band is not None else None,
            nhs_number=self.nhs_number() if person.nhs else None,
            sex=person.sex,
            address=person.address,
            postcode=person.postcode,
            communication_needs=person.communication,
            preferred_language=person.language,
            primary_support_reason=person.support,
        )

    # Time -------------------------------------------------------------------------------------

    def working_days_ago(self, days: int) -> date:
        day = self.today
        while days > 0:
            day -= timedelta(days=1)
            if is_working_day(day):
                days -= 1
        return day

    def office_time(self, day: date) -> datetime:
        """A time in office hours on a day (UTC), never later than a few minutes ago."""
        moment = datetime.combine(day, time(8, 30), tzinfo=UTC) + timedelta(minutes=self.rng.randint(0, 8 * 60))
        return min(moment, self.started - timedelta(minutes=self.rng.randint(20, 90)))

    def stamp(self, concern: Concern, when: datetime) -> None:
        """Move what the last operation created on this concern back to ``when``."""
        for event in concern.events:
            if event.occurred_at >= self.started:
                event.occurred_at = when
        for comment in concern.comments:
            if comment.created_at >= self.started:
                comment.created_at = when
        for outcome in concern.desired_outcomes:
            if outcome.recorded_at >= self.started:
                outcome.recorded_at = when
        for override in concern.overrides:
            if override.decided_at >= self.started:
                override.decided_at = when
        if concern.consent_recorded_at is not None and concern.consent_recorded_at >= self.started:
            concern.consent_recorded_at = when
        # Notifications are made from their intents after the seed commits, and take their time.
        db.session.execute(
            sa.update(NotificationIntent)
            .where(NotificationIntent.subject_type == "concern", NotificationIntent.subject_id == concern.id,
                   NotificationIntent.created_at >= self.started)
            .values(created_at=when)
            .execution_options(synchronize_session=False)
        )

    def run(self, concern: Concern, steps: list[tuple[datetime, Callable[[], None]]]) -> None:
        """Carry out each step in order, then stamp what it did with its time."""
        for when, step in steps:
            step()
            db.session.flush()
            self.stamp(concern, when)
        if steps:
            concern.updated_at = steps[-1][0]

    def raised(self, concern: Concern, when: datetime) -> None:
        concern.raised_at = when
        concern.created_at = when
        if concern.adult is not None and concern.adult.created_at >= self.started:
            concern.adult.created_at = concern.adult.updated_at = when
        db.session.flush()
        self.stamp(concern, when)

    # One story --------------------------------------------------------------------------------

    def raise_story(self, story: Story, when: datetime) -> Concern:
        raiser = self.act(story.by)
        reporter = story.reporter or (None, None, None)
        concern = ops.raise_concern(
            area=self.area,
            raised_by=raiser,
            service=self.services[story.service] if story.service else None,
            what_happened=story.what,
            abuse_types=set(story.types),
            happened_on=(when - timedelta(days=self.rng.randint(0, 3))).date() if story.rag else None,
            risk_location=story.location,
            risk_source=story.source,
            immediate_risk=story.rag,
            immediate_action=story.action,
            adult=self.details(story.adult) if story.adult else None,
            consent=story.consent,
            reporter_name=reporter[0],
            reporter_contact=reporter[1],
            reporter_relationship=reporter[2],
            raised_at=when,
        )
        self.raised(concern, when)
        self.concerns[story.key] = concern
        return concern

    def raised_at(self, story: Story) -> datetime:
        if story.status is S:
            if story.ago == 0:
                return self.started - timedelta(minutes=self.rng.randint(40, 150))
            return self.office_time(self.working_days_ago(story.ago))
        return self.office_time(self.today - timedelta(days=story.ago))

    def build(self, story: Story, raised_at: datetime) -> None:
        concern = self.raise_story(story, raised_at)
        if story.status is S:
            return
        lead = self.act(LEAD)
        steps: list[tuple[str, Callable[[], None]]] = []

        def add(label, fn):
            steps.append((label, fn))

        enquiry = story.decision in {D.S42_ENQUIRY, D.OTHER_ENQUIRY, D.QUALITY_CONCERN}
        add("triage", lambda: ops.triage_concern(concern, decision=story.decision, reason=story.reason, by=lead,
                                                 assign_to=lead if enquiry else None))
        if story.link_to:
            add("link", lambda: ops.link_adult(concern, self.concerns[story.link_to].adult, by=lead))
        msp_step = ("msp", lambda: ops.record_msp(concern, by=lead, **self.msp_kwargs(story.msp))) if story.msp else None
        if msp_step and story.msp_first:
            add(*msp_step)
        if story.consent_later:
            add("consent", lambda: ops.record_consent(concern, consent=story.consent_later, by=lead))
        if story.msp_first:
            for words in story.outcomes:
                add("outcome", lambda words=words: ops.add_desired_outcome(concern, words=words, by=lead))
        if story.advocate:
            add("advocate", lambda: None)  # filled in below, with its own date
        if story.status in (P, C):
            add("start", lambda: ops.start_work(concern, by=lead))
            if msp_step and not story.msp_first:
                add(*msp_step)
            if not story.msp_first:
                for words in story.outcomes:
                    add("outcome", lambda words=words: ops.add_desired_outcome(concern, words=words, by=lead))
            if story.override:
                o = story.override
                add("override", lambda: ops.override_consent(concern, reason=o.reason, explanation=o.explanation,
                                                             adult_told=o.told, not_told_reason=o.not_told, by=self.act(o.by)))
        for author, body, la_only in story.comments:
            add("comment", lambda author=author, body=body, la_only=la_only: ops.add_comment(
                concern, body=body, local_authority_only=la_only, by=self.act(author)))
        if story.closure:
            add("close", lambda: self.close(concern, story.closure))
        if story.reopen:
            add("reopen", lambda: ops.reopen_concern(concern, reason=story.reopen, by=self.act(LEAD)))
        if story.reclosure:
            add("close", lambda: self.close(concern, story.reclosure))

        times = self.schedule(story, raised_at, [label for label, _ in steps])
        timed = []
        for (label, fn), when in zip(steps, times, strict=True):
            if label == "advocate":
                fn = self.advocate_step(concern, story.advocate, when)
            elif label == "triage":
                fn = self.with_after(fn, lambda when=when: setattr(concern, "triaged_at", when))
            elif label == "close":
                fn = self.with_after(fn, lambda when=when: setattr(concern, "closed_at", when))
            timed.append((when, fn))
        self.run(concern, timed)

    def advocate_step(self, concern: Concern, name: str, when: datetime):
        return lambda: ops.record_advocate(concern, name=name, organisation=ADVOCACY_HUB, arranged_on=when.date(), by=self.act(LEAD))

    @staticmethod
    def with_after(fn, after):
        def step():
            fn()
            after()

        return step

    def close(self, concern: Concern, closure: Closure) -> None:
        ops.close_concern(concern, action_result=closure.action, risk_outcome=closure.risk, outcomes_achieved=closure.achieved,
                          adult_feedback=closure.feedback, by=self.act(LEAD))

    @staticmethod
    def msp_kwargs(msp: Msp) -> dict:
        return {
            "msp_asked": msp.asked, "adult_views": msp.views, "preferred_contact": msp.contact,
            "preferred_meeting_place": msp.place, "wants_to_attend_meetings": msp.attend, "mental_capacity": msp.capacity,
            "best_interests_decision": msp.best_interests, "past_present_wishes": msp.wishes,
            "substantial_difficulty": msp.difficulty, "appropriate_person": msp.appropriate,
        }

    def schedule(self, story: Story, raised_at: datetime, labels: list[str]) -> list[datetime]:
        """Times for each step after raising: triage within days, the rest spread to the end.

        A concern closed and then reopened closes first at ``duration`` days; the reopening
        (and any second closure) follow later.
        """
        latest = self.started - timedelta(hours=2)
        if story.status is T:
            end = min(raised_at + timedelta(days=max(1, story.ago - 1)), latest)
        elif story.duration:
            end = min(raised_at + timedelta(days=story.duration), latest - timedelta(days=1))
        else:
            end = latest - timedelta(days=self.rng.uniform(0.5, 3))
        split = labels.index("close") + 1 if "reopen" in labels else len(labels)
        triage = raised_at + min((end - raised_at) * 0.25, timedelta(hours=self.rng.uniform(2, 72)))
        times = [triage, *sorted(triage + (end - triage) * self.rng.uniform(0.05, 0.95) for _ in range(split - 1))]
        if story.closure:
            times[split - 1] = end
        later = labels[split:]
        if later:
            final = latest - timedelta(days=self.rng.uniform(1, 10))
            if story.reclosure:
                final = min(end + timedelta(days=40), latest - timedelta(days=1))
            times += sorted(end + (final - end) * self.rng.uniform(0.1, 0.9) for _ in later)
            if story.reclosure:
                times[-1] = final
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                times[i] = times[i - 1] + timedelta(minutes=self.rng.randint(5, 40))
        return [min(t, latest) for t in times]


# Jo's story -----------------------------------------------------------------------------------


def seed_jos_story(builder: _Builder) -> Concern:
    """Jo's story from the Making Safeguarding Personal guide, told through the portal end to end.

    Jo's neighbour reports through the public form that Jo's daughter has been taking her money.
    The safeguarding lead makes it a section 42 enquiry and takes it on; Jo chooses to talk to her
    District Nurse, who finds out her views and the outcomes she wants. Jo has capacity but
    substantial difficulty being involved and nobody appropriate to support her, so an independent
    advocate is arranged, and only then does work start. Meetings are held at the GP surgery and
    at Jo's home; at the end Jo is asked whether her outcomes were achieved and about her
    experience.
    """
    lead = builder.act(LEAD)
    today = builder.today

    def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(today - timedelta(days=days_ago), time(hour, minute), tzinfo=UTC)

    concern = ops.raise_concern(
        area=builder.area,
        raised_by=None,
        service=None,
        what_happened=(
            "I live next door to Jo. Her daughter comes round every week on the day Jo's pension goes in and takes her bank "
            "card. Jo has told me she has no money left for food by the weekend and she has been getting thinner. Jo doesn't "
            "know I'm telling you this."
        ),
        abuse_types={AbuseType.FINANCIAL},
        risk_location=RiskLocation.OWN_HOME,
        risk_source=RiskSource.KNOWN,
        adult=AdultDetails(name=JO_NAME, address="4 Orchard Row, Kingsford", postcode="NS3 5JR"),
        reporter_name=JO_NEIGHBOUR,
        reporter_contact="07700 900418",
        reporter_relationship="Neighbour",
    )
    builder.raised(concern, at(118, 19, 42))
    builder.concerns["jo"] = concern

    def triaged():
        ops.triage_concern(concern, decision=TriageDecision.S42_ENQUIRY, reason=None, by=lead, assign_to=lead)
        concern.triaged_at = at(117, 9, 15)

    def adult():
        ops.update_adult(concern, AdultDetails(
            name=JO_NAME, date_of_birth=today - timedelta(days=int(83.4 * 365.2425)), nhs_number=builder.nhs_number(), sex=Sex.FEMALE,
            address="4 Orchard Row, Kingsford", postcode="NS3 5JR",
            communication_needs="Prefers to talk face to face; letters in plain words, no jargon.",
            preferred_language="English", primary_support_reason=PrimarySupportReason.PHYSICAL,
        ), by=lead)

    def msp():
        ops.record_msp(
            concern, by=lead, msp_asked=MspAsked.ASKED_EXPRESSED,
            adult_views=(
                "Jo is worried that her neighbour has told people about this and is not sure what will happen now. She wants to know "
                "what is about to happen and who to contact if she is worried or wants to speak to someone. She loves her daughter. "
                "She knows she can change her mind at any time."
            ),
            preferred_contact="Her District Nurse, Nia Penhaligon (Northshire Community Health NHS Trust), who visits every week",
            preferred_meeting_place="At the GP surgery (Kingsford Health Centre) and at home",
            wants_to_attend_meetings=True,
            mental_capacity=MentalCapacity.NOT_LACKED,
            best_interests_decision=None, past_present_wishes=None,
            substantial_difficulty=True, appropriate_person=False,
        )

    def outcome(words):
        return lambda: ops.add_desired_outcome(concern, words=words, by=lead)

    def advocate():
        ops.record_advocate(concern, name="Cerys Lockwood", organisation=ADVOCACY_HUB, arranged_on=(today - timedelta(days=110)), by=lead)

    def comment(author, body, la_only=False):
        return lambda: ops.add_comment(concern, body=body, local_authority_only=la_only, by=builder.act(author))

    def close():
        ops.close_concern(
            concern, action_result=ActionResult.RISK_ACTION, risk_outcome=RiskOutcome.REDUCED,
            outcomes_achieved=OutcomesAchieved.PARTIALLY,
            adult_feedback=(
                "I felt listened to. I knew what was going to happen and who to ring. My nurse and my advocate helped me decide for "
                "myself, and the minutes were in plain words I could understand. I have my own bank card back, but my daughter and "
                "I are still not really talking."
            ),
            by=lead,
        )
        concern.closed_at = at(35, 15, 30)

    steps = [
        (at(117, 9, 15), triaged),
        (at(116, 11, 0), adult),
        (at(113, 14, 20), msp),
        (at(113, 14, 25), outcome("I want my daughter to stop taking my money, but I don't want her in trouble with the police.")),
        (at(113, 14, 30), outcome("I want to be the one who decides who handles my money.")),
        (at(113, 14, 35), lambda: ops.record_consent(concern, consent=ConsentToShare.GIVEN, by=lead)),
        (at(110, 10, 0), advocate),
        (at(110, 10, 5), lambda: ops.start_work(concern, by=lead)),
        (at(96, 16, 10), comment(LEAD,
            "Update from Jo's District Nurse, Nia Penhaligon, after her visit today: Jo has decided to open a new bank account that only "
            "she can use and wants her daughter at the next meeting, at the GP surgery, with her advocate there. Nia reminded Jo that "
            "she is best placed to say what is a risk for her and that she can change her mind.")),
        (at(96, 16, 40), outcome("I want to know who to ring if I'm worried.")),
        (at(82, 12, 0), comment(LEAD,
            "Meeting at Kingsford Health Centre with Jo, her advocate Cerys, Nia and Jo's daughter. Her daughter agreed to hand back the "
            "card and to talk to a debt adviser. Plain-words minutes sent to Jo and read through with her at home.")),
        (at(60, 10, 30), comment(LEAD,
            "Police not involved, as Jo wished. Risk reviewed: no money taken since the new account. Jo's daughter has missed the last "
            "two visits; Jo is sad about this.", True)),
        (at(35, 15, 30), close),
    ]
    builder.run(concern, steps)
    return concern


# Entry point ----------------------------------------------------------------------------------


def seed_concerns(area: Area, agencies: dict[str, Agency], users: dict[str, User]) -> dict[str, Concern]:
    """Build the demo concerns, oldest first so that references follow the order they were raised."""
    builder = _Builder(area, agencies, users)
    stories = CLOSED + IN_PROGRESS + TRIAGED + SUBMITTED
    planned = [(builder.raised_at(story), story) for story in stories]
    jo_raised = datetime.combine(builder.today - timedelta(days=118), time(19, 42), tzinfo=UTC)
    planned.append((jo_raised, None))
    for raised_at, story in sorted(planned, key=lambda pair: pair[0]):
        if story is None:
            seed_jos_story(builder)
        else:
            builder.build(story, raised_at)
    for user in users.values():
        user.membership = None
    return builder.concerns


def settle_demo_notifications(area: Area, started: datetime) -> None:
    """After the seed's commit has delivered its notifications: older ones have been read by now,
    and each email went out when its event happened."""
    in_area = sa.select(Concern.id).where(Concern.area_id == area.id)
    db.session.execute(
        sa.update(Notification)
        .where(Notification.read_at.is_(None), Notification.created_at < started - timedelta(days=14),
               Notification.concern_id.in_(in_area))
        .values(read_at=Notification.created_at)
        .execution_options(synchronize_session=False)
    )
    intents = sa.select(NotificationIntent.id).where(
        NotificationIntent.subject_type == "concern", NotificationIntent.subject_id.in_(in_area)
    )
    for delivery in db.session.scalars(sa.select(EmailDelivery).where(EmailDelivery.intent_id.in_(intents))):
        delivery.created_at = delivery.intent.created_at
        if delivery.sent_at is not None:
            delivery.sent_at = delivery.intent.created_at + timedelta(seconds=40)
    db.session.commit()
