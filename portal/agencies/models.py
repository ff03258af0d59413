"""Areas, agencies, the services providers run, and who commissions which service."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.codes import AgencyKind, ServiceType
from portal.core.db import TimestampMixin, VersionedMixin, enum_column
from portal.extensions import db


class Area(TimestampMixin, db.Model):
    """A local authority area: the partnership that one Safeguarding Adults Board covers."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)

    agencies: Mapped[list[Agency]] = relationship(back_populates="area")

    def __repr__(self) -> str:
        return f"<Area {self.name}>"


class Agency(TimestampMixin, VersionedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[AgencyKind] = mapped_column(enum_column(AgencyKind))
    #: The regulator's provider id (``1-`` and digits) for care providers.
    provider_ref: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    #: Whether everyone with a role here must sign in with a second factor.
    require_two_factor: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)

    area: Mapped[Area] = relationship(back_populates="agencies")
    services: Mapped[list[Service]] = relationship(
        back_populates="provider", order_by="Service.name"
    )

    __table_args__ = (sa.UniqueConstraint("area_id", "name"),)

    @property
    def is_provider(self) -> bool:
        return self.kind is AgencyKind.CARE_PROVIDER

    @property
    def commissions_services(self) -> bool:
        return self.kind in {AgencyKind.LOCAL_AUTHORITY, AgencyKind.NHS_ICB}

    def __repr__(self) -> str:
        return f"<Agency {self.name}>"


class Service(TimestampMixin, VersionedMixin, db.Model):
    """A location where a care provider delivers a regulated service."""

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: The regulator's location id: ``1-`` followed by digits.
    location_ref: Mapped[str] = mapped_column(sa.String(20), unique=True)
    service_type: Mapped[ServiceType] = mapped_column(enum_column(ServiceType))
    address: Mapped[str] = mapped_column(sa.String(300))
    postcode: Mapped[str] = mapped_column(sa.String(8))
    #: Registered beds; only for care homes.
    registered_beds: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    provider: Mapped[Agency] = relationship(back_populates="services")
    commissionings: Mapped[list[Commissioning]] = relationship(
        back_populates="service", order_by="Commissioning.starts_on"
    )

    def __repr__(self) -> str:
        return f"<Service {self.location_ref} {self.name}>"


class Commissioning(TimestampMixin, db.Model):
    """A commissioner agency's contract for a service, between two dates."""

    id: Mapped[int] = mapped_column(primary_key=True)
    commissioner_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), index=True)
    starts_on: Mapped[date]
    #: The last day of the contract; empty while it runs on.
    ends_on: Mapped[date | None]

    commissioner: Mapped[Agency] = relationship()
    service: Mapped[Service] = relationship(back_populates="commissionings")

    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    def is_current(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or self.ends_on >= on)
