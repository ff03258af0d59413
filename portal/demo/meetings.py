"""Demo meetings for Northshire: the monthly provider quality meeting, Jo's meetings, and the Board.

**The provider quality and information-sharing meeting** meets on the second Tuesday of each
month, organised and chaired by the ICB's commissioner, minuted by the council's safeguarding
lead, with the regulator's inspector, Riverside's manager, the Board's chair and the police's
Board member invited. Meadowbank is on every agenda as its picture worsens; Riverside Care Homes
and Cedar Lodge Nursing too. The older meetings are held, their packs frozen and minutes approved;
some of their actions are done and some are overdue, carrying from meeting to meeting. The latest
meeting has taken place but is not yet marked as held or minuted (that is the minute-taker's next
job), and two are still to come.

**Jo's meetings** (see Jo's story in concerns.py): the meeting at the GP surgery with Jo, her
advocate, her District Nurse and her daughter, with its plain-language summary read through with
Jo at home; and the review at Jo's home a few weeks later, minuted, whose summary is still to be
written.

**The Board** has its next meeting scheduled by its chair, with invitations sent.

A meeting in the past cannot be scheduled through the page (it must start in the future), so the
past meetings are written as the scheduling operation would have written them; everything after
that (holding, packs, attendance, minutes, actions, updates, the summary and its sharing) goes
through the same operations as the pages, with the dates moved back afterwards, as the concerns'
demo does.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import TU, relativedelta

from portal.agencies.models import Agency, Area
from portal.agreements.sharing import london_today
from portal.concerns.models import Concern
from portal.core.workdays import LONDON
from portal.demo.concerns import ICB, LEAD
from portal.extensions import db
from portal.meetings import minutes as minutes_ops
from portal.meetings import operations as meeting_ops
from portal.meetings import summary as summary_ops
from portal.meetings.models import (
    ActionState,
    AgendaItem,
    Attendance,
    Attendee,
    GuestRelationship,
    Meeting,
    MeetingAction,
    MeetingKind,
    MeetingSeries,
    MeetingStatus,
    PlaceKind,
    Reply,
    ShareFormat,
)
from portal.notifications.reminders import cancel_reminders
from portal.people.models import User

INSPECTOR = "inspector@regulator.northshire.example"
RIVERSIDE_MANAGER = "manager@riverside.northshire.example"
BOARD_CHAIR = "chair@sab.northshire.example"
POLICE_MEMBER = "member@police.northshire.example"

SERIES_TITLE = "Provider quality and information-sharing meeting"
SERIES_PLACE = "NHS Northshire ICB, Kingsford House, Room 2, Station Road, Kingsford"
MEADOWBANK_PROVIDER = "Meadowbank Care Group"
RIVERSIDE_PROVIDER = "Riverside Care Homes Ltd"
CEDAR_PROVIDER = "Cedar Lodge Nursing"
GP_SURGERY = "Kingsford Health Centre (the GP surgery), 2 Surgery Lane, Kingsford"

JOS_SUMMARY = """You met us at Kingsford Health Centre. Cerys, your advocate, was there. So were Nia, your nurse, and your daughter.

You told us you want your daughter to stop taking your money. You told us you do not want the police involved. We will respect that.

What we agreed:
Your daughter will give your bank card back to you today.
Nia will help you open a new bank account that only you can use.
Your daughter will talk to a debt adviser.

What happens next:
Sam will ring you in two weeks to see how things are.
You can change your mind about any of this at any time.

