"""Demo escalations for Northshire: a dozen disagreements between partners, at every rung of the ladder.

Each story is raised and moved through :mod:`portal.escalations.operations` with ``now=`` set to
when it happened, so deadlines, grace periods, reminders and breaches are computed by the portal's
own clock (:mod:`portal.escalations.ladder`), never typed. Reminders that fell due before a move
are fired first, with their own time, as the scheduler would have fired them; what operations
stamp with the real time (notification intents, ``updated_at``) is moved back to the story's
time, as the concerns' demo does. The audit trail is never touched.

The stories, between agencies and people who have demo accounts:

- the police's designated lead disagrees with the council's triage of a concern (an assault
  disclosed by a carer, not referred to the police); the council did not answer in time, **the
  portal moved it up by itself**, and at the second stage the council has responded;
- the provider quality meeting's chair (the ICB's commissioner) escalates Riverside's **overdue
  falls audit**: acknowledged, never answered, **breached** and inside its grace period;
- the ICB escalates **night staffing at Riverside House** to Riverside: two answers did not
  settle it; at the third stage, open and **breached**, inside its grace period;
- the ICB escalates a **concern** (unexplained fractures at Oakfield Manor) to the council, up to
  the **meeting of all parties**: the adult's advocate's view recorded by the council's lead, and
  a **mediation note** from the Board's chair;
- the police escalate a cuckooing concern to the council with **harm imminent**: answered the same
  day, **resolved with learning** earlier this quarter;
- the regulator escalates late notifications at **Riverside Care Homes as a whole**: resolved at the
  second stage, with learning, last quarter;
- the council's lead escalates a **meeting decision** ("keep Meadowbank under review") to the ICB,
  resolved once the next meeting agreed an organisational review;
- the regulator escalates lapsed deprivation of liberty authorisations at Cedar Lodge to the
  council, then **withdraws** it, with the reason;
- and some fresh ones: the police about door entry at Lantern House (open), Riverside's manager
  disagreeing with the regulator's draft rating of Willow Court (open at the second stage), the
  council disagreeing with the police's decision not to investigate injuries seen at A&E
  (acknowledged), and the ICB about hospital discharges waiting for home care (responded).

A concern is named by its reference only: the operations refuse the adult's name, and the adult's
view itself never names them either.

The portal's scheduler calls :func:`escalate_overdue` with the real time on its first tick, so the
breached stories are timed to be inside their grace period when the demo is loaded (a demo left
running for a few days will see them move up, which is right). The automatic move is made by
:func:`escalate_overdue` itself, with a moment in the past, once every other story is in place and
nothing else in Northshire is due by then; it commits, as the scheduled task does (so, unlike the
rest of the seed, what was built before it is committed even if a later step fails), and in a
database holding other areas it moves their overdue escalations too, as the first tick would.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from portal.agencies.models import Agency, Area, Service
from portal.agreements.sharing import london_today
from portal.concerns.models import Concern
from portal.core.codes import AbuseType, KeyQuestion, Role
from portal.core.db import utcnow
from portal.core.workdays import LONDON, add_working_days, is_working_day, subtract_working_days
from portal.demo.concerns import ICB, INSPECTOR, LEAD, MANAGER
from portal.demo.meetings import BOARD_CHAIR, MEADOWBANK_PROVIDER, RIVERSIDE_PROVIDER, SERIES_TITLE
from portal.escalations import operations as ops
from portal.escalations.ladder import auto_escalate_time, ladder_for, stage_deadline
from portal.escalations.models import AWAITING_STATES, Escalation, EscalationSubject, ViewGivenBy
from portal.extensions import db
from portal.meetings.models import AgendaItem, Meeting, MeetingAction, MeetingStatus
from portal.notifications.models import EmailDelivery, Notification, NotificationIntent, Reminder
from portal.notifications.operations import record_intent
from portal.people.models import User

POLICE_LEAD = "lead@police.northshire.example"
COUNCIL = "Northshire County Council"
ICB_AGENCY = "NHS Northshire Integrated Care Board"
REGULATOR = "Care Quality Commission (demo region)"
POLICE = "Northshire Police"
FALLS_AUDIT = "Send the refreshed falls audit for Riverside House to the ICB"

#: The role each person acts in here (the ICB's commissioner also sits on the Board).
ACTING_ROLE = {
    LEAD: Role.SAFEGUARDING_LEAD,
    ICB: Role.COMMISSIONER,
    INSPECTOR: Role.INSPECTOR,
    MANAGER: Role.PROVIDER_MANAGER,
    POLICE_LEAD: Role.SAFEGUARDING_LEAD,
    BOARD_CHAIR: Role.SAB_CHAIR,
}

A, KQ = AbuseType, KeyQuestion


def _london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def _day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class _Seeder:
    def __init__(self, area: Area, agencies: dict[str, Agency], users: dict[str, User], concerns: dict[str, Concern]):
        self.area = area
        self.agencies = agencies
        self.users = users
        self.concerns = concerns
        #: Everything an operation stamps with the real time is at or after this; the seed moves it back.
        self.started = utcnow()
        self.today = london_today()
        self.ladder = ladder_for(area.id)
        self.services = {
            service.name: service
            for service in db.session.scalars(
                sa.select(Service).join(Agency, Service.provider_id == Agency.id).where(Agency.area_id == area.id)
            )
        }
        self.built: list[Escalation] = []

    # People and time ------------------------------------------------------------------------------

    def act(self, email: str) -> User:
        """The person, acting in the role the demo gives them (operations need a membership)."""
        user = self.users[email]
        user.membership = next(m for m in user.active_memberships if m.role is ACTING_ROLE[email])
        return user

    def ago(self, working_days: int, hour: int, minute: int = 0) -> datetime:
        """A time in England on the working day ``working_days`` before today."""
        return _london(subtract_working_days(self.today, working_days), hour, minute)

    @staticmethod
    def after(moment: datetime, working_days: int, hour: int, minute: int = 0) -> datetime:
        """A time in England ``working_days`` working days after the day of ``moment``."""
        return _london(add_working_days(_day(moment), working_days), hour, minute)

    def breached_start(self, number: int, hour: int, minute: int = 0) -> datetime:
        """The latest start, in office hours, for a stage whose deadline has passed by now but whose
        grace period has not: the portal must not move it up as soon as the demo runs."""
        rule = self.ladder.stage(number)
        for days in range(1, 40):
            start = self.ago(days, hour, minute)
            deadline = stage_deadline(start, rule.working_days, harm_imminent=False)
            if deadline < self.started - timedelta(minutes=10):
                auto = auto_escalate_time(deadline, self.ladder, harm_imminent=False)
                if auto <= self.started + timedelta(hours=2):
                    raise RuntimeError("The demo's breached escalations would move up as soon as the portal runs")
                return start
        raise RuntimeError("No working days found for a breached demo escalation")

    def reference(self, key: str) -> str:
        return self.concerns[key].reference

    # Running the stories --------------------------------------------------------------------------

    def raise_(self, when: datetime, by: str, subject: EscalationSubject, to: str, *, disagreement: str, wanted: str,
               harm_imminent: bool = False, key_questions=(), abuse_types=(), concern: str | None = None,
               service: str | None = None, provider: str | None = None, meeting_action=None,
               agenda_item=None) -> Escalation:
        details = ops.RaiseDetails(
            subject=subject, receiving_agency=self.agencies[to], disagreement=disagreement, wanted=wanted,
            harm_imminent=harm_imminent, abuse_types=list(abuse_types), key_questions=list(key_questions),
            concern=self.concerns[concern] if concern else None, service=self.services[service] if service else None,
            provider=self.agencies[provider] if provider else None, meeting_action=meeting_action, agenda_item=agenda_item,
        )
        escalation = ops.raise_escalation(details, by=self.act(by), now=when)
        escalation.created_at = when
        self.built.append(escalation)
        self.settle(escalation, when)
        return escalation

    def run(self, escalation: Escalation, steps: list[tuple[datetime, Callable[[datetime], None]]]) -> None:
        """Make each move at its time: the reminders that fell due before it fire first."""
        for when, move in steps:
            self.fire_reminders(escalation, when)
            move(when)
            self.settle(escalation, when)

    def settle(self, escalation: Escalation, when: datetime) -> None:
        """Move what the last move stamped with the real time back to ``when``."""
        db.session.flush()
        escalation.updated_at = when
        db.session.execute(
            sa.update(NotificationIntent)
            .where(NotificationIntent.subject_type == "escalation", NotificationIntent.subject_id == escalation.id,
                   NotificationIntent.created_at >= self.started)
            .values(created_at=when)
            .execution_options(synchronize_session=False)
        )

    def fire_reminders(self, escalation: Escalation, until: datetime) -> None:
        """Fire this escalation's reminders due by ``until``, each at its own time, as the
        scheduler would have (:func:`portal.notifications.reminders.fire_due_reminders`)."""
        due = db.session.scalars(
            sa.select(Reminder).where(
                Reminder.key.like(f"escalation:{escalation.id}:%"), Reminder.due_at <= until,
                Reminder.fired_at.is_(None), Reminder.cancelled_at.is_(None),
            ).order_by(Reminder.due_at, Reminder.id)
        ).all()
        for reminder in due:
            intent = record_intent(
                reminder.event, subject_type=reminder.subject_type, subject_id=reminder.subject_id,
                summary=reminder.summary, link=reminder.link, recipients=[db.session.get(User, reminder.recipient_id)],
            )
            if intent is not None:
                intent.created_at = reminder.due_at
            reminder.fired_at = reminder.due_at
        db.session.flush()

    # Moves as callables of (escalation) -> (when) -> None, to keep each story readable.

    def moves(self, escalation: Escalation, *steps) -> None:
        self.run(escalation, [(when, make(escalation)) for when, make in steps])

    def ack(self, by: str):
        return lambda esc: lambda when: ops.acknowledge(esc, by=self.act(by), now=when)

    def respond(self, by: str, text: str):
        return lambda esc: lambda when: ops.respond(esc, text, by=self.act(by), now=when)

    def escalate(self, by: str, reason: str):
        return lambda esc: lambda when: ops.escalate(esc, reason, by=self.act(by), now=when)

    def resolve(self, by: str, outcome: str, learning: str):
        return lambda esc: lambda when: ops.resolve(esc, outcome, learning, by=self.act(by), now=when)

    def withdraw(self, by: str, reason: str):
        return lambda esc: lambda when: ops.withdraw(esc, reason, by=self.act(by), now=when)

    def adult_view(self, by: str, view: str, given_by: ViewGivenBy):
        return lambda esc: lambda when: ops.record_adult_view(esc, view, given_by, by=self.act(by), now=when)

    def mediate(self, by: str, note: str):
        return lambda esc: lambda when: ops.add_mediation_note(esc, note, by=self.act(by), now=when)

    # The stories ------------------------------------------------------------------------------------

    def police_triage_disagreement(self) -> tuple[Escalation, datetime]:
        """Raised by the police's designated lead; left unanswered past its grace period. Returns
        it with the moment the portal's scheduler moved it up (made by :meth:`auto_escalate`)."""
        concern = self.concerns["ivy-carer"]
        raised = max(self.ago(10, 10, 20), concern.triaged_at + timedelta(days=1))
        escalation = self.raise_(
            raised, POLICE_LEAD, EscalationSubject.DISAGREEMENT, COUNCIL, concern="ivy-carer",
            disagreement=(
                f"At triage of concern {concern.reference} the council decided on a section 42 enquiry about support for the "
                "carer, without telling the police. An assault on a man with advanced dementia was disclosed by his carer at "
                "the day hospital; the police should have been told at triage and asked to the strategy discussion."
            ),
            wanted=(
                "Share the disclosure with the police's adult safeguarding team now and invite us to the strategy discussion, "
                "so that we can decide together whether a criminal investigation is proportionate."
            ),
        )
        stage = escalation.current_stage
        return escalation, stage.auto_escalate_at + timedelta(minutes=4)

    def auto_escalate(self, escalation: Escalation, at: datetime) -> None:
        """The portal's own move, by the scheduled task's body, at a moment in the past."""
        others = db.session.scalar(
            sa.select(sa.func.count()).select_from(Escalation).where(
                Escalation.area_id == self.area.id, Escalation.id != escalation.id, Escalation.state.in_(AWAITING_STATES),
                Escalation.auto_escalate_at <= at,
            )
        )
        if others:
            raise RuntimeError("Another demo escalation would be moved up with the one the portal escalates")
        self.fire_reminders(escalation, at)
        db.session.flush()
        ops.escalate_overdue(now=at)
        db.session.refresh(escalation)
        if escalation.stage != 2:
            raise RuntimeError("The demo's automatic escalation did not happen")
        self.settle(escalation, at)

    def police_triage_disagreement_answered(self, escalation: Escalation, moved_at: datetime) -> None:
        self.moves(
            escalation,
            (self.after(moved_at, 1, 9, 20), self.ack(LEAD)),
            (self.after(moved_at, 2, 15, 10), self.respond(LEAD,
                "We agree the police should have been told at triage. The disclosure was shared with your adult safeguarding "
                "team this morning under the information sharing agreement, and you are invited to the strategy discussion "
                "on Thursday. The enquiry's focus stays support for the carer, which his sister supports: both want him to "
                "stay at home.")),
        )

    def falls_audit(self) -> Escalation:
        action = db.session.scalar(sa.select(MeetingAction).where(MeetingAction.description == FALLS_AUDIT))
        raised = self.breached_start(1, 10, 5)
        if action.due_on >= _day(raised):
            raise RuntimeError("The demo's falls audit is not overdue when it is escalated")
        meeting_day = _day(action.meeting.starts_at)
        escalation = self.raise_(
            raised, ICB, EscalationSubject.MEETING_ACTION, RIVERSIDE_PROVIDER, meeting_action=action,
            key_questions=(KQ.SAFE, KQ.WELL_LED), abuse_types=(A.NEGLECT,),
            disagreement=(
                f"The refreshed falls audit for Riverside House, agreed at the provider quality meeting on "
                f"{meeting_day:%-d %B %Y}, was due on {action.due_on:%-d %B %Y}. It has not arrived and no update has been "
                "given, while falls with injury at the home are still being notified."
            ),
            wanted="Send the audit, or a date for it and the reason for the delay, before the next provider quality meeting.",
        )
        self.moves(escalation, (self.after(raised, 1, 11, 30), self.ack(MANAGER)))
        return escalation

    def riverside_night_staffing(self) -> Escalation:
        third = self.breached_start(3, 9, 40)
        raised = _london(subtract_working_days(_day(third), 9), 11, 0)
        escalation = self.raise_(
            raised, ICB, EscalationSubject.SERVICE, RIVERSIDE_PROVIDER, service="Riverside House",
            key_questions=(KQ.SAFE, KQ.WELL_LED), abuse_types=(A.NEGLECT, A.ORGANISATIONAL),
            disagreement=(
                "Night staffing at Riverside House is below the safe level in the contract: on eight of the last fourteen "
                "nights there was one registered nurse for 60 residents, and agency staff did not know residents' care plans. "
                "Two falls at night were not passed to the nurse in charge."
            ),
            wanted=("A safe night staffing plan with two registered nurses every night, and the rota for the next four weeks "
                    "sent to the ICB's quality team."),
        )
        self.moves(
            escalation,
            (self.after(raised, 0, 15, 0), self.ack(MANAGER)),
            (self.after(raised, 2, 16, 30), self.respond(MANAGER,
                "We have recruited two night nurses who start next month, and agency nurses now get a handover sheet for "
                "every resident. Until then we will book the same two agency nurses each week.")),
            (self.after(raised, 3, 10, 0), self.escalate(ICB,
                "The rota for the next four weeks still shows one registered nurse on six nights, and the new starters are "
                "a month away. The risk is now, at night.")),
            (self.after(raised, 3, 14, 30), self.ack(MANAGER)),
            (self.after(raised, 6, 12, 0), self.respond(MANAGER,
                "We have asked our regional director to approve a block booking of agency nurses so that two are on every "
                "night from Monday; the rota will follow once it is confirmed.")),
            (third, self.escalate(ICB,
                "No confirmation has come and last night's rota again showed one registered nurse. We need a decision from "
                "Riverside's senior management.")),
        )
        return escalation

    def fractures_to_the_meeting_of_all_parties(self) -> Escalation:
        concern = self.concerns["albert-fractures"]
        raised = max(self.ago(17, 11, 0), concern.triaged_at + timedelta(days=1))
        reference = concern.reference
        escalation = self.raise_(
            raised, ICB, EscalationSubject.CONCERN, COUNCIL, concern="albert-fractures", key_questions=(KQ.SAFE, KQ.CARING),
            disagreement=(
                f"Concern {reference}: two unexplained healing rib fractures in a resident with advanced dementia at Oakfield "
                "Manor. The enquiry plan keeps him at the home, with female carers for personal care, while the police "
                "investigate. The staff on duty when he is likely to have been hurt have not been identified, and the home's "
                "night staffing is under review."
            ),
            wanted=("A move to a place of safety until the staff on duty are identified or, if he stays, waking-night checks "
                    "by staff who were not on the rota at the time, confirmed to the ICB in writing."),
        )
        self.moves(
            escalation,
            (self.after(raised, 0, 15, 30), self.ack(LEAD)),
            (self.after(raised, 2, 16, 0), self.respond(LEAD,
                "The best-interests decision, made with his advocate, is that he stays: a move would distress him and he "
                "always said he never wanted to leave Westmere. Female carers only for personal care, and no agency staff "
                "on his unit, are in place.")),
            (self.after(raised, 3, 9, 30), self.escalate(ICB,
                "The plan does not say who checks that the staff on his unit were not on duty when he was hurt. We need that "
                "assurance before we can agree he stays.")),
            (self.after(raised, 3, 14, 0), self.ack(LEAD)),
            (self.after(raised, 5, 12, 0), self.respond(LEAD,
                "The home has moved the four staff on the rota for the likely dates off his unit while the police make "
                "enquiries; our enquiry officer checked the rota on Tuesday.")),
            (self.after(raised, 6, 10, 0), self.escalate(ICB,
                "The police have not yet confirmed the likely dates, so the rota check may have missed people. We need a "
                "senior decision on whether he stays.")),
            (self.after(raised, 6, 16, 0), self.ack(LEAD)),
            (self.after(raised, 7, 11, 0), self.adult_view(LEAD,
                "His advocate has visited him three times. She says he is settled on his unit: he knows the music played in "
                "the lounge, and he becomes frightened with men he does not know. A move now would cause him great distress "
                "and go against his lifelong wish to stay in Westmere. She supports female carers and checks on the staff "
                "rather than a move.", ViewGivenBy.ADVOCATE)),
            (self.after(raised, 8, 15, 0), self.respond(LEAD,
                "Having heard his advocate's view, the council's head of safeguarding confirms the best-interests decision: "
                "he stays, with the staffing safeguards in place and reviewed weekly until the police conclude.")),
            (self.after(raised, 10, 9, 0), self.escalate(ICB,
                "His wishes carry great weight, but the ICB pays for his nursing care and cannot yet be assured it is safe. "
                "We ask for a meeting of all parties, with the Board's mediation.")),
            (self.after(raised, 11, 10, 0), self.ack(LEAD)),
            (self.after(raised, 15, 16, 0), self.mediate(BOARD_CHAIR,
                "Meeting of all parties held with the council, the ICB, the police and his advocate. Agreed: weekly rota "
                "checks shared with the ICB, and the police to confirm the likely dates within two weeks. Not yet agreed: "
                "whether waking-night checks by named staff are needed. The Board helps the agencies agree; the decision "
                "stays with them. The parties meet again in two weeks.")),
        )
        return escalation

    def cuckooing_harm_imminent(self) -> Escalation:
        """Resolved earlier this quarter, so the Board's page has learning captured this quarter."""
        quarter = _quarter_start(self.today)
        first_day = quarter if is_working_day(quarter) else add_working_days(quarter, 1)
        resolved = self.ago(4, 11, 0)
        if resolved < _london(first_day, 11, 0):
            opening = _london(first_day, 11, 0)
            quarter_start = _london(quarter, 0, 0)
            resolved = opening if opening < self.started - timedelta(hours=1) else quarter_start + (self.started - quarter_start) / 2
        concern = self.concerns["jamie-cuckooing"]
        raised = max(_london(subtract_working_days(_day(resolved), 1), 10, 5), concern.triaged_at + timedelta(hours=1))
        escalation = self.raise_(
            raised, POLICE_LEAD, EscalationSubject.CONCERN, COUNCIL, concern="jamie-cuckooing", harm_imminent=True,
            key_questions=(KQ.SAFE,),
            disagreement=(
                f"Concern {concern.reference}, suspected cuckooing at Lantern House: our intelligence today is that the men "
                "using his flat plan to return tonight. The enquiry plan is a review meeting next week, and the provider's "
                "night staff have not been told what to do if they come."
            ),
            wanted=("Today: a safety plan for tonight agreed with the provider, including who the night staff call and a "
                    "temporary move if he agrees, and the police's direct number given to the night staff."),
        )
        self.moves(
            escalation,
            (raised + timedelta(minutes=35), self.ack(LEAD)),
            (raised + timedelta(hours=5, minutes=15), self.respond(LEAD,
                "Agreed. The enquiry officer met him at 2pm with his support worker and he agreed to stay with his brother "
                "for three nights. The provider's night staff have the police's direct number and a plan for tonight, and "
                "the door entry codes were changed this afternoon.")),
            (max(resolved, raised + timedelta(hours=6)), self.resolve(POLICE_LEAD,
                "He stayed safely with his brother; two men were arrested at the flat that night. The enquiry continues with "
                "a longer-term plan he has agreed to.",
                "Where harm is imminent, agree the plan for tonight by phone first and write it down after. A provider's night "
                "staff must always know who to call: this is now in the safeguarding schedule of the supported living "
                "contract.")),
        )
        return escalation

    def riverside_notifications(self) -> Escalation:
        """Resolved at the second stage last quarter."""
        last_quarter = _quarter_start(self.today) - timedelta(days=28)
        resolved_day = last_quarter if is_working_day(last_quarter) else subtract_working_days(last_quarter, 1)
        raised = _london(subtract_working_days(resolved_day, 12), 10, 30)
        escalation = self.raise_(
            raised, INSPECTOR, EscalationSubject.PROVIDER, RIVERSIDE_PROVIDER, provider=RIVERSIDE_PROVIDER,
            key_questions=(KQ.WELL_LED, KQ.SAFE), abuse_types=(A.ORGANISATIONAL,),
            disagreement=(
                "Statutory notifications from Riverside Care Homes' three homes arrive late or not at all: last quarter we "
                "learned of four serious injuries and a police incident from families and the council, not from the provider."
            ),
            wanted=("Every notifiable event reported to the regulator without delay, with one person at provider level "
                    "accountable for notifications across all three homes."),
        )
        self.moves(
            escalation,
            (self.after(raised, 1, 9, 45), self.ack(MANAGER)),
            (self.after(raised, 4, 16, 0), self.respond(MANAGER,
                "Each home's manager is responsible for their own notifications; we have reminded them of the requirements.")),
            (self.after(raised, 5, 10, 15), self.escalate(INSPECTOR,
                "Reminders have not worked before. We need the provider, not each home, to own this.")),
            (self.after(raised, 5, 15, 0), self.ack(MANAGER)),
            (self.after(raised, 9, 11, 30), self.respond(MANAGER,
                "Riverside has made its quality and compliance manager the named lead for notifications across the group. "
                "Each home sends her a daily incident log and she checks that notifications are made within 24 hours. Her "
                "first monthly report goes to the regulator and the ICB at the end of this month.")),
            (_london(resolved_day, 15, 0), self.resolve(INSPECTOR,
                "A named compliance lead for the group, a daily incident log from each home, and a monthly report of "
                "notifications to the regulator and the ICB. Every notification since has been on time.",
                "Where one provider runs several homes, escalate to the provider as a whole rather than home by home: one "
                "accountable person fixed what reminders to each manager had not. Notifications are now a standing item at "
                "the provider quality meeting.")),
        )
        return escalation

    def keep_under_review(self) -> Escalation:
        """A decision in approved minutes, resolved once the next meeting decided otherwise."""
        held = db.session.scalars(
            sa.select(Meeting).where(Meeting.area_id == self.area.id, Meeting.title == SERIES_TITLE,
                                     Meeting.status == MeetingStatus.HELD).order_by(Meeting.starts_at)
        ).all()
        first, second = held[0], held[1]
        item = db.session.scalar(sa.select(AgendaItem).where(AgendaItem.meeting_id == first.id,
                                                             AgendaItem.title == MEADOWBANK_PROVIDER))
        raised = _london(add_working_days(_day(first.minutes_approved_at), 1), 10, 0)
        escalation = self.raise_(
            raised, LEAD, EscalationSubject.MEETING_DECISION, ICB_AGENCY, agenda_item=item,
            key_questions=(KQ.SAFE, KQ.WELL_LED), abuse_types=(A.NEGLECT, A.ORGANISATIONAL),
            disagreement=(
                f"The provider quality meeting on {_day(first.starts_at):%-d %B %Y} decided to keep Meadowbank under review "
                "and make one unannounced visit. Two complaints about call bells at night, agency use above 30% and gaps in "
                "night staffing already point the same way; waiting for the next meeting leaves residents at risk."
            ),
            wanted="Revisit the decision now: start an organisational safeguarding enquiry at Meadowbank alongside the visit.",
        )
        self.moves(
            escalation,
            (self.after(raised, 1, 9, 30), self.ack(ICB)),
            (self.after(raised, 3, 14, 0), self.respond(ICB,
                "The unannounced visit is the proportionate next step and will take place within three weeks, at night. Its "
                "findings will come to the next meeting, where an organisational enquiry can be decided on the evidence.")),
            (self.after(second.starts_at, 1, 10, 30), self.resolve(LEAD,
                "The visit found safe staffing and leadership Poor. The next meeting agreed an organisational safeguarding "
                "review and asked the regulator to bring its inspection forward.",
                "'Keep under review' needs a date to revisit and a named owner. When two or more sources point the same way, "
                "partners now meet within a week rather than wait for the next monthly meeting.")),
        )
        return escalation

    def cedar_lodge_withdrawn(self) -> Escalation:
        raised = max(self.ago(25, 11, 15), self.concerns["cedar-dols"].triaged_at + timedelta(days=1))
        escalation = self.raise_(
            raised, INSPECTOR, EscalationSubject.SERVICE, COUNCIL, service="Cedar Lodge",
            key_questions=(KQ.SAFE, KQ.EFFECTIVE), abuse_types=(A.ORGANISATIONAL,),
            disagreement=(
                "Eleven deprivation of liberty authorisations at Cedar Lodge have lapsed. The council is the supervisory body, "
                "and the home's applications to renew them have waited over three months for assessment; bed rails are in "
                "use without authorisation meanwhile."
            ),
            wanted="Prioritise the eleven assessments at Cedar Lodge and tell the home and the regulator when they will be done.",
        )
        self.moves(
            escalation,
            (self.after(raised, 1, 10, 0), self.ack(LEAD)),
            (self.after(raised, 4, 16, 45), self.withdraw(INSPECTOR,
                "The council's deprivation of liberty team has booked all eleven assessments within three weeks, and the home "
                "has interim risk assessments for the bed rails. We are content, and will follow it up at the next inspection.")),
        )
        return escalation

    def lantern_house_door_entry(self) -> Escalation:
        return self.raise_(
            self.ago(2, 14, 10), POLICE_LEAD, EscalationSubject.SERVICE, COUNCIL, service="Lantern House",
            key_questions=(KQ.SAFE, KQ.RESPONSIVE), abuse_types=(A.MODERN_SLAVERY, A.FINANCIAL),
            disagreement=(
                "Lantern House: three tenants in six months have had their flats taken over by people dealing drugs (the latest "
                f"is concern {self.reference('jamie-cuckooing')}). The provider's door-entry and visitor arrangements are not "
                "enforced at night, and the council's contract does not require them."
            ),
            wanted=("The council, as commissioner, to require a visitor and door-entry plan at Lantern House and Lantern Flats "
                    "within a month, agreed with the police's neighbourhood team."),
        )

    def willow_court_rating(self) -> Escalation:
        raised = self.ago(9, 13, 0)
        escalation = self.raise_(
            raised, MANAGER, EscalationSubject.DISAGREEMENT, REGULATOR, key_questions=(KQ.SAFE,),
            disagreement=(
                "The draft inspection report for Willow Court rates Safe as Requires improvement on evidence from before the "
                "new night staffing rota and the falls training. We sent factual accuracy comments with the new rota and the "
                "training records; the draft has not changed."
            ),
            wanted="Reconsider the Safe rating with the evidence we sent, or explain in writing why it does not change it.",
        )
        self.moves(
            escalation,
            (self.ago(8, 10, 0), self.ack(INSPECTOR)),
            (self.ago(6, 15, 30), self.respond(INSPECTOR,
                "The factual accuracy comments were considered. The new rota started after the inspection and has not yet been "
                "tested; the rating reflects what we found. We will look at it again at the next inspection.")),
            (self.ago(2, 9, 15), self.escalate(MANAGER,
                "The rating will be published and will affect placements for months. We ask a manager to review whether "
                "evidence of improvement sent before publication should be taken into account.")),
        )
        return escalation

    def no_police_investigation(self) -> Escalation:
        concern = self.concerns["mehmet-injuries"]
        raised = max(self.ago(3, 11, 40), concern.triaged_at + timedelta(hours=2))
        escalation = self.raise_(
            raised, LEAD, EscalationSubject.DISAGREEMENT, POLICE, concern="mehmet-injuries",
            disagreement=(
                f"Concern {concern.reference}: a broken wrist and old bruising, raised by A&E, that do not fit his account of a "
                "fall. The police decided not to investigate unless he makes a statement, and he is too frightened of the "
                "relative he lives with to give one."
            ),
            wanted=("An evidence-led investigation that does not depend on his statement: A&E's records and photographs, and "
                    "what the ward staff heard when he was seen alone with an interpreter."),
        )
        self.moves(escalation, (max(self.ago(2, 9, 50), raised + timedelta(hours=1)), self.ack(POLICE_LEAD)))
        return escalation

    def discharges_waiting_for_home_care(self) -> Escalation:
        raised = self.ago(5, 10, 30)
        escalation = self.raise_(
            raised, ICB, EscalationSubject.SERVICE, COUNCIL, service="Homecare Rapid Response",
            key_questions=(KQ.RESPONSIVE, KQ.EFFECTIVE), abuse_types=(A.NEGLECT,),
            disagreement=(
                "Homecare Rapid Response cannot start care within 48 hours of discharge. People stay in hospital for days "
                "after they are ready to leave, or go home without care: two discharges last month led to safeguarding "
                "concerns."
            ),
            wanted=("The council, as commissioner, to agree with the provider how many new packages a week it can start, "
                    "and to arrange bridging care when it cannot."),
        )
        self.moves(
            escalation,
            (self.ago(4, 9, 0), self.ack(LEAD)),
            (self.ago(1, 14, 45), self.respond(LEAD,
                "We have agreed with the provider ten guaranteed starts a week from next month, and bridging care through "
                "Homecare North until then. We will report starts weekly to the ICB's discharge team.")),
        )
        return escalation

    # Finishing ------------------------------------------------------------------------------------

    def finish(self) -> None:
        """Fire what fell due before the demo was loaded, as the scheduler would have; later
        reminders and breaches stay armed for the running portal."""
        for escalation in self.built:
            self.fire_reminders(escalation, self.started)
        late = [e.reference for e in self.built for event in e.events if event.occurred_at >= self.started]
        if late:
            raise RuntimeError(f"Demo escalations with moves in the future: {sorted(set(late))}")


