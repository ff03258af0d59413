"""Personal-data controls: break-glass access, retention settings and the redactions they led to."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.concerns.models import Concern
from portal.core.codes import LabelledEnum
from portal.core.db import UTCDateTime, enum_column, utcnow
from portal.extensions import db
from portal.people.models import Membership, User


class RetentionCategory(LabelledEnum):
    """A category of personal data a concern holds, kept for its own period after the concern closes."""

    ADULT_DETAILS = "The adult's personal details"
    ADULT_VOICE = "The adult's own words, wishes and advocate"
    REPORTER_CONTACT = "A member of the public's name and contact details"
    MEETING_GUESTS = "Meeting guests' names and email addresses"

    @property
    def default_months(self) -> int:
        return DEFAULT_MONTHS[self]

    @property
    def fields(self) -> str:
        """What redaction removes, in the words the settings page uses."""
        return REDACTED_FIELDS[self]


#: Months after a concern closes before each category is redacted, where an area has set nothing.
DEFAULT_MONTHS = {
    RetentionCategory.ADULT_DETAILS: 72,
    RetentionCategory.ADULT_VOICE: 72,
    RetentionCategory.REPORTER_CONTACT: 24,
    RetentionCategory.MEETING_GUESTS: 24,
}

REDACTED_FIELDS = {
    RetentionCategory.ADULT_DETAILS: (
        "Name, date of birth, NHS number, address, postcode, communication needs and preferred language, once "
        "every concern about the adult has closed and passed this period; their name, NHS number and postcode "
        "wherever they appear in what happened, what was done straight away, the triage reason, comments and "
        "the timeline. Sex, primary support reason and the age band stay for the national figures."
    ),
    RetentionCategory.ADULT_VOICE: (
        "The adult's views, who they prefer to talk to and where to meet, the best-interests decision, their past "
        "and present wishes, the outcomes they wanted in their own words, their feedback, the advocate's name and "
        "organisation, and the adult's view recorded on escalations about the concern."
    ),
    RetentionCategory.REPORTER_CONTACT: (
        "The name, contact details and relationship to the adult of a member of the public who reported the concern."
    ),
    RetentionCategory.MEETING_GUESTS: (
        "The names and email addresses of guests (the adult, their family, their advocate) invited to meetings "
        "about the concern."
    ),
}

#: What a redacted text field says instead.
REDACTED = "[redacted]"


class RetentionSetting(db.Model):
    """One decision on how long an area keeps one category; never changed, so the history stays.

    The area's setting for a category is its newest row; with none, the category's default applies.
    """

    __tablename__ = "retention_setting"
    __table_args__ = (sa.Index("ix_retention_setting_area_category", "area_id", "category", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    category: Mapped[RetentionCategory] = mapped_column(enum_column(RetentionCategory, length=40))
    #: Months after a concern closes before this category's details are redacted.
    months: Mapped[int]
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    set_by: Mapped[User | None] = relationship()


class BreakGlassGrant(db.Model):
    """Sight of one concern's adult's withheld details, for one person in one role, for a short time."""

    __tablename__ = "break_glass_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    #: The role and agency they broke glass in: the grant holds only while they act in it.
    membership_id: Mapped[int] = mapped_column(sa.ForeignKey("membership.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    #: Why, in their words: the emergency that could not wait for consent or an agreement.
    reason: Mapped[str] = mapped_column(sa.Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(sa.Text)

    concern: Mapped[Concern] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    membership: Mapped[Membership] = relationship()
    agency: Mapped[Agency] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    def active(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at


class Redaction(db.Model):
    """One category of a concern's personal details redacted under the area's retention setting.

    The unique (concern, category) pair is the guard that makes redaction happen once, however
    many tasks run it side by side.
    """

    __tablename__ = "redaction"
    __table_args__ = (sa.UniqueConstraint("concern_id", "category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    concern_id: Mapped[int] = mapped_column(sa.ForeignKey("concern.id"))
    category: Mapped[RetentionCategory] = mapped_column(enum_column(RetentionCategory, length=40))
    redacted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The months in force, and the setting they came from (none: the category's default).
    months: Mapped[int]
    setting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("retention_setting.id"))
    #: For the adult's details: the number of the adult's age band (``portal.reports.msp``) on the
    #: date the concern was raised, worked out before the date of birth went, so the figures stay.
    age_band: Mapped[int | None]

    concern: Mapped[Concern] = relationship()
