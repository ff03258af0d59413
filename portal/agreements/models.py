"""Information-sharing agreements between agencies, and whether one lets data flow on a date."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency, Area
from portal.core.codes import (
    ControllerArrangement,
    DataCategory,
    LawfulBasis,
    SpecialCategoryCondition,
)
from portal.core.db import TimestampMixin, UTCDateTime, VersionedMixin, enum_column
from portal.extensions import db


class AgreementStatus(enum.Enum):
    DRAFT = "Draft"
    ACTIVE = "Active"
    REVIEW_DUE = "Review due"
    EXPIRED = "Expired"
    REVOKED = "Revoked"

    @property
    def label(self) -> str:
        return self.value

    @property
    def allows_sharing(self) -> bool:
        return self in {AgreementStatus.ACTIVE, AgreementStatus.REVIEW_DUE}


class Agreement(TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    purpose: Mapped[str] = mapped_column(sa.Text)
    controllers: Mapped[ControllerArrangement] = mapped_column(enum_column(ControllerArrangement))
    lawful_basis: Mapped[LawfulBasis] = mapped_column(enum_column(LawfulBasis))
    #: The Article 9 condition; required when personal safeguarding data is covered.
    special_category_condition: Mapped[SpecialCategoryCondition | None] = mapped_column(
        enum_column(SpecialCategoryCondition)
    )
    #: Months each party keeps shared data before deleting it.
    retention_months: Mapped[int]
    starts_on: Mapped[date]
    review_on: Mapped[date]
    ends_on: Mapped[date]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.Text)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    area: Mapped[Area] = relationship()
    parties: Mapped[list[AgreementParty]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan", order_by="AgreementParty.id"
    )
    category_links: Mapped[list[AgreementCategory]] = relationship(
        back_populates="agreement", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        sa.CheckConstraint("retention_months > 0", name="retention_positive"),
    )

    @property
    def categories(self) -> set[DataCategory]:
        return {link.category for link in self.category_links}

    @categories.setter
    def categories(self, wanted: set[DataCategory]) -> None:
        self.category_links = [
            link for link in self.category_links if link.category in wanted
        ] + [AgreementCategory(category=c) for c in wanted - self.categories]

    @property
    def party_agencies(self) -> list[Agency]:
        return [party.agency for party in self.parties]

    @property
    def fully_signed(self) -> bool:
        return bool(self.parties) and all(party.signed_on for party in self.parties)

    def status_on(self, day: date) -> AgreementStatus:
        """The agreement's status on a day, derived from its dates, signatures and revocation."""
        if self.revoked_at is not None and self.revoked_at.date() <= day:
            return AgreementStatus.REVOKED
        if day > self.ends_on:
            return AgreementStatus.EXPIRED
        if not self.fully_signed or day < self.starts_on:
            return AgreementStatus.DRAFT
        if day >= self.review_on:
            return AgreementStatus.REVIEW_DUE
        return AgreementStatus.ACTIVE

    @classmethod
    def in_force_on(cls, day: date, revoked_before: datetime):
        """SQL condition matching :meth:`status_on` giving ACTIVE or REVIEW_DUE on ``day``.

        ``revoked_before`` is the first instant of the day after ``day``, in UTC.
        """
        unsigned = (
            sa.select(AgreementParty.id)
            .where(AgreementParty.agreement_id == cls.id, AgreementParty.signed_on.is_(None))
            .correlate_except(AgreementParty)
            .exists()
        )
        return sa.and_(
            cls.starts_on <= day,
            cls.ends_on >= day,
            sa.or_(cls.revoked_at.is_(None), cls.revoked_at >= revoked_before),
            ~unsigned,
        )

    def __repr__(self) -> str:
        return f"<Agreement {self.title}>"


class AgreementParty(db.Model):
    """An agency that is party to an agreement, and who signed for it and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    signatory_name: Mapped[str | None] = mapped_column(sa.String(200))
    signatory_job_title: Mapped[str | None] = mapped_column(sa.String(200))
    signed_on: Mapped[date | None]

    agreement: Mapped[Agreement] = relationship(back_populates="parties")
    agency: Mapped[Agency] = relationship()

    __table_args__ = (sa.UniqueConstraint("agreement_id", "agency_id"),)


class AgreementCategory(db.Model):
    """One data category an agreement covers."""

    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreement.id"), primary_key=True)
    category: Mapped[DataCategory] = mapped_column(enum_column(DataCategory), primary_key=True)

    agreement: Mapped[Agreement] = relationship(back_populates="category_links")