def seed_escalations(area: Area, agencies: dict[str, Agency], users: dict[str, User],
                     concerns: dict[str, Concern]) -> list[Escalation]:
    """Northshire's escalations (see the module's docstring); after the meetings, which they refer to."""
    seeder = _Seeder(area, agencies, users, concerns)
    police, moved_at = seeder.police_triage_disagreement()
    seeder.falls_audit()
    seeder.riverside_night_staffing()
    seeder.fractures_to_the_meeting_of_all_parties()
    seeder.cuckooing_harm_imminent()
    seeder.riverside_notifications()
    seeder.keep_under_review()
    seeder.cedar_lodge_withdrawn()
    seeder.lantern_house_door_entry()
    seeder.willow_court_rating()
    seeder.no_police_investigation()
    seeder.discharges_waiting_for_home_care()
    # Last, when every other story is in place, so the scheduled task's body moves only this one.
    seeder.auto_escalate(police, moved_at)
    seeder.police_triage_disagreement_answered(police, moved_at)
    seeder.finish()
    for user in users.values():
        user.membership = None
    return seeder.built


def settle_escalation_notifications(area: Area, started: datetime) -> None:
    """After the seed's commit has delivered the escalations' notifications (as
    :func:`portal.demo.concerns.settle_demo_notifications` does for concerns): each shows when its
    event happened (one was delivered mid-seed, when the portal moved an escalation up), those
    older than a fortnight have been read, and each email went out when its event happened."""
    in_area = sa.select(Escalation.id).where(Escalation.area_id == area.id)
    intents = sa.select(NotificationIntent.id).where(
        NotificationIntent.subject_type == "escalation", NotificationIntent.subject_id.in_(in_area)
    )
    intent_time = (
        sa.select(NotificationIntent.created_at).where(NotificationIntent.id == Notification.intent_id).scalar_subquery()
    )
    db.session.execute(
        sa.update(Notification).where(Notification.intent_id.in_(intents)).values(created_at=intent_time)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Notification)
        .where(Notification.read_at.is_(None), Notification.created_at < started - timedelta(days=14),
               Notification.intent_id.in_(intents))
        .values(read_at=Notification.created_at)
        .execution_options(synchronize_session=False)
    )
    for delivery in db.session.scalars(sa.select(EmailDelivery).where(EmailDelivery.intent_id.in_(intents))):
        delivery.created_at = delivery.intent.created_at
        if delivery.sent_at is not None:
            delivery.sent_at = delivery.intent.created_at + timedelta(seconds=40)
    db.session.commit()