If you are worried, ring Sam Okafor on 01632 960 111. Or tell Nia when she visits on Thursday."""


def _second_tuesday(year: int, month: int) -> date:
    return date(year, month, 1) + relativedelta(weekday=TU(+2))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


class _Seeder:
    def __init__(self, area: Area, agencies: dict[str, Agency], users: dict[str, User]):
        self.area = area
        self.agencies = agencies
        self.users = users
        self.today = london_today()

    def act(self, email: str) -> User:
        user = self.users[email]
        user.membership = user.active_memberships[0]
        return user

    # Meetings as the scheduling operation writes them ---------------------------------------------

    def meeting(self, *, kind, title, purpose, day, start, end, organiser, chair=None, minute_taker=None,
                place_kind=PlaceKind.ADDRESS, place=None, series=None, concern=None, invite=(), guests=(),
                agenda=()) -> Meeting:
        chair = chair or organiser
        meeting = Meeting(
            uid=meeting_ops.new_uid(), sequence=0, kind=kind, title=title, purpose=purpose, area_id=self.area.id,
            starts_at=_at(day, *start), ends_at=_at(day, *end), place_kind=place_kind,
            place=place if place_kind is PlaceKind.ADDRESS else None, status=MeetingStatus.SCHEDULED,
            organiser_id=organiser.id, organiser_agency_id=organiser.active_memberships[0].agency_id,
            chair_id=chair.id, minute_taker_id=minute_taker.id if minute_taker else None, series=series,
            concern_id=concern.id if concern is not None else None,
        )
        db.session.add(meeting)
        db.session.flush()
        invited_at = _at(day - timedelta(days=21), 9)
        people = list(dict.fromkeys(p for p in (organiser, chair, minute_taker, *invite) if p is not None))
        for person in people:
            db.session.add(Attendee(
                meeting_id=meeting.id, user_id=person.id, membership_id=person.active_memberships[0].id,
                reply=Reply.ACCEPTED, replied_at=invited_at + timedelta(hours=3), created_at=invited_at,
            ))
        for name, email, relationship in guests:
            db.session.add(Attendee(
                meeting_id=meeting.id, guest_name=name, guest_email=email, guest_relationship=relationship,
                reply=Reply.ACCEPTED, replied_at=invited_at + timedelta(days=1), created_at=invited_at,
            ))
        for position, (item_title, provider) in enumerate(agenda, start=1):
            db.session.add(AgendaItem(meeting_id=meeting.id, position=position, title=item_title,
                                      provider_id=provider.id if provider is not None else None))
        db.session.flush()
        db.session.refresh(meeting)
        return meeting

    def item(self, meeting: Meeting, title: str) -> AgendaItem:
        return next(item for item in meeting.agenda if item.title == title)

    # What happens at and after a meeting, through the operations -----------------------------------

    def hold(self, meeting: Meeting, *, minutes: dict[str, tuple[str, str]], absent=(), approve=True) -> None:
        chair = self.act_user(meeting.chair)
        recorder = self.act_user(meeting.minute_taker or meeting.chair)
        meeting_ops.hold_meeting(meeting, by=chair)
        meeting.held_at = meeting.ends_at
        attendance = {
            attendee.id: Attendance.APOLOGIES if attendee.user_id in absent else Attendance.PRESENT
            for attendee in meeting.attendees
        }
        minutes_ops.record_attendance(meeting, attendance, by=recorder)
        for title, (discussion, decisions) in minutes.items():
            minutes_ops.save_minute(self.item(meeting, title), discussion=discussion, decisions=decisions, by=recorder)
        if approve:
            minutes_ops.approve_minutes(meeting, by=chair)
            meeting.minutes_approved_at = meeting.ends_at + timedelta(days=6)

    def act_user(self, user: User) -> User:
        return self.act(user.email)

    def action(self, meeting: Meeting, item_title: str, description: str, *, owner: str, due_in_days: int,
               progress: list[tuple[int, str, ActionState | None]] = ()) -> MeetingAction:
        """An action agreed at a past meeting, due ``due_in_days`` after it, with its updates (days after the meeting)."""
        recorder = self.act_user(meeting.minute_taker or meeting.chair)
        owner_membership = self.users[owner].active_memberships[0]
        action = minutes_ops.add_action(
            meeting, description=description, owner_membership=owner_membership, due_on=self.today,
            agenda_item=self.item(meeting, item_title), by=recorder,
        )
        meeting_day = meeting.starts_at.astimezone(LONDON).date()
        action.due_on = meeting_day + timedelta(days=due_in_days)
        action.created_at = meeting.ends_at
        for days_after, text, state in progress:
            update = minutes_ops.update_action(action, text=text, state=state, by=self.act(owner), version=action.version)
            update.made_at = _at(meeting_day + timedelta(days=days_after), 15)
            if state is not None and state.finished:
                action.finished_at = update.made_at
        db.session.flush()
        # Every demo action fell due before today: its reminders were due long ago.
        cancel_reminders(f"meeting-action-{action.id}-")
        return action

    # The monthly provider quality meeting ----------------------------------------------------------

    def quality_series(self) -> list[Meeting]:
        chris, sam = self.users[ICB], self.users[LEAD]
        invite = [self.users[INSPECTOR], self.users[RIVERSIDE_MANAGER], self.users[BOARD_CHAIR], self.users[POLICE_MEMBER]]
        meadowbank, riverside, cedar = (self.agencies[name] for name in (MEADOWBANK_PROVIDER, RIVERSIDE_PROVIDER, CEDAR_PROVIDER))
        first = self.today - relativedelta(months=4)
        days = [_second_tuesday((first + relativedelta(months=n)).year, (first + relativedelta(months=n)).month) for n in range(7)]
        past = [day for day in days if day < self.today][-4:]
        upcoming = [day for day in days if day >= self.today][:2]
        series = MeetingSeries(area_id=self.area.id, kind=MeetingKind.PROVIDER_QUALITY, title=SERIES_TITLE,
                               rule=f"FREQ=MONTHLY;BYDAY=+2TU;COUNT={len(past) + len(upcoming)}", created_by_id=chris.id,
                               created_at=_at(past[0] - timedelta(days=30), 9))
        db.session.add(series)
        agenda = [
            (meeting_ops.ACTIONS_ITEM, None), (MEADOWBANK_PROVIDER, meadowbank), (RIVERSIDE_PROVIDER, riverside),
            (CEDAR_PROVIDER, cedar), (meeting_ops.OTHER_BUSINESS_ITEM, None),
        ]
        meetings = [
            self.meeting(
                kind=MeetingKind.PROVIDER_QUALITY, title=SERIES_TITLE,
                purpose=("To share and triangulate what partners know about the quality and safety of commissioned care "
                         "services: contract monitoring, inspections, complaints, notifications and concerns."),
                day=day, start=(10, 0), end=(12, 0), organiser=chris, minute_taker=sam, place=SERIES_PLACE,
                series=series, invite=invite, agenda=agenda,
            )
            for day in past + upcoming
        ]
        first_meeting, second, third, latest = meetings[:4]

        self.hold(first_meeting, minutes={
            meeting_ops.ACTIONS_ITEM: ("First meeting of the new series: no actions carried.", None),
            MEADOWBANK_PROVIDER: (
                "Two complaints this month about call bells not answered at night. The ICB's last visit found gaps in "
                "night staffing and agency use above 30%.",
                "Keep under review. The ICB to make an unannounced contract-monitoring visit."),
            RIVERSIDE_PROVIDER: ("Improvement plan from the ICB's visit in progress; the manager reported on falls.", None),
            CEDAR_PROVIDER: ("Nothing new of concern. Positive feedback from families.", None),
        }, absent={self.users[POLICE_MEMBER].id})
        self.action(first_meeting, MEADOWBANK_PROVIDER, "Unannounced contract-monitoring visit to Meadowbank",
                    owner=ICB, due_in_days=21, progress=[(18, "Visited at night. Report to follow at the next meeting.", ActionState.DONE)])

        self.hold(second, minutes={
            meeting_ops.ACTIONS_ITEM: ("The visit to Meadowbank took place: see the Meadowbank item.", None),
            MEADOWBANK_PROVIDER: (
                "The visit scored Poor on safe staffing and on leadership. Further complaints and a fall with injury "
                "notified. Partners agreed the sources now point the same way on safe and well-led. Confidential "
                "information was discussed and is held in the intelligence record.",
                "Ask the regulator to consider bringing its inspection forward. The council to start an organisational "
                "safeguarding review."),
            RIVERSIDE_PROVIDER: ("Falls audit under way; two actions from the ICB's plan answered.", None),
        })
        self.action(second, MEADOWBANK_PROVIDER, "Ask the regulator to bring Meadowbank's inspection forward",
                    owner=INSPECTOR, due_in_days=14, progress=[(9, "Agreed: inspection planned within six weeks.", ActionState.DONE)])
        self.action(second, MEADOWBANK_PROVIDER, "Organisational safeguarding review of Meadowbank: terms of reference and first meeting",
                    owner=LEAD, due_in_days=28,
                    progress=[(20, "Terms of reference drafted; waiting for the provider's nominated director.", ActionState.IN_PROGRESS)])

        self.hold(third, minutes={
            meeting_ops.ACTIONS_ITEM: ("The organisational review is still being set up (overdue).", None),
            MEADOWBANK_PROVIDER: (
                "The regulator's inspection has taken place; the report is expected soon. The provider has appointed an "
                "interim manager.",
                "The risk register entry stays Red with the ICB's commissioner as owner."),
            RIVERSIDE_PROVIDER: ("The refreshed falls audit has not reached the ICB yet.", None),
            CEDAR_PROVIDER: ("Staffing stable; no concerns raised.", None),
        })
        self.action(third, RIVERSIDE_PROVIDER, "Send the refreshed falls audit for Riverside House to the ICB",
                    owner=RIVERSIDE_MANAGER, due_in_days=14)
        for meeting in (first_meeting, second, third):
            for attendee in meeting.attendees:
                attendee.replied_at = meeting.starts_at - timedelta(days=10)
        # The latest meeting took place, but it is not yet marked as held or minuted: its pack was
        # built the week before, as the chair would have.
        latest_pack = self._pack_built_before(latest)
        latest_pack.built_at = latest.starts_at - timedelta(days=6)
        return meetings

    def _pack_built_before(self, meeting: Meeting):
        from portal.meetings.pack import build_pack

        return build_pack(meeting, by=self.act(ICB))

    # Jo's meetings ------------------------------------------------------------------------------

    def jos_meetings(self, jo: Concern) -> list[Meeting]:
        sam = self.users[LEAD]
        guests = [
            ("Jo Marchbank", "jo.marchbank@example.org", GuestRelationship.ADULT),
            ("Cerys Lockwood", "cerys.lockwood@advocacy.northshire.example", GuestRelationship.ADVOCATE),
            ("Nia Penhaligon", "nia.penhaligon@trust.northshire.example", GuestRelationship.OTHER),
        ]
        surgery_day = self.today - timedelta(days=82)
        at_surgery = self.meeting(
            kind=MeetingKind.ADULT_SAFEGUARDING, title="Safeguarding meeting at the GP surgery",
            purpose="To hear what matters to you, and agree together what happens next about your money.",
            day=surgery_day, start=(11, 0), end=(12, 0), organiser=sam, place=GP_SURGERY, concern=jo,
            guests=[*guests, ("Dana Marchbank", "dana.marchbank@example.org", GuestRelationship.FAMILY)],
            agenda=[("What matters to you", None), ("Your money and your bank card", None), ("Who to contact", None),
                    (meeting_ops.OTHER_BUSINESS_ITEM, None)],
        )
        self.hold(at_surgery, minutes={
            "What matters to you": (
                "The adult wants her daughter to stop taking her money but does not want the police involved. She wants "
                "to decide who handles her money. Her advocate confirmed these are her own words.",
                "Police not involved, as she wishes."),
            "Your money and your bank card": (
                "Her daughter agreed to hand back the bank card and to talk to a debt adviser. The District Nurse will "
                "help open a new account that only the adult can use.",
                "New bank account; card returned today."),
            "Who to contact": ("The safeguarding lead is the contact; the District Nurse visits weekly.", None),
        })
        self.action(at_surgery, "Your money and your bank card", "Help open a bank account that only she can use",
                    owner=LEAD, due_in_days=14, progress=[(10, "Account opened with the District Nurse's help.", ActionState.DONE)])
        summary = summary_ops.save_summary(at_surgery, text=JOS_SUMMARY, by=self.act(LEAD))
        summary.created_at = summary.updated_at = at_surgery.ends_at + timedelta(hours=3)
        share = summary_ops.record_summary_shared(summary, shared_on=surgery_day + timedelta(days=1),
                                                  format=ShareFormat.READ_WITH_THEM, by=self.act(LEAD))
        share.recorded_at = _at(surgery_day + timedelta(days=1), 16)

        home_day = self.today - timedelta(days=61)
        at_home = self.meeting(
            kind=MeetingKind.ADULT_SAFEGUARDING, title="Review meeting at home",
            purpose="To check how things are going with your money, and whether anything else needs to change.",
            day=home_day, start=(14, 0), end=(15, 0), organiser=sam, place_kind=PlaceKind.ADULTS_HOME, concern=jo,
            guests=guests,
            agenda=[("How things have been", None), ("What happens next", None)],
        )
        self.hold(at_home, minutes={
            "How things have been": (
                "No money taken since the new account was opened. Her daughter has missed the last two visits; she is "
                "sad about this.",
                "Risk reduced. No further safeguarding action about the money."),
            "What happens next": ("The enquiry will close in a few weeks if nothing changes.", None),
        })
        return [at_surgery, at_home]

    # The Board --------------------------------------------------------------------------------

    def board_meeting(self) -> list[Meeting]:
        chair = self.act(BOARD_CHAIR)
        day = self.today + relativedelta(days=+1, weekday=TU(+3))
        meetings = meeting_ops.schedule_meeting(meeting_ops.ScheduleDetails(
            kind=MeetingKind.SAB_BOARD, title="Safeguarding Adults Board: quarterly meeting",
            purpose="Assurance from partners, the annual report's first draft, and escalations.",
            day=day, starts=time(13, 30), ends=time(16, 0), place_kind=PlaceKind.ADDRESS,
            place="Northshire County Council, County Hall, Council Chamber, Kingsford",
        ), by=chair)
        members = [self.users[email].active_memberships[0] for email in (LEAD, ICB, POLICE_MEMBER)]
        for meeting in meetings:
            meeting_ops.invite_people(meeting, members, by=chair)
        return meetings


def seed_meetings(area: Area, agencies: dict[str, Agency], users: dict[str, User], concerns: dict[str, Concern]) -> None:
    """Northshire's meetings: the provider quality series, Jo's two meetings and the Board's next."""
    seeder = _Seeder(area, agencies, users)
    seeder.quality_series()
    seeder.jos_meetings(concerns["jo"])
    seeder.board_meeting()
    for user in users.values():
        user.membership = None
