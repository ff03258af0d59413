"""Partnership meetings: who is invited and how they answered, the agenda and the packs built for
each attendee, minutes with their amendments, actions, and the plain-language summary for the
adult a meeting is about.

Times are stored in UTC and shown and typed in Europe/London. A meeting keeps one calendar UID
for life; its ``sequence`` goes up whenever a change must reach attendees' calendars.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency, Service
from portal.concerns.models import Concern
from portal.core.codes import LabelledEnum
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from portal.extensions import db
from portal.people.models import Membership, User


class MeetingKind(LabelledEnum):
    PROVIDER_QUALITY = "Provider quality and information-sharing meeting"
    ADULT_SAFEGUARDING = "Safeguarding meeting about an adult"
    SAB_BOARD = "Safeguarding Adults Board meeting"
    SAB_SUBGROUP = "Safeguarding Adults Board sub-group meeting"
    RISK_SUMMIT = "Risk summit"

    @property
    def about_providers(self) -> bool:
        """Kinds whose agenda has a section per provider, with a pack built from the intelligence."""
        return self in {MeetingKind.PROVIDER_QUALITY, MeetingKind.RISK_SUMMIT}

    @property
    def about_an_adult(self) -> bool:
        return self is MeetingKind.ADULT_SAFEGUARDING


class MeetingStatus(LabelledEnum):
    SCHEDULED = "Scheduled"
    HELD = "Held"
    CANCELLED = "Cancelled"


class PlaceKind(LabelledEnum):
    ADDRESS = "At an address"
    ONLINE = "Online"
    ADULTS_HOME = "The adult's home"


class GuestRelationship(LabelledEnum):
    """Who an invitee without a portal account is, for a meeting about an adult."""

    ADULT = "The adult the meeting is about"
    ADVOCATE = "Their advocate"
    FAMILY = "A family member or friend they chose"
    OTHER = "Someone else"


class Reply(LabelledEnum):
    """An invitee's answer, as iCalendar's PARTSTAT."""

    NEEDS_ACTION = "Not answered yet"
    ACCEPTED = "Accepted"
    TENTATIVE = "Maybe"
    DECLINED = "Declined"


class Attendance(LabelledEnum):
    PRESENT = "Present"
    APOLOGIES = "Sent apologies"
    ABSENT = "Absent without apologies"


class ActionState(LabelledEnum):
    OPEN = "Not started"
    IN_PROGRESS = "In progress"
    DONE = "Done"
    DROPPED = "No longer needed"

    @property
    def finished(self) -> bool:
        return self in {ActionState.DONE, ActionState.DROPPED}


class ShareFormat(LabelledEnum):
    """How the adult's summary was given to them."""

    EASY_READ = "Easy read"
    LARGE_PRINT = "Large print"
    AUDIO = "Audio recording"
    LANGUAGE = "Translated into another language"
    READ_WITH_THEM = "Read through with them in person"
    PLAIN_PRINT = "Printed or emailed as written"


class MeetingSeries(TimestampMixin, db.Model):
    """Meetings that repeat (a monthly provider quality meeting): one recurrence rule, many meetings."""

    __tablename__ = "meeting_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, length=30))
    title: Mapped[str] = mapped_column(sa.String(200))
    #: RFC 5545 RRULE value, e.g. ``FREQ=MONTHLY;BYDAY=+2TU;COUNT=6``.
    rule: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    meetings: Mapped[list[Meeting]] = relationship(back_populates="series", order_by="Meeting.starts_at")


class Meeting(TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    #: The calendar UID, the same in every file sent about this meeting.
    uid: Mapped[str] = mapped_column(sa.String(120), unique=True)
    #: iCalendar SEQUENCE: raised on each change attendees' calendars must take.
    sequence: Mapped[int] = mapped_column(default=0)
    kind: Mapped[MeetingKind] = mapped_column(enum_column(MeetingKind, length=30))
    title: Mapped[str] = mapped_column(sa.String(200))
    #: What the meeting is for, sent in the invitation; never the adult's personal details.
    purpose: Mapped[str | None] = mapped_column(sa.Text)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place_kind: Mapped[PlaceKind] = mapped_column(enum_column(PlaceKind, length=20))
    #: The address, or the name of the place (a GP surgery); for the adult's home, left empty:
    #: the address stays with the concern, under its consent rules.
    place: Mapped[str | None] = mapped_column(sa.String(300))
    online_link: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus, length=20), default=MeetingStatus.SCHEDULED)
    organiser_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    #: The agency the organiser acted for when scheduling.
    organiser_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    chair_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    minute_taker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_series.id"), index=True)
    #: For a meeting about an adult: the concern it is about.
    concern_id: Mapped[int | None] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    minutes_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    minutes_approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    series: Mapped[MeetingSeries | None] = relationship(back_populates="meetings")
    organiser: Mapped[User] = relationship(foreign_keys=[organiser_id])
    organiser_agency: Mapped[Agency] = relationship()
    chair: Mapped[User] = relationship(foreign_keys=[chair_id])
    minute_taker: Mapped[User | None] = relationship(foreign_keys=[minute_taker_id])
    minutes_approved_by: Mapped[User | None] = relationship(foreign_keys=[minutes_approved_by_id])
    concern: Mapped[Concern | None] = relationship()
    attendees: Mapped[list[Attendee]] = relationship(back_populates="meeting", order_by="Attendee.id")
    agenda: Mapped[list[AgendaItem]] = relationship(back_populates="meeting", order_by="AgendaItem.position")
    actions: Mapped[list[MeetingAction]] = relationship(back_populates="meeting", order_by="MeetingAction.id")

    @property
    def minutes_locked(self) -> bool:
        return self.minutes_approved_at is not None


class Attendee(TimestampMixin, db.Model):
    """Someone invited: a person with a portal account (in one of their roles) or a guest."""

    __table_args__ = (sa.UniqueConstraint("meeting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: The role and agency they were invited in: what their agenda pack is built for.
    membership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("membership.id"))
    #: Guests (the adult, their advocate) have no account: a name and an email address only.
    guest_name: Mapped[str | None] = mapped_column(sa.String(200))
    guest_email: Mapped[str | None] = mapped_column(sa.String(254))
    guest_relationship: Mapped[GuestRelationship | None] = mapped_column(enum_column(GuestRelationship, length=20))
    reply: Mapped[Reply] = mapped_column(enum_column(Reply, length=20), default=Reply.NEEDS_ACTION)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reply_note: Mapped[str | None] = mapped_column(sa.String(500))
    attendance: Mapped[Attendance | None] = mapped_column(enum_column(Attendance, length=20))
    #: Uninvited: kept so that the cancellation reaches their calendar and the record stays whole.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User | None] = relationship()
    membership: Mapped[Membership | None] = relationship()

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else self.guest_name

    @property
    def email(self) -> str | None:
        return self.user.email if self.user is not None else self.guest_email


class AgendaItem(TimestampMixin, db.Model):
    """One item on the agenda; an item about a provider gets a section in the agenda pack."""

    __tablename__ = "agenda_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    provider_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    #: Narrows a provider item to one of its services.
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")
    provider: Mapped[Agency | None] = relationship()
    service: Mapped[Service | None] = relationship()
    minute: Mapped[MinuteEntry | None] = relationship(back_populates="agenda_item", uselist=False)
    amendments: Mapped[list[MinuteAmendment]] = relationship(order_by="MinuteAmendment.id")


class AgendaPack(db.Model):
    """One building of the pack; the last one is frozen when the meeting is held."""

    __tablename__ = "agenda_pack"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    version: Mapped[int]
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    built_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    #: What each section covers from: the previous meeting's date, or a default look-back.
    since: Mapped[date]
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    copies: Mapped[list[PackCopy]] = relationship(back_populates="pack", order_by="PackCopy.id")


class PackCopy(db.Model):
    """The pack as one attendee may see it, kept as it was built (what people saw is kept)."""

    __tablename__ = "pack_copy"
    __table_args__ = (sa.UniqueConstraint("pack_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_pack.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    membership_id: Mapped[int] = mapped_column(sa.ForeignKey("membership.id"))
    #: The sections as built: plain data, rendered by the pack template.
    content: Mapped[dict] = mapped_column(sa.JSON)
    #: Something was left out because this attendee may not see it.
    redacted: Mapped[bool] = mapped_column(default=False)

    pack: Mapped[AgendaPack] = relationship(back_populates="copies")


class MinuteEntry(TimestampMixin, VersionedMixin, db.Model):
    """The discussion and decisions under one agenda item."""

    __tablename__ = "minute_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_item.id"), unique=True)
    discussion: Mapped[str | None] = mapped_column(sa.Text)
    decisions: Mapped[str | None] = mapped_column(sa.Text)
    written_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    agenda_item: Mapped[AgendaItem] = relationship(back_populates="minute")


class MinuteAmendment(db.Model):
    """A correction to approved minutes, shown beside them; the approved text is never changed."""

    __tablename__ = "minute_amendment"

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(sa.ForeignKey("agenda_item.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.String(500))
    made_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    made_by: Mapped[User] = relationship()


class MeetingAction(TimestampMixin, VersionedMixin, db.Model):
    """An action agreed at a meeting: it stays on later agendas until it is finished."""

    __tablename__ = "meeting_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agenda_item.id"))
    description: Mapped[str] = mapped_column(sa.Text)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    owner_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    due_on: Mapped[date]
    state: Mapped[ActionState] = mapped_column(enum_column(ActionState, length=20), default=ActionState.OPEN)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="actions")
    agenda_item: Mapped[AgendaItem | None] = relationship()
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    owner_agency: Mapped[Agency] = relationship()
    updates: Mapped[list[ActionUpdate]] = relationship(back_populates="action", order_by="ActionUpdate.id")


class ActionUpdate(db.Model):
    __tablename__ = "meeting_action_update"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting_action.id"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    #: The state the action moved to with this update, if it moved.
    state: Mapped[ActionState | None] = mapped_column(enum_column(ActionState, length=20))
    made_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    action: Mapped[MeetingAction] = relationship(back_populates="updates")
    made_by: Mapped[User] = relationship()


class AdultSummary(TimestampMixin, VersionedMixin, db.Model):
    """What the meeting discussed and decided, in plain words for the adult it is about."""

    __tablename__ = "adult_summary"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meeting.id"), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    written_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    written_by: Mapped[User] = relationship()
    shares: Mapped[list[SummaryShare]] = relationship(back_populates="summary", order_by="SummaryShare.shared_on")


class SummaryShare(db.Model):
    """When, how and by whom the summary was given to the adult."""

    __tablename__ = "summary_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    summary_id: Mapped[int] = mapped_column(sa.ForeignKey("adult_summary.id"), index=True)
    shared_on: Mapped[date]
    format: Mapped[ShareFormat] = mapped_column(enum_column(ShareFormat, length=20))
    #: For a translation: which language.
    language: Mapped[str | None] = mapped_column(sa.String(80))
    shared_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    summary: Mapped[AdultSummary] = relationship(back_populates="shares")
    shared_by: Mapped[User] = relationship()
